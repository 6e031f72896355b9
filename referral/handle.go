package referral

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Qualification records that an invitee did what their program asked for
// (Program.Qualify). There is at most one per program and invitee.
type Qualification struct {
	Tenant  scrm.TenantID
	Program string
	Invitee scrm.CustomerID
	Inviter scrm.CustomerID // from the binding; empty for a staff binding
	Staff   string          // from the binding
	EventID string          // the qualifying event
	OrderID string          // its "order_id" property, or its ID when it has none
	Amount  decimal.Decimal // its Amount
	At      time.Time       // its Time
	// Status follows the binding: StatusReview while the binding is held
	// (no rewards yet, no Rank), StatusActive once rewards flow,
	// StatusRejected when the binding was rejected.
	Status Status
	// Rank is the invitee's place among the inviter's active qualified
	// invitees in the program: 1 for the first. Ladder rungs are paid when
	// Rank equals their Count. 0 while under review or for a staff binding.
	Rank int
	// Rewarded reports whether the inviter is rewarded for this invitee:
	// true while Rank is within the program's MaxPerInviter.
	Rewarded bool
}

// Handle reacts to events; add the Service to the Dispatcher after
// scrm.Profiles. It is idempotent: an event delivered again, or by many
// goroutines at once, pays nothing twice.
//
// On the qualifying event of a bound invitee's program (Program.Qualify:
// the event type, at least MinAmount, within Within of binding, and the
// first such event if FirstOnly), it records the invitee as qualified once
// and, if the binding is active, rewards:
//
//   - the invitee: InviteeOnQualify;
//   - the inviter, while the invitee is within MaxPerInviter: each of
//     InviterRewards, the Ladder rung whose Count this invitee reaches,
//     and the Percent share of the event's Amount, rounded to the fen with
//     scrm.RoundFen and capped at PercentCap, as a pending entry paid as
//     Options.PercentKind;
//   - distribution commission (Commission): a pending entry of
//     RoundFen(Amount × rate) for the inviter (level 1, within
//     MaxPerInviter) and for the inviter's own inviter if that binding is
//     active (level 2, not limited by MaxPerInviter).
//
// Pending entries become payable SettleAfter after the qualifying event and
// are paid by Settle (at once, when SettleAfter is zero). Rewards go through
// Options.Rewarder with idempotency keys derived from the program, the
// inviter and the invitee.
//
// On scrm.EventOrderRefunded (matched by its "order_id" property) of a bound
// invitee, the pending entries of that order whose payable time is still
// ahead of the refund are reduced in proportion to the amount refunded,
// even if they are created later (the refund is remembered): each entry
// records the order amount it was computed from (Entry.Base, the
// qualifying event's Amount) and, with R the order's refunds so far before
// its payable time, pays Gross − RoundFen(Gross × R ÷ Base) (rounded half
// up, computed from Gross each time; a capped percent reward loses that
// share of its capped amount). A refund of ¥1 of a ¥1,000 order takes
// ¥0.10 off a ¥100 commission; once R reaches Base (or the amount would
// be 0) the entry is reversed. A refund event with a zero Amount
// refunds the whole order; a negative Amount (a refund booked as a
// negative number) counts as its absolute value. The refund event's ID identifies the refund: a
// redelivered refund is counted once. Entries already paid are not clawed
// back, and the qualification and its other rewards stand. EventReduced
// and EventReversed are published for every reduced and reversed entry of
// the order: by the refund (each delivery of it, so one whose publish
// failed is published when the refund is delivered again) and, for
// entries created after the refund, by the qualifying event or Approve
// that creates them.
//
// The "order_id" property is a string (or a fmt.Stringer), or an integral
// number (json.Number, an integer type, or a float with no fraction, as
// JSON decoding leaves it), taken as its decimal string; any other value
// is an error matching scrm.ErrInvalid naming "Props.order_id".
//
// On scrm.EventMessageReplied whose "text" property, without surrounding
// white space, is the Keyword of a lucky draw running now, it draws for
// the customer (see Draw) with the event's ID as the idempotency key, so a
// redelivered reply draws once: it replays the draw, and finishes it, on
// the lottery it was made in, even after that lottery ended. A refused draw (daily limit, sold out,
// entry cost not paid, ...) is published as EventDrawRefused and is not an
// error of Handle; errors that may pass (ErrUnavailable), and a failed
// prize grant, are returned, so that the event is delivered again. Keyword entries need no binding: any
// customer may enter.
//
// Events of unbound customers (but for keyword replies), other types, and
// the Service's own events are ignored. Customer merges are not followed: a binding belongs to the
// customer ID that bound.
func (s *Service) Handle(ctx context.Context, e scrm.Event) error {
	const op = "referral.Handle"
	if strings.HasPrefix(e.Type, "referral.") {
		return nil
	}
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Type == scrm.EventMessageReplied {
		if err := s.enterByKeyword(ctx, op, e); err != nil {
			return err
		}
	}
	b, err := s.store.GetBinding(ctx, e.Tenant, e.Customer)
	if is(err, scrm.ErrNotFound) {
		return nil
	}
	if err != nil {
		return scrm.Wrap(nil, op, err)
	}
	if e.Type == scrm.EventOrderRefunded {
		return s.refund(ctx, op, b, e)
	}
	if b.Status == StatusRejected {
		return nil
	}
	prog, err := s.program(ctx, op, e.Tenant, b.Program)
	if is(err, scrm.ErrNotFound) {
		s.opts.Logger.WarnContext(ctx, "referral: program of a binding is gone", "binding", b)
		return nil
	}
	if err != nil {
		return err // wrapped with op by program
	}
	if e.Type != prog.qualifyEvent() || e.Time.Before(b.At) ||
		(prog.Qualify.Within > 0 && !e.Time.Before(b.At.Add(prog.Qualify.Within))) {
		return nil
	}

	if greater(prog.Qualify.MinAmount, e.Amount) {
		return nil
	}
	if prog.Qualify.FirstOnly {
		// Judge "first" only for an invitee not yet qualified: the profile
		// read is the expensive part.
		q, err := s.store.GetQualification(ctx, e.Tenant, prog.ID, e.Customer)
		switch {
		case err == nil:
			if q.EventID != e.ID {
				return nil // qualified by another event already
			}
			return scrm.Wrap(nil, op, s.rewardQualification(ctx, prog, q)) // a redelivery: finish what may be missing
		case !is(err, scrm.ErrNotFound):
			return scrm.Wrap(nil, op, err)
		}
		p, err := scrm.FindProfile(ctx, s.profiles, e.Tenant, e.Customer)
		if err != nil {
			return scrm.Wrap(nil, op, err)
		}
		if p != nil && p.Count(e.Type, b.At)-p.Count(e.Type, e.Time) > 0 {
			return nil // an earlier event since binding was the first
		}
	}
	orderID, err := orderIDOf(op, e)
	if err != nil {
		return err
	}
	if orderID == "" {
		orderID = e.ID
	}
	// Qualify returns the recorded qualification when there is one: a
	// redelivery of the qualifying event finishes its rewards below, any
	// other event stops there.
	q, _, err := s.store.Qualify(ctx, QualifyParams{
		Qualification: Qualification{
			Tenant: e.Tenant, Program: prog.ID, Invitee: e.Customer, Inviter: b.Inviter, Staff: b.Staff,
			EventID: e.ID, OrderID: orderID, Amount: e.Amount, At: e.Time,
		},
		MaxPerInviter: prog.MaxPerInviter,
	})
	if err != nil {
		if errors.Is(err, ReasonRejected) {
			return nil // rejected meanwhile
		}
		return scrm.Wrap(nil, op, err)
	}
	if q.EventID != e.ID {
		return nil // qualified by another event (earlier, or winning a race)
	}
	return scrm.Wrap(nil, op, s.rewardQualification(ctx, prog, q))
}

