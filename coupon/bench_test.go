package coupon_test

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

// BenchmarkClaimParallel: customers claiming one template at once on the
// memory store (target: at least 300,000 claims/s).
func BenchmarkClaimParallel(b *testing.B) {
	svc := coupon.New(coupon.NewMemoryStore(), nil, &coupon.Options{Options: scrm.Options{Clock: scrm.ClockFunc(func() time.Time { return t0 })}})
	if _, err := svc.PutTemplate(ctx, coupon.Template{Tenant: tenant, ID: "flash", Kind: coupon.KindCash, Amount: yuan("5"),
		PerCustomer: 1, PerCustomerPerDay: 1, Validity: coupon.Validity{Days: 7}}); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			cust := scrm.CustomerID("u" + strconv.FormatInt(i, 10))
			if _, err := svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: cust, Template: "flash",
				IdempotencyKey: string(cust)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "claims/s")
}

// benchCart is 20 lines over 5 categories, with shipping.
func benchCart() coupon.Cart {
	c := coupon.Cart{Tenant: tenant, Customer: "u1", OrderID: "o1", Store: "s1", Channel: "miniprogram", Shipping: yuan("12.00")}
	for i := range 20 {
		c.Items = append(c.Items, coupon.Item{SKU: fmt.Sprintf("sku-%02d", i), Category: fmt.Sprintf("cat-%d", i%5),
			Price: scrm.FromFen(int64(990 + 1375*i)), Quantity: 1 + i%3})
	}
	return c
}

// BenchmarkQuote prices a 20-line cart with 3 coupons (target: at most
// 20 µs/op).
func BenchmarkQuote(b *testing.B) {
	e := newEnv(&testing.T{})
	svc := e.svc
	tpls := []coupon.Template{
		{ID: "t", Kind: coupon.KindThreshold, MinSpend: yuan("300"), Amount: yuan("40"), Scope: coupon.Scope{Categories: []string{"cat-1", "cat-2", "cat-3"}}},
		{ID: "p", Kind: coupon.KindPercent, Rate: yuan("0.88"), Cap: yuan("60"), Scope: coupon.Scope{ExcludeProducts: []string{"sku-03"}}},
		{ID: "s", Kind: coupon.KindFreeShipping},
	}
	var ids []string
	for _, tp := range tpls {
		tp.Tenant, tp.Validity = tenant, coupon.Validity{Days: 30}
		if _, err := svc.PutTemplate(ctx, tp); err != nil {
			b.Fatal(err)
		}
		c, err := svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: tp.ID, IdempotencyKey: tp.ID})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	cart := benchCart()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		q, err := svc.Quote(ctx, cart, ids)
		if err != nil || len(q.Applied) != 3 {
			b.Fatal(err, q.Rejected)
		}
	}
}

// BenchmarkBest chooses from a wallet of 50 coupons of 50 templates for a
// 20-line cart (target: at most 500 µs/op).
func BenchmarkBest(b *testing.B) {
	e := newEnv(&testing.T{})
	svc := e.svc
	for i := range 50 {
		tp := coupon.Template{Tenant: tenant, ID: fmt.Sprintf("t%02d", i), Validity: coupon.Validity{Days: 1 + i%20}}
		cat := []string{fmt.Sprintf("cat-%d", i%5)}
		switch i % 5 {
		case 0:
			tp.Kind, tp.Amount = coupon.KindCash, scrm.FromFen(int64(300+97*i))
			if i%10 == 0 {
				tp.Scope.Categories = cat
			}
		case 1:
			tp.Kind, tp.MinSpend, tp.Amount = coupon.KindThreshold, scrm.FromFen(int64(10000+3000*i)), scrm.FromFen(int64(1000+150*i))
			tp.Every = i%3 == 0
		case 2:
			tp.Kind, tp.Rate, tp.Cap = coupon.KindPercent, scrm.FromFen(int64(70+i%25)).Div(scrm.FromFen(100)), scrm.FromFen(int64(2000+500*i))
			if i%4 == 0 {
				tp.Scope.Categories = cat
			}
		case 3:
			tp.Kind = coupon.KindFreeShipping
			if i%2 == 0 {
				tp.Cap = scrm.FromFen(int64(500 + 10*i))
			}
		case 4:
			tp.Kind, tp.Amount = coupon.KindCash, scrm.FromFen(int64(500+50*i))
			tp.StackGroup = fmt.Sprintf("g%d", i%3)
			tp.Exclusive = i%15 == 4
			if tp.Exclusive {
				tp.StackGroup, tp.Amount = "", scrm.FromFen(int64(5000+10*i))
			}
		}
		if _, err := svc.PutTemplate(ctx, tp); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: tp.ID, IdempotencyKey: tp.ID}); err != nil {
			b.Fatal(err)
		}
	}
	cart := benchCart()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		q, err := svc.Best(ctx, cart)
		if err != nil || len(q.Applied) == 0 {
			b.Fatal(err)
		}
	}
}
