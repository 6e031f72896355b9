package metrics

import (
	"context"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Collector accumulates one tenant's events and profiles, one at a time,
// and computes the reports from them. It keeps a compact record of every
// event (32 bytes, without its Props; 12 more for a paid order that names
// an "order_id") plus a small entry per customer, coupon and referral
// binding, so a million customers with a few million events fit in a few
// hundred megabytes and every report is one pass over them. It does not
// keep the events themselves.
//
// Events are facts identified by their ID: an event added twice (same
// customer, type, time, amount and ID) counts once. The ID is compared by
// a 32-bit hash, only among the customer's events of that type, instant
// and amount, where two different events are already all but impossible. Events may arrive in any
// order. The zero Collector is not usable; create one with NewCollector.
// A Collector is safe for concurrent use; it implements scrm.Handler, so a
// Dispatcher can feed it as events happen.
//
// Each customer's data comes either from events or from one profile
// (AddProfile), never both: mixing them would count the same orders twice.
type Collector struct {
	mu     sync.Mutex
	tenant scrm.TenantID
	loc    *time.Location
	names  EventNames
	seed   maphash.Seed // for event IDs and the 64-bit hash of customer IDs
	seed2  maphash.Seed // for the 32-bit hash of customer IDs
	minOK  int64        // unix seconds of 1899-12-31 and 2201-01-02 UTC: the years scrm.Event.Validate accepts, in any zone within a day of UTC
	maxOK  int64

	custIdx custTable
	custs   []customer

	typeIdx                                     map[string]uint16
	types                                       []string // by index; index 0 is unused
	tAdded, tPaid, tRefunded, tJoined, tReplied uint16
	tIssued, tRedeemed, tRestored, tExpired     uint16
	tBound, tReviewed, tQualified, tReversed    uint16

	attrs [4]dict // store, staff, channel_code, campaign: values of the customer.added Props
	// recs holds the records in customer, then time order as of the last
	// compaction; customer i's are recs[offs[i]:offs[i+1]]. Records added
	// since wait in pending, in blocks of blockSize, so that growing never
	// copies what is already stored.
	recs    []rec
	offs    []uint32
	pending [][]rec
	npend   int
	minT    int64 // earliest and latest event time seen
	maxT    int64

	coupons   couponTable
	referrals referralTable

	// orders ties the order.paid events that name an order_id to it, in
	// arrival order and blocks of blockSize, and refunders has bit i set
	// when customer i has an order.refunded naming one (its rec.aux holds
	// the order's key), so that Cohorts can match refunds to the orders
	// it counted. refunded caches c.groupRefundedOrders() until the next
	// order event naming an order_id.
	orders    [][]orderRef
	refunders []uint64
	refunded  *refundedOrders
}

// orderRef ties the record of a paid order (its customer and event ID
// hash, rec.hash) to the key of its order_id (orderKey).
type orderRef struct {
	cust, hash, key uint32
}

// rec is one event (or, from a profile, several of one type in one
// interval), in 32 bytes.
type rec struct {
	t    int64  // unix nanoseconds
	fen  int64  // Amount in fen
	cust uint32 // index into Collector.custs
	aux  uint32 // order.paid: the interned "store" Prop; order.refunded: the order_id's key, 0 for none
	hash uint32 // of the event ID, for deduplication; 0 for profile records
	typ  uint16 // index into Collector.types
	n    uint16 // events in this record: 1, or more from a profile
}

// customer holds no pointers, so the garbage collector never scans the
// million of them.
type customer struct {
	added int64     // unix nanoseconds of the first customer.added (when hasAdded)
	attr  [4]uint32 // its store, staff, channel_code and campaign, interned
	flags uint8
}

const (
	hasAdded    = 1 << iota // customer.added seen
	fromEvents              // data came from Add
	fromProfile             // data came from AddProfile
)

// dict interns strings: index 0 is "".
type dict struct {
	idx   map[string]uint32
	names []string
}

func (d *dict) intern(s string) uint32 {
	if s == "" {
		return 0
	}
	if i, ok := d.idx[s]; ok {
		return i
	}
	if d.idx == nil {
		d.idx = make(map[string]uint32)
		d.names = []string{""}
	}
	i := uint32(len(d.names))
	d.idx[s] = i
	d.names = append(d.names, s)
	return i
}

func (d *dict) name(i uint32) string {
	if i == 0 || int(i) >= len(d.names) {
		return ""
	}
	return d.names[i]
}

// NewCollector returns an empty Collector for one tenant. A nil opts means
// the defaults. The tenant's zone (months, weeks, days of the reports) is
// read once, here: after a merchant changes it, build a new Collector and
// add the tenant's events to it again.
func NewCollector(tenant scrm.TenantID, opts *Options) *Collector {
	var o Options
	if opts != nil {
		o = *opts
	}
	c := &Collector{
		tenant:  tenant,
		loc:     o.LocationOf(tenant),
		names:   o.Events.WithDefaults(),
		seed:    maphash.MakeSeed(),
		seed2:   maphash.MakeSeed(),
		minOK:   time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC).Unix(),
		maxOK:   time.Date(2201, 1, 2, 0, 0, 0, 0, time.UTC).Unix(),
		typeIdx: make(map[string]uint16),
		types:   []string{""},
	}
	n := c.names
	c.tAdded, c.tPaid, c.tRefunded = c.typeOf(n.CustomerAdded), c.typeOf(n.OrderPaid), c.typeOf(n.OrderRefunded)
	c.tJoined, c.tReplied = c.typeOf(n.GroupJoined), c.typeOf(n.MessageReplied)
	c.tIssued, c.tRedeemed = c.typeOf(n.CouponIssued), c.typeOf(n.CouponRedeemed)
	c.tRestored, c.tExpired = c.typeOf(n.CouponRestored), c.typeOf(n.CouponExpired)
	c.tBound, c.tReviewed = c.typeOf(n.ReferralBound), c.typeOf(n.ReferralReviewed)
	c.tQualified, c.tReversed = c.typeOf(n.ReferralQualified), c.typeOf(n.ReferralReversed)
	return c
}

