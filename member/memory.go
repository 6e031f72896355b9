package member

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// NewMemoryStore returns a Store that keeps everything in memory. It is safe
// for concurrent use, copies values in and out, and is built for speed: each
// account has its own lock, so updates of different customers run in
// parallel; idempotency keys are reserved per tenant before the account is
// locked, so two requests with one key never both run; and each tenant keeps
// its accounts ordered by DueAt and by NextExpiry in skip lists, so Sweep
// and Expiring visit only the accounts concerned. It is what a nil New
// argument uses.
func NewMemoryStore() Store {
	return &memoryStore{tenants: make(map[scrm.TenantID]*memTenant)}
}

type memoryStore struct {
	mu      sync.RWMutex
	tenants map[scrm.TenantID]*memTenant
	// Recycled account states and transactions: an update copies the
	// stored state into a recycled one and, once saved, recycles the state
	// it replaced, so a steady stream of updates allocates neither.
	states sync.Pool
	txs    sync.Pool
}

type memTenant struct {
	mu       sync.RWMutex // programs and the accounts map
	programs []Program
	accounts map[scrm.CustomerID]*memAccount

	holdsMu sync.RWMutex
	holds   map[string]*HoldRecord

	keysMu   sync.Mutex
	keysCond sync.Cond // signalled when a pending key is settled
	keys     map[string]*memKey

	idxMu sync.Mutex
	due   *timeIndex
	exp   *timeIndex
}

type memAccount struct {
	mu      sync.Mutex
	state   *AccountState // nil until first saved
	orders  map[string]*OrderRecord
	journal journal
	// The keys under which the account is indexed; ok false when not.
	dueAt, expAt int64
	dueOK, expOK bool
}

type memKey struct {
	pending     bool
	customer    scrm.CustomerID
	fingerprint string
	// The update's Outcome without its Entries, which are the journal's
	// entries first to first+count-1: a replay reads them back rather than
	// the store keeping every entry twice.
	grants []scrm.Grant
	holdID string
	after  Balance
	first  int64
	count  int
}

var _ Store = (*memoryStore)(nil)

func (s *memoryStore) tenant(t scrm.TenantID, create bool) *memTenant {
	s.mu.RLock()
	mt := s.tenants[t]
	s.mu.RUnlock()
	if mt != nil || !create {
		return mt
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mt = s.tenants[t]; mt == nil {
		mt = &memTenant{
			accounts: make(map[scrm.CustomerID]*memAccount),
			holds:    make(map[string]*HoldRecord),
			keys:     make(map[string]*memKey),
			due:      newTimeIndex(),
			exp:      newTimeIndex(),
		}
		mt.keysCond.L = &mt.keysMu
		s.tenants[t] = mt
	}
	return mt
}

func (t *memTenant) account(c scrm.CustomerID, create bool) *memAccount {
	t.mu.RLock()
	a := t.accounts[c]
	t.mu.RUnlock()
	if a != nil || !create {
		return a
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if a = t.accounts[c]; a == nil {
		a = &memAccount{}
		t.accounts[c] = a
	}
	return a
}

func (s *memoryStore) PutProgram(ctx context.Context, p Program) (Program, error) {
	const op = "member.MemoryStore.PutProgram"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Program{}, err
	}
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return Program{}, err
	}
	c := p.Clone()
	t := s.tenant(p.Tenant, true)
	t.mu.Lock()
	defer t.mu.Unlock()
	c.Version = int64(len(t.programs)) + 1
	t.programs = append(t.programs, c)
	return c.Clone(), nil
}

func (s *memoryStore) Program(ctx context.Context, tenant scrm.TenantID, v int64) (Program, error) {
	const op = "member.MemoryStore.Program"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Program{}, err
	}
	t := s.tenant(tenant, false)
	if t != nil {
		t.mu.RLock()
		defer t.mu.RUnlock()
		n := int64(len(t.programs))
		if v == 0 {
			v = n
		}
		if v >= 1 && v <= n {
			return t.programs[v-1].Clone(), nil
		}
	}
	return Program{}, scrm.Errorf(scrm.ErrNotFound, op, "tenant %q has no program version %d", tenant, v)
}

