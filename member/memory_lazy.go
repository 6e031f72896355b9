package member

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/scrmkit/scrmkit/scrm"
)

// tenantTable is a memory store's table of its tenants' state (and, in
// newest, a service's cache of their rules). Reading it
// takes no lock and writes no shared word, so that the store calls of many
// goroutines do not contend: every call reads it, and tenants are added
// rarely. It is a table of atomic slots, published through an atomic
// pointer: a new tenant is written into a free slot under mu (readers see
// the slot empty or whole), and a table half full is replaced by one twice
// its size. The first table, of up to 4 tenants (most stores serve one),
// is filled in order and searched in order, without hashing; larger ones
// are open-addressing hash tables. Either costs a fraction of a sync.Map's
// lookup, which this replaced: it hashed through an interface. The zero
// value is empty.
type tenantTable[V any] struct {
	mu  sync.Mutex // serializes adding tenants
	tab atomic.Pointer[tenantSlots[V]]
}

// tenantSlots is one generation of a tenantTable: len(slots) is a power of
// two, at least twice n.
type tenantSlots[V any] struct {
	seed  maphash.Seed
	slots []atomic.Pointer[tenantEntry[V]]
	n     int // entries, read and written with the table's mu held
}

type tenantEntry[V any] struct {
	id scrm.TenantID
	v  *V
}

// get returns the tenant's state; with create, a missing one is made by
// mk, under the table's lock (so that racing creators share one; mk must
// have no effects beyond making it), and stored.
func (x *tenantTable[V]) get(t scrm.TenantID, create bool, mk func() *V) *V {
	tab := x.tab.Load()
	if tab != nil {
		if v := tab.find(t); v != nil {
			return v
		}
	}
	if !create {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if tab = x.tab.Load(); tab != nil {
		if v := tab.find(t); v != nil {
			return v
		}
	}
	if tab == nil || 2*(tab.n+1) > len(tab.slots) {
		tab = tab.grown()
		defer x.tab.Store(tab) // published once the new tenant is in it
	}
	v := mk()
	tab.insert(&tenantEntry[V]{id: t, v: v})
	return v
}

func (tab *tenantSlots[V]) find(t scrm.TenantID) *V {
	if len(tab.slots) == firstTenantSlots {
		for i := range tab.slots {
			e := tab.slots[i].Load()
			if e == nil {
				return nil
			}
			if e.id == t {
				return e.v
			}
		}
		return nil
	}
	mask := uint64(len(tab.slots) - 1)
	for i := maphash.String(tab.seed, string(t)) & mask; ; i = (i + 1) & mask {
		e := tab.slots[i].Load()
		if e == nil {
			return nil
		}
		if e.id == t {
			return e.v
		}
	}
}

// insert puts e, whose tenant is not in tab, in the first free slot of its
// probe sequence; tab has one.
func (tab *tenantSlots[V]) insert(e *tenantEntry[V]) {
	if len(tab.slots) == firstTenantSlots {
		tab.slots[tab.n].Store(e)
		tab.n++
		return
	}
	mask := uint64(len(tab.slots) - 1)
	i := maphash.String(tab.seed, string(e.id)) & mask
	for tab.slots[i].Load() != nil {
		i = (i + 1) & mask
	}
	tab.slots[i].Store(e)
	tab.n++
}

// firstTenantSlots is the size of a tenant table's first generation,
// which is searched in order.
const firstTenantSlots = 8

// grown returns a table of twice tab's size (firstTenantSlots for none)
// holding tab's entries; it is not yet published.
func (tab *tenantSlots[V]) grown() *tenantSlots[V] {
	size := firstTenantSlots
	if tab != nil {
		size = 2 * len(tab.slots)
	}
	g := &tenantSlots[V]{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[tenantEntry[V]], size)}
	if tab != nil {
		for i := range tab.slots {
			if e := tab.slots[i].Load(); e != nil {
				g.insert(e)
			}
		}
	}
	return g
}

// customerTable is a tenant's table of per-customer state (accounts,
// check-ins, memberships), in shards by the customer's hash, each a map
// with its own lock: readers take only a read lock, and the updates of
// many goroutines touch different lock words (each update reads the table
// once). The zero value is empty.
type customerTable[V any] struct {
	shards [customerShards]customerShard[V]
}

// customerShards is the number of a customer table's shards, a power of
// two (see customerShardOf).
const (
	customerShardBits = 4
	customerShards    = 1 << customerShardBits
)

type customerShard[V any] struct {
	mu sync.RWMutex
	m  map[scrm.CustomerID]*V
	_  [32]byte // a cache line of its own
}

// get returns the customer's state; with create, a missing one is made by
// mk and stored. A miss is checked again under the write lock, so racing
// creators share one value.
func (x *customerTable[V]) get(c scrm.CustomerID, create bool, mk func() *V) *V {
	sh := &x.shards[customerShardOf(c)]
	sh.mu.RLock()
	v := sh.m[c]
	sh.mu.RUnlock()
	if v != nil || !create {
		return v
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		sh.m = make(map[scrm.CustomerID]*V)
	}
	if v = sh.m[c]; v == nil {
		v = mk()
		sh.m[c] = v
	}
	return v
}

// customerShardOf spreads customers over the shards by the last eight
// bytes of their ID (where sequential IDs differ) and its length,
// multiplied by the golden ratio: cheaper than hashing the whole ID, which
// the shard's map does anyway. A skewed spread costs only contention.
func customerShardOf(c scrm.CustomerID) int {
	var x uint64
	n := len(c)
	for i := n - 1; i >= 0 && i >= n-8; i-- {
		x = x<<8 | uint64(c[i])
	}
	x ^= uint64(n)
	return int((x * 0x9E3779B97F4A7C15) >> (64 - customerShardBits))
}
