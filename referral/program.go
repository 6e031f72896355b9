package referral

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Program is a referral campaign (老带新): who gets what when an invitee
// binds to an inviter's code and then qualifies. Save it with
// Service.SaveProgram, which validates it.
type Program struct {
	Tenant           scrm.TenantID
	ID, Name         string
	Qualify          Qualify           // what makes an invitee count: Event (default "order.paid"), MinAmount, Within (time from binding), FirstOnly
	InviteeOnBind    []scrm.Reward     // e.g. a ¥50 new-customer coupon, granted when the invitee binds
	InviteeOnQualify []scrm.Reward     // granted to the invitee when they qualify
	InviterRewards   []scrm.Reward     // for each qualified invitee, e.g. a 满148减20 coupon
	Percent          decimal.Decimal   // inviter also gets this share of the qualifying order ...
	PercentCap       decimal.Decimal   // ... capped (e.g. 10%, at most ¥100; zero: no cap), granted as Options.PercentKind (default "stored_value")
	Ladder           []Rung            // Rung{Count int; Rewards []scrm.Reward}: when the inviter's qualified count reaches Count
	MaxPerInviter    int               // qualified invitees rewarded per inviter (0 = unlimited)
	Commission       []decimal.Decimal // distribution (分销) rates by level, at most 2 levels; with Percent at most 1 in all
	SettleAfter      time.Duration     // commission becomes payable after the return window
	Fraud            FraudPolicy
	Start, End       time.Time // bindings are accepted at Start ≤ t < End; zero Start: from the beginning, zero End: no end
}

// Qualify says what turns a bound invitee into a qualified one, the event
// the inviter is rewarded for.
type Qualify struct {
	// Event is the event type that qualifies; default scrm.EventOrderPaid.
	Event string
	// MinAmount is the least Event.Amount that qualifies; zero: any amount.
	MinAmount decimal.Decimal
	// Within is how long after binding the event must happen; zero: no
	// limit. The window is [binding time, binding time + Within).
	Within time.Duration
	// FirstOnly makes only the invitee's first Event after binding count:
	// if that one is below MinAmount, the invitee never qualifies. It is
	// judged by event time from the invitee's profile, so the Dispatcher
	// must run scrm.Profiles before the Service. It can judge only the
	// events delivered so far: when a later order that qualifies arrives
	// before an earlier one below MinAmount (two queues, a redelivery),
	// the invitee qualifies and the rewards are granted, which the late
	// first order does not undo. Deliver an invitee's orders in time
	// order where FirstOnly matters.
	FirstOnly bool
}

// Rung is one step of a reward ladder (阶梯奖励): Rewards are granted to the
// inviter once, when their Count-th invitee qualifies.
type Rung struct {
	Count   int
	Rewards []scrm.Reward
}

// FraudPolicy decides which bindings Bind refuses and which it accepts but
// holds for review (Status Review: no reward moves until Service.Approve).
// The zero FraudPolicy refuses a shared device or phone and sets no limits.
//
// Bindings are counted per tenant, across programs, since fraud rings do not
// stop at one campaign; every binding stored counts, whatever its status.
// A check is skipped when the signal it needs is missing from the request.
type FraudPolicy struct {
	// SameDevice applies when the invitee's device is one the inviter was
	// seen on (Service.Observe, or the inviter's own binding); default
	// ActionReject.
	SameDevice Action
	// SamePhone applies when the invitee's phone is one the inviter was
	// seen with; default ActionReject.
	SamePhone Action
	// PerInviter limits bindings to one inviter within a rolling window
	// (default one hour), e.g. Limit{Max: 20}. Staff codes are exempt.
	PerInviter Limit
	// PerDevice limits bindings from one device (default window: all time).
	PerDevice Limit
	// PerIP limits bindings from one IP address, IPv6 addresses counting per
	// /64 (default window: all time; a day is usual, as carriers share IPs).
	PerIP Limit
}

// Limit is a count limit of a FraudPolicy: a binding that would make more
// than Max bindings within Within (before it) triggers Action.
type Limit struct {
	Max    int           // 0: no limit
	Within time.Duration // the rolling window; 0: the field's default
	Action Action        // default ActionReject
}

// Action is what a fraud check does when it hits.
type Action string