// Tenant returns the tenant the Collector reports on.
func (c *Collector) Tenant() scrm.TenantID { return c.tenant }

// Location returns the time zone of the tenant's calendar.
func (c *Collector) Location() *time.Location { return c.loc }

// typeOf interns an event type. It returns 0 when the table of 65,535
// types is full (the event is then kept under no type and counts in no
// report).
func (c *Collector) typeOf(s string) uint16 {
	if i, ok := c.typeIdx[s]; ok {
		return i
	}
	if len(c.types) > 0xFFFF {
		return 0
	}
	i := uint16(len(c.types))
	c.typeIdx[s] = i
	c.types = append(c.types, s)
	return i
}

// lookupType returns the index of a known event type, or 0.
func (c *Collector) lookupType(s string) uint16 { return c.typeIdx[s] }

// customerOf returns the index of a customer, adding them when new. It
// fails with ErrConflict when the customer's data came from the other
// source, and with ErrExhausted past 2³¹ − 1 customers. See custTable for
// how customers are told apart.
func (c *Collector) customerOf(op string, id scrm.CustomerID, source uint8) (uint32, error) {
	s := c.custIdx.get(maphash.String(c.seed, string(id)), uint32(maphash.String(c.seed2, string(id))))
	var bit uint32
	if source == fromProfile {
		bit = fromProfileBit
	}
	if s.idx == 0 {
		if len(c.custs) >= fromProfileBit-1 {
			c.custIdx.n-- // leave the slot empty
			s.h1, s.h2 = 0, 0
			return 0, scrm.Errorf(scrm.ErrExhausted, op, "a Collector holds at most 2³¹ − 1 customers")
		}
		s.idx = uint32(len(c.custs)+1) | bit
		c.custs = append(c.custs, customer{flags: source})
		return s.idx&^fromProfileBit - 1, nil
	}
	if s.idx&fromProfileBit != bit {
		if source == fromProfile {
			return 0, scrm.Errorf(scrm.ErrConflict, op, "customer %q already has events in the collector", id)
		}
		return 0, scrm.Errorf(scrm.ErrConflict, op, "customer %q was added from a profile; its events are already counted", id)
	}
	return s.idx&^fromProfileBit - 1, nil
}

