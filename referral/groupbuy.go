package referral

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// GroupBuy is a group-buying campaign (拼团): a leader opens a team, friends
// join, and a team that gets Size members within Duration buys at Price;
// one that does not fails and every member is refunded.
//
// With a Lottery (抽奖团, e.g. teams of 10 paying ¥1 each, 50 prizes across
// all teams), the members of every successful lottery team (Team.Lottery)
// enter one draw after the campaign (Service.DrawGroupBuy): Winners of them
// win, the others are refunded and get the Consolation rewards. Such a
// Lottery sets only Winners and Consolation; its other fields are a lucky
// draw's. Once a team was opened as a lottery team, SaveGroupBuy refuses
// to remove the Lottery or change its Winners or Consolation; once one was
// opened without a Lottery, it refuses to add one. Once drawn, the draw is
// final: no team opens any more, and SaveGroupBuy refuses a later End, a
// longer Duration and any change to the Lottery.
type GroupBuy struct {
	Tenant   scrm.TenantID
	ID       string
	Size     int             // members per team, leader included; at least 2
	Duration time.Duration   // how long a team has to fill up; a team keeps the Duration it opened with
	Price    decimal.Decimal // what each member pays
	Lottery  *Lottery
	// Start and End bound when teams may be opened (Start ≤ t < End); zero
	// Start: from the beginning, zero End: no end. A lottery needs an End:
	// it is drawn once every team has finished, at End + Duration, or
	// later while a team opened under a longer Duration (the group buy was
	// saved with a shorter one since) is still open.
	Start, End time.Time
	// Revision is set by the Store: 1 when the group buy is first stored,
	// one more each time it is saved. SaveGroupBuy ignores the value given.
	// Open and DrawGroupBuy act only on the revision they read (see
	// Store.OpenTeam and Store.SaveDraw), so that a save racing with them
	// makes them read it again.
	Revision int64
}

