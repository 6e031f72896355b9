package member

import (
	"slices"
	"sort"
)

// ciRecs is a customer's check-in records in Date order, in chunks of at
// most ciChunk: appending the usual record, of a new latest date, never
// copies the ones before it (a slice of a thousand records doubling would),
// and a make-up inserted among them moves at most one chunk's records.
type ciRecs struct {
	chunks [][]ciRec
}

// ciChunk bounds the records of a chunk; the first chunk starts small and
// grows to it, for the many customers who check in a few times.
const ciChunk = 64

// ciPos is the place of a record: its chunk and its index there.
type ciPos struct{ c, i int }

// search returns the place of the first record whose date is not before
// date (the end when none is), and whether its date is date.
func (r *ciRecs) search(date int32) (ciPos, bool) {
	n := len(r.chunks)
	c := sort.Search(n, func(c int) bool { ch := r.chunks[c]; return ch[len(ch)-1].date >= date })
	if c == n {
		return r.end(), false
	}
	ch := r.chunks[c]
	i := sort.Search(len(ch), func(i int) bool { return ch[i].date >= date })
	return ciPos{c, i}, ch[i].date == date
}

// end returns the place after the last record.
func (r *ciRecs) end() ciPos {
	if len(r.chunks) == 0 {
		return ciPos{}
	}
	return ciPos{len(r.chunks) - 1, len(r.chunks[len(r.chunks)-1])}
}

// at returns the record at p, which must be one.
func (r *ciRecs) at(p ciPos) *ciRec { return &r.chunks[p.c][p.i] }

// next returns the place after p and whether there is a record there.
func (r *ciRecs) next(p ciPos) (ciPos, bool) {
	if p.i++; p.i == len(r.chunks[p.c]) {
		p.c, p.i = p.c+1, 0
	}
	return p, p.c < len(r.chunks)
}

// valid tells whether p is a record's place.
func (r *ciRecs) valid(p ciPos) bool {
	return p.c < len(r.chunks) && p.i < len(r.chunks[p.c])
}

// insert puts x at p, as search found it for x.date.
func (r *ciRecs) insert(p ciPos, x ciRec) {
	if len(r.chunks) == 0 {
		r.chunks = [][]ciRec{append(make([]ciRec, 0, 2), x)}
		return
	}
	ch := r.chunks[p.c]
	switch {
	case len(ch) < ciChunk:
		if len(ch) == cap(ch) { // grow by doubling, to ciChunk
			ch = append(make([]ciRec, 0, min(2*cap(ch), ciChunk)), ch...)
		}
		r.chunks[p.c] = slices.Insert(ch, p.i, x)
	case p.i == len(ch) && p.c == len(r.chunks)-1: // a new latest record
		r.chunks = append(r.chunks, append(make([]ciRec, 0, ciChunk), x))
	default: // split the full chunk in two
		half := append(make([]ciRec, 0, ciChunk), ch[ciChunk/2:]...)
		r.chunks[p.c] = ch[:ciChunk/2] // its tail, copied to half, is overwritten
		r.chunks = slices.Insert(r.chunks, p.c+1, half)
		if p.i <= ciChunk/2 {
			r.chunks[p.c] = slices.Insert(r.chunks[p.c], p.i, x)
		} else {
			r.chunks[p.c+1] = slices.Insert(half, p.i-ciChunk/2, x)
		}
	}
}
