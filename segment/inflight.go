package segment

import (
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
)

// inflight counts, per membership change, the calls of this Service that
// are publishing its event now (from just before ApplyMembership records it
// until MarkReported clears it), so that republish leaves alone an event
// that a concurrent call, or the call whose Publisher is running Handle
// synchronously, is about to publish and mark: the Store alone cannot tell
// an event in flight from one whose publishing failed. republish claims a
// listed change and then checks that the Store still keeps it, since the
// call that had it in flight may have finished in between. Other instances
// sharing the Store may still publish such an event twice, which its
// deterministic ID makes harmless. The zero value is ready to use.
type inflight struct {
	mu sync.Mutex
	n  map[inflightKey]int
}

type inflightKey struct {
	tenant  scrm.TenantID
	segment string
	change  MembershipChange
}

// add registers k (again).
func (f *inflight) add(k inflightKey) {
	f.mu.Lock()
	if f.n == nil {
		f.n = make(map[inflightKey]int)
	}
	f.n[k]++
	f.mu.Unlock()
}

// claim registers k only when no call has it in flight, and reports
// whether it did.
func (f *inflight) claim(k inflightKey) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[k] > 0 {
		return false
	}
	if f.n == nil {
		f.n = make(map[inflightKey]int)
	}
	f.n[k] = 1
	return true
}

// done releases one registration of k.
func (f *inflight) done(k inflightKey) {
	f.mu.Lock()
	if f.n[k] <= 1 {
		delete(f.n, k)
	} else {
		f.n[k]--
	}
	f.mu.Unlock()
}
