package member

import (
	"context"
	"errors"
	"math/bits"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// TopUpRule is a tenant's top-up offer for stored value (储值): a top-up of
// at least a step's Min gets that step's bonus value and bonus points, e.g.
// top up ¥300 → +¥30 bonus and 100 points; ¥1000 → +¥100 bonus.
//
// Only the highest step the amount reaches applies, once: ¥1300 gets the
// ¥1000 step's bonus, not ¥1000's plus ¥300's. Top-up rules are versioned
// like programs: a new version applies to top-ups from then on.
type TopUpRule struct {
	Tenant scrm.TenantID `json:"tenant"`
	// Version is assigned by PutTopUpRule.
	Version   int64     `json:"version,omitzero"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	// Steps are ordered by strictly increasing Min. None means top-ups
	// credit the principal only.
	Steps []TopUpStep `json:"steps,omitzero"`
}

// TopUpStep is one threshold of a TopUpRule.
type TopUpStep struct {
	// Min is the least top-up amount, in yuan, that reaches the step.
	Min decimal.Decimal `json:"min"`
	// Bonus is the value added to the bonus balance (赠送金), in yuan.
	Bonus decimal.Decimal `json:"bonus,omitzero"`
	// BonusPoints are granted through Options.Rewarder as kind "points".
	BonusPoints int64 `json:"bonusPoints,omitzero"`
}

// Clone returns a deep copy of r.
func (r TopUpRule) Clone() TopUpRule {
	if r.Steps != nil {
		r.Steps = append([]TopUpStep(nil), r.Steps...)
	}
	return r
}

// Validate reports the first malformed field of r as an ErrInvalid error
// naming it ("Steps[1].Min").
func (r TopUpRule) Validate() error {
	const op = "member.TopUpRule"
	if err := scrm.CheckID(op, "Tenant", string(r.Tenant)); err != nil {
		return err
	}
	for i, st := range r.Steps {
		f := func(name string) string { return "Steps[" + strconv.Itoa(i) + "]." + name }
		if err := checkAmount(op, f("Min"), st.Min); err != nil {
			return err
		}
		if i > 0 && !st.Min.GreaterThan(r.Steps[i-1].Min) {
			return scrm.Invalid(op, f("Min"), "steps must have strictly increasing Min, got %s after %s", st.Min, r.Steps[i-1].Min)
		}
		if !st.Bonus.IsZero() {
			if err := checkAmount(op, f("Bonus"), st.Bonus); err != nil {
				return err
			}
		}
		if st.BonusPoints < 0 || st.BonusPoints > maxPoints {
			return scrm.Invalid(op, f("BonusPoints"), "must not be negative, got %d", st.BonusPoints)
		}
		if st.Bonus.IsZero() && st.BonusPoints == 0 {
			return scrm.Invalid(op, f("Bonus"), "a step gives a bonus, bonus points or both")
		}
	}
	return nil
}

// step returns the step a top-up of amount fen reaches, or nil.
func (r *TopUpRule) step(amount int64) *TopUpStep {
	for i := len(r.Steps) - 1; i >= 0; i-- {
		if m, _ := scrm.ToFen(r.Steps[i].Min); amount >= m {
			return &r.Steps[i]
		}
	}
	return nil
}

// PayOrder is how Pay draws on a stored-value account's principal and bonus
// (Options.StoredValuePay).
type PayOrder string

// The pay orders.
const (
	// PayProportional draws principal and bonus in proportion to the
	// balances: the bonus part is round(amount × bonus / (principal +
	// bonus)) to the fen, half up, and the principal part the rest. The
	// default.
	//
	// Rounding each payment on its own would let many small payments draw
	// the bonus faster than its share (¥0.06 at 1/11 bonus rounds to 1 fen
	// every time), so the bonus part is then moved, when needed and as far
	// as the balances allow, to the nearest value that keeps the bonus the
	// current cycle (see ValueCycle) has used within a fen of its exact
	// share of what the cycle used:
	//
	//	floor(used × BonusIn / In) ≤ BonusUsed ≤ ceil(used × BonusIn / In)
	//
	// with In = PrincipalIn + BonusIn and used = PrincipalUsed + BonusUsed
	// after the payment. RefundPayment keeps the same band, so proportional
	// payments and refunds from a single top-up never leave an excess for
	// Withdraw. A top-up or grant that changes the mix settles the use
	// before it (see ValueCycle.SettledBonus), so payments after it draw in
	// proportion to the balances then; where it cannot (the use holds an
	// excess, or a refund reopened settled use), the band makes payments
	// draw the bonus faster or slower until the cycle's use is back in
	// proportion.
	PayProportional PayOrder = "proportional"
	// PayBonusLast draws the principal first and the bonus only once the
	// principal is used up.
	PayBonusLast PayOrder = "bonus_last"
)

// maxBalanceFen bounds a stored-value balance (¥10 trillion), so that every
// product of two amounts fits 128 bits and every sum an int64.
const maxBalanceFen = 1_000_000_000_000_000

// ValueBalance is a customer's stored-value balance in yuan.
type ValueBalance struct {
	Principal decimal.Decimal // 本金: what the customer paid in and has not spent
	Bonus     decimal.Decimal // 赠送金: value given on top
}

// Total returns Principal + Bonus: what Pay can draw.
func (b ValueBalance) Total() decimal.Decimal { return b.Principal.Add(b.Bonus) }

func valueBalance(principal, bonus int64) ValueBalance {
	return ValueBalance{Principal: fenDec(principal), Bonus: fenDec(bonus)}
}

// fenDec is scrm.FromFen without an allocation for zero.
func fenDec(fen int64) decimal.Decimal {
	if fen == 0 {
		return decimal.Decimal{}
	}
	return scrm.FromFen(fen)
}

// PutTopUpRule validates r, stores it as the tenant's newest top-up rule
// and returns it with Version and CreatedAt set.
//
// Errors: ErrInvalid naming the field, e.g. "Steps[1].Min" for steps out of
// order.
func (s *Service) PutTopUpRule(ctx context.Context, r TopUpRule) (TopUpRule, error) {
	const op = "member.PutTopUpRule"
	if err := r.Validate(); err != nil {
		return TopUpRule{}, err
	}
	r.Version = 0
	r.CreatedAt = s.clock.Now()
	out, err := s.store.PutTopUpRule(ctx, r)
	return out, wrap(op, err)
}

// TopUpRule returns the tenant's newest top-up rule. Errors: ErrNotFound.
func (s *Service) TopUpRule(ctx context.Context, tenant scrm.TenantID) (TopUpRule, error) {
	r, err := s.store.TopUpRule(ctx, tenant, 0)
	return r, wrap("member.TopUpRule", err)
}

// TopUpRequest puts money into a customer's stored-value account.
type TopUpRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	IdempotencyKey string
	// Amount is the money paid in, in yuan: it becomes principal.
	Amount decimal.Decimal
	// Note is recorded on the journal entry (e.g. the payment reference).
	Note string
}

// TopUpResult is what a TopUp credited.
type TopUpResult struct {
	// Principal is the amount credited as principal, Bonus the top-up
	// rule's bonus and BonusPoints its points (granted through
	// Options.Rewarder).
	Principal   decimal.Decimal
	Bonus       decimal.Decimal
	BonusPoints int64
	Balance     ValueBalance
	Entries     []ValueEntry
	// Replayed tells that the key was seen before: nothing changed and this
	// is the original result.
	Replayed bool
}

// TopUp credits Amount to the principal and the bonus of the tenant's
// current top-up rule (the highest step reached) to the bonus; the step's
// bonus points are granted through Options.Rewarder (kind "points", key
// "storedvalue.topup:" + IdempotencyKey) once the top-up is saved. A tenant
// without a top-up rule gives no bonus.
//
// If the points grant fails the top-up stands and the result is returned
// with an error, matching ErrUnavailable unless the Rewarder refused for
// good (see Service); retrying with the same key grants them again under
// the same key.
//
// Errors: ErrInvalid for a malformed request (Amount not positive, below
// the fen, or a balance over ¥10 trillion); ErrConflict for a reused key.
func (s *Service) TopUp(ctx context.Context, req TopUpRequest) (TopUpResult, error) {
	const op = "member.TopUp"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return TopUpResult{}, err
	}
	if err := checkAmount(op, "Amount", req.Amount); err != nil {
		return TopUpResult{}, err
	}
	if err := checkNote(op, "Note", req.Note, false); err != nil {
		return TopUpResult{}, err
	}
	rule, err := s.store.TopUpRule(ctx, req.Tenant, 0)
	if err != nil && !errors.Is(err, scrm.ErrNotFound) {
		return TopUpResult{}, wrap(op, err)
	}
	amount, _ := scrm.ToFen(req.Amount)
	var bonus, points int64
	if st := rule.step(amount); st != nil {
		bonus, _ = scrm.ToFen(st.Bonus)
		points = st.BonusPoints
	}
	fp := s.newFingerprint(op).str(string(req.Customer)).dec(req.Amount).str(req.Note).sum()
	out, replayed, err := s.store.UpdateStoredValue(ctx, ValueParams{Tenant: req.Tenant, Customer: req.Customer,
		IdempotencyKey: req.IdempotencyKey, Fingerprint: fp}, func(tx *ValueTx) error {
		a := tx.Account
		if a.Principal+a.Bonus+amount+bonus > maxBalanceFen {
			return scrm.Invalid(op, "Amount", "the balance would exceed %s", scrm.FromFen(maxBalanceFen))
		}
		now := s.clock.Now()
		ent := valueEntry(tx, ValueTopUp, now, req.IdempotencyKey)
		ent.Principal, ent.Bonus, ent.BonusPoints, ent.Note = amount, bonus, points, req.Note
		a.settle(amount, bonus)
		a.Principal += amount
		a.Bonus += bonus
		a.Cycle.PrincipalIn += amount
		a.Cycle.BonusIn += bonus
		tx.Outcome.Entries = append(tx.Outcome.Entries, ent)
		if points > 0 {
			tx.Outcome.Grants = append(tx.Outcome.Grants, scrm.Grant{Tenant: req.Tenant, Customer: req.Customer,
				Reward:         scrm.Reward{Kind: scrm.RewardPoints, Points: points, Note: "top-up bonus"},
				IdempotencyKey: deriveID("storedvalue.topup", req.IdempotencyKey), Source: "storedvalue.topup"})
		}
		finishValue(tx, now)
		return nil
	})
	if err != nil {
		return TopUpResult{}, wrap(op, err)
	}
	r := TopUpResult{Balance: valueBalance(out.Principal, out.Bonus), Entries: out.Entries, Replayed: replayed}
	for _, e := range out.Entries {
		r.Principal = fenDec(e.Principal)
		r.Bonus = fenDec(e.Bonus)
		r.BonusPoints = e.BonusPoints
	}
	return r, s.grantAll(ctx, out.Grants)
}

// valueEntry starts the next journal entry of tx's account.
func valueEntry(tx *ValueTx, kind ValueEntryKind, now time.Time, key string) ValueEntry {
	tx.Account.Seq++
	return ValueEntry{Seq: tx.Account.Seq, Kind: kind, At: now, Key: key}
}

// finishValue stamps the account and records its balances in the outcome.
func finishValue(tx *ValueTx, now time.Time) {
	a := tx.Account
	if a.Version == 0 && a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	a.UpdatedAt = now
	tx.Outcome.Principal, tx.Outcome.Bonus = a.Principal, a.Bonus
}

// grantAll grants rewards through the Rewarder after a commit; failures are
// returned joined by scrm.Join (see Service).
func (s *Service) grantAll(ctx context.Context, grants []scrm.Grant) error {
	var errs []error
	for _, g := range grants {
		if err := s.rewarder.Grant(ctx, g); err != nil {
			s.log.WarnContext(ctx, "member: grant failed", "key", g.IdempotencyKey, "err", err)
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return scrm.Join("member: after commit", errs...)
	}
	return nil
}

// PayRequest pays an order with stored value.
type PayRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	IdempotencyKey string
	// OrderID names the order; an order is paid with stored value once.
	OrderID string
	Amount  decimal.Decimal
}

// PayResult is how a payment (or a refund of one) moved the balances.
type PayResult struct {
	// Principal and Bonus are the parts drawn (Pay) or returned
	// (RefundPayment); they add up to the amount.
	Principal decimal.Decimal
	Bonus     decimal.Decimal
	Balance   ValueBalance
	Entries   []ValueEntry
	Replayed  bool
}

// Pay draws Amount from the customer's stored value for an order, from the
// principal and the bonus as Options.StoredValuePay says (proportionally by
// default, see PayOrder), and remembers the split for refunds.
//
// Errors: ErrInvalid for a malformed request (Amount not positive or below
// the fen); ErrExhausted naming Amount when the balance is short (nothing is
// drawn); ErrConflict for a reused key or an order already paid with
// stored value under another key.
func (s *Service) Pay(ctx context.Context, req PayRequest) (PayResult, error) {
	const op = "member.Pay"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return PayResult{}, err
	}
	if err := scrm.CheckID(op, "OrderID", req.OrderID); err != nil {
		return PayResult{}, err
	}
	if err := checkAmount(op, "Amount", req.Amount); err != nil {
		return PayResult{}, err
	}
	amount, _ := scrm.ToFen(req.Amount)
	fp := s.newFingerprint(op).str(string(req.Customer)).str(req.OrderID).int(amount).sum()
	o, _ := s.payOps.Get().(*payOp)
	if o == nil {
		o = &payOp{}
		o.fn = o.run
	}
	o.s, o.req, o.amount = s, req, amount
	out, replayed, err := s.store.UpdateStoredValue(ctx, ValueParams{Tenant: req.Tenant, Customer: req.Customer,
		IdempotencyKey: req.IdempotencyKey, Fingerprint: fp, OrderID: req.OrderID}, o.fn)
	*o = payOp{fn: o.fn} // the store keeps no reference to fn or o.pay once UpdateStoredValue returns
	s.payOps.Put(o)
	if err != nil {
		return PayResult{}, wrap(op, err)
	}
	return payResult(out, replayed, -1), nil
}

// payOp is Pay's step for Store.UpdateStoredValue. It is recycled, with fn
// bound to run once, so that a payment allocates neither a closure, nor the
// request it would capture, nor the payment record: the store saves a copy
// of pay (see StoredValueStore.UpdateStoredValue).
type payOp struct {
	s      *Service
	req    PayRequest
	amount int64 // req.Amount in fen
	pay    ValuePayment
	fn     func(tx *ValueTx) error
}

func (o *payOp) run(tx *ValueTx) error {
	const op = "member.Pay"
	req, amount := &o.req, o.amount
	if tx.Payment != nil {
		return scrm.Errorf(scrm.ErrConflict, op, "order %q was already paid with stored value", req.OrderID)
	}
	a := tx.Account
	if amount > a.Principal+a.Bonus {
		return &scrm.Error{Code: scrm.ErrExhausted, Op: op, Field: "Amount",
			Msg: "balance " + scrm.FromFen(a.Principal+a.Bonus).StringFixed(2) + " is short of " + req.Amount.StringFixed(2)}
	}
	p, b := drawSplit(amount, a, o.s.opts.StoredValuePay)
	now := o.s.clock.Now()
	a.Principal -= p
	a.Bonus -= b
	a.Cycle.PrincipalUsed += p
	a.Cycle.BonusUsed += b
	ent := valueEntry(tx, ValuePay, now, req.IdempotencyKey)
	ent.Principal, ent.Bonus, ent.OrderID = -p, -b, req.OrderID
	tx.Outcome.Entries = append(tx.Outcome.Entries, ent)
	o.pay = ValuePayment{OrderID: req.OrderID, Key: req.IdempotencyKey, At: now, Amount: amount,
		Principal: p, Bonus: b, Cycle: a.Withdrawals}
	tx.Payment = &o.pay
	finishValue(tx, now)
	return nil
}

// payResult sums the entries of an outcome, times sign.
func payResult(out ValueOutcome, replayed bool, sign int64) PayResult {
	var p, b int64
	for _, e := range out.Entries {
		p += e.Principal
		b += e.Bonus
	}
	return PayResult{Principal: fenDec(sign * p), Bonus: fenDec(sign * b),
		Balance: valueBalance(out.Principal, out.Bonus), Entries: out.Entries, Replayed: replayed}
}

// drawSplit splits a payment of amount fen from account a, whose balances
// hold at least amount, between principal and bonus (see PayOrder).
func drawSplit(amount int64, a *ValueAccount, order PayOrder) (p, b int64) {
	principal, bonus := a.Principal, a.Bonus
	if order == PayBonusLast {
		p = min(amount, principal)
		return p, amount - p
	}
	if bonus == 0 {
		return amount, 0
	}
	b = mulDivRound(amount, bonus, principal+bonus)
	c := a.Cycle.open()
	if lo, hi, ok := cycleShare(c.PrincipalUsed+c.BonusUsed+amount, c); ok {
		b = min(max(b, lo-c.BonusUsed), hi-c.BonusUsed)
	}
	// The balances bound the split whatever the band asks.
	b = min(max(b, amount-principal, 0), amount, bonus)
	return amount - b, b
}

// cycleShare returns the floor and the ceiling of used × BonusIn /
// (PrincipalIn + BonusIn), the exact bonus share of used fen spent in cycle
// c; false when nothing went in, or used exceeds what did (never, for a
// cycle whose counters hold their invariant).
func cycleShare(used int64, c ValueCycle) (lo, hi int64, ok bool) {
	in := c.PrincipalIn + c.BonusIn
	if in <= 0 || used < 0 || used > in || c.BonusIn < 0 {
		return 0, 0, false
	}
	h, l := bits.Mul64(uint64(used), uint64(c.BonusIn))
	q, r := bits.Div64(h, l, uint64(in)) // q <= used, since BonusIn <= in
	lo = int64(q)
	if r != 0 {
		return lo, lo + 1, true
	}
	return lo, lo, true
}

// mulDivRound returns round(a × b / c), half up, for a, b >= 0 and c > 0,
// exactly (through a 128-bit product). The quotient must fit an int64.
func mulDivRound(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	var carry uint64
	lo, carry = bits.Add64(lo, uint64(c)/2, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// mulDivFloor returns floor(a × b / c) for a, b >= 0 and c > 0, exactly.
// The quotient must fit an int64.
func mulDivFloor(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// RefundPaymentRequest returns (part of) a stored-value payment to the
// balances.
type RefundPaymentRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	IdempotencyKey string
	OrderID        string
	// Amount is the part of the payment refunded, in yuan.
	Amount decimal.Decimal
}

// RefundPayment returns Amount of an order's stored-value payment to the
// balances it was drawn from, in the payment's own proportion: after
// refunds totalling R of a payment of A that drew B from the bonus, the
// bonus has got back floor(B × R / A) and the principal the rest, so
// partial refunds never return more bonus than a full one and a full refund
// returns exactly what was drawn — with one exception, under
// PayProportional.
//
// There a refund of a payment of the current cycle keeps the cycle's bonus
// use within a fen of its share, as payments do (see PayProportional):
// when the payment's own proportion would take the cycle out of that band
// (the payment's rounding differed from that of the cycle's other
// payments), the refund's bonus part moves to the band's nearest edge, by
// a few fen at most. A payment's refunds can then return that much more or
// less bonus (and as much less or more principal) than the payment drew.
// The parts always add up to Amount, and neither balance gets back more
// than the cycle drew from it.
//
// A payment made before the account was last withdrawn is refunded to the
// balances as new value (it counts as paid in for the next withdrawal).
//
// Errors: ErrInvalid for a malformed request or an Amount over what is left
// to refund; ErrNotFound for an order not paid with stored value;
// ErrConflict for a reused key.
func (s *Service) RefundPayment(ctx context.Context, req RefundPaymentRequest) (PayResult, error) {
	const op = "member.RefundPayment"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return PayResult{}, err
	}
	if err := scrm.CheckID(op, "OrderID", req.OrderID); err != nil {
		return PayResult{}, err
	}
	if err := checkAmount(op, "Amount", req.Amount); err != nil {
		return PayResult{}, err
	}
	amount, _ := scrm.ToFen(req.Amount)
	fp := s.newFingerprint(op).str(string(req.Customer)).str(req.OrderID).int(amount).sum()
	out, replayed, err := s.store.UpdateStoredValue(ctx, ValueParams{Tenant: req.Tenant, Customer: req.Customer,
		IdempotencyKey: req.IdempotencyKey, Fingerprint: fp, OrderID: req.OrderID}, func(tx *ValueTx) error {
		pay := tx.Payment
		if pay == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "customer %q has no stored-value payment for order %q", req.Customer, req.OrderID)
		}
		if left := pay.Amount - pay.Refunded; amount > left {
			return scrm.Invalid(op, "Amount", "%s exceeds the %s left to refund on order %q", req.Amount, scrm.FromFen(left), req.OrderID)
		}
		a := tx.Account
		if a.Principal+a.Bonus+amount > maxBalanceFen {
			return scrm.Invalid(op, "Amount", "the balance would exceed %s", scrm.FromFen(maxBalanceFen))
		}
		if c := &a.Cycle; pay.Cycle == a.Withdrawals && c.PrincipalUsed+c.BonusUsed-amount < c.SettledPrincipal+c.SettledBonus {
			// The refund reaches into the settled use: a payment from
			// before is undone, so the whole cycle counts again.
			c.SettledPrincipal, c.SettledBonus = 0, 0
		}
		refunded := pay.Refunded + amount
		b := refundSplit(amount, pay, a, s.opts.StoredValuePay)
		p := amount - b
		if c := &a.Cycle; pay.Cycle == a.Withdrawals && (c.PrincipalUsed-p < c.SettledPrincipal || c.BonusUsed-b < c.SettledBonus) {
			// The payment's own split reaches into the settled use of one
			// balance: reopen it too.
			c.SettledPrincipal, c.SettledBonus = 0, 0
		}
		pay.Refunded, pay.RefundedPrincipal, pay.RefundedBonus = refunded, pay.RefundedPrincipal+p, pay.RefundedBonus+b
		if pay.Cycle == a.Withdrawals {
			a.Cycle.PrincipalUsed -= p
			a.Cycle.BonusUsed -= b
		} else {
			a.settle(p, b)
			a.Cycle.PrincipalIn += p
			a.Cycle.BonusIn += b
		}
		a.Principal += p
		a.Bonus += b
		now := s.clock.Now()
		ent := valueEntry(tx, ValueRefund, now, req.IdempotencyKey)
		ent.Principal, ent.Bonus, ent.OrderID = p, b, req.OrderID
		tx.Outcome.Entries = append(tx.Outcome.Entries, ent)
		finishValue(tx, now)
		return nil
	})
	if err != nil {
		return PayResult{}, wrap(op, err)
	}
	return payResult(out, replayed, 1), nil
}

// refundSplit returns the bonus part of a refund of amount fen of payment
// pay from account a (see RefundPayment).
func refundSplit(amount int64, pay *ValuePayment, a *ValueAccount, order PayOrder) int64 {
	b := mulDivFloor(pay.Bonus, pay.Refunded+amount, pay.Amount) - pay.RefundedBonus
	b = min(max(b, 0), amount)
	if pay.Cycle != a.Withdrawals {
		return payBounds(b, amount, pay) // new value for the cycle: nothing to keep in proportion
	}
	c := a.Cycle.open()
	if order != PayBonusLast {
		if lo, hi, ok := cycleShare(c.PrincipalUsed+c.BonusUsed-amount, c); ok {
			b = min(max(b, c.BonusUsed-hi), c.BonusUsed-lo)
		}
	}
	// The cycle cannot have used less than nothing of either balance.
	b = min(max(b, amount-c.PrincipalUsed, 0), amount, c.BonusUsed)
	// Nor does a refund give back more of either balance than the payment
	// drew and has not had back: the band moves fen between the two, never
	// bonus into principal beyond the payment's own split (which would let
	// a customer withdraw bonus as cash).
	return payBounds(b, amount, pay)
}

// payBounds clamps b, the bonus part of refunding amount of pay, to what
// pay drew of each balance and has not had back.
func payBounds(b, amount int64, pay *ValuePayment) int64 {
	principalLeft := pay.Principal - pay.RefundedPrincipal
	bonusLeft := pay.Bonus - pay.RefundedBonus
	return min(max(b, amount-principalLeft, 0), bonusLeft, amount)
}

// WithdrawRequest closes out a customer's stored value (退卡 / 余额退款).
type WithdrawRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	IdempotencyKey string
	// Note is recorded on the journal entry (e.g. the reason).
	Note string
}

// WithdrawResult is what a withdrawal paid out and kept.
type WithdrawResult struct {
	// Paid is the money to return to the customer (the host pays it out).
	Paid decimal.Decimal
	// Kept is the principal kept for bonus used beyond proportion.
	Kept decimal.Decimal
	// Forfeited is the bonus given up.
	Forfeited decimal.Decimal
	Balance   ValueBalance
	Entries   []ValueEntry
	Replayed  bool
}

// Withdraw closes out a customer's stored value: the bonus is forfeited and
// the remaining principal is paid out, minus the bonus already used beyond
// its fair share. Over the open part of the current cycle (since the
// account was opened or last withdrawn, less the use settled by credits,
// see ValueCycle), with amounts in fen:
//
//	used   = PrincipalUsed + BonusUsed
//	share  = used × BonusIn / (PrincipalIn + BonusIn)   (exact)
//	fair   = round(share)                               (half up)
//	excess = 0                       when BonusUsed ≤ ceil(share)
//	       = BonusUsed − fair        otherwise
//	kept   = min(Principal, excess)
//	paid   = Principal − kept
//
// Bonus use within a fen of its exact share is rounding, not bonus used
// beyond proportion: PayProportional keeps a cycle's use in that band.
// So a customer who topped up ¥300 (+¥30 bonus) and spent ¥110 drawing ¥10
// of bonus (the fair 1/11) gets the remaining ¥200 principal back; one who
// drew more bonus than 1/11 of what they spent gets that excess deducted.
// Proportional payments from a single top-up never create an excess, and
// neither do bonus-last payments from a single top-up. A refund gives back
// no more of either balance than its payment drew (so bonus never comes
// back as principal to be withdrawn as cash); where that leaves the cycle's
// bonus use outside its fen of rounding, Withdraw may keep a fen or so per
// such refund. Both balances end at zero; the account stays open for new
// top-ups, which start a new cycle.
//
// Value credited later (a top-up, a grant, a refund of a payment from
// before the last withdrawal) does not make earlier use an excess: before
// a credit that changes the open part's mix, use that holds no excess is
// settled, and once the principal is used up, all use is (bonus drawn with
// no principal left is drawn in proportion to the balances, which hold
// bonus only). The counters above are then those of the use since. So
// nothing is kept from a customer who was given ¥198 of bonus, spent ¥100
// of it and topped up ¥1000 (+¥100): the ¥1000 is paid back; nor from one
// who topped up ¥300 (+¥30), paid ¥330 and topped up ¥200: the ¥200 is;
// nor from one who topped up ¥1000 (+¥100), spent ¥500 (¥45.45 of bonus)
// and topped up ¥200 (no bonus): the ¥745.45 of principal left is. A
// settlement rounds the settled bonus share down to the fen (a fen drawn
// above it stays open), so each credit that changes the mix can leave the
// customer up to a fen of bonus share undrawn, never more bonus than its
// share. Use with an excess is not settled while principal is left:
// Withdraw charges it against the mix of the whole open part. A refund
// that undoes settled use (one of the earlier payments, beyond what was
// paid since) reopens it: the whole cycle counts again, so refunding the
// ¥300 of principal spent cannot leave the ¥30 of bonus used for free.
//
// Errors: ErrNotFound when the customer has no stored-value account;
// ErrExhausted when both balances are already zero; ErrConflict for a
// reused key.
func (s *Service) Withdraw(ctx context.Context, req WithdrawRequest) (WithdrawResult, error) {
	const op = "member.Withdraw"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return WithdrawResult{}, err
	}
	if err := checkNote(op, "Note", req.Note, false); err != nil {
		return WithdrawResult{}, err
	}
	fp := s.newFingerprint(op).str(string(req.Customer)).str(req.Note).sum()
	out, replayed, err := s.store.UpdateStoredValue(ctx, ValueParams{Tenant: req.Tenant, Customer: req.Customer,
		IdempotencyKey: req.IdempotencyKey, Fingerprint: fp}, func(tx *ValueTx) error {
		a := tx.Account
		if a.Version == 0 {
			return scrm.Errorf(scrm.ErrNotFound, op, "no stored-value account for customer %q", req.Customer)
		}
		if a.Principal == 0 && a.Bonus == 0 {
			return scrm.Errorf(scrm.ErrExhausted, op, "nothing to withdraw")
		}
		kept := min(a.Principal, withdrawExcess(a.Cycle.open()))
		paid := a.Principal - kept
		now := s.clock.Now()
		ent := valueEntry(tx, ValueWithdraw, now, req.IdempotencyKey)
		ent.Principal, ent.Bonus, ent.Paid, ent.Kept, ent.Forfeited, ent.Note = -a.Principal, -a.Bonus, paid, kept, a.Bonus, req.Note
		tx.Outcome.Entries = append(tx.Outcome.Entries, ent)
		a.Withdrawn += paid
		a.Kept += kept
		a.Forfeited += a.Bonus
		a.Principal, a.Bonus = 0, 0
		a.Cycle = ValueCycle{}
		a.Withdrawals++
		finishValue(tx, now)
		return nil
	})
	if err != nil {
		return WithdrawResult{}, wrap(op, err)
	}
	r := WithdrawResult{Balance: valueBalance(out.Principal, out.Bonus), Entries: out.Entries, Replayed: replayed}
	for _, e := range out.Entries {
		r.Paid, r.Kept, r.Forfeited = fenDec(e.Paid), fenDec(e.Kept), fenDec(e.Forfeited)
	}
	return r, nil
}

// settle marks what a's cycle used so far as settled when principal and
// bonus fen are about to be credited (see ValueCycle.SettledBonus), so
// that a credit that changes the mix does not change the share that use is
// measured against. Call it before the credit.
//
// With the principal used up, all of the use is settled: the cycle used all
// the principal that went in, and bonus drawn with no principal left was
// drawn in proportion to the balances. With principal left, the use is
// settled when the credit changes the open part's mix and the use holds no
// excess (see Withdraw), up to the floor of its bonus share: a fen of
// rounding above the floor stays open, as bonus used in the new open part,
// for later payments to even out, and the fraction of a fen of the share is
// dropped. Use with an excess is left open as it is, for Withdraw to charge.
func (a *ValueAccount) settle(principal, bonus int64) {
	c := &a.Cycle
	if a.Principal == 0 {
		c.SettledPrincipal, c.SettledBonus = c.PrincipalUsed, c.BonusUsed
		return
	}
	o := c.open()
	if sameMix(bonus, principal+bonus, o.BonusIn, o.PrincipalIn+o.BonusIn) {
		return // the share of the use stays what it was
	}
	lo, hi, ok := cycleShare(o.PrincipalUsed+o.BonusUsed, o)
	if ok && o.BonusUsed <= hi {
		c.SettledPrincipal, c.SettledBonus = c.PrincipalUsed, c.BonusUsed-max(0, o.BonusUsed-lo)
	}
}

// sameMix reports whether b1 / t1 = b2 / t2, for amounts in [0,
// maxBalanceFen].
func sameMix(b1, t1, b2, t2 int64) bool {
	h1, l1 := bits.Mul64(uint64(b1), uint64(t2))
	h2, l2 := bits.Mul64(uint64(b2), uint64(t1))
	return h1 == h2 && l1 == l2
}

// open returns the part of cycle c not settled, which payments keep in
// proportion and Withdraw charges for.
func (c ValueCycle) open() ValueCycle {
	return ValueCycle{
		PrincipalIn: c.PrincipalIn - c.SettledPrincipal, BonusIn: c.BonusIn - c.SettledBonus,
		PrincipalUsed: c.PrincipalUsed - c.SettledPrincipal, BonusUsed: c.BonusUsed - c.SettledBonus,
	}
}

// withdrawExcess is the bonus used beyond its fair share in a cycle (see
// Withdraw).
func withdrawExcess(c ValueCycle) int64 {
	used := c.PrincipalUsed + c.BonusUsed
	_, hi, ok := cycleShare(used, c)
	if !ok || c.BonusUsed <= hi {
		return 0
	}
	fair := mulDivRound(used, c.BonusIn, c.PrincipalIn+c.BonusIn)
	return max(0, c.BonusUsed-fair)
}

// Balance returns a customer's stored-value balance; a customer who never
// had stored value has a zero balance.
func (s *Service) Balance(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (ValueBalance, error) {
	const op = "member.Balance"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return ValueBalance{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(customer)); err != nil {
		return ValueBalance{}, err
	}
	a, err := s.store.ValueAccount(ctx, tenant, customer)
	if errors.Is(err, scrm.ErrNotFound) {
		return valueBalance(0, 0), nil
	}
	if err != nil {
		return ValueBalance{}, wrap(op, err)
	}
	return valueBalance(a.Principal, a.Bonus), nil
}

// ValueEntries returns a page of a customer's stored-value journal, oldest
// first.
func (s *Service) ValueEntries(ctx context.Context, p ListEntriesParams) (ValueEntryPage, error) {
	const op = "member.ValueEntries"
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return ValueEntryPage{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return ValueEntryPage{}, err
	}
	page, err := s.store.ValueEntries(ctx, p)
	return page, wrap(op, err)
}

// grantStoredValue is Grant for kind "stored_value": the amount is credited
// to the bonus balance, keyed by g.IdempotencyKey in the stored-value
// ledger; g.Source is recorded as the entry's note.
func (s *Service) grantStoredValue(ctx context.Context, g scrm.Grant) error {
	const op = "member.Grant"
	if err := checkAmount(op, "Reward.Amount", g.Reward.Amount); err != nil {
		return err
	}
	if err := checkNote(op, "Source", g.Source, false); err != nil {
		return err
	}
	amount, _ := scrm.ToFen(g.Reward.Amount)
	fp := s.newFingerprint(op).str(string(g.Customer)).str(string(g.Reward.Kind)).int(amount).str(g.Reward.Note).str(g.Source).sum()
	_, _, err := s.store.UpdateStoredValue(ctx, ValueParams{Tenant: g.Tenant, Customer: g.Customer,
		IdempotencyKey: g.IdempotencyKey, Fingerprint: fp}, func(tx *ValueTx) error {
		a := tx.Account
		if a.Principal+a.Bonus+amount > maxBalanceFen {
			return scrm.Invalid(op, "Reward.Amount", "the balance would exceed %s", scrm.FromFen(maxBalanceFen))
		}
		now := s.clock.Now()
		ent := valueEntry(tx, ValueGrant, now, g.IdempotencyKey)
		ent.Bonus, ent.Note = amount, g.Source
		a.settle(0, amount)
		a.Bonus += amount
		a.Cycle.BonusIn += amount
		tx.Outcome.Entries = append(tx.Outcome.Entries, ent)
		finishValue(tx, now)
		return nil
	})
	return wrap(op, err)
}

// holds reports whether the service's own Grant holds rewards of kind: what
// a rule may grant when Options.Rewarder is left unset.
func (s *Service) holds(kind scrm.RewardKind) bool {
	return kind == scrm.RewardPoints || kind == scrm.RewardGrowth || kind == scrm.RewardStoredValue
}
