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
	clear(b.recs[:cap(b.recs)])
	clear(b.completed[:cap(b.completed)])
	clear(b.grants[:cap(b.grants)])
	clear(b.entries[:cap(b.entries)])
	clear(b.limits[:cap(b.limits)])
	b.recs, b.completed, b.grants, b.entries, b.limits = b.recs[:0], b.completed[:0], b.grants[:0], b.entries[:0], b.limits[:0]
	s.scratchBufs.p.Put(b)
}

// appendErr appends err to errs when it is not nil.
func appendErr(errs []error, err error) []error {
	if err == nil {
		return errs
	}
	return append(errs, err)
}
