package member

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// EventPointsExchanged is the event type Exchange publishes when an exchange
// is done (its reward granted), at its SettledAt: a trigger for a thank-you
// touch or a tag rule counting exchanges. Its ID is "points.exchanged:" and
// the exchange's idempotency key (hashed when that is longer than 111
// bytes), so a replay republishes the same event. It has no Props: a handler
// that needs the item or the price looks the exchange up with
// Service.ExchangeByKey. (Props would cost a map per exchange, a tenth of
// BenchmarkExchange's budget, even when no Publisher is configured.)
const EventPointsExchanged = "points.exchanged"

// ExchangeLease is how long a call of Exchange (or ResumeExchanges) holds a
// pending exchange while it grants the reward: another call with the same
// key finds it in progress (ErrUnavailable) until the lease runs out, and
// may then take it over. A lease makes sure that two calls never grant and
// refund the same exchange at once.
const ExchangeLease = time.Minute

// mallPrefix starts the Note of the journal entries of exchanges, the Source
// of their grants and the idempotency key of their grants ("mall:" and the
// exchange's key).
const mallPrefix = "mall:"

// Validate reports the first problem of c as an error matching
// scrm.ErrInvalid that names the field, e.g. "Reward.Points" or "Tiers[1]".
func (c CatalogItem) Validate() error {
	const op = "member.CatalogItem"
	if err := scrm.CheckID(op, "Tenant", string(c.Tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "ID", c.ID); err != nil {
		return err
	}
	if err := checkNote(op, "Name", c.Name, true); err != nil {
		return err
	}
	if c.Points <= 0 || c.Points > maxPoints {
		return scrm.Invalid(op, "Points", "the price must be positive, got %d", c.Points)
	}
	if err := checkReward(op, "Reward", c.Reward); err != nil {
		return err
	}
	if c.Stock < 0 || c.Stock > maxPoints {
		return scrm.Invalid(op, "Stock", "must not be negative (0 = unlimited), got %d", c.Stock)
	}
	if c.PerCustomer < 0 || c.PerCustomer > maxPoints {
		return scrm.Invalid(op, "PerCustomer", "must not be negative (0 = unlimited), got %d", c.PerCustomer)
	}
	for i, t := range c.Tiers {
		field := "Tiers[" + strconv.Itoa(i) + "]"
		if err := scrm.CheckID(op, field, t); err != nil {
			return err
		}
		if slices.Contains(c.Tiers[:i], t) {
			return scrm.Invalid(op, field, "tier %q is listed twice", t)
		}
	}
	if !c.Start.IsZero() && !c.End.IsZero() && !c.End.After(c.Start) {
		return scrm.Invalid(op, "End", "%s is not after Start %s", c.End.Format(time.RFC3339), c.Start.Format(time.RFC3339))
	}
	return nil
}

// checkReward validates a reward: a kind, and what that kind needs (points
// or growth: Points; stored value: Amount; coupon: Template).
func checkReward(op, field string, r scrm.Reward) error {
	if err := scrm.CheckID(op, field+".Kind", string(r.Kind)); err != nil {
		return err
	}
	switch r.Kind {
	case scrm.RewardPoints, scrm.RewardGrowth:
		if r.Points <= 0 {
			return scrm.Invalid(op, field+".Points", "a %s reward must be positive, got %d", r.Kind, r.Points)
		}
	case scrm.RewardStoredValue:
		if err := checkAmount(op, field+".Amount", r.Amount); err != nil {
			return err
		}
	case scrm.RewardCoupon:
		if err := scrm.CheckID(op, field+".Template", r.Template); err != nil {
			return err
		}
	}
	switch {
	case r.Points < 0 || r.Points > maxPoints:
		return scrm.Invalid(op, field+".Points", "out of range: %d", r.Points)
	case r.Amount.IsNegative() || !scrm.IsFen(r.Amount):
		return scrm.Invalid(op, field+".Amount", "must be a non-negative amount in fen, got %s", r.Amount)
	case r.Count < 0 || r.Count > 1000:
		return scrm.Invalid(op, field+".Count", "must be within 0 to 1000, got %d", r.Count)
	}
	return checkNote(op, field+".Note", r.Note, false)
}

// PutCatalogItem validates an item of the points mall and stores it: a new
// one when item.Version is 0, else an update of the stored version
// item.Version. It returns the item as stored, with its new Version and its
// Sold count. Sold is the store's: whatever item.Sold says is ignored.
//
// Errors: ErrInvalid naming the field (see CatalogItem.Validate), a reward
// of a kind the Service itself does not hold when no Options.Rewarder is
// configured ("Reward.Kind"), or a tier the tenant's program does not have
// ("Tiers[i]"; checked when the tenant has a program); ErrConflict when the
// version is stale.
func (s *Service) PutCatalogItem(ctx context.Context, item CatalogItem) (CatalogItem, error) {
	const op = "member.PutCatalogItem"
	if err := item.Validate(); err != nil {
		return CatalogItem{}, err
	}
	if s.rewarder == scrm.Rewarder(s) && !s.holds(item.Reward.Kind) {
		return CatalogItem{}, scrm.Invalid(op, "Reward.Kind", "kind %q needs Options.Rewarder (the service itself holds only %q, %q and %q)", item.Reward.Kind, scrm.RewardPoints, scrm.RewardGrowth, scrm.RewardStoredValue)
	}
	if len(item.Tiers) > 0 {
		c, err := s.program(ctx, op, item.Tenant)
		switch {
		case err == nil:
			for i, t := range item.Tiers {
				if c.tierIndex(t) < 0 {
					return CatalogItem{}, scrm.Invalid(op, "Tiers["+strconv.Itoa(i)+"]", "the program of tenant %q has no tier %q", item.Tenant, t)
				}
			}
		case !errors.Is(err, scrm.ErrNotFound):
			return CatalogItem{}, err
		}
	}
	now := s.clock.Now()
	if item.Version == 0 || item.CreatedAt.IsZero() {
		item.CreatedAt = now
	}
	item.UpdatedAt = now
	item.Sold = 0
	stored, err := s.store.PutCatalogItem(ctx, item)
	if err != nil {
		return CatalogItem{}, wrap(op, err)
	}
	return stored, nil
}

// CatalogItem returns an item of the points mall with its Sold count.
// Errors: ErrNotFound.
func (s *Service) CatalogItem(ctx context.Context, tenant scrm.TenantID, id string) (CatalogItem, error) {
	const op = "member.CatalogItem"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return CatalogItem{}, err
	}
	if err := scrm.CheckID(op, "ID", id); err != nil {
		return CatalogItem{}, err
	}
	it, err := s.store.CatalogItem(ctx, tenant, id)
	return it, wrap(op, err)
}

