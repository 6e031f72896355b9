package scrm

import (
	"context"
	"sort"
	"sync"
)

// NewMemoryProfileStore returns an in-memory ProfileStore, safe for
// concurrent use. It copies profiles in and out, keeps the applied event IDs
// of each tenant for as long as it lives (one map entry per event), and keeps
// tenants apart with a lock each.
func NewMemoryProfileStore() ProfileStore {
	return &memoryProfileStore{tenants: make(map[TenantID]*memoryProfiles)}
}

type memoryProfileStore struct {
	mu      sync.Mutex
	tenants map[TenantID]*memoryProfiles
}

type memoryProfiles struct {
	mu       sync.RWMutex
	profiles map[CustomerID]*Profile
	applied  map[string]struct{}
	// sorted holds every customer ID in order for List; IDs added since the
	// last List wait in pending and are merged in lazily.
	sorted  []CustomerID
	pending []CustomerID
}

var (
	_ ProfileStore   = (*memoryProfileStore)(nil)
	_ ProfileUpdater = (*memoryProfileStore)(nil)
	_ ProfileScanner = (*memoryProfileStore)(nil)
)

func (s *memoryProfileStore) tenant(t TenantID, create bool) *memoryProfiles {
	s.mu.Lock()
	defer s.mu.Unlock()
	mp := s.tenants[t]
	if mp == nil && create {
		mp = &memoryProfiles{profiles: make(map[CustomerID]*Profile), applied: make(map[string]struct{})}
		s.tenants[t] = mp
	}
	return mp
}

func (s *memoryProfileStore) Get(ctx context.Context, tenant TenantID, customer CustomerID) (*Profile, error) {
	const op = "scrm.MemoryProfileStore.Get"
	if err := CheckContext(ctx, op); err != nil {
		return nil, err
	}
	mp := s.tenant(tenant, false)
	if mp == nil {
		return nil, profileNotFound(op, tenant, customer)
	}
	mp.mu.RLock()
	defer mp.mu.RUnlock()
	p := mp.profiles[customer]
	if p == nil {
		return nil, profileNotFound(op, tenant, customer)
	}
	return p.Clone(), nil
}

func (s *memoryProfileStore) Save(ctx context.Context, params SaveProfileParams) (int64, error) {
	const op = "scrm.MemoryProfileStore.Save"
	if err := CheckContext(ctx, op); err != nil {
		return 0, err
	}
	p := params.Profile
	if p == nil {
		return 0, Invalid(op, "Profile", "required")
	}
	if err := CheckID(op, "Profile.Tenant", string(p.Tenant)); err != nil {
		return 0, err
	}
	if err := CheckID(op, "Profile.Customer", string(p.Customer)); err != nil {
		return 0, err
	}
	mp := s.tenant(p.Tenant, true)
	c := p.Clone() // copy outside the lock
	mp.mu.Lock()
	defer mp.mu.Unlock()
	var stored int64
	cur := mp.profiles[p.Customer]
	if cur != nil {
		stored = cur.Version
	}
	if stored != p.Version {
		return 0, Errorf(ErrConflict, op, "profile %s/%s: version %d, stored %d", p.Tenant, p.Customer, p.Version, stored)
	}
	if params.EventID != "" {
		if _, dup := mp.applied[params.EventID]; dup {
			return 0, Errorf(ErrConflict, op, "event %q already applied", params.EventID)
		}
		mp.applied[params.EventID] = struct{}{}
	}
	c.Version = stored + 1
	if cur == nil {
		mp.pending = append(mp.pending, p.Customer)
	}
	mp.profiles[p.Customer] = c
	return c.Version, nil
}

func (s *memoryProfileStore) Applied(ctx context.Context, tenant TenantID, eventID string) (bool, error) {
	if err := CheckContext(ctx, "scrm.MemoryProfileStore.Applied"); err != nil {
		return false, err
	}
	mp := s.tenant(tenant, false)
	if mp == nil {
		return false, nil
	}
	mp.mu.RLock()
	defer mp.mu.RUnlock()
	_, ok := mp.applied[eventID]
	return ok, nil
}

func (s *memoryProfileStore) List(ctx context.Context, params ListProfilesParams) (ProfilePage, error) {
	page, next, err := s.page(ctx, "scrm.MemoryProfileStore.List", params)
	for k, p := range page {
		page[k] = p.Clone()
	}
	return ProfilePage{Profiles: page, Next: next}, err
}

