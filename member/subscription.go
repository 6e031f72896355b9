package member

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// The events of paid memberships. Their IDs are derived from the customer
// and the term ("member.plan_started:<customer>:<seq>"), so republishing
// them is harmless.
const (
	// EventPlanStarted: a trial or paid term was bought (Subscribe,
	// StartTrial). Props: "plan", "trial" (bool), "term" (int64 Seq),
	// "start", "end" (time.Time).
	EventPlanStarted = "member.plan_started"
	// EventPlanEnded: a membership ended: its last term ran out ("reason"
	// "expired") or was cancelled ("cancelled"). Props: "plan", "trial",
	// "term", "reason".
	EventPlanEnded = "member.plan_ended"
)

// SubscribeRequest buys a paid term of a plan.
type SubscribeRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	Plan           string
	IdempotencyKey string
	// Paid is what the customer paid; it must equal the plan's Price.
	Paid decimal.Decimal
	// Birthday ("YYYY-MM-DD", "MM-DD" or RFC 3339: any string
	// scrm.BirthdayOf reads) is recorded for the birthday reward; empty
	// means read it from the profile attribute Options.BirthdayAttr, when
	// the service has a ProfileStore.
	Birthday string
}

// TrialRequest starts a plan's free trial.
type TrialRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	Plan           string
	IdempotencyKey string
	// Birthday: as in SubscribeRequest.
	Birthday string
}

// TermResult is the term a Subscribe or StartTrial created.
type TermResult struct {
	Term PlanTerm
	// Membership is the customer's membership right after the request
	// (for a replay, as of now).
	Membership Membership
	Replayed   bool
}

// Subscribe buys a paid term of a plan. The term starts at the end of the
// customer's last term that has not ended (a renewal extends from the
// current end, whatever plan it is of), or now; a trial in progress is
// converted: it ends now and the paid term starts now. Tranches of the
// coupon pack due at once (day 0) are released before Subscribe returns.
//
// Errors: ErrInvalid for a malformed request, or Paid different from the
// plan's price ("Paid"); ErrNotFound for an unknown plan; ErrForbidden for a
// retired plan (as the request read it: see Plan.Retired); ErrConflict for
// a reused key. An error matching
// ErrUnavailable comes with the result when the term was saved but
// releasing its first tranche or publishing failed (RunPlans retries them).
func (s *Service) Subscribe(ctx context.Context, req SubscribeRequest) (TermResult, error) {
	const op = "member.Subscribe"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return TermResult{}, err
	}
	if err := scrm.CheckID(op, "Plan", req.Plan); err != nil {
		return TermResult{}, err
	}
	if err := checkAmount(op, "Paid", req.Paid); err != nil {
		return TermResult{}, err
	}
	ps, p, err := s.planFor(ctx, op, req.Tenant, req.Plan)
	if err != nil {
		return TermResult{}, err
	}
	if !req.Paid.Equal(p.Price) {
		return TermResult{}, scrm.Invalid(op, "Paid", "%s differs from the price of plan %q, %s", req.Paid, p.ID, p.Price)
	}
	bm, bd, err := s.birthday(ctx, op, req.Tenant, req.Customer, req.Birthday)
	if err != nil {
		return TermResult{}, err
	}
	paid, _ := scrm.ToFen(req.Paid)
	loc := s.opts.LocationOf(req.Tenant)
	fp := s.newFingerprint(op).str(string(req.Customer)).str(req.Plan).int(paid).str(req.Birthday).sum()
	return s.startTerm(ctx, op, ps, req.Tenant, req.Customer, MembershipParams{Tenant: req.Tenant, Customer: req.Customer,
		IdempotencyKey: req.IdempotencyKey, Fingerprint: fp}, func(st *MembershipState, now time.Time) (PlanTerm, error) {
		start := now
		for i := range st.Terms {
			t := &st.Terms[i]
			if !t.Cancelled.IsZero() || !t.End.After(now) {
				continue
			}
			if t.Trial && !t.Start.After(now) {
				t.End, t.Converted = now, true // a trial in progress converts
				continue
			}
			if t.End.After(start) {
				start = t.End
			}
		}
		if p.Retired {
			return PlanTerm{}, scrm.Errorf(scrm.ErrForbidden, op, "plan %q is retired", p.ID)
		}
		setBirthday(st, bm, bd)
		return PlanTerm{Plan: p.ID, PlanVersion: p.Version, Start: start, End: p.Period.after(start, loc), Paid: paid,
			Key: req.IdempotencyKey}, nil
	})
}

