package flows_test

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/segment"
	"github.com/scrmkit/scrmkit/tagging"
)

// hqpSeeds are the fixed seeds of TestQueueDeliveryProperty.
var hqpSeeds = []int64{1, 2, 3, 4, 5, 6}

// hqpStream generates a realistic stream for 3 or 4 customers over about six
// weeks, in the order the events happened: each event has a unique ID and a
// Time strictly after the previous one's. C2 is bound to C1 under the
// "friends" referral program by hqPrepare.
func hqpStream(seed int64) ([]scrm.Event, []scrm.CustomerID) {
	r := rand.New(rand.NewSource(seed))
	customers := []scrm.CustomerID{"C1", "C2", "C3"}
	if r.Intn(2) == 0 {
		customers = append(customers, "C4")
	}
	numericOrders := seed%2 == 0 // order IDs as integers, as some ERPs send them
	var evs []scrm.Event
	at := func(day int) time.Time {
		// 10:00 to 22:59 on the given day after hqStart's.
		return hqStart.Add(time.Duration(day)*hqDay + time.Duration(r.Intn(13*60))*time.Minute + time.Hour)
	}
	after := func(t0 time.Time, maxDays int) time.Time {
		// a random minute up to maxDays after t0 (at least ten minutes
		// after), moved out of the night.
		t := t0.Add(10*time.Minute + time.Duration(r.Intn(maxDays*24*60))*time.Minute)
		if h := t.In(scrm.DefaultLocation()).Hour(); h < 8 {
			t = t.Add(time.Duration(8-h) * time.Hour)
		}
		return t
	}
	add := func(c scrm.CustomerID, typ string, t time.Time, amount decimal.Decimal, props map[string]any) {
		evs = append(evs, scrm.Event{Tenant: hqTenant, Customer: c, Type: typ, Time: t, Amount: amount, Props: props})
	}
	orderNo := 0
	for _, c := range customers {
		staff := []string{"s1", "s2"}[r.Intn(2)]
		t0 := at(r.Intn(4))
		add(c, scrm.EventCustomerAdded, t0, decimal.Decimal{}, map[string]any{"staff": staff, "store": "S1"})
		if r.Intn(4) == 0 { // added again later, by the other staff member
			other := map[string]string{"s1": "s2", "s2": "s1"}[staff]
			add(c, scrm.EventCustomerAdded, after(t0, 10), decimal.Decimal{}, map[string]any{"staff": other, "store": "S1"})
		}
		if r.Intn(3) != 0 {
			add(c, scrm.EventGroupJoined, after(t0, 8), decimal.Decimal{}, map[string]any{"group": "g1"})
		}
		if r.Intn(2) == 0 {
			month := time.Month(1 + r.Intn(12))
			if r.Intn(2) == 0 { // a birthday near the stream, so the segment "birthday within 30 days" holds
				month = time.Month(3 + r.Intn(2))
			}
			bday := time.Date(1985+r.Intn(20), month, 1+r.Intn(28), 0, 0, 0, 0, scrm.DefaultLocation())
			add(c, scrm.EventAttrsSet, after(t0, 20), decimal.Decimal{},
				map[string]any{"attrs": map[string]any{"birthday": bday}})
		}
		for i, n := 0, r.Intn(3); i < n; i++ {
			text := []string{"好的", "谢谢", "退订", "别发了，退订吧", "什么时候有新品？"}[r.Intn(5)]
			add(c, scrm.EventMessageReplied, after(t0, 40), decimal.Decimal{}, map[string]any{"text": text})
		}
		for i, n := 0, 1+r.Intn(4); i < n; i++ {
			orderNo++
			var order any = fmt.Sprintf("o%03d", orderNo)
			if numericOrders {
				order = 700000 + orderNo
			}
			var items []scrm.OrderItem
			total := decimal.Zero
			for j, m := 0, 1+r.Intn(3); j < m; j++ {
				it := scrm.OrderItem{SKU: fmt.Sprintf("sku%d", r.Intn(9)), Category: []string{"cake", "drink", "bread"}[r.Intn(3)],
					Price: scrm.Yuan([]string{"12.50", "38.00", "68.80", "128.00", "199.90"}[r.Intn(5)]), Quantity: 1 + r.Intn(2)}
				items = append(items, it)
				total = total.Add(it.Price.Mul(decimal.NewFromInt(int64(it.Quantity))))
			}
			paid := after(t0, 40)
			add(c, scrm.EventOrderPaid, paid, total, map[string]any{"order_id": order, "items": items, "store": "S1"})
			if r.Intn(3) == 0 { // a partial refund a few days later
				part := scrm.RoundFen(total.Mul(decimal.NewFromInt(int64(1 + r.Intn(3)))).Div(decimal.NewFromInt(4)))
				add(c, scrm.EventOrderRefunded, after(paid, 5), part, map[string]any{"order_id": order})
			}
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
	for i := range evs {
		if i > 0 && !evs[i].Time.After(evs[i-1].Time) {
			evs[i].Time = evs[i-1].Time.Add(time.Minute)
		}
		evs[i].ID = fmt.Sprintf("s%d-e%03d", seed, i+1)
	}
	return evs, customers
}

// hqpBirthdaySegment adds the segment "birthday within 30 days".
func (h *hqHost) hqpBirthdaySegment() {
	_, err := h.segs.Define(h.ctx, segment.Segment{Tenant: hqTenant, ID: "bday", Name: "bday",
		When: rule.Attr("birthday").BirthdayWithin(30)})
	h.must(err)
}

// hqpDeliver delivers e and runs the scheduler; a delivery error fails the
// test, naming the seed and how the event came.
func (h *hqHost) hqpDeliver(seed int64, how string, e scrm.Event) {
	h.t.Helper()
	if err := h.deliver(e); err != nil {
		h.t.Fatalf("seed %d: %s %v: %v", seed, how, e, err)
	}
	h.runDue()
}

// hqpFinish lets two days pass and runs the scheduler.
func (h *hqHost) hqpFinish() {
	h.clock.Advance(2 * hqDay)
	h.runDue()
}

// hqpInOrder delivers the stream, built in Go, in order to a fresh host.
func hqpInOrder(t *testing.T, seed int64, evs []scrm.Event) *hqHost {
	h := hqPrepare(t)
	for _, e := range evs {
		h.hqpDeliver(seed, "in order", e)
	}
	h.hqpFinish()
	return h
}

// hqpQueued delivers the stream in order to a fresh host as a queue would:
// every event through JSON (UseNumber on odd seeds), and some delivered
// again, right after themselves, after up to five later events or after
// any number of them (weeks later). It returns the host and the number of
// redeliveries.
func hqpQueued(t *testing.T, seed int64, evs []scrm.Event) (*hqHost, int) {
	r := rand.New(rand.NewSource(seed * 7919))
	useNumber := seed%2 == 1
	h := hqPrepare(t)
	again := map[int][]int{} // index of an event -> events delivered again after it
	redelivered := 0
	send := func(i int, how string) {
		h.hqpDeliver(seed, how, hqRoundTrip(t, evs[i], useNumber))
	}
	for i := range evs {
		send(i, "queued")
		switch r.Intn(4) {
		case 0:
			send(i, "redelivered at once")
			redelivered++
		case 1:
			k := i + 1 + r.Intn(5)
			if r.Intn(3) == 0 { // much later, up to after the last event
				k = i + 1 + r.Intn(len(evs)-i)
			}
			if hqpReplayMovesSpendTag(evs, i, evs[min(k, len(evs)-1)].Time) {
				send(i, "redelivered at once")
			} else {
				again[k] = append(again[k], i)
			}
			redelivered++
		}
		for _, j := range again[i] {
			send(j, fmt.Sprintf("redelivered after %s", evs[i].ID))
		}
		delete(again, i)
	}
	for k := len(evs); len(again) > 0; k++ { // those due after the end
		for _, j := range again[k] {
			send(j, "redelivered at the end")
		}
		delete(again, k)
	}
	h.hqpFinish()
	return h, redelivered
}

// hqpReplayMovesSpendTag reports whether delivering evs[i] again with the clock
// at now would re-evaluate r-high and r-low ("spent within 30 days") after
// one of the customer's orders left the 30-day window since the event was
// first handled: a late redelivery then makes the change the next Sweep
// would make (tagging.Service.Handle; TestQueueLateRedeliveryTagsAsSweep),
// which the host delivered once has not made yet. Such redeliveries are
// made at once instead, so that the two hosts stay comparable.
func hqpReplayMovesSpendTag(evs []scrm.Event, i int, now time.Time) bool {
	e := evs[i]
	if e.Type != scrm.EventOrderPaid {
		return false
	}
	from, to := e.Time.Add(-30*hqDay), now.Add(-30*hqDay)
	for _, o := range evs {
		if o.Customer == e.Customer && o.Type == scrm.EventOrderPaid && o.Time.After(from) && !o.Time.After(to) {
			return true
		}
	}
	return false
}

// hqpState is a host's end state, as "what" -> a printable value.
func (h *hqHost) hqpState(customers []scrm.CustomerID) map[string]string {
	h.t.Helper()
	ctx := h.ctx
	s := map[string]string{}
	for _, c := range customers {
		if a, err := h.members.Account(ctx, hqTenant, c); err == nil {
			s[string(c)+" member account"] = fmt.Sprintf("points %d, growth %d, tier %q, debt %d, unclawed %d",
				a.Points, a.Growth, a.Tier, a.Debt, a.Unclawed)
		} else {
			s[string(c)+" member account"] = "error: " + scrm.CodeOf(err).Error()
		}
		p, err := h.profiles.Get(ctx, hqTenant, c)
		h.must(err)
		var tags []string
		for name, m := range p.Tags() {
			tags = append(tags, fmt.Sprintf("%s(%s@%s)", name, m.Source, m.At.In(h.loc).Format(time.DateTime)))
		}
		sort.Strings(tags)
		s[string(c)+" tags"] = fmt.Sprint(tags)
		in, err := h.segs.Contains(ctx, hqTenant, "vip", c)
		h.must(err)
		s[string(c)+" in segment vip"] = fmt.Sprint(in)
		bday, ok := p.Attr("birthday")
		m, d, okb := scrm.BirthdayOf(bday)
		s[string(c)+" birthday"] = fmt.Sprintf("set %v, read %v: %02d-%02d", ok, okb, m, d)
		s[string(c)+" profile segments"] = fmt.Sprint(p.Segments())
		s[string(c)+" wallet"] = fmt.Sprint(h.wallet(c))
		owner, err := h.team.Owner(ctx, hqTenant, c)
		h.must(err)
		s[string(c)+" owner"] = owner
		ms, err := h.groups.GroupsOf(ctx, hqTenant, c)
		h.must(err)
		var groups []string
		for _, m := range ms {
			groups = append(groups, m.Group)
		}
		sort.Strings(groups)
		s[string(c)+" groups"] = fmt.Sprint(groups)
		sent := map[string]int{}
		for _, m := range h.channel.For(c) {
			sent[m.Template]++
		}
		s[string(c)+" messages sent"] = fmt.Sprint(sent) // fmt sorts map keys
	}
	page, err := h.segs.Members(ctx, hqTenant, "vip", "", 100)
	h.must(err)
	s["segment vip members"] = fmt.Sprint(page.Customers)
	s["duplicate sends"] = fmt.Sprint(h.channel.Duplicates())
	rep, err := h.refs.Report(ctx, hqTenant, "friends")
	h.must(err)
	s["referral report"] = fmt.Sprintf("%+v", rep.Stats)

	table := func(name string, t interface{ Table() metrics.Table }, err error) {
		if err != nil {
			s["metrics "+name] = "error: " + err.Error()
			return
		}
		s["metrics "+name] = "\n" + t.Table().String()
	}
	co, err := h.col.Cohorts(metrics.CohortOptions{Months: 3})
	table("cohorts by first purchase", co, err)
	co, err = h.col.Cohorts(metrics.CohortOptions{By: metrics.FirstJoin, Months: 3})
	table("cohorts by first join", co, err)
	for _, by := range []metrics.Dimension{metrics.ByStore, metrics.ByStaff} {
		ac, err := h.col.Acquisition(metrics.AcquisitionOptions{By: by, Period: metrics.Week})
		table("acquisition by "+string(by), ac, err)
	}
	rp, err := h.col.Repurchase(metrics.RepurchaseOptions{By: metrics.ByStaff})
	table("repurchase by staff", rp, err)
	st, err := h.col.Stores(metrics.StoreOptions{})
	table("stores", st, err)
	gj, err := h.col.GroupJoin(metrics.GroupJoinOptions{By: metrics.ByStaff})
	table("group join by staff", gj, err)
	fu, err := h.col.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel()})
	table("standard funnel", fu, err)
	cp, err := h.col.Coupons(metrics.CouponOptions{})
	table("coupons", cp, err)
	rf, err := h.col.Referrals(metrics.ReferralOptions{})
	table("referrals", rf, err)
	return s
}

