package referral

import "hash/maphash"

// hashIndex maps strings (lucky draws' keys and customers) to values. It
// is what map[string]V would be, but its main map is keyed by the string's
// hash: growing a map rehashes every key, and rehashing strings reads each
// one's bytes from wherever they are, a cache miss apiece once the ledger
// is large. A value's own key (keyOf) tells a hash collision apart; colliding
// keys go to a plain map, so lookups stay exact.
type hashIndex[V any] struct {
	seed     maphash.Seed
	keyOf    func(V) string
	primary  map[uint64]V
	overflow map[string]V // keys whose hash another key in primary has
}

func newHashIndex[V any](seed maphash.Seed, keyOf func(V) string) hashIndex[V] {
	return hashIndex[V]{seed: seed, keyOf: keyOf, primary: map[uint64]V{}}
}

func (x *hashIndex[V]) get(k string) (V, bool) {
	if v, ok := x.primary[maphash.String(x.seed, k)]; ok && x.keyOf(v) == k {
		return v, true
	}
	v, ok := x.overflow[k]
	return v, ok
}

// put stores v under k, which must not be stored yet.
func (x *hashIndex[V]) put(k string, v V) {
	h := maphash.String(x.seed, k)
	if _, taken := x.primary[h]; !taken {
		x.primary[h] = v
		return
	}
	if x.overflow == nil {
		x.overflow = map[string]V{}
	}
	x.overflow[k] = v
}

// delete removes k, if stored.
func (x *hashIndex[V]) delete(k string) {
	h := maphash.String(x.seed, k)
	if v, ok := x.primary[h]; ok && x.keyOf(v) == k {
		delete(x.primary, h)
		return
	}
	delete(x.overflow, k)
}

// all calls f with every value, in no particular order.
func (x *hashIndex[V]) all(f func(V)) {
	for _, v := range x.primary {
		f(v)
	}
	for _, v := range x.overflow {
		f(v)
	}
}

// idIndex maps strings (customer IDs, grant keys, entry IDs, devices and
// IPs) to int32s, the places of their values in a slab, whose keyOf tells
// the key of each. It is an open-addressing table of 8-byte slots, each a 32-bit tag of the
// key's hash and the int32, probed linearly: a lookup of a key it does not
// hold, the common case on the hot paths, reads one slot (mostly one cache
// line) of a table a third the size of a Go map's, and hashes once.
// Growing rehashes from the tags alone, never reading the keys. A tag
// that matches is confirmed with keyOf, so lookups are exact.
type idIndex struct {
	seed  maphash.Seed
	keyOf func(int32) string
	slots []uint64 // 0: empty; else tag<<32 | (the int32 + 1)
	n     int
	sink  uint64 // what touch read, so that its reads are not optimized away
}

// touch reads the first slot of k's probe, so that a lookup of k right
// after finds it in cache. Touching the keys of a batch before looking
// them up lets their cache misses overlap rather than wait for each other.
func (x *idIndex) touch(k string) {
	if len(x.slots) > 0 {
		x.sink += x.slots[int(x.tag(k))&(len(x.slots)-1)]
	}
}

// idSlot is where find looked for a key: its tag, and the empty slot that
// ended the probe, in a table of size.
type idSlot struct {
	tag      uint32
	at, size int
}

func newIDIndex(seed maphash.Seed, keyOf func(int32) string) idIndex {
	return idIndex{seed: seed, keyOf: keyOf}
}

func (x *idIndex) tag(k string) uint32 {
	h := maphash.String(x.seed, k)
	return uint32(h) ^ uint32(h>>32)
}

// find returns k's value, or the slot to store it at.
func (x *idIndex) find(k string) (int32, idSlot, bool) {
	tag := x.tag(k)
	if len(x.slots) == 0 {
		return 0, idSlot{tag: tag, at: -1}, false
	}
	mask := len(x.slots) - 1
	for p := int(tag) & mask; ; p = (p + 1) & mask {
		s := x.slots[p]
		if s == 0 {
			return 0, idSlot{tag: tag, at: p, size: len(x.slots)}, false
		}
		if uint32(s>>32) == tag {
			if i := int32(uint32(s)) - 1; x.keyOf(i) == k {
				return i, idSlot{}, true
			}
		}
	}
}

func (x *idIndex) get(k string) (int32, bool) {
	i, _, ok := x.find(k)
	return i, ok
}

// store stores i under k, which find did not find at sl. Other keys may
// have been stored since, but none deleted.
func (x *idIndex) store(sl idSlot, k string, i int32) {
	if x.n+1 > len(x.slots)/4*3 {
		x.grow()
	}
	if sl.size != len(x.slots) || x.slots[sl.at] != 0 {
		_, sl, _ = x.find(k) // the table grew, or another key took the slot
	}
	x.slots[sl.at] = uint64(sl.tag)<<32 | uint64(uint32(i+1))
	x.n++
}

// put stores i under k, which must not be stored yet.
func (x *idIndex) put(k string, i int32) {
	_, sl, _ := x.find(k)
	x.store(sl, k, i)
}

// grow doubles the table, placing each slot by its tag.
func (x *idIndex) grow() {
	old := x.slots
	x.slots = make([]uint64, max(16, 2*len(old)))
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

// delete removes k, if stored, shifting back the slots after it that
// would otherwise be cut off from their keys' probes.
func (x *idIndex) delete(k string) {
	tag := x.tag(k)
	if len(x.slots) == 0 {
		return
	}
	mask := len(x.slots) - 1
	p := int(tag) & mask
	for ; ; p = (p + 1) & mask {
		s := x.slots[p]
		if s == 0 {
			return
		}
		if uint32(s>>32) == tag && x.keyOf(int32(uint32(s))-1) == k {
			break
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

// all calls f with every value, in no particular order.
func (x *idIndex) all(f func(int32)) {
	for _, s := range x.slots {
		if s != 0 {
			f(int32(uint32(s)) - 1)
		}
	}
}
