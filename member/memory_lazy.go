package member

import "sync"

// lookup returns m[k], guarded by mu. With create, a missing entry is made
// by mk and stored: readers take only the read lock, and a miss is checked
// again under the write lock, so racing creators share one value. m is
// made on first use. Every tenant and per-customer table of the memory
// store goes through it.
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
