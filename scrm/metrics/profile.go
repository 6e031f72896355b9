package metrics

import (
	"context"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// AddProfile folds in a customer's profile, for hosts that keep profiles
// rather than their events. A profile keeps, per event type, all-time
// counts and sums and the events within its horizon (400 days by
// default), without their IDs or Props, so AddProfile rebuilds:
//
//   - each event type's first and last events exactly (time, count and
//     amount of the events at that instant);
//   - the events in between per calendar month (tenant zone), stamped
//     with the start of the month, or just after the first event in its
//     month: months, and therefore cohorts, repurchase windows on month
//     boundaries and acquisition by month, are exact; funnel time limits
//     and 30-day conversions measured against those events are
//     approximate;
//   - events older than the horizon, which the profile keeps only in its
//     all-time totals, with the type's first event.
//
// The acquisition attribution comes from the attributes "store", "staff",
// "channel_code" and "campaign" when they are strings, and the time of
// the first customer.added. Coupon and referral reports need their events:
// profiles do not keep coupon IDs or programs. A profile absorbed by a
// merge (MergedInto set) is skipped: its activity lives in the survivor's.
//
// Errors: ErrInvalid for a nil profile, one without Customer, or one of
// another tenant, and ErrInvalid naming the field
// ("activity.order.paid.last") for a profile with an event at an instant
// Add refuses (outside the years 1900–2200, give or take the day of a
// time zone: a date mistyped years ahead); ErrConflict when the customer already has data in the
// Collector (from events or an earlier profile). Nothing is recorded on
// error.
func (c *Collector) AddProfile(p *scrm.Profile) error {
	const op = "metrics.AddProfile"
	if p == nil {
		return scrm.Invalid(op, "Profile", "required (nil)")
	}
	if p.Tenant != c.tenant {
		return scrm.Invalid(op, "Tenant", "profile of tenant %q in the collector of tenant %q", p.Tenant, c.tenant)
	}
	if p.Customer == "" {
		return scrm.Invalid(op, "Customer", "required")
	}
	if p.MergedInto != "" {
		return nil
	}
	types := p.EventTypes()
	for _, typ := range types {
		// The events of a type lie between its first and last.
		first, _ := p.First(typ)
		last, _ := p.Last(typ)
		if s := first.Unix(); s < c.minOK || s >= c.maxOK {
			return scrm.Invalid(op, "activity."+typ+".first", "%s outside the years 1900–2200", first.Format(time.RFC3339))
		}
		if s := last.Unix(); s < c.minOK || s >= c.maxOK {
			return scrm.Invalid(op, "activity."+typ+".last", "%s outside the years 1900–2200", last.Format(time.RFC3339))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	before := len(c.custs)
	ci, err := c.customerOf(op, p.Customer, fromProfile)
	if err != nil {
		return err
	}
	if len(c.custs) == before {
		return scrm.Errorf(scrm.ErrConflict, op, "customer %q was already added from a profile", p.Customer)
	}
	for _, typ := range types {
		ti := c.typeOf(typ)
		if ti == 0 {
			continue
		}
		if ti == c.tAdded {
			if first, ok := p.First(typ); ok {
				c.added(ci, first.UnixNano(), func(key string) string {
					v, _ := p.Attr(key)
					s, _ := v.(string)
					return s
				})
			}
		}
		c.profileRecords(p, typ, ti, ci)
	}
	return nil
}

// profileRecords rebuilds the records of one event type of a profile, as
// AddProfile documents.
func (c *Collector) profileRecords(p *scrm.Profile, typ string, ti uint16, ci uint32) {
	first, ok := p.First(typ)
	if !ok {
		return
	}
	last, _ := p.Last(typ)
	f, l := first.UnixNano(), last.UnixNano()
	// Interval bounds: [first, first+1ns), then month starts, then
	// [last, last+1ns).
	bounds := []int64{f, f + 1}
	for m := nextStart(Month, first, c.loc); m.Before(last); m = nextStart(Month, m, c.loc) {
		bounds = append(bounds, m.UnixNano())
	}
	if l > f {
		bounds = append(bounds, l)
	}
	bounds = append(bounds, l+1)
	countAt := func(t int64) (int64, int64) {
		since := time.Unix(0, t)
		fen, _ := p.SumFen(typ, since)
		return p.Count(typ, since), fen
	}
	totalN := p.Count(typ, time.Time{})
	totalFen, _ := p.SumFen(typ, time.Time{})
	keptN, keptFen := countAt(f)
	prevN, prevFen := keptN, keptFen
	for i := 0; i+1 < len(bounds); i++ {
		nextN, nextFen := countAt(bounds[i+1])
		n, fen := prevN-nextN, prevFen-nextFen
		if i == 0 { // older than the horizon: with the first event
			n += totalN - keptN
			fen += totalFen - keptFen
		}
		for n > 0 { // a record holds up to 65,535 events; the amount goes with the last
			k := min(n, 0xFFFF)
			n -= k
			part := int64(0)
			if n == 0 {
				part = fen
			}
			c.record(rec{t: bounds[i], fen: part, cust: ci, typ: ti, n: uint16(k)})
		}
		prevN, prevFen = nextN, nextFen
	}
}

// LoadProfiles adds every profile of the Collector's tenant in a store
// (see AddProfile), page by page, using the store's ScanProfiles when it
// has one. It stops at the first error.
func (c *Collector) LoadProfiles(ctx context.Context, store scrm.ProfileStore) error {
	const op = "metrics.LoadProfiles"
	if store == nil {
		return scrm.Invalid(op, "store", "required (nil)")
	}
	params := scrm.ListProfilesParams{Tenant: c.tenant, Limit: 1000}
	for {
		var next string
		var err error
		if sc, ok := store.(scrm.ProfileScanner); ok {
			next, err = sc.ScanProfiles(ctx, params, c.AddProfile)
		} else {
			var page scrm.ProfilePage
			page, err = store.List(ctx, params)
			for _, p := range page.Profiles {
				if err == nil {
					err = c.AddProfile(p)
				}
			}
			next = page.Next
		}
		if err != nil {
			return scrm.Wrap(nil, op, err)
		}
		if next == "" {
			return nil
		}
		params.Cursor = next
	}
}