// Add folds one event in. Events of other tenants, and malformed ones (no
// ID, Customer or Type, a zero Time, one outside the years 1900–2200 in
// its own zone, as scrm.Event.Validate judges it, or in a zone more than
// a day from UTC, an Amount below the fen) are refused with an ErrInvalid
// error naming the field, and nothing is recorded. An event of a customer
// whose data came from AddProfile is refused with ErrConflict, and a new
// customer beyond 2³¹ − 1 with ErrExhausted. Adding an event again has no
// further effect.
//
// Add reads these Props: customer.added "store", "staff", "channel_code",
// "campaign" (the attribution of a customer is that of their earliest
// customer.added; of several at the same instant, the one whose store,
// staff, channel_code and campaign, compared in that order, sort last, so
// that the order of arrival does not matter and one naming a store or
// staff member beats one naming none); order.paid "store"; coupon events
// "coupon", "template", "order_id"; referral events "program", "inviter",
// "staff", "status", "entry"; order.paid and order.refunded "order_id", as
// scrm.Event.IDProp reads it (an order_id it cannot read, such as a
// fraction or a number beyond 2^53, names no order: the event counts, and
// a refund of it is subtracted in full, as one without order_id). An
// order.refunded Amount counts as its absolute value (a refund booked as
// a negative number is the same refund), as member and referral read it.
func (c *Collector) Add(e scrm.Event) error {
	const op = "metrics.Add"
	if e.Tenant != c.tenant {
		return scrm.Invalid(op, "Tenant", "event of tenant %q in the collector of tenant %q", e.Tenant, c.tenant)
	}
	if e.ID == "" {
		return scrm.Invalid(op, "ID", "required")
	}
	if e.Customer == "" {
		return scrm.Invalid(op, "Customer", "required")
	}
	if e.Type == "" {
		return scrm.Invalid(op, "Type", "required")
	}
	if e.Time.IsZero() {
		return scrm.Invalid(op, "Time", "required (zero time)")
	}
	// The year in the event's own zone, as scrm.Event.Validate judges it.
	if y := e.Time.Year(); y < 1900 || y > 2200 {
		return scrm.Invalid(op, "Time", "year %d outside 1900–2200", y)
	}
	if s := e.Time.Unix(); s < c.minOK || s >= c.maxOK {
		_, off := e.Time.Zone()
		return scrm.Invalid(op, "Time", "zone offset %ds is more than a day from UTC", off)
	}
	t := e.Time.UnixNano()
	fen, ok := scrm.ToFen(e.Amount)
	if !ok || fen == math.MinInt64 {
		return scrm.Invalid(op, "Amount", "at most 2 decimal places (fen), got %s", e.Amount)
	}
	h := uint32(maphash.String(c.seed, e.ID))
	if h == 0 {
		h = 1 // 0 marks profile records
	}
	var order uint32
	if e.Type == c.names.OrderPaid || e.Type == c.names.OrderRefunded {
		// An order_id IDProp cannot read (a fraction, a number beyond
		// 2^53, a bool) names no order: the order still counts, it only
		// cannot be matched with its refunds. A report that dropped the
		// revenue would be wronger than one that cannot match it.
		if id, err := e.IDProp(op, "order_id"); err == nil {
			order = c.orderKey(id)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ci, err := c.customerOf(op, e.Customer, fromEvents)
	if err != nil {
		return err
	}
	var typ uint16
	switch e.Type { // the common types without a map lookup
	case c.names.OrderPaid:
		typ = c.tPaid
	case c.names.CustomerAdded:
		typ = c.tAdded
	default:
		typ = c.typeOf(e.Type)
	}
	var aux uint32
	if order != 0 {
		c.refunded = nil
	}
	switch typ {
	case 0:
	case c.tAdded:
		c.added(ci, t, func(key string) string { return e.Prop(key) })
	case c.tPaid:
		aux = c.attrs[0].intern(e.Prop("store"))
		if order != 0 {
			k := len(c.orders) - 1
			switch {
			case k < 0: // the first block grows as needed, for small Collectors
				c.orders = [][]orderRef{nil}
				k = 0
			case len(c.orders[k]) == blockSize:
				c.orders = append(c.orders, make([]orderRef, 0, blockSize))
				k++
			}
			c.orders[k] = append(c.orders[k], orderRef{cust: ci, hash: h, key: order})
		}
	case c.tRefunded:
		// A refund booked as a negative number is the same refund.
		if fen < 0 {
			fen = -fen
		}
		if order != 0 {
			aux = order
			w := int(ci >> 6)
			for w >= len(c.refunders) {
				c.refunders = append(c.refunders, 0)
			}
			c.refunders[w] |= 1 << (ci & 63)
		}
	case c.tIssued, c.tRedeemed, c.tRestored, c.tExpired:
		c.couponEvent(typ, ci, t, fen, e)
	case c.tBound, c.tReviewed, c.tQualified, c.tReversed:
		c.referralEvent(typ, ci, t, fen, e)
	}
	c.record(rec{t: t, fen: fen, cust: ci, aux: aux, hash: h, typ: typ, n: 1})
	return nil
}

// Handle implements scrm.Handler: it Adds events of the Collector's tenant
// and ignores those of other tenants, so one Collector can sit on a
// Dispatcher shared by tenants. ctx is only checked for cancellation.
func (c *Collector) Handle(ctx context.Context, e scrm.Event) error {
	if err := scrm.CheckContext(ctx, "metrics.Handle"); err != nil {
		return err
	}
	if e.Tenant != c.tenant {
		return nil
	}
	return c.Add(e)
}

// AddEvents Adds events in order and stops at the first error, which names
// the event's index ("events[3].Time"). Events before it stay added.
func (c *Collector) AddEvents(events ...scrm.Event) error {
	for i, e := range events {
		if err := c.Add(e); err != nil {
			return prefixField(err, "events", i)
		}
	}
	return nil
}

// orderKey returns the 32-bit key of an order_id, 0 for none. Two orders
// of one customer share a key with a chance of about 2⁻³² per pair.
func (c *Collector) orderKey(id string) uint32 {
	if id == "" {
		return 0
	}
	k := uint32(maphash.String(c.seed, id))
	if k == 0 {
		k = 1
	}
	return k
}

// added records a customer.added at t with the Props prop reads, as Add
// documents: the earliest wins, and of several at one instant the one
// whose attribution sorts last.
func (c *Collector) added(ci uint32, t int64, prop func(string) string) {
	cu := &c.custs[ci]
	if cu.flags&hasAdded != 0 && (cu.added < t || cu.added == t && !c.attrAfter(cu, prop)) {
		return
	}
	cu.flags |= hasAdded
	cu.added = t
	for i, d := range [...]Dimension{ByStore, ByStaff, ByChannelCode, ByCampaign} {
		cu.attr[i] = c.attrs[i].intern(prop(string(d)))
	}
}

// attrAfter reports whether the attribution prop reads sorts after the
// customer's, comparing store, then staff, channel_code and campaign.
func (c *Collector) attrAfter(cu *customer, prop func(string) string) bool {
	for i, d := range [...]Dimension{ByStore, ByStaff, ByChannelCode, ByCampaign} {
		if k := cmpString(prop(string(d)), c.attrs[i].name(cu.attr[i])); k != 0 {
			return k > 0
		}
	}
	return false
}

// blockSize is the number of records in a block of Collector.pending
// (2 MiB).
const blockSize = 1 << 16

func (c *Collector) record(r rec) {
	if len(c.recs)+c.npend == 0 {
		c.minT, c.maxT = r.t, r.t
	} else {
		c.minT, c.maxT = min(c.minT, r.t), max(c.maxT, r.t)
	}
	k := len(c.pending) - 1
	if k < 0 || len(c.pending[k]) == blockSize {
		c.pending = append(c.pending, make([]rec, 0, blockSize))
		k++
	}
	c.pending[k] = append(c.pending[k], r)
	c.npend++
}

// empty reports whether no event has been recorded.
func (c *Collector) empty() bool { return len(c.recs)+c.npend == 0 }

// Customers returns how many customers the Collector has seen.
func (c *Collector) Customers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.custs)
}

