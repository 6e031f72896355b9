package coupontest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

func testTemplates(t *testing.T, h harness) {
	t.Run("NotFound", func(t *testing.T) {
		s := h.newStore(t)
		_, err := s.Template(ctx, tenant, "nope")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.Stats(ctx, tenant, "nope")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := h.newStore(t)
		shanghai := time.FixedZone("CST", 8*3600)
		aud := rule.All(rule.Attr("city").In("上海", "杭州"),
			rule.Event(scrm.EventOrderPaid).Within(30*24*time.Hour).SumGte(scrm.Yuan("199.90")))
		in := coupon.Template{
			Tenant: tenant, ID: "pct", Name: "会员 85 折", Kind: coupon.KindPercent,
			MinSpend: scrm.Yuan("99.50"), Rate: scrm.Yuan("0.85"), Cap: scrm.Yuan("30.00"), MaxUnits: 3,
			Scope: coupon.Scope{Products: []string{"p1", "p2"}, Categories: []string{"tea"},
				ExcludeProducts: []string{"p9"}, Stores: []string{"s1"}, Channels: []string{"miniprogram"}},
			Validity:  coupon.Validity{Days: 7},
			ClaimFrom: time.Date(2026, 3, 1, 0, 0, 0, 0, shanghai), ClaimTo: time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai),
			Stock: 500, PerCustomer: 2, PerCustomerPerDay: 1, Budget: scrm.Yuan("10000.10"),
			Audience: &aud, RecheckAudience: true, StackGroup: "member", Price: scrm.Yuan("1.99"),
			CreatedAt: t0, UpdatedAt: t0.Add(time.Minute),
		}
		v, err := s.PutTemplate(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, int64(1), v)
		got, err := s.Template(ctx, tenant, "pct")
		require.NoError(t, err)
		assert.Equal(t, int64(1), got.Version)
		assert.Equal(t, in.Name, got.Name)
		assert.Equal(t, in.Kind, got.Kind)
		assert.True(t, in.SameTerms(got), "terms differ: %+v", got)
		assertMoney(t, "99.50", got.MinSpend)
		assertMoney(t, "0.85", got.Rate)
		assertMoney(t, "30.00", got.Cap)
		assertMoney(t, "10000.10", got.Budget)
		assertMoney(t, "1.99", got.Price)
		assert.True(t, got.Amount.IsZero())
		assert.Equal(t, in.Scope, got.Scope)
		assert.Equal(t, 7, got.Validity.Days)
		assert.True(t, got.Validity.From.IsZero() && got.Validity.To.IsZero())
		assert.WithinDuration(t, in.ClaimFrom, got.ClaimFrom, time.Millisecond)
		assert.WithinDuration(t, in.ClaimTo, got.ClaimTo, time.Millisecond)
		assert.WithinDuration(t, in.CreatedAt, got.CreatedAt, time.Millisecond)
		assert.WithinDuration(t, in.UpdatedAt, got.UpdatedAt, time.Millisecond)
		assert.Equal(t, in.Stock, got.Stock)
		assert.Equal(t, in.PerCustomer, got.PerCustomer)
		assert.Equal(t, in.PerCustomerPerDay, got.PerCustomerPerDay)
		assert.Equal(t, in.RecheckAudience, got.RecheckAudience)
		assert.Equal(t, in.StackGroup, got.StackGroup)
		require.NotNil(t, got.Audience)
		assert.Equal(t, in.Audience.String(), got.Audience.String())

		st := stats(t, s, tenant, "pct")
		assert.Equal(t, coupon.Stats{Tenant: tenant, Template: "pct"}, normStats(st))
		assert.True(t, st.Discount.IsZero() && st.Reserved.IsZero() && st.GMV.IsZero())
	})

	t.Run("VersionConflict", func(t *testing.T) {
		s := h.newStore(t)
		tp := putTemplate(t, s, cashTemplate(tenant, "c"))

		stale := cashTemplate(tenant, "c")
		stale.Name = "stale"
		_, err := s.PutTemplate(ctx, stale)
		assert.ErrorIs(t, err, scrm.ErrConflict, "version 0 when one is stored")
		stale.Version = 7
		_, err = s.PutTemplate(ctx, stale)
		assert.ErrorIs(t, err, scrm.ErrConflict, "a version ahead of the stored one")
		got, err := s.Template(ctx, tenant, "c")
		require.NoError(t, err)
		assert.Equal(t, tp.Name, got.Name, "a conflicting put must write nothing")

		got.Name = "renamed"
		v, err := s.PutTemplate(ctx, got)
		require.NoError(t, err)
		assert.Equal(t, int64(2), v)
		got, err = s.Template(ctx, tenant, "c")
		require.NoError(t, err)
		assert.Equal(t, "renamed", got.Name)
		assert.Equal(t, int64(2), got.Version)
	})

	t.Run("TemplateVersioner", func(t *testing.T) {
		s := h.newStore(t)
		tv, ok := s.(coupon.TemplateVersioner)
		if !ok {
			t.Skip("optional capability not implemented")
		}
		_, err := tv.TemplateVersion(ctx, tenant, "c")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		tp := putTemplate(t, s, cashTemplate(tenant, "c"))
		v, err := tv.TemplateVersion(ctx, tenant, "c")
		require.NoError(t, err)
		assert.Equal(t, tp.Version, v)
		tp.Name = "renamed"
		putTemplate(t, s, tp)
		v, err = tv.TemplateVersion(ctx, tenant, "c")
		require.NoError(t, err)
		assert.Equal(t, tp.Version+1, v)
		_, err = tv.TemplateVersion(ctx, "t2", "c")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("ConcurrentPutsOneWins", func(t *testing.T) {
		// 20 editors put one version of a template at once (and 20 create
		// one): exactly one put wins, the others are ErrConflict.
		s := h.newStore(t)
		putTemplate(t, s, cashTemplate(tenant, "c"))
		for _, c := range []struct {
			id      string
			version int64
		}{{"c", 1}, {"new", 0}} {
			var won atomic.Int64
			var winner atomic.Value
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tp := cashTemplate(tenant, c.id)
					tp.Version, tp.Name = c.version, fmt.Sprint("editor ", g)
					<-start
					v, err := s.PutTemplate(ctx, tp)
					if err == nil {
						won.Add(1)
						winner.Store(tp.Name)
						assert.Equal(t, c.version+1, v)
					} else {
						assert.ErrorIs(t, err, scrm.ErrConflict)
					}
				}()
			}
			close(start)
			wg.Wait()
			assert.Equal(t, int64(1), won.Load(), "template %s", c.id)
			got, err := s.Template(ctx, tenant, c.id)
			require.NoError(t, err)
			assert.Equal(t, c.version+1, got.Version)
			assert.Equal(t, winner.Load(), got.Name, "the winner's put is stored")
		}
	})

	t.Run("TermsFrozenOnceIssued", func(t *testing.T) {
		s := h.newStore(t)
		tp := putTemplate(t, s, cashTemplate(tenant, "c"))
		more := tp
		more.Amount = scrm.Yuan("20.00")
		v, err := s.PutTemplate(ctx, more)
		require.NoError(t, err, "terms may change before any coupon exists")
		more.Version = v

		issue(t, s, tenant, "c", "u1", "cp1")
		again := more
		again.Amount = scrm.Yuan("30.00")
		_, err = s.PutTemplate(ctx, again)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		got, err := s.Template(ctx, tenant, "c")
		require.NoError(t, err)
		assertMoney(t, "20.00", got.Amount)

		rename := more
		rename.Name, rename.Stock = "new name", 100
		_, err = s.PutTemplate(ctx, rename)
		require.NoError(t, err, "non-terms fields may change after issuing")
	})

	t.Run("Invalid", func(t *testing.T) {
		s := h.newStore(t)
		noTenant := cashTemplate("", "c")
		_, err := s.PutTemplate(ctx, noTenant)
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.PutTemplate(ctx, cashTemplate(tenant, ""))
		assert.ErrorIs(t, err, scrm.ErrInvalid)
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := h.newStore(t)
		aud := rule.All(rule.Attr("city").In("上海"), rule.HasTag("vip"))
		in := cashTemplate(tenant, "c")
		in.Scope.Products = []string{"p1", "p2"}
		in.Audience = &aud
		putTemplate(t, s, in)
		in.Scope.Products[0] = "mutated"
		aud.All[0].Attr = "mutated"

		got, err := s.Template(ctx, tenant, "c")
		require.NoError(t, err)
		assert.Equal(t, []string{"p1", "p2"}, got.Scope.Products)
		assert.Equal(t, "city", got.Audience.All[0].Attr)

		got.Scope.Products[1] = "mutated"
		got.Audience.All[1].Tag = "mutated"
		again, err := s.Template(ctx, tenant, "c")
		require.NoError(t, err)
		assert.Equal(t, []string{"p1", "p2"}, again.Scope.Products)
		assert.Equal(t, "vip", again.Audience.All[1].Tag)
	})
}

// normStats drops the decimals, which are compared with Equal separately.
func normStats(st coupon.Stats) coupon.Stats {
	st.Discount, st.Reserved, st.GMV = decimal.Decimal{}, decimal.Decimal{}, decimal.Decimal{}
	return st
}
