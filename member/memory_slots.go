package member

// slotIndex maps the hashes of strings (idempotency keys, order IDs) to
// int32s, the numbers or places of the records that hold the strings. It is what a
// map[uint64]int with chains of colliding records was, but an
// open-addressing table of 8-byte slots, each a 32-bit tag of the hash and
// the int32, probed linearly: a lookup reads one slot (mostly one cache
// line) of a table a third the size of a Go map's, growing rehashes from the
// tags alone without reading the strings, and the table holds no pointers
// for the garbage collector. Tags are not unique: find asks the caller's
// match to confirm a candidate, so lookups are exact. The zero value is an
// empty index; it is not safe for concurrent use.
type slotIndex struct {
	slots []uint64 // 0: empty; else tag<<32 | (the int32 + 1)
	n     int
}

// slotTag folds a 64-bit hash into the tag slotIndex keeps.
func slotTag(h uint64) uint32 { return uint32(h) ^ uint32(h>>32) }

// find returns the first value stored under tag that match accepts, or -1.
func (x *slotIndex) find(tag uint32, match func(int32) bool) int32 {
	if len(x.slots) == 0 {
		return -1
	}
	mask := len(x.slots) - 1
	for p := int(tag) & mask; ; p = (p + 1) & mask {
		s := x.slots[p]
		if s == 0 {
			return -1
		}
		if uint32(s>>32) == tag {
			if v := int32(uint32(s)) - 1; match(v) {
				return v
			}
		}
	}
}

// insert stores v under tag. The caller makes sure that v's string is not
// stored yet (find did not find it).
func (x *slotIndex) insert(tag uint32, v int32) {
	if x.n+1 > len(x.slots)/4*3 {
		x.grow()
	}
	mask := len(x.slots) - 1
	p := int(tag) & mask
	for x.slots[p] != 0 {
		p = (p + 1) & mask
	}
	x.slots[p] = uint64(tag)<<32 | uint64(uint32(v+1))
	x.n++
}

// replace stores v under tag in place of old, which is stored under tag.
func (x *slotIndex) replace(tag uint32, old, v int32) {
	want := uint64(tag)<<32 | uint64(uint32(old+1))
	mask := len(x.slots) - 1
	p := int(tag) & mask
	for x.slots[p] != want {
		p = (p + 1) & mask
	}
	x.slots[p] = uint64(tag)<<32 | uint64(uint32(v+1))
}

// grow doubles the table, placing each slot by its tag.
func (x *slotIndex) grow() {
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

// remove removes v, stored under tag, if it is stored, shifting back the
// slots after it that would otherwise be cut off from their probes.
func (x *slotIndex) remove(tag uint32, v int32) {
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
