package scrm

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/shopspring/decimal"
)

// RewardKind names a kind of value a Rewarder grants. Hosts may define their
// own kinds beside these.
type RewardKind string

// The reward kinds scrmkit's packages hold.
const (
	RewardPoints      RewardKind = "points"       // member points (Points)
	RewardGrowth      RewardKind = "growth"       // member growth value, 成长值 (Points)
	RewardCoupon      RewardKind = "coupon"       // coupons of a template (Template, Count)
	RewardStoredValue RewardKind = "stored_value" // stored value, 储值 (Amount)
)

// Reward is value granted to a customer: how referral, SOP and member
// benefits give points, coupons or stored value without importing the
// packages that hold them.
type Reward struct {
	Kind     RewardKind
	Points   int64           // points / growth
	Amount   decimal.Decimal // stored value, cash, in yuan
	Template string          // coupon template ID
	Count    int             // coupons: how many (0 means 1)
	Note     string          // shown to the customer or the operator
}

// Validate reports the first missing or malformed field of a reward to be
// configured (a tier's upgrade gift, an invite reward, an SOP step's
// reward) as an ErrInvalid error naming it ("Kind", "Points", ...): a Kind;
// no negative Points or Count; an Amount in whole fen, not negative; and,
// for the kinds scrmkit holds, the value the kind grants, since a grant
// without it can only fail when it is paid: Points above zero for points
// and growth, an Amount above zero for stored_value, a Template for a
// coupon. Kinds of the host's own are checked for the rest only.
func (r Reward) Validate() error {
	const op = "scrm.Reward"
	if err := r.checkShape(op, ""); err != nil {
		return err
	}
	switch r.Kind {
	case RewardPoints, RewardGrowth:
		if r.Points == 0 {
			return Invalid(op, "Points", "a %s reward must grant some, got 0", r.Kind)
		}
	case RewardStoredValue:
		if !r.Amount.IsPositive() {
			return Invalid(op, "Amount", "a stored_value reward must grant some, got %s", r.Amount)
		}
	case RewardCoupon:
		if r.Template == "" {
			return Invalid(op, "Template", "required for a coupon reward")
		}
	}
	return nil
}

// Grant is one reward to one customer. The IdempotencyKey makes a grant
// happen at most once: a Rewarder that sees the same key again with the same
// payload does nothing and returns nil; with a different payload, ErrConflict.
type Grant struct {
	Tenant         TenantID
	Customer       CustomerID
	Reward         Reward
	IdempotencyKey string
	Source         string // who granted it: "referral:p1", "sop:welcome:step2"
}

// Validate reports the first missing or malformed field of g as an
// ErrInvalid error naming it.
func (g Grant) Validate() error {
	const op = "scrm.Grant"
	if err := CheckID(op, "Tenant", string(g.Tenant)); err != nil {
		return err
	}
	if err := CheckID(op, "Customer", string(g.Customer)); err != nil {
		return err
	}
	if err := CheckID(op, "IdempotencyKey", g.IdempotencyKey); err != nil {
		return err
	}
	return g.Reward.checkShape(op, "Reward.")
}

// checkShape reports the first field of r that no reward may have: no
// Kind, negative Points, Amount or Count, an Amount below the fen. Fields
// are named with prefix.
func (r Reward) checkShape(op, prefix string) error {
	switch {
	case r.Kind == "":
		return Invalid(op, prefix+"Kind", "required")
	case r.Points < 0:
		return Invalid(op, prefix+"Points", "must not be negative, got %d", r.Points)
	case r.Amount.IsNegative():
		return Invalid(op, prefix+"Amount", "must not be negative, got %s", r.Amount)
	case !IsFen(r.Amount):
		return Invalid(op, prefix+"Amount", "at most 2 decimal places (fen), got %s", r.Amount)
	case r.Count < 0:
		return Invalid(op, prefix+"Count", "must not be negative, got %d", r.Count)
	}
	return nil
}

// Rewarder grants rewards. Services that hold value (member points, coupons,
// stored value) implement it; services that give value (referral, sop) call
// the one in their Options.
type Rewarder interface {
	Grant(ctx context.Context, g Grant) error
}

// RewarderFunc adapts a function to the Rewarder interface.
type RewarderFunc func(ctx context.Context, g Grant) error

// Grant calls f.
func (f RewarderFunc) Grant(ctx context.Context, g Grant) error { return f(ctx, g) }

// RewardRouter sends each Grant to the Rewarder registered for its Kind, so
// one Rewarder can be handed to every package. It is safe for concurrent
// use; register routes before granting. The zero value is an empty router.
type RewardRouter struct {
	mu sync.Mutex // serializes Route
	// routes is replaced whole by Route and never changed in place, so
	// Grant reads it without a lock (no lock word for every grant of
	// every core to write).
	routes atomic.Pointer[map[RewardKind]Rewarder]
}

// NewRewardRouter returns a router with no routes.
func NewRewardRouter() *RewardRouter {
	return &RewardRouter{}
}

// Route registers to as the Rewarder for kind, replacing any earlier one.
func (r *RewardRouter) Route(kind RewardKind, to Rewarder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[RewardKind]Rewarder)
	if old := r.routes.Load(); old != nil {
		maps.Copy(m, *old)
	}
	m[kind] = to
	r.routes.Store(&m)
}

// Grant validates g and passes it to the Rewarder of its kind. Errors:
// ErrInvalid (field "Reward.Kind") when no Rewarder is registered for the
// kind; whatever that Rewarder returns otherwise.
func (r *RewardRouter) Grant(ctx context.Context, g Grant) error {
	if err := g.Validate(); err != nil {
		return err
	}
	var to Rewarder
	if m := r.routes.Load(); m != nil {
		to = (*m)[g.Reward.Kind]
	}
	if to == nil {
		return Invalid("scrm.RewardRouter", "Reward.Kind", "no rewarder registered for kind %q", g.Reward.Kind)
	}
	return to.Grant(ctx, g)
}
