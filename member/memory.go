package member

import (
	"context"
	"hash/maphash"
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

	// The state of check-in, stored value, paid plans and the points
	// mall, each kept by its own file.
	checkins memCheckIns
	values   memStoredValues
	plans    memPlans
	mall     memMall
}

type memTenant struct {
	mu       sync.RWMutex // programs and the accounts map
	programs []Program
	accounts map[scrm.CustomerID]*memAccount

	holdsMu sync.RWMutex
	holds   map[string]*HoldRecord

	keysMu   sync.Mutex
	keysCond sync.Cond // signalled when a pending key is settled
	// keys maps the hash of an idempotency key (under seed) to 1 + the
	// number of the newest record in recs with that hash; records of keys
	// whose hashes collide are chained by keyRec.next. Keyed by hash, the
	// map holds no pointers and grows without reading the keys again.
	keys   map[uint64]int
	seed   maphash.Seed
	recs   [][]keyRec              // chunks of keyChunk records
	arena  [][]byte                // the strings of recs, in chunks of arenaChunk bytes
	grants map[string][]scrm.Grant // the rare non-empty Grants, by key

	idxMu sync.Mutex
	due   *timeIndex
	exp   *timeIndex
}

type memAccount struct {
	mu    sync.Mutex
	state *AccountState // nil until first saved
	// orders maps the hash of an order ID (under the tenant's seed) to 1 +
	// the index in orderRecs of the newest record with that hash; records
	// whose IDs' hashes collide are chained by orderNext (1 + the index of
	// the next, 0 at the end), as memTenant.keys are.
	orders    map[uint64]int
	orderRecs []*OrderRecord
	orderNext []int
	journal   journal
	// The keys under which the account is indexed; ok false when not.
	dueAt, expAt int64
	dueOK, expOK bool
}

// keyRec is the record of an idempotency key, kept pointer-free so that a
// tenant's millions of keys cost the garbage collector nothing to scan: its
// strings (customer, fingerprint, hold ID, tier) are stored one after the
// other in the tenant's arena from off, with the lengths in lens; its
// Outcome's Entries are the journal's entries first to first+count-1 (a
// replay reads them back rather than the store keeping every entry twice);
// its Grants, rarely any, are in memTenant.grants.
type keyRec struct {
	// The key is at arena[kchunk][koff:koff+klen]; next is 1 + the
	// number of the next record in the hash chain, 0 at its end.
	kchunk, koff, klen int32
	next               int
	chunk              int32
	off                int32
	lens               [4]int32
	first              int64
	count              int32
	pending            bool
	points             int64
	held               int64
	debt               int64
	growth             int64
}

// str returns the i-th string of r (0 customer, 1 fingerprint, 2 hold ID,
// 3 tier) as a slice of the arena; called with keysMu held.
func (t *memTenant) str(r *keyRec, i int) []byte {
	off := int(r.off)
	for j := 0; j < i; j++ {
		off += int(r.lens[j])
	}
	return t.arena[r.chunk][off : off+int(r.lens[i])]
}

// The chunk sizes of a tenant's key records and their arena: chunks are
// never moved or copied once allocated.
const (
	keyChunk   = 4096
	arenaChunk = 64 << 10
)

// reserveKey returns the number of the record of key, whose hash is h, as
// i, or, when there is none, adds a pending record for it and returns its
// number as r (i and r are -1 when not returned); called with keysMu held.
// It probes the map once for a new key: the op= adds the new record's
// number to the zero value of a new hash, or to the chain head of an
// existing one, which is then restored and searched.
func (t *memTenant) reserveKey(h uint64, key string) (i, r int) {
	n, r := len(t.keys), t.newRec()
	t.keys[h] += r + 1
	if len(t.keys) > n {
		t.setKey(r, key)
		return -1, r
	}
	t.keys[h] -= r + 1
	if i = t.findKey(h, key); i >= 0 {
		t.dropRec(r)
		return i, -1
	}
	// Another key with the same hash: chain.
	t.rec(r).next = t.keys[h]
	t.keys[h] = r + 1
	t.setKey(r, key)
	return -1, r
}

// setKey stores the key of record i; called with keysMu held.
func (t *memTenant) setKey(i int, key string) {
	c, off := t.store(key)
	r := t.rec(i)
	r.kchunk, r.koff, r.klen = c, off, int32(len(key))
}

// findKey returns the number of the record of key, whose hash is h, or -1;
// called with keysMu held.
func (t *memTenant) findKey(h uint64, key string) int {
	for i := t.keys[h] - 1; i >= 0; i = t.rec(i).next - 1 {
		r := t.rec(i)
		if string(t.arena[r.kchunk][r.koff:r.koff+r.klen]) == key {
			return i
		}
	}
	return -1
}

