package agent

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pgsql-ra/pgsql-ra/metadata"
)

// Env is what Pacemaker (or ocf-tester, or an admin) tells the agent besides the instance
// parameters.
type Env struct {
	Action     string
	Instance   string        // OCF_RESOURCE_INSTANCE, e.g. "cfpgsql" or "cfpgsql:1"
	Timeout    time.Duration // operation timeout (0: none given)
	Interval   time.Duration // 0 for probes and one-off actions
	CheckLevel int           // OCF_CHECK_LEVEL
	Promotable bool
	Roles      metadata.RoleNames
	FeatureSet string // OCF_RESKEY_crm_feature_set
	ReasonTag  string // OCF_EXIT_REASON_PREFIX
	OnNode     string // OCF_RESKEY_CRM_meta_on_node: the node Pacemaker runs the action on
	RunDir     string // HA_RSCTMP: per-boot state of resource agents
	Notify     Notification
}

// Resource is the primitive id: the instance without a clone suffix (":1").
func (e Env) Resource() string {
	name, _, _ := strings.Cut(e.Instance, ":")
	return name
}

// IsProbe reports whether this is Pacemaker's one-off monitor that finds out what runs where.
func (e Env) IsProbe() bool { return e.Action == "monitor" && e.Interval == 0 }

// DefaultExitReasonPrefix is what Pacemaker sets OCF_EXIT_REASON_PREFIX to.
const DefaultExitReasonPrefix = "ocf-exit-reason:"

// ReadEnv collects the OCF environment through getenv.
func ReadEnv(action string, getenv func(string) string) Env {
	e := Env{
		Action:     action,
		Instance:   getenv("OCF_RESOURCE_INSTANCE"),
		Timeout:    millis(getenv("OCF_RESKEY_CRM_meta_timeout")),
		Interval:   millis(getenv("OCF_RESKEY_CRM_meta_interval")),
		CheckLevel: 10,
		Roles:      metadata.RolesFor(getenv("OCF_RA_VERSION_MAJOR"), getenv("OCF_RA_VERSION_MINOR")),
		FeatureSet: getenv("OCF_RESKEY_crm_feature_set"),
		ReasonTag:  getenv("OCF_EXIT_REASON_PREFIX"),
		OnNode:     NodeName(getenv("OCF_RESKEY_CRM_meta_on_node")),
		RunDir:     getenv("HA_RSCTMP"),
		Notify:     ReadNotification(getenv),
	}
	if e.RunDir == "" {
		e.RunDir = "/run/resource-agents"
	}
	if e.Instance == "" {
		e.Instance = "default"
	}
	if e.ReasonTag == "" {
		e.ReasonTag = DefaultExitReasonPrefix
	}
	for _, name := range []string{"OCF_CHECK_LEVEL", "OCF_RESKEY_OCF_CHECK_LEVEL"} {
		if n, err := strconv.Atoi(getenv(name)); err == nil {
			// Unsupported depths fall back to the next lower supported one (OCF 1.1).
			e.CheckLevel = 0
			if n >= 10 {
				e.CheckLevel = 10
			}
			break
		}
	}
	// Promotable: Pacemaker 2.x sets CRM_meta_promotable; older ones only master_max.
	if b, ok := ParseBool(getenv("OCF_RESKEY_CRM_meta_promotable")); ok && b {
		e.Promotable = true
	}
	for _, name := range []string{"OCF_RESKEY_CRM_meta_promoted_max", "OCF_RESKEY_CRM_meta_master_max"} {
		if n, err := strconv.Atoi(getenv(name)); err == nil && n > 0 {
			e.Promotable = true
		}
	}
	return e
}

// millis reads a number of milliseconds; 0 (none given) for what is not one, negative or
// too large for a Duration, which would otherwise wrap around (#11).
func millis(s string) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > int64(math.MaxInt64/time.Millisecond) {
		return 0
	}
	return time.Duration(n) * time.Millisecond
}

// Budget is the time an action may take: the operation timeout (or, when none is given, the
// timeout the meta-data advertises) minus a safety margin, so the agent answers with a reason
// before Pacemaker kills it.
func (e Env) Budget() time.Duration {
	timeout := e.Timeout
	if timeout == 0 {
		if s, ok := metadata.DefaultTimeout(e.Action); ok {
			timeout, _ = time.ParseDuration(s)
		} else {
			timeout = 20 * time.Second
		}
	}
	return timeout - SafetyMargin(timeout)
}

// SafetyMargin is a tenth of the timeout, at least half a second and at most five seconds.
func SafetyMargin(timeout time.Duration) time.Duration {
	return min(max(timeout/10, 500*time.Millisecond), 5*time.Second)
}