// StartTrial starts a plan's free trial: a term of TrialDays from now, with
// the plan's rates and points multiplier (not its coupon pack, birthday
// reward or break-even guarantee). A customer tries each plan once.
//
// Errors: ErrInvalid for a malformed request or a plan without a trial
// ("Plan"); ErrExhausted naming Plan when the customer already used the
// plan's trial; ErrConflict when the customer has a term that has not
// ended, or for a reused key; ErrNotFound for an unknown plan; ErrForbidden
// for a retired plan (as the request read it: see Plan.Retired).
func (s *Service) StartTrial(ctx context.Context, req TrialRequest) (TermResult, error) {
	const op = "member.StartTrial"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return TermResult{}, err
	}
	if err := scrm.CheckID(op, "Plan", req.Plan); err != nil {
		return TermResult{}, err
	}
	ps, p, err := s.planFor(ctx, op, req.Tenant, req.Plan)
	if err != nil {
		return TermResult{}, err
	}
	if p.TrialDays == 0 {
		return TermResult{}, scrm.Invalid(op, "Plan", "plan %q has no trial", p.ID)
	}
	bm, bd, err := s.birthday(ctx, op, req.Tenant, req.Customer, req.Birthday)
	if err != nil {
		return TermResult{}, err
	}
	loc := s.opts.LocationOf(req.Tenant)
	fp := s.newFingerprint(op).str(string(req.Customer)).str(req.Plan).str(req.Birthday).sum()
	return s.startTerm(ctx, op, ps, req.Tenant, req.Customer, MembershipParams{Tenant: req.Tenant, Customer: req.Customer,
		IdempotencyKey: req.IdempotencyKey, Fingerprint: fp}, func(st *MembershipState, now time.Time) (PlanTerm, error) {
		if slices.Contains(st.Trials, p.ID) {
			return PlanTerm{}, &scrm.Error{Code: scrm.ErrExhausted, Op: op, Field: "Plan", Msg: "the trial of plan " + strconv.Quote(p.ID) + " was already used"}
		}
		for _, t := range st.Terms {
			if t.Cancelled.IsZero() && t.End.After(now) {
				return PlanTerm{}, scrm.Errorf(scrm.ErrConflict, op, "customer %q already has a membership until %s", req.Customer, t.End.Format(time.RFC3339))
			}
		}
		if p.Retired {
			return PlanTerm{}, scrm.Errorf(scrm.ErrForbidden, op, "plan %q is retired", p.ID)
		}
		st.Trials = append(st.Trials, p.ID)
		setBirthday(st, bm, bd)
		return PlanTerm{Plan: p.ID, PlanVersion: p.Version, Trial: true, Start: now, End: addLocal(now, 0, p.TrialDays, loc),
			Key: req.IdempotencyKey}, nil
	})
}

// planFor returns the tenant's plan set and the newest version of plan id.
func (s *Service) planFor(ctx context.Context, op string, tenant scrm.TenantID, id string) (*planSet, *Plan, error) {
	ps, err := s.plans(ctx, op, tenant)
	if err != nil {
		return nil, nil, err
	}
	p := ps.newest(id)
	if p == nil {
		return nil, nil, &scrm.Error{Code: scrm.ErrNotFound, Op: op, Field: "Plan", Msg: "tenant " + strconv.Quote(string(tenant)) + " has no plan " + strconv.Quote(id)}
	}
	return ps, p, nil
}

