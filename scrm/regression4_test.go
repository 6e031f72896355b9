package scrm_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// ProfileLimits.Horizon: an event more than a horizon away from every other
// kept event of its type (a date mistyped years ahead) does not count as the
// newest, "whether it is the customer's first event of the type or came
// after others". When the outlier is the customer's first event (an import
// whose first row typed 2036 for 2026), the real orders after it are kept
// for windows: with no two entries within a horizon of each other there is
// no reference to measure the horizon from (activity.cutoff), so nothing is
// older than the horizon, and "orders in the last 15 days" counts them.
func TestFirstEventOutlierKeepsLaterOrdersInWindows(t *testing.T) {
	const day = 24 * time.Hour
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	p := scrm.NewProfile("t1", "c1")
	p.Apply(scrm.Event{ID: "typo", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
		Time: now.AddDate(10, 0, 0), Amount: scrm.Yuan("1")})
	for i, d := range []int{20, 10, 5, 1} {
		p.Apply(scrm.Event{ID: string(rune('a' + i)), Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
			Time: now.Add(-time.Duration(d) * day), Amount: scrm.Yuan("100")})
	}
	// The window from 15 days back to tomorrow holds the orders of 10, 5
	// and 1 days ago.
	since, until := now.Add(-15*day), now.Add(day)
	n := p.Count(scrm.EventOrderPaid, since) - p.Count(scrm.EventOrderPaid, until)
	if n != 3 {
		t.Fatalf("orders in the last 15 days = %d, want 3 (all-time count %d)", n, p.Count(scrm.EventOrderPaid, time.Time{}))
	}
	if s := p.Sum(scrm.EventOrderPaid, since).Sub(p.Sum(scrm.EventOrderPaid, until)); s.String() != "300" {
		t.Fatalf("amount in the last 15 days = %s, want 300", s)
	}
}

// scrm.Join's doc: "Its Code tells a caller whether trying again can help:
// ErrUnavailable when any of the errors is retryable ... So a host that
// retries on ErrUnavailable retries what can still succeed". A grant whose
// publish failed (retryable) and whose upgrade coupon ran out (permanent)
// joins to Code ErrUnavailable, and scrm.CodeOf, which the SDK itself uses
// to classify errors (scrm.Wrap with a nil code, sop's retry decision),
// answers the join's Code, not the first sentinel found through it: one
// scrm.Wrap(nil, ...) layer keeps the join's "retry".
func TestJoinedRetryableAndExhaustedStaysRetryable(t *testing.T) {
	publish := scrm.Errorf(scrm.ErrUnavailable, "member.Grant", "publishing member.upgraded failed")
	coupon := scrm.Errorf(scrm.ErrExhausted, "coupon.Grant", "template vip-gift ran out")
	j := scrm.Join("member.Grant", publish, coupon)
	var se *scrm.Error
	if !errors.As(j, &se) || se.Code != scrm.ErrUnavailable {
		t.Fatalf("Join's Code = %v, want ErrUnavailable", se)
	}
	if got := scrm.CodeOf(j); got != scrm.ErrUnavailable {
		t.Errorf("CodeOf(Join) = %v, want ErrUnavailable (Join's Code)", got)
	}
	w := scrm.Wrap(nil, "referral.Invite", j)
	if errors.As(w, &se); se.Code != scrm.ErrUnavailable {
		t.Errorf("Wrap(nil, Join).Code = %v, want ErrUnavailable", se.Code)
	}
}

