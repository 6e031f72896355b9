package referral

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Status is the state of a binding, and of the qualification it leads to.
type Status string

// The binding statuses.
const (
	StatusActive   Status = "active"   // rewards flow
	StatusReview   Status = "review"   // suspicious but allowed: rewards held until Approve
	StatusRejected Status = "rejected" // refused on review: no reward ever; the invitee stays bound
)

// Binding ties an invitee to the inviter (or staff member) whose code they
// used. A tenant's customer is bound at most once, to the first code that
// binds them, permanently, whichever program that was under.
type Binding struct {
	Tenant     scrm.TenantID
	Program    string
	Invitee    scrm.CustomerID
	Inviter    scrm.CustomerID // empty when bound through a staff code
	Staff      string          // the staff member credited, when bound through a staff code
	Code       string          // the code used, canonical
	Signals    Signals         // the invitee's, normalized (IPv6 reduced to its /64)
	At         time.Time       // when the invitee bound
	Status     Status
	Flags      []Reason  // the fraud checks that put it under review
	ReviewedAt time.Time // when it was approved or rejected; zero if never reviewed

	// IdempotencyKey and Fingerprint identify the request that created the
	// binding, so that a replay of it is recognized.
	IdempotencyKey string
	Fingerprint    string
}

// String describes b for logs, signals masked.
func (b Binding) String() string {
	by := "inviter " + string(b.Inviter)
	if b.Staff != "" {
		by = "staff " + b.Staff
	}
	s := fmt.Sprintf("binding %s/%s program %s by %s %s [%s]", b.Tenant, b.Invitee, b.Program, by, b.Status, b.Signals)
	if len(b.Flags) > 0 {
		flags := make([]string, len(b.Flags))
		for i, f := range b.Flags {
			flags[i] = string(f)
		}
		s += " flags=" + strings.Join(flags, ",")
	}
	return s
}

// LogValue implements slog.LogValuer: the masked String, so that logging a
// Binding never leaks the invitee's phone or address.
func (b Binding) LogValue() slog.Value { return slog.StringValue(b.String()) }

func (b Binding) clone() Binding {
	if b.Flags != nil {
		b.Flags = append([]Reason(nil), b.Flags...)
	}
	return b
}

// BindRequest asks to bind an invitee to the owner of a code.
type BindRequest struct {
	Tenant  scrm.TenantID
	Program string
	Invitee scrm.CustomerID
	Code    string  // as typed or scanned; see ParseCode
	Signals Signals // the invitee's device, IP and phone, for the fraud checks
	At      time.Time
	// IdempotencyKey, optional, makes a retried Bind return the original
	// binding (and finish granting its rewards) instead of refusing the
	// invitee as already bound. Reusing it for a different request is an
	// error matching scrm.ErrConflict.
	IdempotencyKey string
}