func (s *memoryStore) ProgramVersion(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	if err := scrm.CheckContext(ctx, "member.MemoryStore.ProgramVersion"); err != nil {
		return 0, err
	}
	t := s.tenant(tenant, false)
	if t == nil {
		return 0, nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return int64(len(t.programs)), nil
}

func (s *memoryStore) Account(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (AccountState, error) {
	const op = "member.MemoryStore.Account"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return AccountState{}, err
	}
	if t := s.tenant(tenant, false); t != nil {
		if a := t.account(customer, false); a != nil {
			a.mu.Lock()
			var st *AccountState
			if a.state != nil {
				st = a.state.Clone() // under the lock: replaced states are recycled
			}
			a.mu.Unlock()
			if st != nil {
				return *st, nil
			}
		}
	}
	return AccountState{}, scrm.Errorf(scrm.ErrNotFound, op, "no account for customer %q", customer)
}

func (s *memoryStore) Update(ctx context.Context, p UpdateParams, fn func(tx *LedgerTx) error) (Outcome, bool, error) {
	const op = "member.MemoryStore.Update"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Outcome{}, false, err
	}
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return Outcome{}, false, err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return Outcome{}, false, err
	}
	t := s.tenant(p.Tenant, true)

	// Reserve the key, or answer from its record.
	var key *memKey
	if p.IdempotencyKey != "" {
		t.keysMu.Lock()
		for {
			rec := t.keys[p.IdempotencyKey]
			if rec == nil {
				key = &memKey{pending: true}
				t.keys[p.IdempotencyKey] = key
				break
			}
			if rec.pending {
				t.keysCond.Wait()
				continue
			}
			t.keysMu.Unlock()
			if rec.customer != p.Customer {
				return Outcome{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
					Msg: "key " + strconv.Quote(p.IdempotencyKey) + " was already used for another customer"}
			}
			if err := scrm.CheckReplay(op, p.IdempotencyKey, rec.fingerprint, p.Fingerprint); err != nil {
				return Outcome{}, false, err
			}
			out := Outcome{Grants: append([]scrm.Grant(nil), rec.grants...), HoldID: rec.holdID, After: rec.after}
			if rec.count > 0 {
				acc := t.account(p.Customer, false)
				acc.mu.Lock()
				out.Entries = acc.journal.copyFrom(rec.first, rec.count)
				acc.mu.Unlock()
			}
			return out, true, nil
		}
		t.keysMu.Unlock()
	}
	acc := t.account(p.Customer, true)
	acc.mu.Lock()
	out, err := s.apply(ctx, t, acc, p, fn)
	acc.mu.Unlock()
	if key != nil {
		t.settleKey(key, p, out, err)
	}
	if err != nil {
		return Outcome{}, false, err
	}
	// The journal keeps the entries fn wrote; the caller gets copies.
	return out.Clone(), false, nil
}

// settleKey records the outcome under a reserved key, or frees the key when
// the update failed, and wakes the updates waiting for it.
func (t *memTenant) settleKey(key *memKey, p UpdateParams, out Outcome, err error) {
	t.keysMu.Lock()
	if err == nil {
		key.pending, key.customer, key.fingerprint = false, p.Customer, p.Fingerprint
		key.grants, key.holdID, key.after = out.Grants, out.HoldID, out.After
		if key.count = len(out.Entries); key.count > 0 {
			key.first = out.Entries[0].Seq
		}
	} else {
		delete(t.keys, p.IdempotencyKey)
	}
	t.keysCond.Broadcast()
	t.keysMu.Unlock()
}

