package scrm

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// NewMemoryGroupStore returns a GroupStore that keeps groups and membership
// in memory. It is safe for concurrent use, copies values in and out, and
// gives each tenant its own lock. It is the store a nil NewGroups argument
// uses.
func NewMemoryGroupStore() GroupStore {
	return &memoryGroupStore{}
}

// memoryGroupStore shards its data by tenant; tenants are added, never
// removed.
type memoryGroupStore struct {
	tenants sync.Map // TenantID → *memoryGroups
}

var _ GroupStore = (*memoryGroupStore)(nil)

// memoryGroups is one tenant's groups, membership and acquisitions.
type memoryGroups struct {
	mu         sync.RWMutex
	groups     map[string]*Group
	groupIDs   []string // sorted
	members    map[string]*memberSet
	customers  map[CustomerID]*customerRecord
	applied    map[string]struct{} // membership event IDs
	added      []CustomerID        // customers with an add record, sorted ...
	addPending []CustomerID        // ... except those recorded since the last listing
}

// memberSet is one group's membership states (members and former members).
type memberSet struct {
	states map[CustomerID]*memberState
	size   int
	sorted []CustomerID // current members in order; nil when stale
}

// memberState is the membership event in effect for a (group, customer).
type memberState struct {
	at      time.Time
	joined  bool
	eventID string
}

// customerRecord is what the store knows of one customer.
type customerRecord struct {
	groups map[string]*memberState // shared with the groups' memberSets
	joins  []time.Time             // every join's time, sorted
	added  *attribution            // earliest customer.added
	owner  *attribution            // earliest first-owner event
}

// attribution is a recorded customer.added or first-owner event.
type attribution struct {
	at      time.Time
	eventID string
	store   string
	staff   string
}

// earlier reports whether a should be kept over b.
func (a *attribution) earlier(b *attribution) bool {
	if c := a.at.Compare(b.at); c != 0 {
		return c < 0
	}
	return a.eventID < b.eventID
}

func (s *memoryGroupStore) tenant(t TenantID, create bool) *memoryGroups {
	if mg, ok := s.tenants.Load(t); ok {
		return mg.(*memoryGroups)
	}
	if !create {
		return nil
	}
	mg, _ := s.tenants.LoadOrStore(t, &memoryGroups{
		groups:    make(map[string]*Group),
		members:   make(map[string]*memberSet),
		customers: make(map[CustomerID]*customerRecord),
		applied:   make(map[string]struct{}),
	})
	return mg.(*memoryGroups)
}

// PutGroup implements GroupStore.
func (s *memoryGroupStore) PutGroup(ctx context.Context, g Group) error {
	const op = "scrm.MemoryGroupStore.PutGroup"
	if err := CheckContext(ctx, op); err != nil {
		return err
	}
	if g.Tenant == "" || g.ID == "" {
		return Invalid(op, "ID", "tenant and ID required")
	}
	g = g.clone()
	mg := s.tenant(g.Tenant, true)
	mg.mu.Lock()
	defer mg.mu.Unlock()
	if _, ok := mg.groups[g.ID]; !ok {
		i, _ := slices.BinarySearch(mg.groupIDs, g.ID)
		mg.groupIDs = slices.Insert(mg.groupIDs, i, g.ID)
	}
	mg.groups[g.ID] = &g
	return nil
}

// GetGroup implements GroupStore.
func (s *memoryGroupStore) GetGroup(ctx context.Context, tenant TenantID, id string) (Group, error) {
	const op = "scrm.MemoryGroupStore.GetGroup"
	if err := CheckContext(ctx, op); err != nil {
		return Group{}, err
	}
	if mg := s.tenant(tenant, false); mg != nil {
		mg.mu.RLock()
		defer mg.mu.RUnlock()
		if g := mg.groups[id]; g != nil {
			return g.clone(), nil
		}
	}
	return Group{}, &Error{Code: ErrNotFound, Op: op, Field: "ID", Msg: fmt.Sprintf("group %s/%s not found", tenant, id)}
}

// ListGroups implements GroupStore.
func (s *memoryGroupStore) ListGroups(ctx context.Context, p ListGroupsParams) (GroupPage, error) {
	const op = "scrm.MemoryGroupStore.ListGroups"
	if err := CheckContext(ctx, op); err != nil {
		return GroupPage{}, err
	}
	limit := PageLimit(p.Limit, 100, 1000)
	mg := s.tenant(p.Tenant, false)
	if mg == nil {
		return GroupPage{}, nil
	}
	mg.mu.RLock()
	defer mg.mu.RUnlock()
	var page GroupPage
	i, found := slices.BinarySearch(mg.groupIDs, p.Cursor)
	if found {
		i++
	}
	for ; i < len(mg.groupIDs); i++ {
		g := mg.groups[mg.groupIDs[i]]
		if p.Store != "" && g.Store != p.Store {
			continue
		}
		if len(page.Groups) == limit {
			page.Next = page.Groups[limit-1].ID
			break
		}
		page.Groups = append(page.Groups, g.clone())
	}
	return page, nil
}