// hqpCompare reports every difference between the end states.
func hqpCompare(t *testing.T, seed int64, inOrder, queued map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(inOrder))
	for k := range inOrder {
		keys = append(keys, k)
	}
	for k := range queued {
		if _, ok := inOrder[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, aok := inOrder[k]
		b, bok := queued[k]
		switch {
		case !aok || !bok:
			t.Errorf("seed %d: %s: only in one end state (in order %q, queued %q)", seed, k, a, b)
		case a != b:
			t.Errorf("seed %d: %s differs:\n  in order, built in Go: %s\n  queued (JSON, redeliveries): %s", seed, k, a, b)
		}
	}
}

// hqpDescribe prints a stream, one event a line, for a failure's log.
func hqpDescribe(evs []scrm.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  %s %s %s %s %s %v\n", e.ID, e.Time.In(scrm.DefaultLocation()).Format("01-02 Mon 15:04"), e.Customer, e.Type, e.Amount, e.Props)
	}
	return b.String()
}

// TestQueueDeliveryProperty delivers a generated stream in order, built in
// Go, to one host, and to another through JSON with redeliveries (each
// handler is idempotent by event ID: delivering an event again has no
// further effect), and requires the same end state of every service. The
// stream is never reordered: reordering has documented effects (see
// delivery_test.go).
func TestQueueDeliveryProperty(t *testing.T) {
	for _, seed := range hqpSeeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			evs, customers := hqpStream(seed)
			a := hqpInOrder(t, seed, evs)
			b, n := hqpQueued(t, seed, evs)
			sa, sb := a.hqpState(customers), b.hqpState(customers)
			hqpCompare(t, seed, sa, sb)
			if t.Failed() {
				t.Logf("seed %d stream (%d events, %d redeliveries):\n%s", seed, len(evs), n, hqpDescribe(evs))
			}
			if testing.Verbose() {
				t.Logf("seed %d: %d events, %d customers, %d redeliveries; C1: %s; messages %d",
					seed, len(evs), len(customers), n, sa["C1 member account"], len(a.channel.Messages()))
			}
		})
	}
}