// The fraud actions. The zero Action means ActionReject.
const (
	ActionReject Action = "reject" // refuse the binding; nothing is written
	ActionReview Action = "review" // accept it with Status Review and hold its rewards
	ActionAllow  Action = "allow"  // ignore the check
)

func (a Action) orReject() Action {
	if a == "" {
		return ActionReject
	}
	return a
}

// qualifyEvent returns the event type that qualifies.
func (p *Program) qualifyEvent() string {
	if p.Qualify.Event == "" {
		return scrm.EventOrderPaid
	}
	return p.Qualify.Event
}

// running reports whether bindings are accepted at t.
func (p *Program) running(t time.Time) bool {
	return !t.Before(p.Start) && (p.End.IsZero() || t.Before(p.End))
}

// maxCommissionLevels is how deep distribution commission goes: the inviter
// and the inviter's inviter.
const maxCommissionLevels = 2

// Validate reports the first malformed field of p as an error matching
// scrm.ErrInvalid and naming it, e.g. `referral program "p1": Ladder[2].Count:
// the ladder must increase: 3 after 5`.
func (p Program) Validate() error {
	const op = "referral program"
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "ID", p.ID); err != nil {
		return err
	}
	at := func(field string, err error) error { return at(op, p.ID, field, err) }
	switch ev := p.Qualify.Event; {
	case len(ev) > scrm.MaxIDLength:
		return at("Qualify.Event", fmt.Errorf("longer than %d bytes", scrm.MaxIDLength))
	case ev == scrm.EventOrderRefunded || strings.HasPrefix(ev, "referral."):
		return at("Qualify.Event", fmt.Errorf("%s cannot qualify an invitee", ev))
	}
	if err := checkMoney(p.Qualify.MinAmount); err != nil {
		return at("Qualify.MinAmount", err)
	}
	if p.Qualify.Within < 0 {
		return at("Qualify.Within", fmt.Errorf("must not be negative, got %s", p.Qualify.Within))
	}
	for _, rs := range []struct {
		field   string
		rewards []scrm.Reward
	}{{"InviteeOnBind", p.InviteeOnBind}, {"InviteeOnQualify", p.InviteeOnQualify}, {"InviterRewards", p.InviterRewards}} {
		if err := checkRewards(op, p.ID, rs.field, rs.rewards); err != nil {
			return err
		}
	}
	if err := checkRate(p.Percent); err != nil {
		return at("Percent", err)
	}
	if err := checkMoney(p.PercentCap); err != nil {
		return at("PercentCap", err)
	}
	if p.MaxPerInviter < 0 {
		return at("MaxPerInviter", fmt.Errorf("must not be negative, got %d", p.MaxPerInviter))
	}
	prev := 0
	for i, r := range p.Ladder {
		field := fmt.Sprintf("Ladder[%d].Count", i)
		switch {
		case r.Count <= 0:
			return at(field, fmt.Errorf("must be positive, got %d", r.Count))
		case r.Count <= prev:
			return at(field, fmt.Errorf("the ladder must increase: %d after %d", r.Count, prev))
		case p.MaxPerInviter > 0 && r.Count > p.MaxPerInviter:
			return at(field, fmt.Errorf("%d can never be reached with MaxPerInviter %d", r.Count, p.MaxPerInviter))
		}
		prev = r.Count
		if len(r.Rewards) == 0 {
			return at(fmt.Sprintf("Ladder[%d].Rewards", i), fmt.Errorf("required"))
		}
		if err := checkRewards(op, p.ID, fmt.Sprintf("Ladder[%d].Rewards", i), r.Rewards); err != nil {
			return err
		}
	}
	if len(p.Commission) > maxCommissionLevels {
		return at("Commission", fmt.Errorf("at most %d levels, got %d", maxCommissionLevels, len(p.Commission)))
	}
	total := p.Percent
	for i, c := range p.Commission {
		if err := checkRate(c); err != nil {
			return at(fmt.Sprintf("Commission[%d]", i), err)
		}
		total = total.Add(c)
	}
	if total.GreaterThan(decimal.NewFromInt(1)) {
		// Every level and the percent reward are shares of the same order.
		return at("Commission", fmt.Errorf("the rates with Percent add up to %s, more than the whole order", total))
	}
	if p.SettleAfter < 0 {
		return at("SettleAfter", fmt.Errorf("must not be negative, got %s", p.SettleAfter))
	}
	if err := p.Fraud.validate(op, p.ID); err != nil {
		return err
	}
	if !p.End.IsZero() && !p.End.After(p.Start) {
		return at("End", fmt.Errorf("must be after Start"))
	}
	return nil
}

