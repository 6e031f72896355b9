package scrm

import (
	"math"
	"slices"
	"time"
)

// activity is the fold of one event type: all-time aggregates plus the
// events within the horizon, for windowed counts and sums.
//
// The windowed entries are sorted by time and stored in chunks of at most
// chunkSize, with running totals, so that a window query is two binary
// searches and a subtraction, and so that cloning a profile (stores copy
// profiles in and out) copies chunk headers, not events. Chunks are shared
// between clones and never written in place below their length: a clone's
// last chunk is capped at its length, so an append copies that one chunk,
// and every other change (a late event, coalescing, merging) builds new
// chunks.
type activity struct {
	typ    string // the event type
	count  int64
	sumFen int64
	first  int64     // unix nanoseconds of the earliest event (valid when count > 0)
	last   int64     // unix nanoseconds of the latest event
	chunks [][]entry // no chunk is empty
	n      int       // entries in all chunks
}

type entry struct {
	t      int64 // unix nanoseconds
	n      int64 // events in this entry (1 unless coalesced)
	fen    int64 // amount in fen
	cumN   int64 // running total of n through this entry (may include pruned entries)
	cumFen int64 // running total of fen through this entry
}

const (
	chunkSize     = 128 // entries per chunk before a new one starts
	firstChunkCap = 2   // initial capacity of a new chunk
)

// share makes a, a shallow copy of another activity, safe to change on its
// own: it gets its own list of chunk headers, its last chunk capped so an
// append copies it.
func (a *activity) share() {
	a.chunks = slices.Clone(a.chunks)
	if k := len(a.chunks) - 1; k >= 0 {
		a.chunks[k] = slices.Clip(a.chunks[k])
	}
}

func (a *activity) lastEntry() (entry, bool) {
	if len(a.chunks) == 0 {
		return entry{}, false
	}
	lc := a.chunks[len(a.chunks)-1]
	return lc[len(lc)-1], true
}

// flat returns every entry in order, in a new slice.
func (a *activity) flat() []entry {
	out := make([]entry, 0, a.n)
	for _, c := range a.chunks {
		out = append(out, c...)
	}
	return out
}

// setFlat replaces the entries with es (sorted), recomputing running totals.
func (a *activity) setFlat(es []entry) {
	var n, fen int64
	a.chunks, a.n = nil, len(es)
	for len(es) > 0 {
		k := min(chunkSize, len(es))
		c := make([]entry, k)
		copy(c, es[:k])
		for i := range c {
			n += c[i].n
			fen += c[i].fen
			c[i].cumN, c[i].cumFen = n, fen
		}
		a.chunks = append(a.chunks, c)
		es = es[k:]
	}
}

func (a *activity) add(t time.Time, n, fen int64, limits ProfileLimits) {
	ts := nanos(t)
	if a.count == 0 || ts < a.first {
		a.first = ts
	}
	if a.count == 0 || ts > a.last {
		a.last = ts
	}
	a.count += n
	a.sumFen += fen
	h := int64(limits.Horizon)
	if ts < a.cutoff(h) {
		return // older than the horizon: all-time aggregates only
	}
	if le, ok := a.lastEntry(); !ok || le.t <= ts {
		e := entry{t: ts, n: n, fen: fen, cumN: le.cumN + n, cumFen: le.cumFen + fen}
		k := len(a.chunks) - 1
		if k < 0 || len(a.chunks[k]) >= chunkSize {
			// Start small: most customers have a handful of events of a
			// type, and append grows the chunk towards chunkSize.
			c := make([]entry, 0, firstChunkCap)
			a.chunks = append(a.chunks, append(c, e))
		} else {
			a.chunks[k] = append(a.chunks[k], e)
		}
		a.n++
	} else {
		// A late event: rebuild from its chunk on, in new chunks.
		ci, ei := a.search(ts + 1)
		if ci == len(a.chunks) {
			ci, ei = len(a.chunks)-1, len(a.chunks[len(a.chunks)-1])
		}
		tail := make([]entry, 0, a.n+1)
		for _, c := range a.chunks[ci:] {
			tail = append(tail, c...)
		}
		tail = append(tail, entry{})
		copy(tail[ei+1:], tail[ei:])
		tail[ei] = entry{t: ts, n: n, fen: fen}
		var base entry
		if ci > 0 {
			pc := a.chunks[ci-1]
			base = pc[len(pc)-1]
		}
		head := a.chunks[:ci:ci]
		rest := activity{}
		rest.setFlat(tail)
		for _, c := range rest.chunks {
			for i := range c {
				c[i].cumN += base.cumN
				c[i].cumFen += base.cumFen
			}
		}
		a.chunks = append(head, rest.chunks...)
		a.n++
	}
	a.prune(a.cutoff(h))
	if a.n > limits.MaxEntries {
		a.coalesce(limits.MaxEntries)
	}
}

