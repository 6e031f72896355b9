package coupon

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// State is where a coupon is in its life.
//
//	available ──Lock──▶ locked ──Confirm──▶ redeemed
//	    ▲                 │                    │
//	    └─────Release─────┘                    │
//	    └──────────── full Refund (still valid) ┘   (else expired)
//	available ──Sweep (past ValidTo)──▶ expired
//	available ──Revoke──▶ revoked
type State string

// The states of a coupon.
const (
	StateAvailable State = "available" // in the wallet, usable within its validity
	StateLocked    State = "locked"    // held by an order awaiting payment
	StateRedeemed  State = "redeemed"  // used by a paid order
	StateExpired   State = "expired"   // its validity ended unused
	StateRevoked   State = "revoked"   // withdrawn by the merchant
)

// Coupon is one coupon in one customer's wallet.
type Coupon struct {
	Tenant   scrm.TenantID
	ID       string
	Template string
	Customer scrm.CustomerID
	// State is the stored state. Wallet and Quote report an available coupon
	// past its validity as expired even before Sweep has marked it.
	State State
	// ValidFrom and ValidTo bound its use: ValidFrom <= t < ValidTo.
	ValidFrom, ValidTo time.Time
	// IssuedAt is when it was claimed or issued.
	IssuedAt time.Time
	// Claimed is true for coupons the customer claimed (Claim, ClaimCode),
	// false for coupons the system issued (Issue, IssueBatch, Grant).
	Claimed bool
	// Source is who issued it: "claim", "code", or the Source of the Issue
	// request or Grant.
	Source string
	// Channel is where it was claimed ("miniprogram", "wecom", ...), if said.
	Channel string
	// Code is the redemption code it was claimed with, if any.
	Code string
	// Order is the order that locked or redeemed it.
	Order string
	// Discount is what it took off in Order (locked or redeemed).
	Discount decimal.Decimal
	// LockedAt, RedeemedAt and ClosedAt (expired, revoked) record
	// transitions; zero when they did not happen.
	LockedAt, RedeemedAt, ClosedAt time.Time
}

// StateAt returns the coupon's state at now: its stored state, except that an
// available coupon past ValidTo is expired.
func (c Coupon) StateAt(now time.Time) State {
	if c.State == StateAvailable && !now.Before(c.ValidTo) {
		return StateExpired
	}
	return c.State
}

// ValidAt reports whether the coupon's validity window contains now.
func (c Coupon) ValidAt(now time.Time) bool {
	return !now.Before(c.ValidFrom) && now.Before(c.ValidTo)
}
