package agent

import (
	"context"
	"encoding/json"
	"path/filepath"
	"time"

	"github.com/pgsql-ra/pgsql-ra/crmattr"
	"github.com/pgsql-ra/pgsql-ra/pgctl"
	"github.com/pgsql-ra/pgsql-ra/pgctl/safefs"
)

// publisher writes node attributes only when their value changes, so a steady-state monitor
// runs no crm_attribute at all. It remembers what it wrote in a small per-boot file (under
// HA_RSCTMP, which is emptied at boot like transient attributes). A remembered value older
// than recheckAfter is read back once (a read, not a write) in case something else changed
// or cleared it, e.g. a Pacemaker restart on a node. Only recurring monitors trust the
// memory: every other action (start, stop, promote, demote, notify, probe) reads before it
// writes and replaces the memory with what it saw, because around a role change other nodes
// rewrite attributes (a primary writes its standbys' status, data-status and score).
type publisher struct {
	store    crmattr.Store
	resource string
	names    attrNames
	path     string
	trust    bool
	now      func() time.Time
	written  map[string]memo
	dirty    bool
	log      *Logger
}

type memo struct {
	Value string    `json:"v"`
	At    time.Time `json:"t"`
}

// recheckAfter bounds how long a remembered attribute value is trusted without a read.
const recheckAfter = 60 * time.Second

// attrAbsent is remembered for an attribute known not to exist.
const attrAbsent = "\x00absent"

func newPublisher(store crmattr.Store, resource, stateDir string, trust bool, log *Logger) *publisher {
	// An action that does not trust the memory also replaces it with what it sees, so the
	// monitors after a start, stop, promote, demote or notification start from fresh values.
	p := &publisher{store: store, resource: resource, names: attrNames{resource: resource}, trust: trust, now: time.Now,
		written: map[string]memo{}, dirty: !trust, log: log}
	if stateDir != "" {
		p.path = filepath.Join(stateDir, "pgsql-ra-"+resource+".attrs.json")
		if b, err := safefs.ReadFile(p.path, safefs.StateLimit); err == nil && trust {
			_ = json.Unmarshal(b, &p.written)
		}
	}
	return p
}

func memoKey(node string, a Attr) string {
	return string(a.Lifetime) + "/" + node + "/" + a.Name
}

// current returns the attribute's value as remembered or, when not trusted, as read. A
// remembered absence is never trusted: another node may have created the attribute since
// (a standby creates its own score at start).
func (p *publisher) current(ctx context.Context, node string, a Attr) (string, bool, error) {
	return p.lookup(ctx, node, a, false)
}

// lookup is current with the memory optionally bypassed.
func (p *publisher) lookup(ctx context.Context, node string, a Attr, fresh bool) (string, bool, error) {
	key := memoKey(node, a)
	if m, ok := p.written[key]; ok && !fresh && p.trust && m.Value != attrAbsent && p.now().Sub(m.At) < recheckAfter {
		return m.Value, true, nil
	}
	var value string
	var found bool
	var err error
	if a == p.names.Score() {
		value, found, err = p.store.GetPromotionScore(ctx, p.resource, node)
	} else {
		value, found, err = p.store.Get(ctx, node, a.Name, a.Lifetime)
	}
	if err != nil {
		return "", false, err
	}
	p.remember(key, value, found)
	return value, found, nil
}

func (p *publisher) remember(key, value string, found bool) {
	if !found {
		value = attrAbsent
	}
	p.written[key] = memo{Value: value, At: p.now()}
	p.dirty = true
}

// lowers reports whether writing value takes promotability away (a score of -INFINITY, a
// data-status that is neither LATEST nor streaming). Such a write is never skipped on the
// strength of the memory, which another node's write may have made stale: a memory may save
// a write, never suppress one that lowers (docs/design.md, invariant I4; issue #10).
func (p *publisher) lowers(a Attr, value string) bool {
	switch a {
	case p.names.Score():
		return value == ScoreCannotPromote
	case p.names.DataStatus():
		return value != dataLatest && value != dataStreamingSync && value != dataStreamingAsyn
	}
	return false
}

// set writes value unless the attribute already has it; it reports whether it wrote.
func (p *publisher) set(ctx context.Context, node string, a Attr, value string) (bool, error) {
	return p.write(ctx, node, a, value, false)
}

// setExisting is set on an attribute that is not created: one that the read finds absent is
// left so (a node's score is never created by another node: docs/design.md §6), one that
// cannot be read is lowered all the same (I4). One read decides both: each failed read may
// cost crm_attr_timeout and the retry budget, which the deadline may not leave twice (I6).
func (p *publisher) setExisting(ctx context.Context, node string, a Attr, value string) (bool, error) {
	return p.write(ctx, node, a, value, true)
}

func (p *publisher) write(ctx context.Context, node string, a Attr, value string, existing bool) (bool, error) {
	lowers := p.lowers(a, value)
	old, found, err := p.lookup(ctx, node, a, lowers)
	switch {
	case err == nil && !found && existing:
		return false, nil
	case err != nil && !lowers:
		return false, err
	case err != nil:
		// A lowering write needs no old value: a failed read (the CIB busy while attrd
		// takes updates) must not skip it (I4, docs/design.md §1; review 10).
		p.log.Warn("cannot read the attribute before lowering it: writing it anyway", "node", node, "name", a.Name, "error", err)
		old, found = "", false
	}
	from := displayValue(old, found)
	if err != nil {
		from = "(unread)" // not "(none)": the attribute may well exist
	}
	if found && old == value {
		return false, nil
	}
	if a == p.names.Score() {
		err = p.store.SetPromotionScore(ctx, p.resource, node, value)
	} else {
		err = p.store.Set(ctx, node, a.Name, value, a.Lifetime)
	}
	if err != nil {
		delete(p.written, memoKey(node, a))
		return false, err
	}
	p.remember(memoKey(node, a), value, true)
	p.log.Info("attribute changed", "node", node, "name", a.Name, "from", from, "to", value)
	return true, nil
}

// score sets a node's promotion score.
func (p *publisher) score(ctx context.Context, node, value string) (bool, error) {
	return p.set(ctx, node, p.names.Score(), value)
}

// remove deletes an attribute unless it is known to be absent.
func (p *publisher) remove(ctx context.Context, node string, a Attr) error {
	if _, found, err := p.current(ctx, node, a); err != nil || !found {
		return err
	}
	if err := p.store.Delete(ctx, node, a.Name, a.Lifetime); err != nil {
		delete(p.written, memoKey(node, a))
		return err
	}
	p.remember(memoKey(node, a), "", false)
	p.log.Info("attribute removed", "node", node, "name", a.Name)
	return nil
}

// save persists what was written for the next action on this node.
func (p *publisher) save() {
	if p.path == "" || !p.dirty {
		return
	}
	b, err := json.Marshal(p.written)
	if err != nil {
		return
	}
	_ = safefs.MkdirAll(filepath.Dir(p.path), 0o755, nil)
	_, _ = pgctl.WriteFileAtomic(p.path, b, 0o600, pgctl.OSUser{})
}

func displayValue(v string, found bool) string {
	if !found {
		return "(none)"
	}
	return v
}
