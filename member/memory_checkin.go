package member

import (
	"context"
	"encoding/binary"
	"sort"
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
)

// memCheckIns is the memory store's state of daily check-ins (签到): per
// tenant, the rule versions, the customers' states and records (each
// customer with its own lock) and the make-ups' idempotency keys.
type memCheckIns struct {
	mu      sync.RWMutex
	tenants map[scrm.TenantID]*ciTenant
	txs     sync.Pool // *ciTx
}

type ciTenant struct {
	mu        sync.RWMutex // rules and the customers map
	rules     []CheckInRule
	customers map[scrm.CustomerID]*ciCustomer
	keys      memKeyTable // the date each key recorded
}

type ciCustomer struct {
	mu      sync.Mutex
	state   CheckInState // Version 0 until first saved
	records []*CheckInRecord
	// last is the Date of the latest record, kept here so that the usual
	// check-in, of a new latest date, reads no record.
	last int32
}

// ciTx is a recycled transaction with room for the state's copy.
type ciTx struct {
	tx       CheckInTx
	state    CheckInState
	runs     [8]DayRun
	existing CheckInRecord
}

func (m *memCheckIns) tenant(t scrm.TenantID, create bool) *ciTenant {
	return lookup(&m.mu, &m.tenants, t, create, func() *ciTenant {
		return &ciTenant{customers: make(map[scrm.CustomerID]*ciCustomer)}
	})
}

func (t *ciTenant) customer(c scrm.CustomerID, create bool) *ciCustomer {
	return lookup(&t.mu, &t.customers, c, create, func() *ciCustomer { return &ciCustomer{} })
}

// find returns the index of the record of date, or where it would go and
// false.
func (c *ciCustomer) find(date int32) (int, bool) {
	n := len(c.records)
	if n > 0 && c.last < date {
		return n, false // the usual case: a new latest date
	}
	i := sort.Search(n, func(i int) bool { return c.records[i].Date >= date })
	return i, i < n && c.records[i].Date == date
}

func (s *memoryStore) PutCheckInRule(ctx context.Context, r CheckInRule) (CheckInRule, error) {
	const op = "member.MemoryStore.PutCheckInRule"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return CheckInRule{}, err
	}
	if err := scrm.CheckID(op, "Tenant", string(r.Tenant)); err != nil {
		return CheckInRule{}, err
	}
	c := r.Clone()
	t := s.checkins.tenant(r.Tenant, true)
	t.mu.Lock()
	defer t.mu.Unlock()
	c.Version = int64(len(t.rules)) + 1
	t.rules = append(t.rules, c)
	return c.Clone(), nil
}

func (s *memoryStore) CheckInRule(ctx context.Context, tenant scrm.TenantID, v int64) (CheckInRule, error) {
	const op = "member.MemoryStore.CheckInRule"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return CheckInRule{}, err
	}
	if t := s.checkins.tenant(tenant, false); t != nil {
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
	return CheckInRule{}, scrm.Errorf(scrm.ErrNotFound, op, "tenant %q has no check-in rule version %d", tenant, v)
}

func (s *memoryStore) CheckInRuleVersion(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	if err := scrm.CheckContext(ctx, "member.MemoryStore.CheckInRuleVersion"); err != nil {
		return 0, err
	}
	t := s.checkins.tenant(tenant, false)
	if t == nil {
		return 0, nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return int64(len(t.rules)), nil
}

func (s *memoryStore) UpdateCheckIn(ctx context.Context, p CheckInParams, fn func(tx *CheckInTx) error) (CheckInRecord, bool, error) {
	const op = "member.MemoryStore.UpdateCheckIn"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return CheckInRecord{}, false, err
	}
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return CheckInRecord{}, false, err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return CheckInRecord{}, false, err
	}
	t := s.checkins.tenant(p.Tenant, true)
	slot := int32(-1)
	if p.IdempotencyKey != "" {
		r, enc, replayed, err := t.keys.reserve(op, p.IdempotencyKey, p.Customer, p.Fingerprint)
		if err != nil {
			return CheckInRecord{}, false, err
		}
		if replayed {
			if len(enc) != 4 {
				return CheckInRecord{}, false, scrm.Errorf(scrm.ErrUnavailable, op, "malformed record of key %q", p.IdempotencyKey)
			}
			date := int32(binary.LittleEndian.Uint32(enc))
			c := t.customer(p.Customer, false)
			c.mu.Lock()
			defer c.mu.Unlock()
			i, ok := c.find(date)
			if !ok {
				return CheckInRecord{}, false, scrm.Errorf(scrm.ErrUnavailable, op, "the record of key %q is missing", p.IdempotencyKey)
			}
			return c.records[i].Clone(), true, nil
		}
		slot = r
	}
	c := t.customer(p.Customer, true)
	c.mu.Lock()
	rec, err := s.checkins.apply(ctx, op, c, p, fn)
	c.mu.Unlock()
	if slot >= 0 {
		t.keys.settle(p.IdempotencyKey, slot, p.Customer, p.Fingerprint, binary.LittleEndian.AppendUint32(nil, uint32(p.Date)), err == nil)
	}
	return rec, false, err
}

