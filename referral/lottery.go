package referral

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Entrant is one place in a lottery draw: a member of a successful lottery
// team. A customer in two successful teams has two places.
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
	Entrants []Entrant // every member of every successful lottery team (Team.Lottery): teams by ID, members in join order
	Winners  []Entrant // in the order drawn
	// GroupBuyRevision is the Revision of the group buy the draw was made
	// on (its Lottery, End and Duration); Store.SaveDraw stores the draw
	// only while the group buy still has it.
	GroupBuyRevision int64
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

// DrawGroupBuy draws a lottery group buy once every team has finished: not
// before End + Duration, and not while any team of it is still open. A team
// keeps the ExpiresAt it opened with, so after the group buy was saved with
// a shorter Duration a team opened before may run past End + Duration; the
// draw waits for it, since a team that fills in its time must be entered.
// The members of the successful teams opened as lottery teams
// (Team.Lottery) enter, Lottery.Winners of them win
// (EventLotteryWon), and the others lose (EventLotteryLost, whose Amount is
// the refund: the Price of the loser's team, what they paid, whatever the
// group buy's price is now) and are granted the Consolation rewards. The
// seed (from Options.Seed) is recorded with the draw, so the outcome can be
// audited with DrawWinners. A team opened while the group buy had no
// Lottery is not entered: its members were fulfilled (SaveGroupBuy refuses
// to add a Lottery once such a team was opened, as it refuses to remove it
// or change its Winners or Consolation once a lottery team was opened).
// The draw is final: no team opens after it (Open), and SaveGroupBuy
// refuses a later End, a longer Duration or any change to the Lottery, so
// every successful lottery team is entered and a failed consolation grant
// is retried with the rewards it was drawn with.
// The draw is stored only on the group buy it read (Draw.GroupBuyRevision):
// when the group buy was saved meanwhile, DrawGroupBuy reads it and draws
// again (a few times; then ErrUnavailable).
// Calling DrawGroupBuy again returns the recorded draw and finishes any
// grant or event that failed. (Service.Draw is the lucky draw's.)
//
// Errors: ErrNotFound for an unknown group buy; ErrInvalid (field
// "GroupBuy") when it is not a lottery; ErrForbidden carrying
// ReasonDrawNotDue before End + Duration, or while a team is open (its
// time has not run out).
func (s *Service) DrawGroupBuy(ctx context.Context, tenant scrm.TenantID, groupBuy string) (Draw, error) {
	const op = "referral.DrawGroupBuy"
	if err := checkTenantID(op, tenant, "GroupBuy", groupBuy); err != nil {
		return Draw{}, err
	}
	for try := 1; ; try++ {
		d, err := s.drawGroupBuy(ctx, op, tenant, groupBuy)
		if conflictOn(err, "GroupBuyRevision") {
			// Saved since it was read: draw on what it is now.
			if try < maxGroupBuyTries {
				continue
			}
			return Draw{}, groupBuyUnavailable(op, groupBuy, err)
		}
		return d, err
	}
}

