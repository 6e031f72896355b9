package coupon_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

// cart3 has three lines: tea 30.00×2, cake 45.50×1, cup 19.90×3 (165.20),
// and 8.00 shipping.
func cart3() coupon.Cart {
	return coupon.Cart{Tenant: tenant, Customer: "u1", OrderID: "o1", Store: "s1", Channel: "miniprogram",
		Items:    []coupon.Item{item("tea", "drink", "30.00", 2), item("cake", "food", "45.50", 1), item("cup", "goods", "19.90", 3)},
		Shipping: yuan("8.00")}
}

// offer makes an available coupon id of template tp for u1, valid around t0.
func offer(id string, tp coupon.Template) coupon.Offer {
	tp.Tenant = tenant
	if tp.ID == "" {
		tp.ID = "t-" + id
	}
	if tp.Validity == (coupon.Validity{}) {
		tp.Validity = coupon.Validity{Days: 30}
	}
	return coupon.Offer{Template: tp, Coupon: coupon.Coupon{Tenant: tenant, ID: id, Template: tp.ID, Customer: "u1",
		State: coupon.StateAvailable, ValidFrom: t0.Add(-time.Hour), ValidTo: t0.Add(7 * 24 * time.Hour)}}
}

func cash(amount string) coupon.Template {
	return coupon.Template{Kind: coupon.KindCash, Amount: yuan(amount)}
}

func threshold(min, amount string) coupon.Template {
	return coupon.Template{Kind: coupon.KindThreshold, MinSpend: yuan(min), Amount: yuan(amount)}
}

func percent(rate, capAmount string) coupon.Template {
	return coupon.Template{Kind: coupon.KindPercent, Rate: yuan(rate), Cap: yuan(capAmount)}
}

func shares(a coupon.Applied) []string {
	out := make([]string, 0, len(a.Lines))
	for _, s := range a.Lines {
		out = append(out, fmt.Sprintf("%d:%s", s.Line, s.Discount.StringFixed(2)))
	}
	return out
}

func TestEvaluateKinds(t *testing.T) {
	every := threshold("50.00", "10.00")
	every.Every, every.MaxTimes = true, 2
	everyNoCap := threshold("50.00", "10.00")
	everyNoCap.Every = true
	drinks := threshold("100.00", "20.00")
	drinks.Scope.Categories = []string{"drink"}
	units := percent("0.85", "0")
	units.MaxUnits, units.Scope.Categories = 2, []string{"drink", "goods"}
	shipCap := coupon.Template{Kind: coupon.KindFreeShipping, Cap: yuan("5.00")}
	excl := cash("10.00")
	excl.Scope.ExcludeProducts = []string{"tea"}
	pcts := percent("0.8", "0")
	pcts.Scope.Products = []string{"cup"}

	for _, c := range []struct {
		name   string
		tp     coupon.Template
		cart   func(*coupon.Cart)
		want   string   // discount
		shares []string // line:share
		reason coupon.Reason
	}{
		{name: "cash spread by remaining amount, remainder to the largest line",
			tp: cash("10.00"), want: "10.00", shares: []string{"0:3.64", "1:2.75", "2:3.61"}},
		{name: "cash capped by the cart", tp: cash("500.00"), want: "165.20", shares: []string{"0:60.00", "1:45.50", "2:59.70"}},
		{name: "cash excluding a product", tp: excl, want: "10.00", shares: []string{"1:4.33", "2:5.67"}},
		{name: "threshold met", tp: threshold("100.00", "20.00"), want: "20.00", shares: []string{"0:7.26", "1:5.51", "2:7.23"}},
		{name: "threshold on a category not met", tp: drinks, reason: coupon.ReasonMinSpend},
		{name: "every 50 off 10, at most twice", tp: every, want: "20.00"},
		{name: "every 50 off 10, no cap", tp: everyNoCap, want: "30.00"},
		{name: "percent", tp: percent("0.8", "0"), want: "33.04"},
		{name: "percent with a cap", tp: percent("0.8", "30.00"), want: "30.00"},
		{name: "percent on one product", tp: pcts, want: "11.94", shares: []string{"2:11.94"}},
		{name: "percent on the two dearest units", tp: units, want: "9.00", shares: []string{"0:9.00"}},
		{name: "percent on two units of a cheaper line", tp: units,
			cart: func(c *coupon.Cart) { c.Items[0].Quantity = 1 }, want: "7.49", shares: []string{"0:4.50", "2:2.99"}},
		{name: "free shipping", tp: coupon.Template{Kind: coupon.KindFreeShipping}, want: "8.00"},
		{name: "free shipping capped", tp: shipCap, want: "5.00"},
		{name: "free shipping without shipping", tp: coupon.Template{Kind: coupon.KindFreeShipping},
			cart: func(c *coupon.Cart) { c.Shipping = decimal.Zero }, reason: coupon.ReasonNoDiscount},
		{name: "gift", tp: coupon.Template{Kind: coupon.KindGift, GiftSKU: "cake"}, want: "45.50", shares: []string{"1:45.50"}},
		{name: "gift of one unit of several", tp: coupon.Template{Kind: coupon.KindGift, GiftSKU: "cup"}, want: "19.90", shares: []string{"2:19.90"}},
		{name: "gift not in the cart", tp: coupon.Template{Kind: coupon.KindGift, GiftSKU: "pen"}, reason: coupon.ReasonGiftMissing},
	} {
		t.Run(c.name, func(t *testing.T) {
			cart := cart3()
			if c.cart != nil {
				c.cart(&cart)
			}
			q, err := coupon.Evaluate(cart, []coupon.Offer{offer("a", c.tp)}, t0)
			require.NoError(t, err)
			if c.reason != "" {
				require.Len(t, q.Rejected, 1)
				assert.Equal(t, c.reason, q.Rejected[0].Reason, q.Rejected[0].Message)
				assert.Empty(t, q.Applied)
				assertMoney(t, "0", q.Discount)
				return
			}
			require.Empty(t, q.Rejected)
			require.Len(t, q.Applied, 1)
			assertMoney(t, c.want, q.Discount)
			assertMoney(t, c.want, q.Applied[0].Discount)
			if c.shares != nil {
				assert.Equal(t, c.shares, shares(q.Applied[0]))
			}
			assertConsistent(t, cart, q)
		})
	}
}

