package pgctl

import "testing"

// TestCheckCtlOpt: pg_ctl's -o reaches its shell ahead of the agent's options, however
// getopt_long lets it be written (review 34); every other option passes, its value too,
// wherever it stands.
func TestCheckCtlOpt(t *testing.T) {
	for _, tc := range []struct {
		words   []string
		refused bool
	}{
		{nil, false},
		{[]string{"-s", "--core-files"}, false},
		{[]string{"-t", "-o"}, false}, // -o is -t's value
		{[]string{"-l/var/log/-o", "-W"}, false},
		{[]string{"--log", "-o"}, false},
		{[]string{"--mode=fast", "-c"}, false},
		{[]string{"--", "-o", "#"}, true},
		{[]string{"stop"}, true},
		{[]string{"-s", "restart"}, true},
		{[]string{"-"}, true},
		{[]string{"-S", "auto"}, true},
		{[]string{"-l", "stop"}, false}, // a log file named so
		{[]string{"--sil"}, false},
		{[]string{"-o", "# comment"}, true},
		{[]string{"-o#"}, true},
		{[]string{"-wo", "-c a=1"}, true},
		{[]string{"-swo-c a=1"}, true},
		{[]string{"--options=-c a=1"}, true},
		{[]string{"--options", "-c a=1"}, true},
		{[]string{"--opt", "x"}, true},
		{[]string{"--o=x"}, true},
		{[]string{"-s", "-t", "60", "-o", "x"}, true},
		{[]string{"-t"}, true},
		{[]string{"-ws", "-D"}, true},
		{[]string{"--timeout"}, true},
		{[]string{"--time"}, true},
		{[]string{"-p", "/usr/bin/postgres"}, true},
		{[]string{"-sp/usr/bin/postgres\" #"}, true},
		{[]string{"-t", "-p"}, false}, // -p is -t's value
		{[]string{"--help"}, true},
		{[]string{"-s", "--vers"}, true},
		{[]string{"-V"}, true},
		{[]string{"-?"}, true},
		{[]string{"-l", "--help"}, false}, // a log file named so
	} {
		err := CheckCtlOpt(tc.words)
		if refused := err != nil; refused != tc.refused {
			t.Errorf("CheckCtlOpt(%q) = %v, want refused %v", tc.words, err, tc.refused)
		}
	}
}
