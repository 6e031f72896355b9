package bakery_test

import (
	"bytes"
	"context"
	"errors"
	"html"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/examples/quickstart/bakery"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// small is a run small enough for every test and for CI.
var small = bakery.Config{Customers: 300, Days: 45, Seed: 7}

func run(t *testing.T, cfg bakery.Config) *bakery.Result {
	t.Helper()
	r, err := bakery.Run(context.Background(), cfg)
	require.NoError(t, err)
	return r
}

// smallRun is the run of small, shared by the tests that only read it.
var smallRun = sync.OnceValues(func() (*bakery.Result, error) { return bakery.Run(context.Background(), small) })

func runSmall(t *testing.T) *bakery.Result {
	t.Helper()
	r, err := smallRun()
	require.NoError(t, err)
	return r
}

func TestRunIsDeterministic(t *testing.T) {
	a, b := run(t, small), run(t, small)
	var ta, tb bytes.Buffer
	require.NoError(t, a.WriteText(&ta))
	require.NoError(t, b.WriteText(&tb))
	assert.Equal(t, ta.String(), tb.String())
	var ha, hb bytes.Buffer
	require.NoError(t, a.WriteHTML(&ha))
	require.NoError(t, b.WriteHTML(&hb))
	assert.Equal(t, ha.String(), hb.String())

	other := small
	other.Seed++
	c := run(t, other)
	var tc bytes.Buffer
	require.NoError(t, c.WriteText(&tc))
	assert.NotEqual(t, ta.String(), tc.String(), "another seed tells another story")
}

func TestRunTotalsAddUp(t *testing.T) {
	r := runSmall(t)
	counts := map[string]int{}
	var revenue decimal.Decimal
	orders := map[string]bool{}
	added := map[scrm.CustomerID]time.Time{}
	absorbed := map[scrm.CustomerID]bool{}
	for _, e := range r.Log {
		counts[e.Type]++
		switch e.Type {
		case scrm.EventCustomerAdded:
			if _, ok := added[e.Customer]; !ok {
				added[e.Customer] = e.Time
			}
		case scrm.EventCustomerMerged:
			absorbed[scrm.CustomerID(e.Prop("from"))] = true
		case scrm.EventOrderPaid:
			revenue = revenue.Add(e.Amount)
			id := e.Prop("order_id")
			assert.False(t, orders[id], "order %s paid twice", id)
			orders[id] = true
			first, ok := added[e.Customer]
			assert.True(t, ok && !e.Time.Before(first), "order %s of %s before the customer was added", id, e.Customer)
			assert.False(t, absorbed[e.Customer], "order %s of absorbed customer %s", id, e.Customer)
		}
	}
	assert.Equal(t, counts, r.Events)
	assert.Equal(t, counts[scrm.EventOrderPaid], r.Orders)
	assert.Positive(t, r.Orders)
	assert.True(t, revenue.Equal(r.Revenue), "revenue %s, result says %s", revenue, r.Revenue)
	assert.Equal(t, r.People, r.Customers, "everyone arrives within the period")
	assert.Equal(t, r.Customers+r.Merged, counts[scrm.EventCustomerAdded], "one customer.added per arrival, a second for each duplicate")
	assert.Equal(t, r.Merged, counts[scrm.EventCustomerMerged])
	assert.Positive(t, r.Merged)
	assert.Equal(t, len(r.Sent), r.Messages+r.GroupPosts)
	assert.Empty(t, r.BindRefused)
}

func TestNoMessageInQuietHours(t *testing.T) {
	r := runSmall(t)
	loc := r.Start.Location()
	require.NotEmpty(t, r.Sent)
	quiet := func(t time.Time) bool { h := t.In(loc).Hour(); return h >= 22 || h < 8 }
	for _, m := range r.Sent {
		assert.False(t, quiet(m.At), "%s sent at %s", m.ID, m.At.In(loc).Format("01-02 15:04"))
		assert.False(t, m.At.Before(r.Start) || !m.At.Before(r.End), "%s sent outside the period", m.ID)
	}
	// People who arrive in quiet hours are welcomed at 08:00, not at night.
	welcome := map[scrm.CustomerID]time.Time{}
	for _, m := range r.Sent {
		if _, ok := welcome[m.Customer]; !ok && m.Customer != "" {
			welcome[m.Customer] = m.At
		}
	}
	late := 0
	for _, e := range r.Log {
		if e.Type == scrm.EventCustomerAdded && quiet(e.Time) {
			if at, ok := welcome[e.Customer]; ok {
				late++
				assert.Equal(t, 8, at.In(loc).Hour(), "first message to %s, added at %s", e.Customer, e.Time.In(loc).Format("01-02 15:04"))
			}
		}
	}
	t.Logf("%d customers added in quiet hours were welcomed at 08:00", late)
}

func TestNoTouchOfMergedCustomers(t *testing.T) {
	r := runSmall(t)
	absorbed := map[scrm.CustomerID]bool{}
	for _, e := range r.Log {
		if e.Type == scrm.EventCustomerMerged {
			absorbed[scrm.CustomerID(e.Prop("from"))] = true
		}
	}
	require.NotEmpty(t, absorbed)
	for _, m := range r.Sent {
		assert.False(t, absorbed[m.Customer], "message %s to %s, which was merged away", m.ID, m.Customer)
	}
	for _, e := range r.Log {
		if e.Type == coupon.EventIssued {
			assert.False(t, absorbed[e.Customer], "coupon %s issued to %s, which was merged away", e.Prop("coupon"), e.Customer)
		}
	}
}

func TestNoDoubleReward(t *testing.T) {
	r := runSmall(t)
	type key struct {
		c scrm.CustomerID
		t string
	}
	issued := map[key]int{}
	redeemed := map[string]int{}
	qualified := map[scrm.CustomerID]int{}
	bound := map[scrm.CustomerID]bool{}
	perInviter := map[scrm.CustomerID]int{}
	for _, e := range r.Log {
		switch e.Type {
		case coupon.EventIssued:
			issued[key{e.Customer, e.Prop("template")}]++
		case coupon.EventRedeemed:
			redeemed[e.Prop("coupon")]++
		case referral.EventBound:
			assert.False(t, bound[e.Customer], "%s bound twice", e.Customer)
			bound[e.Customer] = true
		case referral.EventQualified:
			assert.True(t, bound[e.Customer], "%s qualified without a binding", e.Customer)
			qualified[e.Customer]++
			perInviter[scrm.CustomerID(e.Prop("inviter"))]++
		}
	}
	require.NotEmpty(t, qualified)
	for k, n := range issued {
		switch k.t {
		case "new-8", "friend-10", "gold-cake":
			assert.Equal(t, 1, n, "%s got %d coupons %s", k.c, n, k.t)
		}
	}
	for c, n := range redeemed {
		assert.Equal(t, 1, n, "coupon %s redeemed %d times", c, n)
	}
	for c, n := range qualified {
		assert.Equal(t, 1, n, "%s qualified %d times", c, n)
	}
	for inviter, n := range perInviter {
		assert.Equal(t, min(n, 10), issued[key{inviter, "thanks-15"}], "thank-you coupons of %s for %d qualified friends", inviter, n)
	}
	ids := map[string]bool{}
	for _, m := range r.Sent {
		assert.False(t, ids[m.ID], "message %s sent twice", m.ID)
		ids[m.ID] = true
	}
}

func TestKPIsAgreeWithTheLog(t *testing.T) {
	r := runSmall(t)
	counts := r.Events
	k := r.KPIs
	require.Len(t, k.Funnel.Steps, 4)
	assert.Equal(t, r.Customers, k.Funnel.Steps[0].Customers, "every person enters the funnel once, merged duplicates included")
	for i := 1; i < len(k.Funnel.Steps); i++ {
		assert.LessOrEqual(t, k.Funnel.Steps[i].Customers, k.Funnel.Steps[i-1].Customers)
	}
	assert.Positive(t, k.Funnel.Steps[3].Customers)

	assert.Equal(t, r.Orders, k.Repurchase.Total.Orders)
	assert.Equal(t, r.Orders, k.Stores.Total.Orders)
	assert.True(t, r.Revenue.Equal(k.Stores.Total.Revenue))
	assert.Equal(t, r.Customers, k.Acquisition.Total.Added)
	size := 0
	for _, row := range k.Cohorts.Rows {
		size += row.Size
	}
	assert.Equal(t, r.Customers, size, "the cohorts by month of joining hold every customer once")

	assert.Equal(t, counts[coupon.EventIssued], k.Coupons.Total.Issued)
	assert.Equal(t, counts[coupon.EventRedeemed], k.Coupons.Total.Redeemed)
	assert.True(t, r.Discount.Equal(k.Coupons.Total.DiscountCost), "discounts on orders %s, coupon report %s", r.Discount, k.Coupons.Total.DiscountCost)
	assert.Equal(t, counts[referral.EventBound], k.Referrals.Total.Bound)
	assert.Equal(t, counts[referral.EventQualified], k.Referrals.Total.Qualified)
	assert.Equal(t, r.Messages, int(k.Touches.Total.Sent), "every one-to-one message is a step of a playbook")

	scored := 0
	for _, c := range k.RFMClasses {
		scored += c.Customers
	}
	assert.Equal(t, k.Repurchase.Total.Buyers, scored, "a 45-day run scores every buyer")

	for _, tab := range r.Tables() {
		var csv bytes.Buffer
		require.NoError(t, tab.WriteCSV(&csv))
		assert.Equal(t, len(tab.Rows)+1, strings.Count(csv.String(), "\n"), tab.Title)
	}
}

func TestStoryTellsOneJourney(t *testing.T) {
	r := run(t, bakery.Config{Customers: 300, Seed: 7})
	s := r.Story
	require.NotEmpty(t, s.Lines)
	assert.Equal(t, "arrival", s.Lines[0].Kind)
	for _, kind := range []string{"arrival", "message", "coupon", "tag", "order", "tier", "referral"} {
		assert.True(t, s.Has(kind), "the story has no %s", kind)
	}
	for i, l := range s.Lines {
		assert.False(t, l.At.Before(r.Start) || !l.At.Before(r.End), "line %d at %s", i, l.At)
		if i > 0 {
			assert.False(t, l.At.Before(s.Lines[i-1].At), "line %d goes back in time", i)
		}
	}
	var out bytes.Buffer
	require.NoError(t, r.WriteText(&out))
	assert.Contains(t, out.String(), "The story of "+string(s.Customer))
}

func TestWriteHTML(t *testing.T) {
	r := runSmall(t)
	var page bytes.Buffer
	require.NoError(t, r.WriteHTML(&page))
	doc := html.UnescapeString(page.String())
	assert.True(t, strings.HasPrefix(doc, "<!DOCTYPE html>"))
	assert.Equal(t, 2, strings.Count(doc, "<svg"), "the funnel chart and the retention heatmap")
	assert.Contains(t, doc, "<h2>The story of "+string(r.Story.Customer)+"</h2>")
	for _, tab := range r.Tables() {
		assert.Contains(t, doc, "<h2>"+tab.Title+"</h2>")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg   bakery.Config
		field string
	}{
		{bakery.Config{Customers: -1}, "Customers"},
		{bakery.Config{Customers: bakery.MaxCustomers + 1}, "Customers"},
		{bakery.Config{Customers: 10, Days: -3}, "Days"},
		{bakery.Config{Customers: 10, Days: bakery.MaxDays + 1}, "Days"},
	} {
		_, err := bakery.Run(context.Background(), tc.cfg)
		require.ErrorIs(t, err, scrm.ErrInvalid, "%+v", tc.cfg)
		var e *scrm.Error
		require.True(t, errors.As(err, &e))
		assert.Equal(t, tc.field, e.Field)
	}
}

func TestRunHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := bakery.Run(ctx, bakery.Config{Customers: 50, Days: 10})
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
}

func BenchmarkRun300(b *testing.B)  { benchmarkRun(b, 300) }
func BenchmarkRun3000(b *testing.B) { benchmarkRun(b, 3000) }

func benchmarkRun(b *testing.B, customers int) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bakery.Run(context.Background(), bakery.Config{Customers: customers}); err != nil {
			b.Fatal(err)
		}
	}
}
