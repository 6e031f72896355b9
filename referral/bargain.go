package referral

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Bargain is a bargaining campaign (砍价): a customer starts a session at
// Price and friends help cut it; after Helpers helps it reaches Floor
// exactly, never going below, and the customer buys at Floor. A session has
// Duration to get there.
//
// The cuts are random but reproducible from the session's seed: help k
// (1-based) with R fen left to cut and n helps to go draws a cut uniformly
// from [1, 2·⌊R/n⌋] fen (so each help takes about an equal share of what is
// left), multiplied by NewHelperBoost percent for a new customer, then
// limited so that every later help can still cut at least 1 fen; the last
// help cuts exactly what is left. Cuts are whole fen.
type Bargain struct {
	Tenant   scrm.TenantID
	ID       string
	Price    decimal.Decimal // the starting price
	Floor    decimal.Decimal // the price after Helpers helps; Price − Floor must allow 1 fen per help
	Helpers  int             // helps needed to reach Floor
	Duration time.Duration   // how long a session may take
	// NewHelperBoost is how much a helper with no paid order cuts, in percent
	// of a usual cut (e.g. 200: twice as much on average), to reward bringing
	// new customers; 0 means 100 (no boost); at most 1000.
	NewHelperBoost int
	// Start and End bound when sessions may be started (Start ≤ t < End);
	// zero Start: from the beginning, zero End: no end.
	Start, End time.Time
}

const maxBoost = 1000