// startTerm saves the term newTerm computes, then releases what is due at
// once and publishes plan_started.
//
// The membership's due time is computed with ps; should the membership
// have another open term of a plan version ps does not know (published
// since ps was loaded), the plans are reloaded and the update run again,
// once (see updateWithPlans).
func (s *Service) startTerm(ctx context.Context, op string, ps *planSet, tenant scrm.TenantID, customer scrm.CustomerID,
	params MembershipParams, newTerm func(st *MembershipState, now time.Time) (PlanTerm, error)) (TermResult, error) {
	loc := s.opts.LocationOf(tenant)
	out, replayed, ps, err := s.updateWithPlans(ctx, op, ps, params, func(tx *MembershipTx, ps *planSet, strict bool) error {
		now := storedTime(s.clock.Now())
		st := tx.State
		t, err := newTerm(st, now)
		if err != nil {
			return err
		}
		t.Start, t.End = storedTime(t.Start), storedTime(t.End)
		st.LastTerm++
		t.Seq = st.LastTerm
		st.Terms = append(st.Terms, t)
		if _, ok := ps.missing(st, nil); ok && strict {
			return errStalePlans
		}
		touchMembership(st, now)
		st.DueAt = s.planDue(st, ps, loc, now)
		tx.Outcome.Terms = append(tx.Outcome.Terms, t)
		return nil
	})
	if err != nil {
		return TermResult{}, wrap(op, err)
	}
	r := TermResult{Term: out.Terms[0], Replayed: replayed}
	var errs []error
	if _, err := s.runMember(ctx, tenant, customer, ps); err != nil {
		errs = append(errs, err)
	}
	t := r.Term
	if !s.cache.noEvents {
		ev := scrm.Event{ID: deriveID(EventPlanStarted, string(customer), strconv.FormatInt(t.Seq, 10)), Tenant: tenant,
			Customer: customer, Type: EventPlanStarted, Time: t.Start,
			Props: map[string]any{"plan": t.Plan, "trial": t.Trial, "term": t.Seq, "start": t.Start.In(loc), "end": t.End.In(loc)}}
		if err := s.pub.Publish(ctx, ev); err != nil {
			errs = append(errs, err)
		}
	}
	m, err := s.Membership(ctx, tenant, customer)
	if err != nil {
		errs = append(errs, err)
	}
	r.Membership = m
	if len(errs) > 0 {
		return r, scrm.Join("member: after commit", errs...)
	}
	return r, nil
}

// updateWithPlans runs Store.UpdateMembership with fn computing under ps
// (strict) and reporting errStalePlans, writing nothing, when the
// membership has an open term of a plan version ps does not know; the
// plans are then reloaded from the store and fn run again, not strict: a
// version still unknown is one the store lost, and planDue makes the
// membership due at once. It returns the plans it used last.
func (s *Service) updateWithPlans(ctx context.Context, op string, ps *planSet, params MembershipParams,
	fn func(tx *MembershipTx, ps *planSet, strict bool) error) (MembershipOutcome, bool, *planSet, error) {
	strict := true
	for {
		out, replayed, err := s.store.UpdateMembership(ctx, params, func(tx *MembershipTx) error { return fn(tx, ps, strict) })
		if strict && errors.Is(err, errStalePlans) {
			if ps, err = s.plans(ctx, op, params.Tenant); err != nil {
				return out, false, ps, err
			}
			strict = false
			continue
		}
		return out, replayed, ps, err
	}
}

// storedTime is how times are kept in memberships: in UTC, without a
// monotonic reading, so that they survive any encoding a store uses
// unchanged (the zone of a display is applied when reading).
func storedTime(t time.Time) time.Time { return t.Round(0).UTC() }

func touchMembership(st *MembershipState, now time.Time) {
	now = storedTime(now)
	if st.Version == 0 && st.CreatedAt.IsZero() {
		st.CreatedAt = now
	}
	st.UpdatedAt = now
}

func setBirthday(st *MembershipState, m, d int) {
	if m > 0 {
		st.BirthMonth, st.BirthDay = m, d
	}
}