func TestEvaluateCombination(t *testing.T) {
	// gift → cash → percent (on what is left) → free shipping, whatever
	// the order given.
	gift := coupon.Template{Kind: coupon.KindGift, GiftSKU: "cake"}
	offers := []coupon.Offer{offer("ship", coupon.Template{Kind: coupon.KindFreeShipping}), offer("pct", percent("0.9", "0")),
		offer("cash", cash("10.00")), offer("gift", gift)}
	q, err := coupon.Evaluate(cart3(), offers, t0)
	require.NoError(t, err)
	require.Empty(t, q.Rejected)
	assert.Equal(t, []string{"gift", "cash", "pct", "ship"}, q.Coupons())
	assertMoney(t, "45.50", q.Applied[0].Discount)
	assertMoney(t, "10.00", q.Applied[1].Discount)
	assert.Equal(t, []string{"0:5.01", "2:4.99"}, shares(q.Applied[1]), "the gift line has nothing left")
	assertMoney(t, "10.97", q.Applied[2].Discount, "10% of 109.70 left")
	assert.Equal(t, []string{"0:5.50", "2:5.47"}, shares(q.Applied[2]))
	assertMoney(t, "8.00", q.Applied[3].Discount)
	assertMoney(t, "8.00", q.Applied[3].Shipping)
	assertMoney(t, "66.47", q.ItemDiscount)
	assertMoney(t, "8.00", q.ShippingDiscount)
	assertMoney(t, "74.47", q.Discount)
	assertMoney(t, "98.73", q.Payable)
	assertConsistent(t, cart3(), q)

	// Within a kind the narrower scope applies first, so order does not
	// matter: a 15.00 coupon on tea and a 50.00 storewide one.
	tea := cash("15.00")
	tea.Scope.Products = []string{"tea"}
	wide := threshold("100.00", "50.00")
	for _, order := range [][]coupon.Offer{{offer("tea", tea), offer("wide", wide)}, {offer("wide", wide), offer("tea", tea)}} {
		q, err := coupon.Evaluate(cart3(), order, t0)
		require.NoError(t, err)
		assert.Equal(t, []string{"tea", "wide"}, q.Coupons())
		assertMoney(t, "65.00", q.Discount)
	}
}

