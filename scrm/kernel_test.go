package scrm_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

func TestErrorWrapping(t *testing.T) {
	cause := errors.New("disk on fire")
	err := fmt.Errorf("outer: %w", &scrm.Error{Code: scrm.ErrUnavailable, Op: "coupon.Claim", Err: cause})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.ErrorIs(t, err, cause)
	assert.NotErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "outer: coupon.Claim: disk on fire", err.Error())

	inv := scrm.Invalid(`coupon template "t1"`, "Value", "percent discount must be in (0, 1), got %s", "1.5")
	assert.Equal(t, `coupon template "t1": Value: percent discount must be in (0, 1), got 1.5`, inv.Error())
	var se *scrm.Error
	require.ErrorAs(t, inv, &se)
	assert.Equal(t, "Value", se.Field)

	assert.Equal(t, "x: not found", (&scrm.Error{Code: scrm.ErrNotFound, Op: "x"}).Error())
	assert.Nil(t, scrm.Wrap(scrm.ErrInvalid, "op", nil))
	w := scrm.Wrap(nil, "op", scrm.Errorf(scrm.ErrExpired, "inner", "too late"))
	assert.ErrorIs(t, w, scrm.ErrExpired, "Wrap keeps the existing classification")
	assert.ErrorIs(t, scrm.Wrap(nil, "op", cause), scrm.ErrUnavailable, "an unclassified cause is retryable")
}

func TestMoney(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.005", "1.01"}, {"1.004", "1"}, {"-1.005", "-1.01"}, {"2.5", "2.5"}, {"0", "0"},
	}
	for _, tt := range tests {
		assert.True(t, scrm.Yuan(tt.want).Equal(scrm.RoundFen(scrm.Yuan(tt.in))), tt.in)
	}
	assert.Panics(t, func() { scrm.Yuan("abc") })

	fenTests := []struct {
		in  decimal.Decimal
		fen int64
		ok  bool
	}{
		{scrm.Yuan("19.90"), 1990, true},
		{scrm.Yuan("19.9"), 1990, true},
		{scrm.Yuan("20"), 2000, true},
		{decimal.New(3, 2), 30000, true},
		{scrm.Yuan("0.001"), 0, false},
		{scrm.Yuan("0.010"), 1, true},
		{scrm.Yuan("-5.25"), -525, true},
		{scrm.Yuan("0"), 0, true},
		{decimal.New(1, 30), 0, false},
		{decimal.New(1, -40), 0, false},
		{scrm.Yuan("123456789012345678901234567890"), 0, false},
	}
	for _, tt := range fenTests {
		fen, ok := scrm.ToFen(tt.in)
		assert.Equal(t, tt.ok, ok, tt.in.String())
		if tt.ok {
			assert.Equal(t, tt.fen, fen, tt.in.String())
			assert.True(t, tt.in.Equal(scrm.FromFen(fen)))
		}
	}
	assert.True(t, scrm.IsFen(scrm.Yuan("1.10")))
	assert.False(t, scrm.IsFen(scrm.Yuan("1.101")))
	assert.True(t, scrm.IsFen(scrm.Yuan("0")))
	assert.True(t, scrm.IsFen(scrm.Yuan("-3.5")))
	assert.True(t, scrm.IsFen(scrm.Yuan("123456789012345678901.23")), "beyond an int64 of fen")
	assert.False(t, scrm.IsFen(scrm.Yuan("123456789012345678901.235")))
}

func TestOptionsDefaults(t *testing.T) {
	var o *scrm.Options
	d := o.WithDefaults()
	require.NotNil(t, d.Clock)
	require.NotNil(t, d.Publisher)
	require.NotNil(t, d.Logger)
	require.NotNil(t, d.NewID)
	assert.NotEqual(t, d.NewID(), d.NewID())
	assert.Contains(t, []string{"Asia/Shanghai", "CST"}, d.Location.String())
	assert.NoError(t, d.Publisher.Publish(context.Background(), scrm.Event{}))
}

// TestRewardRouterRoutesWhileGranting replaces a route while 8 goroutines
// grant through the router: every grant reaches one of the two Rewarders
// (none is lost or sees a half-made table), and once Route returns every
// grant reaches the new one. The zero value is a usable, empty router.
func TestRewardRouterRoutesWhileGranting(t *testing.T) {
	ctx := context.Background()
	var zero scrm.RewardRouter
	g := scrm.Grant{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: 5}}
	require.ErrorIs(t, zero.Grant(ctx, g), scrm.ErrInvalid, "no route yet")
	var a, b atomic.Int64
	zero.Route(scrm.RewardPoints, scrm.RewarderFunc(func(context.Context, scrm.Grant) error { a.Add(1); return nil }))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				assert.NoError(t, zero.Grant(ctx, g))
			}
		}()
	}
	zero.Route(scrm.RewardCoupon, scrm.RewarderFunc(func(context.Context, scrm.Grant) error { return nil }))
	zero.Route(scrm.RewardPoints, scrm.RewarderFunc(func(context.Context, scrm.Grant) error { b.Add(1); return nil }))
	wg.Wait()
	assert.Equal(t, int64(8*500), a.Load()+b.Load())
	olda, oldb := a.Load(), b.Load()
	require.NoError(t, zero.Grant(ctx, g))
	assert.Equal(t, olda, a.Load(), "the replaced Rewarder gets nothing more")
	assert.Equal(t, oldb+1, b.Load(), "a grant after Route reaches the new Rewarder")
}

