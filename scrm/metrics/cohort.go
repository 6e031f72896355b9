package metrics

import (
	"cmp"
	"math/bits"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// CohortBy chooses the event that puts a customer into a cohort.
type CohortBy string

// The cohort definitions.
const (
	// FirstPurchase groups customers by the month of their first paid
	// order (order.paid). Customers who never paid are in no cohort.
	FirstPurchase CohortBy = "first_purchase"
	// FirstJoin groups customers by the month of their first
	// customer.added. Customers never added are in no cohort.
	FirstJoin CohortBy = "first_join"
)

// MaxCohortMonths bounds CohortOptions.Months.
const MaxCohortMonths = 120

// CohortOptions select and shape a retention table.
type CohortOptions struct {
	// By is the cohort event; default FirstPurchase.
	By CohortBy
	// From and To select the customers whose cohort event falls in
	// [From, To); a zero end is open. Pass month starts for whole months.
	From, To time.Time
	// Months is the number of columns, month offsets 0 to Months−1 after
	// the cohort month; default 12, at most MaxCohortMonths.
	Months int
	// Activity lists the event types that make a customer active in a
	// month; default the paid order alone.
	Activity []string
	// AsOf is the last instant observed: events after it are ignored, and
	// columns for months after AsOf's month are left out (not reported as
	// zero). Default: the latest event added.
	AsOf time.Time
}

// CohortRow is one cohort: the customers whose cohort event fell in one
// calendar month.
type CohortRow struct {
	Cohort time.Time // first instant of the cohort month, in the tenant's zone
	Label  string    // the cohort month, "2006-01"
	Size   int       // customers in the cohort
	// Active[k] is how many of them were active (had an Activity event) in
	// calendar month k after the cohort month; k = 0 is the cohort month
	// itself, so with FirstPurchase Active[0] = Size. len(Active) is
	// Months, or fewer for a cohort too recent to have them all by AsOf.
	Active []int
	// Revenue[k] is the net revenue of the cohort's customers in month k:
	// the Amounts of their order.paid events minus those of their
	// order.refunded events. Orders before the cohort month are not
	// counted, and neither are their refunds: a refund that names an
	// "order_id" takes back, in its month, at most what the order.paid
	// events with that order_id added to the row, less the earlier
	// refunds of the order, and nothing for an order the row did not
	// count (paid before the cohort month, after the row's last column,
	// or not seen at all). A refund without an order_id, such as every
	// refund rebuilt from a profile, is subtracted in full: nothing tells
	// which order it undoes.
	Revenue []decimal.Decimal
}

// Retention returns Active[k] ÷ Size, the share of the cohort active in
// month k, as a float64 ratio of the two integer counts (exact counts are
// in the row); 0 for an empty cohort or a month not reported.
func (r CohortRow) Retention(k int) float64 {
	if k < 0 || k >= len(r.Active) {
		return 0
	}
	return ratio(int64(r.Active[k]), int64(r.Size))
}

// CohortTable is a retention table: rows of cohorts in month order,
// columns of month offsets. Only cohorts with at least one customer have a
// row.
type CohortTable struct {
	By     CohortBy
	Months int
	AsOf   time.Time // the last instant observed, in the tenant's zone
	Rows   []CohortRow
}

// Average returns, for each month offset k, the retention of all cohorts
// that have month k weighted by size: Σ Active[k] ÷ Σ Size over those
// cohorts.
func (t CohortTable) Average() []float64 {
	out := make([]float64, t.Months)
	for k := range out {
		var act, size int64
		for _, r := range t.Rows {
			if k < len(r.Active) {
				act += int64(r.Active[k])
				size += int64(r.Size)
			}
		}
		out[k] = ratio(act, size)
	}
	return out
}

// Cohorts builds the retention table: customers grouped by the calendar
// month (tenant zone) of their first purchase or first join, and for each
// following month k the number active in it.
//
//	retention(cohort, k) = |{customers of the cohort with an Activity event in month cohort+k}| ÷ |cohort|
//
// Errors: ErrInvalid naming the field for an unknown By, Months outside
// 0–MaxCohortMonths, an empty Activity entry, or To not after From.
func (c *Collector) Cohorts(o CohortOptions) (CohortTable, error) {
	const op = "metrics.Cohorts"
	if o.By == "" {
		o.By = FirstPurchase
	}
	if o.By != FirstPurchase && o.By != FirstJoin {
		return CohortTable{}, scrm.Invalid(op, "By", "unknown cohort event %q", o.By)
	}
	if o.Months < 0 || o.Months > MaxCohortMonths {
		return CohortTable{}, scrm.Invalid(op, "Months", "must be in 0–%d, got %d", MaxCohortMonths, o.Months)
	}
	if o.Months == 0 {
		o.Months = 12
	}
	for i, a := range o.Activity {
		if a == "" {
			return CohortTable{}, scrm.Invalid(op, "Activity["+itoa(i)+"]", "empty event type")
		}
	}
	if err := checkWindow(op, o.From, o.To); err != nil {
		return CohortTable{}, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.compact()
	out := CohortTable{By: o.By, Months: o.Months}
	if c.empty() {
		return out, nil
	}
	asOf := c.maxT
	out.AsOf = time.Unix(0, asOf).In(c.loc)
	if !o.AsOf.IsZero() {
		asOf = nanosOf(o.AsOf)
		out.AsOf = o.AsOf.In(c.loc)
	}
	if asOf < c.minT {
		return out, nil
	}
	// Past the end of the last column of the latest cohort a later AsOf
	// changes nothing, so the calendar stops there even for an open end
	// such as 9999-12-31 (which nanosOf clamps to math.MaxInt64).
	last0 := periodStart(Month, time.Unix(0, c.maxT), c.loc)
	horizon := scrm.DayStart(last0.Year(), last0.Month()+time.Month(o.Months), 1, c.loc)
	asOf = min(asOf, nanosOf(horizon)-1)
	active := make([]bool, len(c.types))
	if len(o.Activity) == 0 {
		active[c.tPaid] = true
	}
	for _, a := range o.Activity {
		active[c.lookupType(a)] = true
	}
	active[0] = false

	cal := newCalendar(Month, c.loc, c.minT, asOf)
	last := cal.index(asOf)
	if last < 0 { // asOf past the calendar's end (year 2262): never for the events Add and AddProfile accept
		last = cal.len() - 1
	}
	nm := cal.len()
	size := make([]int, nm)
	act := make([]int, nm*o.Months)
	rev := make([]int64, nm*o.Months)
	win := windowOf(o.From, o.To)
	var mask []uint64
	words := (o.Months + 63) / 64
	mask = make([]uint64, words)
	refunded := c.refundedOrders()
	var counted []orderFen

	for i := range c.custs {
		run := c.runOf(i)
		var t0 int64
		found := false
		if o.By == FirstJoin {
			cu := &c.custs[i]
			t0, found = cu.added, cu.flags&hasAdded != 0
		} else {
			for _, r := range run {
				if r.typ == c.tPaid {
					t0, found = r.t, true
					break
				}
			}
		}
		if !found || !win.has(t0) || t0 > asOf {
			continue
		}
		m0 := cal.index(t0)
		if m0 < 0 { // past the calendar's end, as above
			continue
		}
		size[m0]++
		clear(mask)
		row := m0 * o.Months
		lim := min(o.Months, last-m0+1)
		start := cal.starts[m0]
		counted = counted[:0]
		if refs, ok := refunded.of(uint32(i)); ok {
			end := min(asOf, cal.starts[m0+lim]-1)
			counted = countedOrders(counted, run, refs, c.tPaid, start, end)
		}
		for _, r := range run {
			if r.t < start {
				continue
			}
			if r.t > asOf {
				break
			}
			p := cal.index(r.t)
			if p < 0 { // past the calendar's end, as above
				break
			}
			k := p - m0
			if k >= lim {
				break
			}
			if active[r.typ] {
				mask[k>>6] |= 1 << (k & 63)
			}
			switch r.typ {
			case c.tPaid:
				rev[row+k] += r.fen
			case c.tRefunded:
				if r.aux == 0 { // no order_id
					rev[row+k] -= r.fen
				} else {
					rev[row+k] -= takeBack(counted, r.aux, r.fen)
				}
			}
		}
		for w, bits := range mask {
			for bits != 0 {
				b := trailingZeros(bits)
				act[row+w*64+b]++
				bits &= bits - 1
			}
		}
	}
	for m := 0; m < nm; m++ {
		if size[m] == 0 {
			continue
		}
		lim := min(o.Months, last-m+1)
		r := CohortRow{Cohort: cal.start(m), Label: cal.label(m), Size: size[m],
			Active: make([]int, lim), Revenue: make([]decimal.Decimal, lim)}
		for k := 0; k < lim; k++ {
			r.Active[k] = act[m*o.Months+k]
			r.Revenue[k] = scrm.FromFen(rev[m*o.Months+k])
		}
		out.Rows = append(out.Rows, r)
	}
	return out, nil
}

// refundedOrders groups, by customer, the paid orders naming an order_id
// of the customers with a refund naming one (Collector.refunders).
type refundedOrders struct {
	set  []uint64   // Collector.refunders
	rank []uint32   // rank[w]: the customers in set[:w]
	offs []uint32   // the k-th customer in set has refs[offs[k]:offs[k+1]]
	refs []orderRef // by customer, then event ID hash
}

// refundedOrders returns c.refunded, grouping the orders anew when an
// order event with an order_id came since.
func (c *Collector) refundedOrders() *refundedOrders {
	if c.refunded == nil {
		c.refunded = c.groupRefundedOrders()
	}
	return c.refunded
}

// groupRefundedOrders groups the orders of c.orders whose customer has a
// refund naming an order_id, in two passes over them (a counting sort).
func (c *Collector) groupRefundedOrders() *refundedOrders {
	g := &refundedOrders{set: c.refunders}
	if len(g.set) == 0 {
		return g
	}
	g.rank = make([]uint32, len(g.set)+1)
	for w, b := range g.set {
		g.rank[w+1] = g.rank[w] + uint32(bits.OnesCount64(b))
	}
	g.offs = make([]uint32, g.rank[len(g.set)]+1)
	for _, b := range c.orders {
		for _, o := range b {
			if k, ok := g.index(o.cust); ok {
				g.offs[k+1]++
			}
		}
	}
	for k := 1; k < len(g.offs); k++ {
		g.offs[k] += g.offs[k-1]
	}
	g.refs = make([]orderRef, g.offs[len(g.offs)-1])
	next := slices.Clone(g.offs[:len(g.offs)-1])
	for _, b := range c.orders {
		for _, o := range b {
			if k, ok := g.index(o.cust); ok {
				g.refs[next[k]] = o
				next[k]++
			}
		}
	}
	for k := 0; k+1 < len(g.offs); k++ {
		if run := g.refs[g.offs[k]:g.offs[k+1]]; len(run) > 1 {
			slices.SortFunc(run, func(a, b orderRef) int { return cmp.Compare(a.hash, b.hash) })
		}
	}
	return g
}

// index returns the rank of customer i in the set, or false when i has no
// refund naming an order_id.
func (g *refundedOrders) index(i uint32) (int, bool) {
	w := int(i >> 6)
	if w >= len(g.set) {
		return 0, false
	}
	m := uint64(1) << (i & 63)
	if g.set[w]&m == 0 {
		return 0, false
	}
	return int(g.rank[w]) + bits.OnesCount64(g.set[w]&(m-1)), true
}

// of returns the orders naming an order_id of customer i, sorted by event
// ID hash, or false when i has no refund naming an order_id.
func (g *refundedOrders) of(i uint32) ([]orderRef, bool) {
	k, ok := g.index(i)
	if !ok {
		return nil, false
	}
	return g.refs[g.offs[k]:g.offs[k+1]], true
}

// orderFen is what a cohort row counted of one paid record naming an
// order_id (by its key), less the refunds taken back from it so far.
type orderFen struct {
	key uint32
	fen int64
}

// countedOrders appends to dst the paid records of run at [from, to] (the
// instants a cohort row counts) whose order_id refs, one customer's
// orders sorted by event ID hash, names.
func countedOrders(dst []orderFen, run []rec, refs []orderRef, paid uint16, from, to int64) []orderFen {
	for _, r := range run {
		if r.t > to {
			break
		}
		if r.t < from || r.typ != paid {
			continue
		}
		if i, ok := slices.BinarySearchFunc(refs, r.hash, func(o orderRef, h uint32) int {
			return cmp.Compare(o.hash, h)
		}); ok {
			dst = append(dst, orderFen{key: refs[i].key, fen: r.fen})
		}
	}
	return dst
}

// takeBack deducts a refund of fen naming the order key from the counted
// records of that order, in order, and returns the amount deducted: at
// most what they still hold, and nothing when none of them was counted.
func takeBack(counted []orderFen, key uint32, fen int64) int64 {
	var took int64
	for i := range counted {
		if took >= fen {
			break
		}
		o := &counted[i]
		if o.key != key || o.fen <= 0 {
			continue
		}
		t := min(o.fen, fen-took)
		o.fen -= t
		took += t
	}
	return took
}

// LTVRow is one cohort's observed lifetime value.
type LTVRow struct {
	Cohort time.Time // first instant of the cohort month
	Label  string    // "2006-01"
	Size   int       // customers in the cohort
	// Revenue[k] is the cohort's cumulative net revenue from the cohort
	// month through month k.
	Revenue []decimal.Decimal
	// PerCustomer[k] is the observed LTV through month k:
	// RoundFen(Revenue[k] ÷ Size), rounded once, at the end.
	PerCustomer []decimal.Decimal
}

// LTVTable is observed lifetime value by cohort.
type LTVTable struct {
	By     CohortBy
	Months int
	AsOf   time.Time
	Rows   []LTVRow
}

// LTV returns the observed lifetime value of each cohort of the table:
//
//	LTV(cohort, k) = RoundFen( Σ_{j ≤ k} Revenue[j] ÷ |cohort| )
//
// the net revenue (paid minus refunded, as CohortRow.Revenue counts it)
// per customer of the cohort from its cohort month through month k. For
// the predictive form see Collector.PredictLTV.
func (t CohortTable) LTV() LTVTable {
	out := LTVTable{By: t.By, Months: t.Months, AsOf: t.AsOf, Rows: make([]LTVRow, 0, len(t.Rows))}
	for _, r := range t.Rows {
		l := LTVRow{Cohort: r.Cohort, Label: r.Label, Size: r.Size,
			Revenue: make([]decimal.Decimal, len(r.Revenue)), PerCustomer: make([]decimal.Decimal, len(r.Revenue))}
		sum := decimal.Zero
		for k, v := range r.Revenue {
			sum = sum.Add(v)
			l.Revenue[k] = sum
			l.PerCustomer[k] = perCustomer(sum, r.Size)
		}
		out.Rows = append(out.Rows, l)
	}
	return out
}

// perCustomer returns RoundFen(sum ÷ n), or zero when n is 0. sum is a
// whole number of fen, so the exact quotient is either a half fen or at
// least 1/(2n) fen away from one: dividing to 16 decimal places first
// cannot move it across a rounding boundary for any n below 10^13, and the
// result is RoundFen of the exact quotient.
func perCustomer(sum decimal.Decimal, n int) decimal.Decimal {
	return divFen(sum, int64(n))
}

func divFen(sum decimal.Decimal, n int64) decimal.Decimal {
	if n == 0 {
		return decimal.Zero
	}
	return scrm.RoundFen(sum.DivRound(decimal.NewFromInt(n), 16))
}

// Table lays the retention table out: a row per cohort with its size and
// the retention of each month offset (M0, M1, …) as a percentage; months
// not yet observed are empty.
func (t CohortTable) Table() Table {
	tb := Table{Title: "Retention by " + cohortTitle(t.By) + " month", Columns: []string{"Cohort", "Customers"}}
	tb.Align = []Alignment{AlignLeft, AlignRight}
	for k := 0; k < t.Months; k++ {
		tb.Columns = append(tb.Columns, "M"+itoa(k))
		tb.Align = append(tb.Align, AlignRight)
	}
	for _, r := range t.Rows {
		row := []string{r.Label, count(r.Size)}
		for k := 0; k < t.Months; k++ {
			cell := ""
			if k < len(r.Active) {
				cell = pct(r.Retention(k))
			}
			row = append(row, cell)
		}
		tb.Rows = append(tb.Rows, row)
	}
	return tb
}

// Table lays the LTV table out: a row per cohort with its size and the
// cumulative revenue per customer through each month offset, in yuan.
func (t LTVTable) Table() Table {
	tb := Table{Title: "Observed LTV per customer (yuan, cumulative) by " + cohortTitle(t.By) + " month",
		Columns: []string{"Cohort", "Customers"}, Align: []Alignment{AlignLeft, AlignRight}}
	for k := 0; k < t.Months; k++ {
		tb.Columns = append(tb.Columns, "M"+itoa(k))
		tb.Align = append(tb.Align, AlignRight)
	}
	for _, r := range t.Rows {
		row := []string{r.Label, count(r.Size)}
		for k := 0; k < t.Months; k++ {
			cell := ""
			if k < len(r.PerCustomer) {
				cell = money(r.PerCustomer[k])
			}
			row = append(row, cell)
		}
		tb.Rows = append(tb.Rows, row)
	}
	return tb
}

func cohortTitle(by CohortBy) string {
	if by == FirstJoin {
		return "join"
	}
	return "first-purchase"
}