// rewardQualification grants what an active qualification earns and
// records its pending entries. Every step is idempotent, so it runs again
// on redeliveries and after Approve.
func (s *Service) rewardQualification(ctx context.Context, p *Program, q Qualification) error {
	const op = "referral: reward qualification"
	if q.Status != StatusActive {
		return nil // held for review, or rejected
	}
	var errs []error
	if !s.noEvents {
		errs = appendErr(errs, s.publish(ctx, qualifiedEvent(q)))
	}
	sc := s.scratch()
	defer s.recycle(sc)
	invitee := string(q.Invitee)
	// The source, the grants' keys and the entries' IDs are built into one
	// buffer (in that order) and become strings together below.
	ka := &sc.keys
	ka.addJoined("referral:", p.ID) // the Source, unescaped
	g := rewardGrant{tenant: q.Tenant, program: p.ID, role: "qualify", about1: invitee, keys: ka}
	grants := g.add(sc.grants[:0], q.Invitee, p.InviteeOnQualify)
	entries, fens := sc.entries[:0], sc.fens[:0]
	allFen := true // every amount is in fens (else -1 there, and the amount in the entry)
	// due is the DueAt of entries recorded now. Entries recorded earlier
	// (a redelivery, a second Approve) keep theirs, which may be later if
	// the program's SettleAfter was shortened since: only the stored DueAt
	// makes an entry payable (see settleEntry).
	due, now := q.At.Add(p.SettleAfter), s.opts.Clock.Now()
	entry := func(kind EntryKind, level int, to scrm.CustomerID, fen int64, amount decimal.Decimal, inFen bool) {
		if inFen && fen > 0 || !inFen && amount.IsPositive() {
			ka.add(p.ID, entryName(kind, level), invitee)
			entries = append(entries, Entry{
				Tenant: q.Tenant, Program: p.ID,
				Kind: kind, Level: level, Beneficiary: to, Invitee: q.Invitee, OrderID: q.OrderID,
				Amount: amount, Base: q.Amount, Status: EntryPending, CreatedAt: now, DueAt: due,
			})
			if !inFen {
				fen, allFen = -1, false
			}
			fens = append(fens, fen)
		}
	}
	if q.Inviter != "" && q.Rewarded {
		g.role, g.about1, g.about2 = "invite", string(q.Inviter), invitee
		grants = g.add(grants, q.Inviter, p.InviterRewards)
		for _, rung := range p.Ladder {
			if rung.Count == q.Rank {
				g.role, g.about2 = "rung"+itoa(rung.Count), ""
				grants = g.add(grants, q.Inviter, rung.Rewards)
			}
		}
		if p.Percent.IsPositive() {
			fen, amt, inFen := shareFen(q.Amount, p.Percent)
			if p.PercentCap.IsPositive() {
				capFen, capInFen := scrm.ToFen(p.PercentCap)
				switch {
				case inFen && capInFen:
					fen = min(fen, capFen)
				case inFen:
					amt, inFen = scrm.FromFen(fen), false
					fallthrough
				default:
					if greater(amt, p.PercentCap) {
						amt = p.PercentCap
					}
				}
			}
			entry(EntryPercent, 0, q.Inviter, fen, amt, inFen)
		}
		if len(p.Commission) > 0 {
			fen, amt, inFen := shareFen(q.Amount, p.Commission[0])
			entry(EntryCommission, 1, q.Inviter, fen, amt, inFen)
		}
	}
	if q.Inviter != "" && len(p.Commission) > 1 && p.Commission[1].IsPositive() {
		up, err := s.store.GetBinding(ctx, q.Tenant, q.Inviter)
		switch {
		case err == nil && up.Status == StatusActive && up.Inviter != "":
			fen, amt, inFen := shareFen(q.Amount, p.Commission[1])
			entry(EntryCommission, 2, up.Inviter, fen, amt, inFen)
		case err != nil && !is(err, scrm.ErrNotFound):
			errs = appendErr(errs, err)
		}
	}
	all := string(ka.buf) // one allocation for every string below
	source := ka.key(all, 0)
	for i := range grants {
		grants[i].Source, grants[i].IdempotencyKey = source, ka.key(all, 1+i)
	}
	for i := range entries {
		entries[i].ID = ka.key(all, 1+len(grants)+i)
	}
	sc.grants, sc.entries, sc.fens = grants, entries, fens // keep any growth for the next call
	_, err := s.grant(ctx, p.ID, grants)
	errs = appendErr(errs, err)
	if len(entries) > 0 {
		// A store that keeps fen takes them as they are; others get
		// decimals.
		fa, fast := s.store.(entryAdder)
		if !fast || !allFen || !due.After(now) {
			fast = false
			for i, fen := range fens {
				if fen >= 0 {
					entries[i].Amount = scrm.FromFen(fen)
				}
			}
		}
		var changed []Entry
		if fast {
			changed, err = fa.addEntriesFen(ctx, q.Tenant, entries, fens)
		} else {
			changed, err = s.store.AddEntries(ctx, q.Tenant, entries)
		}
		if err != nil {
			return joinErrs(op, append(errs, err))
		}
		// Entries of an order refunded before they were recorded (the
		// refund delivered first, or the binding approved after it) are
		// born reduced or reversed: their events are published here, as
		// a refund would have, and again on a redelivery, in case this
		// failed.
		if !s.noEvents {
			errs = s.publishChanged(ctx, errs, changed)
		}
		if !due.After(now) {
			// Payable at once under the program as it is now: try to pay
			// each entry here rather than wait for Settle. The Store pays
			// an entry only when its stored DueAt has come, so one stored
			// earlier with a longer window waits for it (and for Settle);
			// one already settled or reversed is left alone.
			for _, e := range entries {
				_, _, err := s.settleEntry(ctx, e)
				errs = appendErr(errs, err)
			}
		}
	}
	return joinErrs(op, errs)
}