func TestEvaluateNeverNegative(t *testing.T) {
	cart := cart3()
	offers := []coupon.Offer{offer("gift", coupon.Template{Kind: coupon.KindGift, GiftSKU: "cake"}), offer("c1", cash("200.00")),
		offer("c2", threshold("10.00", "9.00")), offer("p", percent("0.01", "0")), offer("s", coupon.Template{Kind: coupon.KindFreeShipping})}
	q, err := coupon.Evaluate(cart, offers, t0)
	require.NoError(t, err)
	assertMoney(t, "0", q.Payable)
	assert.Equal(t, []string{"gift", "c1", "s"}, q.Coupons())
	require.Len(t, q.Rejected, 2)
	for _, r := range q.Rejected {
		assert.Equal(t, coupon.ReasonNoDiscount, r.Reason, "%s: nothing left to take", r.Coupon)
	}
	for _, l := range q.Lines {
		assertMoney(t, "0", l.Payable(), "line %d", l.Index)
	}
	assertConsistent(t, cart, q)
}

func TestEvaluateRejections(t *testing.T) {
	now := t0
	mod := func(o coupon.Offer, f func(*coupon.Offer)) coupon.Offer { f(&o); return o }
	drinks := threshold("100.00", "20.00")
	drinks.Scope.Categories = []string{"drink"}
	pens := cash("5.00")
	pens.Scope.Products = []string{"pen"}
	inStore := cash("5.00")
	inStore.Scope.Stores = []string{"s9"}
	onApp := cash("5.00")
	onApp.Scope.Channels = []string{"app"}
	budget := cash("10.00")
	budget.Budget = yuan("1000.00")
	for _, c := range []struct {
		name      string
		offer     coupon.Offer
		reason    coupon.Reason
		shortfall string
	}{
		{"not started", mod(offer("a", cash("5.00")), func(o *coupon.Offer) { o.Coupon.ValidFrom = now.Add(time.Hour) }), coupon.ReasonNotStarted, ""},
		{"expired by time", mod(offer("a", cash("5.00")), func(o *coupon.Offer) { o.Coupon.ValidTo = now }), coupon.ReasonExpired, ""},
		{"expired by sweep", mod(offer("a", cash("5.00")), func(o *coupon.Offer) { o.Coupon.State = coupon.StateExpired }), coupon.ReasonExpired, ""},
		{"redeemed", mod(offer("a", cash("5.00")), func(o *coupon.Offer) { o.Coupon.State, o.Coupon.Order = coupon.StateRedeemed, "o0" }), coupon.ReasonRedeemed, ""},
		{"locked by another order", mod(offer("a", cash("5.00")), func(o *coupon.Offer) { o.Coupon.State, o.Coupon.Order = coupon.StateLocked, "o0" }), coupon.ReasonLocked, ""},
		{"revoked", mod(offer("a", cash("5.00")), func(o *coupon.Offer) { o.Coupon.State = coupon.StateRevoked }), coupon.ReasonRevoked, ""},
		{"audience", mod(offer("a", cash("5.00")), func(o *coupon.Offer) { o.OutOfAudience = true }), coupon.ReasonAudience, ""},
		{"min spend", offer("a", drinks), coupon.ReasonMinSpend, "40.00"},
		{"out of scope", offer("a", pens), coupon.ReasonOutOfScope, ""},
		{"store", offer("a", inStore), coupon.ReasonStore, ""},
		{"channel", offer("a", onApp), coupon.ReasonChannel, ""},
		{"budget", mod(offer("a", budget), func(o *coupon.Offer) { o.BudgetLeft = yuan("9.99") }), coupon.ReasonBudget, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := coupon.Evaluate(cart3(), []coupon.Offer{c.offer}, now)
			require.NoError(t, err)
			require.Len(t, q.Rejected, 1)
			r := q.Rejected[0]
			assert.Equal(t, c.reason, r.Reason)
			assert.Equal(t, "a", r.Coupon)
			assert.NotEmpty(t, r.Message)
			if c.shortfall != "" {
				assertMoney(t, c.shortfall, r.Shortfall)
				assert.Contains(t, r.Message, c.shortfall)
			}
			assert.Empty(t, q.Applied)
			assertMoney(t, "173.20", q.Payable)
		})
	}

	t.Run("locked by this order", func(t *testing.T) {
		o := mod(offer("a", cash("5.00")), func(o *coupon.Offer) { o.Coupon.State, o.Coupon.Order = coupon.StateLocked, "o1" })
		q, err := coupon.Evaluate(cart3(), []coupon.Offer{o}, now)
		require.NoError(t, err)
		assert.Empty(t, q.Rejected, "quoting the order a coupon is locked to again")
		assertMoney(t, "5.00", q.Discount)
	})

	t.Run("two coupons of one template", func(t *testing.T) {
		a, b := offer("a", budget), offer("b", budget)
		b.Template, b.Coupon.Template = a.Template, a.Template.ID
		a.BudgetLeft, b.BudgetLeft = yuan("15.00"), yuan("15.00")
		q, err := coupon.Evaluate(cart3(), []coupon.Offer{a, b}, now)
		require.NoError(t, err)
		assert.Equal(t, []string{"a"}, q.Coupons())
		require.Len(t, q.Rejected, 1, "one template is one stack group")
		assert.Equal(t, coupon.ReasonStacking, q.Rejected[0].Reason)
	})
}

