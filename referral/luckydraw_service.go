package referral

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// SaveLottery validates a lucky draw and stores it, replacing the lottery
// of the same ID, and returns it as stored. A new lottery gets its Seed
// from Options.Seed; a replaced one keeps its seed and what its draws won,
// so changing Stock or Weight takes effect from the next draw, and earlier
// draws stay auditable from their own records. Keep the order of Prizes
// while a lottery runs: the weighted pick walks them in order.
//
// Errors: ErrInvalid naming the field (also EntryCostPoints when
// Options.PointsSpender is not set); ErrConflict when another lottery of
// the tenant has the same Keyword in an overlapping Start–End window.
// Nothing is written on error.
func (s *Service) SaveLottery(ctx context.Context, l Lottery) (Lottery, error) {
	const op = "referral.SaveLottery"
	if err := l.Validate(); err != nil {
		return Lottery{}, err
	}
	if l.EntryCostPoints > 0 && s.opts.PointsSpender == nil {
		return Lottery{}, at("referral lottery", l.ID, "EntryCostPoints",
			errors.New("an entry cost needs Options.PointsSpender (wire it to the member service)"))
	}
	l = l.clone()
	l.Seed = s.opts.Seed()
	out, err := s.store.PutLottery(ctx, l)
	return out, scrm.Wrap(nil, op, err)
}

// Lottery returns a stored lucky draw.
//
// Errors: ErrNotFound.
func (s *Service) Lottery(ctx context.Context, tenant scrm.TenantID, id string) (Lottery, error) {
	const op = "referral.Lottery"
	if err := checkTenantID(op, tenant, "ID", id); err != nil {
		return Lottery{}, err
	}
	l, err := s.store.GetLottery(ctx, tenant, id)
	return l, scrm.Wrap(nil, op, err)
}