func TestRewardRouter(t *testing.T) {
	ctx := context.Background()
	r := scrm.NewRewardRouter()
	var got []scrm.Grant
	r.Route(scrm.RewardPoints, scrm.RewarderFunc(func(ctx context.Context, g scrm.Grant) error {
		got = append(got, g)
		return nil
	}))
	g := scrm.Grant{Tenant: "t1", Customer: "c1", IdempotencyKey: "k1", Source: "test", Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: 50}}
	require.NoError(t, r.Grant(ctx, g))
	require.Len(t, got, 1)
	assert.Equal(t, int64(50), got[0].Reward.Points)

	unknown := g
	unknown.Reward.Kind = "gift_card"
	err := r.Grant(ctx, unknown)
	require.ErrorIs(t, err, scrm.ErrInvalid)
	var se *scrm.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "Reward.Kind", se.Field)

	for field, mutate := range map[string]func(*scrm.Grant){
		"Tenant":         func(g *scrm.Grant) { g.Tenant = "" },
		"Customer":       func(g *scrm.Grant) { g.Customer = "" },
		"IdempotencyKey": func(g *scrm.Grant) { g.IdempotencyKey = "" },
		"Reward.Points":  func(g *scrm.Grant) { g.Reward.Points = -1 },
		"Reward.Amount":  func(g *scrm.Grant) { g.Reward.Amount = scrm.Yuan("0.001") },
		"Reward.Count":   func(g *scrm.Grant) { g.Reward.Count = -1 },
	} {
		bad := g
		mutate(&bad)
		err := r.Grant(ctx, bad)
		require.ErrorAs(t, err, &se, field)
		assert.Equal(t, field, se.Field)
	}
	assert.Len(t, got, 1, "invalid grants reach no rewarder")
}

func TestMessageValidate(t *testing.T) {
	m := scrm.Message{ID: "m1", Tenant: "t1", Customer: "c1", Channel: scrm.ChannelWeCom, Vars: map[string]string{"name": "张三"}}
	require.NoError(t, m.Validate())
	assert.NotContains(t, m.String(), "张三")
	m.Customer = ""
	assert.ErrorIs(t, m.Validate(), scrm.ErrInvalid)
	m.Group = "g1"
	assert.NoError(t, m.Validate())
}

func TestFingerprintAndReplay(t *testing.T) {
	type req struct {
		Amount decimal.Decimal
		Order  string
	}
	a := scrm.Fingerprint(req{scrm.Yuan("10.0"), "o1"}, "t1")
	assert.Equal(t, a, scrm.Fingerprint(req{scrm.Yuan("10"), "o1"}, "t1"), "decimals by value")
	assert.NotEqual(t, a, scrm.Fingerprint(req{scrm.Yuan("10.01"), "o1"}, "t1"))
	assert.NotEqual(t, a, scrm.Fingerprint(req{scrm.Yuan("10"), "o2"}, "t1"))
	assert.NotEqual(t, a, scrm.Fingerprint(req{scrm.Yuan("10"), "o1"}, "t2"))
	assert.NotEqual(t, scrm.Fingerprint(make(chan int)), scrm.Fingerprint("x"))

	assert.NoError(t, scrm.CheckReplay("op", "k", a, a))
	err := scrm.CheckReplay("member.Earn", "k1", a, "other")
	assert.ErrorIs(t, err, scrm.ErrConflict)
	assert.Equal(t, `member.Earn: IdempotencyKey: key "k1" was already used with a different payload`, err.Error())
}

func TestLocationOf(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*60*60)
	o := &scrm.Options{TenantLocation: func(t scrm.TenantID) *time.Location {
		if t == "jp" {
			return tokyo
		}
		return nil
	}}
	assert.Equal(t, tokyo, o.LocationOf("jp"))
	assert.Equal(t, scrm.DefaultLocation().String(), o.LocationOf("cn").String())
	var nilOpts *scrm.Options
	assert.Equal(t, scrm.DefaultLocation().String(), nilOpts.LocationOf("cn").String())
}

func TestErrorIsDoesNotAllocate(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", scrm.Invalid("op", "Field", "bad"))
	allocs := testing.AllocsPerRun(100, func() {
		if !errors.Is(err, scrm.ErrInvalid) || errors.Is(err, scrm.ErrNotFound) {
			t.Fatal("wrong match")
		}
	})
	assert.Zero(t, allocs)
}