// CatalogItems returns a page of the tenant's points mall in ID order,
// every item included (those outside their Start–End window or sold out
// too: the host decides what to show).
func (s *Service) CatalogItems(ctx context.Context, p ListCatalogParams) (CatalogPage, error) {
	const op = "member.CatalogItems"
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return CatalogPage{}, err
	}
	page, err := s.store.ListCatalog(ctx, p)
	return page, wrap(op, err)
}

// ExchangeRequest spends a customer's points on an item of the points mall.
type ExchangeRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	Item           string
	IdempotencyKey string
}

// ExchangeResult is an exchange as it stands after Exchange: its record
// (the points paid, the reward, the state, and the customer's Balance after
// the charge, or after the refund of a refunded exchange).
type ExchangeResult struct {
	ExchangeRecord
	// Replayed tells that the key was seen before: this is the exchange it
	// made (resumed if it was interrupted).
	Replayed bool
}

// Exchange spends a customer's points on a catalog item and grants its
// reward through Options.Rewarder (积分兑换).
//
// The steps, each idempotent:
//
//  1. Charge, in one atomic store step (MallStore.ChargeExchange): the
//     item's stock and the customer's count of it are checked and counted,
//     and the price is spent from the customer's lots, soonest-expiring
//     first, exactly as Redeem spends (a "spend" journal entry keyed by the
//     request's key, with Note "mall:<item>"); the exchange is recorded as
//     pending. Any failure writes nothing.
//  2. Grant the item's Reward with the idempotency key "mall:<key>" and
//     Source "mall:<item>".
//  3. When the grant succeeds, the exchange is marked done and
//     points.exchanged is published. When the Rewarder returns an error,
//     one atomic step (MallStore.RefundExchange) gives the points back to
//     the lots they came from (a "refund" entry; points whose lot has
//     expired since are forfeited, as with order refunds), gives the stock
//     and the customer's count back, and marks the exchange refunded.
//
// A crash (or a done ctx) between the steps leaves the exchange pending:
// calling Exchange again with the same key and request resumes it at step 2
// once ExchangeLease has passed since the interrupted call started (before
// that it returns ErrUnavailable: in progress), and ResumeExchanges resumes
// every such exchange of a tenant. The grant's key makes step 2 safe to
// repeat, and a fencing token (ExchangeRecord.Attempt) makes sure that only
// the call holding the lease completes or refunds the exchange.
//
// An error from the Rewarder is taken to mean that nothing was granted —
// true of scrmkit's rewarders, whose grants are atomic — and the points are
// returned at once. The exception is a Rewarder that fails because the
// caller's ctx is done: the grant may then be in flight, so the exchange is
// left pending to be resumed. A Rewarder that calls a remote system should
// likewise not return an error while the remote outcome is unknown: it
// should retry with the same key until it knows, or give up with the
// caller's ctx.
//
// Replaying a key with the same request returns the exchange as it stands
// (Replayed set), whatever the item's stock or price are now; the same key
// with another customer or item is ErrConflict. The mall's keys are its
// own: unlike the ledger's requests (Earn, Redeem, Adjust, ...), which share
// one key space, an exchange's key does not collide with theirs, and its
// journal entries record it without taking it from them.
//
// The store checks the stock and the customer's count first, then the
// window, the tier (as of now: a tier period that ended is closed first) and
// the balance (after expiring lots past their expiry) are checked on the
// locked account.
//
// Errors, with nothing written: ErrInvalid for a malformed request;
// ErrNotFound for an unknown item or a tenant without a program; ErrExpired
// naming "Start" or "End" outside the item's window (Start included, End
// excluded); ErrForbidden naming "Tiers" when the customer's tier may not
// have the item; ErrExhausted naming "Stock" when it is sold out,
// "PerCustomer" when the customer has had the item PerCustomer times
// (refunded exchanges do not count), or "Points" when the spendable balance
// is short; ErrConflict for a reused key. After the charge: an error matching
// ErrUnavailable, with the result, when the reward was refused (State
// refunded: the error also wraps the Rewarder's, and replays return it
// again; retry with a new key), when the exchange is in progress or left
// pending (State pending: retry with the same key), or when publishing
// failed (State done: the exchange stands).
func (s *Service) Exchange(ctx context.Context, req ExchangeRequest) (ExchangeResult, error) {
	const op = "member.Exchange"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return ExchangeResult{}, err
	}
	if err := scrm.CheckID(op, "Item", req.Item); err != nil {
		return ExchangeResult{}, err
	}
	c, err := s.program(ctx, op, req.Tenant)
	if err != nil {
		return ExchangeResult{}, err
	}
	env, err := s.env(ctx, op, c, req.Tenant, req.Customer)
	if err != nil {
		return ExchangeResult{}, err
	}
	fp := s.newFingerprint(op).str(string(req.Customer)).str(req.Item).sum()
	x, _ := s.xOps.Get().(*exchangeOp)
	if x == nil {
		x = &exchangeOp{}
		x.fn = x.run
	}
	x.e = engine{c: c, now: s.clock.Now(), env: env, key: req.IdempotencyKey, step: chargeStep}
	x.tenant, x.customer = req.Tenant, req.Customer
	res, err := s.store.ChargeExchange(ctx, ChargeExchangeParams{Tenant: req.Tenant, Customer: req.Customer, Item: req.Item,
		Key: req.IdempotencyKey, Fingerprint: fp}, x.fn)
	*x = exchangeOp{fn: x.fn, noteItem: x.noteItem, note: x.note} // the store keeps no reference to fn once ChargeExchange returns
	s.xOps.Put(x)
	if err != nil {
		return ExchangeResult{}, wrap(op, err)
	}
	var effErr error
	if !res.Replayed {
		effErr = s.effects(ctx, req.Tenant, req.Customer, res.Outcome)
	}
	rec := res.Exchange
	if res.Replayed && rec.State == ExchangePending {
		if rec, _, err = s.claimExchange(ctx, op, rec); err != nil {
			return ExchangeResult{ExchangeRecord: rec, Replayed: true}, err
		}
	}
	var source string // the spend entry's Note is the grant's Source
	for i := range res.Outcome.Entries {
		if res.Outcome.Entries[i].Kind == EntrySpend {
			source = res.Outcome.Entries[i].Note
		}
	}
	out, err := s.settleExchange(ctx, op, rec, source)
	out.Replayed = res.Replayed
	if err == nil {
		err = effErr
	}
	return out, err
}

