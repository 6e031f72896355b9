package member

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"sync"

	"github.com/scrmkit/scrmkit/internal/slots"
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
	// Recycled transactions, each with a spare account state: an update
	// copies the stored state into the spare and, once saved, keeps the
	// state it replaced as the next spare, so a steady stream of updates
	// allocates neither.
	txs sync.Pool

	// The state of check-in, stored value, paid plans and the points
	// mall, each kept by its own file.
	checkins memCheckIns
	values   memStoredValues
	plans    memPlans
	mall     memMall
}

type memTenant struct {
	programs versions[Program]
	accounts customerTable[memAccount]

	holdsMu sync.RWMutex
	holds   map[string]*HoldRecord

	// keys records each idempotency key's customer, fingerprint and
	// outcome: the hold ID and tier, the balances, and where its Entries
	// are in the journal (a replay reads them back rather than the store
	// keeping every entry twice), encoded by settleKey. Its Grants, rarely
	// any, are in grants.
	keys     memKeyTable
	grantsMu sync.Mutex
	grants   map[string][]scrm.Grant
	seed     maphash.Seed // of the accounts' order indexes

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
	orders  slots.Index
	journal journal
	// The account's nodes in the tenant's due and exp indexes, guarded by
	// the tenant's idxMu.
	dueNode, expNode skipNode[memAccount]
	// warmed keeps what warm read, so that the reads are made.
	warmed uint64
}

// warm reads the first place of each part of the account an update goes on
// to use (its state and lots, the slot of the order tag, the journal's
// tail) one right after the other, before any of them is needed: an
// account not used for a while is out of the CPU's caches, and its misses
// then overlap instead of following one another as the update reaches
// each part. Called with a.mu held.
func (a *memAccount) warm(otag uint32, order bool) {
	var w uint64
	if st := a.state; st != nil {
		w = uint64(st.Seq)
		if len(st.Lots) > 0 {
			w += uint64(st.Lots[0].Remaining)
		}
	}
	if order {
		w += a.orders.Peek(otag)
	}
	if n := len(a.journal.segs); n > 0 {
		if b := a.journal.segs[n-1].b; len(b) > 0 {
			w += uint64(b[len(b)-1])
		}
	}
	a.warmed = w
}

// ledgerOutcome is the outcome a settled key recorded, decoded.
type ledgerOutcome struct {
	holdID, tier                      string
	points, held, debt, growth, first int64
	pos                               int32 // of the first entry in the journal
	count                             int
}

// encodeOutcome appends what a key records of out (beside its customer and
// fingerprint) to b; pos is where its entries are in the journal.
func encodeOutcome(b []byte, out *Outcome, pos int32) []byte {
	var first int64
	if len(out.Entries) > 0 {
		first = out.Entries[0].Seq
	}
	a := &out.After
	b = appendString(b, out.HoldID)
	b = appendString(b, a.Tier)
	for _, v := range [...]int64{a.Points, a.Held, a.Debt, a.Growth, first, int64(pos)} {
		b = binary.AppendVarint(b, v)
	}
	return binary.AppendUvarint(b, uint64(len(out.Entries)))
}

// decodeOutcome reads what encodeOutcome wrote.
func decodeOutcome(b []byte) ledgerOutcome {
	d := jReader{b: b}
	var o ledgerOutcome
	o.holdID = d.string()
	o.tier = d.string()
	o.points = d.varint()
	o.held = d.varint()
	o.debt = d.varint()
	o.growth = d.varint()
	o.first = d.varint()
	o.pos = int32(d.varint())
	o.count = int(d.uvarint())
	return o
}

var _ Store = (*memoryStore)(nil)

func (s *memoryStore) tenant(t scrm.TenantID, create bool) *memTenant {
	return s.tenants.get(t, create, func() *memTenant {
		mt := &memTenant{
			holds: make(map[string]*HoldRecord),
			seed:  maphash.MakeSeed(),
			due:   newSkipIndex[memAccount](),
			exp:   newSkipIndex[memAccount](),
		}
		return mt
	})
}