// drawGroupBuy is one attempt of DrawGroupBuy: the store refuses to save
// its draw, with ErrConflict naming "GroupBuyRevision", when the group buy
// was saved since it was read.
func (s *Service) drawGroupBuy(ctx context.Context, op string, tenant scrm.TenantID, groupBuy string) (Draw, error) {
	g, err := s.store.GetGroupBuy(ctx, tenant, groupBuy)
	if err != nil {
		return Draw{}, scrm.Wrap(nil, op, err)
	}
	if g.Lottery == nil {
		return Draw{}, scrm.Invalid(op, "GroupBuy", "group buy %s is not a lottery", groupBuy)
	}
	d, err := s.store.GetDraw(ctx, tenant, groupBuy)
	if err == nil {
		prices, err := s.teamPrices(ctx, tenant, groupBuy, nil)
		if err != nil {
			return d, scrm.Wrap(nil, op, err)
		}
		return d, s.drawEffects(ctx, op, g, d, prices)
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
	// What is still open now expires after now: a team opened under a
	// longer Duration. No team can open any more (now is past End), so
	// once none is open, the successful teams are all there will be.
	until, err := s.openUntil(ctx, tenant, groupBuy)
	if err != nil {
		return Draw{}, scrm.Wrap(nil, op, err)
	}
	if !until.IsZero() {
		return Draw{}, refuse(scrm.ErrForbidden, op, ReasonDrawNotDue, "a team opened under a longer Duration may still be filling until "+until.Format(time.RFC3339))
	}
	var entrants []Entrant
	prices, err := s.teamPrices(ctx, tenant, groupBuy, func(t *Team) {
		if !t.Lottery {
			return // opened as a regular team: its members are fulfilled
		}
		for _, m := range t.Members {
			entrants = append(entrants, Entrant{Team: t.ID, Customer: m.Customer})
		}
	})
	if err != nil {
		return Draw{}, scrm.Wrap(nil, op, err)
	}
	seed := s.opts.Seed()
	d = Draw{Tenant: tenant, GroupBuy: groupBuy, Seed: seed, At: now, Entrants: entrants,
		Winners: DrawWinners(seed, entrants, g.Lottery.Winners), GroupBuyRevision: g.Revision}
	d, _, err = s.store.SaveDraw(ctx, d) // a concurrent DrawGroupBuy may have won: use what is stored
	if err != nil {
		return Draw{}, scrm.Wrap(nil, op, err)
	}
	return d, s.drawEffects(ctx, op, g, d, prices)
}

// openUntil returns the latest ExpiresAt of the group buy's open teams,
// zero when none is open.
func (s *Service) openUntil(ctx context.Context, tenant scrm.TenantID, groupBuy string) (time.Time, error) {
	var until time.Time
	cursor := ""
	for {
		page, err := s.store.ListTeams(ctx, ListTeamsParams{Tenant: tenant, GroupBuy: groupBuy, Status: TeamOpen, Cursor: cursor, Limit: 1000})
		if err != nil {
			return time.Time{}, err
		}
		for _, t := range page.Teams {
			if t.ExpiresAt.After(until) {
				until = t.ExpiresAt
			}
		}
		if page.Next == "" {
			return until, nil
		}
		cursor = page.Next
	}
}

// teamPrices returns the Price of each successful team of the group buy,
// by team ID: what its members paid, and what a loser of its lottery is
// refunded. each, when not nil, is called with every such team, in ID
// order.
func (s *Service) teamPrices(ctx context.Context, tenant scrm.TenantID, groupBuy string, each func(t *Team)) (map[string]decimal.Decimal, error) {
	prices := map[string]decimal.Decimal{}
	cursor := ""
	for {
		page, err := s.store.ListTeams(ctx, ListTeamsParams{Tenant: tenant, GroupBuy: groupBuy, Status: TeamSucceeded, Cursor: cursor, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for i := range page.Teams {
			t := &page.Teams[i]
			prices[t.ID] = t.Price
			if each != nil {
				each(t)
			}
		}
		if page.Next == "" {
			return prices, nil
		}
		cursor = page.Next
	}
}

// drawEffects publishes every entrant's outcome and grants the losers'
// consolation rewards; all idempotent. prices holds the Price of each
// entrant's team (see teamPrices): a loser is refunded what they paid,
// which is their team's price, not the group buy's, which may have changed
// since.
func (s *Service) drawEffects(ctx context.Context, op string, g GroupBuy, d Draw, prices map[string]decimal.Decimal) error {
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
			price, ok := prices[e.Team]
			if !ok {
				errs = append(errs, scrm.Errorf(scrm.ErrNotFound, op, "team %s of the draw of group buy %s is not a successful team of it", e.Team, g.ID))
				continue
			}
			ev.Amount = price
			rg := rewardGrant{tenant: d.Tenant, program: program, source: "referral:" + program, role: "consolation",
				about1: e.Team, about2: string(e.Customer)}
			_, err := s.grant(ctx, program, rg.add(nil, e.Customer, g.Lottery.Consolation))
			errs = append(errs, err)
		}
		errs = append(errs, s.publish(ctx, ev))
	}
	return joinErrs(op, errs)
}
