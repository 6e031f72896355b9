package coupon_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

func TestClaimValidity(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	for _, c := range []struct {
		name     string
		loc      *time.Location
		validity coupon.Validity
		now      time.Time
		from, to time.Time
	}{
		{"days: the claim day is day 1", shanghai, coupon.Validity{Days: 7}, t0,
			t0, time.Date(2026, 3, 8, 0, 0, 0, 0, shanghai)},
		{"days: one day ends at local midnight", shanghai, coupon.Validity{Days: 1}, time.Date(2026, 3, 1, 23, 59, 0, 0, shanghai),
			time.Date(2026, 3, 1, 23, 59, 0, 0, shanghai), time.Date(2026, 3, 2, 0, 0, 0, 0, shanghai)},
		{"days: late at night UTC is the next day in Shanghai", shanghai, coupon.Validity{Days: 1}, time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC),
			time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 0, 0, 0, 0, shanghai)},
		{"days across a DST change", ny, coupon.Validity{Days: 2}, time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			time.Date(2026, 3, 7, 12, 0, 0, 0, ny), time.Date(2026, 3, 9, 0, 0, 0, 0, ny)},
		{"fixed window", shanghai, coupon.Validity{From: t0.Add(48 * time.Hour), To: t0.Add(96 * time.Hour)}, t0,
			t0.Add(48 * time.Hour), t0.Add(96 * time.Hour)},
		{"fixed window without a start", shanghai, coupon.Validity{To: t0.Add(96 * time.Hour)}, t0,
			t0, t0.Add(96 * time.Hour)},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(o *coupon.Options) { o.Location = c.loc })
			e.clock.Set(c.now)
			e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), Validity: c.validity})
			cp := e.claim(t, "u1", "c")
			assert.True(t, c.from.Equal(cp.ValidFrom), "from %s, want %s", cp.ValidFrom, c.from)
			assert.True(t, c.to.Equal(cp.ValidTo), "to %s, want %s", cp.ValidTo, c.to)
			assert.Equal(t, coupon.StateAvailable, cp.State)
			assert.True(t, cp.Claimed)
			assert.Equal(t, "claim", cp.Source)
		})
	}
}

