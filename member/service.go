package member

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// EventPointsExpired is the event type Sweep (and any request that finds
// lots past their expiry) publishes when points expire. Props: "points"
// (int64, the points expired).
const EventPointsExpired = "points.expired"

// FutureTolerance is how far after the service clock a request's time (an
// order's At, an event's Time) may be, to allow for clocks of different
// machines; anything later is rejected as ErrInvalid.
const FutureTolerance = 5 * time.Minute

// Options configures a Service. A nil *Options means the defaults.
type Options struct {
	scrm.Options
	// Rewarder grants tier upgrade rewards, check-in rewards, a top-up's
	// bonus points, paid plans' benefits and points-mall rewards. Default: the Service itself,
	// which holds kinds "points", "growth" and "stored_value"; rewards of
	// any other kind (coupons) then need a Rewarder (PutProgram,
	// PutCheckInRule and PutPlan say so). A scrm.RewardRouter with those
	// three kinds routed to the Service is the usual choice.
	Rewarder scrm.Rewarder

	// StoredValuePay is how Pay draws on a stored-value account's principal
	// and bonus: PayProportional (the default; also any unknown value) or
	// PayBonusLast.
	StoredValuePay PayOrder
	// PlanRates is how PriceFor combines the paid plan's discount, its
	// weekly day's rate and the tier discount: RatesMultiply (the default;
	// also any unknown value) or BestRate.
	PlanRates RateMode
	// BirthdayAttr is the profile attribute Subscribe reads a member's
	// birthday from (in any form scrm.BirthdayOf reads) when the request
	// gives none; default "birthday".
	BirthdayAttr string
}

// Service runs loyalty programs: tiers by growth value, a points ledger of
// lots with expiry, earn and redeem rules, checkout holds, refunds, expiry
// sweeps; daily check-in, paid membership plans and stored value. It
// implements scrm.Handler (order.paid, order.refunded and the program's
// event rules) and scrm.Rewarder (kinds "points", "growth" and
// "stored_value").
//
// A Service is safe for concurrent use; its consistency comes from the
// Store, whose Update is atomic per account. Build it with New.
//
// Requests that move value are saved first; then the events they imply are
// published and their upgrade rewards granted. When one of those fails, the
// request returns its result together with an error (scrm.Join): the ledger
// change stands, and retrying the request with the same key publishes and
// grants again under the same IDs and keys. The error matches
// scrm.ErrUnavailable when retrying can help (a publish or grant failed for
// a reason that may pass); when every failure is permanent (the Rewarder
// refused a reward: its coupon template ran out, say, or it does not route
// the kind) the error matches that refusal's code instead (ErrExhausted,
// ErrInvalid, ...), so that a host retrying on ErrUnavailable does not
// retry the order for ever; it should alert someone, who grants by hand.
type Service struct {
	store    Store
	profiles scrm.ProfileStore
	opts     Options
	clock    scrm.Clock
	pub      scrm.Publisher
	log      *slog.Logger
	rewarder scrm.Rewarder

	progs   newest[*compiled]
	engines sync.Pool // *engine, recycled once Store.Update returns
	ciOps   sync.Pool // *checkInOp, recycled once Store.UpdateCheckIn returns
	payOps  sync.Pool // *payOp, recycled once Store.UpdateStoredValue returns
	xOps    sync.Pool // *exchangeOp, recycled once MallStore.ChargeExchange returns
	runners sync.Pool // *runner, recycled once Store.Update returns

	// cache holds the current check-in rules and plans (plan_cache.go).
	cache ruleCache
}

var (
	_ scrm.Handler  = (*Service)(nil)
	_ scrm.Rewarder = (*Service)(nil)
)