func (t *memTenant) account(c scrm.CustomerID, create bool) *memAccount {
	return t.accounts.get(c, create, func() *memAccount {
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
	return s.tenant(p.Tenant, true).programs.put(p, func(p *Program, v int64) { p.Version = v }), nil
}

func (s *memoryStore) Program(ctx context.Context, tenant scrm.TenantID, v int64) (Program, error) {
	const op = "member.MemoryStore.Program"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Program{}, err
	}
	if t := s.tenant(tenant, false); t != nil {
		if p, ok := t.programs.get(v); ok {
			return p, nil
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
	return t.programs.latest(), nil
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
	key := int32(-1)
	if p.IdempotencyKey != "" {
		slot, enc, replayed, err := t.keys.reserve(op, p.IdempotencyKey, p.Customer, p.Fingerprint)
		if err != nil {
			return Outcome{}, false, err
		}
		if replayed {
			o := decodeOutcome(enc)
			out := Outcome{HoldID: o.holdID, After: Balance{Points: o.points, Held: o.held, Debt: o.debt, Growth: o.growth, Tier: o.tier}}
			t.grantsMu.Lock()
			out.Grants = append([]scrm.Grant(nil), t.grants[p.IdempotencyKey]...)
			t.grantsMu.Unlock()
			if o.count > 0 {
				acc := t.account(p.Customer, false)
				acc.mu.Lock()
				out.Entries = acc.journal.copyAt(o.pos, o.first, o.count)
				acc.mu.Unlock()
			}
			return out, true, nil
		}
		key = slot
	}
	acc := t.account(p.Customer, true)
	acc.mu.Lock()
	out, pos, err := s.apply(ctx, t, acc, p, fn)
	acc.mu.Unlock()
	if key >= 0 {
		t.settleKey(key, p, &out, pos, err)
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
// the update failed, and wakes the updates waiting for it. Grants are
// stored first, so that a replay woken by the key finds them.
func (t *memTenant) settleKey(key int32, p UpdateParams, out *Outcome, pos int32, err error) {
	if err == nil && len(out.Grants) > 0 {
		t.grantsMu.Lock()
		if t.grants == nil {
			t.grants = make(map[string][]scrm.Grant)
		}
		t.grants[p.IdempotencyKey] = append([]scrm.Grant(nil), out.Grants...)
		t.grantsMu.Unlock()
	}
	var buf [96]byte
	var enc []byte
	if err == nil {
		enc = encodeOutcome(buf[:0], out, pos)
	}
	t.keys.settle(p.IdempotencyKey, key, p.Customer, p.Fingerprint, enc, err == nil)
}

// apply runs fn on copies of the account's records and saves the result,
// and returns where its entries are in the journal; called with acc.mu
// held.
func (s *memoryStore) apply(ctx context.Context, t *memTenant, acc *memAccount, p UpdateParams, fn func(tx *LedgerTx) error) (Outcome, int32, error) {
	const op = "member.MemoryStore.Update"
	tx, _ := s.txs.Get().(*LedgerTx)
	if tx == nil {
		tx = &LedgerTx{}
	}
	defer func() {
		*tx = LedgerTx{spare: tx.spare}
		s.txs.Put(tx)
	}()
	var otag uint32
	if p.OrderID != "" {
		otag = slots.Tag(maphash.String(t.seed, p.OrderID))
	}
	acc.warm(otag, p.OrderID != "")
	st := tx.spare
	tx.spare = nil
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
	if p.OrderID != "" {
		if order = acc.findOrder(otag, p.OrderID); order >= 0 {
			tx.order = acc.order(order)
			tx.Order = &tx.order
		} else {
			newOrder = true
		}
	}
	fail := func(err error) (Outcome, int32, error) {
		tx.spare = st
		return Outcome{}, -1, err
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
		tx.spare = st
		st = tx.Account // fn replaced the account; keep what it left
	}

	// Commit: nothing below fails. The store owns tx now (see
	// Store.Update), so it keeps the account state and hold fn left there
	// without copying; the order is encoded into the journal (putOrder).
	st.Tenant, st.Customer = p.Tenant, p.Customer
	if old := acc.state; old != nil {
		st.Version = old.Version + 1
		old.reset()
		tx.spare = old
	} else {
		st.Version = 1
	}
	acc.state = st
	switch {
	case tx.Order != nil && newOrder:
		acc.orders.Insert(otag, acc.putOrder(tx.Order))
	case tx.Order != nil && order >= 0:
		acc.orders.Replace(otag, order, acc.putOrder(tx.Order))
	case tx.Order != nil: // no OrderID in the params: keyed by ""
		otag = slots.Tag(maphash.String(t.seed, ""))
		if i := acc.findOrder(otag, ""); i >= 0 {
			acc.orders.Replace(otag, i, acc.putOrder(tx.Order))
		} else {
			acc.orders.Insert(otag, acc.putOrder(tx.Order))
		}
	}
	if tx.Hold != nil {
		t.holdsMu.Lock()
		t.holds[p.HoldID] = tx.Hold
		t.holdsMu.Unlock()
	}
	out := tx.Outcome
	pos := acc.journal.add(out.Entries)
	s.reindex(t, acc, st)
	return out, pos, nil
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
			i := a.findOrder(slots.Tag(maphash.String(t.seed, orderID)), orderID)
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
