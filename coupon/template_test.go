package coupon_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

func TestTemplateValidation(t *testing.T) {
	valid := coupon.Template{Tenant: tenant, ID: "t1", Kind: coupon.KindCash, Amount: yuan("10.00"), Validity: coupon.Validity{Days: 7}}
	bad := rule.Condition{Attr: "city", Op: "gt", Value: "x"}
	for _, c := range []struct {
		name  string
		mod   func(*coupon.Template)
		field string
	}{
		{"missing tenant", func(t *coupon.Template) { t.Tenant = "" }, "Tenant"},
		{"missing ID", func(t *coupon.Template) { t.ID = "" }, "ID"},
		{"unknown kind", func(t *coupon.Template) { t.Kind = "bogo" }, "Kind"},
		{"cash without amount", func(t *coupon.Template) { t.Amount = yuan("0") }, "Amount"},
		{"negative amount", func(t *coupon.Template) { t.Amount = yuan("-1") }, "Amount"},
		{"sub-fen amount", func(t *coupon.Template) { t.Amount = yuan("1.005") }, "Amount"},
		{"absurd amount", func(t *coupon.Template) { t.Amount = yuan("1e20") }, "Amount"},
		{"percent rate 1.5", func(t *coupon.Template) { *t = percentT(t, "1.5") }, "Rate"},
		{"percent rate 1", func(t *coupon.Template) { *t = percentT(t, "1") }, "Rate"},
		{"percent rate 0", func(t *coupon.Template) { *t = percentT(t, "0") }, "Rate"},
		{"percent rate negative", func(t *coupon.Template) { *t = percentT(t, "-0.2") }, "Rate"},
		{"percent rate too precise", func(t *coupon.Template) { *t = percentT(t, "0.88888") }, "Rate"},
		{"threshold min spend equal to amount", func(t *coupon.Template) {
			t.Kind, t.MinSpend, t.Amount = coupon.KindThreshold, yuan("10"), yuan("10")
		}, "MinSpend"},
		{"threshold min spend below amount", func(t *coupon.Template) {
			t.Kind, t.MinSpend, t.Amount = coupon.KindThreshold, yuan("5"), yuan("10")
		}, "MinSpend"},
		{"threshold without min spend", func(t *coupon.Template) { t.Kind = coupon.KindThreshold }, "MinSpend"},
		{"every taking more than each step", func(t *coupon.Template) {
			t.Kind, t.MinSpend, t.Amount, t.Every = coupon.KindThreshold, yuan("10"), yuan("11"), true
		}, "Amount"},
		{"max times without every", func(t *coupon.Template) {
			t.Kind, t.MinSpend, t.MaxTimes = coupon.KindThreshold, yuan("100"), 2
		}, "MaxTimes"},
		{"every on cash", func(t *coupon.Template) { t.Every = true }, "Every"},
		{"rate on cash", func(t *coupon.Template) { t.Rate = yuan("0.5") }, "Rate"},
		{"cap on cash", func(t *coupon.Template) { t.Cap = yuan("5") }, "Cap"},
		{"gift without SKU", func(t *coupon.Template) { t.Kind, t.Amount = coupon.KindGift, yuan("0") }, "GiftSKU"},
		{"max units on free shipping", func(t *coupon.Template) {
			t.Kind, t.Amount, t.MaxUnits = coupon.KindFreeShipping, yuan("0"), 1
		}, "MaxUnits"},
		{"window ending before it starts", func(t *coupon.Template) {
			t.Validity = coupon.Validity{From: t0, To: t0.Add(-time.Hour)}
		}, "Validity.To"},
		{"window and days", func(t *coupon.Template) { t.Validity = coupon.Validity{Days: 3, To: t0} }, "Validity"},
		{"no validity", func(t *coupon.Template) { t.Validity = coupon.Validity{} }, "Validity"},
		{"negative days", func(t *coupon.Template) { t.Validity = coupon.Validity{Days: -1} }, "Validity.Days"},
		{"claim window backwards", func(t *coupon.Template) { t.ClaimFrom, t.ClaimTo = t0, t0 }, "ClaimTo"},
		{"negative stock", func(t *coupon.Template) { t.Stock = -1 }, "Stock"},
		{"negative per customer", func(t *coupon.Template) { t.PerCustomer = -1 }, "PerCustomer"},
		{"negative per day", func(t *coupon.Template) { t.PerCustomerPerDay = -1 }, "PerCustomerPerDay"},
		{"negative budget", func(t *coupon.Template) { t.Budget = yuan("-1") }, "Budget"},
		{"negative price", func(t *coupon.Template) { t.Price = yuan("-1") }, "Price"},
		{"empty product in scope", func(t *coupon.Template) { t.Scope.Products = []string{"a", ""} }, "Scope.Products[1]"},
		{"exclusive with a group", func(t *coupon.Template) { t.Exclusive, t.StackGroup = true, "g" }, "StackGroup"},
		{"recheck without audience", func(t *coupon.Template) { t.RecheckAudience = true }, "RecheckAudience"},
		{"audience that does not compile", func(t *coupon.Template) {
			c := rule.All(rule.HasTag("vip"), bad)
			t.Audience = &c
		}, "Audience.all[1].value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tp := valid
			c.mod(&tp)
			_, err := e.svc.PutTemplate(ctx, tp)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			assert.Equal(t, c.field, fieldOf(err), "%v", err)
			if tp.Tenant != "" && tp.ID != "" {
				_, err = e.svc.Template(ctx, tp.Tenant, tp.ID)
				assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
			}
		})
	}

	t.Run("message names the template and the field", func(t *testing.T) {
		tp := valid
		tp = percentT(&tp, "1.5")
		err := tp.Validate()
		assert.EqualError(t, err, `coupon template "t1": Rate: percent discount must be in (0, 1), got 1.5`)
	})
}