// New returns a Service over store. A nil store means NewMemoryStore().
// profiles is where tier conditions (Tier.When) read customers' profiles;
// it may be nil when no tier has a condition (PutProgram then rejects
// conditions). opts may be nil.
func New(store Store, profiles scrm.ProfileStore, opts *Options) *Service {
	if store == nil {
		store = NewMemoryStore()
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Options = o.Options.WithDefaults()
	s := &Service{
		store:    store,
		profiles: profiles,
		opts:     o,
		clock:    o.Clock,
		pub:      o.Publisher,
		log:      o.Logger,
		rewarder: o.Rewarder,
		cache:    ruleCache{noEvents: opts == nil || opts.Publisher == nil},
	}
	if s.rewarder == nil {
		s.rewarder = s
	}
	return s
}

// Store returns the Store the service writes to.
func (s *Service) Store() Store { return s.store }

// PutProgram validates p, stores it as the tenant's newest program version
// and returns it with Version and CreatedAt set. Accounts, lots and journal
// entries are not touched: the new version applies from now on.
//
// Errors: ErrInvalid naming the field (e.g. "Tiers[2].Threshold" for tiers
// that are not strictly increasing), or "Tiers[i].When" for a condition when
// the service has no ProfileStore, or an upgrade reward of a kind no
// Rewarder holds.
func (s *Service) PutProgram(ctx context.Context, p Program) (Program, error) {
	const op = "member.PutProgram"
	c, err := compileProgram(p, s.opts.LocationOf(p.Tenant))
	if err != nil {
		return Program{}, err
	}
	if c.hasWhen && s.profiles == nil {
		for i := range c.when {
			if c.when[i] != nil {
				return Program{}, scrm.Invalid(op, "Tiers["+strconv.Itoa(i)+"].When", "tier conditions need a ProfileStore (New's second argument)")
			}
		}
	}
	if s.rewarder == scrm.Rewarder(s) {
		for i, t := range p.Tiers {
			for j, r := range t.UpgradeRewards {
				if !s.holds(r.Kind) {
					return Program{}, scrm.Invalid(op, "Tiers["+strconv.Itoa(i)+"].UpgradeRewards["+strconv.Itoa(j)+"].Kind",
						"kind %q needs Options.Rewarder (the service itself holds only points, growth and stored_value)", r.Kind)
				}
			}
		}
	}
	p.Version = 0
	p.CreatedAt = s.clock.Now()
	stored, err := s.store.PutProgram(ctx, p)
	if err != nil {
		return Program{}, wrap(op, err)
	}
	return stored, nil
}

// Program returns the tenant's newest program. Errors: ErrNotFound.
func (s *Service) Program(ctx context.Context, tenant scrm.TenantID) (Program, error) {
	return s.store.Program(ctx, tenant, 0)
}

// program returns the tenant's current compiled program, recompiling when
// the store has a newer version.
func (s *Service) program(ctx context.Context, op string, tenant scrm.TenantID) (*compiled, error) {
	v, err := s.store.ProgramVersion(ctx, tenant)
	if err != nil {
		return nil, wrap(op, err)
	}
	if v == 0 {
		return nil, scrm.Errorf(scrm.ErrNotFound, op, "tenant %q has no member program", tenant)
	}
	loc := s.opts.LocationOf(tenant)
	c := s.progs.get(tenant)
	if c != nil && c.p.Version == v && c.loc == loc {
		return c, nil
	}
	p, err := s.store.Program(ctx, tenant, v)
	if err != nil {
		return nil, wrap(op, err)
	}
	if c, err = compileProgram(p, loc); err != nil {
		return nil, scrm.Wrap(scrm.ErrUnavailable, op, err) // a stored program that no longer compiles
	}
	s.progs.put(tenant, c, func(c *compiled) int64 { return c.p.Version })
	return c, nil
}

// env returns what tier conditions are evaluated against: the customer's
// profile (an empty one when none is stored), or nil when the program has
// no conditions.
func (s *Service) env(ctx context.Context, op string, c *compiled, tenant scrm.TenantID, customer scrm.CustomerID) (rule.Env, error) {
	if !c.hasWhen || s.profiles == nil {
		return nil, nil
	}
	p, err := s.profiles.Get(ctx, tenant, customer)
	if errors.Is(err, scrm.ErrNotFound) {
		return scrm.NewProfile(tenant, customer), nil
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	return p, nil
}

// update runs one ledger step for a customer: it loads the program and the
// profile, lets the store lock the account and call step, then publishes the
// events and grants the rewards the outcome carries (on replays too: both are
// idempotent downstream by derived IDs).
func (s *Service) update(ctx context.Context, op string, p UpdateParams, step func(e *engine) error) (Outcome, bool, error) {
	return s.updateArgs(ctx, op, p, step, earnArgs{}, grantArgs{})
}

// updateArgs is update with the arguments of an earn or a grant step, which
// it passes in the engine rather than in a closure, saving Earn and Grant
// two allocations each.
func (s *Service) updateArgs(ctx context.Context, op string, p UpdateParams, step func(e *engine) error, earn earnArgs, grant grantArgs) (Outcome, bool, error) {
	c, err := s.program(ctx, op, p.Tenant)
	if err != nil {
		return Outcome{}, false, err
	}
	env, err := s.env(ctx, op, c, p.Tenant, p.Customer)
	if err != nil {
		return Outcome{}, false, err
	}
	if earn.orderID != "" { // a paid plan's points multiplier (plan_price.go)
		if step, err = s.withPlanPoints(ctx, op, p, step, earn.at); err != nil {
			return Outcome{}, false, err
		}
	}
	r, _ := s.runners.Get().(*runner)
	if r == nil {
		r = &runner{}
		r.fn = r.e.run
	}
	r.e = engine{c: c, now: s.clock.Now(), env: env, key: p.IdempotencyKey, step: step, earn: earn, grant: grant}
	if grant.kind != "" {
		// Grant drops the outcome once its effects are done: its first
		// entry goes in the runner's room.
		r.e.room = &r.room
	}
	out, replayed, err := s.store.Update(ctx, p, r.fn)
	r.e = engine{} // the store keeps no reference to fn once Update returns
	if err != nil {
		s.runners.Put(r)
		return Outcome{}, false, wrap(op, err)
	}
	err = s.effects(ctx, p.Tenant, p.Customer, out)
	if grant.kind != "" {
		out.Entries = nil // in r.room, which the next update reuses
	}
	s.runners.Put(r)
	return out, replayed, err
}

// runner is a recycled engine with its run method bound once, so that
// handing it to Store.Update allocates no method value.
type runner struct {
	e  engine
	fn func(tx *LedgerTx) error
	// room is the first-entry storage of a Grant (engine.room).
	room entryBlock
}

// effects publishes the events an outcome's entries imply and grants its
// rewards. Failures are returned joined; the ledger is already saved, and
// retrying the request with the same key repeats them with the same IDs.
func (s *Service) effects(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, out Outcome) error {
	var errs []error
	for _, ev := range outcomeEvents(tenant, customer, out.Entries) {
		if err := s.pub.Publish(ctx, ev); err != nil {
			s.log.WarnContext(ctx, "member: publish failed", "event", ev.String(), "err", err)
			errs = append(errs, err)
		}
	}
	for _, g := range out.Grants {
		if err := s.rewarder.Grant(ctx, g); err != nil {
			s.log.WarnContext(ctx, "member: upgrade reward failed", "key", g.IdempotencyKey, "err", err)
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return scrm.Join("member: after commit", errs...)
	}
	return nil
}

// outcomeEvents derives the domain events of journal entries. Their IDs
// come from the customer and the entry's Seq, so republishing them is
// harmless.
func outcomeEvents(tenant scrm.TenantID, customer scrm.CustomerID, entries []Entry) []scrm.Event {
	var evs []scrm.Event
	for i := range entries {
		e := &entries[i]
		switch e.Kind {
		case EntryTier:
			evs = append(evs, scrm.Event{
				ID: deriveID(scrm.EventTierChanged, string(customer), strconv.FormatInt(e.Seq, 10)), Tenant: tenant,
				Customer: customer, Type: scrm.EventTierChanged, Time: e.At,
				Props: map[string]any{"from": e.From, "to": e.To, "reason": e.Note},
			})
		case EntryExpire:
			evs = append(evs, scrm.Event{
				ID: deriveID(EventPointsExpired, string(customer), strconv.FormatInt(e.Seq, 10)), Tenant: tenant,
				Customer: customer, Type: EventPointsExpired, Time: e.At,
				Props: map[string]any{"points": -e.Points},
			})
		}
	}
	return evs
}

// deriveID joins parts into a deterministic ID of at most scrm.MaxIDLength
// bytes, hashing them when they are too long.
func deriveID(prefix string, parts ...string) string {
	n := len(prefix)
	for _, p := range parts {
		n += 1 + len(p)
	}
	if n <= scrm.MaxIDLength {
		var b strings.Builder
		b.Grow(n)
		b.WriteString(prefix)
		for _, p := range parts {
			b.WriteByte(':')
			b.WriteString(p)
		}
		return b.String()
	}
	// A copy, so that parts does not escape: on the common path above the
	// variadic slice then stays on the caller's stack.
	return prefix + ":" + scrm.Fingerprint(append([]string(nil), parts...))
}

func asError(err error, target **scrm.Error) bool { return errors.As(err, target) }

// The range of times the ledger accepts, in Unix seconds (1971-01-01 and
// 2200-01-01 UTC), so that every instant it stores fits Unix nanoseconds.
const (
	minUnix = 31536000
	maxUnix = 7258118400
)

// checkAt validates a request time: zero means now, and it may not be later
// than now + FutureTolerance (nor before 1971).
func checkAt(op string, at, now time.Time) (time.Time, error) {
	if at.IsZero() {
		return now, nil
	}
	if at.Unix() < minUnix {
		return time.Time{}, scrm.Invalid(op, "At", "%s is before 1971", at.Format(time.RFC3339))
	}
	if at.After(now.Add(FutureTolerance)) {
		return time.Time{}, scrm.Invalid(op, "At", "%s is in the future (clock %s)", at.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return at, nil
}

// wrap classifies an error from a store or a collaborator: a *scrm.Error
// (which names its own operation and field) is returned as is, anything else
// is wrapped under op.
func wrap(op string, err error) error {
	var se *scrm.Error
	if err == nil || errors.As(err, &se) {
		return err
	}
	return scrm.Wrap(nil, op, err)
}
