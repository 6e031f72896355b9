package scrm

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"sync"
	"time"
)

// NewMemoryDirectoryStore returns a DirectoryStore that keeps customers in
// memory. It is safe for concurrent use, copies values in and out, and is
// built for speed: each tenant has its own lock, and resolving identities
// that are already known takes only a read lock and a map lookup per
// identity. It is the store a nil NewDirectory argument uses.
func NewMemoryDirectoryStore() DirectoryStore {
	return &memoryDirectoryStore{}
}

// memoryDirectoryStore shards its data by tenant. Tenants are added, never
// removed, so a sync.Map (lock-free loads) holds them.
type memoryDirectoryStore struct {
	tenants sync.Map // TenantID → *memoryDirectory
}

var _ DirectoryStore = (*memoryDirectoryStore)(nil)

// memoryDirectory is one tenant's customers.
type memoryDirectory struct {
	mu        sync.RWMutex
	owners    map[IdentityKind]map[string]CustomerID // kind → value → owner, always live
	customers map[CustomerID]*memoryCustomer
	sorted    []CustomerID // every customer ID in order, for List ...
	pending   []CustomerID // ... except those created since the last List
}

// memoryCustomer is a stored customer. Its slices and maps are owned by the
// store; values in attrs are never mutated in place, only replaced, so
// records may share them.
type memoryCustomer struct {
	id         CustomerID
	identities []Identity
	attrs      map[string]any
	created    time.Time
	mergedInto CustomerID
	absorbed   []CustomerID // customers whose mergedInto is this one
}

// tenant returns the tenant's directory, creating it when create is set;
// otherwise it may return nil.
func (s *memoryDirectoryStore) tenant(t TenantID, create bool) *memoryDirectory {
	if md, ok := s.tenants.Load(t); ok {
		return md.(*memoryDirectory)
	}
	if !create {
		return nil
	}
	md, _ := s.tenants.LoadOrStore(t, &memoryDirectory{
		owners:    make(map[IdentityKind]map[string]CustomerID),
		customers: make(map[CustomerID]*memoryCustomer),
	})
	return md.(*memoryDirectory)
}

// Resolve implements DirectoryStore.
func (s *memoryDirectoryStore) Resolve(ctx context.Context, p ResolveParams) (ResolveResult, error) {
	const op = "scrm.MemoryDirectoryStore.Resolve"
	if err := CheckContext(ctx, op); err != nil {
		return ResolveResult{}, err
	}
	switch {
	case len(p.Identities) == 0:
		return ResolveResult{}, Invalid(op, "Identities", "at least one identity required")
	case p.NewID == "":
		return ResolveResult{}, Invalid(op, "NewID", "required")
	}
	md := s.tenant(p.Tenant, true)

	// Known identities need no write: check under the read lock first.
	md.mu.RLock()
	owner, ok := md.ownedByOne(p.Identities)
	md.mu.RUnlock()
	if ok {
		return ResolveResult{Customer: owner}, nil
	}

	md.mu.Lock()
	defer md.mu.Unlock()
	var owners []*memoryCustomer
	var unknown []Identity
	for _, id := range p.Identities {
		cid, ok := md.owners[id.Kind][id.Value]
		if !ok {
			if !slices.Contains(unknown, id) {
				unknown = append(unknown, id)
			}
			continue
		}
		c := md.customers[cid]
		if !slices.Contains(owners, c) {
			owners = append(owners, c)
		}
	}

	if len(owners) == 0 {
		if _, taken := md.customers[p.NewID]; taken {
			return ResolveResult{}, Errorf(ErrConflict, op, "customer ID %s already exists", p.NewID)
		}
		c := &memoryCustomer{id: p.NewID, created: p.Now.Round(0)}
		md.attach(c, unknown)
		md.customers[c.id] = c
		md.pending = append(md.pending, c.id)
		return ResolveResult{Customer: c.id, Created: true}, nil
	}

	slices.SortFunc(owners, func(a, b *memoryCustomer) int {
		return cmp.Or(a.created.Compare(b.created), cmp.Compare(a.id, b.id))
	})
	survivor := owners[0]
	res := ResolveResult{Customer: survivor.id}
	for _, a := range owners[1:] {
		md.absorb(survivor, a)
		res.Merged = append(res.Merged, a.id)
	}
	md.attach(survivor, unknown)
	return res, nil
}

