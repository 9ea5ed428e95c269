package pgctl

import (
	"bytes"
	"math/rand"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// shellWords has /bin/sh (which pg_ctl runs its -o through) parse line as arguments of a
// command and returns them, in an empty directory so that no glob matches a file.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", `printf '%s\0' start `+line)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent-home"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", line, err)
	}
	words := strings.Split(string(bytes.TrimSuffix(out, []byte{0})), "\x00")
	if len(words) == 1 {
		return nil // "start" alone
	}
	return words[1:]
}

// TestQuotingAgainstTheShell: the shell itself, not only this package's reading of it,
// gets back every word ShellQuote quoted (any bytes but NUL), and splits every start_opt
// SplitCommandWords accepts into the words it returned (review 34: a ShellQuote that left
// ~ or { unquoted passed every other test).
func TestQuotingAgainstTheShell(t *testing.T) {
	if _, err := exec.LookPath("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	rng := rand.New(rand.NewSource(34))
	randomWord := func(alphabet string, n int) string {
		b := make([]byte, rng.Intn(n))
		for i := range b {
			if alphabet == "" {
				b[i] = byte(1 + rng.Intn(255))
			} else {
				b[i] = alphabet[rng.Intn(len(alphabet))]
			}
		}
		return string(b)
	}
	const startOptBytes = "ab =-c'\"\\ #;&|<>()$`~*?[]!:%.\t\xff"
	for i := range 200 {
		var words, quoted []string
		for range 1 + rng.Intn(6) {
			w := randomWord("", 12) // any byte but NUL
			if i%2 == 1 {
				w = randomWord(startOptBytes+"{},/_", 6) // mostly what ShellQuote may leave bare
			}
			words, quoted = append(words, w), append(quoted, ShellQuote(w))
		}
		if got := shellWords(t, strings.Join(quoted, " ")); !slices.Equal(got, words) {
			t.Errorf("sh split the quoted %q into %q", words, got)
		}
	}
	accepted := 0
	for range 400 {
		s := randomWord(startOptBytes, 24)
		words, err := SplitCommandWords(s)
		if err != nil {
			continue
		}
		accepted++
		if got := shellWords(t, s); !slices.Equal(got, words) {
			t.Errorf("SplitCommandWords(%q) = %q, sh: %q", s, words, got)
		}
	}
	if accepted < 40 {
		t.Errorf("only %d of 400 random start_opt values were accepted: the comparison tested little", accepted)
	}
}