// Bind binds req.Invitee to the owner of req.Code under req.Program, at
// req.At (zero: the Clock's now). It refuses, with an error carrying the
// Reason and matching the sentinel listed with it, and writes nothing:
//
//   - a malformed request: scrm.ErrInvalid naming the field;
//   - an unknown program: scrm.ErrNotFound;
//   - At outside the program's Start/End: ReasonNotRunning;
//   - a code nobody has: ReasonUnknownCode;
//   - the invitee's own code: ReasonSelfReferral;
//   - an invitee bound before (to anyone, under any program): ReasonAlreadyBound;
//   - an invitee who paid an order (scrm.EventOrderPaid in their profile)
//     before At: ReasonExistingCustomer;
//   - an inviter who is the invitee's own invitee, directly or further
//     down: ReasonCycle;
//   - a fraud check of the program's FraudPolicy whose Action is
//     ActionReject: ReasonSameDevice, ReasonSamePhone, ReasonInviterRate,
//     ReasonDeviceLimit, ReasonIPLimit.
//
// Fraud checks whose Action is ActionReview let the binding through with
// Status Review and the Reasons in Flags: its rewards wait for Approve.
//
// An IdempotencyKey names one request. Replayed for the same invitee with
// the same program, code and signals, it returns the binding it made, also
// when the replay ran at the same time as the request (whichever reaches
// the Store second reads the binding the other made); with another
// program, code or signals it is refused with scrm.ErrConflict naming
// IdempotencyKey. A
// key that bound another invitee is refused with scrm.ErrConflict too, by
// the Store, which keeps a tenant's binding keys unique atomically with
// the insert (see Store.Bind), so that requests racing with one key never
// both bind. Either way nothing is written.
//
// An active binding grants the program's InviteeOnBind rewards, and every
// binding publishes EventBound. When a grant or the publish fails, the
// binding stands and is returned with an error matching
// scrm.ErrUnavailable; replay the request with the same IdempotencyKey to
// finish.
func (s *Service) Bind(ctx context.Context, req BindRequest) (Binding, error) {
	const op = "referral.Bind"
	if err := scrm.CheckID(op, "Tenant", string(req.Tenant)); err != nil {
		return Binding{}, err
	}
	if err := scrm.CheckID(op, "Program", req.Program); err != nil {
		return Binding{}, err
	}
	if err := scrm.CheckID(op, "Invitee", string(req.Invitee)); err != nil {
		return Binding{}, err
	}
	if req.IdempotencyKey != "" {
		if err := scrm.CheckID(op, "IdempotencyKey", req.IdempotencyKey); err != nil {
			return Binding{}, err
		}
	}
	sig, err := req.Signals.normalize(op)
	if err != nil {
		return Binding{}, err
	}
	code, err := ParseCode(req.Code)
	if err != nil {
		return Binding{}, err
	}
	at := req.At
	if at.IsZero() {
		at = s.opts.Clock.Now()
	}
	prog, err := s.program(ctx, op, req.Tenant, req.Program)
	if err != nil {
		return Binding{}, err
	}
	var fp string
	if req.IdempotencyKey != "" {
		fp = scrm.Fingerprint(req.Program, req.Invitee, code, sig)
	}

	// Without a key there is nothing to replay, and the store refuses a
	// second binding atomically: the lookup of an existing binding is put
	// off until a refusal needs it (a bound invitee is told so before any
	// other refusal), which spares new customers, the common case, a lookup
	// and a not-found error.
	var existing Binding
	bound := false
	if req.IdempotencyKey != "" {
		existing, err = s.store.GetBinding(ctx, req.Tenant, req.Invitee)
		switch {
		case err == nil && existing.IdempotencyKey == req.IdempotencyKey:
			if err := scrm.CheckReplay(op, req.IdempotencyKey, existing.Fingerprint, fp); err != nil {
				return Binding{}, err
			}
			return existing, s.afterBind(ctx, op, prog, existing)
		case err != nil && !is(err, scrm.ErrNotFound):
			return Binding{}, scrm.Wrap(nil, op, err)
		}
		bound = err == nil
	}

	if !prog.running(at) {
		return Binding{}, refuse(scrm.ErrExpired, op, ReasonNotRunning,
			fmt.Sprintf("program %s does not accept bindings at %s", prog.ID, at.Format(time.RFC3339)))
	}
	rec, err := s.lookupCode(ctx, op, req.Tenant, code)
	if err != nil {
		return Binding{}, err
	}
	owner := rec.Owner
	if owner.Customer == req.Invitee {
		return Binding{}, refuse(scrm.ErrForbidden, op, ReasonSelfReferral, fmt.Sprintf("code %s is the invitee's own", code))
	}
	if bound {
		return Binding{}, alreadyBound(op, existing)
	}
	paid, err := s.paidBefore(ctx, req.Tenant, req.Invitee, at)
	if err != nil {
		return Binding{}, scrm.Wrap(nil, op, err)
	}
	if paid {
		return Binding{}, s.boundFirst(ctx, op, req, refuse(scrm.ErrForbidden, op, ReasonExistingCustomer,
			fmt.Sprintf("customer %s paid an order before binding", req.Invitee)))
	}

	b := Binding{
		Tenant: req.Tenant, Program: prog.ID, Invitee: req.Invitee,
		Inviter: owner.Customer, Staff: owner.Staff, Code: code,
		Signals: sig, At: at, Status: StatusActive,
		IdempotencyKey: req.IdempotencyKey, Fingerprint: fp,
	}
	if owner.Customer != "" && (sig.Device != "" || sig.Phone != "") {
		known, err := s.store.GetSignals(ctx, req.Tenant, owner.Customer)
		if err != nil {
			return Binding{}, scrm.Wrap(nil, op, err)
		}
		checks := []struct {
			hit    bool
			action Action
			reason Reason
		}{
			{sig.Device != "" && contains(known.Devices, sig.Device), prog.Fraud.SameDevice, ReasonSameDevice},
			{sig.Phone != "" && contains(known.Phones, sig.Phone), prog.Fraud.SamePhone, ReasonSamePhone},
		}
		for _, c := range checks {
			if !c.hit {
				continue
			}
			switch c.action.orReject() {
			case ActionReject:
				err := s.boundFirst(ctx, op, req, refuse(scrm.ErrForbidden, op, c.reason,
					fmt.Sprintf("invitee %s shares a %s with inviter %s", req.Invitee, strings.TrimPrefix(string(c.reason), "same_"), owner.Customer)))
				if ReasonOf(err) == c.reason {
					s.opts.Logger.InfoContext(ctx, "referral: binding refused", "reason", c.reason, "binding", b)
				}
				return Binding{}, err
			case ActionReview:
				b.Status = StatusReview
				b.Flags = append(b.Flags, c.reason)
			}
		}
	}

	sc := s.scratch()
	defer s.recycle(sc)
	sc.limits = s.limits(sc.limits[:0], prog, b)
	stored, err := s.store.Bind(ctx, BindParams{Binding: b, Limits: sc.limits})
	if err != nil && req.IdempotencyKey != "" && ReasonOf(err) == ReasonAlreadyBound {
		// Another attempt with this key, in flight at the same time, may
		// have bound the invitee since the lookup above: answer as a replay.
		if existing, gerr := s.store.GetBinding(ctx, req.Tenant, req.Invitee); gerr == nil && existing.IdempotencyKey == req.IdempotencyKey {
			if err := scrm.CheckReplay(op, req.IdempotencyKey, existing.Fingerprint, fp); err != nil {
				return Binding{}, err
			}
			return existing, s.afterBind(ctx, op, prog, existing)
		}
	}
	if err != nil {
		if r := ReasonOf(err); r != "" {
			s.opts.Logger.InfoContext(ctx, "referral: binding refused", "reason", r, "binding", b)
		}
		return Binding{}, scrm.Wrap(nil, op, err)
	}
	if stored.Status == StatusReview {
		s.opts.Logger.InfoContext(ctx, "referral: binding held for review", "binding", stored)
	}
	return stored, s.afterBind(ctx, op, prog, stored)
}