// exchangeOp is Exchange's charge step for MallStore.ChargeExchange, with
// the engine that runs its ledger step. It is recycled, with fn bound to
// run once, so that an exchange allocates no closures.
type exchangeOp struct {
	e        engine
	tenant   scrm.TenantID
	customer scrm.CustomerID
	tx       *ExchangeTx
	fn       func(tx *ExchangeTx) error
	// note is the spend entry's Note, "mall:" + noteItem, kept across
	// uses: most exchanges are of an item exchanged before, and the string
	// is immutable, so they share it instead of building it each time.
	noteItem, note string
}

// mallNote returns "mall:" + item.
func (x *exchangeOp) mallNote(item string) string {
	if x.noteItem != item || x.note == "" {
		x.noteItem, x.note = item, mallPrefix+item
	}
	return x.note
}

func (x *exchangeOp) run(tx *ExchangeTx) error {
	if err := checkWindow("member.Exchange", &tx.Item, x.e.now); err != nil {
		return err
	}
	x.tx = tx
	x.e.xop = x
	if err := x.e.run(tx.Ledger); err != nil {
		return err
	}
	tx.Exchange.Balance = tx.Ledger.Outcome.After
	return nil
}

// chargeStep is the ledger step of an exchange's charge, on the engine's
// exchangeOp.
func chargeStep(e *engine) error {
	x := e.xop
	return e.chargeExchange("member.Exchange", x.tenant, x.customer, e.key, x.tx, x.mallNote(x.tx.Item.ID))
}

