package member

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"strconv"
	"sync"

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
	return &memoryStore{}
}

type memoryStore struct {
	tenants tenantTable[memTenant]
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
	// keys indexes the records in recs by the hash of their idempotency
	// key (under seed): it holds no pointers and grows without reading
	// the keys again.
	keys   slotIndex
	seed   maphash.Seed
	recs   [][]keyRec              // chunks of keyChunk records
	arena  [][]byte                // the keys and outcomes of recs, in chunks of arenaChunk bytes
	grants map[string][]scrm.Grant // the rare non-empty Grants, by key

	idxMu sync.Mutex
	due   skipIndex[memAccount] // by DueAt
	exp   skipIndex[memAccount] // by NextExpiry
}

type memAccount struct {
	mu    sync.Mutex
	state *AccountState // nil until first saved
	// orders indexes the account's orders by the hash of the order ID
	// (under the tenant's seed): each to where its record is in the
	// journal (see putOrder).
	orders  slotIndex
	journal journal
	// The account's nodes in the tenant's due and exp indexes, guarded by
	// the tenant's idxMu.
	dueNode, expNode skipNode[memAccount]
}

// keyRec is the record of an idempotency key, kept small and
// pointer-free so that a tenant's millions of keys cost the garbage
// collector nothing to scan and little memory to write: its key and, once
// settled, its outcome are bytes in the tenant's arena. The outcome is the
// customer, fingerprint, hold ID and tier, the balances, and where its
// Entries are in the journal (a replay reads them back rather than the
// store keeping every entry twice), encoded by settleKey; its Grants,
// rarely any, are in memTenant.grants.
type keyRec struct {
	// The key is at arena[kchunk][koff:koff+klen], the outcome at
	// arena[chunk][off:].
	kchunk, koff, klen int32
	chunk, off         int32
	pending            bool
}

// keyOutcome is the outcome of a settled keyRec, decoded; its strings are
// slices of the arena.
type keyOutcome struct {
	customer, fp, holdID, tier        []byte
	points, held, debt, growth, first int64
	count                             int
}