// Draw makes one lucky draw for a customer: a prize or nothing, by the
// lottery's weights (see Lottery for the odds and what happens as prizes
// run out).
//
// The Store makes the draw in one atomic step (Store.EnterLottery): it
// checks the lottery's window, the customer's draws that calendar day
// (the tenant's zone, Options.LocationOf) and whether anything is left to
// win, numbers the draw (Seq), picks the outcome with PickPrize from the
// lottery's seed, and holds the prize's stock, so that a prize is never
// won more often than its Stock however many customers race for it.
//
// A lottery with an EntryCostPoints charges it after that step and before
// the outcome counts: the draw is held (DrawPending) while
// Options.PointsSpender charges the points with a key derived from the
// draw. Charging only once the stock and the daily place are held means
// a draw that cannot happen never takes points, so nothing is ever
// refunded. When the charge is refused (not enough points: the
// PointsSpender's error, e.g. ErrExhausted), the held draw is cancelled,
// giving its stock and daily place back, and Draw returns that error,
// carrying ReasonEntryNotPaid; nothing was charged and nothing stays
// written but for the draw number it took (Seq has a gap there), and the
// same key may draw again, say after a top-up. When the charge fails for a reason that may pass
// (ErrUnavailable), the draw stays held and Draw returns the error: call
// again with the same key (or let Sweep do it) and the charge is retried
// with the same key, so the customer pays at most once. The outcome is
// only revealed once paid.
//
// A customer is never charged without a draw. Two requests with one key
// may race over the charge: one's charge is refused (the balance was short
// at that moment) and it cancels the held draw, while the other's goes
// through. The request that paid then draws again as paid
// (EnterLotteryParams.Paid), on the same day at the same cost: the charge
// entitles the customer to the draw, so this one is made whatever the
// daily limit (it may take the customer past PerCustomerPerDay, as
// another draw may have taken the place meanwhile), the window and the
// stock (with no prize left it wins nothing), is never cancelled, and is
// charged again with the same key, which the PointsSpender replays, so the
// customer pays once.
//
// Then the prize's reward is granted through Options.Rewarder, once, with
// the idempotency key "referral:lottery:<lottery>:<request key>:prize",
// and EventDrawn is published. If the grant fails, the draw stands: Draw
// returns it with the Rewarder's error, and calling again with the same
// key, or Sweep, finishes the grant.
//
// The same IdempotencyKey returns the recorded draw and charges and grants
// nothing more. The record holds its seed, number and odds: see
// DrawResult.Audit.
//
// Errors: ErrInvalid for a missing field; ErrNotFound for an unknown
// lottery; ErrConflict when the key was used for another customer or
// lottery; ErrExpired carrying ReasonNotRunning outside Start–End;
// ErrExhausted carrying ReasonDailyLimit or ReasonSoldOut; the
// PointsSpender's error carrying ReasonEntryNotPaid.
func (s *Service) Draw(ctx context.Context, req DrawRequest) (DrawResult, error) {
	const op = "referral.Draw"
	if err := checkTenantID(op, req.Tenant, "Lottery", req.Lottery); err != nil {
		return DrawResult{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(req.Customer)); err != nil {
		return DrawResult{}, err
	}
	if err := scrm.CheckID(op, "IdempotencyKey", req.IdempotencyKey); err != nil {
		return DrawResult{}, err
	}
	return s.draw(ctx, op, req, s.opts.Clock.Now())
}

// draw runs a validated request at now.
func (s *Service) draw(ctx context.Context, op string, req DrawRequest, now time.Time) (DrawResult, error) {
	d, created, err := s.store.EnterLottery(ctx, EnterLotteryParams{
		Tenant: req.Tenant, Lottery: req.Lottery, Customer: req.Customer, IdempotencyKey: req.IdempotencyKey,
		ID: key("lottery", req.Lottery, req.IdempotencyKey), Day: s.days.of(now, s.opts.LocationOf(req.Tenant)),
		Now: now, GrantUntil: now.Add(s.opts.GrantLease),
	})
	if err != nil {
		return DrawResult{}, scrm.Wrap(nil, op, err)
	}
	// A new free draw that won comes with the claim on its grant.
	return s.finishDraw(ctx, op, d, created && d.Status == DrawSettled && d.Won())
}

// maxPaidReentries bounds how often finishDraw draws again under one paid
// charge. Once is enough with a Store that keeps its promises (a draw
// entered as paid is never cancelled); the bound only keeps a broken one
// from looping.
const maxPaidReentries = 3

// finishDraw takes a stored draw as far as it goes: charge and settle a
// held one, grant a prize not yet granted, publish the outcome. Every step
// is idempotent, so it runs again on replays and from Sweep. claimed tells
// that the caller holds the claim on the prize's grant already.
func (s *Service) finishDraw(ctx context.Context, op string, d DrawResult, claimed bool) (DrawResult, error) {
	for reentries := 0; d.Status == DrawPending; {
		if err := s.chargeEntry(ctx, d); err != nil {
			if scrm.CodeOf(err) == scrm.ErrUnavailable {
				return DrawResult{}, scrm.Wrap(scrm.ErrUnavailable, op, err)
			}
			return s.cancelDraw(ctx, op, d, err)
		}
		now := s.opts.Clock.Now()
		settled, c, err := s.store.SettleLotteryDraw(ctx, SettleLotteryDrawParams{Tenant: d.Tenant, Key: d.IdempotencyKey,
			At: now, GrantUntil: now.Add(s.opts.GrantLease)})
		if is(err, scrm.ErrNotFound) {
			// The charge went through, but a concurrent caller with the
			// same key had its charge refused (the balance changed in
			// between) and cancelled the draw. The customer paid, so the
			// draw must exist: draw again as paid, which no daily limit,
			// stock or window refuses, nor any caller cancels.
			if reentries == maxPaidReentries {
				return DrawResult{}, scrm.Errorf(scrm.ErrUnavailable, op, "draw %s keeps being cancelled under its paid charge; retry", d.ID)
			}
			reentries++
			if d, claimed, err = s.reenterPaid(ctx, d); err != nil {
				return DrawResult{}, scrm.Wrap(nil, op, err)
			}
			continue
		}
		if err != nil {
			return DrawResult{}, scrm.Wrap(nil, op, err)
		}
		d.Status, d.SettledAt, claimed = DrawSettled, settled, c
	}
	var gerr, perr error
	if d.Won() && d.GrantedAt.IsZero() {
		gerr = s.grantPrize(ctx, &d, claimed)
	}
	if !s.noEvents {
		perr = s.publish(ctx, drawnEvent(d))
	}
	if gerr == nil && perr == nil {
		return d, nil // no slice for the usual case: a draw allocates little
	}
	return d, joinErrs(op, []error{gerr, perr})
}

// grantPrize grants a settled draw's prize through the Rewarder, once
// across every caller: only the holder of the claim on the grant (the
// Store's ClaimLotteryGrant) calls the Rewarder, with the key
// "referral:lottery:<lottery>:<request key>:prize", then marks the draw
// granted, or releases the claim when the grant failed so that the next
// attempt retries at once. A caller that crashed mid-grant leaves a claim
// that runs out after Options.GrantLease; the grant is then retried with
// the same key, which the Rewarder deduplicates.
func (s *Service) grantPrize(ctx context.Context, d *DrawResult, claimed bool) error {
	if !claimed {
		now := s.opts.Clock.Now()
		c, err := s.store.ClaimLotteryGrant(ctx, ClaimLotteryGrantParams{Tenant: d.Tenant, Key: d.IdempotencyKey,
			Now: now, Until: now.Add(s.opts.GrantLease)})
		if err != nil || !c {
			return err // granted already, or being granted by another caller
		}
	}
	g := scrm.Grant{Tenant: d.Tenant, Customer: d.Customer, Reward: d.Reward,
		IdempotencyKey: key("referral", "lottery", d.Lottery, d.IdempotencyKey, "prize"),
		Source:         "referral:lottery:" + d.Lottery}
	if err := s.opts.Rewarder.Grant(ctx, g); err != nil {
		_ = s.store.ReleaseLotteryGrant(context.WithoutCancel(ctx), d.Tenant, d.IdempotencyKey) // else the claim runs out
		return scrm.Wrap(nil, "referral: grant "+g.IdempotencyKey, err)
	}
	now := s.opts.Clock.Now()
	if err := s.store.MarkLotteryDrawGranted(ctx, d.Tenant, d.IdempotencyKey, now); err != nil {
		return err // granted, not marked: the claim runs out and the grant is retried, which the Rewarder deduplicates
	}
	d.GrantedAt = now
	return nil
}

// reenterPaid draws again for a held draw whose entry was charged but which
// a concurrent caller with the same key cancelled meanwhile: a paid entry
// (EnterLotteryParams.Paid), on the day and at the cost of the draw that
// was paid for. It returns the key's draw as stored, held until its charge
// is replayed (with the same key, so the customer pays once), and whether
// the caller holds the claim on its grant.
func (s *Service) reenterPaid(ctx context.Context, d DrawResult) (DrawResult, bool, error) {
	now := s.opts.Clock.Now()
	nd, created, err := s.store.EnterLottery(ctx, EnterLotteryParams{
		Tenant: d.Tenant, Lottery: d.Lottery, Customer: d.Customer, IdempotencyKey: d.IdempotencyKey,
		ID: d.ID, Day: d.Day, Now: now, GrantUntil: now.Add(s.opts.GrantLease), Paid: d.Cost,
	})
	if err != nil {
		return DrawResult{}, false, err
	}
	return nd, created && nd.Status == DrawSettled && nd.Won(), nil
}

// chargeEntry charges a held draw's entry cost, with a key derived from
// the draw.
func (s *Service) chargeEntry(ctx context.Context, d DrawResult) error {
	if s.opts.PointsSpender == nil {
		return scrm.Errorf(scrm.ErrForbidden, "referral: charge entry", "lottery %s costs %d points, and no Options.PointsSpender is configured", d.Lottery, d.Cost)
	}
	return s.opts.PointsSpender.SpendPoints(ctx, PointsCharge{
		Tenant: d.Tenant, Customer: d.Customer, Points: d.Cost, Lottery: d.Lottery,
		IdempotencyKey: key("referral", "lottery", d.Lottery, d.IdempotencyKey, "entry"),
		Ref:            d.ID,
	})
}

// cancelDraw gives back a held draw whose charge was refused for good.
func (s *Service) cancelDraw(ctx context.Context, op string, d DrawResult, chargeErr error) (DrawResult, error) {
	err := s.store.CancelLotteryDraw(context.WithoutCancel(ctx), d.Tenant, d.IdempotencyKey)
	switch {
	case err == nil, is(err, scrm.ErrNotFound): // cancelled, here or by a concurrent caller with the same key
	case is(err, scrm.ErrConflict):
		// A concurrent caller with the same key paid it (the balance
		// changed in between): it settled it, or drew again as paid after
		// this caller's draw was cancelled (see reenterPaid). The draw
		// stands; go on from the key's draw as stored, which need not be
		// the one this caller held (EnterLottery returns it, writing
		// nothing). While still held, it is the paying caller's to settle.
		now := s.opts.Clock.Now()
		stored, _, err := s.store.EnterLottery(ctx, EnterLotteryParams{
			Tenant: d.Tenant, Lottery: d.Lottery, Customer: d.Customer, IdempotencyKey: d.IdempotencyKey,
			ID: d.ID, Day: d.Day, Now: now, GrantUntil: now.Add(s.opts.GrantLease),
		})
		switch {
		case err != nil:
			return DrawResult{}, scrm.Wrap(nil, op, err)
		case stored.Status == DrawPending:
			return DrawResult{}, scrm.Errorf(scrm.ErrUnavailable, op, "draw %s is being paid by a concurrent request with the same key; call again", d.ID)
		}
		return s.finishDraw(ctx, op, stored, false)
	default:
		// Still held: the next attempt charges again, with the same key.
		return DrawResult{}, scrm.Wrap(scrm.ErrUnavailable, op, err)
	}
	return DrawResult{}, &scrm.Error{Code: scrm.CodeOf(chargeErr), Op: op,
		Msg: "the entry cost of " + itoa(int(d.Cost)) + " points could not be charged",
		Err: errors.Join(ReasonEntryNotPaid, chargeErr)}
}

// ResultsRequest asks for a page of a lottery's draws.
type ResultsRequest struct {
	Tenant   scrm.TenantID
	Lottery  string
	Customer scrm.CustomerID // optional: only this customer's draws ("my draws")
	Cursor   string          // DrawResultPage.Next of the previous page; empty for the first
	Limit    int             // default 100, at most 1000
}

// Results returns a lottery's settled draws, won or not, in draw order
// (Seq), a page at a time. Held draws (DrawPending) are not results yet.
//
// Errors: ErrInvalid for a missing field or a bad cursor; ErrNotFound for
// an unknown lottery.
func (s *Service) Results(ctx context.Context, req ResultsRequest) (DrawResultPage, error) {
	return s.results(ctx, "referral.Results", req, false)
}

// Winners returns the settled draws of a lottery that won a prize, in draw
// order, a page at a time: the winners list (中奖名单).
//
// Errors: as for Results.
func (s *Service) Winners(ctx context.Context, req ResultsRequest) (DrawResultPage, error) {
	return s.results(ctx, "referral.Winners", req, true)
}

func (s *Service) results(ctx context.Context, op string, req ResultsRequest, won bool) (DrawResultPage, error) {
	if err := checkTenantID(op, req.Tenant, "Lottery", req.Lottery); err != nil {
		return DrawResultPage{}, err
	}
	if req.Customer != "" {
		if err := scrm.CheckID(op, "Customer", string(req.Customer)); err != nil {
			return DrawResultPage{}, err
		}
	}
	if _, err := s.store.GetLottery(ctx, req.Tenant, req.Lottery); err != nil {
		return DrawResultPage{}, scrm.Wrap(nil, op, err)
	}
	page, err := s.store.ListLotteryDraws(ctx, ListLotteryDrawsParams{Tenant: req.Tenant, Lottery: req.Lottery,
		Customer: req.Customer, Won: won, Cursor: req.Cursor, Limit: req.Limit})
	return page, scrm.Wrap(nil, op, err)
}

// sweepDraws finishes the tenant's draws left unfinished for longer than
// the grant lease: held draws whose charge failed for a passing reason (or
// whose caller went away), and prizes whose grant failed.
func (s *Service) sweepDraws(ctx context.Context, op string, tenant scrm.TenantID, now time.Time, res *SweepResult) []error {
	var errs []error
	cursor := ""
	for {
		page, err := s.store.ListUnfinishedLotteryDraws(ctx, ListUnfinishedParams{Tenant: tenant,
			Before: now.Add(-s.opts.GrantLease), Cursor: cursor, Limit: sweepPage})
		if err != nil {
			return append(errs, err)
		}
		for _, d := range page.Results {
			_, err := s.finishDraw(ctx, op, d, false)
			switch {
			case err == nil:
				res.Draws++
			case errors.Is(err, ReasonEntryNotPaid):
				res.DrawsCancelled++
			default:
				errs = append(errs, err)
			}
		}
		if page.Next == "" {
			return errs
		}
		cursor = page.Next
	}
}

// enterByKeyword draws for a customer who replied a lottery's keyword, with
// the event's ID as the idempotency key. A refused draw (daily limit, sold
// out, entry not paid) is the customer's answer, not a failure: it is
// published as EventDrawRefused, so the host can tell the customer, and
// Handle goes on. Errors that may pass (ErrUnavailable), and the failed
// grant or event of a draw that was made, are returned, so that the event
// is delivered again: the redelivery replays the draw and finishes it.
//
// A redelivery replays the draw on the lottery it was made in, found by
// its key, not on the lottery running at redelivery: by then that lottery
// may have ended, and another with the same keyword begun, whose draw
// under the same key would be refused as a conflict. The replay is not
// checked against the window (see Store.EnterLottery).
func (s *Service) enterByKeyword(ctx context.Context, op string, e scrm.Event) error {
	text := strings.TrimSpace(e.Prop("text"))
	if text == "" || len(text) > maxKeyword {
		return nil
	}
	lottery := ""
	prev, err := s.store.GetLotteryDraw(ctx, e.Tenant, e.ID)
	switch {
	case err == nil:
		lottery = prev.Lottery
	case !is(err, scrm.ErrNotFound):
		return scrm.Wrap(nil, op, err)
	}
	// One reading of the clock for finding the lottery and drawing in it,
	// so that a reply at the changeover of two lotteries with the keyword
	// is not refused as outside the window of the one it found.
	now := s.opts.Clock.Now()
	if lottery == "" {
		l, err := s.store.FindLottery(ctx, e.Tenant, text, now)
		if is(err, scrm.ErrNotFound) {
			return nil
		}
		if err != nil {
			return scrm.Wrap(nil, op, err)
		}
		lottery = l.ID
	}
	d, err := s.draw(ctx, op, DrawRequest{Tenant: e.Tenant, Customer: e.Customer, Lottery: lottery, IdempotencyKey: e.ID}, now)
	switch {
	case err == nil:
		return nil
	case d.ID != "" || scrm.CodeOf(err) == scrm.ErrUnavailable:
		return err // drawn, but the grant or the event failed; or the store or the charge may work next time
	}
	if s.noEvents {
		return nil
	}
	reason := string(ReasonOf(err))
	if reason == "" {
		reason = scrm.CodeOf(err).Error()
	}
	return s.publish(ctx, scrm.Event{ID: key(EventDrawRefused, lottery, e.ID), Tenant: e.Tenant, Customer: e.Customer,
		Type: EventDrawRefused, Time: e.Time, Props: map[string]any{"lottery": lottery, "reason": reason, "event": e.ID}})
}

func drawnEvent(d DrawResult) scrm.Event {
	return scrm.Event{ID: key(EventDrawn, d.ID), Tenant: d.Tenant, Customer: d.Customer, Type: EventDrawn, Time: d.At,
		Props: map[string]any{"lottery": d.Lottery, "draw": d.ID, "seq": d.Seq, "prize": d.Prize}}
}
