package coupon_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

var skus = []string{"tea", "cake", "cup", "pen", "bag", "hat"}

func randCart(r *rand.Rand, lines int) coupon.Cart {
	c := coupon.Cart{Tenant: tenant, Customer: "u1", OrderID: "o1", Shipping: scrm.FromFen(r.Int64N(3) * 500)}
	for i := range lines {
		sku := skus[r.IntN(len(skus))]
		c.Items = append(c.Items, coupon.Item{SKU: fmt.Sprintf("%s-%d", sku, i%3), Category: sku,
			Price: scrm.FromFen(r.Int64N(50000)), Quantity: 1 + r.IntN(4)})
	}
	return c
}

func randTemplate(r *rand.Rand) coupon.Template {
	fenAmt := func(max int64) decimal.Decimal { return scrm.FromFen(1 + r.Int64N(max)) }
	var t coupon.Template
	switch r.IntN(6) {
	case 0:
		t = coupon.Template{Kind: coupon.KindCash, Amount: fenAmt(20000)}
	case 1:
		amt := fenAmt(20000)
		t = coupon.Template{Kind: coupon.KindThreshold, Amount: amt, MinSpend: amt.Add(fenAmt(50000))}
	case 2:
		amt := fenAmt(5000)
		t = coupon.Template{Kind: coupon.KindThreshold, Amount: amt, MinSpend: amt.Add(fenAmt(10000)), Every: true, MaxTimes: r.IntN(4)}
	case 3:
		t = coupon.Template{Kind: coupon.KindPercent, Rate: decimal.New(1+r.Int64N(9999), -4)}
		if r.IntN(2) == 0 {
			t.Cap = fenAmt(10000)
		}
		if r.IntN(3) == 0 {
			t.MaxUnits = 1 + r.IntN(3)
		}
	case 4:
		t = coupon.Template{Kind: coupon.KindFreeShipping}
		if r.IntN(2) == 0 {
			t.Cap = fenAmt(800)
		}
	case 5:
		t = coupon.Template{Kind: coupon.KindGift, GiftSKU: fmt.Sprintf("%s-%d", skus[r.IntN(len(skus))], r.IntN(3))}
	}
	if r.IntN(3) == 0 {
		t.Scope.Categories = []string{skus[r.IntN(len(skus))], skus[r.IntN(len(skus))]}
	}
	if r.IntN(5) == 0 {
		t.Scope.ExcludeProducts = []string{fmt.Sprintf("%s-%d", skus[r.IntN(len(skus))], r.IntN(3))}
	}
	if t.Kind != coupon.KindFreeShipping && t.Kind != coupon.KindGift && r.IntN(4) == 0 {
		t.MinSpend = t.MinSpend.Add(fenAmt(30000))
	}
	switch r.IntN(6) {
	case 0:
		t.Exclusive = true
	case 1, 2:
		t.StackGroup = []string{"g1", "g2"}[r.IntN(2)]
	}
	if r.IntN(6) == 0 {
		t.Budget = fenAmt(20000)
	}
	return t
}

func randOffers(r *rand.Rand, n int) []coupon.Offer {
	offers := make([]coupon.Offer, n)
	for i := range offers {
		id := fmt.Sprintf("c%02d", i)
		o := offer(id, randTemplate(r))
		o.Coupon.ValidTo = t0.Add(time.Duration(1+r.IntN(5)) * 24 * time.Hour)
		if o.Template.Budget.IsPositive() {
			o.BudgetLeft = scrm.FromFen(r.Int64N(20000))
		}
		offers[i] = o
	}
	return offers
}

// TestEvaluateProperties checks the invariants of random carts and coupons:
// nothing negative, every split adds up exactly, and the order coupons are
// given in does not change the total when they do not conflict.
func TestEvaluateProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		cart := randCart(r, 1+r.IntN(20))
		offers := randOffers(r, 1+r.IntN(6))
		q, err := coupon.Evaluate(cart, offers, t0)
		require.NoError(t, err, "case %d", i)
		assertConsistent(t, cart, q)

		// Reversed, among the applied coupons only (no conflicts left).
		var kept []coupon.Offer
		for k := len(offers) - 1; k >= 0; k-- {
			if slices.Contains(q.Coupons(), offers[k].Coupon.ID) {
				kept = append(kept, offers[k])
			}
		}
		q2, err := coupon.Evaluate(cart, kept, t0)
		require.NoError(t, err)
		assert.True(t, q.Discount.Equal(q2.Discount), "case %d: %s reversed gives %s", i, q.Discount, q2.Discount)
		if t.Failed() {
			return
		}
	}
}