// Validate reports the first malformed field of g as an error matching
// scrm.ErrInvalid and naming it.
func (g GroupBuy) Validate() error {
	const op = "referral group buy"
	if err := scrm.CheckID(op, "Tenant", string(g.Tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "ID", g.ID); err != nil {
		return err
	}
	bad := func(field, format string, args ...any) error {
		return at(op, g.ID, field, fmt.Errorf(format, args...))
	}
	switch {
	case g.Size < 2:
		return bad("Size", "a team needs at least 2 members, got %d", g.Size)
	case g.Duration <= 0:
		return bad("Duration", "must be positive, got %s", g.Duration)
	case !g.End.IsZero() && !g.End.After(g.Start):
		return bad("End", "must be after Start")
	}
	if err := checkMoney(g.Price); err != nil {
		return at(op, g.ID, "Price", err)
	}
	if l := g.Lottery; l != nil {
		switch {
		case l.Winners < 1:
			return bad("Lottery.Winners", "must be positive, got %d", l.Winners)
		case g.End.IsZero():
			return bad("End", "required for a lottery, which is drawn after the last team finishes")
		}
		if f := l.luckyDrawField(); f != "" {
			return bad("Lottery."+f, "only for a lucky draw (Service.SaveLottery); a group buy's lottery has Winners and Consolation")
		}
		if err := checkRewards(op, g.ID, "Lottery.Consolation", l.Consolation); err != nil {
			return err
		}
	}
	return nil
}

func (g GroupBuy) clone() GroupBuy {
	if g.Lottery != nil {
		l := g.Lottery.clone()
		g.Lottery = &l
	}
	return g
}

// TeamStatus is the state of a group-buy team.
type TeamStatus string

// The team statuses.
const (
	TeamOpen      TeamStatus = "open"      // waiting for members
	TeamSucceeded TeamStatus = "succeeded" // filled in time
	TeamFailed    TeamStatus = "failed"    // did not fill in time: refund every member
)

// Member is one member of a team.
type Member struct {
	Customer scrm.CustomerID
	JoinedAt time.Time
}

// Team is one group-buy team. The leader is its first member.
type Team struct {
	Tenant    scrm.TenantID
	ID        string
	GroupBuy  string
	Leader    scrm.CustomerID
	Size      int             // from the group buy, when opened
	Price     decimal.Decimal // from the group buy, when opened
	Lottery   bool            // the group buy was a lottery when the team opened: its members enter the draw
	Members   []Member        // in join order
	OpenedAt  time.Time
	ExpiresAt time.Time // OpenedAt + Duration
	Status    TeamStatus
	ClosedAt  time.Time // when it filled, or ExpiresAt when it failed
	// Reported is set once the team's outcome was published (one event per
	// member); Sweep publishes outcomes not yet reported.
	Reported bool
}

func (t Team) clone() Team {
	t.Members = append([]Member(nil), t.Members...)
	return t
}

// Has reports whether the customer is a member of the team.
func (t Team) Has(c scrm.CustomerID) bool {
	for _, m := range t.Members {
		if m.Customer == c {
			return true
		}
	}
	return false
}

// SaveGroupBuy validates g and stores it, replacing the group buy of the
// same ID; teams already open keep the size and price they opened with.
//
// A group buy keeps the kind its teams were opened as (Team.Lottery):
// once any team was opened as a lottery team, removing the Lottery or
// changing its Winners or Consolation is refused (its members wait for
// that draw: EventTeamSucceeded told the host so); once any team was
// opened without one, adding a Lottery is refused (its members are
// fulfilled). Checking this lists the group buy's teams
// (Store.ListTeams), only when the Lottery is added, removed or changed.
//
// What it checks holds when it stores: the Store puts the group buy only
// if it is still the one read, and no team of the refused kind, or draw,
// was added since it looked (Store.PutGroupBuy). Otherwise SaveGroupBuy
// reads and checks again (a few times; then ErrUnavailable), so that of a
// save and an Open or a DrawGroupBuy running at once, the outcome is one
// of the two orders.
//
// A lottery group buy that was drawn (Service.DrawGroupBuy) keeps what the
// draw was made on: a later End or a longer Duration, which would let in
// teams the draw never enters, and any change to its Lottery (Winners,
// Consolation, or removing it: its losers' consolation is granted from it)
// are refused. Other changes (an earlier End, Price, Size, ...) are
// stored; no team opens after the draw anyway (see Open).
//
// Errors: ErrInvalid naming the field (a Size below 2, ...); ErrConflict
// naming the field ("End", "Duration", "Lottery", "Lottery.Winners",
// "Lottery.Consolation") for a change to a drawn lottery, or to the kind
// or the draw of a group buy with teams, that is refused; ErrUnavailable
// when the group buy kept changing while it checked; nothing is written.
func (s *Service) SaveGroupBuy(ctx context.Context, g GroupBuy) error {
	const op = "referral.SaveGroupBuy"
	if err := g.Validate(); err != nil {
		return err
	}
	for try := 1; ; try++ {
		p := PutGroupBuyParams{GroupBuy: g}
		old, err := s.store.GetGroupBuy(ctx, g.Tenant, g.ID)
		switch {
		case is(err, scrm.ErrNotFound):
			// A new group buy: no draw, no team (Revision 0: still none).
		case err != nil:
			return scrm.Wrap(nil, op, err)
		default:
			p.Revision = old.Revision
			if err := s.checkDrawn(ctx, op, old, &p); err != nil {
				return err
			}
			if err := s.checkTeams(ctx, op, old, &p); err != nil {
				return err
			}
		}
		// The store puts only if what was checked still holds: a save, a
		// team or a draw that came in meanwhile makes it check again.
		err = s.store.PutGroupBuy(ctx, p)
		if is(err, scrm.ErrConflict) {
			if try < maxGroupBuyTries {
				continue
			}
			return groupBuyUnavailable(op, g.ID, err)
		}
		return scrm.Wrap(nil, op, err)
	}
}

// maxGroupBuyTries bounds how often SaveGroupBuy, Open and DrawGroupBuy
// read a group buy again when the store finds it changed since they read
// it.
const maxGroupBuyTries = 8

// groupBuyUnavailable is the error of a call that kept finding the group
// buy changed: ErrUnavailable, with the last conflict in the message only
// (an ErrConflict in its chain would read as a refusal of the request).
func groupBuyUnavailable(op, id string, err error) error {
	return scrm.Errorf(scrm.ErrUnavailable, op, "group buy %s changed %d times meanwhile; try again (%v)", id, maxGroupBuyTries, err)
}

// checkDrawn refuses, with ErrConflict naming the field, a p.GroupBuy that
// would replace old, a drawn lottery group buy, with one that lets new
// teams in or changes the terms of its draw (see SaveGroupBuy). When old
// may be drawn and is not, it sets p.NotDrawn.
func (s *Service) checkDrawn(ctx context.Context, op string, old GroupBuy, p *PutGroupBuyParams) error {
	g := p.GroupBuy
	if old.Lottery == nil {
		// Never drawn: DrawGroupBuy draws lotteries only, and a draw is
		// stored only on the revision it read (Store.SaveDraw).
		return nil
	}
	d, err := s.store.GetDraw(ctx, g.Tenant, g.ID)
	if is(err, scrm.ErrNotFound) {
		p.NotDrawn = true // what follows holds of an undrawn group buy only
		return nil
	}
	if err != nil {
		return scrm.Wrap(nil, op, err)
	}
	conflict := func(field, msg string) error {
		return &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: field,
			Msg: "group buy " + g.ID + " was drawn at " + d.At.Format(time.RFC3339) + ": " + msg}
	}
	switch {
	case g.End.After(old.End):
		return conflict("End", "a later End would open teams the draw never enters")
	case g.Duration > old.Duration:
		return conflict("Duration", "the draw was made once every team had finished; a longer Duration cannot apply")
	case g.Lottery == nil:
		return conflict("Lottery", "the lottery cannot be removed: its losers are granted its Consolation")
	case g.Lottery.Winners != old.Lottery.Winners:
		return conflict("Lottery.Winners", "the winners were drawn with "+strconv.Itoa(old.Lottery.Winners))
	case !slices.EqualFunc(g.Lottery.Consolation, old.Lottery.Consolation, sameReward):
		return conflict("Lottery.Consolation", "the losers are granted the Consolation the draw was made with")
	}
	return nil
}

