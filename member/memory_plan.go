package member

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// memPlans is the memory store's state of paid membership plans (付费会员):
// per tenant, the plan versions, the memberships (each with its own lock
// and saving records), the idempotency keys and a skip list of memberships
// by DueAt for RunPlans.
type memPlans struct {
	mu      sync.RWMutex
	tenants map[scrm.TenantID]*plTenant
}

type plTenant struct {
	mu       sync.RWMutex // plans and the members map
	plans    map[string][]Plan
	ids      []string // in order of first PutPlan
	revision int64
	members  map[scrm.CustomerID]*plMember
	keys     memKeyTable

	idxMu sync.Mutex
	due   *timeIndex

	txs sync.Pool // *plTx
}

type plMember struct {
	mu      sync.Mutex
	state   MembershipState // Version 0 until first saved
	savings map[string]*SavingRecord
	// The key under which the membership is indexed; dueOK false when not.
	dueAt int64
	dueOK bool
}

func (m *memPlans) tenant(t scrm.TenantID, create bool) *plTenant {
	return lookup(&m.mu, &m.tenants, t, create, func() *plTenant {
		return &plTenant{plans: make(map[string][]Plan), members: make(map[scrm.CustomerID]*plMember), due: newTimeIndex()}
	})
}

func (t *plTenant) member(c scrm.CustomerID, create bool) *plMember {
	return lookup(&t.mu, &t.members, c, create, func() *plMember { return &plMember{} })
}

func (s *memoryStore) PutPlan(ctx context.Context, p Plan) (Plan, error) {
	const op = "member.MemoryStore.PutPlan"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Plan{}, err
	}
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return Plan{}, err
	}
	if err := scrm.CheckID(op, "ID", p.ID); err != nil {
		return Plan{}, err
	}
	c := p.Clone()
	t := s.plans.tenant(p.Tenant, true)
	t.mu.Lock()
	defer t.mu.Unlock()
	vs := t.plans[p.ID]
	if vs == nil {
		t.ids = append(t.ids, p.ID)
	}
	c.Version = int64(len(vs)) + 1
	t.plans[p.ID] = append(vs, c)
	t.revision++
	return c.Clone(), nil
}

func (s *memoryStore) Plan(ctx context.Context, tenant scrm.TenantID, id string, v int64) (Plan, error) {
	const op = "member.MemoryStore.Plan"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Plan{}, err
	}
	if t := s.plans.tenant(tenant, false); t != nil {
		t.mu.RLock()
		defer t.mu.RUnlock()
		vs := t.plans[id]
		n := int64(len(vs))
		if v == 0 {
			v = n
		}
		if v >= 1 && v <= n {
			return vs[v-1].Clone(), nil
		}
	}
	return Plan{}, scrm.Errorf(scrm.ErrNotFound, op, "tenant %q has no plan %q version %d", tenant, id, v)
}

func (s *memoryStore) Plans(ctx context.Context, tenant scrm.TenantID) ([]Plan, error) {
	const op = "member.MemoryStore.Plans"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return nil, err
	}
	t := s.plans.tenant(tenant, false)
	if t == nil {
		return nil, nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	ids := append([]string(nil), t.ids...)
	slices.Sort(ids)
	var out []Plan
	for _, id := range ids {
		for _, p := range t.plans[id] {
			out = append(out, p.Clone())
		}
	}
	return out, nil
}

func (s *memoryStore) PlansRevision(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	if err := scrm.CheckContext(ctx, "member.MemoryStore.PlansRevision"); err != nil {
		return 0, err
	}
	t := s.plans.tenant(tenant, false)
	if t == nil {
		return 0, nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.revision, nil
}

func (s *memoryStore) UpdateMembership(ctx context.Context, p MembershipParams, fn func(tx *MembershipTx) error) (MembershipOutcome, bool, error) {
	const op = "member.MemoryStore.UpdateMembership"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return MembershipOutcome{}, false, err
	}
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return MembershipOutcome{}, false, err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return MembershipOutcome{}, false, err
	}
	t := s.plans.tenant(p.Tenant, true)
	slot := int32(-1)
	if p.IdempotencyKey != "" {
		r, enc, replayed, err := t.keys.reserve(op, p.IdempotencyKey, p.Customer, p.Fingerprint)
		if err != nil {
			return MembershipOutcome{}, false, err
		}
		if replayed {
			var out MembershipOutcome
			if err := json.Unmarshal(enc, &out); err != nil {
				return MembershipOutcome{}, false, scrm.Wrap(scrm.ErrUnavailable, op, err)
			}
			return out, true, nil
		}
		slot = r
	}
	m := t.member(p.Customer, true)
	m.mu.Lock()
	out, err := t.apply(ctx, op, m, p, fn)
	m.mu.Unlock()
	if slot >= 0 {
		// The outcome is kept as JSON: bytes, which the garbage collector
		// does not scan, for the millions of subscriptions of a tenant.
		var enc []byte
		if err == nil {
			enc, err = json.Marshal(out)
		}
		t.keys.settle(p.IdempotencyKey, slot, p.Customer, p.Fingerprint, enc, err == nil)
	}
	if err != nil {
		return MembershipOutcome{}, false, err
	}
	return out, false, nil
}