// getEngine returns a recycled engine; recycle returns it once the store no
// longer holds the function that uses it.
func (s *Service) getEngine() *engine {
	e, _ := s.engines.Get().(*engine)
	if e == nil {
		e = &engine{}
	}
	return e
}

func (s *Service) recycle(e *engine) {
	*e = engine{}
	s.engines.Put(e)
}

// checkWindow checks that now is inside an item's Start–End window.
func checkWindow(op string, it *CatalogItem, now time.Time) error {
	if !it.Start.IsZero() && now.Before(it.Start) {
		return &scrm.Error{Code: scrm.ErrExpired, Op: op, Field: "Start",
			Msg: "catalog item " + strconv.Quote(it.ID) + " cannot be exchanged before " + it.Start.Format(time.RFC3339)}
	}
	if !it.End.IsZero() && !now.Before(it.End) {
		return &scrm.Error{Code: scrm.ErrExpired, Op: op, Field: "End",
			Msg: "catalog item " + strconv.Quote(it.ID) + " could be exchanged until " + it.End.Format(time.RFC3339)}
	}
	return nil
}

// chargeExchange is the ledger step of a charge: the tier and balance
// checks, and the spend.
func (e *engine) chargeExchange(op string, tenant scrm.TenantID, customer scrm.CustomerID, key string, tx *ExchangeTx, note string) error {
	it := &tx.Item
	if len(it.Tiers) > 0 && (e.a.Tier == "" || !slices.Contains(it.Tiers, e.a.Tier)) {
		tier := e.a.Tier
		if tier == "" {
			tier = "none"
		}
		return &scrm.Error{Code: scrm.ErrForbidden, Op: op, Field: "Tiers",
			Msg: "catalog item " + strconv.Quote(it.ID) + " is for tiers " + strings.Join(it.Tiers, ", ") + "; the customer's tier is " + tier}
	}
	if avail := e.a.Points(); avail < it.Points {
		return &scrm.Error{Code: scrm.ErrExhausted, Op: op, Field: "Points",
			Msg: "catalog item " + strconv.Quote(it.ID) + " costs " + strconv.FormatInt(it.Points, 10) + " points; " + strconv.FormatInt(max(avail, 0), 10) + " available"}
	}
	ent := e.entry(EntrySpend)
	ent.Note = note // mallPrefix + it.ID
	spend(e.a, ent, it.Points, 0)
	if tx.Exchange == nil {
		tx.Exchange = new(ExchangeRecord)
	}
	*tx.Exchange = ExchangeRecord{
		Tenant: tenant, Key: key, Customer: customer, Item: it.ID,
		ItemName: it.Name, ItemVersion: it.Version, Points: it.Points, Reward: it.Reward,
		State: ExchangePending, Lots: slices.Clone(ent.Lots), LeaseUntil: e.now.Add(ExchangeLease), CreatedAt: e.now,
	}
	return nil
}