// unlinkKey removes record i, of key, from its hash chain; called with
// keysMu held.
func (t *memTenant) unlinkKey(i int, key string) {
	t.unlinkHash(i, maphash.String(t.seed, key))
}

func (t *memTenant) unlinkHash(i int, h uint64) {
	next := t.rec(i).next
	if t.keys[h] == i+1 {
		if next == 0 {
			delete(t.keys, h)
		} else {
			t.keys[h] = next
		}
		return
	}
	for j := t.keys[h] - 1; j >= 0; j = t.rec(j).next - 1 {
		if r := t.rec(j); r.next == i+1 {
			r.next = next
			return
		}
	}
}

// rec returns the key record numbered i; called with keysMu held.
func (t *memTenant) rec(i int) *keyRec { return &t.recs[i/keyChunk][i%keyChunk] }

// newRec appends a pending key record and returns its number; called with
// keysMu held.
func (t *memTenant) newRec() int {
	last := len(t.recs) - 1
	if last < 0 || len(t.recs[last]) == keyChunk {
		c := keyChunk
		if last < 0 {
			c = 16 // the first chunk grows as needed, for small tenants
		}
		t.recs = append(t.recs, make([]keyRec, 0, c))
		last++
	}
	t.recs[last] = append(t.recs[last], keyRec{pending: true})
	return last*keyChunk + len(t.recs[last]) - 1
}

// dropRec frees the pending record numbered i; called with keysMu held.
func (t *memTenant) dropRec(i int) {
	last := len(t.recs) - 1
	if i == last*keyChunk+len(t.recs[last])-1 {
		t.recs[last] = t.recs[last][:len(t.recs[last])-1]
	} else {
		*t.rec(i) = keyRec{} // a hole; failures are rare
	}
}

