package crmattr

import (
	"context"
	"sync"
)

// Fake is an in-memory Store for tests; the zero value is empty and ready to use. Promotion
// scores are stored like the real ones, as the Reboot attribute PromotionAttrName(resource),
// so Get sees them too.
type Fake struct {
	mu       sync.Mutex
	attrs    map[fakeKey]string
	writes   int
	failNext error
}

type fakeKey struct {
	lt         Lifetime
	node, name string
}

var _ Store = (*Fake)(nil)

// Writes counts the Set, Delete and SetPromotionScore calls that changed something; writing
// the value already there or deleting a missing attribute does not count. Compare it before
// and after the code under test to assert that it wrote nothing.
func (f *Fake) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// FailNext makes the next call (of any method) return err without doing anything.
func (f *Fake) FailNext(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = err
}

// takeFailure returns the pending injected failure, else argErr. f.mu must be held.
func (f *Fake) takeFailure(argErr error) error {
	if err := f.failNext; err != nil {
		f.failNext = nil
		return err
	}
	return argErr
}

func (f *Fake) Get(_ context.Context, node, name string, lt Lifetime) (string, bool, error) {
	return f.get(checkAttr(node, name, lt), fakeKey{lt, node, name})
}

func (f *Fake) Set(_ context.Context, node, name, value string, lt Lifetime) error {
	return f.set(checkAttr(node, name, lt), fakeKey{lt, node, name}, value)
}

func (f *Fake) Delete(_ context.Context, node, name string, lt Lifetime) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.takeFailure(checkAttr(node, name, lt)); err != nil {
		return err
	}
	key := fakeKey{lt, node, name}
	if _, found := f.attrs[key]; found {
		delete(f.attrs, key)
		f.writes++
	}
	return nil
}

func (f *Fake) SetPromotionScore(_ context.Context, resource, node, score string) error {
	return f.set(checkPromotion(resource, node), fakeKey{Reboot, node, PromotionAttrName(resource)}, score)
}

func (f *Fake) GetPromotionScore(_ context.Context, resource, node string) (string, bool, error) {
	return f.get(checkPromotion(resource, node), fakeKey{Reboot, node, PromotionAttrName(resource)})
}

func (f *Fake) get(argErr error, key fakeKey) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.takeFailure(argErr); err != nil {
		return "", false, err
	}
	value, found := f.attrs[key]
	return value, found, nil
}

func (f *Fake) set(argErr error, key fakeKey, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.takeFailure(argErr); err != nil {
		return err
	}
	if old, found := f.attrs[key]; found && old == value {
		return nil
	}
	if f.attrs == nil {
		f.attrs = make(map[fakeKey]string)
	}
	f.attrs[key] = value
	f.writes++
	return nil
}