// hqpTagsOf lists the customer's tags as "tag(source)", sorted.
func (h *hqHost) hqpTagsOf(c scrm.CustomerID) string {
	h.t.Helper()
	p, err := h.profiles.Get(h.ctx, hqTenant, c)
	h.must(err)
	var tags []string
	for name, m := range p.Tags() {
		tags = append(tags, name+"("+m.Source+")")
	}
	sort.Strings(tags)
	return fmt.Sprint(tags)
}

// A late redelivery re-evaluates the rules it triggers at the current time
// (tagging.Service.Handle): pC delivered again on 4 April, when pA has left
// the 30-day window, makes the change a Sweep makes that day — high gives
// way to low — and nothing else.
func TestQueueLateRedeliveryTagsAsSweep(t *testing.T) {
	t0 := hqStart.Add(time.Hour)                               // Monday 2 March
	a := hqOrder("pA", "C1", t0, "256.00", "oA")               // high
	b := hqOrder("pB", "C1", t0.Add(hqDay), "10.00", "oB")     // repeat
	c := hqOrder("pC", "C1", t0.Add(28*hqDay), "150.00", "oC") // ¥406 within 30 days: still high, no tag changes
	other := scrm.Event{ID: "m1", Tenant: hqTenant, Customer: "C3", Type: scrm.EventMessageReplied,
		Time: t0.Add(31 * hqDay), Props: map[string]any{"text": "好的"}} // the queue goes on: pA has left the window

	h := hqRun(t, a, b, c, other)
	if got := h.hqpTagsOf("C1"); got != "[high(rule:r-high) repeat(rule:r-repeat)]" {
		t.Fatalf("delivered once: tags %s, want high and repeat", got)
	}
	h.must(h.deliver(c)) // the queue delivers pC again
	got := h.hqpTagsOf("C1")

	once := hqRun(t, a, b, c, other)
	_, err := once.tags.Sweep(once.ctx, hqTenant, tagging.SweepOptions{})
	once.must(err)
	want := once.hqpTagsOf("C1")
	if want != "[low(rule:r-low) repeat(rule:r-repeat)]" {
		t.Fatalf("delivered once and swept: tags %s, want low and repeat", want)
	}
	if got != want {
		t.Errorf("pC delivered again on %s: tags %s; delivered once and swept then: %s", h.clock.Now().Format(time.DateOnly), got, want)
	}
}

