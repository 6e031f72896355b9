package member

import (
	"context"
	"sort"
	"strconv"
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
)

// memStoredValues is the memory store's state of stored-value accounts (储值):
// per tenant, the top-up rule versions, the accounts (each with its own
// lock, payments and journal) and the idempotency keys.
type memStoredValues struct {
	mu      sync.RWMutex
	tenants map[scrm.TenantID]*svTenant
	txs     sync.Pool // *svTx
}

type svTenant struct {
	mu       sync.RWMutex // rules and the accounts map
	rules    []TopUpRule
	accounts map[scrm.CustomerID]*svAccount
	keys     memKeys[svKeyOut]
}

type svAccount struct {
	mu       sync.Mutex
	state    ValueAccount // Version 0 until first saved
	payments map[string]*ValuePayment
	journal  []ValueEntry
}

func (m *memStoredValues) tenant(t scrm.TenantID, create bool) *svTenant {
	m.mu.RLock()
	mt := m.tenants[t]
	m.mu.RUnlock()
	if mt != nil || !create {
		return mt
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tenants == nil {
		m.tenants = make(map[scrm.TenantID]*svTenant)
	}
	if mt = m.tenants[t]; mt == nil {
		mt = &svTenant{accounts: make(map[scrm.CustomerID]*svAccount)}
		m.tenants[t] = mt
	}
	return mt
}

func (t *svTenant) account(c scrm.CustomerID, create bool) *svAccount {
	t.mu.RLock()
	a := t.accounts[c]
	t.mu.RUnlock()
	if a != nil || !create {
		return a
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if a = t.accounts[c]; a == nil {
		a = &svAccount{}
		t.accounts[c] = a
	}
	return a
}

func (s *memoryStore) PutTopUpRule(ctx context.Context, r TopUpRule) (TopUpRule, error) {
	const op = "member.MemoryStore.PutTopUpRule"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return TopUpRule{}, err
	}
	if err := scrm.CheckID(op, "Tenant", string(r.Tenant)); err != nil {
		return TopUpRule{}, err
	}
	c := r.Clone()
	t := s.values.tenant(r.Tenant, true)
	t.mu.Lock()
	defer t.mu.Unlock()
	c.Version = int64(len(t.rules)) + 1
	t.rules = append(t.rules, c)
	return c.Clone(), nil
}

func (s *memoryStore) TopUpRule(ctx context.Context, tenant scrm.TenantID, v int64) (TopUpRule, error) {
	const op = "member.MemoryStore.TopUpRule"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return TopUpRule{}, err
	}
	if t := s.values.tenant(tenant, false); t != nil {
		t.mu.RLock()
		defer t.mu.RUnlock()
		n := int64(len(t.rules))
		if v == 0 {
			v = n
		}
		if v >= 1 && v <= n {
			return t.rules[v-1].Clone(), nil
		}
	}
	return TopUpRule{}, scrm.Errorf(scrm.ErrNotFound, op, "tenant %q has no top-up rule version %d", tenant, v)
}

func (s *memoryStore) UpdateStoredValue(ctx context.Context, p ValueParams, fn func(tx *ValueTx) error) (ValueOutcome, bool, error) {
	const op = "member.MemoryStore.UpdateStoredValue"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ValueOutcome{}, false, err
	}
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return ValueOutcome{}, false, err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return ValueOutcome{}, false, err
	}
	t := s.values.tenant(p.Tenant, true)
	var rec *memKey[svKeyOut]
	if p.IdempotencyKey != "" {
		r, ko, replayed, err := t.keys.reserve(op, p.IdempotencyKey, p.Customer, p.Fingerprint)
		if err != nil {
			return ValueOutcome{}, false, err
		}
		if replayed {
			out := ValueOutcome{Principal: ko.principal, Bonus: ko.bonus, Grants: append([]scrm.Grant(nil), ko.grants...)}
			if ko.count > 0 {
				acc := t.account(p.Customer, false)
				acc.mu.Lock()
				out.Entries = append([]ValueEntry(nil), acc.journal[ko.first-1:ko.first-1+int64(ko.count)]...)
				acc.mu.Unlock()
			}
			return out, true, nil
		}
		rec = r
	}
	acc := t.account(p.Customer, true)
	acc.mu.Lock()
	out, err := s.values.apply(ctx, op, acc, p, fn)
	acc.mu.Unlock()
	if rec != nil {
		var ko svKeyOut
		if err == nil {
			ko = svKeyOut{principal: out.Principal, bonus: out.Bonus, count: int32(len(out.Entries))}
			if ko.count > 0 {
				ko.first = out.Entries[0].Seq
			}
			if len(out.Grants) > 0 {
				ko.grants = append([]scrm.Grant(nil), out.Grants...)
			}
		}
		t.keys.settle(p.IdempotencyKey, rec, ko, err == nil)
	}
	if err != nil {
		return ValueOutcome{}, false, err
	}
	return out, false, nil
}

