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
	due   planIndex

	txs   sync.Pool // *plTx
	lists sync.Pool // *[]*plMember, ListDueMemberships' page of members
}

type plMember struct {
	mu      sync.Mutex
	state   MembershipState // Version 0 until first saved
	savings map[string]*SavingRecord

	// The membership's node in the tenant's DueAt index, guarded by the
	// tenant's idxMu (dueAt and dueOK are also only written with mu held,
	// so either lock suffices to read them). The node lives in the
	// membership so that moving it allocates nothing: its level is drawn
	// once, at the first insert, and kept.
	owner *plTenant       // never changes
	cust  scrm.CustomerID // the index key with dueAt; never changes
	dueAt int64           // UnixNano
	dueOK bool            // false when not indexed
	lvl   int8            // 0 until first indexed
	next0 *plMember       // next on level 0
	up    []*plMember     // next on levels 1 to lvl-1
}

func (m *memPlans) tenant(t scrm.TenantID, create bool) *plTenant {
	return lookup(&m.mu, &m.tenants, t, create, func() *plTenant {
		return &plTenant{plans: make(map[string][]Plan), members: make(map[scrm.CustomerID]*plMember), due: newPlanIndex()}
	})
}

func (t *plTenant) member(c scrm.CustomerID, create bool) *plMember {
	return lookup(&t.mu, &t.members, c, create, func() *plMember { return &plMember{owner: t, cust: c} })
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
	if m == nil || m.owner != t || m.cust != p.Customer {
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
		t.due.remove(m)
	}
	m.dueAt, m.dueOK = at, ok
	if ok {
		t.due.insert(m)
	}
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
		if p.Cursor != "" {
			if _, err := parseIdxCursor(p.Cursor); err != nil {
				return DuePage{}, scrm.Invalid(op, "Cursor", "malformed cursor")
			}
		}
		return DuePage{}, nil
	}
	var from *idxKey
	if p.Cursor != "" {
		k, err := parseIdxCursor(p.Cursor)
		if err != nil {
			return DuePage{}, scrm.Invalid(op, "Cursor", "malformed cursor")
		}
		from = &k
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	end := p.Before.UnixNano()
	var page DuePage
	t.idxMu.Lock()
	defer t.idxMu.Unlock()
	for m := t.due.after(from); m != nil && m.dueAt <= end; m = m.next0 {
		if len(page.Accounts) == limit {
			page.Next = idxCursor(idxKey{at: page.Accounts[limit-1].At.UnixNano(), c: page.Accounts[limit-1].Customer})
			break
		}
		page.Accounts = append(page.Accounts, DueAccount{Customer: m.cust, At: time.Unix(0, m.dueAt).In(time.UTC)})
	}
	return page, nil
}

