package coupon

import (
	"context"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Store keeps templates, coupons, codes and orders. Every method is atomic on
// its own, and its doc comment states the invariant it keeps and the errors it
// returns; a SQL implementation can do each in one transaction. Services
// compute; stores enforce counts, uniqueness, states and versions.
//
// Implementations must be safe for concurrent use and copy values in and out,
// so a caller never shares memory with the store. Every method honours ctx: a
// done context returns an error matching scrm.ErrUnavailable that wraps
// ctx.Err(), and writes nothing. Nothing reads or writes across tenants: an
// entity of another tenant is not found. Errors are *scrm.Error values; on
// every error nothing is written. coupontest.RunStoreTests checks all of this.
type Store interface {
	// PutTemplate stores a copy of t if t.Version equals the stored version
	// (0 when none is stored) and returns the new version, that plus one.
	// Errors: ErrConflict when the version does not match, or when the
	// stored template has issued coupons and !t.SameTerms(stored) (terms
	// are frozen once coupons exist); ErrInvalid for a missing Tenant or ID.
	PutTemplate(ctx context.Context, t Template) (version int64, err error)

	// Template returns a copy of a template with its stored Version.
	// Errors: ErrNotFound.
	Template(ctx context.Context, tenant scrm.TenantID, id string) (Template, error)

	// Stats returns a template's counters. Errors: ErrNotFound when the
	// template does not exist.
	Stats(ctx context.Context, tenant scrm.TenantID, template string) (Stats, error)

	// Claim inserts params.Coupons only if the template's issued count plus
	// their number stays within its Stock, the customer's count of the
	// template's coupons within PerCustomer, and the customer's count of
	// coupons issued in [DayStart, DayEnd) within PerCustomerPerDay, the
	// limits being those stored now (0 = unlimited); otherwise it returns an
	// error matching scrm.ErrExhausted whose Field names the limit ("Stock",
	// "PerCustomer", "PerCustomerPerDay") and writes nothing. It counts the
	// coupons as issued, and as claimed when params.Claimed.
	//
	// The IdempotencyKey is unique per tenant: a key stored before with an
	// equal Fingerprint returns the coupons it inserted then, with Replayed
	// set, and changes nothing (whatever the counts are now); with another
	// Fingerprint, ErrConflict naming the field IdempotencyKey.
	//
	// With params.Code set the coupon is claimed with that code, in the same
	// step: ErrNotFound when the code does not exist, ErrInvalid when it is
	// of another template, ErrConflict when it is single-use and already
	// used; a single-use code is marked used by the customer and the first
	// coupon, and every code counts its uses. A shared code gives each
	// customer one claim: when the customer already holds a coupon claimed
	// with it, the claim is refused with ErrConflict naming the field Code,
	// as a single-use code spent is, whatever the idempotency key (only a
	// replay of the first claim's key returns its coupon). Concurrent
	// claims of one customer with one shared code insert exactly one.
	//
	// A paid template (stored Price positive now) is claimed only with
	// proof of payment: when params.Claimed and params.Code is empty or a
	// shared code, Claim returns ErrForbidden and writes nothing, so a
	// template priced while a claim is in flight is not given away. Issues
	// (!params.Claimed) are not affected: they follow a sale.
	//
	// Other errors: ErrNotFound when the template does not exist; ErrConflict
	// when a coupon ID exists; ErrInvalid for coupons that do not match the
	// params' tenant, template and customer, or no coupons.
	Claim(ctx context.Context, params ClaimParams) (ClaimResult, error)

	// ClaimByKey returns the coupons Claim inserted with an idempotency key
	// and the fingerprint stored with it, so that a replay can be answered
	// even when the request would now be refused. Errors: ErrNotFound when
	// the key was not used.
	ClaimByKey(ctx context.Context, tenant scrm.TenantID, key string) (ClaimRecord, error)

	// Coupon returns a copy of a coupon. Errors: ErrNotFound.
	Coupon(ctx context.Context, tenant scrm.TenantID, id string) (Coupon, error)

	// Coupons returns copies of the coupons with the given IDs, in that
	// order. Errors: ErrNotFound naming the first ID not found.
	Coupons(ctx context.Context, tenant scrm.TenantID, ids []string) ([]Coupon, error)

	// ListCoupons returns the tenant's coupons that match every filter set
	// in params, in ID order, starting after params.Cursor, at most
	// params.Limit of them (0 means 100; more than 1000 means 1000).
	// CouponPage.Next is the cursor of the next page, empty after the last.
	ListCoupons(ctx context.Context, params ListCouponsParams) (CouponPage, error)

	// Revoke moves an available coupon to revoked (ClosedAt = params.Now)
	// and counts it. A revoked coupon is returned unchanged. Errors:
	// ErrNotFound; ErrConflict for a locked, redeemed or expired coupon,
	// expired including an available one whose ValidTo is at or before
	// params.Now (not yet marked by Expire; Revoke leaves it to Expire).
	Revoke(ctx context.Context, params RevokeParams) (Coupon, error)

	// Expire moves available coupons whose ValidTo is at or before
	// params.Now to expired (ClosedAt = params.Now), at most params.Limit of
	// them (0 means 1000), counts them per template, and returns them.
	// Locked coupons are left to their order. Fewer than Limit returned means
	// none is left.
	Expire(ctx context.Context, params ExpireParams) ([]Coupon, error)

	// PutCodes inserts codes, all or none: ErrConflict when one of them
	// exists in the tenant or appears twice; ErrNotFound when a code's
	// template does not exist; ErrInvalid when a code is empty or of
	// another tenant.
	PutCodes(ctx context.Context, tenant scrm.TenantID, codes []Code) error

	// Code returns a copy of a code. Errors: ErrNotFound.
	Code(ctx context.Context, tenant scrm.TenantID, code string) (Code, error)

	// Lock stores params.Order (State OrderLocked) and moves each of its
	// coupons from available to locked by it, only if every coupon exists in
	// the tenant, belongs to the order's customer, is available and valid
	// at Order.LockedAt, and every template's Budget still covers what its
	// coupons take off in the order (Order.TemplateDiscounts) on top of what
	// it has given and reserved; that is then reserved. Otherwise it writes
	// nothing and returns, for the first coupon that fails: ErrNotFound,
	// ErrForbidden (another customer's), ErrConflict (locked, redeemed or
	// revoked), ErrExpired (outside its validity, or expired), or
	// ErrExhausted with Field "Budget".
	//
	// An order ID holds one lock at a time. When the order exists with the
	// same IdempotencyKey, an equal Fingerprint returns it with Replayed set
	// and changes nothing, another Fingerprint is ErrConflict; with another
	// key, a released order is replaced and any other is ErrConflict. A key
	// is unique per tenant and stays bound to the lock that used it, even
	// once that lock is released and replaced: a key used by another order,
	// or by an earlier lock of this order that a lock with a new key
	// replaced, is ErrConflict naming the field IdempotencyKey.
	Lock(ctx context.Context, params LockParams) (LockResult, error)

	// Confirm moves a locked order to confirmed and its coupons to redeemed
	// (RedeemedAt = params.Now): each template's reserved discount becomes
	// given (Stats.Discount) and the order's Payable is added to the GMV of
	// each template it used. A confirmed or refunded order is returned
	// unchanged. Errors: ErrNotFound; ErrConflict for a released order.
	Confirm(ctx context.Context, params OrderParams) (Order, error)

	// Release moves a locked order to released and its coupons back to
	// available, returning the reserved discount to the budgets. A released
	// order is returned unchanged. Errors: ErrNotFound; ErrConflict for a
	// confirmed or refunded order (refund it instead).
	Release(ctx context.Context, params OrderParams) (Order, error)

	// Refund records params.Refund on a confirmed order whose Version still
	// equals params.Version: the order's Refunded units become params.Units,
	// each template in params.Templates gives back its Discount and GMV, and
	// when Refund.Full the order becomes refunded and each of its coupons
	// goes back to available if params.Now is before its ValidTo, else to
	// expired (counted as such); the store fills Refund.Restored and
	// Refund.Expired with their IDs. It returns the refund as recorded.
	//
	// A non-empty Refund.IdempotencyKey is unique per order: stored before
	// with an equal Fingerprint, the stored refund is returned with
	// Replayed set and nothing changes; with another, ErrConflict. Errors:
	// ErrNotFound; ErrConflict when the version differs or the order is not
	// confirmed.
	Refund(ctx context.Context, params RefundParams) (RefundResult, error)

	// Order returns a copy of an order. Errors: ErrNotFound.
	Order(ctx context.Context, tenant scrm.TenantID, id string) (Order, error)
}

// TemplateVersioner is an optional Store capability, found by type
// assertion: the stored version of a template without the template. The
// Service keeps templates compiled per version and, with it, skips loading a
// template whose version it has compiled. Errors: ErrNotFound.
type TemplateVersioner interface {
	TemplateVersion(ctx context.Context, tenant scrm.TenantID, id string) (int64, error)
}

// Stats are a template's counters.
type Stats struct {
	Tenant   scrm.TenantID
	Template string
	Issued   int64 // coupons issued in all, claimed or issued by the system
	Claimed  int64 // of which claimed by customers (Claim, ClaimCode)
	Locked   int64 // now held by orders awaiting payment
	Redeemed int64 // now redeemed (a full refund takes a coupon back)
	Expired  int64 // expired unused
	Revoked  int64 // withdrawn
	// Discount is what confirmed orders took off with the template's
	// coupons, net of refunds: the budget spent.
	Discount decimal.Decimal
	// Reserved is what locked orders will take off: the budget reserved.
	Reserved decimal.Decimal
	// GMV is the payable amount of the confirmed orders that used the
	// template, net of refunds.
	GMV decimal.Decimal
}

// ClaimParams are the inputs of Store.Claim.
type ClaimParams struct {
	Tenant   scrm.TenantID
	Template string
	Customer scrm.CustomerID
	// Coupons are inserted as given; all of Template and Customer, with new
	// IDs.
	Coupons []Coupon
	// Claimed counts the coupons as claimed by the customer.
	Claimed        bool
	IdempotencyKey string
	Fingerprint    string
	// DayStart and DayEnd bound the customer's local day, for
	// PerCustomerPerDay: coupons whose IssuedAt falls in [DayStart, DayEnd)
	// count.
	DayStart, DayEnd time.Time
	// Code is the normalized code claimed with, if any.
	Code string
}

// ClaimResult is the outcome of Store.Claim.
type ClaimResult struct {
	Coupons  []Coupon
	Replayed bool // the key was seen before; nothing changed
}

// ClaimRecord is what Store.ClaimByKey returns.
type ClaimRecord struct {
	Fingerprint string
	Coupons     []Coupon
}

// ListCouponsParams are the inputs of Store.ListCoupons. Zero fields do not
// filter.
type ListCouponsParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	Template string
	State    State
	// ValidToAfter and ValidToBefore select coupons with ValidToAfter <
	// ValidTo <= ValidToBefore.
	ValidToAfter, ValidToBefore time.Time
	Cursor                      string
	Limit                       int
}

