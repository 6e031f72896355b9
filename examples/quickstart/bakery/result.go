package bakery

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Result is what a run produced.
type Result struct {
	// Config is the run's configuration with defaults filled in.
	Config Config
	// Start and End bound the simulated period [Start, End) in the
	// tenant's zone.
	Start, End time.Time

	// People is how many people were generated; Customers how many live
	// customers the Directory holds at the end (people who arrived),
	// Merged how many duplicate customers it merged into them.
	People, Customers, Merged int
	// Events counts the events delivered by the Dispatcher, by type.
	Events map[string]int
	// Orders is the number of orders paid, Revenue what they paid and
	// Discount what coupons took off.
	Orders            int
	Revenue, Discount decimal.Decimal
	// Messages is the one-to-one messages sent, GroupPosts the group posts.
	Messages, GroupPosts int
	// BindRefused counts referral bindings refused, by reason.
	BindRefused map[string]int

	// Story is the narrated timeline of one customer.
	Story Story
	// KPIs are the business metrics.
	KPIs KPIs

	// Log is every event the Dispatcher delivered, in delivery order, and
	// Sent every message the channel sent, with its simulated send time.
	Log  []scrm.Event
	Sent []SentMessage
}

// SentMessage is a message the recording channel sent, and when (simulated).
type SentMessage struct {
	At time.Time
	scrm.Message
}

// result gathers the Result once the run is over.
func (s *sim) result() (*Result, error) {
	r := &Result{Config: s.cfg, Start: s.cfg.Start, End: s.end, People: len(s.people), Events: map[string]int{},
		BindRefused: s.bindErrors, Log: s.events}
	for _, p := range s.people {
		if p.arrived {
			r.Customers++
		}
		if p.dup != "" {
			r.Merged++
		}
	}
	for _, e := range s.events {
		r.Events[e.Type]++
		if e.Type == scrm.EventOrderPaid {
			r.Orders++
			r.Revenue = r.Revenue.Add(e.Amount)
			if d := e.Prop("discount"); d != "" {
				r.Discount = r.Discount.Add(scrm.Yuan(d))
			}
		}
	}
	r.Sent = s.sends
	for _, m := range s.sends {
		if m.Group != "" {
			r.GroupPosts++
		} else {
			r.Messages++
		}
	}
	var err error
	if r.Story, err = s.story(s.pickHero()); err != nil {
		return nil, err
	}
	if r.KPIs, err = s.kpis(); err != nil {
		return nil, err
	}
	return r, nil
}