// entryName names an entry kind and level in entry IDs.
func entryName(kind EntryKind, level int) string {
	switch {
	case kind == EntryPercent:
		return "percent"
	case level == 1:
		return "commission1"
	case level == 2:
		return "commission2"
	}
	return string(kind) + itoa(level)
}

func itoa(i int) string { return strconv.Itoa(i) }

// refund records a refund of an order (e.Amount; zero: the whole order,
// deduplicated by e.ID), which reduces or reverses the order's pending
// entries, and publishes EventReduced or EventReversed for every entry of
// the order that refunds changed, not only those changed now: a
// redelivered refund thereby publishes again an event whose publish
// failed (event IDs are deterministic, so a repeat is harmless).
func (s *Service) refund(ctx context.Context, op string, b Binding, e scrm.Event) error {
	orderID, err := orderIDOf(op, e)
	if err != nil {
		return err
	}
	if orderID == "" {
		s.opts.Logger.WarnContext(ctx, "referral: refund without order_id ignored", "event", e.String())
		return nil
	}
	// Hosts that book refunds as negative amounts mean the same refund.
	changed, err := s.store.ReverseOrder(ctx, ReverseParams{Tenant: e.Tenant, Invitee: b.Invitee, OrderID: orderID, At: e.Time,
		Amount: e.Amount.Abs(), RefundID: e.ID})
	if err != nil {
		return scrm.Wrap(nil, op, err)
	}
	return joinErrs(op, s.publishChanged(ctx, nil, changed))
}

// orderIDOf returns e's "order_id" property as a string: "" when it is
// missing, decimal digits for an integral number (see scrm.Event.IDProp),
// an ErrInvalid error naming "Props.order_id" for anything else.
func orderIDOf(op string, e scrm.Event) (string, error) {
	return e.IDProp(op, "order_id")
}
