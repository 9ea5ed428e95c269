package agent

import (
	"strings"
	"testing"
	"time"
)

func getenvFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestReadEnvTimeoutAndInterval(t *testing.T) {
	for _, tc := range []struct {
		name              string
		timeout, interval string
		wantT, wantI      time.Duration
	}{
		{"milliseconds", "20000", "30000", 20 * time.Second, 30 * time.Second},
		{"not a whole second", "1500", "0", 1500 * time.Millisecond, 0},
		{"unset", "", "", 0, 0},
		{"junk means none", "20s", "x", 0, 0},
		{"negative means none", "-1000", "-1", 0, 0},
		{"blanks around", " 60000 ", "\t10000\n", time.Minute, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ReadEnv("monitor", getenvFrom(map[string]string{
				"OCF_RESKEY_CRM_meta_timeout": tc.timeout, "OCF_RESKEY_CRM_meta_interval": tc.interval,
			}))
			if e.Timeout != tc.wantT || e.Interval != tc.wantI {
				t.Errorf("Timeout %v, Interval %v; want %v, %v", e.Timeout, e.Interval, tc.wantT, tc.wantI)
			}
		})
	}
}

// TestReadEnvTimeoutBounds: a timeout or interval beyond a day is not used and is reported
// (2^63-1 ms once overflowed into "did not answer within -0.5s", #11).
func TestReadEnvTimeoutBounds(t *testing.T) {
	for _, tc := range []struct{ name, timeout, interval string }{
		{"timeout 2^63-1 ms", "9223372036854775807", "0"},
		{"timeout beyond int64", "99999999999999999999", ""},
		{"interval beyond a day", "20000", "86400001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ReadEnv("monitor", getenvFrom(map[string]string{
				"OCF_RESKEY_CRM_meta_timeout": tc.timeout, "OCF_RESKEY_CRM_meta_interval": tc.interval,
			}))
			if e.Timeout < 0 || e.Interval < 0 || e.Budget() <= 0 {
				t.Errorf("Timeout %v, Interval %v, Budget %v", e.Timeout, e.Interval, e.Budget())
			}
			_, err := ParseConfig(values(t, nil), e)
			if err == nil || !strings.Contains(err.Error(), "OCF_RESKEY_CRM_meta_") {
				t.Errorf("ParseConfig = %v, want the operation time reported", err)
			}
		})
	}
	if e := ReadEnv("monitor", getenvFrom(map[string]string{"OCF_RESKEY_CRM_meta_timeout": "86400000"})); e.TimeoutProblem != "" || e.Timeout != 24*time.Hour {
		t.Errorf("a day: Timeout %v, problem %q", e.Timeout, e.TimeoutProblem)
	}
}