// checkTeams refuses, with ErrConflict naming the field, a p.GroupBuy that
// would replace old with a group buy of the other kind, or with other terms
// for the draw, while old has teams of its kind (see SaveGroupBuy): a
// lottery team's members wait for the draw, a regular team's are
// fulfilled. When it finds none, it sets p.NoLotteryTeams or
// p.NoRegularTeams, so that the store puts only while there is still none.
func (s *Service) checkTeams(ctx context.Context, op string, old GroupBuy, p *PutGroupBuyParams) error {
	g := p.GroupBuy
	var field, msg string
	lottery := old.Lottery != nil // the kind of team that forbids the change
	switch {
	case old.Lottery == nil && g.Lottery == nil:
		return nil
	case old.Lottery == nil:
		field, msg = "Lottery", "a lottery cannot be added: the members of its regular team %s are fulfilled, not drawn"
	case g.Lottery == nil:
		field, msg = "Lottery", "the lottery cannot be removed: the members of its lottery team %s wait for its draw"
	case g.Lottery.Winners != old.Lottery.Winners:
		field, msg = "Lottery.Winners", "its lottery team %s was opened for a draw of "+strconv.Itoa(old.Lottery.Winners)+" winners"
	case !slices.EqualFunc(g.Lottery.Consolation, old.Lottery.Consolation, sameReward):
		field, msg = "Lottery.Consolation", "its lottery team %s was opened with the Consolation its losers are granted"
	default:
		return nil
	}
	cursor := ""
	for {
		page, err := s.store.ListTeams(ctx, ListTeamsParams{Tenant: g.Tenant, GroupBuy: g.ID, Cursor: cursor, Limit: 1000})
		if err != nil {
			return scrm.Wrap(nil, op, err)
		}
		for _, t := range page.Teams {
			if t.Lottery == lottery {
				return &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: field,
					Msg: "group buy " + g.ID + ": " + fmt.Sprintf(msg, t.ID)}
			}
		}
		if page.Next == "" {
			if lottery {
				p.NoLotteryTeams = true
			} else {
				p.NoRegularTeams = true
			}
			return nil
		}
		cursor = page.Next
	}
}

// GroupBuy returns a stored group buy.
//
// Errors: ErrNotFound.
func (s *Service) GroupBuy(ctx context.Context, tenant scrm.TenantID, id string) (GroupBuy, error) {
	const op = "referral.GroupBuy"
	if err := checkTenantID(op, tenant, "GroupBuy", id); err != nil {
		return GroupBuy{}, err
	}
	g, err := s.store.GetGroupBuy(ctx, tenant, id)
	return g, scrm.Wrap(nil, op, err)
}

