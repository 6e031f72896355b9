package member

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// memCheckIns is the memory store's state of daily check-ins (签到): per
// tenant, the rule versions, the customers' states and records (each
// customer with its own lock) and the make-ups' idempotency keys.
type memCheckIns struct {
	tenants tenantTable[ciTenant]
	txs     sync.Pool // *ciTx
}

type ciTenant struct {
	rules     versions[CheckInRule]
	customers customerTable[ciCustomer]
	keys      memKeyTable // the date each key recorded
	rewards   ciRewards
}

type ciCustomer struct {
	mu      sync.Mutex
	state   CheckInState // Version 0 until first saved
	records ciRecs
	// last is the Date of the latest record, kept here so that the usual
	// check-in, of a new latest date, reads no record.
	last int32
	// The records' time zones, and what the few records that need them
	// keep outside: their make-up keys and rewards the tenant did not
	// intern, by Date.
	zones zones
	keys  map[int32]string
	own   map[int32][]scrm.Reward
	// warmed keeps what warm read, so that the reads are made.
	warmed int64
}

// warm reads the runs and the latest record, the parts of the customer's
// check-ins that an update goes on to use, one right after the other
// before either is needed, so that their cache misses overlap (see
// memAccount.warm). Called with c.mu held.
func (c *ciCustomer) warm() {
	var w int64
	if len(c.state.Runs) > 0 {
		w = int64(c.state.Runs[len(c.state.Runs)-1].Last)
	}
	if n := len(c.records.chunks); n > 0 {
		if ch := c.records.chunks[n-1]; len(ch) > 0 {
			w += ch[len(ch)-1].sec
		}
	}
	c.warmed = w
}

// ciRec is a CheckInRecord as the memory store keeps it: without pointers,
// so that the records of millions of customers, one a day each, cost the
// garbage collector nothing to scan and an allocation nothing to save. At
// is kept as Unix seconds, nanoseconds and its zone (without a monotonic
// clock reading, as any database would keep it); Rewards as the number of
// the list in the tenant's interned lists (nearly every record repeats
// one step of the ladder).
type ciRec struct {
	sec              int64
	streak, cycleDay int64
	cost, rule       int64
	date, nsec, zone int32
	// rewards is the number of the list in ciTenant.rewards, or noRewards
	// (nil), or ownRewards (in ciCustomer.own).
	rewards int32
	makeUp  bool
	hasKey  bool
}

const (
	noRewards  = -1
	ownRewards = -2
)

// put encodes r; called with c.mu held.
func (c *ciCustomer) put(t *ciTenant, r *CheckInRecord) ciRec {
	x := ciRec{sec: r.At.Unix(), nsec: int32(r.At.Nanosecond()), zone: int32(c.zones.number(r.At.Location())),
		streak: int64(r.Streak), cycleDay: int64(r.CycleDay), cost: r.Cost, rule: r.Rule, date: r.Date,
		makeUp: r.MakeUp, hasKey: r.Key != ""}
	if x.hasKey {
		if c.keys == nil {
			c.keys = make(map[int32]string)
		}
		c.keys[r.Date] = r.Key
	}
	if x.rewards = t.rewards.number(r.Rewards); x.rewards == ownRewards {
		if c.own == nil {
			c.own = make(map[int32][]scrm.Reward)
		}
		c.own[r.Date] = slices.Clone(r.Rewards)
	}
	return x
}

// get decodes x as a new record; called with c.mu held.
func (c *ciCustomer) get(t *ciTenant, x *ciRec) CheckInRecord {
	r := CheckInRecord{Date: x.date, At: time.Unix(x.sec, int64(x.nsec)).In(c.zones.loc(int(x.zone))),
		Streak: int(x.streak), CycleDay: int(x.cycleDay), MakeUp: x.makeUp, Cost: x.cost, Rule: x.rule}
	if x.hasKey {
		r.Key = c.keys[x.date]
	}
	switch x.rewards {
	case noRewards:
	case ownRewards:
		r.Rewards = slices.Clone(c.own[x.date])
	default:
		r.Rewards = t.rewards.list(x.rewards)
	}
	return r
}

// ciRewards interns the reward lists of a tenant's check-in records: a
// ladder has a few steps, and every record of a step repeats its list.
// Lists are compared exactly (a Decimal by coefficient and exponent), so a
// record gets back the list it was saved with. Reads take no lock: the
// lists are replaced, never changed. A tenant whose records carry more
// than maxInterned distinct lists keeps the others with their customers.
type ciRewards struct {
	mu    sync.Mutex
	lists atomic.Pointer[[][]scrm.Reward]
}

const maxInterned = 256