func TestEvaluateStacking(t *testing.T) {
	excl := cash("20.00")
	excl.Exclusive = true
	grouped := percent("0.9", "0")
	grouped.StackGroup = "promo"
	grouped2 := threshold("100.00", "10.00")
	grouped2.StackGroup = "promo"
	for _, c := range []struct {
		name     string
		offers   []coupon.Offer
		applied  []string
		rejected map[string]string // coupon → the coupon it conflicts with
	}{
		{"one per kind by default", []coupon.Offer{offer("a", cash("5.00")), offer("b", cash("6.00")), offer("c", threshold("100.00", "10.00"))},
			[]string{"a", "c"}, map[string]string{"b": "a"}},
		{"exclusive first wins", []coupon.Offer{offer("x", excl), offer("a", cash("5.00")), offer("p", percent("0.9", "0"))},
			[]string{"x"}, map[string]string{"a": "x", "p": "x"}},
		{"exclusive after another loses", []coupon.Offer{offer("a", cash("5.00")), offer("x", excl)},
			[]string{"a"}, map[string]string{"x": "a"}},
		{"custom group across kinds", []coupon.Offer{offer("g1", grouped), offer("g2", grouped2), offer("a", cash("5.00"))},
			[]string{"a", "g1"}, map[string]string{"g2": "g1"}},
		{"a rejected coupon does not hold its group", []coupon.Offer{offer("big", threshold("1000.00", "100.00")), offer("c", threshold("100.00", "10.00"))},
			[]string{"c"}, map[string]string{}},
		{"the same coupon twice", []coupon.Offer{offer("a", cash("5.00")), offer("a", cash("5.00"))},
			[]string{"a"}, map[string]string{"a": ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := coupon.Evaluate(cart3(), c.offers, t0)
			require.NoError(t, err)
			assert.Equal(t, c.applied, q.Coupons())
			got := map[string]string{}
			for _, r := range q.Rejected {
				switch r.Reason {
				case coupon.ReasonStacking, coupon.ReasonDuplicate:
					got[r.Coupon] = r.Other
				case coupon.ReasonMinSpend:
				default:
					t.Errorf("unexpected rejection %+v", r)
				}
			}
			assert.Equal(t, c.rejected, got)
		})
	}
}

func TestEvaluateAllocation(t *testing.T) {
	// 10.00 over three equal lines: 3.33 each and the odd fen to the first
	// of the largest.
	cart := coupon.Cart{Tenant: tenant, Customer: "u1", Items: []coupon.Item{item("a", "", "5.00", 1), item("b", "", "5.00", 1), item("c", "", "5.00", 1)}}
	q, err := coupon.Evaluate(cart, []coupon.Offer{offer("x", cash("10.00"))}, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"0:3.34", "1:3.33", "2:3.33"}, shares(q.Applied[0]))

	// Rounding up on many lines can overshoot; the excess comes off the
	// largest line. 0.05 over a 1.00 line and six 0.01 lines.
	cart.Items = []coupon.Item{item("big", "", "1.00", 1)}
	for i := range 6 {
		cart.Items = append(cart.Items, item(fmt.Sprint("s", i), "", "0.01", 1))
	}
	q, err = coupon.Evaluate(cart, []coupon.Offer{offer("x", cash("0.05"))}, t0)
	require.NoError(t, err)
	assertConsistent(t, cart, q)
	assertMoney(t, "0.05", q.Discount)
}

