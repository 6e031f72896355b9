package sop

// heapEntry is one entry of the due-time heap: a job's due time (or lease
// expiry) and its reference, enrollment order << 8 | step position. The
// reference doubles as the tie-break, so jobs due at once come out in
// enrollment order, then step order. Entries hold no pointers, so the
// garbage collector never scans the heap's array.
type heapEntry struct {
	due int64
	ref uint64
}

// jobHeap is a binary min-heap of heapEntry, so Claim takes the earliest due
// job in O(log n). Entries are never removed from the middle: a job that is
// completed, cancelled or moved leaves its entry behind, and Claim discards
// entries that no longer match their job (see memoryStore.Claim).
type jobHeap []heapEntry

func (h jobHeap) less(i, k int) bool {
	if h[i].due != h[k].due {
		return h[i].due < h[k].due
	}
	return h[i].ref < h[k].ref
}

func (h *jobHeap) push(due int64, ref uint64) {
	*h = append(*h, heapEntry{due: due, ref: ref})
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

// pop removes and returns the earliest entry; the heap must not be empty.
func (h *jobHeap) pop() heapEntry {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	*h = s
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && s.less(r, l) {
			c = r
		}
		if !s.less(c, i) {
			break
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
	return top
}
