package coupon_test

// Mutation tests of the conformance suite (coupontest.RunStoreTests): each
// mutant is the memory store with one method broken the way a plausible
// host implementation would break it. TestSuiteMutants runs the suite
// against every mutant in a child process (TestSuiteMutantChild) and
// requires the suite to fail it, in the subtest named.

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/coupon/coupontest"
	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/scrm"
)

// cmEnv names the mutant a child process runs the suite against.
const cmEnv = "SCRMKIT_COUPON_MUTANT"

var cmMutants = []mutants.Store[coupon.Store]{
	// Gaps the suite had: each has its own conformance case now.
	{Name: "RefundKeysPerTenant", Run: "Refunds/KeysArePerOrder", Want: "Refunds/KeysArePerOrder",
		New: func() coupon.Store { return &cmRefundKeysPerTenant{Store: coupon.NewMemoryStore()} }},
	{Name: "ClaimBatchPartial", Run: "Claims/BatchAllOrNothing", Want: "Claims/BatchAllOrNothing",
		New: func() coupon.Store { return &cmClaimBatchPartial{Store: coupon.NewMemoryStore()} }},
	{Name: "PerCustomerAnyTemplate", Run: "Claims/PerCustomerCountsTheTemplate", Want: "Claims/PerCustomerCountsTheTemplate",
		New: cmPerCustomerAnyTemplate},
	{Name: "PerCustomerClaimedOnly", Run: "Claims/PerCustomerCountsTheTemplate", Want: "Claims/PerCustomerCountsTheTemplate",
		New: cmPerCustomerClaimedOnly},
	{Name: "UpdateKeepsLimits", Run: "Claims/LimitsAreThoseStoredNow", Want: "Claims/LimitsAreThoseStoredNow",
		New: func() coupon.Store { return &cmKeepsLimits{Store: coupon.NewMemoryStore()} }},
	{Name: "CodeSpentBeforeInsert", Run: "Codes/RefusedClaimLeavesCodeUnused", Want: "Codes/RefusedClaimLeavesCodeUnused",
		New: func() coupon.Store { return &cmCodeSpentFirst{Store: coupon.NewMemoryStore()} }},
	{Name: "RevokeAgainRestamps", Run: "Coupons/Revoke", Want: "Coupons/Revoke",
		New: func() coupon.Store { return &cmRevokeAgainRestamps{Store: coupon.NewMemoryStore()} }},
	{Name: "ListCustomerAcrossTenants", Run: "TenantIsolation", Want: "TenantIsolation",
		New: func() coupon.Store {
			return &cmListCustomerAcrossTenants{cmAcrossTenants{Store: coupon.NewMemoryStore()}}
		}},
	{Name: "CouponsAcrossTenants", Run: "TenantIsolation", Want: "TenantIsolation",
		New: func() coupon.Store { return &cmCouponsAcrossTenants{cmAcrossTenants{Store: coupon.NewMemoryStore()}} }},
	{Name: "ExpireAcrossTenants", Run: "TenantIsolation", Want: "TenantIsolation",
		New: func() coupon.Store { return &cmExpireAcrossTenants{cmAcrossTenants{Store: coupon.NewMemoryStore()}} }},
	{Name: "LockReplayOnlyWhileLocked", Run: "Orders/ReplayAfterConfirmAndRelease", Want: "Orders/ReplayAfterConfirmAndRelease",
		New: func() coupon.Store { return &cmLockReplayOnlyWhileLocked{Store: coupon.NewMemoryStore()} }},
	{Name: "ConfirmCheckThenAct", Run: "LockConcurrency/ConfirmsCountOnce", Want: "LockConcurrency/ConfirmsCountOnce",
		New: func() coupon.Store { return &cmSettleCheckThenAct{Store: coupon.NewMemoryStore()} }},
	{Name: "ReleaseCheckThenAct", Run: "LockConcurrency/ReleasesReturnOnce", Want: "LockConcurrency/ReleasesReturnOnce",
		New: func() coupon.Store { return &cmSettleCheckThenAct{Store: coupon.NewMemoryStore(), release: true} }},
	{Name: "PutTemplateCheckThenAct", Run: "Templates/ConcurrentPutsOneWins", Want: "Templates/ConcurrentPutsOneWins",
		New: func() coupon.Store { return &cmPutTemplateCheckThenAct{Store: coupon.NewMemoryStore()} }},

	// Mutants the suite already caught.
	{Name: "RefundIgnoresVersion", Run: "Refunds/PartialThenFull", Want: "Refunds/PartialThenFull",
		New: func() coupon.Store { return &cmRefundIgnoresVersion{Store: coupon.NewMemoryStore()} }},
	{Name: "RefundReplayIgnoresFingerprint", Run: "Refunds/PartialThenFull", Want: "Refunds/PartialThenFull",
		New: func() coupon.Store { return &cmRefundReplayAnyFingerprint{Store: coupon.NewMemoryStore()} }},
	{Name: "ClaimReplayNotMarked", Run: "Claims/Replay", Want: "Claims/Replay",
		New: func() coupon.Store { return &cmClaimReplayNotMarked{Store: coupon.NewMemoryStore()} }},
	{Name: "ClaimReplayAnyFingerprint", Run: "Claims/Replay", Want: "Claims/Replay",
		New: func() coupon.Store { return &cmClaimReplayAnyFingerprint{Store: coupon.NewMemoryStore()} }},
	{Name: "ClaimKeyCheckThenAct", Run: "ClaimConcurrency/ReplaysOfOneKey", Want: "ClaimConcurrency/ReplaysOfOneKey",
		New: func() coupon.Store { return &cmClaimKeyCheckThenAct{Store: coupon.NewMemoryStore()} }},
	{Name: "StockCheckThenAct", Run: "ClaimConcurrency/StockAndPerCustomer", Want: "ClaimConcurrency/StockAndPerCustomer",
		New: func() coupon.Store { return &cmStockCheckThenAct{Store: coupon.NewMemoryStore()} }},
	{Name: "CouponsInIDOrder", Run: "Coupons/Get", Want: "Coupons/Get",
		New: func() coupon.Store { return &cmCouponsSorted{Store: coupon.NewMemoryStore()} }},
	{Name: "ListCursorInclusive", Run: "Coupons/List", Want: "Coupons/List",
		New: func() coupon.Store { return &cmListCursorInclusive{Store: coupon.NewMemoryStore()} }},
	{Name: "ExpireIgnoresLimit", Run: "Coupons/Expire", Want: "Coupons/Expire",
		New: func() coupon.Store { return &cmExpireNoLimit{Store: coupon.NewMemoryStore()} }},
	{Name: "ClaimByKeyAcrossTenants", Run: "TenantIsolation", Want: "TenantIsolation",
		New: func() coupon.Store {
			return &cmClaimByKeyAcrossTenants{cmAcrossTenants{Store: coupon.NewMemoryStore()}}
		}},
	{Name: "LockRefusalLeaksReservation", Run: "LockConcurrency/OneCouponManyOrders", Want: "LockConcurrency/OneCouponManyOrders",
		New: func() coupon.Store { return &cmLockRefusalLeaks{Store: coupon.NewMemoryStore()} }},
	{Name: "LockReplayNotMarked", Run: "Orders/LockReplay", Want: "Orders/LockReplay",
		New: func() coupon.Store { return &cmLockReplayNotMarked{Store: coupon.NewMemoryStore()} }},
	{Name: "ConfirmAgainRestamps", Run: "Orders/LockConfirm", Want: "Orders/LockConfirm",
		New: func() coupon.Store { return &cmConfirmAgainRestamps{Store: coupon.NewMemoryStore()} }},
	{Name: "ReleaseOfConfirmedAnswered", Run: "Orders/LockConfirm", Want: "Orders/LockConfirm",
		New: func() coupon.Store { return &cmReleaseConfirmed{Store: coupon.NewMemoryStore()} }},
	{Name: "PutTemplateIgnoresVersion", Run: "Templates/VersionConflict", Want: "Templates/VersionConflict",
		New: func() coupon.Store { return &cmPutTemplateIgnoresVersion{Store: coupon.NewMemoryStore()} }},
}

