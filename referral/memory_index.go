package referral

import (
	"hash/maphash"

	"github.com/scrmkit/scrmkit/internal/slots"
)

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
// the key of each: a slots.Index (see there) of the keys' hashes under
// seed, each key hashed once per call.
type idIndex struct {
	seed  maphash.Seed
	keyOf func(int32) string
	idx   slots.Index
	sink  uint64 // what touch read, so that its reads are not optimized away
}

// idSlot is where find looked for a key (see slots.Slot).
type idSlot = slots.Slot

func newIDIndex(seed maphash.Seed, keyOf func(int32) string) idIndex {
	return idIndex{seed: seed, keyOf: keyOf}
}

func (x *idIndex) tag(k string) uint32 { return slots.Tag(maphash.String(x.seed, k)) }

// touch reads the first slot of k's probe, so that a lookup of k right
// after finds it in cache. Touching the keys of a batch before looking
// them up lets their cache misses overlap rather than wait for each other.
func (x *idIndex) touch(k string) { x.sink += x.idx.Peek(x.tag(k)) }

// find returns k's value, or the slot to store it at.
func (x *idIndex) find(k string) (int32, idSlot, bool) {
	i, sl := x.idx.Probe(x.tag(k), func(i int32) bool { return x.keyOf(i) == k })
	return i, sl, i >= 0
}

func (x *idIndex) get(k string) (int32, bool) {
	i := x.idx.Find(x.tag(k), func(i int32) bool { return x.keyOf(i) == k })
	return i, i >= 0
}

// store stores i under the key find did not find at sl. Other keys may
// have been stored since, but none deleted.
func (x *idIndex) store(sl idSlot, i int32) { x.idx.Store(sl, i) }

// put stores i under k, which must not be stored yet.
func (x *idIndex) put(k string, i int32) { x.idx.Insert(x.tag(k), i) }

// delete removes k, if stored.
func (x *idIndex) delete(k string) {
	tag := x.tag(k)
	if i := x.idx.Find(tag, func(i int32) bool { return x.keyOf(i) == k }); i >= 0 {
		x.idx.Remove(tag, i)
	}
}

// all calls f with every value, in no particular order.
func (x *idIndex) all(f func(int32)) { x.idx.All(f) }
