package referral

import (
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
)

// scratchBuf holds the slices that a qualification and a grant build and
// hand to the Store, which copies them (Store methods copy values in), so
// they can be recycled: a steady stream of qualifications then allocates
// none of them, which keeps the collector away from the hot path.
type scratchBuf struct {
	recs      []GrantRecord
	completed []string
	grants    []scrm.Grant
	entries   []Entry
	limits    []BindLimit
	claims    []GrantClaim // filled by a grantClaimer
	fens      []int64      // entries' amounts, for an entryAdder
	keys      keyArena
}

// records returns a slice of n zeroed records.
func (b *scratchBuf) records(n int) []GrantRecord {
	if cap(b.recs) < n {
		b.recs = make([]GrantRecord, n)
	}
	b.recs = b.recs[:n]
	return b.recs
}

// scratchPool recycles scratchBufs. It is per Service, not global.
type scratchPool struct{ p sync.Pool }

func (s *Service) scratch() *scratchBuf {
	if b, ok := s.scratchBufs.p.Get().(*scratchBuf); ok {
		return b
	}
	return &scratchBuf{completed: make([]string, 0, 4), grants: make([]scrm.Grant, 0, 4), entries: make([]Entry, 0, 3), limits: make([]BindLimit, 0, 3)}
}

// recycle clears b, so that the pool holds no customer's data, and puts it
// back.
func (s *Service) recycle(b *scratchBuf) {
	// Every user stores its slices back with their lengths, and nothing
	// past a length was written since the last recycle, so clearing up to
	// the lengths clears all: clearing the capacities costs as much again
	// (the records are large, and full of pointers).
	clear(b.recs)
	clear(b.completed)
	clear(b.grants)
	clear(b.entries)
	clear(b.limits)
	clear(b.claims)
	b.recs, b.completed, b.grants, b.entries, b.limits, b.claims = b.recs[:0], b.completed[:0], b.grants[:0], b.entries[:0], b.limits[:0], b.claims[:0]
	b.fens = b.fens[:0]
	clear(b.keys.buf) // customer IDs
	b.keys.reset()
	s.scratchBufs.p.Put(b)
}

// appendErr appends err to errs when it is not nil.
func appendErr(errs []error, err error) []error {
	if err == nil {
		return errs
	}
	return append(errs, err)
}