// cmMutantsList returns the mutants for package mutants.
func cmMutantsList() []mutants.Mutant {
	return mutants.Stores(coupontest.RunStoreTests, cmMutants)
}

// TestSuiteMutantChild runs the suite against the mutant named by cmEnv;
// it is TestSuiteMutants' child process and skips otherwise.
func TestSuiteMutantChild(t *testing.T) { mutants.Child(t, cmEnv, cmMutantsList()) }

// TestSuiteMutants proves that the conformance suite fails every mutant.
func TestSuiteMutants(t *testing.T) { mutants.Spawn(t, cmEnv, "TestSuiteMutantChild", cmMutantsList()) }

// cmRefundKeysPerTenant keeps refund idempotency keys unique per tenant
// (a unique index without the order): another order's refund with a key
// used before is answered as that refund's replay.
type cmRefundKeysPerTenant struct {
	coupon.Store
	mu   sync.Mutex
	seen map[string]coupon.RefundParams // tenant + key → the refund recorded
}

func (m *cmRefundKeysPerTenant) Refund(ctx context.Context, p coupon.RefundParams) (coupon.RefundResult, error) {
	k := string(p.Tenant) + "\x00" + p.Refund.IdempotencyKey
	m.mu.Lock()
	first, ok := m.seen[k]
	m.mu.Unlock()
	if p.Refund.IdempotencyKey != "" && ok && first.OrderID != p.OrderID {
		if first.Fingerprint != p.Fingerprint {
			return coupon.RefundResult{}, &scrm.Error{Code: scrm.ErrConflict, Op: "mutant.Refund", Field: "IdempotencyKey"}
		}
		return m.Store.Refund(ctx, first) // the first order's replay
	}
	res, err := m.Store.Refund(ctx, p)
	if err == nil && p.Refund.IdempotencyKey != "" && !ok {
		m.mu.Lock()
		if m.seen == nil {
			m.seen = map[string]coupon.RefundParams{}
		}
		m.seen[k] = p
		m.mu.Unlock()
	}
	return res, err
}

