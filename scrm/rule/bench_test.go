package rule_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// benchProfile is a realistic profile: 20 attributes, 10 tags and 5 event
// types with 200 events each, spread evenly over the year before now.
func benchProfile(now time.Time) *scrm.Profile {
	p := scrm.NewProfile("t1", "c1")
	attrs := map[string]any{
		"city": "上海", "tier": "silver", "birthday": "1990-06-18", "gender": "female",
		"age": 34, "points": int64(1200), "ltv": scrm.Yuan("5230.50"), "score": 0.82,
		"subscribed": true, "phone_verified": true, "channel": "wecom", "store": "sh-001",
		"joined": now.AddDate(-2, 0, 0), "interests": []string{"跑步", "咖啡"},
		"province": "上海", "district": "浦东", "occupation": "engineer", "children": 1,
		"member_no": "M000123", "lang": "zh-CN",
	}
	for k, v := range attrs {
		p.SetAttr(k, v)
	}
	for i := range 10 {
		tag := fmt.Sprint("tag", i)
		if i == 0 {
			tag = "到店未成交"
		}
		p.SetTag(tag, scrm.TagMark{At: now.Add(-time.Duration(i+1) * 24 * time.Hour), Source: "rule:r1"})
	}
	types := []string{scrm.EventOrderPaid, scrm.EventPageViewed, scrm.EventMessageReplied, scrm.EventGroupJoined, "coupon.claimed"}
	step := 365 * 24 * time.Hour / 200
	for _, typ := range types {
		for i := range 200 {
			e := scrm.Event{
				ID: fmt.Sprint(typ, i), Tenant: "t1", Customer: "c1", Type: typ,
				Time: now.Add(-time.Duration(i)*step - time.Hour),
			}
			if typ == scrm.EventOrderPaid {
				e.Amount = scrm.Yuan("88.80")
			}
			p.Apply(e)
		}
	}
	return p
}

func benchEval(b *testing.B, data string, want bool) {
	now := refNow()
	c, err := rule.ParseCondition([]byte(data))
	if err != nil {
		b.Fatal(err)
	}
	prog := rule.MustCompile(c, nil)
	profile := benchProfile(now)
	if got := prog.Eval(profile, now); got != want {
		b.Fatalf("Eval = %v, want %v:\n%s", got, want, prog.Explain(profile, now))
	}
	b.ReportAllocs()
	for b.Loop() {
		prog.Eval(profile, now)
	}
}

// BenchmarkRuleEval evaluates the design example. all stops at its fourth
// child (the last order is not older than 30 days), as it would in
// production.
func BenchmarkRuleEval(b *testing.B) {
	benchEval(b, designJSON, false)
}

// BenchmarkRuleEvalAllNodes evaluates the design example with last.within
// instead of last.olderThan, so that every node is visited and holds.
func BenchmarkRuleEvalAllNodes(b *testing.B) {
	benchEval(b, `{"all": [
  {"attr": "city", "op": "in", "value": ["上海", "杭州"]},
  {"event": "order.paid", "within": "30d", "count": {"gte": 2}},
  {"event": "order.paid", "within": "90d", "sum": {"gte": "500.00"}},
  {"event": "order.paid", "last": {"within": "30d"}},
  {"tag": "到店未成交", "appliedWithin": "7d"},
  {"not": {"segment": "blacklist"}},
  {"any": [{"attr": "tier", "op": "eq", "value": "gold"},
           {"attr": "birthday", "op": "birthdayWithin", "value": "7d"}]}
]}`, true)
}

func BenchmarkCompile(b *testing.B) {
	c, err := rule.ParseCondition([]byte(designJSON))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rule.Compile(c, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCondition(b *testing.B) {
	data := []byte(designJSON)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rule.ParseCondition(data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEvalDoesNotAllocate checks the promise of Eval's doc: no allocation
// when the Env does not allocate, for every operator on the attribute types
// Eval compares in place.
func TestEvalDoesNotAllocate(t *testing.T) {
	now := refNow()
	profile := benchProfile(now)
	var env rule.Env = fenEnv{testEnv: newEnv().
		attr("s", "上海市浦东").
		attr("i", 42).
		attr("u", uint16(7)).
		attr("f", 2.5).
		attr("d", scrm.Yuan("99.99")).
		attr("j", json.Number("12.50")).
		attr("b", true).
		attr("t", now.Add(-time.Hour)).
		attr("date", "2024-06-01").
		attr("bday", "06-18").
		attr("l", []string{"a", "b"}).
		attr("m", []any{"x", 3}).
		event("order.paid", now.Add(-time.Hour), "10.00").
		tag("vip", now.Add(-time.Hour)).
		segment("s")}
	c := rule.Any(
		rule.Attr("s").Eq("x"), rule.Attr("s").Ne("上海市浦东"), rule.Attr("s").In("a", "b"), rule.Attr("s").Nin("上海市浦东"),
		rule.Attr("s").Contains("x"), rule.Attr("s").Prefix("x"), rule.Attr("missing").Exists(),
		rule.Attr("i").Gt(100), rule.Attr("i").Lt("41.5"), rule.Attr("u").Between(8, 9), rule.Attr("f").Eq(3),
		rule.Attr("d").Gte("100.00"), rule.Attr("j").Lte(12.49), rule.Attr("b").Eq(false), rule.Attr("i").In(1, 2, 3),
		rule.Attr("t").Before("2024-01-01"), rule.Attr("t").After(now), rule.Attr("date").OlderThan(30*24*time.Hour),
		rule.Attr("t").Within(time.Minute), rule.Attr("bday").BirthdayWithin(2),
		rule.Attr("l").Contains("c"), rule.Attr("m").In(4), rule.Attr("l").Nin("a"),
		rule.Event("order.paid").Within(24*time.Hour).CountGte(2),
		rule.Event("order.paid").Within(24*time.Hour).SumGte(scrm.Yuan("10.01")),
		rule.Event("order.paid").LastOlderThan(2*time.Hour),
		rule.TagAppliedWithin("vip", time.Minute), rule.Not(rule.InSegment("s")),
	)
	p := rule.MustCompile(c, nil)
	require.False(t, p.Eval(env, now), "%s", p.Explain(env, now))
	assert.Zero(t, testing.AllocsPerRun(100, func() { p.Eval(env, now) }))

	for _, data := range []string{designJSON, `{"any":[{"attr":"tier","op":"eq","value":"gold"},{"attr":"birthday","op":"birthdayWithin","value":"7d"},{"event":"order.paid","within":"90d","sum":{"gte":"5000.00"}}]}`} {
		c, err := rule.ParseCondition([]byte(data))
		require.NoError(t, err)
		p := rule.MustCompile(c, nil)
		assert.Zero(t, testing.AllocsPerRun(100, func() { p.Eval(profile, now) }), data)
	}
}