// refundExchange is the ledger step of a refund: the points go back to the
// lots they came from, latest-expiring first, except those of lots that
// have expired since, which are forfeited.
func (e *engine) refundExchange(x *ExchangeRecord) {
	before := e.a.Points()
	ent := e.entry(EntryRefund)
	ent.Note = mallPrefix + x.Item
	now := e.now.UnixNano()
	var returned, forfeited int64
	for i := len(x.Lots) - 1; i >= 0; i-- {
		m := x.Lots[i]
		t := -m.Points
		switch {
		case t <= 0:
		case m.Expiry != 0 && m.Expiry <= now:
			forfeited += t
		default:
			f := creditReturn(e.a, ent, t, m.Expiry, now, m.Lot)
			forfeited += f
			returned += t - f
		}
	}
	ent.Forfeited = forfeited
	x.Returned, x.Forfeited = returned, forfeited
	// Points coming back pay off first what refunds could not claw back
	// (AccountState.Unclawed): spent here when the exchange was charged,
	// they come back now.
	x.Unclawed = e.takeUnclawed("", "", e.a.Points()-before, x.CreatedAt)
}

// claimExchange takes over a pending exchange whose lease ran out. When
// another call holds the lease it returns busy and an error matching
// ErrUnavailable (and not ErrConflict, which would tell the caller the key
// was reused).
func (s *Service) claimExchange(ctx context.Context, op string, rec ExchangeRecord) (_ ExchangeRecord, busy bool, _ error) {
	now := s.clock.Now()
	claimed, err := s.store.ClaimExchange(ctx, ClaimExchangeParams{Tenant: rec.Tenant, Key: rec.Key, Now: now, Until: now.Add(ExchangeLease)})
	if errors.Is(err, scrm.ErrConflict) {
		return rec, true, &scrm.Error{Code: scrm.ErrUnavailable, Op: op,
			Msg: "exchange " + strconv.Quote(rec.Key) + " is in progress (" + err.Error() + "); retry with the same key later"}
	}
	if err != nil {
		return rec, false, wrap(op, err)
	}
	return claimed, false, nil
}