// cutoff returns the instant before which entries are dropped: horizon h
// before the horizon's reference. The reference is the newest of the last
// three entries that is at most h after the entry before it; failing that,
// the third newest entry. So up to two newest entries, each more than a
// horizon after the one before it (a date mistyped years ahead), neither
// prune the history nor make real events look older than the horizon,
// while a customer whose events are all further apart than h (a daily
// check-in with a one-hour horizon) keeps only the last few. With fewer
// than three entries and no two within h there is no reference: nothing is
// pruned and an event of any date is kept. It looks at three entries at
// most.
func (a *activity) cutoff(h int64) int64 {
	var last [3]int64
	k := 0
	for ci := len(a.chunks) - 1; ci >= 0 && k < len(last); ci-- {
		c := a.chunks[ci]
		for ei := len(c) - 1; ei >= 0 && k < len(last); ei-- {
			last[k] = c[ei].t
			k++
		}
	}
	ref := int64(math.MinInt64)
	switch {
	case k >= 2 && uint64(last[0]-last[1]) <= uint64(h): // last[0] >= last[1]: no overflow as uint64
		ref = last[0]
	case k >= 3 && uint64(last[1]-last[2]) <= uint64(h):
		ref = last[1]
	case k >= 3:
		ref = last[2]
	default:
		return math.MinInt64
	}
	if ref < math.MinInt64+h {
		return math.MinInt64
	}
	return ref - h
}

// search returns the position of the first entry with t >= ts as a chunk
// index and an index within it; (len(chunks), 0) when there is none.
func (a *activity) search(ts int64) (ci, ei int) {
	lo, hi := 0, len(a.chunks)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		c := a.chunks[m]
		if c[len(c)-1].t < ts {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(a.chunks) {
		return lo, 0
	}
	c := a.chunks[lo]
	l, h := 0, len(c)
	for l < h {
		m := int(uint(l+h) >> 1)
		if c[m].t < ts {
			l = m + 1
		} else {
			h = m
		}
	}
	return lo, l
}

// prune drops entries older than cutoff. Running totals stay valid: window
// queries subtract the total before the first entry they count.
func (a *activity) prune(cutoff int64) {
	if len(a.chunks) == 0 || a.chunks[0][0].t >= cutoff {
		return
	}
	ci, ei := a.search(cutoff)
	for _, c := range a.chunks[:ci] {
		a.n -= len(c)
	}
	a.n -= ei
	if ci == len(a.chunks) {
		a.chunks = nil
		return
	}
	// The outer slice is private to this activity (clone copies it), so it
	// may be resliced and written in place; chunks themselves are not.
	a.chunks = a.chunks[ci:]
	a.chunks[0] = a.chunks[0][ei:]
}

// coalesce merges the older half of the entries per UTC day, stamping each
// merged entry with the day's latest event time. When that leaves more than
// three quarters of maxEntries (events on many different days), it then
// merges adjacent pairs of the older entries (each stamped with the later
// time), round after round, until it does not, the newest entries left as
// they are: so entries stay within maxEntries and the next coalesce is at
// least maxEntries/4 adds away.
func (a *activity) coalesce(maxEntries int) {
	es := a.flat()
	half := len(es) / 2
	const day = int64(24 * time.Hour)
	out := make([]entry, 0, len(es))
	for _, e := range es[:half] {
		if k := len(out); k > 0 && floorDiv(out[k-1].t, day) == floorDiv(e.t, day) {
			out[k-1].t = e.t
			out[k-1].n += e.n
			out[k-1].fen += e.fen
			continue
		}
		out = append(out, e)
	}
	out = append(out, es[half:]...)
	target := maxEntries - maxEntries/4
	keep := target / 2 // newest entries never merged here
	for len(out) > target && len(out)-keep > 1 {
		old, j := len(out)-keep, 0
		for i := 0; i < old; i += 2 {
			e := out[i]
			if i+1 < old {
				e.t = out[i+1].t
				e.n += out[i+1].n
				e.fen += out[i+1].fen
			}
			out[j] = e
			j++
		}
		out = append(out[:j], out[old:]...)
	}
	a.setFlat(out)
}

// absorb adds another activity of the same event type.
func (a *activity) absorb(o *activity) {
	if o.count == 0 {
		return
	}
	if a.count == 0 || o.first < a.first {
		a.first = o.first
	}
	if a.count == 0 || o.last > a.last {
		a.last = o.last
	}
	a.count += o.count
	a.sumFen += o.sumFen
	x, y := a.flat(), o.flat()
	merged := make([]entry, 0, len(x)+len(y))
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		if j == len(y) || (i < len(x) && x[i].t <= y[j].t) {
			merged = append(merged, x[i])
			i++
		} else {
			merged = append(merged, y[j])
			j++
		}
	}
	a.setFlat(merged)
}

// window returns the count and fen sum of events at or after since.
func (a *activity) window(since time.Time) (n, fen int64) {
	if since.IsZero() {
		return a.count, a.sumFen
	}
	s := nanos(since)
	if s <= a.first {
		return a.count, a.sumFen
	}
	if s > a.last || len(a.chunks) == 0 {
		return 0, 0
	}
	ci, ei := a.search(s)
	if ci == len(a.chunks) {
		return 0, 0
	}
	last, _ := a.lastEntry()
	from := a.chunks[ci][ei]
	return last.cumN - (from.cumN - from.n), last.cumFen - (from.cumFen - from.fen)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// Profiles keep instants as unix nanoseconds, which reach from 1678 to 2262;
// nanos clamps instants outside that range to its ends, and maps the zero
// time to the sentinel math.MinInt64.
func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return math.MinInt64
	case t.Before(time.Unix(0, math.MinInt64+1)):
		return math.MinInt64 + 1
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos, in UTC; the zero sentinel math.MinInt64
// gives the zero time.
func fromNanos(n int64) time.Time {
	if n == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
