package member

import "sync"

// versions is a tenant's versions of one kind of rule (member programs,
// check-in rules, top-up rules): version n is the n-th put, and is never
// changed after. Copies go in and out. The zero value has none.
type versions[T interface{ Clone() T }] struct {
	mu   sync.RWMutex
	list []T
}

// put stores a copy of x as the next version, which set writes into the
// copy, and returns a copy of what it stored.
func (v *versions[T]) put(x T, set func(x *T, version int64)) T {
	c := x.Clone()
	v.mu.Lock()
	defer v.mu.Unlock()
	set(&c, int64(len(v.list))+1)
	v.list = append(v.list, c)
	return c.Clone()
}

// get returns a copy of version n (0 for the latest), and false when there
// is none.
func (v *versions[T]) get(n int64) (T, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if n == 0 {
		n = int64(len(v.list))
	}
	if n < 1 || n > int64(len(v.list)) {
		var zero T
		return zero, false
	}
	return v.list[n-1].Clone(), true
}

// latest returns the number of the latest version, 0 for none.
func (v *versions[T]) latest() int64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return int64(len(v.list))
}