// settleExchange takes an exchange from where it stands to its end: a
// pending one (held under its Attempt) is granted, then completed or
// refunded; a done one republishes its event; a refunded one returns its
// error again. source is the grant's Source, "mall:<item>" ("" to make it).
func (s *Service) settleExchange(ctx context.Context, op string, rec ExchangeRecord, source string) (ExchangeResult, error) {
	switch rec.State {
	case ExchangeDone:
		return ExchangeResult{ExchangeRecord: rec}, s.publishExchanged(ctx, &rec)
	case ExchangeRefunded:
		return ExchangeResult{ExchangeRecord: rec}, refusedError(op, &rec, errors.New(rec.Reason))
	}
	if source == "" {
		source = mallPrefix + rec.Item
	}
	g := scrm.Grant{Tenant: rec.Tenant, Customer: rec.Customer, Reward: rec.Reward,
		IdempotencyKey: deriveID("mall", rec.Key), Source: source}
	gerr := s.rewarder.Grant(ctx, g)
	if gerr == nil {
		p := SettleExchangeParams{Tenant: rec.Tenant, Key: rec.Key, Attempt: rec.Attempt, At: s.clock.Now()}
		var done ExchangeRecord
		var err error
		if c, ok := s.store.(exchangeCompleter); ok {
			var st exchangeSettled
			if st, err = c.completeExchange(ctx, p); err == nil {
				done = rec
				st.apply(&done)
			}
		} else {
			done, err = s.store.CompleteExchange(ctx, p)
		}
		if err != nil {
			return s.settled(ctx, op, rec, err)
		}
		return ExchangeResult{ExchangeRecord: done}, s.publishExchanged(ctx, &done)
	}
	if ctx.Err() != nil {
		s.log.WarnContext(ctx, "member: exchange left pending", "key", rec.Key, "err", gerr)
		return ExchangeResult{ExchangeRecord: rec}, &scrm.Error{Code: scrm.ErrUnavailable, Op: op, Err: gerr,
			Msg: "exchange " + strconv.Quote(rec.Key) + " left pending (the reward may be in flight); retry with the same key after " + rec.LeaseUntil.Format(time.RFC3339)}
	}
	s.log.WarnContext(ctx, "member: exchange reward refused; refunding", "key", rec.Key, "item", rec.Item, "err", gerr)
	rr, err := s.undoExchange(ctx, op, rec, reason(gerr))
	if err != nil {
		return s.settled(ctx, op, rec, err)
	}
	var effErr error
	if rr.Changed {
		effErr = s.effects(ctx, rec.Tenant, rec.Customer, rr.Outcome)
	}
	if rr.Exchange.State == ExchangeRefunded {
		return ExchangeResult{ExchangeRecord: rr.Exchange}, refusedError(op, &rr.Exchange, gerr)
	}
	return ExchangeResult{ExchangeRecord: rr.Exchange}, effErr
}

// exchangeCompleter is MallStore.CompleteExchange for a store that can
// update the caller's copy of the record in place (the memory store): a
// completion changes only the record's State, Balance, Attempt and times,
// so copying the whole record out (its Lots included) is wasted on the
// service, which holds the record it charged or claimed.
type exchangeCompleter interface {
	// completeExchange does what CompleteExchange does and, instead of
	// the record, returns those fields of it.
	completeExchange(ctx context.Context, p SettleExchangeParams) (exchangeSettled, error)
}

