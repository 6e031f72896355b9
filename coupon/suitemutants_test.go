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

// cmMutant is one broken store and where the suite must catch it.
type cmMutant struct {
	name string
	// run is the path of the suite's subtests to run (a -test.run pattern
	// beneath TestSuiteMutantChild); want is the subtest that must fail.
	run, want string
	store     func() coupon.Store
}

var cmMutants = []cmMutant{
	// Gaps the suite had: each has its own conformance case now.
	{"RefundKeysPerTenant", "Refunds/KeysArePerOrder", "Refunds/KeysArePerOrder",
		func() coupon.Store { return &cmRefundKeysPerTenant{Store: coupon.NewMemoryStore()} }},
	{"ClaimBatchPartial", "Claims/BatchAllOrNothing", "Claims/BatchAllOrNothing",
		func() coupon.Store { return &cmClaimBatchPartial{Store: coupon.NewMemoryStore()} }},
	{"PerCustomerAnyTemplate", "Claims/PerCustomerCountsTheTemplate", "Claims/PerCustomerCountsTheTemplate",
		cmPerCustomerAnyTemplate},
	{"PerCustomerClaimedOnly", "Claims/PerCustomerCountsTheTemplate", "Claims/PerCustomerCountsTheTemplate",
		cmPerCustomerClaimedOnly},
	{"UpdateKeepsLimits", "Claims/LimitsAreThoseStoredNow", "Claims/LimitsAreThoseStoredNow",
		func() coupon.Store { return &cmKeepsLimits{Store: coupon.NewMemoryStore()} }},
	{"CodeSpentBeforeInsert", "Codes/RefusedClaimLeavesCodeUnused", "Codes/RefusedClaimLeavesCodeUnused",
		func() coupon.Store { return &cmCodeSpentFirst{Store: coupon.NewMemoryStore()} }},
	{"RevokeAgainRestamps", "Coupons/Revoke", "Coupons/Revoke",
		func() coupon.Store { return &cmRevokeAgainRestamps{Store: coupon.NewMemoryStore()} }},
	{"ListCustomerAcrossTenants", "TenantIsolation", "TenantIsolation",
		func() coupon.Store {
			return &cmListCustomerAcrossTenants{cmAcrossTenants{Store: coupon.NewMemoryStore()}}
		}},
	{"CouponsAcrossTenants", "TenantIsolation", "TenantIsolation",
		func() coupon.Store { return &cmCouponsAcrossTenants{cmAcrossTenants{Store: coupon.NewMemoryStore()}} }},
	{"ExpireAcrossTenants", "TenantIsolation", "TenantIsolation",
		func() coupon.Store { return &cmExpireAcrossTenants{cmAcrossTenants{Store: coupon.NewMemoryStore()}} }},
	{"LockReplayOnlyWhileLocked", "Orders/ReplayAfterConfirmAndRelease", "Orders/ReplayAfterConfirmAndRelease",
		func() coupon.Store { return &cmLockReplayOnlyWhileLocked{Store: coupon.NewMemoryStore()} }},
	{"ConfirmCheckThenAct", "LockConcurrency/ConfirmsCountOnce", "LockConcurrency/ConfirmsCountOnce",
		func() coupon.Store { return &cmSettleCheckThenAct{Store: coupon.NewMemoryStore()} }},
	{"ReleaseCheckThenAct", "LockConcurrency/ReleasesReturnOnce", "LockConcurrency/ReleasesReturnOnce",
		func() coupon.Store { return &cmSettleCheckThenAct{Store: coupon.NewMemoryStore(), release: true} }},
	{"PutTemplateCheckThenAct", "Templates/ConcurrentPutsOneWins", "Templates/ConcurrentPutsOneWins",
		func() coupon.Store { return &cmPutTemplateCheckThenAct{Store: coupon.NewMemoryStore()} }},

	// Mutants the suite already caught.
	{"RefundIgnoresVersion", "Refunds/PartialThenFull", "Refunds/PartialThenFull",
		func() coupon.Store { return &cmRefundIgnoresVersion{Store: coupon.NewMemoryStore()} }},
	{"RefundReplayIgnoresFingerprint", "Refunds/PartialThenFull", "Refunds/PartialThenFull",
		func() coupon.Store { return &cmRefundReplayAnyFingerprint{Store: coupon.NewMemoryStore()} }},
	{"ClaimReplayNotMarked", "Claims/Replay", "Claims/Replay",
		func() coupon.Store { return &cmClaimReplayNotMarked{Store: coupon.NewMemoryStore()} }},
	{"ClaimReplayAnyFingerprint", "Claims/Replay", "Claims/Replay",
		func() coupon.Store { return &cmClaimReplayAnyFingerprint{Store: coupon.NewMemoryStore()} }},
	{"ClaimKeyCheckThenAct", "ClaimConcurrency/ReplaysOfOneKey", "ClaimConcurrency/ReplaysOfOneKey",
		func() coupon.Store { return &cmClaimKeyCheckThenAct{Store: coupon.NewMemoryStore()} }},
	{"StockCheckThenAct", "ClaimConcurrency/StockAndPerCustomer", "ClaimConcurrency/StockAndPerCustomer",
		func() coupon.Store { return &cmStockCheckThenAct{Store: coupon.NewMemoryStore()} }},
	{"CouponsInIDOrder", "Coupons/Get", "Coupons/Get",
		func() coupon.Store { return &cmCouponsSorted{Store: coupon.NewMemoryStore()} }},
	{"ListCursorInclusive", "Coupons/List", "Coupons/List",
		func() coupon.Store { return &cmListCursorInclusive{Store: coupon.NewMemoryStore()} }},
	{"ExpireIgnoresLimit", "Coupons/Expire", "Coupons/Expire",
		func() coupon.Store { return &cmExpireNoLimit{Store: coupon.NewMemoryStore()} }},
	{"ClaimByKeyAcrossTenants", "TenantIsolation", "TenantIsolation",
		func() coupon.Store {
			return &cmClaimByKeyAcrossTenants{cmAcrossTenants{Store: coupon.NewMemoryStore()}}
		}},
	{"LockRefusalLeaksReservation", "LockConcurrency/OneCouponManyOrders", "LockConcurrency/OneCouponManyOrders",
		func() coupon.Store { return &cmLockRefusalLeaks{Store: coupon.NewMemoryStore()} }},
	{"LockReplayNotMarked", "Orders/LockReplay", "Orders/LockReplay",
		func() coupon.Store { return &cmLockReplayNotMarked{Store: coupon.NewMemoryStore()} }},
	{"ConfirmAgainRestamps", "Orders/LockConfirm", "Orders/LockConfirm",
		func() coupon.Store { return &cmConfirmAgainRestamps{Store: coupon.NewMemoryStore()} }},
	{"ReleaseOfConfirmedAnswered", "Orders/LockConfirm", "Orders/LockConfirm",
		func() coupon.Store { return &cmReleaseConfirmed{Store: coupon.NewMemoryStore()} }},
	{"PutTemplateIgnoresVersion", "Templates/VersionConflict", "Templates/VersionConflict",
		func() coupon.Store { return &cmPutTemplateIgnoresVersion{Store: coupon.NewMemoryStore()} }},
}

// cmMutantsList converts cmMutants for package mutants
// (each Suite captures its own element).
func cmMutantsList() []mutants.Mutant {
	ms := make([]mutants.Mutant, 0, len(cmMutants))
	for _, m := range cmMutants {
		ms = append(ms, mutants.Mutant{Name: m.name, Run: m.run, Want: m.want,
			Suite: func(t *testing.T) { coupontest.RunStoreTests(t, func(*testing.T) coupon.Store { return m.store() }) }})
	}
	return ms
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
