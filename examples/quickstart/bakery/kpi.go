package bakery

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
	"github.com/scrmkit/scrmkit/segment"
	"github.com/scrmkit/scrmkit/sop"
)

// KPIs are the business metrics of the run. Every figure comes from
// package scrm/metrics over the event log (or, for RFM, from package
// segment over the profiles); the demo computes none itself.
type KPIs struct {
	// Funnel is metrics.StandardFunnel: added → joined a group within 7
	// days → first order within 30 days → second order within 90 days.
	Funnel metrics.FunnelReport
	// Acquisition is the customers each campaign brought, per month, and
	// their 30-day conversion.
	Acquisition metrics.AcquisitionReport
	// Stores compares the three stores: customers added, conversion,
	// group-join rate (加群率), orders, revenue and repurchase.
	Stores metrics.StoreReport
	// Repurchase is the share of buyers with a second order over the whole
	// period, in total and by the staff member who added them (跟进人).
	Repurchase metrics.RepurchaseReport
	// Cohorts is monthly retention by month of joining, active meaning a
	// paid order in the month; its LTV method gives the revenue per
	// customer of each cohort.
	Cohorts metrics.CohortTable
	// Coupons is the redemption rate and discount cost per template.
	Coupons metrics.CouponReport
	// Referrals is the 老带新 program's conversion and K-factor.
	Referrals metrics.ReferralReport
	// Touches is each SOP step's reply and conversion rate (sop.Stats).
	Touches metrics.TouchReport
	// RFM is every customer's RFM score at the end of the run
	// (segment.Service.RFM), and RFMClasses how many fall in each of the
	// eight classes, most valuable first; customers without an order in
	// the last 90 days are not scored.
	RFM        []segment.RFMScore
	RFMClasses []RFMClassCount
}

// RFMClassCount is how many customers fall in one RFM class.
type RFMClassCount struct {
	Class     segment.RFMClass
	Customers int
}

// rfmConfig scores a bakery's customers: recency 3 / 7 / 14 / 30 days,
// frequency 2 / 4 / 8 / 12 orders and monetary ¥100 / 250 / 500 / 1000 over
// the last 90 days.
func rfmConfig() segment.RFMConfig {
	return segment.RFMConfig{
		Window:    90 * day,
		Recency:   [4]time.Duration{3 * day, 7 * day, 14 * day, 30 * day},
		Frequency: [4]int64{2, 4, 8, 12},
		Monetary:  [4]decimal.Decimal{scrm.Yuan("100"), scrm.Yuan("250"), scrm.Yuan("500"), scrm.Yuan("1000")},
	}
}

// kpis computes the KPIs. The Collector does not follow merges, so the
// host maps each event of an absorbed customer to the survivor first: a
// person counts once, from their first arrival.
func (s *sim) kpis() (KPIs, error) {
	var k KPIs
	c := metrics.NewCollector(Tenant, &metrics.Options{Options: scrm.Options{Location: s.w.loc}})
	survivor := map[scrm.CustomerID]scrm.CustomerID{}
	for _, p := range s.people {
		if p.dup != "" {
			survivor[p.dup] = p.id
		}
	}
	for _, e := range s.events {
		if into, ok := survivor[e.Customer]; ok {
			e.Customer = into
		}
		if err := c.Add(e); err != nil {
			return k, err
		}
	}
	var err error
	if k.Funnel, err = c.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel()}); err != nil {
		return k, err
	}
	if k.Acquisition, err = c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByCampaign}); err != nil {
		return k, err
	}
	if k.Stores, err = c.Stores(metrics.StoreOptions{}); err != nil {
		return k, err
	}
	if k.Repurchase, err = c.Repurchase(metrics.RepurchaseOptions{By: metrics.ByStaff}); err != nil {
		return k, err
	}
	last := s.end.Add(-time.Nanosecond)
	months := (last.Year()*12 + int(last.Month())) - (s.cfg.Start.Year()*12 + int(s.cfg.Start.Month())) + 1
	if k.Cohorts, err = c.Cohorts(metrics.CohortOptions{By: metrics.FirstJoin, Months: months, AsOf: last}); err != nil {
		return k, err
	}
	if k.Coupons, err = c.Coupons(metrics.CouponOptions{}); err != nil {
		return k, err
	}
	if k.Referrals, err = c.Referrals(metrics.ReferralOptions{Program: program}); err != nil {
		return k, err
	}
	var touches []metrics.TouchStats
	for _, id := range []string{pbWelcome, pbNudge, pbWakeUp} {
		pb, err := s.w.touches.Playbook(s.w.ctx, Tenant, id)
		if err != nil {
			return k, err
		}
		st, err := s.w.touches.Stats(s.w.ctx, Tenant, id)
		if err != nil {
			return k, err
		}
		for _, row := range st.Steps {
			// Only messages are touches; reward steps reach no phone.
			if i := slices.IndexFunc(pb.Steps, func(x sop.Step) bool { return x.ID == row.Step }); i < 0 || pb.Steps[i].Action.Kind != sop.Message {
				continue
			}
			touches = append(touches, metrics.TouchStats{Playbook: st.Playbook, Step: row.Step, Variant: row.Variant,
				Sent: row.Sent, Replied: row.Replied, Converted: row.Converted})
		}
	}
	if k.Touches, err = metrics.Touches(touches); err != nil {
		return k, err
	}
	if k.RFM, err = s.w.segments.RFM(s.w.ctx, Tenant, rfmConfig()); err != nil {
		return k, err
	}
	count := map[segment.RFMClass]int{}
	for _, sc := range k.RFM {
		if sc.Scored {
			count[sc.Class]++
		}
	}
	for _, cl := range segment.RFMClasses() {
		k.RFMClasses = append(k.RFMClasses, RFMClassCount{Class: cl, Customers: count[cl]})
	}
	return k, nil
}
