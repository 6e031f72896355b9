package member

import (
	"hash/maphash"
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
	once   sync.Once
	seed   maphash.Seed
	shards [customerShards]customerShard[V]
}

const customerShards = 16

type customerShard[V any] struct {
	mu sync.RWMutex
	m  map[scrm.CustomerID]*V
	_  [32]byte // a cache line of its own
}

// get returns the customer's state; with create, a missing one is made by
// mk and stored. A miss is checked again under the write lock, so racing
// creators share one value.
func (x *customerTable[V]) get(c scrm.CustomerID, create bool, mk func() *V) *V {
	x.once.Do(func() { x.seed = maphash.MakeSeed() })
	sh := &x.shards[maphash.String(x.seed, string(c))%customerShards]
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