// Span returns the times of the earliest and latest events seen, in the
// tenant's time zone; ok is false when there are none.
func (c *Collector) Span() (first, last time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.empty() {
		return time.Time{}, time.Time{}, false
	}
	return time.Unix(0, c.minT).In(c.loc), time.Unix(0, c.maxT).In(c.loc), true
}

// compact sorts the records by customer, then time (ties keep their
// arrival order), drops repeated events, and indexes each customer's run.
// It runs before a report when events arrived since the last one.
func (c *Collector) compact() {
	n := len(c.custs)
	if c.npend == 0 && len(c.offs) == n+1 {
		return
	}
	total := len(c.recs) + c.npend
	offs := make([]uint32, n+1)
	for i := range c.recs {
		offs[c.recs[i].cust+1]++
	}
	for _, b := range c.pending {
		for i := range b {
			offs[b[i].cust+1]++
		}
	}
	for i := 1; i <= n; i++ {
		offs[i] += offs[i-1]
	}
	out := make([]rec, total)
	next := make([]uint32, n)
	copy(next, offs[:n])
	for _, r := range c.recs {
		out[next[r.cust]] = r
		next[r.cust]++
	}
	c.recs = nil
	for i, b := range c.pending {
		for _, r := range b {
			out[next[r.cust]] = r
			next[r.cust]++
		}
		c.pending[i] = nil
	}
	c.pending, c.npend = c.pending[:0], 0
	// Sort and deduplicate each customer's run in place, compacting
	// towards the front.
	w := uint32(0)
	for i := 0; i < n; i++ {
		run := out[offs[i]:offs[i+1]]
		if !slices.IsSortedFunc(run, cmpTime) {
			slices.SortStableFunc(run, cmpTime)
		}
		start := w
		for j := range run {
			r := run[j]
			if r.hash != 0 && dupIn(out[start:w], r) {
				continue
			}
			out[w] = r
			w++
		}
		offs[i] = start
	}
	offs[n] = w
	c.recs = slices.Clip(out[:w])
	c.offs = offs
}

func cmpTime(a, b rec) int {
	switch {
	case a.t < b.t:
		return -1
	case a.t > b.t:
		return 1
	}
	return 0
}

// dupIn reports whether r repeats an event already kept: the same type,
// time and ID hash among the kept records of the same instant (the tail
// of kept).
func dupIn(kept []rec, r rec) bool {
	for k := len(kept) - 1; k >= 0 && kept[k].t == r.t; k-- {
		if kept[k].hash == r.hash && kept[k].typ == r.typ && kept[k].fen == r.fen {
			return true
		}
	}
	return false
}

// runOf returns customer i's records in time order; compact must have run.
func (c *Collector) runOf(i int) []rec {
	return c.recs[c.offs[i]:c.offs[i+1]]
}
