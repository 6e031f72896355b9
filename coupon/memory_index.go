package coupon

// hindex maps string keys to values through the keys' 64-bit hashes: maps
// with integer keys hash, grow and get scanned by the garbage collector far
// faster than maps with string keys, which matters on the claim path. The
// key of a value is recovered with keyOf, so a key whose hash collides with
// another key's (a chance of about one in 2^64 per pair) is told apart and
// kept in a spill map. Entries are never deleted, so a hash slot once taken
// stays taken, and a key is in the spill map only if its slot is taken by
// another key.
type hindex[V any] struct {
	m     map[uint64]V
	spill map[string]V
	keyOf func(V) string
}

func newHindex[V any](keyOf func(V) string) hindex[V] {
	return hindex[V]{m: make(map[uint64]V), keyOf: keyOf}
}

// get returns the value of key k with hash h, whether there is one, and
// whether h's slot is taken (by k or another key); pass taken to set.
func (x *hindex[V]) get(h uint64, k string) (v V, ok, taken bool) {
	v, taken = x.m[h]
	if !taken {
		return v, false, false
	}
	if x.keyOf(v) == k {
		return v, true, true
	}
	v, ok = x.spill[k]
	return v, ok, true
}

// set stores v for key k with hash h; taken is what get said of h's slot.
func (x *hindex[V]) set(h uint64, k string, v V, taken bool) {
	if !taken {
		x.m[h] = v
		return
	}
	if cur := x.m[h]; x.keyOf(cur) == k {
		x.m[h] = v
		return
	}
	if x.spill == nil {
		x.spill = make(map[string]V)
	}
	x.spill[k] = v
}

// each calls fn for every value until it returns false.
func (x *hindex[V]) each(fn func(V) bool) bool {
	for _, v := range x.m {
		if !fn(v) {
			return false
		}
	}
	for _, v := range x.spill {
		if !fn(v) {
			return false
		}
	}
	return true
}

func couponKey(c *Coupon) string      { return c.ID }
func recordKey(r *claimRecord) string { return r.key }
func customerKey(cs []*Coupon) string { return string(cs[0].Customer) }