// TestSelectMatchesBruteForce compares Select with trying every combination.
func TestSelectMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		cart := randCart(r, 1+r.IntN(8))
		offers := randOffers(r, 1+r.IntN(9))
		got, err := coupon.Select(cart, offers, t0)
		require.NoError(t, err)
		assert.Empty(t, got.Rejected, "case %d", i)
		assertConsistent(t, cart, got)

		want := bruteForce(t, cart, offers)
		if !assert.True(t, want.Discount.Equal(got.Discount), "case %d: best %s %v, Select %s %v",
			i, want.Discount, want.Coupons(), got.Discount, got.Coupons()) {
			return
		}
		assert.ElementsMatch(t, want.Coupons(), got.Coupons(), "case %d: tie-break", i)
	}
}

func bruteForce(t *testing.T, cart coupon.Cart, offers []coupon.Offer) coupon.Quote {
	var best coupon.Quote
	have := false
	expiry := map[string]time.Time{}
	for _, o := range offers {
		expiry[o.Coupon.ID] = o.Coupon.ValidTo
	}
	for mask := 0; mask < 1<<len(offers); mask++ {
		var set []coupon.Offer
		for k, o := range offers {
			if mask&(1<<k) != 0 {
				set = append(set, o)
			}
		}
		q, err := coupon.Evaluate(cart, set, t0)
		require.NoError(t, err)
		if len(q.Rejected) > 0 {
			continue // the same set without the rejected coupons is tried too
		}
		if !have || better(q, best, expiry) {
			best, have = q, true
		}
	}
	return best
}

// better: more off; then expiries compared soonest first; then fewer
// coupons; then smaller IDs.
func better(a, b coupon.Quote, expiry map[string]time.Time) bool {
	if c := a.Discount.Cmp(b.Discount); c != 0 {
		return c > 0
	}
	ea, eb := expiries(a, expiry), expiries(b, expiry)
	for i := range min(len(ea), len(eb)) {
		if c := ea[i].Compare(eb[i]); c != 0 {
			return c < 0
		}
	}
	if len(ea) != len(eb) {
		return len(ea) < len(eb)
	}
	ia, ib := slices.Sorted(slices.Values(a.Coupons())), slices.Sorted(slices.Values(b.Coupons()))
	return slices.Compare(ia, ib) < 0
}

func expiries(q coupon.Quote, expiry map[string]time.Time) []time.Time {
	var ts []time.Time
	for _, id := range q.Coupons() {
		ts = append(ts, expiry[id])
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return cmp.Compare(a.UnixNano(), b.UnixNano()) })
	return ts
}