func TestEvaluateErrors(t *testing.T) {
	good := offer("a", cash("5.00"))
	for _, c := range []struct {
		name  string
		cart  func(*coupon.Cart)
		offer func(*coupon.Offer)
		want  error
		field string
	}{
		{"empty cart", func(c *coupon.Cart) { c.Items = nil }, nil, scrm.ErrInvalid, "Items"},
		{"negative price", func(c *coupon.Cart) { c.Items[1].Price = yuan("-1.00") }, nil, scrm.ErrInvalid, "Items[1].Price"},
		{"sub-fen price", func(c *coupon.Cart) { c.Items[1].Price = yuan("1.001") }, nil, scrm.ErrInvalid, "Items[1].Price"},
		{"zero quantity", func(c *coupon.Cart) { c.Items[2].Quantity = 0 }, nil, scrm.ErrInvalid, "Items[2].Quantity"},
		{"negative quantity", func(c *coupon.Cart) { c.Items[2].Quantity = -1 }, nil, scrm.ErrInvalid, "Items[2].Quantity"},
		{"missing SKU", func(c *coupon.Cart) { c.Items[0].SKU = "" }, nil, scrm.ErrInvalid, "Items[0].SKU"},
		{"negative shipping", func(c *coupon.Cart) { c.Shipping = yuan("-8") }, nil, scrm.ErrInvalid, "Shipping"},
		{"missing customer", func(c *coupon.Cart) { c.Customer = "" }, nil, scrm.ErrInvalid, "Customer"},
		{"another customer's coupon", nil, func(o *coupon.Offer) { o.Coupon.Customer = "u2" }, scrm.ErrForbidden, ""},
		{"another tenant's coupon", nil, func(o *coupon.Offer) { o.Coupon.Tenant = "other" }, scrm.ErrInvalid, "Offers[0]"},
		{"a bad template", nil, func(o *coupon.Offer) { o.Template.Amount = yuan("-5") }, scrm.ErrInvalid, "Amount"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cart, o := cart3(), good
			if c.cart != nil {
				c.cart(&cart)
			}
			if c.offer != nil {
				c.offer(&o)
			}
			_, err := coupon.Evaluate(cart, []coupon.Offer{o}, t0)
			assert.ErrorIs(t, err, c.want)
			if c.field != "" {
				assert.Equal(t, c.field, fieldOf(err))
			}
		})
	}
}

// assertConsistent checks the invariants of every quote: nothing negative,
// line discounts add up, each coupon's shares add up to its discount, and
// payable = subtotal + shipping - discount.
func assertConsistent(t *testing.T, cart coupon.Cart, q coupon.Quote) {
	t.Helper()
	require.Len(t, q.Lines, len(cart.Items))
	lineSum := decimal.Zero
	perLine := make([]decimal.Decimal, len(cart.Items))
	for i := range perLine {
		perLine[i] = decimal.Zero
	}
	applied := decimal.Zero
	ship := decimal.Zero
	for _, a := range q.Applied {
		sum := a.Shipping
		for _, s := range a.Lines {
			assert.True(t, s.Discount.IsPositive(), "share %v", s)
			perLine[s.Line] = perLine[s.Line].Add(s.Discount)
			sum = sum.Add(s.Discount)
		}
		assert.True(t, sum.Equal(a.Discount), "coupon %s: shares %s != discount %s", a.Coupon, sum, a.Discount)
		assert.True(t, a.Discount.IsPositive())
		applied = applied.Add(a.Discount)
		ship = ship.Add(a.Shipping)
	}
	for i, l := range q.Lines {
		amount := cart.Items[i].Price.Mul(decimal.NewFromInt(int64(cart.Items[i].Quantity)))
		assert.True(t, l.Amount().Equal(amount))
		assert.True(t, l.Price.Equal(cart.Items[i].Price))
		assert.True(t, l.Discount.Equal(perLine[i]), "line %d: %s != %s", i, l.Discount, perLine[i])
		assert.False(t, l.Payable().IsNegative(), "line %d payable %s", i, l.Payable())
		assert.False(t, l.Discount.GreaterThan(l.Amount()), "line %d", i)
		assert.True(t, scrm.IsFen(l.Discount))
		lineSum = lineSum.Add(l.Discount)
	}
	assert.True(t, lineSum.Equal(q.ItemDiscount), "items %s != %s", lineSum, q.ItemDiscount)
	assert.True(t, ship.Equal(q.ShippingDiscount))
	assert.True(t, applied.Equal(q.Discount))
	assert.True(t, q.ItemDiscount.Add(q.ShippingDiscount).Equal(q.Discount))
	assert.False(t, q.Payable.IsNegative())
	assert.True(t, q.Payable.Equal(q.Subtotal.Add(q.Shipping).Sub(q.Discount)))
	assert.False(t, q.ShippingDiscount.GreaterThan(q.Shipping))
}

