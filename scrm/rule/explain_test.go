package rule_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

func TestExplainString(t *testing.T) {
	p := rule.MustCompile(rule.All(
		rule.Attr("city").In("上海", "杭州"),
		rule.Event("order.paid").Within(30*24*time.Hour).CountGte(2),
		rule.Not(rule.InSegment("blacklist")),
		rule.Any(rule.Attr("tier").Eq("gold"), rule.HasTag("vip")),
	), nil)
	env := newEnv().attr("city", "上海").event("order.paid", daysAgo(3), "9.90").tag("vip", daysAgo(1))

	tr := p.Explain(env, refNow())
	assert.Equal(t, `false all
  true  attr city in ["上海", "杭州"] (observed "上海")
  false event order.paid within 30d count >= 2 (observed 1)
  true  not
    false segment blacklist (not a member)
  true  any
    false attr tier eq "gold" (missing)
    true  tag vip (applied 2024-06-14T12:00:00+08:00)
`, tr.String())
	assert.Equal(t, "", tr.Path)
	require.Len(t, tr.Children, 4)
	assert.Equal(t, "all[1]", tr.Children[1].Path)
	assert.Equal(t, "observed 1", tr.Children[1].Observed)
	assert.Equal(t, "all[2].not", tr.Children[2].Children[0].Path)
	assert.Equal(t, "all[3].any[1]", tr.Children[3].Children[1].Path)
}

func TestExplainObservations(t *testing.T) {
	env := newEnv().
		attr("n", 12).
		attr("d", "2024-06-01").
		attr("list", []string{"a", "b"}).
		attr("mixed", []any{"a", 1}).
		attr("at", refNow()).
		attr("obj", map[string]int{"k": 1}).
		event("order.paid", daysAgo(40), "300").
		event("order.paid", daysAgo(2), "200.5").
		tag("vip", daysAgo(9))
	env.expires["vip"] = daysAgo(1)
	exp := expiringEnv{env}
	fen := fenEnv{testEnv: env}
	for _, tc := range []struct {
		c        rule.Condition
		env      rule.Env
		observed string
	}{
		{rule.Attr("n").Gt(3), env, "observed 12"},
		{rule.Attr("d").Before("2024-07-01"), env, `observed "2024-06-01"`},
		{rule.Attr("list").Contains("a"), env, `observed ["a", "b"]`},
		{rule.Attr("mixed").Contains("a"), env, `observed ["a", 1]`},
		{rule.Attr("at").Within(time.Hour), env, "observed 2024-06-15T12:00:00+08:00"},
		{rule.Attr("obj").Exists(), env, "observed map[k:1]"},
		{rule.Attr("none").Missing(), env, "missing"},
		{rule.Event("order.paid").SumGte(scrm.Yuan("500")), env, "observed 500.50"},
		{rule.Event("order.paid").SumGte(scrm.Yuan("500")), fen, "observed 500.50"},
		{rule.Event("order.paid").Within(7 * 24 * time.Hour).SumGte(scrm.Yuan("500")), fen, "observed 200.50"},
		{rule.Event("order.paid").LastWithin(time.Hour), env, "observed 2024-06-13T12:00:00+08:00"},
		{rule.Event("x").LastWithin(time.Hour), env, "missing"},
		{rule.Condition{Event: "order.paid", Count: &rule.Cmp{Gte: "1"}, Sum: &rule.Cmp{Gt: "0"}, Last: &rule.LastCmp{Within: rule.Duration(time.Hour)}}, env,
			"observed count 2, sum 500.50, last 2024-06-13T12:00:00+08:00"},
		{rule.Condition{Event: "x", Count: &rule.Cmp{Eq: "0"}, Last: &rule.LastCmp{Within: rule.Duration(time.Hour)}}, env,
			"observed count 0, last missing"},
		{rule.HasTag("vip"), env, "applied 2024-06-06T12:00:00+08:00"},
		{rule.HasTag("vip"), exp, "applied 2024-06-06T12:00:00+08:00, expired 2024-06-14T12:00:00+08:00"},
		{rule.HasTag("x"), env, "missing"},
		{rule.InSegment("x"), env, "not a member"},
	} {
		p := rule.MustCompile(tc.c, nil)
		tr := p.Explain(tc.env, refNow())
		assert.Equal(t, tc.observed, tr.Observed, "%s", p)
		assert.Equal(t, p.Eval(tc.env, refNow()), tr.Result, "%s", p)
	}
}

func TestExplainMasksSensitiveAttributes(t *testing.T) {
	p := scrm.NewProfile("t1", "c1")
	p.SetAttr("phone", "13800138000")
	p.SetAttr("city", "上海")
	cond := rule.All(rule.Attr("phone").Prefix("138"), rule.Attr("city").Eq("上海"))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	s := rule.MustCompile(cond, nil).Explain(p, now).String()
	assert.NotContains(t, s, "13800138000")
	assert.Contains(t, s, `attr phone prefix "138" (observed (masked))`)
	assert.Contains(t, s, `(observed "上海")`)

	s = rule.MustCompile(cond, &rule.CompileOptions{Sensitive: []string{"city"}}).Explain(p, now).String()
	assert.Contains(t, s, "13800138000", "an explicit list replaces the default")
	assert.NotContains(t, s, `"上海")`)
}