// ApplyMembership implements GroupStore.
func (s *memoryGroupStore) ApplyMembership(ctx context.Context, p MembershipParams) (MembershipResult, error) {
	const op = "scrm.MemoryGroupStore.ApplyMembership"
	if err := CheckContext(ctx, op); err != nil {
		return MembershipResult{}, err
	}
	switch {
	case p.EventID == "":
		return MembershipResult{}, Invalid(op, "EventID", "required")
	case p.Group == "":
		return MembershipResult{}, Invalid(op, "Group", "required")
	case p.Customer == "":
		return MembershipResult{}, Invalid(op, "Customer", "required")
	}
	at := p.At.Round(0)
	mg := s.tenant(p.Tenant, true)
	mg.mu.Lock()
	defer mg.mu.Unlock()
	set := mg.members[p.Group]
	var st *memberState
	if set != nil {
		st = set.states[p.Customer]
	}
	if _, dup := mg.applied[p.EventID]; dup {
		return MembershipResult{Member: st != nil && st.joined}, nil
	}
	mg.applied[p.EventID] = struct{}{}
	rec := mg.customer(p.Customer)
	if p.Joined {
		i, _ := slices.BinarySearchFunc(rec.joins, at, time.Time.Compare)
		rec.joins = slices.Insert(rec.joins, i, at)
	}
	if set == nil {
		set = &memberSet{states: make(map[CustomerID]*memberState)}
		mg.members[p.Group] = set
	}
	was := st != nil && st.joined
	newer := st == nil || at.After(st.at) || (at.Equal(st.at) && st.joined && !p.Joined)
	if newer {
		if st == nil {
			st = &memberState{}
			set.states[p.Customer] = st
			if rec.groups == nil {
				rec.groups = make(map[string]*memberState)
			}
			rec.groups[p.Group] = st
		}
		*st = memberState{at: at, joined: p.Joined, eventID: p.EventID}
	}
	res := MembershipResult{Applied: true, Member: st.joined, Changed: st.joined != was}
	if res.Changed {
		if st.joined {
			set.size++
		} else {
			set.size--
		}
		set.sorted = nil
	}
	return res, nil
}

// customer returns the customer's record, creating it; called with mu held
// for writing.
func (mg *memoryGroups) customer(c CustomerID) *customerRecord {
	rec := mg.customers[c]
	if rec == nil {
		rec = &customerRecord{}
		mg.customers[c] = rec
	}
	return rec
}

// Members implements GroupStore.
func (s *memoryGroupStore) Members(ctx context.Context, p ListMembersParams) (MemberPage, error) {
	const op = "scrm.MemoryGroupStore.Members"
	if err := CheckContext(ctx, op); err != nil {
		return MemberPage{}, err
	}
	limit := PageLimit(p.Limit, 100, 1000)
	mg := s.tenant(p.Tenant, false)
	if mg == nil {
		return MemberPage{}, nil
	}
	mg.mu.RLock()
	set := mg.members[p.Group]
	if set != nil && set.sorted == nil {
		// Rebuild the sorted view under the write lock.
		mg.mu.RUnlock()
		mg.mu.Lock()
		defer mg.mu.Unlock()
		set = mg.members[p.Group]
	} else {
		defer mg.mu.RUnlock()
	}
	if set == nil {
		return MemberPage{}, nil
	}
	ids := set.view()
	page := MemberPage{Total: set.size}
	i, found := slices.BinarySearch(ids, CustomerID(p.Cursor))
	if found {
		i++
	}
	end := min(i+limit, len(ids))
	page.Members = make([]Membership, 0, end-i)
	for _, c := range ids[i:end] {
		page.Members = append(page.Members, Membership{Tenant: p.Tenant, Group: p.Group, Customer: c, JoinedAt: set.states[c].at})
	}
	if end < len(ids) && end > i {
		page.Next = string(ids[end-1])
	}
	return page, nil
}

// view returns the current members in ID order, rebuilding the sorted view
// when it is stale (which needs mu held for writing).
func (set *memberSet) view() []CustomerID {
	if set.sorted == nil {
		set.sorted = make([]CustomerID, 0, set.size)
		for c, st := range set.states {
			if st.joined {
				set.sorted = append(set.sorted, c)
			}
		}
		slices.Sort(set.sorted)
	}
	return set.sorted
}

// GroupsOf implements GroupStore.
func (s *memoryGroupStore) GroupsOf(ctx context.Context, tenant TenantID, customer CustomerID) ([]Membership, error) {
	const op = "scrm.MemoryGroupStore.GroupsOf"
	if err := CheckContext(ctx, op); err != nil {
		return nil, err
	}
	mg := s.tenant(tenant, false)
	if mg == nil {
		return nil, nil
	}
	mg.mu.RLock()
	defer mg.mu.RUnlock()
	rec := mg.customers[customer]
	if rec == nil {
		return nil, nil
	}
	var out []Membership
	for g, st := range rec.groups {
		if st.joined {
			out = append(out, Membership{Tenant: tenant, Group: g, Customer: customer, JoinedAt: st.at})
		}
	}
	slices.SortFunc(out, func(a, b Membership) int { return cmp.Compare(a.Group, b.Group) })
	return out, nil
}

