// Package coupontest is the conformance suite of coupon.Store: every Store
// implementation, the in-memory one included, must pass RunStoreTests.
package coupontest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

// RunStoreTests is the conformance suite every coupon.Store must pass.
// newStore is called once per subtest and must return an empty store.
// Subtests run in parallel, each on its own store.
//
// Times are compared with a millisecond tolerance and money with
// decimal.Equal, so a store that truncates timestamps or normalizes decimals
// passes. The concurrency cases race thousands of goroutines on one limit
// and check that exactly the limit wins.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) coupon.Store) {
	t.Helper()
	h := harness{newStore: newStore}
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, h harness)
	}{
		{"Templates", testTemplates},
		{"Claims", testClaims},
		{"ClaimConcurrency", testClaimConcurrency},
		{"Codes", testCodes},
		{"Coupons", testCoupons},
		{"Orders", testOrders},
		{"LockConcurrency", testLockConcurrency},
		{"Refunds", testRefunds},
		{"Mixed", testMixed},
		{"TenantIsolation", testTenantIsolation},
		{"CancelledContext", testCancelledContext},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, h)
		})
	}
}

type harness struct {
	newStore func(t *testing.T) coupon.Store
}

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
)

const tenant scrm.TenantID = "t1"

// cashTemplate is a valid cash template: 10.00 off, valid all of March 2026.
func cashTemplate(tn scrm.TenantID, id string) coupon.Template {
	return coupon.Template{Tenant: tn, ID: id, Name: "10 off " + id, Kind: coupon.KindCash,
		Amount: scrm.Yuan("10.00"), Validity: coupon.Validity{From: t0, To: t0.AddDate(0, 1, 0)}}
}

func putTemplate(t *testing.T, s coupon.Store, tp coupon.Template) coupon.Template {
	t.Helper()
	v, err := s.PutTemplate(ctx, tp)
	require.NoError(t, err)
	tp.Version = v
	return tp
}

// newCoupon is an available coupon valid [t0, t0+30d).
func newCoupon(tn scrm.TenantID, tmpl string, cust scrm.CustomerID, id string) coupon.Coupon {
	return coupon.Coupon{Tenant: tn, ID: id, Template: tmpl, Customer: cust, State: coupon.StateAvailable,
		ValidFrom: t0, ValidTo: t0.AddDate(0, 0, 30), IssuedAt: t0, Claimed: true, Source: "claim"}
}

func claimParams(tn scrm.TenantID, tmpl string, cust scrm.CustomerID, key string, cs ...coupon.Coupon) coupon.ClaimParams {
	return coupon.ClaimParams{Tenant: tn, Template: tmpl, Customer: cust, Coupons: cs, Claimed: true,
		IdempotencyKey: key, Fingerprint: "fp:" + key}
}

// issue claims one coupon with ID id for cust, failing the test on error.
func issue(t *testing.T, s coupon.Store, tn scrm.TenantID, tmpl string, cust scrm.CustomerID, id string) coupon.Coupon {
	t.Helper()
	res, err := s.Claim(ctx, claimParams(tn, tmpl, cust, "k-"+id, newCoupon(tn, tmpl, cust, id)))
	require.NoError(t, err)
	require.Len(t, res.Coupons, 1)
	return res.Coupons[0]
}

// lockOrder builds an order of one line (2 units at 100.00) in which each
// coupon (id → template) takes off the given amount, all from line 0.
func lockOrder(tn scrm.TenantID, id string, cust scrm.CustomerID, key string, at time.Time, coupons ...couponUse) coupon.Order {
	o := coupon.Order{Tenant: tn, ID: id, Customer: cust, State: coupon.OrderLocked, IdempotencyKey: key, LockedAt: at,
		Cart: coupon.Cart{Tenant: tn, Customer: cust, OrderID: id,
			Items: []coupon.Item{{SKU: "sku-1", Price: scrm.Yuan("100.00"), Quantity: 2}}}}
	total := decimal.Zero
	for _, c := range coupons {
		o.Coupons = append(o.Coupons, c.id)
		d := scrm.Yuan(c.discount)
		total = total.Add(d)
		o.Quote.Applied = append(o.Quote.Applied, coupon.Applied{Coupon: c.id, Template: c.template, Kind: coupon.KindCash,
			Discount: d, Lines: []coupon.Share{{Line: 0, Discount: d}}})
	}
	o.Quote.Subtotal = scrm.Yuan("200.00")
	o.Quote.ItemDiscount, o.Quote.Discount = total, total
	o.Quote.Payable = o.Quote.Subtotal.Sub(total)
	o.Quote.Lines = []coupon.Line{{Index: 0, SKU: "sku-1", Quantity: 2, Price: scrm.Yuan("100.00"), Discount: total}}
	return o
}

type couponUse struct{ id, template, discount string }

func use(id, template, discount string) couponUse { return couponUse{id, template, discount} }

func getCoupon(t *testing.T, s coupon.Store, tn scrm.TenantID, id string) coupon.Coupon {
	t.Helper()
	c, err := s.Coupon(ctx, tn, id)
	require.NoError(t, err)
	return c
}

func stats(t *testing.T, s coupon.Store, tn scrm.TenantID, tmpl string) coupon.Stats {
	t.Helper()
	st, err := s.Stats(ctx, tn, tmpl)
	require.NoError(t, err)
	return st
}

func assertMoney(t *testing.T, want string, got decimal.Decimal, msgAndArgs ...any) {
	t.Helper()
	assert.True(t, scrm.Yuan(want).Equal(got), "want %s, got %s %s", want, got, fmt.Sprint(msgAndArgs...))
}

// assertField checks that err is an *scrm.Error chain naming field.
func assertField(t *testing.T, err error, field string) {
	t.Helper()
	for e := err; e != nil; {
		var se *scrm.Error
		if !errors.As(e, &se) {
			break
		}
		if se.Field == field {
			return
		}
		e = se.Err
	}
	t.Errorf("error %v does not name field %q", err, field)
}
