package referral

import (
	"context"

	"github.com/scrmkit/scrmkit/scrm"
)

// PointsCharge asks a PointsSpender to take member points from a customer:
// the entry cost of a lucky draw.
type PointsCharge struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	Points   int64 // positive
	// IdempotencyKey is derived from the draw (its lottery and request
	// key): a retry of the same draw charges with the same key, and must
	// not charge twice.
	IdempotencyKey string
	// Ref names what the points pay for: the draw's ID,
	// "lottery:<lottery>:<request key>" (at most scrm.MaxIDLength bytes),
	// fit to be the order ID of a redemption.
	Ref string
	// Lottery is the lottery's ID, for the ledger's note.
	Lottery string
}

// PointsSpender charges member points. The package does not import
// package member (domain packages never import each other): the host wires
// its member service in, usually with PointsSpenderFunc:
//
//	referral.PointsSpenderFunc(func(ctx context.Context, c referral.PointsCharge) error {
//		_, err := members.Redeem(ctx, member.RedeemRequest{Tenant: c.Tenant, Customer: c.Customer,
//			IdempotencyKey: c.IdempotencyKey, OrderID: c.Ref, Points: c.Points})
//		return err
//	})
//
// SpendPoints must be idempotent by IdempotencyKey (a replay with the same
// key returns nil and charges nothing more), and must write nothing when it
// returns an error other than one matching scrm.ErrUnavailable: the
// Service takes such an error as final and cancels the draw, while after
// an ErrUnavailable (or an unclassified error) it keeps the draw pending
// and charges again, with the same key, on the next attempt.
type PointsSpender interface {
	SpendPoints(ctx context.Context, c PointsCharge) error
}

// PointsSpenderFunc adapts a function to the PointsSpender interface.
type PointsSpenderFunc func(ctx context.Context, c PointsCharge) error

// SpendPoints calls f.
func (f PointsSpenderFunc) SpendPoints(ctx context.Context, c PointsCharge) error { return f(ctx, c) }
