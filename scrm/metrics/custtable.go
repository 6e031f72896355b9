package metrics

// custTable maps customers, by a 96-bit hash of their ID, to their index.
// It is an open-addressing table with linear probing whose 16-byte slot
// holds the whole key, so a lookup touches one cache line and never the
// ID's bytes: on a million customers, reading a stored ID or a separate
// entry would be one more cache miss per event.
//
// Two different IDs agreeing on all 96 bits (a 64-bit and a 32-bit
// maphash with independent random seeds) would be taken for one customer;
// for a million customers the chance is about 10⁻¹⁷.
type custTable struct {
	slots []custSlot // len is a power of two; a slot with idx 0 is empty
	n     int
}

type custSlot struct {
	h1  uint64
	h2  uint32
	idx uint32 // customer index + 1, with fromProfileBit set for a profile's customer
}

// fromProfileBit marks, in custSlot.idx, a customer whose data came from
// a profile. It bounds a Collector to 2³¹ − 1 customers.
const fromProfileBit = 1 << 31

// get returns the slot of (h1, h2), inserting an empty one (idx 0) for it
// when absent; the caller fills idx.
func (t *custTable) get(h1 uint64, h2 uint32) *custSlot {
	if 4*(t.n+1) > 3*len(t.slots) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := h1 & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.idx == 0 {
			s.h1, s.h2 = h1, h2
			t.n++
			return s
		}
		if s.h1 == h1 && s.h2 == h2 {
			return s
		}
	}
}

func (t *custTable) grow() {
	old := t.slots
	t.slots = make([]custSlot, max(1024, 2*len(old)))
	mask := uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.idx == 0 {
			continue
		}
		i := s.h1 & mask
		for t.slots[i].idx != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}