// ownedByOne reports whether every identity is known and owned by the same
// customer; called with mu held.
func (md *memoryDirectory) ownedByOne(ids []Identity) (CustomerID, bool) {
	var owner CustomerID
	for i, id := range ids {
		cid, ok := md.owners[id.Kind][id.Value]
		if !ok || (i > 0 && cid != owner) {
			return "", false
		}
		owner = cid
	}
	return owner, true
}

// setOwner records that id belongs to customer c; called with mu held for
// writing.
func (md *memoryDirectory) setOwner(id Identity, c CustomerID) {
	m := md.owners[id.Kind]
	if m == nil {
		m = make(map[string]CustomerID)
		md.owners[id.Kind] = m
	}
	m[id.Value] = c
}

// attach gives c the identities; called with mu held for writing.
func (md *memoryDirectory) attach(c *memoryCustomer, ids []Identity) {
	for _, id := range ids {
		md.setOwner(id, c.id)
		c.identities = append(c.identities, id)
	}
}

// absorb merges a into survivor; called with mu held for writing. Customers
// absorbed into a earlier are re-pointed to survivor, so MergedInto always
// names a live customer and Get follows at most one link.
func (md *memoryDirectory) absorb(survivor, a *memoryCustomer) {
	for _, id := range a.identities {
		md.setOwner(id, survivor.id)
	}
	survivor.identities = append(survivor.identities, a.identities...)
	a.identities = nil
	for k, v := range a.attrs {
		if _, ok := survivor.attrs[k]; !ok {
			if survivor.attrs == nil {
				survivor.attrs = make(map[string]any, len(a.attrs))
			}
			survivor.attrs[k] = v
		}
	}
	for _, x := range a.absorbed {
		md.customers[x].mergedInto = survivor.id
	}
	a.mergedInto = survivor.id
	survivor.absorbed = append(append(survivor.absorbed, a.absorbed...), a.id)
	a.absorbed = nil
}

// Get implements DirectoryStore.
func (s *memoryDirectoryStore) Get(ctx context.Context, tenant TenantID, id CustomerID) (Customer, error) {
	const op = "scrm.MemoryDirectoryStore.Get"
	if err := CheckContext(ctx, op); err != nil {
		return Customer{}, err
	}
	if md := s.tenant(tenant, false); md != nil {
		md.mu.RLock()
		defer md.mu.RUnlock()
		if c := md.customers[id]; c != nil {
			return c.export(tenant), nil
		}
	}
	return Customer{}, Errorf(ErrNotFound, op, "customer %s/%s not found", tenant, id)
}

// Lookup implements DirectoryStore.
func (s *memoryDirectoryStore) Lookup(ctx context.Context, tenant TenantID, id Identity) (CustomerID, error) {
	const op = "scrm.MemoryDirectoryStore.Lookup"
	if err := CheckContext(ctx, op); err != nil {
		return "", err
	}
	if md := s.tenant(tenant, false); md != nil {
		md.mu.RLock()
		cid, ok := md.owners[id.Kind][id.Value]
		md.mu.RUnlock()
		if ok {
			return cid, nil
		}
	}
	return "", &Error{Code: ErrNotFound, Op: op, Msg: "no customer of " + string(tenant) + " has " + string(id.Kind) + " " + id.String()}
}