// ScanProfiles implements ProfileScanner. Stored profiles are never changed
// in place (a save replaces them), so fn reads them without any lock held
// and may call the store.
func (s *memoryProfileStore) ScanProfiles(ctx context.Context, params ListProfilesParams, fn func(*Profile) error) (string, error) {
	page, next, err := s.page(ctx, "scrm.MemoryProfileStore.ScanProfiles", params)
	if err != nil {
		return "", err
	}
	for _, p := range page {
		if err := fn(p); err != nil {
			return "", err
		}
	}
	return next, nil
}

// page returns the stored profiles (not copies) of one page of List.
func (s *memoryProfileStore) page(ctx context.Context, op string, params ListProfilesParams) ([]*Profile, string, error) {
	if err := CheckContext(ctx, op); err != nil {
		return nil, "", err
	}
	limit := PageLimit(params.Limit, 100, 1000)
	mp := s.tenant(params.Tenant, false)
	if mp == nil {
		return nil, "", nil
	}
	mp.mu.Lock()
	defer mp.mu.Unlock()
	mp.mergePending()
	var page []*Profile
	i := sort.Search(len(mp.sorted), func(i int) bool { return string(mp.sorted[i]) > params.Cursor })
	for ; i < len(mp.sorted) && len(page) < limit; i++ {
		if p := mp.profiles[mp.sorted[i]]; p != nil && p.MergedInto == "" {
			page = append(page, p)
		}
	}
	var next string
	if len(page) == limit && i < len(mp.sorted) {
		next = string(page[limit-1].Customer)
	}
	return page, next, nil
}

// mergePending folds newly added IDs into the sorted index; called with mu
// held for writing.
func (mp *memoryProfiles) mergePending() {
	if len(mp.pending) == 0 {
		return
	}
	sort.Slice(mp.pending, func(i, j int) bool { return mp.pending[i] < mp.pending[j] })
	merged := make([]CustomerID, 0, len(mp.sorted)+len(mp.pending))
	i, j := 0, 0
	for i < len(mp.sorted) || j < len(mp.pending) {
		if j == len(mp.pending) || (i < len(mp.sorted) && mp.sorted[i] < mp.pending[j]) {
			merged = append(merged, mp.sorted[i])
			i++
		} else {
			merged = append(merged, mp.pending[j])
			j++
		}
	}
	mp.sorted, mp.pending = merged, mp.pending[:0]
}

func (s *memoryProfileStore) UpdateProfile(ctx context.Context, params UpdateProfileParams, fn func(*Profile) error) (*Profile, bool, error) {
	const op = "scrm.MemoryProfileStore.UpdateProfile"
	if err := CheckContext(ctx, op); err != nil {
		return nil, false, err
	}
	if err := CheckID(op, "Tenant", string(params.Tenant)); err != nil {
		return nil, false, err
	}
	if err := CheckID(op, "Customer", string(params.Customer)); err != nil {
		return nil, false, err
	}
	mp := s.tenant(params.Tenant, true)
	mp.mu.Lock()
	defer mp.mu.Unlock()
	id := params.Customer
	cur := mp.profiles[id]
	for hop := 0; cur != nil && cur.MergedInto != ""; hop++ {
		if hop == maxMergeHops {
			return nil, false, Errorf(ErrConflict, op, "profile %s/%s: merge chain longer than %d", params.Tenant, params.Customer, maxMergeHops)
		}
		id = cur.MergedInto
		cur = mp.profiles[id]
	}
	var p *Profile
	if cur != nil {
		p = cur.Clone()
	} else {
		p = NewProfile(params.Tenant, id)
	}
	if params.EventID != "" {
		if _, dup := mp.applied[params.EventID]; dup {
			return p, false, nil
		}
	}
	if err := fn(p); err != nil {
		return nil, false, err
	}
	if p.Tenant != params.Tenant || p.Customer != id {
		return nil, false, Invalid(op, "Profile.Customer", "fn must not change the profile's tenant or customer")
	}
	p.Version++
	if params.EventID != "" {
		mp.applied[params.EventID] = struct{}{}
	}
	if cur == nil {
		mp.pending = append(mp.pending, id)
	}
	mp.profiles[id] = p
	return p.Clone(), true, nil
}

// profileNotFound is the ErrNotFound of a missing profile, built without
// fmt: lookups of customers who have no profile yet are common on hot paths
// (a first order, a new invitee).
func profileNotFound(op string, tenant TenantID, customer CustomerID) error {
	return &Error{Code: ErrNotFound, Op: op, Msg: "profile " + string(tenant) + "/" + string(customer)}
}