// Open opens a team of the group buy with leader as its first member, or
// returns the leader's team of it that is still open (so a double tap opens
// one team). The team has the group buy's Duration to fill. A lottery
// group buy takes no new team once drawn (Service.DrawGroupBuy), whatever
// its End: the draw would never enter it. The team is opened under the
// group buy as stored when it is inserted: when it was saved (or removed)
// since Open read it, Open reads it again and answers for what it is now
// (a few times; then ErrUnavailable).
//
// Errors: ErrNotFound for an unknown group buy; ErrExpired carrying
// ReasonNotRunning outside its Start/End, and for a lottery group buy that
// was drawn.
func (s *Service) Open(ctx context.Context, tenant scrm.TenantID, groupBuy string, leader scrm.CustomerID) (Team, error) {
	const op = "referral.Open"
	if err := checkTenantID(op, tenant, "GroupBuy", groupBuy); err != nil {
		return Team{}, err
	}
	if err := scrm.CheckID(op, "Leader", string(leader)); err != nil {
		return Team{}, err
	}
	now := s.opts.Clock.Now()
	for try := 1; ; try++ {
		g, err := s.store.GetGroupBuy(ctx, tenant, groupBuy)
		if err != nil {
			return Team{}, scrm.Wrap(nil, op, err)
		}
		if now.Before(g.Start) || (!g.End.IsZero() && !now.Before(g.End)) {
			return Team{}, refuse(scrm.ErrExpired, op, ReasonNotRunning, "group buy "+g.ID+" is not open for new teams")
		}
		t := Team{
			Tenant: tenant, ID: s.opts.NewID(), GroupBuy: g.ID, Leader: leader, Size: g.Size, Price: g.Price,
			Lottery: g.Lottery != nil, Members: []Member{{Customer: leader, JoinedAt: now}},
			OpenedAt: now, ExpiresAt: now.Add(g.Duration), Status: TeamOpen,
		}
		// The store refuses a drawn group buy (SaveGroupBuy keeps End after
		// a draw, but one racing with the draw may have moved it), and one
		// saved since g was read: read it again.
		t, _, err = s.store.OpenTeam(ctx, OpenTeamParams{Team: t, Now: now, GroupBuyRevision: g.Revision})
		if conflictOn(err, "GroupBuyRevision") {
			if try < maxGroupBuyTries {
				continue
			}
			return Team{}, groupBuyUnavailable(op, groupBuy, err)
		}
		return t, scrm.Wrap(nil, op, err)
	}
}

// conflictOn reports whether err is, or wraps, an ErrConflict naming field.
func conflictOn(err error, field string) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if se, ok := e.(*scrm.Error); ok && se.Code == scrm.ErrConflict && se.Field == field {
			return true
		}
	}
	return false
}

