package referral

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Entrant is one place in a lottery draw: a member of a successful team.
// A customer in two successful teams has two places.
type Entrant struct {
	Team     string
	Customer scrm.CustomerID
}

// Draw is the recorded outcome of a lottery group buy. It holds everything
// needed to audit it: DrawWinners(Seed, Entrants, len(Winners)) returns
// Winners again.
type Draw struct {
	Tenant   scrm.TenantID
	GroupBuy string
	Seed     uint64
	At       time.Time
	Entrants []Entrant // every member of every successful team: teams by ID, members in join order
	Winners  []Entrant // in the order drawn
}

func (d Draw) clone() Draw {
	d.Entrants = append([]Entrant(nil), d.Entrants...)
	d.Winners = append([]Entrant(nil), d.Winners...)
	return d
}

// Won reports whether the entrant is among the winners.
func (d Draw) Won(e Entrant) bool {
	for _, w := range d.Winners {
		if w == e {
			return true
		}
	}
	return false
}

// Losers returns the entrants who did not win, in entrant order.
func (d Draw) Losers() []Entrant {
	won := make(map[Entrant]int, len(d.Winners))
	for _, w := range d.Winners {
		won[w]++
	}
	var out []Entrant
	for _, e := range d.Entrants {
		if won[e] > 0 {
			won[e]--
			continue
		}
		out = append(out, e)
	}
	return out
}

// DrawWinners draws n winners from entrants, reproducibly: it runs the
// first n steps of a Fisher–Yates shuffle over the entrants' positions,
// step i swapping position i with i + uniform(len−i), from a PCG seeded with
// (seed, "lottery"). The same seed and entrants always give the same
// winners, in the same order. When n ≥ len(entrants), everyone wins.
func DrawWinners(seed uint64, entrants []Entrant, n int) []Entrant {
	if n > len(entrants) {
		n = len(entrants)
	}
	if n <= 0 {
		return nil
	}
	idx := make([]int, len(entrants))
	for i := range idx {
		idx[i] = i
	}
	var p rand.PCG
	p.Seed(seed, streamLottery)
	out := make([]Entrant, n)
	for i := 0; i < n; i++ {
		j := i + int(uniform(&p, uint64(len(idx)-i)))
		idx[i], idx[j] = idx[j], idx[i]
		out[i] = entrants[idx[i]]
	}
	return out
}

// DrawGroupBuy draws a lottery group buy once every team has finished (at End +
// Duration): the members of the successful teams enter, Lottery.Winners of
// them win (EventLotteryWon), and the others lose (EventLotteryLost: refund
// the price) and are granted the Consolation rewards. The seed (from
// Options.Seed) is recorded with the draw, so the outcome can be audited
// with DrawWinners. Calling DrawGroupBuy again returns the recorded draw
// and finishes any grant or event that failed. (Service.Draw is the lucky
// draw's.)
//
// Errors: ErrNotFound for an unknown group buy; ErrInvalid (field
// "GroupBuy") when it is not a lottery; ErrForbidden carrying
// ReasonDrawNotDue before End + Duration.
func (s *Service) DrawGroupBuy(ctx context.Context, tenant scrm.TenantID, groupBuy string) (Draw, error) {
	const op = "referral.DrawGroupBuy"
	if err := checkTenantID(op, tenant, "GroupBuy", groupBuy); err != nil {
		return Draw{}, err
	}
	g, err := s.store.GetGroupBuy(ctx, tenant, groupBuy)
	if err != nil {
		return Draw{}, scrm.Wrap(nil, op, err)
	}
	if g.Lottery == nil {
		return Draw{}, scrm.Invalid(op, "GroupBuy", "group buy %s is not a lottery", groupBuy)
	}
	d, err := s.store.GetDraw(ctx, tenant, groupBuy)
	if err == nil {
		return d, s.drawEffects(ctx, op, g, d)
	}
	if !is(err, scrm.ErrNotFound) {
		return Draw{}, scrm.Wrap(nil, op, err)
	}
	now := s.opts.Clock.Now()
	if due := g.End.Add(g.Duration); now.Before(due) {
		return Draw{}, refuse(scrm.ErrForbidden, op, ReasonDrawNotDue, "teams may still be filling until "+due.Format(time.RFC3339))
	}
	if _, err := s.finishTeams(ctx, ExpireTeamsParams{Tenant: tenant, GroupBuy: groupBuy, Now: now}); err != nil {
		return Draw{}, scrm.Wrap(nil, op, err)
	}
	var entrants []Entrant
	cursor := ""
	for {
		page, err := s.store.ListTeams(ctx, ListTeamsParams{Tenant: tenant, GroupBuy: groupBuy, Status: TeamSucceeded, Cursor: cursor, Limit: 1000})
		if err != nil {
			return Draw{}, scrm.Wrap(nil, op, err)
		}
		for _, t := range page.Teams {
			for _, m := range t.Members {
				entrants = append(entrants, Entrant{Team: t.ID, Customer: m.Customer})
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	seed := s.opts.Seed()
	d = Draw{Tenant: tenant, GroupBuy: groupBuy, Seed: seed, At: now, Entrants: entrants,
		Winners: DrawWinners(seed, entrants, g.Lottery.Winners)}
	d, _, err = s.store.SaveDraw(ctx, d) // a concurrent DrawGroupBuy may have won: use what is stored
	if err != nil {
		return Draw{}, scrm.Wrap(nil, op, err)
	}
	return d, s.drawEffects(ctx, op, g, d)
}

// drawEffects publishes every entrant's outcome and grants the losers'
// consolation rewards; all idempotent.
func (s *Service) drawEffects(ctx context.Context, op string, g GroupBuy, d Draw) error {
	var errs []error
	seed := strconv.FormatUint(d.Seed, 10)
	won := make(map[Entrant]int, len(d.Winners))
	for _, w := range d.Winners {
		won[w]++
	}
	program := "groupbuy:" + g.ID
	for _, e := range d.Entrants {
		typ := EventLotteryLost
		if won[e] > 0 {
			won[e]--
			typ = EventLotteryWon
		}
		ev := scrm.Event{ID: key(typ, g.ID, e.Team, string(e.Customer)), Tenant: d.Tenant, Customer: e.Customer, Type: typ, Time: d.At,
			Props: map[string]any{"group_buy": g.ID, "team": e.Team, "draw_seed": seed}}
		if typ == EventLotteryLost {
			ev.Amount = g.Price
			rg := rewardGrant{tenant: d.Tenant, program: program, source: "referral:" + program, role: "consolation",
				about1: e.Team, about2: string(e.Customer)}
			_, err := s.grant(ctx, program, rg.add(nil, e.Customer, g.Lottery.Consolation))
			errs = append(errs, err)
		}
		errs = append(errs, s.publish(ctx, ev))
	}
	return joinErrs(op, errs)
}
