package referral

import (
	"context"
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// The memory store's signals, bindings and qualifications.

func (s *memoryStore) AddSignals(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, sig Signals) error {
	const op = "referral.MemoryStore.AddSignals"
	if err := checkTenantID(op, tenant, "Customer", string(customer)); err != nil {
		return err
	}
	mt, err := s.tenant(ctx, op, tenant, true)
	if err != nil {
		return err
	}
	defer mt.mu.Unlock()
	mt.addSignals(customer, sig)
	return nil
}

func (mt *memTenant) addSignals(c scrm.CustomerID, sig Signals) {
	if sig.Device == "" && sig.Phone == "" {
		return
	}
	mt.customer(c, true).addSignals(sig)
}

func (mc *memCustomer) addSignals(sig Signals) {
	mc.signals.Devices = remember(mc.signals.Devices, sig.Device)
	mc.signals.Phones = remember(mc.signals.Phones, sig.Phone)
}

// remember returns list (owned by the store, never handed out) with v as its
// most recent element, keeping at most MaxKnownSignals.
func remember(list []string, v string) []string {
	if v == "" {
		return list
	}
	if i := slices.Index(list, v); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	list = append(list, v)
	if len(list) > MaxKnownSignals {
		list = slices.Delete(list, 0, len(list)-MaxKnownSignals)
	}
	return list
}

func (s *memoryStore) GetSignals(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (KnownSignals, error) {
	const op = "referral.MemoryStore.GetSignals"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil || mt == nil {
		return KnownSignals{}, err
	}
	defer mt.mu.Unlock()
	mc := mt.cust(customer)
	if mc == nil {
		return KnownSignals{}, nil
	}
	return KnownSignals{Devices: slices.Clone(mc.signals.Devices), Phones: slices.Clone(mc.signals.Phones)}, nil
}

func (s *memoryStore) Bind(ctx context.Context, p BindParams) (Binding, error) {
	const op = "referral.MemoryStore.Bind"
	b := p.Binding.clone()
	if err := checkTenantID(op, b.Tenant, "Binding.Invitee", string(b.Invitee)); err != nil {
		return Binding{}, err
	}
	if (b.Inviter == "") == (b.Staff == "") {
		return Binding{}, scrm.Invalid(op, "Binding.Inviter", "exactly one of Inviter and Staff is required")
	}
	mt, err := s.tenant(ctx, op, b.Tenant, true)
	if err != nil {
		return Binding{}, err
	}
	defer mt.mu.Unlock()
	// Each customer and each device or IP is looked up once: the maps are
	// large, and a lookup is mostly a cache miss.
	var invitee *memCustomer
	invIdx, invSlot, found := mt.customers.find(string(b.Invitee))
	if found {
		invitee = mt.custSlab.at(invIdx)
	}
	if old := invitee.binding(); old != nil {
		return Binding{}, alreadyBound(op, *old)
	}
	var keySlot idSlot
	if b.IdempotencyKey != "" {
		_, sl, used := mt.bindKeys.find(b.IdempotencyKey)
		if used {
			return Binding{}, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "Binding.IdempotencyKey",
				Msg: "the key was used to bind another invitee"}
		}
		keySlot = sl
	}
	if b.Inviter == b.Invitee {
		return Binding{}, refuse(scrm.ErrForbidden, op, ReasonSelfReferral, "a customer cannot invite themselves")
	}
	var inviter *memCustomer // nil for a staff binding or a first-time inviter
	if b.Inviter != "" {
		inviter = mt.cust(b.Inviter)
	}
	for ub, n := inviter.binding(), 0; ub != nil && n < 1<<16; n++ {
		if ub.Inviter == b.Invitee {
			return Binding{}, refuse(scrm.ErrForbidden, op, ReasonCycle, "inviter "+string(b.Inviter)+" was invited, directly or not, by "+string(b.Invitee))
		}
		if ub.Inviter == "" {
			break
		}
		ub = mt.binding(ub.Inviter)
	}
	// The binding's device and IP, and their binding times.
	signal := [...]struct {
		by LimitBy
		v  string
		ts timeSet
		at timeAt
	}{{by: LimitByDevice, v: b.Signals.Device}, {by: LimitByIP, v: b.Signals.IP}}
	for i := range signal {
		if signal[i].v != "" {
			signal[i].ts, signal[i].at = mt.times[signal[i].by].find(signal[i].v)
		}
	}
	for _, l := range p.Limits {
		if l.Max <= 0 || l.Value == "" {
			continue
		}
		var ts timeSet
		switch l.By {
		case LimitByInviter:
			c := inviter
			if string(b.Inviter) != l.Value { // a limit on another inviter than the binding's
				c = mt.cust(scrm.CustomerID(l.Value))
			}
			if c != nil {
				ts.many = c.bindTimes
			}
		default:
			for _, sg := range signal {
				if sg.by == l.By && sg.v == l.Value {
					ts = sg.ts
				}
			}
			if ts.many == nil && !ts.hasOne {
				if x := mt.times[l.By]; x != nil { // a limit on another value than the binding's
					ts, _ = x.find(l.Value)
				}
			}
		}
		since := int64(math.MinInt64)
		if !l.Since.IsZero() {
			since = l.Since.UnixNano()
		}
		n := ts.countSince(since)
		if n < l.Max {
			continue
		}
		if !l.Review {
			return Binding{}, refuse(scrm.ErrForbidden, op, l.Reason, "more than "+itoa(l.Max)+" bindings by "+string(l.By))
		}
		b.Status = StatusReview
		if !slices.Contains(b.Flags, l.Reason) {
			b.Flags = append(b.Flags, l.Reason)
		}
	}
	if invitee == nil {
		invIdx = mt.custSlab.n                        // addCustomer's index
		invitee = mt.addCustomer(b.Invitee, &invSlot) // the first change to customers
	}
	invitee.bind, invitee.bound = b.clone(), true
	if b.IdempotencyKey != "" {
		mt.bindKeys.store(keySlot, invIdx) // the only change to bindKeys since find
	}
	if b.Inviter != "" {
		if inviter == nil {
			inviter = mt.addCustomer(b.Inviter, nil)
		}
		inviter.invitees = append(inviter.invitees, b.Invitee)
		inviter.bindTimes = insertTime(inviter.bindTimes, b.At)
	}
	mt.byProgram[b.Program] = append(mt.byProgram[b.Program], b.Invitee)
	for _, sg := range signal {
		if sg.v != "" {
			mt.times[sg.by].store(sg.at, sg.v, sg.ts.insert(b.At)) // the only change to that index
		}
	}
	invitee.addSignals(Signals{Device: b.Signals.Device, Phone: b.Signals.Phone})
	return b, nil
}

// insertTime inserts at into sorted times, kept as Unix nanoseconds so
// the garbage collector need not scan them (mostly an append: bindings
// mostly arrive in time order).
func insertTime(times []int64, at time.Time) []int64 {
	ns := at.UnixNano()
	i := sort.Search(len(times), func(i int) bool { return times[i] > ns })
	return slices.Insert(times, i, ns)
}

// timeSet is the sorted binding times (Unix ns) of one device or IP. Most
// have one binding, so one time is kept without a slice: with many nil, the
// set holds one if hasOne.
type timeSet struct {
	one    int64
	hasOne bool
	many   []int64
}

// timeIndex holds the binding times of each device (or IP): one timeRec
// per device ever seen, in a slab, found through an idIndex.
type timeIndex struct {
	ids  idIndex
	recs slab[timeRec]
}

func newTimeIndex(seed maphash.Seed) *timeIndex {
	x := &timeIndex{}
	x.ids = newIDIndex(seed, func(i int32) string { return x.recs.at(i).key })
	return x
}

// timeAt is where find found a device's times, or where to store them.
type timeAt struct {
	i     int32
	found bool
	sl    idSlot
}

// find returns the times of v (the empty set when none) and where they are.
func (x *timeIndex) find(v string) (timeSet, timeAt) {
	i, sl, ok := x.ids.find(v)
	if !ok {
		return timeSet{}, timeAt{sl: sl}
	}
	return x.recs.at(i).set(), timeAt{i: i, found: true}
}

// store stores ts, not empty, as the times of v, at where find told (no
// key deleted since).
func (x *timeIndex) store(at timeAt, v string, ts timeSet) {
	if at.found {
		*x.recs.at(at.i) = ts.rec(v)
		return
	}
	i, _, _ := x.recs.add(ts.rec(v))
	x.ids.store(at.sl, i)
}

// timeRec is a non-empty timeSet as the index keeps it, with its device or
// IP: 32 bytes rather than 56, as the indexes have an entry per device and
// per IP ever seen.
type timeRec struct {
	key  string
	one  int64    // the only time, when many is nil
	many *[]int64 // sorted; more than one
}

// set returns the timeSet of r.
func (r timeRec) set() timeSet {
	if r.many == nil {
		return timeSet{one: r.one, hasOne: true}
	}
	return timeSet{many: *r.many}
}

// rec returns the timeRec of ts, which must not be empty, for key.
func (ts timeSet) rec(key string) timeRec {
	if ts.many == nil {
		return timeRec{key: key, one: ts.one}
	}
	many := new([]int64) // not &ts.many, which would move every ts to the heap
	*many = ts.many
	return timeRec{key: key, many: many}
}

// insert returns ts with at added.
func (ts timeSet) insert(at time.Time) timeSet {
	switch {
	case !ts.hasOne && ts.many == nil:
		return timeSet{one: at.UnixNano(), hasOne: true}
	case ts.many == nil:
		return timeSet{many: insertTime([]int64{ts.one}, at)}
	}
	ts.many = insertTime(ts.many, at)
	return ts
}

// countSince returns how many times are at or after since (the zero
// timeSet holds none).
func (ts timeSet) countSince(since int64) int {
	if ts.many == nil {
		if ts.hasOne && ts.one >= since {
			return 1
		}
		return 0
	}
	return len(ts.many) - sort.Search(len(ts.many), func(i int) bool { return ts.many[i] >= since })
}

func (s *memoryStore) GetBinding(ctx context.Context, tenant scrm.TenantID, invitee scrm.CustomerID) (Binding, error) {
	const op = "referral.MemoryStore.GetBinding"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return Binding{}, err
	}
	if mt == nil {
		return Binding{}, notFound(op, "customer "+string(invitee)+" is not bound")
	}
	defer mt.mu.Unlock()
	b := mt.binding(invitee)
	if b == nil {
		return Binding{}, notFound(op, "customer "+string(invitee)+" is not bound")
	}
	return b.clone(), nil
}

