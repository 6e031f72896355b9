package referral

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/scrmkit/scrmkit/scrm"
)

// Service runs referral programs, group buys and bargains for every tenant.
// It is safe for concurrent use; its consistency comes from the Store, whose
// every method is atomic. Build it with New.
type Service struct {
	store          Store
	profiles       scrm.ProfileStore
	opts           Options
	fallbackSecret [32]byte
	programs       programCache
	days           dayCache // the calendar day lucky draws are counted in
	// noEvents: Options.Publisher was left nil, so events are discarded;
	// the hot paths (Bind, Handle) then skip building them.
	noEvents bool
	// scratchBufs recycles the slices of the hot paths (scratch.go).
	scratchBufs scratchPool
}

var (
	_ scrm.Handler = (*Service)(nil)
)

// New returns a Service over store, reading customers' profiles from
// profiles: Bind refuses customers who paid before binding, Qualify.FirstOnly
// looks at the invitee's earlier events, and bargains let new customers cut
// more. A nil store means NewMemoryStore(); profiles is required (New
// panics without it, as with a nil map: it is a wiring mistake). A nil opts
// means the defaults.
func New(store Store, profiles scrm.ProfileStore, opts *Options) *Service {
	if profiles == nil {
		panic("referral.New: profiles is required (a scrm.ProfileStore, usually the one scrm.Profiles writes to)")
	}
	if store == nil {
		store = NewMemoryStore()
	}
	s := &Service{store: store, profiles: profiles, opts: opts.withDefaults(), noEvents: opts == nil || opts.Publisher == nil}
	_, _ = rand.Read(s.fallbackSecret[:]) // crypto/rand.Read never fails (Go 1.24)
	return s
}

// SaveProgram validates p and stores it, replacing the program of the same
// ID. Changing the rewards of a running program does not touch rewards
// already granted, nor grant them again: a redelivered event, a replayed
// Bind or a second Approve leaves a reward granted under the old
// definition as it is, and still grants (or retries) the rewards not yet
// granted, as the program now defines them. Only a grant another caller
// is making under the old definition at that very moment makes a caller
// with the new one fail with ErrConflict, for that reward alone (their
// idempotency key now carries another payload); once the first caller
// finishes, a retry finds the reward granted, or free to grant.
//
// Percent rewards and commissions are money, granted as the Amount of a
// reward of kind Options.PercentKind and Options.CommissionKind: a program
// with a Percent, or a Commission rate, is refused when that kind holds no
// money amount (scrm.RewardPoints, scrm.RewardGrowth, scrm.RewardCoupon),
// since every such grant would fail. The package converts no money into
// points.
//
// Errors: ErrInvalid naming the field; nothing is written.
func (s *Service) SaveProgram(ctx context.Context, p Program) error {
	const op = "referral.SaveProgram"
	if err := p.Validate(); err != nil {
		return err
	}
	if err := s.checkMoneyKinds(p); err != nil {
		return err
	}
	return scrm.Wrap(nil, op, s.store.PutProgram(ctx, p.clone()))
}

// checkMoneyKinds refuses a program whose percent reward or commission
// would be paid as a reward kind that carries no money amount.
func (s *Service) checkMoneyKinds(p Program) error {
	const op = "referral program"
	if p.Percent.IsPositive() && !carriesAmount(s.opts.PercentKind) {
		return at(op, p.ID, "Percent", fmt.Errorf("paid as Options.PercentKind %q, which carries no money amount", s.opts.PercentKind))
	}
	for i, c := range p.Commission {
		if c.IsPositive() && !carriesAmount(s.opts.CommissionKind) {
			return at(op, p.ID, fmt.Sprintf("Commission[%d]", i),
				fmt.Errorf("paid as Options.CommissionKind %q, which carries no money amount", s.opts.CommissionKind))
		}
	}
	return nil
}

// carriesAmount reports whether a reward of kind k can carry a money
// Amount: not one of the kinds scrmkit's packages hold as points, growth
// or coupons. A host's own kinds ("cash", ...) are taken to.
func carriesAmount(k scrm.RewardKind) bool {
	switch k {
	case scrm.RewardPoints, scrm.RewardGrowth, scrm.RewardCoupon:
		return false
	}
	return true
}

// Program returns a stored program.
//
// Errors: ErrNotFound.
func (s *Service) Program(ctx context.Context, tenant scrm.TenantID, id string) (Program, error) {
	const op = "referral.Program"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return Program{}, err
	}
	if err := scrm.CheckID(op, "ID", id); err != nil {
		return Program{}, err
	}
	p, err := s.program(ctx, op, tenant, id)
	if err != nil {
		return Program{}, err
	}
	return p.clone(), nil
}

// publish sends e through the Publisher, classifying a failure as
// ErrUnavailable: the caller's write stands and the event can be published
// again (its ID is deterministic).
func (s *Service) publish(ctx context.Context, e scrm.Event) error {
	if err := s.opts.Publisher.Publish(ctx, e); err != nil {
		return scrm.Wrap(scrm.ErrUnavailable, "referral: publish "+e.Type, err)
	}
	return nil
}

// joinErrs joins the non-nil errors of a step that did several independent
// things (grants, publishes) with scrm.Join: the result matches
// scrm.ErrUnavailable when any of them may succeed on a retry, and
// otherwise the first error's code (a Rewarder's ErrExhausted, say), so
// that a host retrying on ErrUnavailable does not retry for ever what
// cannot succeed, nor give up on what can.
func joinErrs(op string, errs []error) error {
	return scrm.Join(op, errs...)
}