// birthday returns the birthday of a request, or of the customer's profile
// when the request has none (0, 0 when unknown or malformed there).
func (s *Service) birthday(ctx context.Context, op string, tenant scrm.TenantID, customer scrm.CustomerID, given string) (int, int, error) {
	if given != "" {
		m, d, ok := scrm.BirthdayOf(given)
		if !ok {
			return 0, 0, scrm.Invalid(op, "Birthday", "not a date (\"YYYY-MM-DD\", \"MM-DD\" or RFC 3339): %q", given)
		}
		return m, d, nil
	}
	if s.profiles == nil {
		return 0, 0, nil
	}
	p, err := scrm.LoadProfile(ctx, s.profiles, tenant, customer)
	if err != nil {
		return 0, 0, wrap(op, err)
	}
	attr := s.opts.BirthdayAttr
	if attr == "" {
		attr = "birthday"
	}
	v, ok := p.Attr(attr)
	if !ok {
		return 0, 0, nil
	}
	m, d, _ := scrm.BirthdayOf(v) // 0, 0 when malformed
	return m, d, nil
}

// CancelRequest ends a customer's membership now.
type CancelRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	IdempotencyKey string
	// ProRata refunds the unused part of the current paid term and the
	// whole of terms not started yet; without it nothing is refunded.
	ProRata bool
	// LessSaved, with ProRata, deducts from the current term's refund what
	// the membership saved the customer in it (RecordSaving), never
	// below zero: the merchant's "refund less the benefits enjoyed"
	// (退款扣除已享优惠), so that subscribing, buying at the member price
	// and cancelling at once does not return the price too. Coupons a
	// tranche released count only once used and reported as savings; a
	// host that wants released coupons back revokes them itself. Only the
	// savings reported before the cancellation are deducted: report an
	// order's saving (RecordSaving) before cancelling the membership it
	// used.
	LessSaved bool
}

// CancelResult is what a cancellation did.
type CancelResult struct {
	// Refund is the money to return to the customer (the host refunds it
	// through its payment provider): zero unless ProRata.
	Refund decimal.Decimal
	// Terms are the terms the cancellation ended, as it left them.
	Terms    []PlanTerm
	Replayed bool
}

// Cancel ends the customer's membership now: the current term (trial or
// paid) ends at once, with its benefits, and renewals not started yet are
// cancelled. No refund by default; with ProRata the refund is, in fen,
//
//	round(Paid × (End − now) / (End − Start))   (half up)
//
// for the current paid term (less what it saved, never below zero, with
// LessSaved), plus the Paid of every term not started yet.
// Cancelled terms get no break-even settlement and release no more
// tranches. A member.plan_ended event with reason "cancelled" is published.
//
// What fell due before the cancellation still happens, exactly once, however
// RunPlans was scheduled: a coupon-pack tranche or birthday reward due before
// now (a tranche at 00:00, the cancellation at 00:30, the hourly run not yet
// done) is delivered by the next RunPlans, which then closes the term.
// Cancel only cuts the term's End to now, so nothing due from now on is,
// not even by a RunPlans already under way (it judges memberships at its
// start, see RunPlans).
//
// Errors: ErrInvalid for a malformed request; ErrNotFound when the customer
// has no term that has not ended; ErrConflict for a reused key.
func (s *Service) Cancel(ctx context.Context, req CancelRequest) (CancelResult, error) {
	const op = "member.Cancel"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return CancelResult{}, err
	}
	ps, err := s.plans(ctx, op, req.Tenant)
	if err != nil {
		return CancelResult{}, err
	}
	loc := s.opts.LocationOf(req.Tenant)
	if req.LessSaved && !req.ProRata {
		return CancelResult{}, scrm.Invalid(op, "LessSaved", "deducts from a ProRata refund; set ProRata too")
	}
	fp := s.newFingerprint(op).str(string(req.Customer)).int(boolInt(req.ProRata) | boolInt(req.LessSaved)<<1).sum()
	out, replayed, _, err := s.updateWithPlans(ctx, op, ps, MembershipParams{Tenant: req.Tenant, Customer: req.Customer,
		IdempotencyKey: req.IdempotencyKey, Fingerprint: fp}, func(tx *MembershipTx, ps *planSet, strict bool) error {
		now := storedTime(s.clock.Now())
		st := tx.State
		for i := range st.Terms {
			t := &st.Terms[i]
			if !t.Cancelled.IsZero() || !t.End.After(now) {
				continue
			}
			var refund int64
			if req.ProRata && !t.Trial {
				if t.Start.After(now) {
					refund = t.Paid
				} else {
					refund = mulDivRound(t.Paid, int64(t.End.Sub(now)), int64(t.End.Sub(t.Start)))
					if req.LessSaved {
						refund = max(refund-t.Saved, 0)
					}
				}
			}
			if t.Start.After(now) {
				t.End = t.Start
			} else {
				t.End = now
			}
			// Not Closed: RunPlans releases what came due before now,
			// then closes the term (due at once, see planDue).
			t.Cancelled, t.Refund = now, refund
			tx.Outcome.Refund += refund
			tx.Outcome.Terms = append(tx.Outcome.Terms, *t)
		}
		if len(tx.Outcome.Terms) == 0 {
			return scrm.Errorf(scrm.ErrNotFound, op, "customer %q has no membership to cancel", req.Customer)
		}
		if _, ok := ps.missing(st, nil); ok && strict {
			return errStalePlans
		}
		touchMembership(st, now)
		st.DueAt = s.planDue(st, ps, loc, now)
		return nil
	})
	if err != nil {
		return CancelResult{}, wrap(op, err)
	}
	r := CancelResult{Refund: fenDec(out.Refund), Terms: out.Terms, Replayed: replayed}
	if !s.cache.noEvents {
		t := out.Terms[0]
		ev := scrm.Event{ID: deriveID(EventPlanEnded, string(req.Customer), strconv.FormatInt(t.Seq, 10)), Tenant: req.Tenant,
			Customer: req.Customer, Type: EventPlanEnded, Time: t.Cancelled,
			Props: map[string]any{"plan": t.Plan, "trial": t.Trial, "term": t.Seq, "reason": "cancelled"}}
		if err := s.pub.Publish(ctx, ev); err != nil {
			return r, scrm.Wrap(scrm.ErrUnavailable, "member: after commit", err)
		}
	}
	return r, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Membership is a customer's paid membership as of now.