func (s *memoryStore) Review(ctx context.Context, p ReviewParams) (ReviewResult, error) {
	const op = "referral.MemoryStore.Review"
	mt, err := s.tenant(ctx, op, p.Tenant, false)
	if err != nil {
		return ReviewResult{}, err
	}
	if mt == nil {
		return ReviewResult{}, notFound(op, "customer "+string(p.Invitee)+" is not bound")
	}
	defer mt.mu.Unlock()
	mc := mt.cust(p.Invitee)
	if mc == nil || mc.binding() == nil {
		return ReviewResult{}, notFound(op, "customer "+string(p.Invitee)+" is not bound")
	}
	b := mc.binding()
	if b.Status != StatusReview {
		return ReviewResult{}, notInReview(op, *b)
	}
	b.Status, b.ReviewedAt = StatusRejected, p.At
	if p.Approve {
		b.Status = StatusActive
	}
	res := ReviewResult{Binding: b.clone()}
	if q := mc.qual(b.Program); q != nil {
		q.Status = b.Status
		if p.Approve {
			mt.rank(q, p.MaxPerInviter)
		}
		qq := *q
		res.Qualification = &qq
	}
	return res, nil
}

// rank gives an active qualification its place among the inviter's.
func (mt *memTenant) rank(q *Qualification, maxPerInviter int) {
	if q.Inviter == "" {
		return
	}
	c := mt.customer(q.Inviter, true).count(q.Program)
	c.ranked++
	q.Rank = c.ranked
	q.Rewarded = maxPerInviter == 0 || q.Rank <= maxPerInviter
}

