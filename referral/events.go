package referral

import (
	"context"
	"strconv"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// The domain events the Service publishes through Options.Publisher. Their
// IDs are derived from what caused them, so publishing one again (after a
// failure, or from a replayed request) has no further effect.
const (
	// EventBound: an invitee bound. Customer: the invitee; Props: "program",
	// "inviter" or "staff", "status". ID "referral.bound:<invitee>".
	EventBound = "referral.bound"
	// EventReviewed: a binding under review was approved or rejected.
	// Customer: the invitee; Props: "program", "status".
	EventReviewed = "referral.reviewed"
	// EventQualified: an invitee qualified and their rewards flow (at once,
	// or when a held binding is approved). Customer: the invitee; Amount:
	// the qualifying amount; Props: "program", "inviter" or "staff",
	// "order_id". ID "referral.qualified:<program>:<invitee>".
	EventQualified = "referral.qualified"
	// EventReversed: a refund cancelled a pending percent reward or
	// commission. Customer: who would have been paid; Amount: the entry's
	// Gross, the whole of it (what partial refunds took off before, as
	// EventReduced reported, included); Props: "program", "entry",
	// "invitee", "order_id". Time: the entry's ReversedAt. ID
	// "referral.reversed:<entry>".
	EventReversed = "referral.reversed"
	// EventReduced: a partial refund of the order reduced a pending
	// percent reward or commission in proportion (see Entry). Customer:
	// who will be paid; Amount: what refunds took off the entry so far
	// (Gross − its Amount now); Props: "program", "entry", "invitee",
	// "order_id", and, as decimal.Decimal, "amount" (the entry's Amount
	// now, what Settle will pay), "gross" (its Amount before refunds) and
	// "refunded" (the order's refunds counted, Entry.Refunded). Time: the
	// entry's ReducedAt. ID "referral.reduced:<entry>:<taken off in fen>":
	// one per entry and amount taken off, so publishing it again is
	// harmless, a refund that takes no further fen off brings no new ID,
	// and the one with the highest Amount is the entry's latest state. An
	// entry later reversed gets EventReversed as well. None is published
	// while refunds have taken nothing off the entry.
	EventReduced = "referral.reduced"
	// EventTeamSucceeded: a group-buy team filled in time. One per member;
	// Customer: the member; Amount: the group price; Props: "group_buy",
	// "team", and "lottery" (true) for a team of a lottery group buy,
	// whose members are not all fulfilled: only the winners of its draw
	// (EventLotteryWon), the others are refunded (EventLotteryLost).
	EventTeamSucceeded = "referral.team_succeeded"
	// EventTeamFailed: a group-buy team did not fill in time: refund the
	// member. One per member; Customer: the member; Amount: the price paid;
	// Props: "group_buy", "team", and "lottery" (true) for a team of a
	// lottery group buy.
	EventTeamFailed = "referral.team_failed"
	// EventLotteryWon: a member of a lottery group buy won. Customer: the
	// member; Props: "group_buy", "team", "draw_seed".
	EventLotteryWon = "referral.lottery_won"
	// EventLotteryLost: a member of a lottery group buy did not win: refund
	// the price (Amount); consolation rewards are granted. Props as for
	// EventLotteryWon.
	EventLotteryLost = "referral.lottery_lost"
	// EventBargainCompleted: a bargain session reached its floor price.
	// Customer: the owner; Amount: the floor price; Props: "bargain",
	// "session".
	EventBargainCompleted = "referral.bargain_completed"
	// EventDrawn: a customer's lucky draw settled (entry paid, or free).
	// Customer: who drew; Props: "lottery", "draw" (the DrawResult ID),
	// "seq" (int64), "prize" (the prize's ID, empty for nothing). ID
	// "referral.drawn:<draw ID>".
	EventDrawn = "referral.drawn"
	// EventDrawRefused: a keyword reply could not enter the customer in a
	// lottery (Service.Handle), so the host can answer them. Customer: who
	// replied; Props: "lottery", "reason" (a Reason, e.g. "daily_limit",
	// "sold_out", "entry_not_paid", "not_running"), "event" (the reply's
	// ID).
	EventDrawRefused = "referral.draw_refused"
)

func bindEvent(b Binding) scrm.Event {
	props := map[string]any{"program": b.Program, "status": string(b.Status)}
	if b.Inviter != "" {
		props["inviter"] = string(b.Inviter)
	} else {
		props["staff"] = b.Staff
	}
	return scrm.Event{ID: key(EventBound, string(b.Invitee)), Tenant: b.Tenant, Customer: b.Invitee,
		Type: EventBound, Time: b.At, Props: props}
}

func reviewEvent(b Binding) scrm.Event {
	return scrm.Event{ID: key(EventReviewed, string(b.Invitee)), Tenant: b.Tenant, Customer: b.Invitee,
		Type: EventReviewed, Time: b.ReviewedAt, Props: map[string]any{"program": b.Program, "status": string(b.Status)}}
}

func qualifiedEvent(q Qualification) scrm.Event {
	props := map[string]any{"program": q.Program, "order_id": q.OrderID}
	if q.Inviter != "" {
		props["inviter"] = string(q.Inviter)
	} else {
		props["staff"] = q.Staff
	}
	return scrm.Event{ID: key(EventQualified, q.Program, string(q.Invitee)), Tenant: q.Tenant, Customer: q.Invitee,
		Type: EventQualified, Time: q.At, Amount: q.Amount, Props: props}
}

func reversedEvent(e Entry) scrm.Event {
	return scrm.Event{ID: key(EventReversed, e.ID), Tenant: e.Tenant, Customer: e.Beneficiary,
		Type: EventReversed, Time: e.ReversedAt, Amount: grossOf(e),
		Props: map[string]any{"program": e.Program, "entry": e.ID, "invitee": string(e.Invitee), "order_id": e.OrderID}}
}

func reducedEvent(e Entry) scrm.Event {
	gross := grossOf(e)
	// One ID per amount taken off (which only grows): a refund too small
	// to take another fen off brings no new event.
	taken, _ := scrm.ToFen(gross.Sub(e.Amount)) // whole fen: both are
	return scrm.Event{ID: key(EventReduced, e.ID, strconv.FormatInt(taken, 10)), Tenant: e.Tenant, Customer: e.Beneficiary,
		Type: EventReduced, Time: e.ReducedAt, Amount: gross.Sub(e.Amount),
		Props: map[string]any{"program": e.Program, "entry": e.ID, "invitee": string(e.Invitee), "order_id": e.OrderID,
			"amount": e.Amount, "gross": gross, "refunded": e.Refunded}}
}

// changedEvent is the event of an entry refunds changed (Store.ReverseOrder,
// Store.AddEntries): EventReversed or EventReduced.
func changedEvent(e Entry) scrm.Event {
	if e.Status == EntryReversed {
		return reversedEvent(e)
	}
	return reducedEvent(e)
}

// publishChanged publishes the event of each entry refunds changed, but
// none for an entry they took nothing off yet (a refund rounding to no
// fen): nothing happened to it.
func (s *Service) publishChanged(ctx context.Context, errs []error, changed []Entry) []error {
	for _, en := range changed {
		if en.Status != EntryReversed && grossOf(en).Equal(en.Amount) {
			continue
		}
		errs = appendErr(errs, s.publish(ctx, changedEvent(en)))
	}
	return errs
}

// grossOf returns e's Gross, or its Amount for an entry stored without
// Gross (by a Store older than the field).
func grossOf(e Entry) decimal.Decimal {
	if e.Gross.IsZero() {
		return e.Amount
	}
	return e.Gross
}
