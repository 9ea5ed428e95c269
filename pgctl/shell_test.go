package pgctl

import (
	"bytes"
	"math/rand"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// shellWords has a shell (pg_ctl runs its -o through /bin/sh) parse line as arguments of a
// command and returns them, in an empty directory so that no glob matches a file.
func shellWords(t *testing.T, shell []string, line string) []string {
	t.Helper()
	cmd := exec.Command(shell[0], append(shell[1:], "-c", `printf '%s\0' start `+line)...)
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
// ~ unquoted passed every other test), under bash as sh too (review 35: its brace expansion).
func TestQuotingAgainstTheShell(t *testing.T) {
	shells := [][]string{{"/bin/sh"}}
	if bash, err := exec.LookPath("bash"); err == nil {
		shells = append(shells, []string{bash, "--posix"}) // /bin/sh on RHEL and SUSE
	}
	for _, shell := range shells {
		t.Run(shell[0], func(t *testing.T) { quotingAgainst(t, shell) })
	}
}

func quotingAgainst(t *testing.T, shell []string) {
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
		if got := shellWords(t, shell, strings.Join(quoted, " ")); !slices.Equal(got, words) {
			t.Errorf("sh split the quoted %q into %q", words, got)
		}
	}
	accepted := 0
	written := []string{"-c x={a,b}", "-c x={1..3} {y,z}=1", "-c 'a b' x\\ y \"c d\" # e", "-c x=*.conf -c y=[ab]?", "-c a=~ b~"}
	for i := range 400 {
		s := randomWord(startOptBytes+"{},", 24)
		if i < len(written) {
			s = written[i]
		}
		words, err := SplitCommandWords(s)
		if err != nil {
			continue
		}
		accepted++
		if got := shellWords(t, shell, s); !slices.Equal(got, words) {
			t.Errorf("SplitCommandWords(%q) = %q, sh: %q", s, words, got)
		}
	}
	if accepted < 40 {
		t.Errorf("only %d of 400 random start_opt values were accepted: the comparison tested little", accepted)
	}
}