// Join adds the customer to an open team. The member who fills the team
// makes it succeed, and its outcome is published (EventTeamSucceeded for
// each member). Capacity is enforced by the Store: of many customers racing
// for the last place, exactly one gets it.
//
// Errors: ErrNotFound for an unknown team; ErrConflict carrying
// ReasonAlreadyJoined for a member; ErrExhausted carrying ReasonTeamFull
// for a full team; ErrExpired carrying ReasonTeamClosed for a team whose
// time ran out (which is then failed and reported, if it was not yet).
func (s *Service) Join(ctx context.Context, tenant scrm.TenantID, team string, customer scrm.CustomerID) (Team, error) {
	const op = "referral.Join"
	if err := checkTenantID(op, tenant, "Team", team); err != nil {
		return Team{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(customer)); err != nil {
		return Team{}, err
	}
	now := s.opts.Clock.Now()
	t, err := s.store.JoinTeam(ctx, JoinTeamParams{Tenant: tenant, Team: team, Customer: customer, Now: now})
	if errors.Is(err, scrm.ErrExpired) {
		if _, ferr := s.finishTeams(ctx, ExpireTeamsParams{Tenant: tenant, Team: team, Now: now}); ferr != nil {
			s.opts.Logger.WarnContext(ctx, "referral: finishing an expired team failed", "team", team, "err", ferr)
		}
	}
	if err != nil {
		return Team{}, scrm.Wrap(nil, op, err)
	}
	if t.Status == TeamSucceeded {
		return t, scrm.Wrap(nil, op, s.reportTeam(ctx, t))
	}
	return t, nil
}

// Team returns a team. A team whose time ran out is failed (and reported)
// on the way, so the answer is always current.
//
// Errors: ErrNotFound.
func (s *Service) Team(ctx context.Context, tenant scrm.TenantID, id string) (Team, error) {
	const op = "referral.Team"
	if err := checkTenantID(op, tenant, "Team", id); err != nil {
		return Team{}, err
	}
	t, err := s.store.GetTeam(ctx, tenant, id)
	if err != nil {
		return Team{}, scrm.Wrap(nil, op, err)
	}
	now := s.opts.Clock.Now()
	if t.Status == TeamOpen && !now.Before(t.ExpiresAt) {
		failed, err := s.finishTeams(ctx, ExpireTeamsParams{Tenant: tenant, Team: id, Now: now})
		if err != nil {
			return Team{}, scrm.Wrap(nil, op, err)
		}
		if len(failed) == 1 {
			return failed[0], nil
		}
		// Finished by someone else meanwhile.
		t, err = s.store.GetTeam(ctx, tenant, id)
		return t, scrm.Wrap(nil, op, err)
	}
	return t, nil
}

// SweepResult is what one Sweep did.
type SweepResult struct {
	Failed   []Team // teams this call failed because their time ran out: refund every member
	Reported int    // team outcomes published by this call (including outcomes an earlier failure left unpublished)
	// Draws is the lucky draws this call finished: held draws whose entry
	// it charged, and prizes whose grant it completed.
	Draws int
	// DrawsCancelled is the held lucky draws this call cancelled because
	// their entry cost was refused (see Service.Draw).
	DrawsCancelled int
	// SessionsReported is the bargain completions (EventBargainCompleted)
	// this call published because an earlier publish failed (see
	// Service.Help).
	SessionsReported int
}

// sweepPage is how many teams Sweep handles per store call.
const sweepPage = 200

// Sweep fails every open team of the tenant whose time ran out and
// publishes the outcome of every finished team not yet reported
// (EventTeamFailed / EventTeamSucceeded per member). Teams are also
// finished lazily when touched (Team, Join), so Sweep is only needed for
// teams nobody looks at again; call it every minute or so. It also
// finishes lucky draws left unfinished for longer than Options.GrantLease
// (see Service.Draw): it charges held draws again, with the same key,
// cancelling those whose charge is refused, and completes failed prize
// grants; and it publishes the EventBargainCompleted of every completed
// bargain session not yet reported (see Service.Help). It starts no
// goroutine.
func (s *Service) Sweep(ctx context.Context, tenant scrm.TenantID) (SweepResult, error) {
	const op = "referral.Sweep"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return SweepResult{}, err
	}
	var res SweepResult
	now := s.opts.Clock.Now()
	for {
		failed, err := s.store.ExpireTeams(ctx, ExpireTeamsParams{Tenant: tenant, Now: now, Limit: sweepPage})
		if err != nil {
			return res, scrm.Wrap(nil, op, err)
		}
		res.Failed = append(res.Failed, failed...)
		if len(failed) < sweepPage {
			break
		}
	}
	errs := s.sweepDraws(ctx, op, tenant, now, &res)
	cursor := ""
	for {
		page, err := s.store.ListTeams(ctx, ListTeamsParams{Tenant: tenant, Unreported: true, Cursor: cursor, Limit: sweepPage})
		if err != nil {
			return res, joinErrs(op, append(errs, err))
		}
		for _, t := range page.Teams {
			if err := s.reportTeam(ctx, t); err != nil {
				errs = append(errs, err)
				continue
			}
			res.Reported++
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	cursor = ""
	for {
		page, err := s.store.ListSessions(ctx, ListSessionsParams{Tenant: tenant, Unreported: true, Cursor: cursor, Limit: sweepPage})
		if err != nil {
			return res, joinErrs(op, append(errs, err))
		}
		for _, sess := range page.Sessions {
			if err := s.reportSession(ctx, sess); err != nil {
				errs = append(errs, err)
				continue
			}
			res.SessionsReported++
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	return res, joinErrs(op, errs)
}

// finishTeams fails the expired teams p selects and reports them.
func (s *Service) finishTeams(ctx context.Context, p ExpireTeamsParams) ([]Team, error) {
	failed, err := s.store.ExpireTeams(ctx, p)
	if err != nil {
		return nil, err
	}
	var errs []error
	for i := range failed {
		if err := s.reportTeam(ctx, failed[i]); err != nil {
			errs = append(errs, err)
			continue
		}
		failed[i].Reported = true
	}
	return failed, joinErrs("referral: finish teams", errs)
}

// reportTeam publishes a finished team's outcome, one event per member, and
// marks it reported.
func (s *Service) reportTeam(ctx context.Context, t Team) error {
	if t.Reported || t.Status == TeamOpen {
		return nil
	}
	typ := EventTeamSucceeded
	if t.Status == TeamFailed {
		typ = EventTeamFailed
	}
	for _, m := range t.Members {
		e := scrm.Event{ID: key(typ, t.ID, string(m.Customer)), Tenant: t.Tenant, Customer: m.Customer, Type: typ,
			Time: t.ClosedAt, Amount: t.Price, Props: map[string]any{"group_buy": t.GroupBuy, "team": t.ID}}
		if t.Lottery {
			e.Props["lottery"] = true
		}
		if err := s.publish(ctx, e); err != nil {
			return err
		}
	}
	return s.store.MarkTeamReported(ctx, t.Tenant, t.ID)
}

func checkTenantID(op string, tenant scrm.TenantID, field, id string) error {
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return err
	}
	return scrm.CheckID(op, field, id)
}