// svKeyOut is what a stored-value idempotency record keeps of its outcome:
// the entries are read back from the journal (first, count) on a replay
// rather than kept twice.
type svKeyOut struct {
	first            int64
	count            int32
	principal, bonus int64
	grants           []scrm.Grant
}

// svTx is a recycled transaction with room for the account copy.
type svTx struct {
	tx  ValueTx
	acc ValueAccount
}

// apply runs fn on copies of the account's records and saves the result;
// called with a.mu held. The store owns tx once fn returns, so it keeps the
// payment fn left there, and hands the outcome to the caller as it is (the
// journal keeps copies of its entries).
func (m *memStoredValues) apply(ctx context.Context, op string, a *svAccount, p ValueParams, fn func(tx *ValueTx) error) (ValueOutcome, error) {
	x, _ := m.txs.Get().(*svTx)
	if x == nil {
		x = &svTx{}
	}
	defer func() {
		*x = svTx{}
		m.txs.Put(x)
	}()
	x.acc = a.state
	x.tx.Account = &x.acc
	if a.state.Version == 0 {
		x.acc.Tenant, x.acc.Customer = p.Tenant, p.Customer
	}
	if p.OrderID != "" {
		if pay := a.payments[p.OrderID]; pay != nil {
			c := *pay
			x.tx.Payment = &c
		}
	}
	tx := &x.tx
	if err := fn(tx); err != nil {
		return ValueOutcome{}, err
	}
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ValueOutcome{}, err
	}
	st := tx.Account
	if st.Principal < 0 || st.Bonus < 0 {
		return ValueOutcome{}, scrm.Invalid(op, "Account", "balances may not be negative (principal %d, bonus %d fen)", st.Principal, st.Bonus)
	}
	if tx.Payment != nil && tx.Payment.OrderID != p.OrderID {
		return ValueOutcome{}, scrm.Invalid(op, "Payment.OrderID", "%q is not the order named by the params (%q)", tx.Payment.OrderID, p.OrderID)
	}
	for i := range tx.Outcome.Entries {
		if tx.Outcome.Entries[i].Seq != a.state.Seq+int64(i)+1 {
			return ValueOutcome{}, scrm.Invalid(op, "Outcome.Entries", "entries must continue the journal's Seq")
		}
	}
	st.Tenant, st.Customer = p.Tenant, p.Customer
	st.Version = a.state.Version + 1
	a.state = *st
	if tx.Payment != nil {
		if a.payments == nil {
			a.payments = make(map[string]*ValuePayment)
		}
		a.payments[p.OrderID] = tx.Payment
	}
	a.journal = append(a.journal, tx.Outcome.Entries...)
	return tx.Outcome, nil
}

func (s *memoryStore) ValueAccount(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (ValueAccount, error) {
	const op = "member.MemoryStore.ValueAccount"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ValueAccount{}, err
	}
	if t := s.values.tenant(tenant, false); t != nil {
		if a := t.account(customer, false); a != nil {
			a.mu.Lock()
			st := a.state
			a.mu.Unlock()
			if st.Version > 0 {
				return st, nil
			}
		}
	}
	return ValueAccount{}, scrm.Errorf(scrm.ErrNotFound, op, "no stored-value account for customer %q", customer)
}