func (f FraudPolicy) validate(op, id string) error {
	for _, a := range []struct {
		field string
		a     Action
	}{{"Fraud.SameDevice", f.SameDevice}, {"Fraud.SamePhone", f.SamePhone}} {
		if err := checkAction(a.a); err != nil {
			return at(op, id, a.field, err)
		}
	}
	for _, l := range []struct {
		field string
		l     Limit
	}{{"Fraud.PerInviter", f.PerInviter}, {"Fraud.PerDevice", f.PerDevice}, {"Fraud.PerIP", f.PerIP}} {
		switch {
		case l.l.Max < 0:
			return at(op, id, l.field+".Max", fmt.Errorf("must not be negative, got %d", l.l.Max))
		case l.l.Within < 0:
			return at(op, id, l.field+".Within", fmt.Errorf("must not be negative, got %s", l.l.Within))
		}
		if err := checkAction(l.l.Action); err != nil {
			return at(op, id, l.field+".Action", err)
		}
	}
	return nil
}

func checkAction(a Action) error {
	switch a {
	case "", ActionReject, ActionReview, ActionAllow:
		return nil
	}
	return fmt.Errorf("unknown action %q (want %q, %q or %q)", a, ActionReject, ActionReview, ActionAllow)
}

// checkRate accepts a share in [0, 1) with at most 4 decimal places (0.01%).
func checkRate(r decimal.Decimal) error {
	if r.IsNegative() || r.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		return fmt.Errorf("rate must be in [0, 1), got %s", r)
	}
	if !r.Equal(r.Round(4)) {
		return fmt.Errorf("rate has more than 4 decimal places: %s", r)
	}
	return nil
}

func checkMoney(d decimal.Decimal) error {
	if d.IsNegative() {
		return fmt.Errorf("must not be negative, got %s", d)
	}
	if !scrm.IsFen(d) {
		return fmt.Errorf("at most 2 decimal places (fen), got %s", d)
	}
	return nil
}

// checkRewards validates rewards with scrm.Reward.Validate (a kind, no
// negative values, whole fen, and the value a standard kind grants: a
// points reward without points would fail at every grant), and the kind's
// length, naming the field, e.g. `InviterRewards[1].Kind`.
func checkRewards(op, id, field string, rewards []scrm.Reward) error {
	for i, r := range rewards {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(r.Kind) > scrm.MaxIDLength {
			return at(op, id, f+".Kind", fmt.Errorf("longer than %d bytes", scrm.MaxIDLength))
		}
		var se *scrm.Error
		if err := r.Validate(); errors.As(err, &se) {
			return at(op, id, f+"."+se.Field, errors.New(se.Msg))
		}
	}
	return nil
}

// at returns an ErrInvalid error for field of entity id.
func at(op, id, field string, err error) error {
	return &scrm.Error{Code: scrm.ErrInvalid, Op: fmt.Sprintf("%s %q", op, id), Field: field, Msg: err.Error()}
}

func cloneRewards(rs []scrm.Reward) []scrm.Reward {
	if rs == nil {
		return nil
	}
	return append([]scrm.Reward(nil), rs...)
}

// clone returns a deep copy of p.
func (p Program) clone() Program {
	p.InviteeOnBind = cloneRewards(p.InviteeOnBind)
	p.InviteeOnQualify = cloneRewards(p.InviteeOnQualify)
	p.InviterRewards = cloneRewards(p.InviterRewards)
	if p.Ladder != nil {
		l := make([]Rung, len(p.Ladder))
		for i, r := range p.Ladder {
			l[i] = Rung{Count: r.Count, Rewards: cloneRewards(r.Rewards)}
		}
		p.Ladder = l
	}
	if p.Commission != nil {
		p.Commission = append([]decimal.Decimal(nil), p.Commission...)
	}
	return p
}