// The same for segments (segment.Service.Handle): a customer.attrs_set
// setting a birthday of 15 March puts C1 in "birthday within 30 days" on
// 12 March; delivered again on 18 March it takes C1 out, as a Refresh
// that day does.
func TestQueueLateRedeliverySegmentsAsRefresh(t *testing.T) {
	t0 := hqStart.Add(10*hqDay + time.Hour) // Thursday 12 March
	set := scrm.Event{ID: "a1", Tenant: hqTenant, Customer: "C1", Type: scrm.EventAttrsSet, Time: t0,
		Props: map[string]any{"attrs": map[string]any{"birthday": time.Date(1987, 3, 15, 0, 0, 0, 0, scrm.DefaultLocation())}}}
	other := scrm.Event{ID: "m1", Tenant: hqTenant, Customer: "C3", Type: scrm.EventMessageReplied,
		Time: t0.Add(6 * hqDay), Props: map[string]any{"text": "好的"}}
	run := func(again bool) bool {
		h := hqPrepare(t)
		h.hqpBirthdaySegment()
		h.must(h.deliver(set))
		in, err := h.segs.Contains(h.ctx, hqTenant, "bday", "C1")
		h.must(err)
		if !in {
			t.Fatal("C1 (birthday 15 March, set 12 March) not in \"birthday within 30 days\"")
		}
		h.must(h.deliver(other))
		if again {
			h.must(h.deliver(set)) // the queue delivers a1 again
		} else {
			_, err := h.segs.Refresh(h.ctx, hqTenant, "bday")
			h.must(err)
		}
		in, err = h.segs.Contains(h.ctx, hqTenant, "bday", "C1")
		h.must(err)
		return in
	}
	if run(true) || run(false) {
		t.Error("on 18 March, after a redelivery or a Refresh, C1 (birthday 15 March) is still in \"birthday within 30 days\"")
	}
}