// exchangeSettled are the fields of an ExchangeRecord that a completion
// can have changed.
type exchangeSettled struct {
	State                            ExchangeState
	Balance                          Balance
	Attempt                          int64
	LeaseUntil, CreatedAt, SettledAt time.Time
}

// apply sets those fields of r.
func (st *exchangeSettled) apply(r *ExchangeRecord) {
	r.State, r.Balance, r.Attempt = st.State, st.Balance, st.Attempt
	r.LeaseUntil, r.CreatedAt, r.SettledAt = st.LeaseUntil, st.CreatedAt, st.SettledAt
}

// undoExchange runs MallStore.RefundExchange with the ledger step that
// returns the points.
func (s *Service) undoExchange(ctx context.Context, op string, rec ExchangeRecord, why string) (RefundExchangeResult, error) {
	c, err := s.program(ctx, op, rec.Tenant)
	if err != nil {
		return RefundExchangeResult{}, err
	}
	env, err := s.env(ctx, op, c, rec.Tenant, rec.Customer)
	if err != nil {
		return RefundExchangeResult{}, err
	}
	now := s.clock.Now()
	e := s.getEngine()
	*e = engine{c: c, now: now, env: env, key: rec.Key}
	rr, err := s.store.RefundExchange(ctx, SettleExchangeParams{Tenant: rec.Tenant, Key: rec.Key, Attempt: rec.Attempt, At: now, Reason: why},
		func(tx *ExchangeTx) error {
			x := tx.Exchange
			e.step = func(e *engine) error {
				e.refundExchange(x)
				return nil
			}
			if err := e.run(tx.Ledger); err != nil {
				return err
			}
			x.Balance = tx.Ledger.Outcome.After
			return nil
		})
	s.recycle(e)
	return rr, wrap(op, err)
}

// settled answers a complete or refund that failed: when another call
// settled or took over the exchange (ErrConflict) it reports the exchange as
// it stands now; otherwise the exchange stays pending, and the error matches
// ErrUnavailable (never ErrConflict, which would tell the caller the key was
// reused).
func (s *Service) settled(ctx context.Context, op string, rec ExchangeRecord, err error) (ExchangeResult, error) {
	if errors.Is(err, scrm.ErrConflict) {
		if cur, gerr := s.store.ExchangeByKey(ctx, rec.Tenant, rec.Key); gerr == nil {
			switch cur.State {
			case ExchangeDone:
				return ExchangeResult{ExchangeRecord: cur}, nil
			case ExchangeRefunded:
				return ExchangeResult{ExchangeRecord: cur}, refusedError(op, &cur, errors.New(cur.Reason))
			}
			rec = cur
		}
		return ExchangeResult{ExchangeRecord: rec}, &scrm.Error{Code: scrm.ErrUnavailable, Op: op,
			Msg: "exchange " + strconv.Quote(rec.Key) + " was taken over by another call (" + err.Error() + "); retry with the same key later"}
	}
	return ExchangeResult{ExchangeRecord: rec}, &scrm.Error{Code: scrm.ErrUnavailable, Op: op, Err: err,
		Msg: "exchange " + strconv.Quote(rec.Key) + " is pending; retry with the same key"}
}

// refusedError is the error of a refunded exchange: ErrUnavailable, wrapping
// the Rewarder's error. It tells what became of the points: returned,
// forfeited, and taken straight back for what refunds could not claw back.
func refusedError(op string, rec *ExchangeRecord, cause error) error {
	back := fmt.Sprintf("%d points were returned (%d forfeited)", rec.Returned, rec.Forfeited)
	if rec.Unclawed > 0 {
		back += fmt.Sprintf(", %d of them taken straight back for what an earlier refund could not claw back", rec.Unclawed)
	}
	return &scrm.Error{Code: scrm.ErrUnavailable, Op: op, Err: cause,
		Msg: fmt.Sprintf("the reward of catalog item %q was not granted; %s, retry with a new key", rec.Item, back)}
}