func percentT(t *coupon.Template, rate string) coupon.Template {
	out := *t
	out.Kind, out.Amount, out.Rate = coupon.KindPercent, yuan("0"), yuan(rate)
	return out
}

func TestPutTemplate(t *testing.T) {
	e := newEnv(t)
	tp := e.put(t, coupon.Template{ID: "c", Name: "10 off", Kind: coupon.KindCash, Amount: yuan("10.00")})
	assert.Equal(t, int64(1), tp.Version)
	assert.Equal(t, t0, tp.CreatedAt)

	e.clock.Advance(time.Hour)
	tp.Name = "十元券"
	tp, err := e.svc.PutTemplate(ctx, tp)
	require.NoError(t, err)
	assert.Equal(t, int64(2), tp.Version)
	assert.Equal(t, t0, tp.CreatedAt)
	assert.Equal(t, t0.Add(time.Hour), tp.UpdatedAt)

	stale := tp
	stale.Version = 1
	_, err = e.svc.PutTemplate(ctx, stale)
	assert.ErrorIs(t, err, scrm.ErrConflict)

	e.claim(t, "u1", "c")
	tp.Amount = yuan("20.00")
	_, err = e.svc.PutTemplate(ctx, tp)
	assert.ErrorIs(t, err, scrm.ErrConflict, "terms are frozen once coupons exist")

	got, err := e.svc.Template(ctx, tenant, "c")
	require.NoError(t, err)
	assertMoney(t, "10.00", got.Amount)
	assert.Equal(t, "十元券", got.Name)

	t.Run("audience needs profiles", func(t *testing.T) {
		svc := coupon.New(coupon.NewMemoryStore(), nil, nil)
		aud := rule.HasTag("vip")
		_, err := svc.PutTemplate(ctx, coupon.Template{Tenant: tenant, ID: "v", Kind: coupon.KindCash, Amount: yuan("1"),
			Validity: coupon.Validity{Days: 1}, Audience: &aud})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		assert.Equal(t, "Audience", fieldOf(err))
	})
}