func TestIsProbe(t *testing.T) {
	for _, tc := range []struct {
		name, action, interval string
		want                   bool
	}{
		{"monitor with interval 0 is a probe", "monitor", "0", true},
		{"monitor without interval is a probe", "monitor", "", true},
		{"recurring monitor is not", "monitor", "30000", false},
		{"start is not", "start", "0", false},
		{"status is not", "status", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ReadEnv(tc.action, getenvFrom(map[string]string{"OCF_RESKEY_CRM_meta_interval": tc.interval}))
			if got := e.IsProbe(); got != tc.want {
				t.Errorf("IsProbe() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadEnvPromotable(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing set: primitive", nil, false},
		{"CRM_meta_promotable=true", map[string]string{"OCF_RESKEY_CRM_meta_promotable": "true"}, true},
		{"CRM_meta_promotable=false", map[string]string{"OCF_RESKEY_CRM_meta_promotable": "false"}, false},
		{"CRM_meta_promotable junk", map[string]string{"OCF_RESKEY_CRM_meta_promotable": "perhaps"}, false},
		{"master_max 1 (old Pacemaker)", map[string]string{"OCF_RESKEY_CRM_meta_master_max": "1"}, true},
		{"master_max 0", map[string]string{"OCF_RESKEY_CRM_meta_master_max": "0"}, false},
		{"promoted_max 1", map[string]string{"OCF_RESKEY_CRM_meta_promoted_max": "1"}, true},
		{"promoted_max 0", map[string]string{"OCF_RESKEY_CRM_meta_promoted_max": "0"}, false},
		{"promoted_max junk", map[string]string{"OCF_RESKEY_CRM_meta_promoted_max": "one"}, false},
		{"plain clone is not promotable", map[string]string{"OCF_RESKEY_CRM_meta_clone_max": "2"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReadEnv("start", getenvFrom(tc.env)).Promotable; got != tc.want {
				t.Errorf("Promotable = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadEnvCheckLevel(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want int
	}{
		{"unset: 10", nil, 10},
		{"0", map[string]string{"OCF_CHECK_LEVEL": "0"}, 0},
		{"10", map[string]string{"OCF_CHECK_LEVEL": "10"}, 10},
		{"20 falls back to 10", map[string]string{"OCF_CHECK_LEVEL": "20"}, 10},
		{"5 falls back to 0", map[string]string{"OCF_CHECK_LEVEL": "5"}, 0},
		{"negative falls back to 0", map[string]string{"OCF_CHECK_LEVEL": "-1"}, 0},
		{"junk: 10", map[string]string{"OCF_CHECK_LEVEL": "junk"}, 10},
		{"OCF_RESKEY_OCF_CHECK_LEVEL is read too", map[string]string{"OCF_RESKEY_OCF_CHECK_LEVEL": "0"}, 0},
		{"OCF_CHECK_LEVEL wins over OCF_RESKEY_OCF_CHECK_LEVEL", map[string]string{"OCF_CHECK_LEVEL": "10", "OCF_RESKEY_OCF_CHECK_LEVEL": "0"}, 10},
		{"junk OCF_CHECK_LEVEL falls through to OCF_RESKEY_OCF_CHECK_LEVEL", map[string]string{"OCF_CHECK_LEVEL": "x", "OCF_RESKEY_OCF_CHECK_LEVEL": "0"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReadEnv("validate-all", getenvFrom(tc.env)).CheckLevel; got != tc.want {
				t.Errorf("CheckLevel = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestReadEnvInstanceAndReasonTag(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		env                        map[string]string
		instance, resource, reason string
	}{
		{"defaults", nil, "default", "default", "ocf-exit-reason:"},
		{"primitive id", map[string]string{"OCF_RESOURCE_INSTANCE": "cfpgsql"}, "cfpgsql", "cfpgsql", "ocf-exit-reason:"},
		{"clone instance suffix stripped", map[string]string{"OCF_RESOURCE_INSTANCE": "cfpgsql:1"}, "cfpgsql:1", "cfpgsql", "ocf-exit-reason:"},
		{"prefix from Pacemaker kept", map[string]string{"OCF_EXIT_REASON_PREFIX": "reason>"}, "default", "default", "reason>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ReadEnv("start", getenvFrom(tc.env))
			if e.Instance != tc.instance || e.Resource() != tc.resource || e.ReasonTag != tc.reason {
				t.Errorf("Instance %q, Resource() %q, ReasonTag %q; want %q, %q, %q",
					e.Instance, e.Resource(), e.ReasonTag, tc.instance, tc.resource, tc.reason)
			}
		})
	}
}

func TestReadEnvMisc(t *testing.T) {
	e := ReadEnv("start", getenvFrom(map[string]string{
		"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "0",
		"OCF_RESKEY_crm_feature_set": "3.2.0",
	}))
	if e.Action != "start" {
		t.Errorf("Action = %q", e.Action)
	}
	if e.Roles.Promoted != "Master" {
		t.Errorf("OCF 1.0 announced: Roles.Promoted = %q, want Master", e.Roles.Promoted)
	}
	if e.FeatureSet != "3.2.0" {
		t.Errorf("FeatureSet = %q", e.FeatureSet)
	}
	if e := ReadEnv("start", getenvFrom(nil)); e.Roles.Promoted != "Promoted" {
		t.Errorf("no OCF version: Roles.Promoted = %q, want Promoted", e.Roles.Promoted)
	}
}

func TestBudget(t *testing.T) {
	const s = time.Second
	for _, tc := range []struct {
		name    string
		action  string
		timeout time.Duration
		want    time.Duration
	}{
		{"ocf-tester's 20 s: a tenth off", "stop", 20 * s, 18 * s},
		{"60 s: the margin is capped at 5 s", "monitor", 60 * s, 55 * s},
		{"120 s: 5 s off", "promote", 120 * s, 115 * s},
		{"2 s: at least half a second off", "monitor", 2 * s, 1500 * time.Millisecond},
		{"no timeout for start: meta-data's 120 s", "start", 0, 115 * s},
		{"no timeout for monitor: meta-data's 30 s", "monitor", 0, 27 * s},
		{"no timeout for meta-data: its 5 s", "meta-data", 0, 4500 * time.Millisecond},
		{"no timeout for an unknown action: 20 s", "explain", 0, 18 * s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Env{Action: tc.action, Timeout: tc.timeout}).Budget(); got != tc.want {
				t.Errorf("Budget() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSafetyMargin(t *testing.T) {
	const s = time.Second
	for _, tc := range []struct {
		name          string
		timeout, want time.Duration
	}{
		{"tenth of 20 s", 20 * s, 2 * s},
		{"tenth of 50 s", 50 * s, 5 * s},
		{"capped at 5 s", 600 * s, 5 * s},
		{"at least 0.5 s", 1 * s, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SafetyMargin(tc.timeout); got != tc.want {
				t.Errorf("SafetyMargin(%v) = %v, want %v", tc.timeout, got, tc.want)
			}
		})
	}
}