// reason is the text of err recorded on a refunded exchange, bounded to
// maxNoteLength bytes of valid UTF-8.
func reason(err error) string {
	r := err.Error()
	if len(r) > maxNoteLength {
		r = strings.ToValidUTF8(r[:maxNoteLength], "")
	}
	return r
}

// publishExchanged publishes points.exchanged for a done exchange.
func (s *Service) publishExchanged(ctx context.Context, rec *ExchangeRecord) error {
	if s.cache.noEvents {
		return nil // the default publisher drops events: build none
	}
	ev := scrm.Event{
		ID: deriveID(EventPointsExchanged, rec.Key), Tenant: rec.Tenant, Customer: rec.Customer,
		Type: EventPointsExchanged, Time: rec.SettledAt,
	}
	if err := s.pub.Publish(ctx, ev); err != nil {
		s.log.WarnContext(ctx, "member: publish failed", "event", ev.String(), "err", err)
		return scrm.Wrap(scrm.ErrUnavailable, "member.Exchange: after commit", err)
	}
	return nil
}

// ExchangeByKey returns the exchange made under an idempotency key.
// Errors: ErrNotFound.
func (s *Service) ExchangeByKey(ctx context.Context, tenant scrm.TenantID, key string) (ExchangeRecord, error) {
	const op = "member.ExchangeByKey"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return ExchangeRecord{}, err
	}
	if err := scrm.CheckID(op, "IdempotencyKey", key); err != nil {
		return ExchangeRecord{}, err
	}
	r, err := s.store.ExchangeByKey(ctx, tenant, key)
	return r, wrap(op, err)
}

// Exchanges returns a page of a customer's exchange history, newest first,
// in every state (pending, done and refunded).
//
// Errors: ErrInvalid for a malformed request or cursor.
func (s *Service) Exchanges(ctx context.Context, p ListExchangesParams) (ExchangePage, error) {
	const op = "member.Exchanges"
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return ExchangePage{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return ExchangePage{}, err
	}
	page, err := s.store.ListExchanges(ctx, p)
	return page, wrap(op, err)
}

// ResumeResult counts what ResumeExchanges did.
type ResumeResult struct {
	// Resumed is how many pending exchanges were taken over; Done and
	// Refunded how many of them ended so; the others stay pending.
	Resumed, Done, Refunded int
}

// ResumeExchanges finishes the tenant's exchanges left pending by a crash
// or a done ctx (their lease having run out): each is taken over and granted
// again under the same grant key, then completed or refunded, as a retry of
// its key would. Hosts run it from a scheduler every few minutes; running it
// concurrently with itself or with retries is safe. Failures are returned
// joined; the exchanges concerned stay pending for the next run.
func (s *Service) ResumeExchanges(ctx context.Context, tenant scrm.TenantID) (ResumeResult, error) {
	const op = "member.ResumeExchanges"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return ResumeResult{}, err
	}
	const page = 100
	var res ResumeResult
	var errs []error
	for {
		list, err := s.store.ListPendingExchanges(ctx, ListPendingExchangesParams{Tenant: tenant, Before: s.clock.Now(), Limit: page})
		if err != nil {
			return res, wrap(op, err)
		}
		progress := false
		for _, r := range list {
			rec, busy, err := s.claimExchange(ctx, op, r)
			if err != nil {
				if !busy { // taken over by another call: not a failure
					errs = append(errs, err)
				}
				continue
			}
			progress = true
			if rec.State != ExchangePending {
				continue // settled meanwhile
			}
			res.Resumed++
			out, err := s.settleExchange(ctx, op, rec, "")
			switch out.State {
			case ExchangeDone:
				res.Done++
			case ExchangeRefunded:
				res.Refunded++
				err = nil // a refusal is an outcome, not a failure
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		if len(list) < page || !progress {
			break
		}
	}
	if len(errs) > 0 {
		return res, scrm.Join(op, errs...)
	}
	return res, nil
}
