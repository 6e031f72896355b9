package scrm

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// NewMemoryStaffStore returns a StaffStore that keeps staff and ownership in
// memory. It is safe for concurrent use, copies values in and out, and is
// built for speed: each tenant has its own lock, reads take it shared, and
// a transfer of all of a staff member's customers to one who owns none
// moves the whole set at once. It is the store a nil NewTeam argument uses.
func NewMemoryStaffStore() StaffStore {
	return &memoryStaffStore{}
}

// memoryStaffStore shards its data by tenant; tenants are added, never
// removed, so a sync.Map (lock-free loads) holds them.
type memoryStaffStore struct {
	tenants sync.Map // TenantID → *memoryTeam
}

var _ StaffStore = (*memoryStaffStore)(nil)

// memoryTeam is one tenant's staff and ownership.
type memoryTeam struct {
	mu       sync.RWMutex
	staff    map[string]*Staff // stored copies; Codes owned by the store
	staffIDs []string          // every staff ID, sorted
	codes    map[string]string // channel code → staff ID
	// active caches each store's active staff IDs, sorted; nil when a
	// staff change may have made it stale.
	active    map[string][]string
	rr        map[string]uint64                // store → round-robin counter
	history   map[CustomerID][]OwnerChange     // non-empty; the last entry is the current owner
	owned     map[string]*ownedSet             // staff ID → customers owned now
	transfers map[string]*memoryTransferRecord // idempotency key → result
}

// ownedSet is the set of customers one staff member owns, with a sorted
// view for paging that is rebuilt after a change.
type ownedSet struct {
	m      map[CustomerID]struct{}
	sorted []CustomerID // nil when stale
}

// memoryTransferRecord is what a transfer recorded under its key.
type memoryTransferRecord struct {
	fingerprint string
	changes     []OwnerChange
	deactivated bool
}

// tenant returns the tenant's data, creating it when create is set;
// otherwise it may return nil.
func (s *memoryStaffStore) tenant(t TenantID, create bool) *memoryTeam {
	if mt, ok := s.tenants.Load(t); ok {
		return mt.(*memoryTeam)
	}
	if !create {
		return nil
	}
	mt, _ := s.tenants.LoadOrStore(t, &memoryTeam{
		staff:     make(map[string]*Staff),
		codes:     make(map[string]string),
		rr:        make(map[string]uint64),
		history:   make(map[CustomerID][]OwnerChange),
		owned:     make(map[string]*ownedSet),
		transfers: make(map[string]*memoryTransferRecord),
	})
	return mt.(*memoryTeam)
}

// PutStaff implements StaffStore.
func (s *memoryStaffStore) PutStaff(ctx context.Context, st Staff) error {
	const op = "scrm.MemoryStaffStore.PutStaff"
	if err := CheckContext(ctx, op); err != nil {
		return err
	}
	if st.Tenant == "" || st.ID == "" {
		return Invalid(op, "ID", "tenant and ID required")
	}
	st = st.clone()
	mt := s.tenant(st.Tenant, true)
	mt.mu.Lock()
	defer mt.mu.Unlock()
	for i, c := range st.Codes {
		if holder, ok := mt.codes[c]; ok && holder != st.ID {
			return &Error{Code: ErrConflict, Op: op, Field: fmt.Sprintf("Codes[%d]", i),
				Msg: fmt.Sprintf("channel code %q belongs to staff member %s", c, holder)}
		}
	}
	old := mt.staff[st.ID]
	if old != nil && old.Active && !st.Active {
		if n := mt.ownedCount(st.ID); n > 0 {
			return &Error{Code: ErrConflict, Op: op, Field: "Active",
				Msg: fmt.Sprintf("staff member %s owns %d customers; deactivate with a transfer", st.ID, n)}
		}
	}
	if old == nil {
		i, _ := slices.BinarySearch(mt.staffIDs, st.ID)
		mt.staffIDs = slices.Insert(mt.staffIDs, i, st.ID)
	} else {
		for _, c := range old.Codes {
			delete(mt.codes, c)
		}
	}
	for _, c := range st.Codes {
		mt.codes[c] = st.ID
	}
	mt.staff[st.ID] = &st
	if old == nil || old.Active != st.Active || old.Store != st.Store {
		mt.active = nil
	}
	return nil
}