// A coupon dropped while applying (its budget ran short, or it takes
// nothing off this cart) blocks nothing: the coupons its stacking would
// have rejected are stacked without it. An exclusive coupon listed first
// whose budget had run out used to leave the order with no discount at all.
func TestEvaluateDroppedCouponBlocksNothing(t *testing.T) {
	budgeted := func(id string, tp coupon.Template, left string) coupon.Offer {
		tp.Budget = yuan("1000.00")
		o := offer(id, tp)
		o.BudgetLeft = yuan(left)
		return o
	}
	excl := cash("20.00")
	excl.Exclusive = true
	exclShip := coupon.Template{Kind: coupon.KindFreeShipping, Exclusive: true}
	noShipping := cart3()
	noShipping.Shipping = decimal.Zero
	for _, c := range []struct {
		name     string
		cart     coupon.Cart
		offers   []coupon.Offer
		applied  []string
		dropped  map[string]coupon.Reason
		discount string
	}{
		{"exclusive over budget", cart3(), []coupon.Offer{budgeted("x", excl, "10.00"), offer("a", cash("5.00")), offer("p", percent("0.9", "0"))},
			[]string{"a", "p"}, map[string]coupon.Reason{"x": coupon.ReasonBudget}, "21.02"},
		{"exclusive taking nothing off", noShipping, []coupon.Offer{offer("s", exclShip), offer("a", cash("5.00"))},
			[]string{"a"}, map[string]coupon.Reason{"s": coupon.ReasonNoDiscount}, "5.00"},
		{"the group's first over budget", cart3(), []coupon.Offer{budgeted("a", cash("6.00"), "1.00"), offer("b", cash("5.00"))},
			[]string{"b"}, map[string]coupon.Reason{"a": coupon.ReasonBudget}, "5.00"},
		{"an exclusive that applies still wins", cart3(), []coupon.Offer{budgeted("x", excl, "50.00"), offer("a", cash("5.00"))},
			[]string{"x"}, map[string]coupon.Reason{"a": coupon.ReasonStacking}, "20.00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := coupon.Evaluate(c.cart, c.offers, t0)
			require.NoError(t, err)
			assert.Equal(t, c.applied, q.Coupons())
			got := map[string]coupon.Reason{}
			for _, r := range q.Rejected {
				got[r.Coupon] = r.Reason
			}
			assert.Equal(t, c.dropped, got)
			assertMoney(t, c.discount, q.Discount)
			want := q.Subtotal.Add(q.Shipping).Sub(q.Discount)
			assert.True(t, want.Equal(q.Payable), "payable %s, want %s", q.Payable, want)
		})
	}
}

// A coupon priced out only because a coupon blocked by a dropped one was
// missing gets another chance: cart ¥20.00; A (cash 5, group g, budget
// spent) and B (cash 10, group g) conflict, P is 50% off with ¥6.00 of
// budget left. B wins either way, and B + P = 10 + 5. Listed [A, B, P], P
// was priced in the first round on the cart without B (10.00 > 6.00),
// rejected for budget and never priced again: ¥10.00 off instead of ¥15.00.
func TestEvaluateDroppedBlockerRepricesTheRest(t *testing.T) {
	withBudget := func(o coupon.Offer, left string) coupon.Offer {
		o.Template.Budget = yuan("100")
		o.BudgetLeft = yuan(left)
		return o
	}
	grouped := func(tp coupon.Template) coupon.Template { tp.StackGroup = "g"; return tp }
	a := withBudget(offer("ca", grouped(cash("5"))), "0")
	b := offer("cb", grouped(cash("10")))
	p := withBudget(offer("cp", percent("0.5", "0")), "6")
	cart := coupon.Cart{Tenant: tenant, Customer: "u1", Items: []coupon.Item{item("s1", "", "20.00", 1)}}
	for _, order := range [][]coupon.Offer{{b, a, p}, {a, b, p}, {p, a, b}, {a, p, b}} {
		q, err := coupon.Evaluate(cart, order, t0)
		require.NoError(t, err)
		assertMoney(t, "15.00", q.Discount, "listed %s %s %s: rejected %+v", order[0].Coupon.ID, order[1].Coupon.ID, order[2].Coupon.ID, q.Rejected)
		assert.ElementsMatch(t, []string{"cb", "cp"}, q.Coupons())
	}
}