// plTx is a recycled transaction with room for the membership's copy: the
// copy handed to fn lives in its buffers, and only what fn leaves there is
// copied out on save (fn may instead replace the state with its own, which
// the store then keeps as it is).
type plTx struct {
	tx     MembershipTx
	state  MembershipState
	terms  [4]PlanTerm
	trials [2]string
}

// apply runs fn on copies of the membership's records and saves the
// result; called with m.mu held. The store owns tx once fn returns.
func (t *plTenant) apply(ctx context.Context, op string, m *plMember, p MembershipParams, fn func(tx *MembershipTx) error) (MembershipOutcome, error) {
	x, _ := t.txs.Get().(*plTx)
	if x == nil {
		x = &plTx{}
	}
	defer func() {
		*x = plTx{}
		t.txs.Put(x)
	}()
	x.state = m.state
	x.state.Terms = append(x.terms[:0:len(x.terms)], m.state.Terms...)
	x.state.Trials = nil
	if m.state.Trials != nil {
		x.state.Trials = append(x.trials[:0:len(x.trials)], m.state.Trials...)
	}
	if m.state.Version == 0 {
		x.state.Tenant, x.state.Customer = p.Tenant, p.Customer
	}
	x.tx.State = &x.state
	tx := &x.tx
	if p.OrderID != "" {
		if sv := m.savings[p.OrderID]; sv != nil {
			c := *sv
			tx.Saving = &c
		}
	}
	if err := fn(tx); err != nil {
		return MembershipOutcome{}, err
	}
	if err := scrm.CheckContext(ctx, op); err != nil {
		return MembershipOutcome{}, err
	}
	if tx.Saving != nil && tx.Saving.OrderID != p.OrderID {
		return MembershipOutcome{}, scrm.Invalid(op, "Saving.OrderID", "%q is not the order named by the params (%q)", tx.Saving.OrderID, p.OrderID)
	}
	next := *tx.State
	if within(next.Terms, x.terms[:]) {
		next.Terms = append([]PlanTerm(nil), next.Terms...)
	}
	if within(next.Trials, x.trials[:]) {
		next.Trials = append([]string(nil), next.Trials...)
	}
	next.Tenant, next.Customer = p.Tenant, p.Customer
	next.Version = m.state.Version + 1
	m.state = next
	if tx.Saving != nil {
		if m.savings == nil {
			m.savings = make(map[string]*SavingRecord)
		}
		m.savings[p.OrderID] = tx.Saving
	}
	t.reindex(m, p.Customer)
	return tx.Outcome.Clone(), nil
}

// within reports whether s is a slice of buf's array.
func within[T any](s, buf []T) bool {
	if cap(s) == 0 {
		return false
	}
	p := &s[:1][0]
	for i := range buf {
		if p == &buf[i] {
			return true
		}
	}
	return false
}

// reindex moves the membership in the tenant's DueAt index; called with
// m.mu held.
func (t *plTenant) reindex(m *plMember, c scrm.CustomerID) {
	due := m.state.DueAt
	at, ok := due.UnixNano(), !due.IsZero()
	if ok == m.dueOK && at == m.dueAt {
		return
	}
	t.idxMu.Lock()
	if m.dueOK {
		t.due.remove(idxKey{m.dueAt, c})
	}
	if ok {
		t.due.insert(idxKey{at, c})
	}
	t.idxMu.Unlock()
	m.dueAt, m.dueOK = at, ok
}

func (s *memoryStore) Membership(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (MembershipState, error) {
	const op = "member.MemoryStore.Membership"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return MembershipState{}, err
	}
	if t := s.plans.tenant(tenant, false); t != nil {
		if m := t.member(customer, false); m != nil {
			m.mu.Lock()
			st := m.state.Clone()
			m.mu.Unlock()
			if st.Version > 0 {
				return st, nil
			}
		}
	}
	return MembershipState{}, scrm.Errorf(scrm.ErrNotFound, op, "customer %q has no membership", customer)
}

func (s *memoryStore) Saving(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, orderID string) (SavingRecord, error) {
	const op = "member.MemoryStore.Saving"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return SavingRecord{}, err
	}
	if t := s.plans.tenant(tenant, false); t != nil {
		if m := t.member(customer, false); m != nil {
			m.mu.Lock()
			sv := m.savings[orderID]
			var c SavingRecord
			if sv != nil {
				c = *sv
			}
			m.mu.Unlock()
			if sv != nil {
				return c, nil
			}
		}
	}
	return SavingRecord{}, scrm.Errorf(scrm.ErrNotFound, op, "customer %q has no saving for order %q", customer, orderID)
}

func (s *memoryStore) ListPlanDue(ctx context.Context, p ListDueParams) (DuePage, error) {
	const op = "member.MemoryStore.ListPlanDue"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return DuePage{}, err
	}
	t := s.plans.tenant(p.Tenant, false)
	if t == nil {
		if p.Cursor != "" {
			if _, err := parseIdxCursor(p.Cursor); err != nil {
				return DuePage{}, scrm.Invalid(op, "Cursor", "malformed cursor")
			}
		}
		return DuePage{}, nil
	}
	t.idxMu.Lock()
	defer t.idxMu.Unlock()
	page, err := t.due.list(op, p)
	for i := range page.Accounts {
		page.Accounts[i].At = page.Accounts[i].At.In(time.UTC)
	}
	return page, err
}