// boundFirst returns refusal, or the refusal of an invitee who is bound
// already when the request had no idempotency key (Bind then looked up no
// binding before its checks): a bound invitee is told so first, whatever
// else is wrong.
func (s *Service) boundFirst(ctx context.Context, op string, req BindRequest, refusal error) error {
	if req.IdempotencyKey == "" {
		if b, err := s.store.GetBinding(ctx, req.Tenant, req.Invitee); err == nil {
			return alreadyBound(op, b)
		}
	}
	return refusal
}

func alreadyBound(op string, b Binding) error {
	return refuse(scrm.ErrConflict, op, ReasonAlreadyBound,
		fmt.Sprintf("customer %s was bound on %s under program %s", b.Invitee, b.At.Format(time.DateOnly), b.Program))
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// limits returns the count limits of the program's fraud policy that apply
// to b, for the store to check atomically with the insert, appended to out.
func (s *Service) limits(out []BindLimit, p *Program, b Binding) []BindLimit {
	add := func(l Limit, by LimitBy, value string, def time.Duration, r Reason) {
		if l.Max <= 0 || value == "" || l.Action.orReject() == ActionAllow {
			return
		}
		within := l.Within
		if within == 0 {
			within = def
		}
		var since time.Time
		if within > 0 {
			since = b.At.Add(-within)
		}
		out = append(out, BindLimit{By: by, Value: value, Since: since, Max: l.Max, Review: l.Action == ActionReview, Reason: r})
	}
	add(p.Fraud.PerInviter, LimitByInviter, string(b.Inviter), time.Hour, ReasonInviterRate)
	add(p.Fraud.PerDevice, LimitByDevice, b.Signals.Device, 0, ReasonDeviceLimit)
	add(p.Fraud.PerIP, LimitByIP, b.Signals.IP, 0, ReasonIPLimit)
	return out
}

// paidBefore reports whether the customer's profile has a paid order before
// at (following a merge to the survivor's profile).
func (s *Service) paidBefore(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, at time.Time) (bool, error) {
	p, err := scrm.FindProfile(ctx, s.profiles, tenant, customer)
	if p == nil || err != nil {
		return false, err
	}
	first, ok := p.First(scrm.EventOrderPaid)
	return ok && first.Before(at), nil
}

// afterBind grants the invitee's bind rewards of an active binding and
// publishes EventBound. Both are idempotent.
func (s *Service) afterBind(ctx context.Context, op string, p *Program, b Binding) error {
	var errs []error
	if !s.noEvents {
		errs = appendErr(errs, s.publish(ctx, bindEvent(b)))
	}
	if b.Status == StatusActive {
		sc := s.scratch()
		g := rewardGrant{tenant: b.Tenant, program: p.ID, role: "bind", about1: string(b.Invitee)}
		sc.grants = g.add(sc.grants[:0], b.Invitee, p.InviteeOnBind)
		_, err := s.grant(ctx, p.ID, sc.grants)
		s.recycle(sc)
		errs = appendErr(errs, err)
	}
	return joinErrs(op, errs)
}

// Binding returns the invitee's binding.
//
// Errors: ErrNotFound when the customer is not bound.
func (s *Service) Binding(ctx context.Context, tenant scrm.TenantID, invitee scrm.CustomerID) (Binding, error) {
	const op = "referral.Binding"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return Binding{}, err
	}
	if err := scrm.CheckID(op, "Invitee", string(invitee)); err != nil {
		return Binding{}, err
	}
	b, err := s.store.GetBinding(ctx, tenant, invitee)
	return b, scrm.Wrap(nil, op, err)
}

