package mutants

import (
	"sync"
	"time"
)

// Overlap widens the window between a mutant's read and its write, so that
// concurrent callers of a check-then-act mutant reliably meet in it
// whatever the machine's load: Wait blocks its caller until another caller
// is waiting too (then both go on, having both read before either writes)
// or until Max has passed (a caller with no concurrent peer). A fixed
// sleep of a millisecond was not enough: under -race on a loaded 2-core
// machine the suite's racing goroutines sometimes reached the window more
// than a millisecond apart, and the suite passed the mutant.
//
// The zero value waits up to DefaultMax. An Overlap is safe for
// concurrent use.
type Overlap struct {
	// Max bounds a lone caller's wait; 0 means DefaultMax.
	Max time.Duration

	mu      sync.Mutex
	gate    chan struct{} // closed when a waiting caller is joined
	waiting bool          // a caller waits on gate
}

// DefaultMax is how long a lone caller waits for a peer.
const DefaultMax = 50 * time.Millisecond

// Wait returns once another caller has called Wait meanwhile, or after
// Max.
func (o *Overlap) Wait() {
	o.mu.Lock()
	if o.waiting {
		close(o.gate)
		o.gate, o.waiting = nil, false
		o.mu.Unlock()
		return
	}
	gate := make(chan struct{})
	o.gate, o.waiting = gate, true
	o.mu.Unlock()

	max := o.Max
	if max <= 0 {
		max = DefaultMax
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-gate:
	case <-t.C:
		o.mu.Lock()
		if o.gate == gate { // still alone
			o.gate, o.waiting = nil, false
		}
		o.mu.Unlock()
	}
}
