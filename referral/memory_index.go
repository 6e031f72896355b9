package referral

import "hash/maphash"

// hashIndex maps strings (grant keys, entry IDs) to values. It is what
// map[string]V would be, but its main map is keyed by the string's hash:
// growing a map rehashes every key, and rehashing strings reads each one's
// bytes from wherever they are, a cache miss apiece once the ledger is
// large. A value's own key (keyOf) tells a hash collision apart; colliding
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

// set stores v under k, replacing what k had.
func (x *hashIndex[V]) set(k string, v V) {
	h := maphash.String(x.seed, k)
	if old, ok := x.primary[h]; ok && x.keyOf(old) == k {
		x.primary[h] = v
		return
	}
	if _, ok := x.overflow[k]; ok {
		x.overflow[k] = v
		return
	}
	x.put(k, v)
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