// store appends strs to the arena, contiguously, and returns where they
// start; called with keysMu held.
func (t *memTenant) store(strs ...string) (chunk, off int32) {
	n := 0
	for _, s := range strs {
		n += len(s)
	}
	last := len(t.arena) - 1
	if last < 0 || cap(t.arena[last])-len(t.arena[last]) < n {
		c := arenaChunk
		if last < 0 {
			c = 1 << 10 // small tenants need little
		} else if len(t.arena[last]) < arenaChunk {
			c = min(2*cap(t.arena[last]), arenaChunk)
		}
		t.arena = append(t.arena, make([]byte, 0, max(n, c)))
		last++
	}
	off = int32(len(t.arena[last]))
	for _, s := range strs {
		t.arena[last] = append(t.arena[last], s...)
	}
	return int32(last), off
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
			keys:     make(map[uint64]int),
			seed:     maphash.MakeSeed(),
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
	key := -1
	if p.IdempotencyKey != "" {
		t.keysMu.Lock()
		for {
			i, r := t.reserveKey(maphash.String(t.seed, p.IdempotencyKey), p.IdempotencyKey)
			if r >= 0 {
				key = r
				break
			}
			rec := t.rec(i)
			if rec.pending {
				t.keysCond.Wait()
				continue
			}
			if string(t.str(rec, 0)) != string(p.Customer) {
				t.keysMu.Unlock()
				return Outcome{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
					Msg: "key " + strconv.Quote(p.IdempotencyKey) + " was already used for another customer"}
			}
			fp := string(t.str(rec, 1))
			out := Outcome{Grants: append([]scrm.Grant(nil), t.grants[p.IdempotencyKey]...), HoldID: string(t.str(rec, 2)),
				After: Balance{Points: rec.points, Held: rec.held, Debt: rec.debt, Growth: rec.growth, Tier: string(t.str(rec, 3))}}
			first, count := rec.first, int(rec.count)
			t.keysMu.Unlock()
			if err := scrm.CheckReplay(op, p.IdempotencyKey, fp, p.Fingerprint); err != nil {
				return Outcome{}, false, err
			}
			if count > 0 {
				acc := t.account(p.Customer, false)
				acc.mu.Lock()
				out.Entries = acc.journal.copyFrom(first, count)
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
	if key >= 0 {
		t.settleKey(key, p, out, err)
	}
	if err != nil {
		return Outcome{}, false, err
	}
	// The journal keeps copies of the entries fn wrote; the store owns tx
	// once fn returns and keeps no reference to its Outcome, so the caller
	// gets it as it is.
	return out, false, nil
}

// settleKey records the outcome under a reserved key, or frees the key when
// the update failed, and wakes the updates waiting for it.
func (t *memTenant) settleKey(key int, p UpdateParams, out Outcome, err error) {
	t.keysMu.Lock()
	if err == nil {
		chunk, off := t.store(string(p.Customer), p.Fingerprint, out.HoldID, out.After.Tier)
		r := t.rec(key)
		*r = keyRec{kchunk: r.kchunk, koff: r.koff, klen: r.klen, next: r.next, chunk: chunk, off: off, lens: [4]int32{int32(len(p.Customer)), int32(len(p.Fingerprint)), int32(len(out.HoldID)), int32(len(out.After.Tier))},
			points: out.After.Points, held: out.After.Held, debt: out.After.Debt, growth: out.After.Growth}
		if n := len(out.Entries); n > 0 {
			r.count, r.first = int32(n), out.Entries[0].Seq
		}
		if len(out.Grants) > 0 {
			if t.grants == nil {
				t.grants = make(map[string][]scrm.Grant)
			}
			t.grants[p.IdempotencyKey] = append([]scrm.Grant(nil), out.Grants...)
		}
	} else {
		t.unlinkKey(key, p.IdempotencyKey)
		t.dropRec(key)
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
	// Look the order up and reserve its slot in one probe of the map (as
	// Update does with keys): newOrder tells that the slot was inserted
	// here, to be filled on commit or deleted.
	newOrder, order, chained := false, -1, 0
	var oh uint64
	if p.OrderID != "" {
		if acc.orders == nil {
			acc.orders = make(map[uint64]int)
		}
		oh = maphash.String(t.seed, p.OrderID)
		n, r := len(acc.orders), len(acc.orderRecs)+1
		acc.orders[oh] += r
		if len(acc.orders) > n {
			newOrder = true
		} else {
			acc.orders[oh] -= r
			if order = acc.findOrder(oh, p.OrderID); order >= 0 {
				c := acc.orderRecs[order].Clone()
				tx.Order = &c
			} else { // another order with the same hash: chain
				newOrder, chained = true, acc.orders[oh]
				acc.orders[oh] = r
			}
		}
	}
	unreserve := func() {
		if chained == 0 {
			delete(acc.orders, oh)
		} else {
			acc.orders[oh] = chained
		}
	}
	fail := func(err error) (Outcome, error) {
		if newOrder {
			unreserve()
		}
		s.states.Put(st)
		return Outcome{}, err
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
	switch {
	case tx.Order != nil && newOrder:
		acc.orderRecs = append(acc.orderRecs, tx.Order)
		acc.orderNext = append(acc.orderNext, chained)
	case tx.Order != nil:
		acc.orderRecs[order] = tx.Order
	case newOrder:
		unreserve()
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

// findOrder returns the index in orderRecs of the order orderID, whose
// hash is h, or -1; called with a.mu held.
func (a *memAccount) findOrder(h uint64, orderID string) int {
	for i := a.orders[h] - 1; i >= 0; i = a.orderNext[i] - 1 {
		if a.orderRecs[i].OrderID == orderID {
			return i
		}
	}
	return -1
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
			i := a.findOrder(maphash.String(t.seed, orderID), orderID)
			var c OrderRecord
			if i >= 0 {
				c = a.orderRecs[i].Clone()
			}
			a.mu.Unlock()
			if i >= 0 {
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

// journal is an account's entries in Seq order, copied in by add as
// compact jEntry values so that the store never shares them with the
// caller. It grows in chunks that are never moved, so appending never copies
// what is already there.
type journal struct {
	segs [][]jEntry
	n    int
}

// jEntry is a journal entry, stored compactly: its Kind as a number (see
// kindIndex) and its rarely set strings in extra, so that it holds few
// pointers for the garbage collector to scan. Note is kept inline: grants,
// adjustments and event awards all set it, and an extra for it alone would
// cost each of them an allocation. A single lot move (the usual
// case) is kept in lot, with one set, so that adding it allocates nothing;
// more are kept in lots.
type jEntry struct {
	lot                             LotMove
	lots                            []LotMove
	seq, points, held, debt, growth int64
	forgiven, forfeited, program    int64
	at                              time.Time
	key, orderID, note              string
	extra                           *jExtra
	one                             bool
	kind                            uint8
}

// jExtra holds the fields of a jEntry that most entries leave empty.
type jExtra struct {
	kind                       EntryKind // when kindIndex has no number for it
	holdID, from, to, operator string
}

// kindIndex numbers the entry kinds for jEntry.kind (kindOf is its
// inverse); 0 is any other kind.
func kindIndex(k EntryKind) uint8 {
	switch k {
	case EntryEarn:
		return 1
	case EntryGrant:
		return 2
	case EntryImport:
		return 3
	case EntryAdjust:
		return 4
	case EntryHold:
		return 5
	case EntryCapture:
		return 6
	case EntryVoid:
		return 7
	case EntrySpend:
		return 8
	case EntryRefund:
		return 9
	case EntryClawback:
		return 10
	case EntryExpire:
		return 11
	case EntryDeduct:
		return 12
	case EntryTier:
		return 13
	}
	return 0
}

func kindOf(i uint8) EntryKind {
	switch i {
	case 1:
		return EntryEarn
	case 2:
		return EntryGrant
	case 3:
		return EntryImport
	case 4:
		return EntryAdjust
	case 5:
		return EntryHold
	case 6:
		return EntryCapture
	case 7:
		return EntryVoid
	case 8:
		return EntrySpend
	case 9:
		return EntryRefund
	case 10:
		return EntryClawback
	case 11:
		return EntryExpire
	case 12:
		return EntryDeduct
	case 13:
		return EntryTier
	}
	return ""
}

func compactEntry(e *Entry) jEntry {
	je := jEntry{seq: e.Seq, points: e.Points, held: e.Held, debt: e.Debt, growth: e.Growth, forgiven: e.Forgiven,
		forfeited: e.Forfeited, program: e.Program, at: e.At, key: e.Key, orderID: e.OrderID, note: e.Note, kind: kindIndex(e.Kind)}
	if je.kind == 0 || e.HoldID != "" || e.From != "" || e.To != "" || e.Operator != "" {
		je.extra = &jExtra{holdID: e.HoldID, from: e.From, to: e.To, operator: e.Operator}
		if je.kind == 0 {
			je.extra.kind = e.Kind
		}
	}
	return je
}

// entry returns the entry without its Lots.
func (je *jEntry) entry() Entry {
	e := Entry{Seq: je.seq, Kind: kindOf(je.kind), At: je.at, Points: je.points, Held: je.held, Debt: je.debt,
		Growth: je.growth, Forgiven: je.forgiven, Forfeited: je.forfeited, Key: je.key, OrderID: je.orderID, Note: je.note, Program: je.program}
	if x := je.extra; x != nil {
		if je.kind == 0 {
			e.Kind = x.kind
		}
		e.HoldID, e.From, e.To, e.Operator = x.holdID, x.from, x.to, x.operator
	}
	return e
}

// journalChunk bounds the capacity of a journal chunk: the first ones are
// small, for the many accounts with a short journal.
const journalChunk = 256

// grow makes room for need more elements in the last of chunks, adding a
// chunk of twice the last one's capacity, at most journalChunk (or need),
// when there is not.
func grow[T any](chunks [][]T, need int) [][]T {
	last := len(chunks) - 1
	if last >= 0 && cap(chunks[last])-len(chunks[last]) >= need {
		return chunks
	}
	c := 1
	if last >= 0 {
		c = min(2*cap(chunks[last]), journalChunk)
	}
	return append(chunks, make([]T, 0, max(c, need)))
}

// add copies es into the journal. It sets empty Lots of es to nil, as a
// copy would have them, and gives entries with more than one lot move a
// copy of their Lots, keeping the original.
func (j *journal) add(es []Entry) {
	for i := range es {
		e := &es[i]
		je := compactEntry(e)
		switch len(e.Lots) {
		case 0:
			e.Lots = nil
		case 1:
			je.lot, je.one = e.Lots[0], true
		default:
			je.lots = e.Lots
			e.Lots = append([]LotMove(nil), e.Lots...)
		}
		j.segs = grow(j.segs, 1)
		l := len(j.segs) - 1
		j.segs[l] = append(j.segs[l], je)
	}
	j.n += len(es)
}

// page copies up to limit entries after the one numbered after.
func (j *journal) page(after int64, limit int) ([]Entry, int64) {
	s := sort.Search(len(j.segs), func(i int) bool {
		seg := j.segs[i]
		return seg[len(seg)-1].seq > after
	})
	var out []Entry
	for ; s < len(j.segs); s++ {
		for i := range j.segs[s] {
			je := &j.segs[s][i]
			if je.seq <= after {
				continue
			}
			if len(out) == limit {
				return out, out[len(out)-1].Seq
			}
			e := je.entry()
			if je.one {
				e.Lots = []LotMove{je.lot}
			} else if je.lots != nil {
				e.Lots = append([]LotMove(nil), je.lots...)
			}
			out = append(out, e)
		}
	}
	return out, 0
}

// copyFrom copies count entries starting with the one numbered first.
func (j *journal) copyFrom(first int64, count int) []Entry {
	out, _ := j.page(first-1, count)
	return out
}