// cmRefundIgnoresVersion refunds whatever order version the refund was
// computed from.
type cmRefundIgnoresVersion struct{ coupon.Store }

func (m *cmRefundIgnoresVersion) Refund(ctx context.Context, p coupon.RefundParams) (coupon.RefundResult, error) {
	if o, err := m.Store.Order(ctx, p.Tenant, p.OrderID); err == nil {
		p.Version = o.Version
	}
	return m.Store.Refund(ctx, p)
}

// cmRefundReplayAnyFingerprint answers a refund key stored before as a
// replay whatever the fingerprint.
type cmRefundReplayAnyFingerprint struct{ coupon.Store }

func (m *cmRefundReplayAnyFingerprint) Refund(ctx context.Context, p coupon.RefundParams) (coupon.RefundResult, error) {
	res, err := m.Store.Refund(ctx, p)
	if err == nil || p.Refund.IdempotencyKey == "" || !errors.Is(err, scrm.ErrConflict) {
		return res, err
	}
	o, oerr := m.Store.Order(ctx, p.Tenant, p.OrderID)
	if oerr != nil {
		return res, err
	}
	for _, r := range o.Refunds {
		if r.IdempotencyKey == p.Refund.IdempotencyKey {
			return coupon.RefundResult{Refund: r, Order: o, Replayed: true}, nil
		}
	}
	return res, err
}