// SetAttrs implements DirectoryStore.
func (s *memoryDirectoryStore) SetAttrs(ctx context.Context, p SetAttrsParams) error {
	const op = "scrm.MemoryDirectoryStore.SetAttrs"
	if err := CheckContext(ctx, op); err != nil {
		return err
	}
	md := s.tenant(p.Tenant, false)
	if md == nil {
		return Errorf(ErrNotFound, op, "customer %s/%s not found", p.Tenant, p.Customer)
	}
	// Copy before locking: the copies may be large, the lock is shared.
	attrs := make(map[string]any, len(p.Attrs))
	for k, v := range p.Attrs {
		attrs[k] = cloneAttrValue(v)
	}
	md.mu.Lock()
	defer md.mu.Unlock()
	c := md.customers[p.Customer]
	if c == nil {
		return Errorf(ErrNotFound, op, "customer %s/%s not found", p.Tenant, p.Customer)
	}
	if c.mergedInto != "" {
		c = md.customers[c.mergedInto]
	}
	for k, v := range attrs {
		if v == nil {
			delete(c.attrs, k)
			continue
		}
		if c.attrs == nil {
			c.attrs = make(map[string]any, len(attrs))
		}
		c.attrs[k] = v
	}
	return nil
}

// List implements DirectoryStore.
func (s *memoryDirectoryStore) List(ctx context.Context, p ListCustomersParams) (CustomerPage, error) {
	const op = "scrm.MemoryDirectoryStore.List"
	if err := CheckContext(ctx, op); err != nil {
		return CustomerPage{}, err
	}
	limit := PageLimit(p.Limit, 100, 1000)
	md := s.tenant(p.Tenant, false)
	if md == nil {
		return CustomerPage{}, nil
	}
	md.mu.RLock()
	if len(md.pending) > 0 {
		md.mu.RUnlock()
		md.mu.Lock()
		md.mergePending()
		defer md.mu.Unlock()
	} else {
		defer md.mu.RUnlock()
	}
	var page CustomerPage
	i := sort.Search(len(md.sorted), func(i int) bool { return string(md.sorted[i]) > p.Cursor })
	for ; i < len(md.sorted); i++ {
		c := md.customers[md.sorted[i]]
		if c.mergedInto != "" {
			continue
		}
		if len(page.Customers) == limit {
			page.Next = string(page.Customers[limit-1].ID)
			break
		}
		page.Customers = append(page.Customers, c.export(p.Tenant))
	}
	return page, nil
}

// mergePending folds the IDs created since the last List into sorted, in
// place from the back; called with mu held for writing.
func (md *memoryDirectory) mergePending() {
	slices.Sort(md.pending)
	i, j := len(md.sorted)-1, len(md.pending)-1
	md.sorted = slices.Grow(md.sorted, len(md.pending))[:len(md.sorted)+len(md.pending)]
	for k := len(md.sorted) - 1; j >= 0; k-- {
		if i >= 0 && md.sorted[i] > md.pending[j] {
			md.sorted[k] = md.sorted[i]
			i--
		} else {
			md.sorted[k] = md.pending[j]
			j--
		}
	}
	md.pending = md.pending[:0]
}

// export returns a copy of c that shares nothing with the store.
func (c *memoryCustomer) export(tenant TenantID) Customer {
	out := Customer{
		Tenant:     tenant,
		ID:         c.id,
		Identities: slices.Clone(c.identities),
		CreatedAt:  c.created,
		MergedInto: c.mergedInto,
	}
	if c.attrs != nil {
		out.Attrs = make(map[string]any, len(c.attrs))
		for k, v := range c.attrs {
			out.Attrs[k] = cloneAttrValue(v)
		}
	}
	return out
}

// cloneAttrValue copies the maps and slices an attribute value is usually
// made of (from Go code or decoded JSON), so that neither the caller nor the
// store sees the other's later changes. Other reference types (pointers,
// custom types) are shared; attribute values should be plain data.
func cloneAttrValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneAttrValue(e)
		}
		return out
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneAttrValue(e)
		}
		return out
	case map[string]string:
		if x == nil {
			return x
		}
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out
	case []string:
		return slices.Clone(x)
	case []int:
		return slices.Clone(x)
	case []int64:
		return slices.Clone(x)
	case []float64:
		return slices.Clone(x)
	case []bool:
		return slices.Clone(x)
	case []byte:
		return slices.Clone(x)
	}
	return v
}