func (s *memoryStore) ListDueMemberships(ctx context.Context, p ListDueParams, page *DueMemberships) error {
	const op = "member.MemoryStore.ListDueMemberships"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return err
	}
	var from *idxKey
	if p.Cursor != "" {
		k, err := parseIdxCursor(p.Cursor)
		if err != nil {
			return scrm.Invalid(op, "Cursor", "malformed cursor")
		}
		from = &k
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
	m := t.due.after(from)
	for ; m != nil && m.dueAt <= end && len(list) < limit; m = m.next0 {
		list = append(list, m)
	}
	if m != nil && m.dueAt <= end {
		last := list[len(list)-1]
		page.Next = idxCursor(idxKey{at: last.dueAt, c: last.cust})
	}
	t.idxMu.Unlock()
	n := 0
	for i, m := range list {
		list[i] = nil
		m.mu.Lock()
		if m.dueOK && m.dueAt <= end {
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

// planIndex is the memory store's index of a tenant's memberships by
// (DueAt, customer): a skip list like timeIndex, whose nodes are the
// plMembers themselves, so that reindexing a membership allocates nothing
// and listing it leads straight to it. It is not safe for concurrent use;
// the tenant's idxMu guards it.
type planIndex struct {
	head  [idxMaxLevel]*plMember
	level int
	rng   uint64
	// A finger: the last membership inserted (fing[0]) and on every level
	// the last node at or before it (nil for the head), valid while
	// fingOK. An insert after it (the next membership RunPlans moves to
	// the same time, usually) starts there instead of at the head, among
	// nodes that are in cache. A remove of any of them clears fingOK.
	fing   [idxMaxLevel]*plMember
	fingOK bool
}

func newPlanIndex() planIndex { return planIndex{level: 1, rng: 0x9E3779B97F4A7C15} }

// link returns the address of n's next pointer on level i; n nil is the
// head.
func (x *planIndex) link(n *plMember, i int) **plMember {
	switch {
	case n == nil:
		return &x.head[i]
	case i == 0:
		return &n.next0
	default:
		return &n.up[i-1]
	}
}

// before tells whether n's key is less than (at, c).
func (n *plMember) before(at int64, c scrm.CustomerID) bool {
	if n.dueAt != at {
		return n.dueAt < at
	}
	return n.cust < c
}

// path fills prev with the last node before the key (at, c) on every level
// (nil for the head), starting from the finger when it is before the key.
func (x *planIndex) path(at int64, c scrm.CustomerID, prev *[idxMaxLevel]*plMember) {
	finger := x.fingOK && x.fing[0] != nil && x.fing[0].before(at, c)
	var n *plMember
	for i := x.level - 1; i >= 0; i-- {
		// Every finger node is before the key: start from the later of
		// it and the node the level above ended at.
		if f := x.fing[i]; finger && f != nil && (n == nil || n.before(f.dueAt, f.cust)) {
			n = f
		}
		for {
			if nx := *x.link(n, i); nx != nil && nx.before(at, c) {
				n = nx
				continue
			}
			break
		}
		prev[i] = n
	}
}

// insert links m in at its key (m.dueAt, m.cust); m must not be linked.
func (x *planIndex) insert(m *plMember) {
	if m.lvl == 0 {
		lvl := 1
		for lvl < idxMaxLevel {
			x.rng ^= x.rng << 13
			x.rng ^= x.rng >> 7
			x.rng ^= x.rng << 17
			if x.rng&3 != 0 { // p = 1/4
				break
			}
			lvl++
		}
		m.lvl = int8(lvl)
		if lvl > 1 {
			m.up = make([]*plMember, lvl-1)
		}
	}
	var prev [idxMaxLevel]*plMember
	x.path(m.dueAt, m.cust, &prev)
	lvl := int(m.lvl)
	for i := x.level; i < lvl; i++ {
		prev[i] = nil
	}
	x.level = max(x.level, lvl)
	for i := 0; i < lvl; i++ {
		l := x.link(prev[i], i)
		*x.link(m, i) = *l
		*l = m
	}
	for i := range x.fing {
		switch {
		case i < lvl:
			x.fing[i] = m
		case i < x.level:
			x.fing[i] = prev[i]
		default:
			x.fing[i] = nil
		}
	}
	x.fingOK = true
}

// remove unlinks m, which is linked at its key (m.dueAt, m.cust).
func (x *planIndex) remove(m *plMember) {
	var prev [idxMaxLevel]*plMember
	x.path(m.dueAt, m.cust, &prev)
	for i := 0; i < int(m.lvl) && i < x.level; i++ {
		if x.fing[i] == m {
			x.fingOK = false
		}
		if l := x.link(prev[i], i); *l == m {
			*l = *x.link(m, i)
			*x.link(m, i) = nil
		}
	}
	for x.level > 1 && x.head[x.level-1] == nil {
		x.level--
	}
}

// after returns the first membership whose key is greater than k, or the
// first one when k is nil.
func (x *planIndex) after(k *idxKey) *plMember {
	if k == nil {
		return x.head[0]
	}
	var n *plMember
	for i := x.level - 1; i >= 0; i-- {
		for {
			nx := *x.link(n, i)
			if nx == nil || !(nx.dueAt < k.at || nx.dueAt == k.at && nx.cust <= k.c) {
				break
			}
			n = nx
		}
	}
	return *x.link(n, 0)
}