// Size implements GroupStore.
func (s *memoryGroupStore) Size(ctx context.Context, tenant TenantID, group string) (int, error) {
	const op = "scrm.MemoryGroupStore.Size"
	if err := CheckContext(ctx, op); err != nil {
		return 0, err
	}
	mg := s.tenant(tenant, false)
	if mg == nil {
		return 0, nil
	}
	mg.mu.RLock()
	defer mg.mu.RUnlock()
	if set := mg.members[group]; set != nil {
		return set.size, nil
	}
	return 0, nil
}

// RecordAdded implements GroupStore.
func (s *memoryGroupStore) RecordAdded(ctx context.Context, p AttributionParams) error {
	return s.record(ctx, "scrm.MemoryGroupStore.RecordAdded", p, true)
}

// RecordFirstOwner implements GroupStore.
func (s *memoryGroupStore) RecordFirstOwner(ctx context.Context, p AttributionParams) error {
	return s.record(ctx, "scrm.MemoryGroupStore.RecordFirstOwner", p, false)
}

func (s *memoryGroupStore) record(ctx context.Context, op string, p AttributionParams, added bool) error {
	if err := CheckContext(ctx, op); err != nil {
		return err
	}
	if p.Customer == "" {
		return Invalid(op, "Customer", "required")
	}
	a := &attribution{at: p.At.Round(0), eventID: p.EventID, store: p.Store, staff: p.Staff}
	mg := s.tenant(p.Tenant, true)
	mg.mu.Lock()
	defer mg.mu.Unlock()
	rec := mg.customer(p.Customer)
	slot := &rec.owner
	if added {
		slot = &rec.added
		if rec.added == nil {
			mg.addPending = append(mg.addPending, p.Customer)
		}
	}
	if *slot == nil || a.earlier(*slot) {
		*slot = a
	}
	return nil
}

// ListAcquisitions implements GroupStore.
func (s *memoryGroupStore) ListAcquisitions(ctx context.Context, p ListAcquisitionsParams) (AcquisitionPage, error) {
	const op = "scrm.MemoryGroupStore.ListAcquisitions"
	if err := CheckContext(ctx, op); err != nil {
		return AcquisitionPage{}, err
	}
	limit := PageLimit(p.Limit, 100, 1000)
	mg := s.tenant(p.Tenant, false)
	if mg == nil {
		return AcquisitionPage{}, nil
	}
	mg.mu.RLock()
	if len(mg.addPending) > 0 {
		mg.mu.RUnlock()
		mg.mu.Lock()
		defer mg.mu.Unlock()
		mg.mergeAdded()
	} else {
		defer mg.mu.RUnlock()
	}
	var page AcquisitionPage
	i := sort.Search(len(mg.added), func(i int) bool { return string(mg.added[i]) > p.Cursor })
	for ; i < len(mg.added); i++ {
		c := mg.added[i]
		rec := mg.customers[c]
		if rec.added.at.Before(p.From) || !rec.added.at.Before(p.To) {
			continue
		}
		if len(page.Acquisitions) == limit {
			page.Next = string(page.Acquisitions[limit-1].Customer)
			break
		}
		page.Acquisitions = append(page.Acquisitions, rec.acquisition(p.Tenant, c))
	}
	return page, nil
}

// acquisition derives the Acquisition of a customer with an add record.
func (rec *customerRecord) acquisition(tenant TenantID, c CustomerID) Acquisition {
	a := Acquisition{Tenant: tenant, Customer: c, AddedAt: rec.added.at, Store: rec.added.store, Staff: rec.added.staff}
	if rec.owner != nil {
		if a.Store == "" {
			a.Store = rec.owner.store
		}
		if a.Staff == "" {
			a.Staff = rec.owner.staff
		}
	}
	if i, _ := slices.BinarySearchFunc(rec.joins, a.AddedAt, time.Time.Compare); i < len(rec.joins) {
		a.FirstJoinedAt = rec.joins[i]
	}
	return a
}

// mergeAdded folds the customers recorded since the last listing into
// added; called with mu held for writing.
func (mg *memoryGroups) mergeAdded() {
	slices.Sort(mg.addPending)
	i, j := len(mg.added)-1, len(mg.addPending)-1
	mg.added = slices.Grow(mg.added, len(mg.addPending))[:len(mg.added)+len(mg.addPending)]
	for k := len(mg.added) - 1; j >= 0; k-- { // merge from the back, in place
		if i >= 0 && mg.added[i] > mg.addPending[j] {
			mg.added[k] = mg.added[i]
			i--
		} else {
			mg.added[k] = mg.addPending[j]
			j--
		}
	}
	mg.addPending = mg.addPending[:0]
}
