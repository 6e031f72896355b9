package member

import (
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
)

// lookup returns m[k], guarded by mu. With create, a missing entry is made
// by mk and stored: readers take only the read lock, and a miss is checked
// again under the write lock, so racing creators share one value. m is
// made on first use. Every per-customer table of the memory store goes
// through it; the tables of tenants are tenantTables.
func lookup[K comparable, V any](mu *sync.RWMutex, m *map[K]*V, k K, create bool, mk func() *V) *V {
	mu.RLock()
	v := (*m)[k]
	mu.RUnlock()
	if v != nil || !create {
		return v
	}
	mu.Lock()
	defer mu.Unlock()
	if *m == nil {
		*m = make(map[K]*V)
	}
	if v = (*m)[k]; v == nil {
		v = mk()
		(*m)[k] = v
	}
	return v
}

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