// Validate reports the first malformed field of b as an error matching
// scrm.ErrInvalid and naming it.
func (b Bargain) Validate() error {
	const op = "referral bargain"
	if err := scrm.CheckID(op, "Tenant", string(b.Tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "ID", b.ID); err != nil {
		return err
	}
	bad := func(field, format string, args ...any) error {
		return at(op, b.ID, field, fmt.Errorf(format, args...))
	}
	if err := checkMoney(b.Price); err != nil {
		return at(op, b.ID, "Price", err)
	}
	if err := checkMoney(b.Floor); err != nil {
		return at(op, b.ID, "Floor", err)
	}
	price, ok1 := scrm.ToFen(b.Price)
	floor, ok2 := scrm.ToFen(b.Floor)
	switch {
	case !ok1 || price > maxBargainFen:
		return bad("Price", "too large: %s", b.Price)
	case !ok2:
		return bad("Floor", "too large: %s", b.Floor)
	case b.Helpers < 1:
		return bad("Helpers", "must be positive, got %d", b.Helpers)
	case floor >= price:
		return bad("Floor", "must be below Price %s, got %s", b.Price, b.Floor)
	case price-floor < int64(b.Helpers):
		return bad("Helpers", "%d helps cannot each cut at least ¥0.01 off %s", b.Helpers, b.Price.Sub(b.Floor))
	case b.Duration <= 0:
		return bad("Duration", "must be positive, got %s", b.Duration)
	case b.NewHelperBoost < 0 || b.NewHelperBoost > maxBoost:
		return bad("NewHelperBoost", "must be in [0, %d], got %d", maxBoost, b.NewHelperBoost)
	case !b.End.IsZero() && !b.End.After(b.Start):
		return bad("End", "must be after Start")
	}
	return nil
}

// maxBargainFen bounds a bargain's price (¥10 billion) so that boosted cuts
// cannot overflow an int64 of fen.
const maxBargainFen = 1_000_000_000_000

func (b Bargain) boost() int64 {
	if b.NewHelperBoost == 0 {
		return 100
	}
	return int64(b.NewHelperBoost)
}

// cut returns help k's cut in fen (see Bargain): remaining fen are left to
// cut and left helps to go, this one included.
func cut(seed uint64, k int, remaining int64, left int, boost int64, isNew bool) int64 {
	if left <= 1 {
		return remaining
	}
	limit := remaining - int64(left-1)
	mean := remaining / int64(left)
	var p rand.PCG
	p.Seed(seed, uint64(k))
	x := 1 + int64(uniform(&p, uint64(2*mean)))
	if isNew && boost != 100 {
		x = x * boost / 100 // x ≤ 2·10^12 and boost ≤ 1000: no overflow
	}
	return max(1, min(x, limit))
}

// Plan returns the cuts a session of b with the given seed gets when helped
// by helpers of whom newHelpers says which are new customers, in order: how
// Help computes them, for audits and previews. It stops after Helpers
// helps.
//
// Errors: ErrInvalid when b is invalid.
func (b Bargain) Plan(seed uint64, newHelpers []bool) ([]decimal.Decimal, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	price, _ := scrm.ToFen(b.Price)
	floor, _ := scrm.ToFen(b.Floor)
	remaining := price - floor
	n := min(len(newHelpers), b.Helpers)
	out := make([]decimal.Decimal, n)
	for i := range n {
		c := cut(seed, i+1, remaining, b.Helpers-i, b.boost(), newHelpers[i])
		remaining -= c
		out[i] = scrm.FromFen(c)
	}
	return out, nil
}

// Cut is one help of a bargain session.
type Cut struct {
	Index  int // 1 for the first help
	Helper scrm.CustomerID
	Amount decimal.Decimal // how much this help cut
	New    bool            // the helper counted as new (no paid order) and NewHelperBoost applied; judged only when the bargain has a boost
	At     time.Time
	Price  decimal.Decimal // the session's price after this help
}

// Session is one customer's bargain. Terms is the bargain as it was when the
// session started; Seed drives its cuts (Terms.Plan(Seed, ...) recomputes
// them).
type Session struct {
	Tenant      scrm.TenantID
	ID          string
	Bargain     string
	Owner       scrm.CustomerID
	Seed        uint64
	Terms       Bargain
	Price       decimal.Decimal // the current price
	Cuts        []Cut
	StartedAt   time.Time
	ExpiresAt   time.Time // StartedAt + Duration
	CompletedAt time.Time // when Price reached Floor; zero before
	// Reported is set once EventBargainCompleted was published for the
	// completed session; Sweep publishes completions not yet reported.
	Reported bool
}

func (s Session) clone() Session {
	s.Cuts = append([]Cut(nil), s.Cuts...)
	return s
}

// Completed reports whether the session reached its floor price.
func (s Session) Completed() bool { return !s.CompletedAt.IsZero() }

// Expired reports whether the session's time ran out before it completed.
func (s Session) Expired(now time.Time) bool { return !s.Completed() && !now.Before(s.ExpiresAt) }

// Helped reports whether the customer helped the session.
func (s Session) Helped(c scrm.CustomerID) bool {
	for _, h := range s.Cuts {
		if h.Helper == c {
			return true
		}
	}
	return false
}

// SaveBargain validates b and stores it, replacing the bargain of the same
// ID; sessions already started keep the terms they started with.
//
// Errors: ErrInvalid naming the field; nothing is written.
func (s *Service) SaveBargain(ctx context.Context, b Bargain) error {
	if err := b.Validate(); err != nil {
		return err
	}
	return scrm.Wrap(nil, "referral.SaveBargain", s.store.PutBargain(ctx, b))
}

// Start starts the customer's session of a bargain, with a new seed from
// Options.Seed, or returns their session of it that is still running or
// completed: a customer has one session per bargain unless it expired.
//
// Errors: ErrNotFound for an unknown bargain; ErrExpired carrying
// ReasonNotRunning outside its Start/End.
func (s *Service) Start(ctx context.Context, tenant scrm.TenantID, bargain string, customer scrm.CustomerID) (Session, error) {
	const op = "referral.Start"
	if err := checkTenantID(op, tenant, "Bargain", bargain); err != nil {
		return Session{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(customer)); err != nil {
		return Session{}, err
	}
	b, err := s.store.GetBargain(ctx, tenant, bargain)
	if err != nil {
		return Session{}, scrm.Wrap(nil, op, err)
	}
	now := s.opts.Clock.Now()
	if now.Before(b.Start) || (!b.End.IsZero() && !now.Before(b.End)) {
		return Session{}, refuse(scrm.ErrExpired, op, ReasonNotRunning, "bargain "+b.ID+" is not open for new sessions")
	}
	sess := Session{
		Tenant: tenant, ID: s.opts.NewID(), Bargain: b.ID, Owner: customer, Seed: s.opts.Seed(),
		Terms: b, Price: b.Price, StartedAt: now, ExpiresAt: now.Add(b.Duration),
	}
	sess, _, err = s.store.StartSession(ctx, StartSessionParams{Session: sess, Now: now})
	return sess, scrm.Wrap(nil, op, err)
}

// Session returns a bargain session.
//
// Errors: ErrNotFound.
func (s *Service) Session(ctx context.Context, tenant scrm.TenantID, id string) (Session, error) {
	const op = "referral.Session"
	if err := checkTenantID(op, tenant, "Session", id); err != nil {
		return Session{}, err
	}
	sess, err := s.store.GetSession(ctx, tenant, id)
	return sess, scrm.Wrap(nil, op, err)
}

// maxHelpAttempts bounds Help's retries when other helps of the same
// session land between its read and its write.
const maxHelpAttempts = 100

// Help has helper cut the session's price, by the amount the session's seed
// gives for this help (see Bargain); a helper with no paid order in their
// profile is new and gets NewHelperBoost. The Store applies each help
// atomically with the running total, so helps racing on one session each
// get their own place in order and the cuts still sum to Price − Floor.
// The help that reaches Floor completes the session and publishes
// EventBargainCompleted (ID "referral.bargain_completed:<session>").
//
// When that publish fails, the help stands: Help returns its Cut with an
// error matching scrm.ErrUnavailable, and the event is published again,
// with the same ID, by the next Help of the session (a retry included,
// which is then refused as below) or by Sweep, whichever comes first. A
// subscriber may see it twice, never not at all.
//
// Errors: ErrNotFound for an unknown session; ErrForbidden carrying
// ReasonSelfHelp for the owner; ErrConflict carrying ReasonAlreadyHelped
// for a second help by the same helper; ErrExhausted carrying
// ReasonBargainComplete once at Floor; ErrExpired carrying
// ReasonSessionExpired after ExpiresAt. When a refused help finds the
// session's completion unpublished and publishing it fails again, the
// error matches scrm.ErrUnavailable instead (retry).
func (s *Service) Help(ctx context.Context, tenant scrm.TenantID, session string, helper scrm.CustomerID) (Cut, error) {
	const op = "referral.Help"
	if err := checkTenantID(op, tenant, "Session", session); err != nil {
		return Cut{}, err
	}
	if err := scrm.CheckID(op, "Helper", string(helper)); err != nil {
		return Cut{}, err
	}
	isNew, known := false, false
	for range maxHelpAttempts {
		sess, err := s.store.GetSession(ctx, tenant, session)
		if err != nil {
			return Cut{}, scrm.Wrap(nil, op, err)
		}
		now := s.opts.Clock.Now()
		if err := helpRefusal(op, sess, helper, now); err != nil {
			// A retry after a failed completion event comes here: publish
			// it now rather than wait for Sweep.
			if rerr := s.reportSession(ctx, sess); rerr != nil {
				return Cut{}, scrm.Wrap(nil, op, rerr)
			}
			return Cut{}, err
		}
		if !known {
			if isNew, err = s.isNew(ctx, tenant, helper, sess.Terms.boost()); err != nil {
				return Cut{}, scrm.Wrap(nil, op, err)
			}
			known = true
		}
		price, _ := scrm.ToFen(sess.Price)
		floor, _ := scrm.ToFen(sess.Terms.Floor)
		k := len(sess.Cuts) + 1
		c := cut(sess.Seed, k, price-floor, sess.Terms.Helpers-len(sess.Cuts), sess.Terms.boost(), isNew)
		h := Cut{Index: k, Helper: helper, Amount: scrm.FromFen(c), New: isNew, At: now, Price: scrm.FromFen(price - c)}
		sess, err = s.store.Help(ctx, HelpParams{Tenant: tenant, Session: session, Cut: h, Now: now})
		if err == nil {
			return h, scrm.Wrap(nil, op, s.reportSession(ctx, sess))
		}
		if !is(err, scrm.ErrConflict) || ReasonOf(err) != "" {
			return Cut{}, scrm.Wrap(nil, op, err)
		}
		// Another help took place k first: recompute from the new state.
	}
	return Cut{}, scrm.Errorf(scrm.ErrUnavailable, op, "session %s is too contended; retry", session)
}

// reportSession publishes a completed session's EventBargainCompleted and
// marks the session reported; it does nothing for a session not completed
// or reported already. The event's ID is the session's, so publishing it
// again (after a failed mark, or by concurrent callers) is harmless.
func (s *Service) reportSession(ctx context.Context, sess Session) error {
	if !sess.Completed() || sess.Reported {
		return nil
	}
	if err := s.publish(ctx, scrm.Event{
		ID: key(EventBargainCompleted, sess.ID), Tenant: sess.Tenant, Customer: sess.Owner, Type: EventBargainCompleted,
		Time: sess.CompletedAt, Amount: sess.Price, Props: map[string]any{"bargain": sess.Bargain, "session": sess.ID}}); err != nil {
		return err
	}
	return s.store.MarkSessionReported(ctx, sess.Tenant, sess.ID)
}

// helpRefusal returns why helper cannot help sess at now, or nil.
func helpRefusal(op string, sess Session, helper scrm.CustomerID, now time.Time) error {
	switch {
	case helper == sess.Owner:
		return refuse(scrm.ErrForbidden, op, ReasonSelfHelp, "the owner cannot help their own session")
	case sess.Helped(helper):
		return refuse(scrm.ErrConflict, op, ReasonAlreadyHelped, fmt.Sprintf("%s helped session %s already", helper, sess.ID))
	case sess.Completed():
		return refuse(scrm.ErrExhausted, op, ReasonBargainComplete, "session "+sess.ID+" is at its floor price")
	case sess.Expired(now):
		return refuse(scrm.ErrExpired, op, ReasonSessionExpired, "session "+sess.ID+" expired at "+sess.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

// isNew reports whether a helper counts as a new customer: no paid order in
// their profile. Without a boost it does not matter and is not looked up.
func (s *Service) isNew(ctx context.Context, tenant scrm.TenantID, c scrm.CustomerID, boost int64) (bool, error) {
	if boost == 100 {
		return false, nil
	}
	p, err := scrm.FindProfile(ctx, s.profiles, tenant, c)
	if err != nil {
		return false, err
	}
	return p == nil || p.Count(scrm.EventOrderPaid, time.Time{}) == 0, nil
}