// number returns the number of rs, interning it when new, or noRewards
// for nil, or ownRewards when the table is full.
func (x *ciRewards) number(rs []scrm.Reward) int32 {
	if rs == nil {
		return noRewards
	}
	find := func(lists *[][]scrm.Reward) int32 {
		if lists != nil {
			for i, l := range *lists {
				if sameRewards(l, rs) {
					return int32(i)
				}
			}
		}
		return -1
	}
	if i := find(x.lists.Load()); i >= 0 {
		return i
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	old := x.lists.Load()
	if i := find(old); i >= 0 {
		return i
	}
	var lists [][]scrm.Reward
	if old != nil {
		lists = *old
	}
	if len(lists) >= maxInterned {
		return ownRewards
	}
	lists = append(lists[:len(lists):len(lists)], slices.Clone(rs))
	x.lists.Store(&lists)
	return int32(len(lists) - 1)
}

// list returns a copy of the list numbered i.
func (x *ciRewards) list(i int32) []scrm.Reward {
	return slices.Clone((*x.lists.Load())[i])
}

// sameRewards tells whether a and b are the same list, exactly.
func sameRewards(a, b []scrm.Reward) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if *x == *y { // the usual case: both from the rule's ladder
			continue
		}
		if x.Kind != y.Kind || x.Points != y.Points || x.Template != y.Template || x.Count != y.Count || x.Note != y.Note ||
			x.Amount.Exponent() != y.Amount.Exponent() || x.Amount.Cmp(y.Amount) != 0 {
			return false
		}
	}
	return true
}

// ciTx is a recycled transaction with room for the state's copy.
type ciTx struct {
	tx       CheckInTx
	state    CheckInState
	runs     [8]DayRun
	existing CheckInRecord
}

func (m *memCheckIns) tenant(t scrm.TenantID, create bool) *ciTenant {
	return m.tenants.get(t, create, func() *ciTenant {
		return &ciTenant{}
	})
}

func (t *ciTenant) customer(c scrm.CustomerID, create bool) *ciCustomer {
	return t.customers.get(c, create, func() *ciCustomer { return &ciCustomer{} })
}

// find returns the place of the record of date, or where it would go and
// false.
func (c *ciCustomer) find(date int32) (ciPos, bool) {
	if c.last < date {
		return c.records.end(), false // the usual case: a new latest date
	}
	return c.records.search(date)
}

func (s *memoryStore) PutCheckInRule(ctx context.Context, r CheckInRule) (CheckInRule, error) {
	const op = "member.MemoryStore.PutCheckInRule"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return CheckInRule{}, err
	}
	if err := scrm.CheckID(op, "Tenant", string(r.Tenant)); err != nil {
		return CheckInRule{}, err
	}
	return s.checkins.tenant(r.Tenant, true).rules.put(r, func(r *CheckInRule, v int64) { r.Version = v }), nil
}

func (s *memoryStore) CheckInRule(ctx context.Context, tenant scrm.TenantID, v int64) (CheckInRule, error) {
	const op = "member.MemoryStore.CheckInRule"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return CheckInRule{}, err
	}
	if t := s.checkins.tenant(tenant, false); t != nil {
		if r, ok := t.rules.get(v); ok {
			return r, nil
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
	return t.rules.latest(), nil
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
			return c.get(t, c.records.at(i)), true, nil
		}
		slot = r
	}
	c := t.customer(p.Customer, true)
	c.mu.Lock()
	rec, err := s.checkins.apply(ctx, op, t, c, p, fn)
	c.mu.Unlock()
	if slot >= 0 {
		t.keys.settle(p.IdempotencyKey, slot, p.Customer, p.Fingerprint, binary.LittleEndian.AppendUint32(nil, uint32(p.Date)), err == nil)
	}
	return rec, false, err
}

// apply runs fn on a copy of the customer's state and saves the result;
// called with c.mu held.
func (m *memCheckIns) apply(ctx context.Context, op string, t *ciTenant, c *ciCustomer, p CheckInParams, fn func(tx *CheckInTx) error) (CheckInRecord, error) {
	x, _ := m.txs.Get().(*ciTx)
	if x == nil {
		x = &ciTx{}
	}
	defer func() {
		*x = ciTx{}
		m.txs.Put(x)
	}()
	c.warm()
	x.state = c.state
	x.state.Runs = append(x.runs[:0], c.state.Runs...)
	if c.state.Version == 0 {
		x.state.Tenant, x.state.Customer = p.Tenant, p.Customer
	}
	x.tx.State = &x.state
	i, exists := c.find(p.Date)
	if exists {
		x.existing = c.get(t, c.records.at(i))
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
	c.records.insert(i, c.put(t, rec))
	c.last = max(c.last, rec.Date)
	out := *rec
	out.At = out.At.Round(0) // as saved
	out.Rewards = slices.Clone(rec.Rewards)
	return out, nil
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
	for ok := c.records.valid(i); ok && c.records.at(i).date <= p.To; i, ok = c.records.next(i) {
		out = append(out, c.get(t, c.records.at(i)))
	}
	return out, nil
}
