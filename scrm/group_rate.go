package scrm

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// The groupings of JoinRateRequest.By.
const (
	JoinRateByStore = "store" // one row per store the customers are attributed to
	JoinRateByStaff = "staff" // one row per staff member the customers are attributed to
)

// DefaultJoinWindow is how soon after being added a customer must join a
// group to count as joined, unless JoinRateRequest.Window says otherwise:
// 7 days (168 hours, not calendar days).
const DefaultJoinWindow = 7 * 24 * time.Hour

// JoinRateRequest asks Groups.JoinRate for the group-join rate of the
// customers added in [From, To).
type JoinRateRequest struct {
	Tenant TenantID
	// By is JoinRateByStore or JoinRateByStaff.
	By string
	// From and To bound when the customers were first added: [From, To).
	// From is required; a zero To means now (Options.Clock).
	From, To time.Time
	// Window is how soon after being added a join counts; zero means
	// DefaultJoinWindow.
	Window time.Duration
}

// JoinRate is the group-join rate of one cohort of added customers.
type JoinRate struct {
	// Key is the store or staff ID the row is about; "" collects the
	// customers attributed to none (and is the Key of a report's Total).
	Key string
	// Added counts the customers first added in the period.
	Added int
	// Joined counts those of them who joined any group within the window
	// after being added (at or after the add, at most Window later).
	Joined int
	// Pending counts those who have not joined yet but whose window is
	// still open at the time of the report: they may still join.
	Pending int
	// Rate is Joined / Added, rounded half-up to 4 decimal places
	// (0.6667); zero when Added is zero. Added and Joined are the exact
	// fraction.
	Rate decimal.Decimal
}

// JoinRateReport is the output of Groups.JoinRate.
type JoinRateReport struct {
	By       string
	From, To time.Time
	Window   time.Duration
	// Rows has one entry per store or staff member, by Key (byte-wise);
	// the unattributed row, Key "", comes first when there is one.
	Rows []JoinRate
	// Total covers every customer of the period.
	Total JoinRate
}

// JoinRate reports, for the customers first added (customer.added) in
// [r.From, r.To), how many joined any group within r.Window of being added
// (加群率), per store or per staff member. A customer is attributed to the
// store and staff member of its earliest customer.added (Props "store" and
// "staff"), each missing one taken from its first owner (see Groups.Handle
// and Acquisition). Joins before the add do not count: the rate measures
// what happens after a customer is added. A customer whose window has not
// closed yet at the time of the report counts as Added, and as Joined only
// once they join; Pending says how many such customers may still join.
//
// Errors: ErrInvalid naming "Tenant", "By", "From", "To" (not after From)
// or "Window" (negative).
func (g *Groups) JoinRate(ctx context.Context, r JoinRateRequest) (JoinRateReport, error) {
	const op = "scrm.Groups.JoinRate"
	if err := CheckID(op, "Tenant", string(r.Tenant)); err != nil {
		return JoinRateReport{}, err
	}
	if r.By != JoinRateByStore && r.By != JoinRateByStaff {
		return JoinRateReport{}, Invalid(op, "By", "must be %q or %q, got %q", JoinRateByStore, JoinRateByStaff, r.By)
	}
	now := g.opts.Clock.Now()
	if r.From.IsZero() {
		return JoinRateReport{}, Invalid(op, "From", "required")
	}
	if r.To.IsZero() {
		r.To = now
	}
	if !r.To.After(r.From) {
		return JoinRateReport{}, Invalid(op, "To", "must be after From (%s), got %s", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	}
	switch {
	case r.Window < 0:
		return JoinRateReport{}, Invalid(op, "Window", "must not be negative, got %s", r.Window)
	case r.Window == 0:
		r.Window = DefaultJoinWindow
	}

	rows := map[string]*JoinRate{}
	total := JoinRate{}
	p := ListAcquisitionsParams{Tenant: r.Tenant, From: r.From, To: r.To, Limit: 1000}
	for {
		page, err := g.store.ListAcquisitions(ctx, p)
		if err != nil {
			return JoinRateReport{}, storeErr(op, err)
		}
		for _, a := range page.Acquisitions {
			key := a.Store
			if r.By == JoinRateByStaff {
				key = a.Staff
			}
			row := rows[key]
			if row == nil {
				row = &JoinRate{Key: key}
				rows[key] = row
			}
			closes := a.AddedAt.Add(r.Window)
			joined := !a.FirstJoinedAt.IsZero() && !a.FirstJoinedAt.After(closes)
			pending := !joined && now.Before(closes)
			for _, x := range [...]*JoinRate{row, &total} {
				x.Added++
				if joined {
					x.Joined++
				}
				if pending {
					x.Pending++
				}
			}
		}
		if page.Next == "" {
			break
		}
		p.Cursor = page.Next
	}
	out := JoinRateReport{By: r.By, From: r.From, To: r.To, Window: r.Window, Total: total.withRate()}
	for _, row := range rows {
		out.Rows = append(out.Rows, row.withRate())
	}
	slices.SortFunc(out.Rows, func(a, b JoinRate) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// withRate returns r with Rate computed from its counts.
func (r JoinRate) withRate() JoinRate {
	r.Rate = decimal.Zero
	if r.Added > 0 {
		r.Rate = decimal.NewFromInt(int64(r.Joined)).DivRound(decimal.NewFromInt(int64(r.Added)), 4)
	}
	return r
}
