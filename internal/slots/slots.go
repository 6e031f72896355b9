// Package slots is the open-addressing hash index the memory stores use to
// find records by a string key without a Go map: it maps 32-bit tags of
// the keys' hashes to int32s, the places of the records that hold the
// keys, in a table of 8-byte slots probed linearly. A lookup of a key the
// table does not hold (the common case on hot paths) reads one slot,
// mostly one cache line, of a table a third the size of a Go map's;
// growing rehashes from the tags alone without reading the keys; and the
// table holds no pointers for the garbage collector. Tags are not unique:
// lookups ask the caller's match to confirm a candidate, so they are
// exact.
package slots

// Index is the table. The zero value is empty; it is not safe for
// concurrent use.
type Index struct {
	slots []uint64 // 0: empty; else tag<<32 | (the int32 + 1)
	n     int
}

// Tag folds a 64-bit hash of a key into the tag the index keeps.
func Tag(h uint64) uint32 { return uint32(h) ^ uint32(h>>32) }

// Slot is where a probe for a tag ended: the empty slot that a value of
// the tag can be stored at (see Store), in a table of a given size.
type Slot struct {
	Tag      uint32
	at, size int
}

// Len returns the number of values stored.
func (x *Index) Len() int { return x.n }

// Find returns the first value stored under tag that match accepts, or -1.
func (x *Index) Find(tag uint32, match func(int32) bool) int32 {
	v, _ := x.Probe(tag, match)
	return v
}

// Probe is Find that, when no value matches, also returns the Slot where
// the probe ended, for Store.
func (x *Index) Probe(tag uint32, match func(int32) bool) (int32, Slot) {
	if len(x.slots) == 0 {
		return -1, Slot{Tag: tag, at: -1}
	}
	mask := len(x.slots) - 1
	for p := int(tag) & mask; ; p = (p + 1) & mask {
		s := x.slots[p]
		if s == 0 {
			return -1, Slot{Tag: tag, at: p, size: len(x.slots)}
		}
		if uint32(s>>32) == tag {
			if v := int32(uint32(s)) - 1; match(v) {
				return v, Slot{}
			}
		}
	}
}

// Peek reads the first slot of tag's probe, so that a lookup right after
// finds it in cache; touching the keys of a batch first lets their cache
// misses overlap. Its result means nothing but keeps the read.
func (x *Index) Peek(tag uint32) uint64 {
	if len(x.slots) == 0 {
		return 0
	}
	return x.slots[int(tag)&(len(x.slots)-1)]
}

// Store stores v under sl.Tag at sl, as Probe found it, or where the probe
// now ends when the table grew or the slot was taken since. The caller
// makes sure v's key is not stored (nothing was removed since the probe).
func (x *Index) Store(sl Slot, v int32) {
	if x.n+1 > len(x.slots)/4*3 {
		x.grow()
	}
	p := sl.at
	if sl.size != len(x.slots) || x.slots[p] != 0 {
		mask := len(x.slots) - 1
		for p = int(sl.Tag) & mask; x.slots[p] != 0; p = (p + 1) & mask {
		}
	}
	x.slots[p] = uint64(sl.Tag)<<32 | uint64(uint32(v+1))
	x.n++
}

// Insert stores v under tag. The caller makes sure that v's key is not
// stored yet (Find did not find it).
func (x *Index) Insert(tag uint32, v int32) {
	x.Store(Slot{Tag: tag, at: -1}, v)
}

// Replace stores v under tag in place of old, which is stored under tag.
func (x *Index) Replace(tag uint32, old, v int32) {
	want := uint64(tag)<<32 | uint64(uint32(old+1))
	mask := len(x.slots) - 1
	p := int(tag) & mask
	for x.slots[p] != want {
		p = (p + 1) & mask
	}
	x.slots[p] = uint64(tag)<<32 | uint64(uint32(v+1))
}

// grow doubles the table, placing each slot by its tag.
func (x *Index) grow() {
	old := x.slots
	x.slots = make([]uint64, max(8, 2*len(old)))
	mask := len(x.slots) - 1
	for _, s := range old {
		if s == 0 {
			continue
		}
		p := int(uint32(s>>32)) & mask
		for x.slots[p] != 0 {
			p = (p + 1) & mask
		}
		x.slots[p] = s
	}
}

// Remove removes v, stored under tag, if it is stored, shifting back the
// slots after it that would otherwise be cut off from their probes.
func (x *Index) Remove(tag uint32, v int32) {
	if len(x.slots) == 0 {
		return
	}
	want := uint64(tag)<<32 | uint64(uint32(v+1))
	mask := len(x.slots) - 1
	p := int(tag) & mask
	for ; x.slots[p] != want; p = (p + 1) & mask {
		if x.slots[p] == 0 {
			return
		}
	}
	x.slots[p] = 0
	x.n--
	for q := (p + 1) & mask; x.slots[q] != 0; q = (q + 1) & mask {
		home := int(uint32(x.slots[q]>>32)) & mask
		if (q-home)&mask >= (q-p)&mask { // p is on the probe from home to q
			x.slots[p], x.slots[q] = x.slots[q], 0
			p = q
		}
	}
}

// All calls f with every value, in no particular order.
func (x *Index) All(f func(int32)) {
	for _, s := range x.slots {
		if s != 0 {
			f(int32(uint32(s)) - 1)
		}
	}
}