func (s *memoryStore) ValuePayment(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, orderID string) (ValuePayment, error) {
	const op = "member.MemoryStore.ValuePayment"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ValuePayment{}, err
	}
	if t := s.values.tenant(tenant, false); t != nil {
		if a := t.account(customer, false); a != nil {
			a.mu.Lock()
			pay := a.payments[orderID]
			var c ValuePayment
			if pay != nil {
				c = *pay
			}
			a.mu.Unlock()
			if pay != nil {
				return c, nil
			}
		}
	}
	return ValuePayment{}, scrm.Errorf(scrm.ErrNotFound, op, "customer %q has no stored-value payment for order %q", customer, orderID)
}

func (s *memoryStore) ValueEntries(ctx context.Context, p ListEntriesParams) (ValueEntryPage, error) {
	const op = "member.MemoryStore.ValueEntries"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ValueEntryPage{}, err
	}
	t := s.values.tenant(p.Tenant, false)
	if t == nil {
		return ValueEntryPage{}, nil
	}
	a := t.account(p.Customer, false)
	if a == nil {
		return ValueEntryPage{}, nil
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	a.mu.Lock()
	defer a.mu.Unlock()
	// Seq numbers the journal from 1 without gaps.
	i := sort.Search(len(a.journal), func(i int) bool { return a.journal[i].Seq > p.After })
	end := min(i+limit, len(a.journal))
	var page ValueEntryPage
	if i < end {
		page.Entries = append([]ValueEntry(nil), a.journal[i:end]...)
	}
	if end < len(a.journal) {
		page.Next = a.journal[end-1].Seq
	}
	return page, nil
}

// memKeys is a tenant's table of idempotency keys for one of the memory
// store's ledgers (stored value, check-in make-ups, plans): each key maps to
// the customer and fingerprint it was first used with and the outcome it
// produced. A key is reserved (pending) while its update runs, so that
// concurrent requests with one key run one at a time. The zero value is
// ready to use.
type memKeys[T any] struct {
	mu   sync.Mutex
	cond *sync.Cond // signalled when a pending key is settled
	keys map[string]*memKey[T]
}

type memKey[T any] struct {
	customer scrm.CustomerID
	fp       string
	pending  bool
	out      T
}

// reserve looks key up. A recorded key answers at once: its outcome when
// the customer and fingerprint match (replayed true), ErrConflict when not.
// A pending key is waited for. A new key is reserved and its record
// returned, to be settled by the caller.
func (k *memKeys[T]) reserve(op, key string, customer scrm.CustomerID, fp string) (rec *memKey[T], out T, replayed bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for {
		r := k.keys[key]
		if r == nil {
			break
		}
		if r.pending {
			if k.cond == nil {
				k.cond = sync.NewCond(&k.mu)
			}
			k.cond.Wait()
			continue
		}
		if r.customer != customer {
			return nil, out, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
				Msg: "key " + strconv.Quote(key) + " was already used for another customer"}
		}
		if err := scrm.CheckReplay(op, key, r.fp, fp); err != nil {
			return nil, out, false, err
		}
		return nil, r.out, true, nil
	}
	if k.keys == nil {
		k.keys = make(map[string]*memKey[T])
	}
	rec = &memKey[T]{customer: customer, fp: fp, pending: true}
	k.keys[key] = rec
	return rec, out, false, nil
}

// settle records the outcome of a reserved key, or frees the key when its
// update failed, and wakes the requests waiting for it.
func (k *memKeys[T]) settle(key string, rec *memKey[T], out T, ok bool) {
	k.mu.Lock()
	if ok {
		rec.out, rec.pending = out, false
	} else {
		delete(k.keys, key)
	}
	if k.cond != nil {
		k.cond.Broadcast()
	}
	k.mu.Unlock()
}