// apply runs fn on a copy of the customer's state and saves the result;
// called with c.mu held.
func (m *memCheckIns) apply(ctx context.Context, op string, c *ciCustomer, p CheckInParams, fn func(tx *CheckInTx) error) (CheckInRecord, error) {
	x, _ := m.txs.Get().(*ciTx)
	if x == nil {
		x = &ciTx{}
	}
	defer func() {
		*x = ciTx{}
		m.txs.Put(x)
	}()
	x.state = c.state
	x.state.Runs = append(x.runs[:0], c.state.Runs...)
	if c.state.Version == 0 {
		x.state.Tenant, x.state.Customer = p.Tenant, p.Customer
	}
	x.tx.State = &x.state
	i, exists := c.find(p.Date)
	if exists {
		x.existing = c.records[i].Clone()
		x.tx.Existing = &x.existing
	}
	tx := &x.tx
	if err := fn(tx); err != nil {
		return CheckInRecord{}, err
	}
	if err := scrm.CheckContext(ctx, op); err != nil {
		return CheckInRecord{}, err
	}
	switch {
	case tx.Record == nil:
		return CheckInRecord{}, scrm.Invalid(op, "Record", "required")
	case tx.Record.Date != p.Date:
		return CheckInRecord{}, scrm.Invalid(op, "Record.Date", "%d is not the date of the params (%d)", tx.Record.Date, p.Date)
	case exists:
		return CheckInRecord{}, scrm.Errorf(scrm.ErrConflict, op, "customer %q already checked in on %d", p.Customer, p.Date)
	}
	st := tx.State
	runs := append(c.state.Runs[:0], st.Runs...)
	c.state = *st
	c.state.Runs = runs
	c.state.Tenant, c.state.Customer = p.Tenant, p.Customer
	c.state.Version++
	rec := tx.Record
	c.records = append(c.records, nil)
	copy(c.records[i+1:], c.records[i:])
	c.records[i] = rec
	c.last = max(c.last, rec.Date)
	return rec.Clone(), nil
}

func (s *memoryStore) CheckInState(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (CheckInState, error) {
	const op = "member.MemoryStore.CheckInState"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return CheckInState{}, err
	}
	if t := s.checkins.tenant(tenant, false); t != nil {
		if c := t.customer(customer, false); c != nil {
			c.mu.Lock()
			st := c.state.Clone()
			c.mu.Unlock()
			if st.Version > 0 {
				return st, nil
			}
		}
	}
	return CheckInState{}, scrm.Errorf(scrm.ErrNotFound, op, "no check-ins of customer %q", customer)
}

func (s *memoryStore) CheckIns(ctx context.Context, p ListCheckInsParams) ([]CheckInRecord, error) {
	const op = "member.MemoryStore.CheckIns"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return nil, err
	}
	if p.To < p.From || dateNum(p.To)-dateNum(p.From) >= maxCheckInRange {
		return nil, scrm.Invalid(op, "To", "the range %d–%d is reversed or longer than %d days", p.From, p.To, maxCheckInRange)
	}
	t := s.checkins.tenant(p.Tenant, false)
	if t == nil {
		return nil, nil
	}
	c := t.customer(p.Customer, false)
	if c == nil {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i, _ := c.find(p.From)
	var out []CheckInRecord
	for ; i < len(c.records) && c.records[i].Date <= p.To; i++ {
		out = append(out, c.records[i].Clone())
	}
	return out, nil
}