// outcome decodes the outcome of r, settled; called with keysMu held.
func (t *memTenant) outcome(r *keyRec) keyOutcome {
	d := jReader{b: t.arena[r.chunk], i: int(r.off)}
	var o keyOutcome
	o.customer = d.raw()
	o.fp = d.raw()
	o.holdID = d.raw()
	o.tier = d.raw()
	o.points = d.varint()
	o.held = d.varint()
	o.debt = d.varint()
	o.growth = d.varint()
	o.first = d.varint()
	o.count = int(d.uvarint())
	return o
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
func (t *memTenant) reserveKey(h uint64, key string) (i, r int) {
	if i = t.findKey(h, key); i >= 0 {
		return i, -1
	}
	r = t.newRec()
	t.setKey(r, key)
	t.keys.insert(slotTag(h), int32(r))
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
	return int(t.keys.find(slotTag(h), func(i int32) bool {
		r := t.rec(int(i))
		return string(t.arena[r.kchunk][r.koff:r.koff+r.klen]) == key
	}))
}

// unlinkKey removes record i, of key, from the index; called with keysMu
// held.
func (t *memTenant) unlinkKey(i int, key string) {
	t.keys.remove(slotTag(maphash.String(t.seed, key)), int32(i))
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

// store appends key to the arena and returns where it starts; called with
// keysMu held.
func (t *memTenant) store(key string) (chunk, off int32) {
	c := t.room(len(key))
	off = int32(len(t.arena[c]))
	t.arena[c] = append(t.arena[c], key...)
	return int32(c), off
}

// room makes room for n more bytes in the last chunk of the arena and
// returns its number; called with keysMu held.
func (t *memTenant) room(n int) int {
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
	return last
}

var _ Store = (*memoryStore)(nil)

func (s *memoryStore) tenant(t scrm.TenantID, create bool) *memTenant {
	return s.tenants.get(t, create, func() *memTenant {
		mt := &memTenant{
			accounts: make(map[scrm.CustomerID]*memAccount),
			holds:    make(map[string]*HoldRecord),
			seed:     maphash.MakeSeed(),
			due:      newSkipIndex[memAccount](),
			exp:      newSkipIndex[memAccount](),
		}
		mt.keysCond.L = &mt.keysMu
		return mt
	})
}

func (t *memTenant) account(c scrm.CustomerID, create bool) *memAccount {
	return lookup(&t.mu, &t.accounts, c, create, func() *memAccount {
		a := &memAccount{}
		a.dueNode.item, a.dueNode.c = a, c
		a.expNode.item, a.expNode.c = a, c
		return a
	})
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
			o := t.outcome(rec)
			if string(o.customer) != string(p.Customer) {
				t.keysMu.Unlock()
				return Outcome{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
					Msg: "key " + strconv.Quote(p.IdempotencyKey) + " was already used for another customer"}
			}
			fp := string(o.fp)
			out := Outcome{Grants: append([]scrm.Grant(nil), t.grants[p.IdempotencyKey]...), HoldID: string(o.holdID),
				After: Balance{Points: o.points, Held: o.held, Debt: o.debt, Growth: o.growth, Tier: string(o.tier)}}
			first, count := o.first, o.count
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
		var first int64
		if len(out.Entries) > 0 {
			first = out.Entries[0].Seq
		}
		// Encoded in place, in room for the longest encoding.
		a := out.After
		c := t.room(10*binary.MaxVarintLen64 + len(p.Customer) + len(p.Fingerprint) + len(out.HoldID) + len(a.Tier))
		off := len(t.arena[c])
		b := appendString(t.arena[c], string(p.Customer))
		b = appendString(b, p.Fingerprint)
		b = appendString(b, out.HoldID)
		b = appendString(b, a.Tier)
		for _, v := range [...]int64{a.Points, a.Held, a.Debt, a.Growth, first} {
			b = binary.AppendVarint(b, v)
		}
		t.arena[c] = binary.AppendUvarint(b, uint64(len(out.Entries)))
		r := t.rec(key)
		r.chunk, r.off, r.pending = int32(c), int32(off), false
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
	// Look the order up; a new one is indexed on commit (acc.mu is held
	// throughout, so no other update can take its place meanwhile).
	newOrder, order := false, int32(-1)
	var otag uint32
	if p.OrderID != "" {
		otag = slotTag(maphash.String(t.seed, p.OrderID))
		if order = acc.findOrder(otag, p.OrderID); order >= 0 {
			tx.order = acc.order(order)
			tx.Order = &tx.order
		} else {
			newOrder = true
		}
	}
	fail := func(err error) (Outcome, error) {
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
	// Store.Update), so it keeps the account state and hold fn left there
	// without copying; the order is encoded into the journal (putOrder).
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
		acc.orders.insert(otag, acc.putOrder(tx.Order))
	case tx.Order != nil && order >= 0:
		acc.orders.replace(otag, order, acc.putOrder(tx.Order))
	case tx.Order != nil: // no OrderID in the params: keyed by ""
		otag = slotTag(maphash.String(t.seed, ""))
		if i := acc.findOrder(otag, ""); i >= 0 {
			acc.orders.replace(otag, i, acc.putOrder(tx.Order))
		} else {
			acc.orders.insert(otag, acc.putOrder(tx.Order))
		}
	}
	if tx.Hold != nil {
		t.holdsMu.Lock()
		t.holds[p.HoldID] = tx.Hold
		t.holdsMu.Unlock()
	}
	out := tx.Outcome
	acc.journal.add(out.Entries)
	s.reindex(t, acc, st)
	return out, nil
}

// reindex moves the account in the tenant's due and exp indexes; called
// with acc.mu held.
func (s *memoryStore) reindex(t *memTenant, acc *memAccount, st *AccountState) {
	due, exp := st.DueAt(), st.NextExpiry()
	dueAt, expAt := due.UnixNano(), exp.UnixNano()
	dueOK, expOK := !due.IsZero(), !exp.IsZero()
	// The nodes' keys are written with idxMu held; acc.mu, held here too,
	// keeps them from changing meanwhile, so they can be read first.
	d, e := &acc.dueNode, &acc.expNode
	if dueOK == d.ok && (!dueOK || dueAt == d.at) && expOK == e.ok && (!expOK || expAt == e.at) {
		return
	}
	t.idxMu.Lock()
	t.due.move(d, dueAt, dueOK)
	t.exp.move(e, expAt, expOK)
	t.idxMu.Unlock()
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
			i := a.findOrder(slotTag(maphash.String(t.seed, orderID)), orderID)
			var c OrderRecord
			if i >= 0 {
				c = a.order(i)
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
	return s.list(ctx, "member.MemoryStore.ListDue", p, func(t *memTenant) *skipIndex[memAccount] { return &t.due })
}

func (s *memoryStore) ListExpiring(ctx context.Context, p ListDueParams) (DuePage, error) {
	return s.list(ctx, "member.MemoryStore.ListExpiring", p, func(t *memTenant) *skipIndex[memAccount] { return &t.exp })
}

func (s *memoryStore) list(ctx context.Context, op string, p ListDueParams, idx func(*memTenant) *skipIndex[memAccount]) (DuePage, error) {
	if err := scrm.CheckContext(ctx, op); err != nil {
		return DuePage{}, err
	}
	t := s.tenant(p.Tenant, false)
	if t == nil {
		_, err := idxFrom(op, p.Cursor)
		return DuePage{}, err
	}
	t.idxMu.Lock()
	defer t.idxMu.Unlock()
	return idx(t).list(op, p)
}
