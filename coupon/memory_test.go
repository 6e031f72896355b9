package coupon_test

import (
	"testing"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/coupon/coupontest"
)

func TestMemoryStore(t *testing.T) {
	coupontest.RunStoreTests(t, func(*testing.T) coupon.Store { return coupon.NewMemoryStore() })
}