// apply runs fn on copies of the account's records and saves the result;
// called with acc.mu held.
func (s *memoryStore) apply(ctx context.Context, t *memTenant, acc *memAccount, p UpdateParams, fn func(tx *LedgerTx) error) (Outcome, error) {
	const op = "member.MemoryStore.Update"
	tx, _ := s.txs.Get().(*LedgerTx)
	if tx == nil {
		tx = &LedgerTx{}
	}
	defer func() {
		*tx = LedgerTx{}
		s.txs.Put(tx)
	}()
	st, _ := s.states.Get().(*AccountState)
	if st == nil {
		st = &AccountState{}
	}
	if acc.state != nil {
		acc.state.copyInto(st)
	} else {
		st.reset()
		st.Tenant, st.Customer = p.Tenant, p.Customer
	}
	tx.Account = st
	fail := func(err error) (Outcome, error) {
		s.states.Put(st)
		return Outcome{}, err
	}
	if p.OrderID != "" {
		if o := acc.orders[p.OrderID]; o != nil {
			c := o.Clone()
			tx.Order = &c
		}
	}
	if p.HoldID != "" {
		t.holdsMu.RLock()
		h := t.holds[p.HoldID]
		t.holdsMu.RUnlock()
		if h != nil {
			if h.Customer != p.Customer {
				return fail(scrm.Errorf(scrm.ErrConflict, op, "hold %q belongs to another customer", p.HoldID))
			}
			c := h.Clone()
			tx.Hold = &c
		}
	}
	if err := fn(tx); err != nil {
		return fail(err)
	}
	if err := scrm.CheckContext(ctx, op); err != nil {
		return fail(err)
	}
	if tx.Order != nil && tx.Order.OrderID != p.OrderID {
		return fail(scrm.Invalid(op, "Order.OrderID", "%q is not the order named by the params (%q)", tx.Order.OrderID, p.OrderID))
	}
	if tx.Hold != nil && (tx.Hold.ID != p.HoldID || tx.Hold.Customer != p.Customer || tx.Hold.Tenant != p.Tenant) {
		return fail(scrm.Invalid(op, "Hold.ID", "hold %q of %q is not the hold named by the params", tx.Hold.ID, tx.Hold.Customer))
	}
	if tx.Account != st {
		st.reset()
		s.states.Put(st)
		st = tx.Account // fn replaced the account; keep what it left
	}

	// Commit: nothing below fails. The store owns tx now (see
	// Store.Update), so it keeps what fn left there without copying.
	st.Tenant, st.Customer = p.Tenant, p.Customer
	if old := acc.state; old != nil {
		st.Version = old.Version + 1
		old.reset()
		s.states.Put(old)
	} else {
		st.Version = 1
	}
	acc.state = st
	if tx.Order != nil {
		if acc.orders == nil {
			acc.orders = make(map[string]*OrderRecord)
		}
		acc.orders[p.OrderID] = tx.Order
	}
	if tx.Hold != nil {
		t.holdsMu.Lock()
		t.holds[p.HoldID] = tx.Hold
		t.holdsMu.Unlock()
	}
	out := tx.Outcome
	acc.journal.add(out.Entries)
	s.reindex(t, acc, p.Customer, st)
	return out, nil
}

// reindex moves the account in the tenant's time indexes; called with
// acc.mu held.
func (s *memoryStore) reindex(t *memTenant, acc *memAccount, c scrm.CustomerID, st *AccountState) {
	due, exp := st.DueAt(), st.NextExpiry()
	dueAt, expAt := due.UnixNano(), exp.UnixNano()
	dueOK, expOK := !due.IsZero(), !exp.IsZero()
	if dueOK == acc.dueOK && dueAt == acc.dueAt && expOK == acc.expOK && expAt == acc.expAt {
		return
	}
	t.idxMu.Lock()
	if dueOK != acc.dueOK || dueAt != acc.dueAt {
		if acc.dueOK {
			t.due.remove(idxKey{acc.dueAt, c})
		}
		if dueOK {
			t.due.insert(idxKey{dueAt, c})
		}
	}
	if expOK != acc.expOK || expAt != acc.expAt {
		if acc.expOK {
			t.exp.remove(idxKey{acc.expAt, c})
		}
		if expOK {
			t.exp.insert(idxKey{expAt, c})
		}
	}
	t.idxMu.Unlock()
	acc.dueAt, acc.dueOK, acc.expAt, acc.expOK = dueAt, dueOK, expAt, expOK
}

