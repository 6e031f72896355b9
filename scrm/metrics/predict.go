package metrics

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// DefaultMaxLifespan caps an estimated lifespan, in windows: a window in
// which every returning buyer came back would otherwise predict customers
// who never leave.
const DefaultMaxLifespan = 10

// PredictOptions set up a predictive LTV.
type PredictOptions struct {
	// From and To bound the observation window [From, To); both required.
	// A year is the usual choice, making Frequency orders per year and
	// Lifespan years.
	From, To time.Time
	// Lifespan is the expected customer lifespan in windows (of length
	// To − From). Zero: estimate it from retention as 1 ÷ Churn, capped at
	// MaxLifespan.
	Lifespan float64
	// MaxLifespan caps the estimate; default DefaultMaxLifespan.
	MaxLifespan float64
}

// PredictedLTV is the predictive lifetime value and its inputs.
type PredictedLTV struct {
	From, To time.Time
	// Customers with at least one paid order in the window, their Orders
	// and the Revenue (the Amounts of those order.paid events).
	Customers int
	Orders    int
	Revenue   decimal.Decimal
	// AOV = RoundFen(Revenue ÷ Orders), the average order value.
	AOV decimal.Decimal
	// Frequency = Orders ÷ Customers, purchases per customer per window.
	Frequency float64
	// PrevCustomers had a paid order in the previous window of the same
	// length, [From − (To − From), From); Retained of them had one in this
	// window too. Retention = Retained ÷ PrevCustomers; Churn = 1 − Retention.
	PrevCustomers, Retained int
	Retention, Churn        float64
	// Lifespan in windows: PredictOptions.Lifespan when given, else
	// min(1 ÷ Churn, MaxLifespan) (MaxLifespan when Churn is 0); 0 when
	// there were no buyers in the previous window to estimate it from.
	Lifespan  float64
	Estimated bool // Lifespan was estimated
	// LTV = AOV × Frequency × Lifespan, computed without rounding the
	// factors: AOV × Frequency = Revenue ÷ Customers, so
	//
	//	LTV = RoundFen(Revenue × Lifespan ÷ Customers)
	//
	// and with an estimated, uncapped lifespan, exactly
	// RoundFen(Revenue × PrevCustomers ÷ (Customers × (PrevCustomers − Retained))).
	// A given or capped Lifespan enters as decimal.NewFromFloat(Lifespan).
	LTV decimal.Decimal
}

// PredictLTV computes the predictive lifetime value: average order value ×
// purchase frequency × expected lifespan, all measured on the window (see
// PredictedLTV for each formula). For what cohorts have actually spent, see
// CohortTable.LTV.
//
// Errors: ErrInvalid naming the field for a missing From or To, To not
// after From, or a negative or non-finite Lifespan or MaxLifespan.
func (c *Collector) PredictLTV(o PredictOptions) (PredictedLTV, error) {
	const op = "metrics.PredictLTV"
	if o.From.IsZero() {
		return PredictedLTV{}, scrm.Invalid(op, "From", "required")
	}
	if o.To.IsZero() {
		return PredictedLTV{}, scrm.Invalid(op, "To", "required")
	}
	if err := checkWindow(op, o.From, o.To); err != nil {
		return PredictedLTV{}, err
	}
	if !(o.Lifespan >= 0 && o.Lifespan < 1e9) {
		return PredictedLTV{}, scrm.Invalid(op, "Lifespan", "must be a number of windows ≥ 0, got %v", o.Lifespan)
	}
	if !(o.MaxLifespan >= 0 && o.MaxLifespan < 1e9) {
		return PredictedLTV{}, scrm.Invalid(op, "MaxLifespan", "must be a number of windows ≥ 0, got %v", o.MaxLifespan)
	}
	if o.MaxLifespan == 0 {
		o.MaxLifespan = DefaultMaxLifespan
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.compact()
	cur := windowOf(o.From, o.To)
	prev := windowOf(o.From.Add(-o.To.Sub(o.From)), o.From)
	out := PredictedLTV{From: o.From, To: o.To}
	var fen int64
	for i := range c.custs {
		inCur, inPrev := false, false
		for _, r := range c.runOf(i) {
			if r.typ != c.tPaid {
				continue
			}
			switch {
			case cur.has(r.t):
				inCur = true
				out.Orders += int(r.n)
				fen += r.fen
			case prev.has(r.t):
				inPrev = true
			}
		}
		if inCur {
			out.Customers++
		}
		if inPrev {
			out.PrevCustomers++
			if inCur {
				out.Retained++
			}
		}
	}
	out.Revenue = scrm.FromFen(fen)
	out.AOV = divFen(out.Revenue, int64(out.Orders))
	out.Frequency = ratio(int64(out.Orders), int64(out.Customers))
	out.Retention = ratio(int64(out.Retained), int64(out.PrevCustomers))
	if out.PrevCustomers > 0 {
		out.Churn = 1 - out.Retention
	}
	switch {
	case o.Lifespan > 0:
		out.Lifespan = o.Lifespan
		out.LTV = divFen(out.Revenue.Mul(decimal.NewFromFloat(o.Lifespan)), int64(out.Customers))
	case out.PrevCustomers == 0:
		// Nothing to estimate from: Lifespan and LTV stay 0.
	default:
		out.Estimated = true
		lost := int64(out.PrevCustomers - out.Retained)
		if lost == 0 || float64(out.PrevCustomers)/float64(lost) > o.MaxLifespan {
			out.Lifespan = o.MaxLifespan
			out.LTV = divFen(out.Revenue.Mul(decimal.NewFromFloat(o.MaxLifespan)), int64(out.Customers))
		} else {
			out.Lifespan = float64(out.PrevCustomers) / float64(lost)
			out.LTV = divFen(out.Revenue.Mul(decimal.NewFromInt(int64(out.PrevCustomers))), int64(out.Customers)*lost)
		}
	}
	return out, nil
}

// Table lays the prediction out as one row of its inputs and result.
func (p PredictedLTV) Table() Table {
	return Table{Title: "Predictive LTV",
		Columns: []string{"Buyers", "Orders", "Revenue", "AOV", "Frequency", "Retention", "Lifespan", "LTV"},
		Align:   []Alignment{AlignRight, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight},
		Rows: [][]string{{count(p.Customers), count(p.Orders), money(p.Revenue), money(p.AOV),
			fmtFloat(p.Frequency), pct(p.Retention), fmtFloat(p.Lifespan), money(p.LTV)}}}
}