type Membership struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// Active tells that a term covers now; the fields below describe it
	// (they are zero when not active).
	Active   bool
	Plan     string
	PlanName string
	Trial    bool
	// Start and End bound the current term; Until is the end of the last
	// term bought (renewals included).
	Start, End, Until time.Time
	// Paid is the current term's price paid (zero for a trial), Saved what
	// RecordSaving reported for it.
	Paid  decimal.Decimal
	Saved decimal.Decimal
	// Terms are the customer's open and latest closed terms, oldest first.
	Terms []PlanTerm
	// Trials are the plans whose trial the customer used.
	Trials []string
}

// Membership returns a customer's membership as of now: the active plan,
// its term and whether it is a trial or paid. A customer who never had one
// gets a Membership with Active false.
func (s *Service) Membership(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (Membership, error) {
	const op = "member.Membership"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return Membership{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(customer)); err != nil {
		return Membership{}, err
	}
	m := Membership{Tenant: tenant, Customer: customer}
	st, err := s.store.Membership(ctx, tenant, customer)
	if errors.Is(err, scrm.ErrNotFound) {
		return m, nil
	}
	if err != nil {
		return Membership{}, wrap(op, err)
	}
	loc := s.opts.LocationOf(tenant)
	now := s.clock.Now()
	m.Terms, m.Trials = st.Terms, st.Trials
	for _, t := range st.Terms {
		if t.Cancelled.IsZero() && t.End.After(now) {
			m.Until = t.End.In(loc)
		}
	}
	if t := termAt(st.Terms, now); t != nil {
		m.Active, m.Plan, m.Trial = true, t.Plan, t.Trial
		m.Start, m.End = t.Start.In(loc), t.End.In(loc)
		m.Paid, m.Saved = fenDec(t.Paid), fenDec(t.Saved)
		ps, err := s.plans(ctx, op, tenant)
		if err != nil {
			return Membership{}, err
		}
		if p := ps.version(t.Plan, t.PlanVersion); p != nil {
			m.PlanName = p.Name
		}
	}
	return m, nil
}

// termAt returns the term covering at, or nil.
func termAt(terms []PlanTerm, at time.Time) *PlanTerm {
	for i := len(terms) - 1; i >= 0; i-- {
		t := &terms[i]
		if !t.Start.After(at) && t.End.After(at) {
			return t
		}
	}
	return nil
}

// SavingRequest reports what a membership saved on an order.
type SavingRequest struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// OrderID makes the report idempotent: an order is counted once.
	OrderID string
	// Saved is what the member rates saved on the order, in yuan (e.g.
	// the order amount minus PriceFor's price).
	Saved decimal.Decimal
	// At is when the order was paid; zero means now. The saving counts in
	// the term covering At.
	At time.Time
}