// Directory.SetAttrs: "Errors: ErrInvalid naming the field (... `Attrs["avg"]`
// for a NaN or infinite float anywhere in the value, which JSON cannot
// encode), with nothing written". A host's weekly averages as []float32, a
// map of float64 by store, or such values nested in lists, maps and
// pointers, holding a NaN (a division by zero) are refused: finiteAttr
// walks slices, arrays, maps and pointers of any type by reflection. So
// the customer (and the customer.attrs_set event) can always be
// JSON-encoded, and no event is published.
func TestSetAttrsRefusesNonFiniteFloatsInAnyList(t *testing.T) {
	ctx := context.Background()
	var published []scrm.Event
	pub := scrm.PublisherFunc(func(_ context.Context, e scrm.Event) error {
		published = append(published, e)
		return nil
	})
	dir := scrm.NewDirectory(nil, &scrm.Options{Publisher: pub})
	c, err := dir.Resolve(ctx, "t1", scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	for _, v := range []any{
		[]float32{1.5, float32(math.NaN())},
		map[string]float64{"s1": 12, "s2": math.Inf(1)},
		[2]float64{1, math.Inf(-1)},
		map[string][]float64{"w1": {1, nan}},
		[]map[string]any{{"avg": &nan}},
		[]*hostScore{nil, ptrTo(hostScore(nan))},
	} {
		err := dir.SetAttrs(ctx, "t1", c, map[string]any{"avg_order": v})
		if !errors.Is(err, scrm.ErrInvalid) {
			cust, _ := dir.Get(ctx, "t1", c)
			_, jerr := json.Marshal(cust.Attrs)
			t.Errorf("SetAttrs(%T with a non-finite float) = %v, want ErrInvalid; stored %v (JSON: %v), %d events published",
				v, err, cust.Attrs["avg_order"], jerr, len(published))
		}
	}
	if err := dir.SetAttrs(ctx, "t1", c, map[string]any{"avg_order": map[string][]float32{"w1": {1.5, 2}}}); err != nil {
		t.Fatalf("SetAttrs(finite floats) = %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }

type (
	hostScore float64
	hostLevel int
	hostTier  string
)

// Profile.SetAttr normalizes values of named types by their kind, as rule
// compares them: a named integer (type Level int) becomes an int64, a named
// float (type Score float64) a float64, so that a segment "score > 4"
// matches a profile holding Score(4.5) as it matches a plain float64, and
// a NaN of a named float kind deletes the attribute like a NaN float64. A
// list of a string kind (type Tags []string, []Tier) becomes a []string.
func TestProfileNormalizesNamedKindsAsRuleComparesThem(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	p := scrm.NewProfile("t1", "c1")
	p.SetAttr("level", hostLevel(3))
	p.SetAttr("score", hostScore(4.5))
	lv, _ := p.Attr("level")
	sc, _ := p.Attr("score")
	if _, ok := lv.(int64); !ok {
		t.Fatalf("level stored as %T", lv)
	}
	prog := rule.MustCompile(rule.Attr("score").Gt(4), nil)
	if !prog.Eval(p, now) {
		t.Errorf("score > 4 is false for a profile holding score %#v (%T)", sc, sc)
	}
	p.SetAttr("score", hostScore(math.NaN()))
	if v, ok := p.Attr("score"); ok {
		t.Errorf("SetAttr(Score(NaN)) stored %#v", v)
	}
	p.SetAttr("tiers", []hostTier{"gold", "vip"})
	if v, _ := p.Attr("tiers"); !equalStrings(v, []string{"gold", "vip"}) {
		t.Errorf("SetAttr([]Tier) stored %#v, want []string", v)
	}
	p.SetAttr("mixed", []any{"a", hostTier("b")})
	if v, _ := p.Attr("mixed"); !equalStrings(v, []string{"a", "b"}) {
		t.Errorf("SetAttr([]any of string kinds) stored %#v, want []string", v)
	}
	if !rule.MustCompile(rule.Attr("tiers").In("vip"), nil).Eval(p, now) {
		t.Errorf("tiers in (vip) is false")
	}
}

func equalStrings(v any, want []string) bool {
	got, ok := v.([]string)
	if !ok || len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// Profile.Apply: a deletion (a nil value) in a customer.attrs_set event
// counts as setting the attribute; the profile remembers the deletion's
// time (also through its JSON form), so an older event delivered after it
// does not bring the attribute back, while a newer one sets it again. A
// deletion with SetAttr, which carries no event time, leaves nothing.
func TestAttrDeletedByEventStaysDeletedForOlderEvents(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	set := func(p *scrm.Profile, id string, at time.Time, v any) {
		p.Apply(scrm.Event{ID: id, Tenant: "t1", Customer: "c1", Type: scrm.EventAttrsSet, Time: at,
			Props: map[string]any{"attrs": map[string]any{"city": v}}})
	}
	p := scrm.NewProfile("t1", "c1")
	set(p, "a1", t0, "上海")
	set(p, "a3", t0.Add(2*time.Minute), nil)
	if _, ok := p.Attr("city"); ok {
		t.Fatal("city not deleted")
	}
	if n := len(p.Attrs()); n != 0 {
		t.Fatalf("Attrs() holds %d attributes after the deletion", n)
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got scrm.Profile
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("Unmarshal(%s) = %v", data, err)
	}
	for _, q := range []*scrm.Profile{p, got.Clone()} {
		set(q, "a2", t0.Add(time.Minute), "北京") // older than the deletion, delivered after it
		if v, ok := q.Attr("city"); ok {
			t.Errorf("an older attrs_set brought back the deleted city: %v", v)
		}
		set(q, "a4", t0.Add(3*time.Minute), "杭州")
		if v, _ := q.Attr("city"); v != "杭州" {
			t.Errorf("city = %v after a newer attrs_set, want 杭州", v)
		}
	}
	p.SetAttr("city", nil)
	set(p, "a0", t0.Add(-time.Hour), "深圳")
	if v, _ := p.Attr("city"); v != "深圳" {
		t.Errorf("city = %v after SetAttr(nil) and an attrs_set, want 深圳", v)
	}
}