// TestRefundProperties refunds random orders in random partial steps and
// checks the refund rule after every step: a line's refunded discount is
// its discount rounded per line and cumulatively (L(u) = D × u ÷ q, half-up),
// no Amount is negative or above the units' price, no coupon part is
// negative, each coupon's parts add up exactly to its share once its line is
// refunded in full, and the templates' stats give back exactly the parts.
func TestRefundProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	// lineCum is L(u): d × u ÷ q rounded half-up, in fen.
	lineCum := func(d, u, q int64) int64 { return (2*d*u + q) / (2 * q) }
	for n := range 300 {
		e := newEnv(t)
		nCoupons := 1 + r.IntN(4)
		ids := make([]string, nCoupons)
		tmpls := make([]string, nCoupons)
		for j := range ids {
			tmpls[j] = fmt.Sprint("t", j)
			e.put(t, coupon.Template{ID: tmpls[j], Kind: coupon.KindCash, Amount: yuan("1.00")})
			ids[j] = e.claim(t, "u1", tmpls[j]).ID
		}
		cart := coupon.Cart{Tenant: tenant, Customer: "u1", OrderID: "o1"}
		nLines := 1 + r.IntN(3)
		shares := make([][]int64, nLines) // shares[i][j]: coupon j's share of line i, in fen
		for i := range nLines {
			price, qty := 1+r.Int64N(5000), 1+r.Int64N(8)
			if r.IntN(4) == 0 {
				price = 1 + r.Int64N(3)
			}
			cart.Items = append(cart.Items, coupon.Item{SKU: fmt.Sprint("sku", i), Price: scrm.FromFen(price), Quantity: int(qty)})
			d := price * qty // a free line, often
			if r.IntN(2) == 0 {
				d = r.Int64N(price*qty + 1)
			}
			// Split d among the coupons at random cut points.
			cuts := []int64{0, d}
			for range nCoupons - 1 {
				cuts = append(cuts, r.Int64N(d+1))
			}
			slices.Sort(cuts)
			shares[i] = make([]int64, nCoupons)
			for j := range nCoupons {
				shares[i][j] = cuts[j+1] - cuts[j]
			}
		}
		o := coupon.Order{Tenant: tenant, ID: "o1", Customer: "u1", State: coupon.OrderLocked, IdempotencyKey: "k",
			LockedAt: t0, Coupons: ids, Cart: cart}
		given := make([]int64, nCoupons)
		var total, subtotal int64
		for i, it := range cart.Items {
			var ld int64
			for j := range nCoupons {
				ld += shares[i][j]
			}
			o.Quote.Lines = append(o.Quote.Lines, coupon.Line{Index: i, SKU: it.SKU, Quantity: it.Quantity, Price: it.Price, Discount: scrm.FromFen(ld)})
			amount, _ := scrm.ToFen(it.Price)
			subtotal += amount * int64(it.Quantity)
			total += ld
		}
		for j, id := range ids {
			a := coupon.Applied{Coupon: id, Template: tmpls[j], Kind: coupon.KindCash}
			for i := range nLines {
				if shares[i][j] > 0 {
					a.Lines = append(a.Lines, coupon.Share{Line: i, Discount: scrm.FromFen(shares[i][j])})
					given[j] += shares[i][j]
				}
			}
			a.Discount = scrm.FromFen(given[j])
			o.Quote.Applied = append(o.Quote.Applied, a)
		}
		o.Quote.Subtotal, o.Quote.ItemDiscount, o.Quote.Discount = scrm.FromFen(subtotal), scrm.FromFen(total), scrm.FromFen(total)
		o.Quote.Payable = scrm.FromFen(subtotal - total)
		_, err := e.store.Lock(ctx, coupon.LockParams{Order: o, Fingerprint: "fp"})
		require.NoError(t, err)
		_, err = e.svc.Confirm(ctx, tenant, "o1")
		require.NoError(t, err)

		refunded := make([]int64, nLines)
		parts := make([][]int64, nLines) // parts[i][j]: coupon j's parts of line i so far
		for i := range parts {
			parts[i] = make([]int64, nCoupons)
		}
		for step := 0; ; step++ {
			var req coupon.RefundRequest
			req.Tenant, req.OrderID = tenant, "o1"
			if r.IntN(6) > 0 {
				for i, it := range cart.Items {
					if left := int64(it.Quantity) - refunded[i]; left > 0 && r.IntN(2) == 0 {
						req.Lines = append(req.Lines, coupon.RefundLine{Line: i, Quantity: 1 + r.IntN(int(left))})
					}
				}
				if len(req.Lines) == 0 {
					continue
				}
			}
			rf, err := e.svc.Refund(ctx, req)
			require.NoError(t, err, "order %d step %d", n, step)
			for _, l := range rf.Lines {
				it := cart.Items[l.Line]
				price, _ := scrm.ToFen(it.Price)
				q, prev := int64(it.Quantity), refunded[l.Line]
				after := prev + int64(l.Quantity)
				var d int64
				for j := range nCoupons {
					d += shares[l.Line][j]
				}
				at := fmt.Sprintf("order %d step %d line %d (%d of %d refunded, discount %d)", n, step, l.Line, after, q, d)
				disc, ok := scrm.ToFen(l.Discount)
				require.True(t, ok, at)
				assert.Equal(t, lineCum(d, after, q)-lineCum(d, prev, q), disc, "line discount: %s", at)
				amount, _ := scrm.ToFen(l.Amount)
				assert.GreaterOrEqual(t, amount, int64(0), "line amount: %s", at)
				assert.LessOrEqual(t, amount, price*int64(l.Quantity), "line amount: %s", at)
				assert.Equal(t, price*int64(l.Quantity)-disc, amount, at)
				var sum int64
				for _, c := range l.Coupons {
					p, _ := scrm.ToFen(c.Discount)
					assert.Positive(t, p, "coupon %s part: %s", c.Coupon, at)
					j := slices.Index(ids, c.Coupon)
					require.GreaterOrEqual(t, j, 0, at)
					parts[l.Line][j] += p
					sum += p
				}
				assert.Equal(t, disc, sum, "the coupons' parts add up to the line's: %s", at)
				refunded[l.Line] = after
				if after == q {
					assert.Equal(t, shares[l.Line], parts[l.Line], "each coupon's parts add up to its share: %s", at)
				}
			}
			for j := range nCoupons {
				var back int64
				for i := range nLines {
					back += parts[i][j]
				}
				st, err := e.svc.Stats(ctx, tenant, tmpls[j])
				require.NoError(t, err)
				assertMoney(t, scrm.FromFen(given[j]-back).StringFixed(2), st.Discount, "template %s: order %d step %d", tmpls[j], n, step)
			}
			if t.Failed() {
				return
			}
			if rf.Full {
				break
			}
		}
	}
}