// SavingResult is a recorded saving.
type SavingResult struct {
	// Term is the Seq of the term the saving counted in; TermSaved the
	// term's total saved so far.
	Term      int64
	TermSaved decimal.Decimal
	Replayed  bool
}

// RecordSaving adds what the membership saved on an order to the term
// covering the order's time, for the break-even guarantee. Reporting an
// order again with the same amount changes nothing (Replayed); with another
// amount it is ErrConflict.
//
// Savings of a term are accepted until FutureTolerance after its end (for
// orders paid just before the end that are reported late); the break-even
// settlement happens from twice that after the end, so it always sees the
// term's final savings.
//
// Errors: ErrInvalid for a malformed request (Saved not positive or below
// the fen, At in the future); ErrNotFound when no term covers At; ErrExpired
// when the term is past its savings deadline; ErrConflict as above.
func (s *Service) RecordSaving(ctx context.Context, req SavingRequest) (SavingResult, error) {
	const op = "member.RecordSaving"
	if err := scrm.CheckID(op, "Tenant", string(req.Tenant)); err != nil {
		return SavingResult{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(req.Customer)); err != nil {
		return SavingResult{}, err
	}
	if err := scrm.CheckID(op, "OrderID", req.OrderID); err != nil {
		return SavingResult{}, err
	}
	if err := checkAmount(op, "Saved", req.Saved); err != nil {
		return SavingResult{}, err
	}
	now := s.clock.Now()
	at, err := checkAt(op, req.At, now)
	if err != nil {
		return SavingResult{}, err
	}
	saved, _ := scrm.ToFen(req.Saved)
	var res SavingResult
	_, _, err = s.store.UpdateMembership(ctx, MembershipParams{Tenant: req.Tenant, Customer: req.Customer, OrderID: req.OrderID},
		func(tx *MembershipTx) error {
			now := s.clock.Now()
			if sv := tx.Saving; sv != nil {
				if sv.Saved != saved {
					return scrm.Errorf(scrm.ErrConflict, op, "order %q was recorded with a saving of %s", req.OrderID, scrm.FromFen(sv.Saved))
				}
				res.Term, res.Replayed = sv.Term, true
				for _, t := range tx.State.Terms {
					if t.Seq == sv.Term {
						res.TermSaved = fenDec(t.Saved)
					}
				}
				return errReplayed
			}
			t := termAt(tx.State.Terms, at)
			if t == nil {
				return scrm.Errorf(scrm.ErrNotFound, op, "customer %q had no membership at %s", req.Customer, at.Format(time.RFC3339))
			}
			if !now.Before(t.End.Add(FutureTolerance)) || t.Settled {
				return scrm.Errorf(scrm.ErrExpired, op, "term %d ended at %s: its savings are closed", t.Seq, t.End.Format(time.RFC3339))
			}
			if t.Saved+saved > maxBalanceFen {
				return scrm.Invalid(op, "Saved", "the term's savings would exceed %s", scrm.FromFen(maxBalanceFen))
			}
			t.Saved += saved
			touchMembership(tx.State, now)
			tx.Saving = &SavingRecord{OrderID: req.OrderID, Saved: saved, Term: t.Seq, At: storedTime(at)}
			res.Term, res.TermSaved = t.Seq, fenDec(t.Saved)
			return nil
		})
	if err == errReplayed {
		return res, nil
	}
	if err != nil {
		return SavingResult{}, wrap(op, err)
	}
	return res, nil
}

// errReplayed tells a caller of a store update that fn found the request
// already done and wrote nothing on purpose.
var errReplayed = errors.New("member: replayed")
