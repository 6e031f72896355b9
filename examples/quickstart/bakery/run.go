package bakery

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"

	"github.com/scrmkit/scrmkit/scrm"
)

// Run simulates the bakery chain's private domain for cfg.Days days and
// returns what happened: the event log, the messages sent, one customer's
// story and the KPIs. It is deterministic: the same Config gives the same
// Result. It checks ctx at the start of every simulated day (and the
// services check it on every call), and it starts no goroutine.
//
// Errors: scrm.ErrInvalid naming the field for a Config out of range;
// scrm.ErrUnavailable when ctx ends; any error of a service, which would be a
// bug of the demo or of the service.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	s, err := simulate(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return s.result()
}

// simulate sets the world up and runs the simulation.
func simulate(ctx context.Context, cfg Config) (*sim, error) {
	loc := scrm.DefaultLocation()
	cfg, err := cfg.withDefaults(loc)
	if err != nil {
		return nil, err
	}
	s := &sim{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0xBA4E21)), shops: chainShops(), menu: menu(),
		byID: map[scrm.CustomerID]*person{}, bindErrors: map[string]int{}}
	s.w = newWorld(ctx, s, cfg.Start)
	if err := s.w.setup(); err != nil {
		return nil, err
	}
	for i := range s.shops {
		for j := range s.shops[i].Staff {
			c := &s.shops[i].Staff[j]
			if c.Code, err = s.w.referrals.StaffCode(ctx, Tenant, c.ID); err != nil {
				return nil, err
			}
		}
	}
	s.people = population(s.rng, cfg, s.shops)
	s.pending = make([]int, len(s.people))
	for i := range s.pending {
		s.pending[i] = i
	}
	slices.SortStableFunc(s.pending, func(a, b int) int {
		return cmp.Compare(s.people[a].arrival.UnixNano(), s.people[b].arrival.UnixNano())
	})
	return s, s.run()
}