// Inviter returns the customer who invited invitee, whatever the binding's
// status (see Binding for it).
//
// Errors: ErrNotFound when the customer is not bound, or was bound through
// a staff code (Binding.Staff names the staff member).
func (s *Service) Inviter(ctx context.Context, tenant scrm.TenantID, invitee scrm.CustomerID) (scrm.CustomerID, error) {
	const op = "referral.Inviter"
	b, err := s.Binding(ctx, tenant, invitee)
	if err != nil {
		return "", scrm.Wrap(nil, op, err)
	}
	if b.Inviter == "" {
		return "", scrm.Errorf(scrm.ErrNotFound, op, "customer %s was bound through staff %s's code, not by a customer", invitee, b.Staff)
	}
	return b.Inviter, nil
}

// Approve releases a binding held for review: it becomes active, its
// invitee's bind rewards are granted and, if the invitee already qualified,
// the qualification is rewarded as if it had just happened (taking its
// place in the inviter's count now). Approving an approved binding again
// only finishes any grant that failed.
//
// Errors: ErrNotFound when the customer is not bound; ErrConflict carrying
// ReasonNotInReview when the binding was never under review, or was
// rejected.
func (s *Service) Approve(ctx context.Context, tenant scrm.TenantID, invitee scrm.CustomerID) (Binding, error) {
	return s.review(ctx, "referral.Approve", tenant, invitee, true)
}

// Reject refuses a binding held for review: it stays (the invitee cannot be
// bound again) but never earns anyone anything. Rejecting a rejected binding
// again changes nothing.
//
// Errors: ErrNotFound when the customer is not bound; ErrConflict carrying
// ReasonNotInReview when the binding is active.
func (s *Service) Reject(ctx context.Context, tenant scrm.TenantID, invitee scrm.CustomerID) (Binding, error) {
	return s.review(ctx, "referral.Reject", tenant, invitee, false)
}

func (s *Service) review(ctx context.Context, op string, tenant scrm.TenantID, invitee scrm.CustomerID, approve bool) (Binding, error) {
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return Binding{}, err
	}
	if err := scrm.CheckID(op, "Invitee", string(invitee)); err != nil {
		return Binding{}, err
	}
	b, err := s.store.GetBinding(ctx, tenant, invitee)
	if err != nil {
		return Binding{}, scrm.Wrap(nil, op, err)
	}
	prog, err := s.program(ctx, op, tenant, b.Program)
	if err != nil {
		return Binding{}, err
	}
	want := StatusRejected
	if approve {
		want = StatusActive
	}
	var q *Qualification
	switch {
	case b.Status == StatusReview:
		res, err := s.store.Review(ctx, ReviewParams{Tenant: tenant, Invitee: invitee, Approve: approve, At: s.opts.Clock.Now(), MaxPerInviter: prog.MaxPerInviter})
		if err != nil && !errors.Is(err, ReasonNotInReview) {
			return Binding{}, scrm.Wrap(nil, op, err)
		}
		if err == nil {
			b, q = res.Binding, res.Qualification
			break
		}
		// Someone reviewed it meanwhile; continue from the stored state.
		if b, err = s.store.GetBinding(ctx, tenant, invitee); err != nil {
			return Binding{}, scrm.Wrap(nil, op, err)
		}
		if b.Status != want {
			return Binding{}, notInReview(op, b)
		}
		fallthrough
	case b.Status == want && !b.ReviewedAt.IsZero():
		if qq, err := s.store.GetQualification(ctx, tenant, b.Program, invitee); err == nil {
			q = &qq
		} else if !is(err, scrm.ErrNotFound) {
			return Binding{}, scrm.Wrap(nil, op, err)
		}
	default:
		return Binding{}, notInReview(op, b)
	}
	errs := []error{s.publish(ctx, reviewEvent(b))}
	if approve {
		errs = append(errs, s.afterBind(ctx, op, prog, b))
		if q != nil {
			errs = append(errs, s.rewardQualification(ctx, prog, *q))
		}
	}
	return b, joinErrs(op, errs)
}

func notInReview(op string, b Binding) error {
	return refuse(scrm.ErrConflict, op, ReasonNotInReview, fmt.Sprintf("binding of %s is %s", b.Invitee, b.Status))
}