func TestClaim(t *testing.T) {
	req := func(cust scrm.CustomerID, key string) coupon.ClaimRequest {
		return coupon.ClaimRequest{Tenant: tenant, Customer: cust, Template: "c", IdempotencyKey: key, Channel: "miniprogram"}
	}

	t.Run("replay", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), ClaimTo: t0.Add(time.Hour)})
		first, err := e.svc.Claim(ctx, req("u1", "k1"))
		require.NoError(t, err)
		assert.Equal(t, "miniprogram", first.Channel)
		e.clock.Advance(2 * time.Hour) // the claim window has closed since
		again, err := e.svc.Claim(ctx, req("u1", "k1"))
		require.NoError(t, err, "a replay returns the original even when a new claim would be refused")
		assert.Equal(t, first.ID, again.ID)
		_, err = e.svc.Claim(ctx, req("u2", "k1"))
		assert.ErrorIs(t, err, scrm.ErrConflict, "the key with another customer")
		st, err := e.svc.Stats(ctx, tenant, "c")
		require.NoError(t, err)
		assert.Equal(t, int64(1), st.Issued)
		assert.Equal(t, int64(1), st.Claimed)
		assert.Len(t, e.events.ofType(coupon.EventIssued), 2, "a replay publishes again, with the same ID")
		assert.Equal(t, "coupon.issued:"+first.ID, e.events.ofType(coupon.EventIssued)[1].ID)
	})

	t.Run("claim window and validity", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), ClaimFrom: t0.Add(time.Hour)})
		_, err := e.svc.Claim(ctx, req("u1", "k1"))
		assert.ErrorIs(t, err, scrm.ErrExpired, "before the claim window")
		e.put(t, coupon.Template{ID: "w", Kind: coupon.KindCash, Amount: yuan("5"), Validity: coupon.Validity{To: t0}})
		_, err = e.svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: "w", IdempotencyKey: "k2"})
		assert.ErrorIs(t, err, scrm.ErrExpired, "the template's window has ended")
		_, err = e.svc.Issue(ctx, coupon.IssueRequest{Tenant: tenant, Customer: "u1", Template: "w", IdempotencyKey: "k3"})
		assert.ErrorIs(t, err, scrm.ErrExpired, "issuing a coupon born expired")
		_, err = e.svc.Issue(ctx, coupon.IssueRequest{Tenant: tenant, Customer: "u1", Template: "c", IdempotencyKey: "k4"})
		require.NoError(t, err, "the system may issue outside the claim window")
	})

	t.Run("paid voucher", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("50"), Price: yuan("9.90")})
		_, err := e.svc.Claim(ctx, req("u1", "k1"))
		assert.ErrorIs(t, err, scrm.ErrForbidden)
		cs, err := e.svc.Issue(ctx, coupon.IssueRequest{Tenant: tenant, Customer: "u1", Template: "c", IdempotencyKey: "buy-o1", Source: "purchase:o1"})
		require.NoError(t, err)
		assert.Equal(t, "purchase:o1", cs[0].Source)
		assert.False(t, cs[0].Claimed)
	})

	t.Run("audience", func(t *testing.T) {
		e := newEnv(t)
		aud := rule.All(rule.HasTag("vip"), rule.Event(scrm.EventOrderPaid).Within(30*24*time.Hour).CountGte(1))
		e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), Audience: &aud})
		_, err := e.svc.Claim(ctx, req("u1", "k1"))
		assert.ErrorIs(t, err, scrm.ErrForbidden, "no profile: not in the audience")
		profiles := scrm.NewProfiles(e.profiles, nil)
		require.NoError(t, profiles.Handle(ctx, scrm.Event{ID: "e1", Tenant: tenant, Customer: "u1", Type: scrm.EventOrderPaid,
			Time: t0.Add(-24 * time.Hour), Amount: yuan("99")}))
		_, err = profiles.Update(ctx, tenant, "u1", func(p *scrm.Profile) error {
			p.SetTag("vip", scrm.TagMark{At: t0})
			return nil
		})
		require.NoError(t, err)
		_, err = e.svc.Claim(ctx, req("u1", "k2"))
		require.NoError(t, err)
		_, err = e.svc.Issue(ctx, coupon.IssueRequest{Tenant: tenant, Customer: "u2", Template: "c", IdempotencyKey: "k3"})
		require.NoError(t, err, "Issue skips the audience")
		_, err = e.svc.Issue(ctx, coupon.IssueRequest{Tenant: tenant, Customer: "u2", Template: "c", IdempotencyKey: "k4", CheckAudience: true})
		assert.ErrorIs(t, err, scrm.ErrForbidden, "unless asked")

		// A merged customer is judged by the survivor's profile.
		require.NoError(t, profiles.Handle(ctx, scrm.MergeEvent(tenant, "u3", "u1", t0)))
		_, err = e.svc.Claim(ctx, req("u3", "k5"))
		require.NoError(t, err)
	})

	t.Run("limits", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), Stock: 3, PerCustomer: 2, PerCustomerPerDay: 1})
		_, err := e.svc.Claim(ctx, req("u1", "k1"))
		require.NoError(t, err)
		_, err = e.svc.Claim(ctx, req("u1", "k2"))
		assert.ErrorIs(t, err, scrm.ErrExhausted)
		assert.Equal(t, "PerCustomerPerDay", fieldOf(err))

		// 23:59 is the same local day; 00:00 is the next one.
		e.clock.Set(time.Date(2026, 3, 1, 23, 59, 0, 0, shanghai))
		_, err = e.svc.Claim(ctx, req("u1", "k3"))
		assert.ErrorIs(t, err, scrm.ErrExhausted)
		e.clock.Set(time.Date(2026, 3, 2, 0, 0, 0, 0, shanghai))
		_, err = e.svc.Claim(ctx, req("u1", "k4"))
		require.NoError(t, err)

		e.clock.Advance(24 * time.Hour)
		_, err = e.svc.Claim(ctx, req("u1", "k5"))
		assert.ErrorIs(t, err, scrm.ErrExhausted)
		assert.Equal(t, "PerCustomer", fieldOf(err))
		_, err = e.svc.Claim(ctx, req("u2", "k6"))
		require.NoError(t, err)
		_, err = e.svc.Claim(ctx, req("u3", "k7"))
		assert.ErrorIs(t, err, scrm.ErrExhausted)
		assert.Equal(t, "Stock", fieldOf(err))
	})

	t.Run("bad input", func(t *testing.T) {
		e := newEnv(t)
		e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5")})
		for _, c := range []struct {
			req   coupon.ClaimRequest
			want  error
			field string
		}{
			{coupon.ClaimRequest{Customer: "u1", Template: "c", IdempotencyKey: "k"}, scrm.ErrInvalid, "Tenant"},
			{coupon.ClaimRequest{Tenant: tenant, Template: "c", IdempotencyKey: "k"}, scrm.ErrInvalid, "Customer"},
			{coupon.ClaimRequest{Tenant: tenant, Customer: "u1", IdempotencyKey: "k"}, scrm.ErrInvalid, "Template"},
			{coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: "c"}, scrm.ErrInvalid, "IdempotencyKey"},
			{coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: "nope", IdempotencyKey: "k"}, scrm.ErrNotFound, ""},
			{coupon.ClaimRequest{Tenant: "other", Customer: "u1", Template: "c", IdempotencyKey: "k"}, scrm.ErrNotFound, ""},
		} {
			_, err := e.svc.Claim(ctx, c.req)
			assert.ErrorIs(t, err, c.want)
			assert.Equal(t, c.field, fieldOf(err))
		}
		st, err := e.svc.Stats(ctx, tenant, "c")
		require.NoError(t, err)
		assert.Zero(t, st.Issued)
	})
}

