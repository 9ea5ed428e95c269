package test

import "testing"

// TestOCFTCases replays the cases of resource-agents' ocft config for pgsql (REFERENCE
// §10.8) against a real PostgreSQL: every case starts with the op timeout ocft uses and a
// stop, as ocft does.
func TestOCFTCases(t *testing.T) {
	c := newCluster(t)
	base := c.params()
	stop := func() { mustRC(t, 0, "stop", base, nil) }
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"check base env", func(t *testing.T) { mustRC(t, 0, "start", base, nil) }},
		{"invalid pgctl", func(t *testing.T) { mustRC(t, 5, "start", with(base, "pgctl", "no_such"), nil) }},
		{"normal start", func(t *testing.T) { mustRC(t, 0, "start", base, nil) }},
		{"normal stop", func(t *testing.T) {
			mustRC(t, 0, "start", base, nil)
			mustRC(t, 0, "stop", base, nil)
		}},
		{"double start", func(t *testing.T) {
			mustRC(t, 0, "start", base, nil)
			mustRC(t, 0, "start", base, nil)
		}},
		{"double stop", func(t *testing.T) { mustRC(t, 0, "stop", base, nil) }},
		{"running monitor", func(t *testing.T) {
			mustRC(t, 0, "start", base, nil)
			mustRC(t, 0, "monitor", base, map[string]string{"interval": "10000"})
		}},
		{"not running monitor", func(t *testing.T) {
			mustRC(t, 7, "monitor", base, map[string]string{"interval": "10000"})
		}},
		{"unimplemented command", func(t *testing.T) { mustRC(t, 3, "no_cmd", base, nil) }},
		{"non-existent user", func(t *testing.T) { mustRC(t, 5, "start", with(base, "pgdba", "no_user"), nil) }},
		{"invalid user", func(t *testing.T) { mustRC(t, 4, "start", with(base, "pgdba", "nobody"), nil) }},
		{"probe of a stopped instance", func(t *testing.T) {
			mustRC(t, 7, "monitor", base, map[string]string{"interval": "0"})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stop()
			tc.run(t)
		})
	}
	stop()
	if pid := c.postmasterPID(); pid != 0 {
		t.Errorf("postmaster.pid still names %d after the final stop", pid)
	}
}