// CouponPage is one page of Store.ListCoupons.
type CouponPage struct {
	Coupons []Coupon
	Next    string
}

// RevokeParams are the inputs of Store.Revoke.
type RevokeParams struct {
	Tenant scrm.TenantID
	ID     string
	Now    time.Time
}

// ExpireParams are the inputs of Store.Expire.
type ExpireParams struct {
	Tenant scrm.TenantID
	Now    time.Time
	Limit  int
}

// LockParams are the inputs of Store.Lock.
type LockParams struct {
	Order       Order
	Fingerprint string
}

// LockResult is the outcome of Store.Lock.
type LockResult struct {
	Order    Order
	Replayed bool
}

// OrderParams name an order for Store.Confirm and Store.Release.
type OrderParams struct {
	Tenant  scrm.TenantID
	OrderID string
	Now     time.Time
}

// RefundParams are the inputs of Store.Refund.
type RefundParams struct {
	Tenant  scrm.TenantID
	OrderID string
	// Version is the order version the refund was computed from.
	Version int64
	Refund  Refund
	// Units are the order's refunded units per line after this refund.
	Units []int
	// Templates are what each template gives back.
	Templates   []TemplateAmount
	Fingerprint string
	Now         time.Time
}

// RefundResult is the outcome of Store.Refund.
type RefundResult struct {
	Refund   Refund
	Order    Order
	Replayed bool
}

// TemplateAmount is one template's part of an order or a refund.
type TemplateAmount struct {
	Template string
	Coupons  int             // how many of its coupons the order holds
	Discount decimal.Decimal // what they take off (or give back)
	GMV      decimal.Decimal // refunds: the GMV given back
}
