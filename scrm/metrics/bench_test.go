package metrics_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
)

// genEvents generates a deterministic year of a chain's customers: each is
// added at a uniformly random time in 2024, 70% pay a first order within
// 30 days, and each paying customer then orders again with a probability
// that decays month by month, for about three orders per paying customer.
func genEvents(customers int, seed uint64) []scrm.Event {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	loc := scrm.DefaultLocation()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, loc)
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, loc).Sub(start)
	props := make([]map[string]any, 20)
	for i := range props {
		props[i] = map[string]any{"store": fmt.Sprintf("s%02d", i), "channel_code": fmt.Sprintf("qr-%02d", i%7)}
	}
	prices := make([]decimal.Decimal, 200)
	for i := range prices {
		prices[i] = decimal.New(int64(1990+i*250), -2)
	}
	events := make([]scrm.Event, 0, customers*4)
	for i := 0; i < customers; i++ {
		cust := scrm.CustomerID(fmt.Sprintf("c%07d", i))
		at := start.Add(time.Duration(rng.Int64N(int64(year))))
		events = append(events, scrm.Event{ID: "add-" + string(cust), Tenant: "t1", Customer: cust,
			Type: scrm.EventCustomerAdded, Time: at, Props: props[rng.IntN(len(props))]})
		if rng.Float64() >= 0.7 {
			continue
		}
		t := at.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		p := 0.8
		for n := 0; t.Before(start.Add(year)); n++ {
			events = append(events, scrm.Event{ID: fmt.Sprintf("o-%d-%d", i, n), Tenant: "t1", Customer: cust,
				Type: scrm.EventOrderPaid, Time: t, Amount: prices[rng.IntN(len(prices))]})
			if rng.Float64() >= p {
				break
			}
			p *= 0.9
			t = t.Add(time.Duration(rng.Int64N(int64(60 * 24 * time.Hour))))
		}
	}
	// A stream in time order, as a host replays its event log: decoding
	// the log allocates each event's strings as it is read, so they lie in
	// memory in stream order.
	slices.SortStableFunc(events, func(a, b scrm.Event) int { return a.Time.Compare(b.Time) })
	for i := range events {
		e := &events[i]
		e.ID = strings.Clone(e.ID)
		e.Customer = scrm.CustomerID(strings.Clone(string(e.Customer)))
	}
	return events
}

// BenchmarkCohorts1M builds a 12-month retention table for 1,000,000
// customers from their events: a new Collector, every event added, the
// table computed. The events are generated before the timer starts.
func BenchmarkCohorts1M(b *testing.B) {
	events := genEvents(1_000_000, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := metrics.NewCollector("t1", nil)
		for _, e := range events {
			if err := c.Add(e); err != nil {
				b.Fatal(err)
			}
		}
		t, err := c.Cohorts(metrics.CohortOptions{Months: 12})
		if err != nil {
			b.Fatal(err)
		}
		if len(t.Rows) != 12 {
			b.Fatalf("rows = %d", len(t.Rows))
		}
	}
	b.ReportMetric(float64(len(events)), "events")
}

// withOrderIDs gives every paid order of events an "order_id" and
// refunds one in twenty in full a week later, as hosts' order events look;
// the result is in time order.
func withOrderIDs(events []scrm.Event) []scrm.Event {
	out := make([]scrm.Event, 0, len(events)+len(events)/20)
	n := 0
	for _, e := range events {
		if e.Type == scrm.EventOrderPaid {
			n++
			oid := fmt.Sprintf("A%08d", n)
			e.Props = map[string]any{"order_id": oid}
			if n%20 == 0 {
				out = append(out, scrm.Event{ID: "r-" + oid, Tenant: e.Tenant, Customer: e.Customer,
					Type: scrm.EventOrderRefunded, Time: e.Time.Add(7 * 24 * time.Hour), Amount: e.Amount,
					Props: map[string]any{"order_id": oid}})
			}
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b scrm.Event) int { return a.Time.Compare(b.Time) })
	return out
}

// BenchmarkOrderIDs1M is BenchmarkCohorts1M (AddAndCohorts) and the
// Cohorts report of BenchmarkReports1M (Cohorts) with an order_id on every
// paid order and one in twenty refunded (withOrderIDs), so that Cohorts
// matches the refunds to the orders it counted.
func BenchmarkOrderIDs1M(b *testing.B) {
	events := withOrderIDs(genEvents(1_000_000, 1))
	var c *metrics.Collector
	b.Run("AddAndCohorts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c = metrics.NewCollector("t1", nil)
			for _, e := range events {
				if err := c.Add(e); err != nil {
					b.Fatal(err)
				}
			}
			t, err := c.Cohorts(metrics.CohortOptions{Months: 12})
			if err != nil {
				b.Fatal(err)
			}
			if len(t.Rows) != 12 {
				b.Fatalf("rows = %d", len(t.Rows))
			}
		}
		b.ReportMetric(float64(len(events)), "events")
	})
	b.Run("Cohorts", func(b *testing.B) {
		if c == nil {
			c = metrics.NewCollector("t1", nil)
			if err := c.AddEvents(events...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Cohorts(metrics.CohortOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReports1M times each report on a Collector already holding the
// 1,000,000 customers of BenchmarkCohorts1M (compacted by a first report
// before the timer starts).
func BenchmarkReports1M(b *testing.B) {
	events := genEvents(1_000_000, 1)
	c := metrics.NewCollector("t1", nil)
	if err := c.AddEvents(events...); err != nil {
		b.Fatal(err)
	}
	events = nil
	loc := scrm.DefaultLocation()
	from, to := time.Date(2024, 6, 1, 0, 0, 0, 0, loc), time.Date(2024, 7, 1, 0, 0, 0, 0, loc)
	for _, r := range []struct {
		name string
		run  func() error
	}{
		{"Cohorts", func() error { _, err := c.Cohorts(metrics.CohortOptions{}); return err }},
		{"Funnel", func() error {
			_, err := c.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel()})
			return err
		}},
		{"Repurchase", func() error { _, err := c.Repurchase(metrics.RepurchaseOptions{From: from, To: to}); return err }},
		{"PredictLTV", func() error { _, err := c.PredictLTV(metrics.PredictOptions{From: from, To: to}); return err }},
		{"AcquisitionWeekly", func() error {
			_, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByStore, Period: metrics.Week})
			return err
		}},
		{"Stores", func() error { _, err := c.Stores(metrics.StoreOptions{}); return err }},
	} {
		if err := r.run(); err != nil {
			b.Fatal(err)
		}
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := r.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
