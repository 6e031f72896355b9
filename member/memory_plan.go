package member

import (
	"context"
	"encoding/json"
	"slices"
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
)

// memPlans is the memory store's state of paid membership plans (付费会员):
// per tenant, the plan versions, the memberships (each with its own lock
// and saving records), the idempotency keys and a skip list of memberships
// by DueAt for RunPlans.
type memPlans struct {
	tenants tenantTable[plTenant]
}

type plTenant struct {
	mu       sync.RWMutex // plans
	plans    map[string][]Plan
	ids      []string // in order of first PutPlan
	revision int64
	members  customerTable[plMember]
	keys     memKeyTable

	idxMu sync.Mutex
	due   skipIndex[plMember]

	txs   sync.Pool // *plTx
	lists sync.Pool // *[]*plMember, ListDueMemberships' page of members
}

type plMember struct {
	mu      sync.Mutex
	state   MembershipState // Version 0 until first saved
	savings map[string]*SavingRecord

	owner *plTenant // never changes
	// The membership's node in the tenant's DueAt index, guarded by the
	// tenant's idxMu (its key is also only written with mu held, so
	// either lock suffices to read it).
	node skipNode[plMember]
}

func (m *memPlans) tenant(t scrm.TenantID, create bool) *plTenant {
	return m.tenants.get(t, create, func() *plTenant {
		return &plTenant{plans: make(map[string][]Plan), due: newSkipIndex[plMember]()}
	})
}

func (t *plTenant) member(c scrm.CustomerID, create bool) *plMember {
	return t.members.get(c, create, func() *plMember {
		m := &plMember{owner: t}
		m.node.item, m.node.c = m, c
		return m
	})
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
	// A membership RunPlans listed comes with its record: no lookup among
	// the tenant's (maybe millions of) memberships.
	m := p.hint
	if m == nil || m.owner != t || m.node.c != p.Customer {
		m = t.member(p.Customer, true)
	}
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
		// The terms are in the transaction's buffer: copied into the
		// stored slice, which only the store references (readers get
		// copies), when it has room, else into a new one.
		if len(next.Terms) > 0 && len(next.Terms) <= cap(m.state.Terms) {
			next.Terms = append(m.state.Terms[:0], next.Terms...)
		} else {
			next.Terms = append([]PlanTerm(nil), next.Terms...)
		}
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
	t.reindex(m)
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
func (t *plTenant) reindex(m *plMember) {
	due := m.state.DueAt
	at, ok := due.UnixNano(), !due.IsZero()
	if ok == m.node.ok && (!ok || at == m.node.at) {
		return
	}
	t.idxMu.Lock()
	t.due.move(&m.node, at, ok)
	t.idxMu.Unlock()
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
		_, err := idxFrom(op, p.Cursor)
		return DuePage{}, err
	}
	t.idxMu.Lock()
	defer t.idxMu.Unlock()
	return t.due.list(op, p)
}

func (s *memoryStore) ListDueMemberships(ctx context.Context, p ListDueParams, page *DueMemberships) error {
	const op = "member.MemoryStore.ListDueMemberships"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return err
	}
	from, err := idxFrom(op, p.Cursor)
	if err != nil {
		return err
	}
	page.Memberships, page.Next, page.hints = page.Memberships[:0], "", page.hints[:0]
	t := s.plans.tenant(p.Tenant, false)
	if t == nil {
		return nil
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	end := p.Before.UnixNano()
	// The members are listed under idxMu and copied under their own locks
	// after: reindex takes idxMu with a member's lock held.
	ms, _ := t.lists.Get().(*[]*plMember)
	if ms == nil {
		ms = new([]*plMember)
	}
	list := (*ms)[:0]
	t.idxMu.Lock()
	nd := t.due.after(from)
	for ; nd != nil && nd.at <= end && len(list) < limit; nd = nd.next0 {
		list = append(list, nd.item)
	}
	if nd != nil && nd.at <= end {
		last := &list[len(list)-1].node
		page.Next = idxCursor(idxKey{at: last.at, c: last.c})
	}
	t.idxMu.Unlock()
	n := 0
	for i, m := range list {
		list[i] = nil
		m.mu.Lock()
		if m.node.ok && m.node.at <= end {
			if n < cap(page.Memberships) {
				page.Memberships = page.Memberships[:n+1]
			} else {
				page.Memberships = append(page.Memberships, MembershipState{})
			}
			copyStateInto(&page.Memberships[n], &m.state)
			page.hints = append(page.hints, m)
			n++
		}
		m.mu.Unlock()
	}
	*ms = list[:0]
	t.lists.Put(ms)
	return nil
}