func (s *memoryStore) Qualify(ctx context.Context, p QualifyParams) (Qualification, bool, error) {
	const op = "referral.MemoryStore.Qualify"
	q := p.Qualification
	if err := checkTenantID(op, q.Tenant, "Qualification.Invitee", string(q.Invitee)); err != nil {
		return Qualification{}, false, err
	}
	mt, err := s.tenant(ctx, op, q.Tenant, false)
	if err != nil {
		return Qualification{}, false, err
	}
	if mt == nil {
		return Qualification{}, false, notFound(op, "customer "+string(q.Invitee)+" is not bound")
	}
	defer mt.mu.Unlock()
	mc := mt.cust(q.Invitee)
	if old := mc.qual(q.Program); old != nil {
		return *old, false, nil
	}
	if mc == nil || mc.binding() == nil || mc.binding().Program != q.Program {
		return Qualification{}, false, notFound(op, "customer "+string(q.Invitee)+" is not bound under program "+q.Program)
	}
	b := mc.binding()
	if b.Status == StatusRejected {
		return Qualification{}, false, refuse(scrm.ErrForbidden, op, ReasonRejected, "the binding of "+string(q.Invitee)+" was rejected")
	}
	q.Inviter, q.Staff, q.Status, q.Rank, q.Rewarded = b.Inviter, b.Staff, b.Status, 0, false
	if q.Status == StatusActive {
		mt.rank(&q, p.MaxPerInviter)
	}
	mc.quals = append(mc.quals, q)
	return q, true, nil
}

func (s *memoryStore) GetQualification(ctx context.Context, tenant scrm.TenantID, program string, invitee scrm.CustomerID) (Qualification, error) {
	const op = "referral.MemoryStore.GetQualification"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return Qualification{}, err
	}
	if mt == nil {
		return Qualification{}, notFound(op, string(invitee)+" has not qualified in "+program)
	}
	defer mt.mu.Unlock()
	q := mt.cust(invitee).qual(program)
	if q == nil {
		return Qualification{}, notFound(op, string(invitee)+" has not qualified in "+program)
	}
	return *q, nil
}
