package metrics

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// StoreOptions shape the side-by-side store comparison.
type StoreOptions struct {
	// From and To bound the window [From, To): customers first added in
	// it, and orders paid in it. A zero end is open.
	From, To time.Time
	// ConvertWithin defaults to DefaultConvertWithin (30 days),
	// GroupWithin to DefaultGroupWithin (7 days).
	ConvertWithin time.Duration
	GroupWithin   time.Duration
}

// StoreRow is one store's acquisition and sales, side by side with the
// others.
type StoreRow struct {
	Store string // "" for customers or orders without a store
	// Acquisition: customers first added in the window through the store
	// (the "store" Prop of their first customer.added), as in Acquisition
	// and GroupJoin.
	Added             int
	Converted         int     // paid within ConvertWithin of being added
	ConversionRate    float64 // Converted ÷ Added
	FirstOrderRevenue decimal.Decimal
	GroupJoined       int     // joined a group within GroupWithin of being added
	GroupJoinRate     float64 // GroupJoined ÷ Added
	// Sales: order.paid events in the window whose "store" Prop is the
	// store, whoever the customer. Buyers counts distinct customers,
	// Repeat those with two orders or more there; RepurchaseRate =
	// Repeat ÷ Buyers; AOV = RoundFen(Revenue ÷ Orders). Revenue is gross:
	// refunds name no store.
	Buyers         int
	Orders         int
	Revenue        decimal.Decimal
	AOV            decimal.Decimal
	Repeat         int
	RepurchaseRate float64
}

// StoreReport compares stores side by side.
type StoreReport struct {
	From, To time.Time
	Rows     []StoreRow // by store ID
	Total    StoreRow
}

// Stores compares the stores side by side over one window: the new
// customers each brought, their 30-day conversion and first-order revenue,
// their group-join rate, and the orders paid at the store (see StoreRow
// for each formula).
//
// Errors: ErrInvalid naming the field for a negative ConvertWithin or
// GroupWithin, or To not after From.
func (c *Collector) Stores(o StoreOptions) (StoreReport, error) {
	const op = "metrics.Stores"
	if o.ConvertWithin < 0 {
		return StoreReport{}, scrm.Invalid(op, "ConvertWithin", "must not be negative, got %s", o.ConvertWithin)
	}
	if o.GroupWithin < 0 {
		return StoreReport{}, scrm.Invalid(op, "GroupWithin", "must not be negative, got %s", o.GroupWithin)
	}
	if o.ConvertWithin == 0 {
		o.ConvertWithin = DefaultConvertWithin
	}
	if o.GroupWithin == 0 {
		o.GroupWithin = DefaultGroupWithin
	}
	if err := checkWindow(op, o.From, o.To); err != nil {
		return StoreReport{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.compact()
	win := windowOf(o.From, o.To)
	type sales struct {
		buyers, orders, repeat int
		fen                    int64
	}
	nk := len(c.attrs[0].names) + 1
	acq := make([]acqAcc, nk)
	sold := make([]sales, nk)
	var totalAcq acqAcc
	var totalSales sales
	c.newcomers(0, win, o.ConvertWithin, o.GroupWithin, func(n newcomer) {
		acq[n.key].add(n)
		totalAcq.add(n)
	})
	type storeCount struct {
		store uint32
		n     int
	}
	var perStore []storeCount // orders of the current customer per store; customers visit few stores
	for i := range c.custs {
		perStore = perStore[:0]
		all := 0
		for _, r := range c.runOf(i) {
			if r.typ != c.tPaid || !win.has(r.t) {
				continue
			}
			s := &sold[r.aux]
			s.orders += int(r.n)
			s.fen += r.fen
			j := 0
			for j < len(perStore) && perStore[j].store != r.aux {
				j++
			}
			if j == len(perStore) {
				perStore = append(perStore, storeCount{store: r.aux})
			}
			perStore[j].n += int(r.n)
			all += int(r.n)
			totalSales.orders += int(r.n)
			totalSales.fen += r.fen
		}
		for _, sc := range perStore {
			sold[sc.store].buyers++
			if sc.n >= 2 {
				sold[sc.store].repeat++
			}
		}
		if all > 0 {
			totalSales.buyers++
			if all >= 2 {
				totalSales.repeat++
			}
		}
	}
	row := func(store string, a acqAcc, s sales) StoreRow {
		ar := a.row(store)
		rev := scrm.FromFen(s.fen)
		return StoreRow{Store: store, Added: a.added, Converted: a.converted, ConversionRate: ar.ConversionRate,
			FirstOrderRevenue: ar.FirstOrderRevenue, GroupJoined: a.joined,
			GroupJoinRate: ratio(int64(a.joined), int64(a.added)),
			Buyers:        s.buyers, Orders: s.orders, Revenue: rev, AOV: divFen(rev, int64(s.orders)),
			Repeat: s.repeat, RepurchaseRate: ratio(int64(s.repeat), int64(s.buyers))}
	}
	out := StoreReport{From: o.From, To: o.To}
	for k := range acq {
		if acq[k].added == 0 && sold[k].orders == 0 {
			continue
		}
		out.Rows = append(out.Rows, row(c.attrs[0].name(uint32(k)), acq[k], sold[k]))
	}
	slices.SortFunc(out.Rows, func(a, b StoreRow) int { return cmpString(a.Store, b.Store) })
	out.Total = row("", totalAcq, totalSales)
	return out, nil
}

// Table lays the comparison out: a row per store and a total.
func (r StoreReport) Table() Table {
	tb := Table{Title: "Stores side by side",
		Columns: []string{"Store", "Added", "Converted", "Conversion", "Group-join", "Buyers", "Orders", "Revenue", "AOV", "Repurchase"},
		Align: []Alignment{AlignLeft, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight,
			AlignRight, AlignRight, AlignRight}}
	row := func(name string, x StoreRow) []string {
		return []string{name, count(x.Added), count(x.Converted), pct(x.ConversionRate), pct(x.GroupJoinRate),
			count(x.Buyers), count(x.Orders), money(x.Revenue), money(x.AOV), pct(x.RepurchaseRate)}
	}
	for _, x := range r.Rows {
		tb.Rows = append(tb.Rows, row(keyLabel(x.Store), x))
	}
	tb.Rows = append(tb.Rows, row("Total", r.Total))
	return tb
}
