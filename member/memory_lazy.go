package member

import (
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
)

// tenantTable is a memory store's table of its tenants' state. Reading it
// takes no lock word that readers write (a sync.Map, made for keys
// written once and read many times), so that the store calls of many
// goroutines do not contend on one: every call reads it, and tenants are
// added rarely. The zero value is empty.
type tenantTable[V any] struct{ m sync.Map }

// get returns the tenant's state; with create, a missing one is made by
// mk and stored (racing creators share one; mk must have no effects
// beyond making it).
func (x *tenantTable[V]) get(t scrm.TenantID, create bool, mk func() *V) *V {
	if v, ok := x.m.Load(t); ok {
		return v.(*V)
	}
	if !create {
		return nil
	}
	v, _ := x.m.LoadOrStore(t, mk())
	return v.(*V)
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
