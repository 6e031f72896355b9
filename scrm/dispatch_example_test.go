package scrm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// A Dispatcher runs Profiles first, so every later handler sees a profile
// that already includes the event; events a handler publishes are delivered
// after the current one has reached every handler.
func ExampleDispatcher() {
	ctx := context.Background()
	profiles := scrm.NewProfiles(scrm.NewMemoryProfileStore(), nil)
	var d *scrm.Dispatcher
	// A tiny "rule": a customer's second order earns a tag event.
	repeat := scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
		if e.Type != scrm.EventOrderPaid {
			return nil
		}
		p, err := profiles.Get(ctx, e.Tenant, e.Customer)
		if err != nil {
			return err
		}
		if p.Count(scrm.EventOrderPaid, time.Time{}) == 2 {
			return d.Publish(ctx, scrm.Event{ID: "tag:" + e.ID, Tenant: e.Tenant, Customer: e.Customer,
				Type: scrm.EventTagApplied, Time: e.Time, Props: map[string]any{"tag": "复购"}})
		}
		return nil
	})
	logger := scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
		if tag := e.Prop("tag"); tag != "" {
			fmt.Println("seen:", e.Type, tag)
			return nil
		}
		fmt.Println("seen:", e.Type)
		return nil
	})
	d = scrm.NewDispatcher(profiles, repeat, logger)

	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, amount := range []string{"59.00", "128.00"} {
		err := d.Publish(ctx, scrm.Event{ID: fmt.Sprint("order-", i), Tenant: "shop", Customer: "c1",
			Type: scrm.EventOrderPaid, Time: t0.Add(time.Duration(i) * 24 * time.Hour), Amount: scrm.Yuan(amount)})
		if err != nil {
			fmt.Println(err)
		}
	}
	p, _ := profiles.Get(ctx, "shop", "c1")
	fmt.Println("orders:", p.Count(scrm.EventOrderPaid, time.Time{}), "spent:", p.Sum(scrm.EventOrderPaid, time.Time{}).StringFixed(2))
	// Output:
	// seen: order.paid
	// seen: order.paid
	// seen: tag.applied 复购
	// orders: 2 spent: 187.00
}