func TestIssueAndGrant(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), PerCustomer: 3})
	cs, err := e.svc.Issue(ctx, coupon.IssueRequest{Tenant: tenant, Customer: "u1", Template: "c", IdempotencyKey: "k1", Count: 2, Source: "sop:welcome"})
	require.NoError(t, err)
	require.Len(t, cs, 2)
	_, err = e.svc.Issue(ctx, coupon.IssueRequest{Tenant: tenant, Customer: "u1", Template: "c", IdempotencyKey: "k2", Count: 2})
	assert.ErrorIs(t, err, scrm.ErrExhausted, "2 + 2 > 3: all or none")
	_, err = e.svc.Issue(ctx, coupon.IssueRequest{Tenant: tenant, Customer: "u1", Template: "c", IdempotencyKey: "k3", Count: 101})
	assert.ErrorIs(t, err, scrm.ErrInvalid)

	var r scrm.Rewarder = e.svc
	router := scrm.NewRewardRouter()
	router.Route(scrm.RewardCoupon, r)
	g := scrm.Grant{Tenant: tenant, Customer: "u2", Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "c", Count: 2},
		IdempotencyKey: "referral:r1:u2", Source: "referral:r1"}
	require.NoError(t, router.Grant(ctx, g))
	require.NoError(t, router.Grant(ctx, g), "a grant happens at most once")
	wallet, err := e.svc.Wallet(ctx, tenant, "u2")
	require.NoError(t, err)
	assert.Len(t, wallet, 2)
	assert.Equal(t, "referral:r1", wallet[0].Source)

	g2 := g
	g2.Reward.Count = 1
	assert.ErrorIs(t, router.Grant(ctx, g2), scrm.ErrConflict, "same key, other reward")
	g3 := g
	g3.Reward.Kind = scrm.RewardPoints
	assert.ErrorIs(t, e.svc.Grant(ctx, g3), scrm.ErrInvalid)
	g4 := g
	g4.Reward.Template, g4.IdempotencyKey = "", "other"
	assert.ErrorIs(t, e.svc.Grant(ctx, g4), scrm.ErrInvalid)
}

func TestIssueBatch(t *testing.T) {
	e := newEnv(t)
	aud := rule.HasTag("vip")
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), Stock: 4, PerCustomer: 1})
	e.put(t, coupon.Template{ID: "vip", Kind: coupon.KindCash, Amount: yuan("5"), Audience: &aud})
	e.claim(t, "u2", "c") // u2 already has one

	req := coupon.BatchRequest{Tenant: tenant, Template: "c", IdempotencyKey: "march-push",
		Customers: []scrm.CustomerID{"u1", "u2", "u3", "u1", "", "u4", "u5", "u6"}}
	res, err := e.svc.IssueBatch(ctx, req)
	require.NoError(t, err)
	issued := map[scrm.CustomerID]bool{}
	for _, i := range res.Issued {
		issued[i.Customer] = true
		assert.False(t, i.Replayed)
	}
	assert.Equal(t, map[scrm.CustomerID]bool{"u1": true, "u3": true, "u4": true}, issued, "stock 4, one already claimed")
	skipped := map[scrm.CustomerID]coupon.Reason{}
	for _, s := range res.Skipped {
		skipped[s.Customer] = s.Reason
		assert.NotEmpty(t, s.Message)
	}
	assert.Equal(t, map[scrm.CustomerID]coupon.Reason{"u2": coupon.ReasonPerCustomer, "u1": coupon.ReasonDuplicate,
		"": coupon.ReasonInvalid, "u5": coupon.ReasonStock, "u6": coupon.ReasonStock}, skipped)

	// Resuming the same batch issues nothing new and reports what it did.
	again, err := e.svc.IssueBatch(ctx, req)
	require.NoError(t, err)
	require.Len(t, again.Issued, 3)
	for k, i := range again.Issued {
		assert.True(t, i.Replayed)
		assert.Equal(t, res.Issued[k].Coupon, i.Coupon)
	}
	st, err := e.svc.Stats(ctx, tenant, "c")
	require.NoError(t, err)
	assert.Equal(t, int64(4), st.Issued)

	vip, err := e.svc.IssueBatch(ctx, coupon.BatchRequest{Tenant: tenant, Template: "vip", IdempotencyKey: "b2",
		Customers: []scrm.CustomerID{"u1"}, CheckAudience: true})
	require.NoError(t, err)
	require.Len(t, vip.Skipped, 1)
	assert.Equal(t, coupon.ReasonAudience, vip.Skipped[0].Reason)

	_, err = e.svc.IssueBatch(ctx, coupon.BatchRequest{Tenant: tenant, Template: "nope", IdempotencyKey: "b3", Customers: []scrm.CustomerID{"u1"}})
	assert.ErrorIs(t, err, scrm.ErrNotFound, "a missing template stops the batch")

	cancelled, cancel := contextWithCancel()
	cancel()
	_, err = e.svc.IssueBatch(cancelled, coupon.BatchRequest{Tenant: tenant, Template: "vip", IdempotencyKey: "b4", Customers: []scrm.CustomerID{"u9"}})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)

	many := make([]scrm.CustomerID, coupon.MaxBatch+1)
	for i := range many {
		many[i] = scrm.CustomerID(fmt.Sprint(i))
	}
	_, err = e.svc.IssueBatch(ctx, coupon.BatchRequest{Tenant: tenant, Template: "c", IdempotencyKey: "b5", Customers: many})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
}
