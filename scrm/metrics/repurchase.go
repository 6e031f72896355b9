package metrics

import (
	"slices"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// RepurchaseOptions select the window of a repurchase report.
type RepurchaseOptions struct {
	// From and To bound the window [From, To); a zero end is open.
	From, To time.Time
	// By splits the report by the customers' acquisition (the Props of
	// their first customer.added); empty: the total alone.
	By Dimension
}

// RepurchaseRow is the repurchase rate of one group of customers.
type RepurchaseRow struct {
	Key    string // the By value; "" when the customer had none, and on the total
	Buyers int    // customers with at least 1 paid order in the window
	Repeat int    // of them, customers with at least 2
	Orders int    // their paid orders in the window
	Rate   float64
}

// RepurchaseReport is a repurchase report.
type RepurchaseReport struct {
	From, To time.Time
	By       Dimension
	Rows     []RepurchaseRow // by key; empty without By
	Total    RepurchaseRow
}

// Repurchase computes the repurchase rate (复购率) in a window:
//
//	Rate = |customers with ≥ 2 order.paid in [From, To)| ÷ |customers with ≥ 1|
//
// Refunds do not take an order back out of the count.
//
// Errors: ErrInvalid for an unknown By or To not after From.
func (c *Collector) Repurchase(o RepurchaseOptions) (RepurchaseReport, error) {
	const op = "metrics.Repurchase"
	dim, err := checkDimension(op, o.By, true)
	if err != nil {
		return RepurchaseReport{}, err
	}
	if err := checkWindow(op, o.From, o.To); err != nil {
		return RepurchaseReport{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.compact()
	win := windowOf(o.From, o.To)
	rows := map[uint32]*RepurchaseRow{}
	var total RepurchaseRow
	for i := range c.custs {
		n := 0
		for _, r := range c.runOf(i) {
			if r.typ == c.tPaid && win.has(r.t) {
				n += int(r.n)
			}
		}
		if n == 0 {
			continue
		}
		add := func(row *RepurchaseRow) {
			row.Buyers++
			row.Orders += n
			if n >= 2 {
				row.Repeat++
			}
		}
		add(&total)
		if dim >= 0 {
			k := c.custs[i].attr[dim]
			row := rows[k]
			if row == nil {
				row = &RepurchaseRow{Key: c.attrs[dim].name(k)}
				rows[k] = row
			}
			add(row)
		}
	}
	out := RepurchaseReport{From: o.From, To: o.To, By: o.By}
	for _, r := range rows {
		r.Rate = ratio(int64(r.Repeat), int64(r.Buyers))
		out.Rows = append(out.Rows, *r)
	}
	slices.SortFunc(out.Rows, func(a, b RepurchaseRow) int { return cmpString(a.Key, b.Key) })
	total.Rate = ratio(int64(total.Repeat), int64(total.Buyers))
	out.Total = total
	return out, nil
}

// Table lays the report out: a row per key (with By) and a total.
func (r RepurchaseReport) Table() Table {
	key := "Customers"
	if r.By != "" {
		key = dimensionTitle(r.By)
	}
	tb := Table{Title: "Repurchase", Columns: []string{key, "Buyers", "Repeat buyers", "Orders", "Repurchase rate"},
		Align: []Alignment{AlignLeft, AlignRight, AlignRight, AlignRight, AlignRight}}
	row := func(name string, x RepurchaseRow) []string {
		return []string{name, count(x.Buyers), count(x.Repeat), count(x.Orders), pct(x.Rate)}
	}
	for _, x := range r.Rows {
		tb.Rows = append(tb.Rows, row(keyLabel(x.Key), x))
	}
	tb.Rows = append(tb.Rows, row("Total", r.Total))
	return tb
}

// checkDimension returns the index of d in customer.attr, or -1 for an
// empty d when optional.
func checkDimension(op string, d Dimension, optional bool) (int, error) {
	if d == "" && optional {
		return -1, nil
	}
	i, ok := d.index()
	if !ok {
		return 0, scrm.Invalid(op, "By", "unknown dimension %q (want store, staff, channel_code or campaign)", d)
	}
	return i, nil
}

func dimensionTitle(d Dimension) string {
	switch d {
	case ByStore:
		return "Store"
	case ByStaff:
		return "Staff"
	case ByChannelCode:
		return "Channel code"
	case ByCampaign:
		return "Campaign"
	}
	return string(d)
}

// keyLabel shows an empty dimension value as "(none)".
func keyLabel(k string) string {
	if k == "" {
		return "(none)"
	}
	return k
}
