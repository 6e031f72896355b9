package rule_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm/rule"
)

func TestDeps(t *testing.T) {
	c, err := rule.ParseCondition([]byte(designJSON))
	require.NoError(t, err)
	p := rule.MustCompile(c, nil)
	d := p.Deps()
	assert.Equal(t, rule.Deps{
		Attrs:     []string{"birthday", "city", "tier"},
		Events:    []string{"order.paid"},
		Tags:      []string{"到店未成交"},
		Segments:  []string{"blacklist"},
		TimeBased: true,
	}, d)

	// The caller owns the slices.
	d.Attrs[0] = "changed"
	assert.Equal(t, "birthday", p.Deps().Attrs[0])

	for _, tc := range []struct {
		name string
		c    rule.Condition
		time bool
	}{
		{"attr eq", rule.Attr("a").Eq(1), false},
		{"attr in", rule.Attr("a").In("x"), false},
		{"attr before", rule.Attr("a").Before("2024-01-01"), true},
		{"attr after", rule.Attr("a").After("2024-01-01"), true},
		{"attr within", rule.Attr("a").Within(time.Hour), true},
		{"attr olderThan", rule.Attr("a").OlderThan(time.Hour), true},
		{"attr birthday", rule.Attr("a").BirthdayWithin(3), true},
		{"event all time", rule.Event("e").CountGte(1), false},
		{"event sum all time", rule.Event("e").Sum(rule.Cmp{Gt: "0"}), false},
		{"event window", rule.Event("e").Within(time.Hour).Happened(), true},
		{"event last", rule.Event("e").LastWithin(time.Hour), true},
		{"tag", rule.HasTag("t"), true},
		{"segment", rule.InSegment("s"), false},
		{"nested", rule.Not(rule.Any(rule.InSegment("s"), rule.Attr("a").Within(time.Hour))), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.time, rule.MustCompile(tc.c, nil).Deps().TimeBased)
		})
	}

	d = rule.MustCompile(rule.All(rule.Attr("b").Exists(), rule.Attr("a").Exists(), rule.Attr("b").Eq(1),
		rule.Event("y").Happened(), rule.Event("x").Happened(), rule.InSegment("s"), rule.InSegment("s")), nil).Deps()
	assert.Equal(t, []string{"a", "b"}, d.Attrs)
	assert.Equal(t, []string{"x", "y"}, d.Events)
	assert.Equal(t, []string{"s"}, d.Segments)
	assert.Empty(t, d.Tags)
}

func TestBuilders(t *testing.T) {
	day := 24 * time.Hour
	c := rule.All(
		rule.Attr("city").In("上海", "杭州"),
		rule.Event("order.paid").Within(30*day).CountGte(2),
		rule.Event("order.paid").Within(90*day).SumGte(decimalOf("500.00")),
		rule.Event("order.paid").LastOlderThan(30*day),
		rule.TagAppliedWithin("到店未成交", 7*day),
		rule.Not(rule.InSegment("blacklist")),
		rule.Any(rule.Attr("tier").Eq("gold"), rule.Attr("birthday").BirthdayWithin(7)),
	)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `{"all":[
		{"attr":"city","op":"in","value":["上海","杭州"]},
		{"event":"order.paid","within":"30d","count":{"gte":2}},
		{"event":"order.paid","within":"90d","sum":{"gte":500.00}},
		{"event":"order.paid","last":{"olderThan":"30d"}},
		{"tag":"到店未成交","appliedWithin":"1w"},
		{"not":{"segment":"blacklist"}},
		{"any":[{"attr":"tier","op":"eq","value":"gold"},{"attr":"birthday","op":"birthdayWithin","value":"1w"}]}
	]}`, string(b))

	fromJSON, err := rule.ParseCondition([]byte(designJSON))
	require.NoError(t, err)
	env := newEnv().attr("city", "上海").attr("tier", "gold").
		event("order.paid", daysAgo(45), "600").event("order.paid", daysAgo(40), "1").
		tag("到店未成交", daysAgo(1))
	built, parsed := rule.MustCompile(c, nil), rule.MustCompile(fromJSON, nil)
	assert.Equal(t, parsed.Explain(env, refNow()).String(), built.Explain(env, refNow()).String())

	for _, tc := range []struct {
		c    rule.Condition
		want string
	}{
		{rule.Attr("a").Ne(1), `{"attr":"a","op":"ne","value":1}`},
		{rule.Attr("a").Gt(1), `{"attr":"a","op":"gt","value":1}`},
		{rule.Attr("a").Lt(1), `{"attr":"a","op":"lt","value":1}`},
		{rule.Attr("a").Lte(1), `{"attr":"a","op":"lte","value":1}`},
		{rule.Attr("a").Gte("1.5"), `{"attr":"a","op":"gte","value":"1.5"}`},
		{rule.Attr("a").Between(1, 2), `{"attr":"a","op":"between","value":[1,2]}`},
		{rule.Attr("a").Nin("x"), `{"attr":"a","op":"nin","value":["x"]}`},
		{rule.Attr("a").Contains("x"), `{"attr":"a","op":"contains","value":"x"}`},
		{rule.Attr("a").Prefix("x"), `{"attr":"a","op":"prefix","value":"x"}`},
		{rule.Attr("a").Exists(), `{"attr":"a","op":"exists"}`},
		{rule.Attr("a").Missing(), `{"attr":"a","op":"exists","value":false}`},
		{rule.Attr("a").Before("2024-01-01"), `{"attr":"a","op":"before","value":"2024-01-01"}`},
		{rule.Attr("a").After("2024-01-01"), `{"attr":"a","op":"after","value":"2024-01-01"}`},
		{rule.Attr("a").Within(90 * time.Minute), `{"attr":"a","op":"within","value":"90m"}`},
		{rule.Attr("a").OlderThan(12 * time.Hour), `{"attr":"a","op":"olderThan","value":"12h"}`},
		{rule.Event("e").CountEq(0), `{"event":"e","count":{"eq":0}}`},
		{rule.Event("e").CountGt(1), `{"event":"e","count":{"gt":1}}`},
		{rule.Event("e").CountLt(1), `{"event":"e","count":{"lt":1}}`},
		{rule.Event("e").CountLte(1), `{"event":"e","count":{"lte":1}}`},
		{rule.Event("e").SumGt(decimalOf("0.01")), `{"event":"e","sum":{"gt":0.01}}`},
		{rule.Event("e").SumLt(decimalOf("1")), `{"event":"e","sum":{"lt":1}}`},
		{rule.Event("e").SumLte(decimalOf("1")), `{"event":"e","sum":{"lte":1}}`},
		{rule.Event("e").LastWithin(day), `{"event":"e","last":{"within":"1d"}}`},
		{rule.Event("e").Happened(), `{"event":"e"}`},
		{rule.HasTag("t"), `{"tag":"t"}`},
		{rule.Any(), `{"any":[]}`},
	} {
		assert.Equal(t, tc.want, tc.c.String())
		_, err := rule.Compile(tc.c, nil)
		if tc.want == `{"any":[]}` {
			assert.Error(t, err)
		} else {
			assert.NoError(t, err, tc.want)
		}
	}
}