// GetStaff implements StaffStore.
func (s *memoryStaffStore) GetStaff(ctx context.Context, tenant TenantID, id string) (Staff, error) {
	const op = "scrm.MemoryStaffStore.GetStaff"
	if err := CheckContext(ctx, op); err != nil {
		return Staff{}, err
	}
	if mt := s.tenant(tenant, false); mt != nil {
		mt.mu.RLock()
		defer mt.mu.RUnlock()
		if st := mt.staff[id]; st != nil {
			return st.clone(), nil
		}
	}
	return Staff{}, &Error{Code: ErrNotFound, Op: op, Field: "ID", Msg: fmt.Sprintf("staff member %s/%s not found", tenant, id)}
}

// StaffByCode implements StaffStore.
func (s *memoryStaffStore) StaffByCode(ctx context.Context, tenant TenantID, code string) (Staff, error) {
	const op = "scrm.MemoryStaffStore.StaffByCode"
	if err := CheckContext(ctx, op); err != nil {
		return Staff{}, err
	}
	if mt := s.tenant(tenant, false); mt != nil {
		mt.mu.RLock()
		defer mt.mu.RUnlock()
		if id, ok := mt.codes[code]; ok {
			return mt.staff[id].clone(), nil
		}
	}
	return Staff{}, &Error{Code: ErrNotFound, Op: op, Field: "Code", Msg: fmt.Sprintf("no staff member of %s holds channel code %q", tenant, code)}
}