func (s *memoryStore) Hold(ctx context.Context, tenant scrm.TenantID, holdID string) (HoldRecord, error) {
	const op = "member.MemoryStore.Hold"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return HoldRecord{}, err
	}
	if t := s.tenant(tenant, false); t != nil {
		t.holdsMu.RLock()
		h := t.holds[holdID]
		t.holdsMu.RUnlock()
		if h != nil {
			return h.Clone(), nil
		}
	}
	return HoldRecord{}, scrm.Errorf(scrm.ErrNotFound, op, "no hold %q", holdID)
}

func (s *memoryStore) Order(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, orderID string) (OrderRecord, error) {
	const op = "member.MemoryStore.Order"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return OrderRecord{}, err
	}
	if t := s.tenant(tenant, false); t != nil {
		if a := t.account(customer, false); a != nil {
			a.mu.Lock()
			o := a.orders[orderID]
			var c OrderRecord
			if o != nil {
				c = o.Clone()
			}
			a.mu.Unlock()
			if o != nil {
				return c, nil
			}
		}
	}
	return OrderRecord{}, scrm.Errorf(scrm.ErrNotFound, op, "customer %q has no order %q", customer, orderID)
}

func (s *memoryStore) Entries(ctx context.Context, p ListEntriesParams) (EntryPage, error) {
	const op = "member.MemoryStore.Entries"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return EntryPage{}, err
	}
	t := s.tenant(p.Tenant, false)
	if t == nil {
		return EntryPage{}, nil
	}
	a := t.account(p.Customer, false)
	if a == nil {
		return EntryPage{}, nil
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	a.mu.Lock()
	defer a.mu.Unlock()
	var page EntryPage
	page.Entries, page.Next = a.journal.page(p.After, limit)
	return page, nil
}

func (s *memoryStore) ListDue(ctx context.Context, p ListDueParams) (DuePage, error) {
	return s.list(ctx, "member.MemoryStore.ListDue", p, func(t *memTenant) *timeIndex { return t.due })
}

func (s *memoryStore) ListExpiring(ctx context.Context, p ListDueParams) (DuePage, error) {
	return s.list(ctx, "member.MemoryStore.ListExpiring", p, func(t *memTenant) *timeIndex { return t.exp })
}

func (s *memoryStore) list(ctx context.Context, op string, p ListDueParams, idx func(*memTenant) *timeIndex) (DuePage, error) {
	if err := scrm.CheckContext(ctx, op); err != nil {
		return DuePage{}, err
	}
	t := s.tenant(p.Tenant, false)
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
	page, err := idx(t).list(op, p)
	for i := range page.Accounts {
		page.Accounts[i].At = page.Accounts[i].At.In(time.UTC)
	}
	return page, err
}

// journal is an account's entries in Seq order, kept as the segments the
// updates wrote (each update's Outcome.Entries, owned by the store once fn
// returns), so that appending copies nothing.
type journal struct {
	segs [][]Entry
	n    int
}

func (j *journal) add(es []Entry) {
	if len(es) > 0 {
		j.segs = append(j.segs, es)
		j.n += len(es)
	}
}

// page copies up to limit entries after the one numbered after.
func (j *journal) page(after int64, limit int) ([]Entry, int64) {
	s := sort.Search(len(j.segs), func(i int) bool {
		seg := j.segs[i]
		return seg[len(seg)-1].Seq > after
	})
	var out []Entry
	for ; s < len(j.segs); s++ {
		for _, e := range j.segs[s] {
			if e.Seq <= after {
				continue
			}
			if len(out) == limit {
				return out, out[len(out)-1].Seq
			}
			out = append(out, e.clone())
		}
	}
	return out, 0
}

// copyFrom copies count entries starting with the one numbered first.
func (j *journal) copyFrom(first int64, count int) []Entry {
	out, _ := j.page(first-1, count)
	return out
}