// ListStaff implements StaffStore.
func (s *memoryStaffStore) ListStaff(ctx context.Context, p ListStaffParams) (StaffPage, error) {
	const op = "scrm.MemoryStaffStore.ListStaff"
	if err := CheckContext(ctx, op); err != nil {
		return StaffPage{}, err
	}
	limit := PageLimit(p.Limit, 100, 1000)
	mt := s.tenant(p.Tenant, false)
	if mt == nil {
		return StaffPage{}, nil
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	var page StaffPage
	i, found := slices.BinarySearch(mt.staffIDs, p.Cursor)
	if found {
		i++
	}
	for ; i < len(mt.staffIDs); i++ {
		st := mt.staff[mt.staffIDs[i]]
		if p.Store != "" && st.Store != p.Store {
			continue
		}
		if len(page.Staff) == limit {
			page.Next = page.Staff[limit-1].ID
			break
		}
		page.Staff = append(page.Staff, st.clone())
	}
	return page, nil
}

// Assign implements StaffStore.
func (s *memoryStaffStore) Assign(ctx context.Context, p AssignParams) (AssignResult, error) {
	const op = "scrm.MemoryStaffStore.Assign"
	if err := CheckContext(ctx, op); err != nil {
		return AssignResult{}, err
	}
	if p.Customer == "" {
		return AssignResult{}, Invalid(op, "Customer", "required")
	}
	mt := s.tenant(p.Tenant, true)
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if h := mt.history[p.Customer]; len(h) > 0 {
		cur := h[len(h)-1]
		if p.Staff != "" && cur.To != p.Staff {
			return AssignResult{}, &Error{Code: ErrConflict, Op: op, Field: "Customer",
				Msg: fmt.Sprintf("customer %s is already owned by %s; use Transfer", p.Customer, cur.To)}
		}
		return AssignResult{Change: cur}, nil
	}
	var to *Staff
	switch {
	case p.Staff != "":
		if to = mt.staff[p.Staff]; to == nil {
			return AssignResult{}, &Error{Code: ErrNotFound, Op: op, Field: "Staff", Msg: "unknown staff member " + p.Staff}
		}
		if !to.Active {
			return AssignResult{}, Invalid(op, "Staff", "staff member %s is inactive", p.Staff)
		}
	case p.Store != "":
		heirs := mt.activeIn(p.Store, "")
		if len(heirs) == 0 {
			return AssignResult{}, &Error{Code: ErrNotFound, Op: op, Field: "Store", Msg: fmt.Sprintf("store %q has no active staff", p.Store)}
		}
		to = mt.staff[mt.nextTurn(p.Store, heirs)]
	default:
		return AssignResult{}, Invalid(op, "Staff", "Staff or Store required")
	}
	c := OwnerChange{Tenant: p.Tenant, Customer: p.Customer, Seq: 1, To: to.ID, ToStore: to.Store,
		At: p.At.Round(0), Reason: p.Reason, Cause: p.Cause}
	mt.history[p.Customer] = []OwnerChange{c}
	mt.set(to.ID).add(p.Customer)
	return AssignResult{Change: c, Assigned: true}, nil
}

// Transfer implements StaffStore.
func (s *memoryStaffStore) Transfer(ctx context.Context, p TransferParams) (TransferResult, error) {
	const op = "scrm.MemoryStaffStore.Transfer"
	if err := CheckContext(ctx, op); err != nil {
		return TransferResult{}, err
	}
	if p.IdempotencyKey == "" {
		return TransferResult{}, Invalid(op, "IdempotencyKey", "required")
	}
	mt := s.tenant(p.Tenant, true)
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if rec := mt.transfers[p.IdempotencyKey]; rec != nil {
		if err := CheckReplay(op, p.IdempotencyKey, rec.fingerprint, p.Fingerprint); err != nil {
			return TransferResult{}, err
		}
		return TransferResult{Changes: slices.Clone(rec.changes), Deactivated: rec.deactivated, Replayed: true}, nil
	}

	from := mt.staff[p.From]
	if from == nil {
		return TransferResult{}, &Error{Code: ErrNotFound, Op: op, Field: "From", Msg: "unknown staff member " + p.From}
	}
	var to *Staff
	switch {
	case p.To != "":
		if to = mt.staff[p.To]; to == nil {
			return TransferResult{}, &Error{Code: ErrNotFound, Op: op, Field: "To", Msg: "unknown staff member " + p.To}
		}
		if p.To == p.From {
			return TransferResult{}, Invalid(op, "To", "transfer to the same staff member %s", p.From)
		}
		if !to.Active {
			return TransferResult{}, Invalid(op, "To", "staff member %s is inactive", p.To)
		}
	case !p.Deactivate:
		return TransferResult{}, Invalid(op, "To", "required")
	}
	if p.Deactivate && len(p.Customers) > 0 {
		return TransferResult{}, Invalid(op, "Customers", "a deactivation moves all of the staff member's customers; list none")
	}

	// The customers to move, in ID order.
	var customers []CustomerID
	set := mt.owned[p.From]
	if len(p.Customers) == 0 {
		if set != nil {
			customers = slices.Clone(set.view())
		}
	} else {
		if i := duplicateIndex(p.Customers); i >= 0 {
			return TransferResult{}, Invalid(op, fmt.Sprintf("Customers[%d]", i), "customer %s listed twice", p.Customers[i])
		}
		for i, c := range p.Customers {
			h := mt.history[c]
			if len(h) == 0 || h[len(h)-1].To != p.From {
				owner := "nobody"
				if len(h) > 0 {
					owner = h[len(h)-1].To
				}
				return TransferResult{}, Invalid(op, fmt.Sprintf("Customers[%d]", i), "customer %s is owned by %s, not %s", c, owner, p.From)
			}
		}
		customers = slices.Clone(p.Customers)
		slices.Sort(customers)
	}

	// Without To, the other active staff of From's store inherit in turn.
	var heirs []string
	if to == nil && len(customers) > 0 {
		if from.Store != "" {
			heirs = mt.activeIn(from.Store, from.ID)
		}
		if len(heirs) == 0 {
			return TransferResult{}, Invalid(op, "To", "staff member %s owns %d customers and store %q has no other active staff to inherit them; name a To",
				p.From, len(customers), from.Store)
		}
	}

	at := p.At.Round(0)
	cause := "transfer:" + p.IdempotencyKey
	changes := make([]OwnerChange, len(customers))
	for i, c := range customers {
		target := to
		if target == nil {
			target = mt.staff[mt.nextTurn(from.Store, heirs)]
		}
		h := mt.history[c]
		changes[i] = OwnerChange{Tenant: p.Tenant, Customer: c, Seq: int64(len(h)) + 1, From: p.From, To: target.ID,
			ToStore: target.Store, At: at, Reason: p.Reason, Cause: cause}
		mt.history[c] = append(h, changes[i])
	}
	mt.move(p.From, to, changes)

	res := TransferResult{Changes: changes}
	if p.Deactivate && from.Active {
		from.Active = false
		mt.active = nil
		res.Deactivated = true
	}
	mt.transfers[p.IdempotencyKey] = &memoryTransferRecord{fingerprint: p.Fingerprint, changes: changes, deactivated: res.Deactivated}
	res.Changes = slices.Clone(changes)
	return res, nil
}

// move updates the owned sets after changes moved customers away from
// staff member from (to a single to, when not nil); called with mu held for
// writing.
func (mt *memoryTeam) move(from string, to *Staff, changes []OwnerChange) {
	src := mt.owned[from]
	if src == nil || len(changes) == 0 {
		return
	}
	if to != nil && len(changes) == len(src.m) && mt.ownedCount(to.ID) == 0 {
		// Everything goes to someone who owns nothing: hand the set over.
		mt.owned[to.ID] = src
		delete(mt.owned, from)
		return
	}
	for i := range changes {
		src.remove(changes[i].Customer)
		mt.set(changes[i].To).add(changes[i].Customer)
	}
}

// Owner implements StaffStore.
func (s *memoryStaffStore) Owner(ctx context.Context, tenant TenantID, customer CustomerID) (OwnerChange, error) {
	const op = "scrm.MemoryStaffStore.Owner"
	if err := CheckContext(ctx, op); err != nil {
		return OwnerChange{}, err
	}
	if mt := s.tenant(tenant, false); mt != nil {
		mt.mu.RLock()
		defer mt.mu.RUnlock()
		if h := mt.history[customer]; len(h) > 0 {
			return h[len(h)-1], nil
		}
	}
	return OwnerChange{}, &Error{Code: ErrNotFound, Op: op, Field: "Customer", Msg: fmt.Sprintf("customer %s/%s has no owner", tenant, customer)}
}

// History implements StaffStore.
func (s *memoryStaffStore) History(ctx context.Context, tenant TenantID, customer CustomerID) ([]OwnerChange, error) {
	const op = "scrm.MemoryStaffStore.History"
	if err := CheckContext(ctx, op); err != nil {
		return nil, err
	}
	mt := s.tenant(tenant, false)
	if mt == nil {
		return nil, nil
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	return slices.Clone(mt.history[customer]), nil
}

// CustomersOf implements StaffStore.
func (s *memoryStaffStore) CustomersOf(ctx context.Context, p CustomersOfParams) (OwnedPage, error) {
	const op = "scrm.MemoryStaffStore.CustomersOf"
	if err := CheckContext(ctx, op); err != nil {
		return OwnedPage{}, err
	}
	limit := PageLimit(p.Limit, 100, 1000)
	mt := s.tenant(p.Tenant, false)
	if mt == nil {
		return OwnedPage{}, nil
	}
	mt.mu.RLock()
	set := mt.owned[p.Staff]
	if set != nil && set.sorted == nil {
		// Rebuild the sorted view under the write lock.
		mt.mu.RUnlock()
		mt.mu.Lock()
		defer mt.mu.Unlock()
		set = mt.owned[p.Staff]
	} else {
		defer mt.mu.RUnlock()
	}
	if set == nil {
		return OwnedPage{}, nil
	}
	ids := set.view()
	page := OwnedPage{Total: len(ids)}
	i, found := slices.BinarySearch(ids, CustomerID(p.Cursor))
	if found {
		i++
	}
	end := min(i+limit, len(ids))
	page.Customers = slices.Clone(ids[i:end])
	if end < len(ids) && len(page.Customers) > 0 {
		page.Next = string(page.Customers[len(page.Customers)-1])
	}
	return page, nil
}

// activeIn returns the active staff of store, sorted by ID, without
// except; called with mu held for writing. The result must not be
// modified.
func (mt *memoryTeam) activeIn(store, except string) []string {
	if mt.active == nil {
		mt.active = make(map[string][]string)
		for _, id := range mt.staffIDs { // sorted, so each list is too
			if st := mt.staff[id]; st.Active && st.Store != "" {
				mt.active[st.Store] = append(mt.active[st.Store], id)
			}
		}
	}
	ids := mt.active[store]
	if i, ok := slices.BinarySearch(ids, except); ok {
		ids = slices.Delete(slices.Clone(ids), i, i+1)
	}
	return ids
}

// nextTurn returns the staff member whose turn it is among ids (non-empty)
// in store, and advances the store's counter; called with mu held for
// writing.
func (mt *memoryTeam) nextTurn(store string, ids []string) string {
	n := mt.rr[store]
	mt.rr[store] = n + 1
	return ids[n%uint64(len(ids))]
}

// ownedCount returns how many customers staff member id owns; called with
// mu held.
func (mt *memoryTeam) ownedCount(id string) int {
	if set := mt.owned[id]; set != nil {
		return len(set.m)
	}
	return 0
}

// set returns staff member id's owned set, creating it; called with mu held
// for writing.
func (mt *memoryTeam) set(id string) *ownedSet {
	set := mt.owned[id]
	if set == nil {
		set = &ownedSet{m: make(map[CustomerID]struct{})}
		mt.owned[id] = set
	}
	return set
}

func (s *ownedSet) add(c CustomerID) {
	s.m[c] = struct{}{}
	s.sorted = nil
}

func (s *ownedSet) remove(c CustomerID) {
	delete(s.m, c)
	s.sorted = nil
}

// view returns the set's customers in ID order, building the sorted view
// when it is stale (which needs mu held for writing). The result must not
// be modified.
func (s *ownedSet) view() []CustomerID {
	if s.sorted == nil {
		s.sorted = make([]CustomerID, 0, len(s.m))
		for c := range s.m {
			s.sorted = append(s.sorted, c)
		}
		slices.Sort(s.sorted)
	}
	return s.sorted
}
