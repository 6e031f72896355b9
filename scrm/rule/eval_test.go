package rule_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// evalCase is one row of an Eval table.
type evalCase struct {
	name string
	c    rule.Condition
	env  rule.Env
	at   time.Time // zero: refNow()
	loc  *time.Location
	want bool
}

func (tc evalCase) run(t *testing.T) {
	t.Helper()
	at := tc.at
	if at.IsZero() {
		at = refNow()
	}
	var opts *rule.CompileOptions
	if tc.loc != nil {
		opts = &rule.CompileOptions{Location: tc.loc}
	}
	p, err := rule.Compile(tc.c, opts)
	require.NoError(t, err, "condition %s", tc.c)
	assert.Equal(t, tc.want, p.Eval(tc.env, at), "Eval of %s", p)
	tr := p.Explain(tc.env, at)
	assert.Equal(t, tc.want, tr.Result, "Explain of %s:\n%s", p, tr)
	m, err := p.Match(tc.env, at)
	require.NoError(t, err)
	assert.Equal(t, tc.want, m)
}

func runCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

// with returns an Env whose attribute "a" is v (set even when v is nil).
func with(v any) rule.Env { return newEnv().attr("a", v) }

func none() rule.Env { return newEnv() }

func TestEvalEqNe(t *testing.T) {
	a := rule.Attr("a")
	runCases(t, []evalCase{
		{name: "string eq", c: a.Eq("gold"), env: with("gold"), want: true},
		{name: "string eq other", c: a.Eq("gold"), env: with("silver")},
		{name: "string eq case", c: a.Eq("gold"), env: with("Gold")},
		{name: "string eq missing", c: a.Eq("gold"), env: none()},
		{name: "string eq nil value", c: a.Eq("gold"), env: with(nil)},
		{name: "string eq int", c: a.Eq("5"), env: with(5)},
		{name: "string eq list", c: a.Eq("gold"), env: with([]string{"gold"})},
		{name: "number eq int", c: a.Eq(5), env: with(5), want: true},
		{name: "number eq int64", c: a.Eq(5), env: with(int64(5)), want: true},
		{name: "number eq uint8", c: a.Eq(5), env: with(uint8(5)), want: true},
		{name: "number eq float", c: a.Eq(5), env: with(5.0), want: true},
		{name: "number eq float fraction", c: a.Eq(json.Number("0.1")), env: with(0.1), want: true},
		{name: "number eq float32", c: a.Eq(0.1), env: with(float32(0.1)), want: true},
		{name: "number eq decimal", c: a.Eq(5), env: with(scrm.Yuan("5.00")), want: true},
		{name: "number eq decimal pointer", c: a.Eq(5), env: with(new(decimal.Decimal))},
		{name: "number eq json.Number", c: a.Eq(5), env: with(json.Number("5.0")), want: true},
		{name: "number eq json.Number exp", c: a.Eq(5), env: with(json.Number("5e0")), want: true},
		{name: "number eq bad json.Number", c: a.Eq(5), env: with(json.Number("x"))},
		{name: "number eq string", c: a.Eq(5), env: with("5")},
		{name: "number eq bool", c: a.Eq(1), env: with(true)},
		{name: "number eq int vs fraction", c: a.Eq(2.5), env: with(2)},
		{name: "number eq NaN", c: a.Eq(1), env: with(math.NaN())},
		{name: "bool eq", c: a.Eq(true), env: with(true), want: true},
		{name: "bool eq false", c: a.Eq(false), env: with(false), want: true},
		{name: "bool eq other", c: a.Eq(true), env: with(false)},
		{name: "bool eq string", c: a.Eq(true), env: with("true")},
		{name: "ne string", c: a.Ne("gold"), env: with("silver"), want: true},
		{name: "ne string same", c: a.Ne("gold"), env: with("gold")},
		{name: "ne missing", c: a.Ne("gold"), env: none(), want: true},
		{name: "ne nil value", c: a.Ne("gold"), env: with(nil), want: true},
		{name: "ne type mismatch", c: a.Ne("gold"), env: with(5)},
		{name: "ne number", c: a.Ne(5), env: with(6), want: true},
		{name: "ne number same", c: a.Ne(5), env: with(scrm.Yuan("5.0"))},
		{name: "ne NaN", c: a.Ne(1), env: with(math.NaN())},
		{name: "ne bool", c: a.Ne(true), env: with(false), want: true},
	})
}

func TestEvalOrdering(t *testing.T) {
	a := rule.Attr("a")
	runCases(t, []evalCase{
		{name: "gte at equality", c: a.Gte(18), env: with(18), want: true},
		{name: "gt at equality", c: a.Gt(18), env: with(18)},
		{name: "lte at equality", c: a.Lte(18), env: with(18), want: true},
		{name: "lt at equality", c: a.Lt(18), env: with(18)},
		{name: "gt above", c: a.Gt(18), env: with(19), want: true},
		{name: "lt below", c: a.Lt(18), env: with(-19), want: true},
		{name: "int gt fraction", c: a.Gt(2.5), env: with(3), want: true},
		{name: "int gt fraction below", c: a.Gt(2.5), env: with(2)},
		{name: "int gte fraction", c: a.Gte(2.5), env: with(2)},
		{name: "negative int lt fraction", c: a.Lt(-2.5), env: with(-3), want: true},
		{name: "negative int lt fraction above", c: a.Lt(-2.5), env: with(-2)},
		{name: "float gte", c: a.Gte(18), env: with(18.0), want: true},
		{name: "float just below", c: a.Gte(18), env: with(17.999)},
		{name: "float32", c: a.Gt(1.5), env: with(float32(1.75)), want: true},
		{name: "decimal gte", c: a.Gte("100"), env: with(scrm.Yuan("100.00")), want: true},
		{name: "decimal below", c: a.Gte("100"), env: with(scrm.Yuan("99.99"))},
		{name: "decimal sub-fen", c: a.Gt("100.00"), env: with(decimal.RequireFromString("100.005")), want: true},
		{name: "decimal huge", c: a.Gt(1), env: with(decimal.RequireFromString("123456789012345678901234567890")), want: true},
		{name: "decimal huge constant", c: a.Lt("123456789012345678901234567890"), env: with(scrm.Yuan("5")), want: true},
		{name: "decimal tiny", c: a.Gt(0), env: with(decimal.New(1, -30)), want: true},
		{name: "decimal positive exponent", c: a.Gt(999), env: with(decimal.New(1, 3)), want: true},
		{name: "json.Number", c: a.Gte(18), env: with(json.Number("18")), want: true},
		{name: "json.Number exponent", c: a.Gte(18), env: with(json.Number("1.8e1")), want: true},
		{name: "json.Number fraction", c: a.Lt("0.3"), env: with(json.Number("0.29999999999999999999")), want: true},
		{name: "json.Number huge", c: a.Gt(1), env: with(json.Number("1234567890123456789012345")), want: true},
		{name: "json.Number vs huge constant", c: a.Lt("1234567890123456789012345"), env: with(json.Number("12.5")), want: true},
		{name: "max int64 below huge", c: a.Lt("1e30"), env: with(int64(math.MaxInt64)), want: true},
		{name: "min int64 above tiny", c: a.Gt("-1e30"), env: with(int64(math.MinInt64)), want: true},
		{name: "max uint64", c: a.Gt(1), env: with(uint64(math.MaxUint64)), want: true},
		{name: "max uint64 vs huge", c: a.Gt("1e25"), env: with(uint64(math.MaxUint64))},
		{name: "max uint64 vs near", c: a.Eq(uint64(math.MaxUint64)), env: with(uint64(math.MaxUint64)), want: true},
		{name: "numeric string constant", c: a.Gte("500.00"), env: with(500), want: true},
		{name: "string attr", c: a.Gt(18), env: with("20")},
		{name: "missing", c: a.Gt(18), env: none()},
		{name: "NaN", c: a.Lt(18), env: with(math.NaN())},
		{name: "time attr", c: a.Gt(1), env: with(refNow())},
	})
}

func TestEvalBetween(t *testing.T) {
	b := rule.Attr("a").Between(18, 30)
	runCases(t, []evalCase{
		{name: "low end", c: b, env: with(18), want: true},
		{name: "high end", c: b, env: with(30), want: true},
		{name: "inside float", c: b, env: with(18.5), want: true},
		{name: "decimal high end", c: b, env: with(scrm.Yuan("30.00")), want: true},
		{name: "below", c: b, env: with(17), want: false},
		{name: "above", c: b, env: with(30.01), want: false},
		{name: "string", c: b, env: with("20")},
		{name: "missing", c: b, env: none()},
		{name: "single point", c: rule.Attr("a").Between("1.5", 1.5), env: with(1.5), want: true},
	})
}

func TestEvalInNin(t *testing.T) {
	in := rule.Attr("a").In("上海", "杭州")
	nin := rule.Attr("a").Nin("上海", "杭州")
	inN := rule.Attr("a").In(1, 2, "3.5")
	ninN := rule.Attr("a").Nin(1, 2)
	runCases(t, []evalCase{
		{name: "in", c: in, env: with("上海"), want: true},
		{name: "in last", c: in, env: with("杭州"), want: true},
		{name: "in not", c: in, env: with("北京")},
		{name: "in missing", c: in, env: none()},
		{name: "in type mismatch", c: in, env: with(1)},
		{name: "nin", c: nin, env: with("北京"), want: true},
		{name: "nin member", c: nin, env: with("上海")},
		{name: "nin missing", c: nin, env: none(), want: true},
		{name: "nin type mismatch", c: nin, env: with(1)},
		{name: "in list attr", c: in, env: with([]string{"北京", "杭州"}), want: true},
		{name: "in list attr none", c: in, env: with([]string{"北京"})},
		{name: "in empty list attr", c: in, env: with([]string{})},
		{name: "nin list attr", c: nin, env: with([]string{"北京"}), want: true},
		{name: "nin list attr member", c: nin, env: with([]string{"北京", "上海"})},
		{name: "nin empty list attr", c: nin, env: with([]string{}), want: true},
		{name: "in []any attr", c: in, env: with([]any{1, "上海"}), want: true},
		{name: "in numbers", c: inN, env: with(2), want: true},
		{name: "in numbers float", c: inN, env: with(3.5), want: true},
		{name: "in numbers decimal", c: inN, env: with(scrm.Yuan("2.00")), want: true},
		{name: "in numbers not", c: inN, env: with(4)},
		{name: "in numbers string attr", c: inN, env: with("2")},
		{name: "in numbers []any", c: inN, env: with([]any{json.Number("2")}), want: true},
		{name: "in numbers []string", c: inN, env: with([]string{"2"})},
		{name: "nin numbers", c: ninN, env: with(3), want: true},
		{name: "nin numbers member", c: ninN, env: with(int64(2))},
		{name: "nin numbers string attr", c: ninN, env: with("3")},
		{name: "nin numbers []string", c: ninN, env: with([]string{"1"}), want: true},
		{name: "in duplicates", c: rule.Attr("a").In("x", "x", "y"), env: with("y"), want: true},
	})
}

func TestEvalContainsPrefixExists(t *testing.T) {
	a := rule.Attr("a")
	runCases(t, []evalCase{
		{name: "contains substring", c: a.Contains("浦东"), env: with("上海市浦东新区"), want: true},
		{name: "contains no", c: a.Contains("浦西"), env: with("上海市浦东新区")},
		{name: "contains empty", c: a.Contains(""), env: with("x"), want: true},
		{name: "contains element", c: a.Contains("游泳"), env: with([]string{"跑步", "游泳"}), want: true},
		{name: "contains not substring of element", c: a.Contains("游"), env: with([]string{"跑步", "游泳"})},
		{name: "contains []any string", c: a.Contains("x"), env: with([]any{1, "x"}), want: true},
		{name: "contains []any number", c: a.Contains(1), env: with([]any{"1", json.Number("1.0")}), want: true},
		{name: "contains number in []string", c: a.Contains(1), env: with([]string{"1"})},
		{name: "contains number in string", c: a.Contains(1), env: with("1")},
		{name: "contains on int", c: a.Contains("1"), env: with(1)},
		{name: "contains missing", c: a.Contains("x"), env: none()},
		{name: "prefix", c: a.Prefix("138"), env: with("13800138000"), want: true},
		{name: "prefix whole", c: a.Prefix("138"), env: with("138"), want: true},
		{name: "prefix no", c: a.Prefix("139"), env: with("13800138000")},
		{name: "prefix int", c: a.Prefix("1"), env: with(138)},
		{name: "prefix list", c: a.Prefix("a"), env: with([]string{"abc"})},
		{name: "prefix missing", c: a.Prefix("a"), env: none()},
		{name: "exists", c: a.Exists(), env: with(0), want: true},
		{name: "exists empty string", c: a.Exists(), env: with(""), want: true},
		{name: "exists missing", c: a.Exists(), env: none()},
		{name: "exists nil", c: a.Exists(), env: with(nil)},
		{name: "exists true", c: rule.Condition{Attr: "a", Op: "exists", Value: true}, env: with(1), want: true},
		{name: "missing", c: a.Missing(), env: none(), want: true},
		{name: "missing nil", c: a.Missing(), env: with(nil), want: true},
		{name: "missing present", c: a.Missing(), env: with(false)},
	})
}

func TestEvalBeforeAfter(t *testing.T) {
	loc := scrm.DefaultLocation()
	newYear := time.Date(2024, 1, 1, 0, 0, 0, 0, loc)
	before := rule.Attr("a").Before("2024-01-01")
	after := rule.Attr("a").After("2024-01-01")
	instant := rule.Attr("a").After("2024-01-01T00:00:00+08:00")
	runCases(t, []evalCase{
		{name: "before date", c: before, env: with(newYear.Add(-time.Nanosecond)), want: true},
		{name: "before date at midnight", c: before, env: with(newYear)},
		{name: "before date in UTC", c: before, env: with(time.Date(2023, 12, 31, 15, 59, 59, 0, time.UTC)), want: true},
		{name: "before date at midnight in UTC", c: before, env: with(time.Date(2023, 12, 31, 16, 0, 0, 0, time.UTC))},
		{name: "before date other location", c: before, loc: time.UTC, env: with(time.Date(2024, 1, 1, 3, 0, 0, 0, loc)), want: true},
		{name: "before date string attr", c: before, env: with("2023-12-31"), want: true},
		{name: "before date same day string", c: before, env: with("2024-01-01")},
		{name: "before RFC 3339 string attr", c: before, env: with("2023-12-31T15:59:59Z"), want: true},
		{name: "before garbage string", c: before, env: with("yesterday")},
		{name: "before zero time", c: before, env: with(time.Time{})},
		{name: "before int", c: before, env: with(20231231)},
		{name: "before missing", c: before, env: none()},
		{name: "before time pointer", c: before, env: with(&time.Time{})},
		{name: "before instant", c: rule.Attr("a").Before(newYear), env: with(newYear.Add(-1)), want: true},
		{name: "after date same day end", c: after, env: with(newYear.Add(24*time.Hour - 1))},
		{name: "after date next day", c: after, env: with(newYear.Add(24 * time.Hour)), want: true},
		{name: "after date on the day", c: after, env: with(newYear)},
		{name: "after date string attr next day", c: after, env: with("2024-01-02"), want: true},
		{name: "after instant equal", c: instant, env: with(newYear)},
		{name: "after instant later", c: instant, env: with(newYear.Add(time.Nanosecond)), want: true},
		{name: "after instant in UTC", c: instant, env: with(time.Date(2023, 12, 31, 16, 0, 1, 0, time.UTC)), want: true},
		{name: "after Go time", c: rule.Attr("a").After(newYear), env: with(newYear.Add(time.Second)), want: true},
	})
}

func TestEvalWithinOlderThan(t *testing.T) {
	within := rule.Attr("a").Within(7 * 24 * time.Hour)
	older := rule.Attr("a").OlderThan(30 * 24 * time.Hour)
	runCases(t, []evalCase{
		{name: "within", c: within, env: with(daysAgo(3)), want: true},
		{name: "within boundary", c: within, env: with(daysAgo(7)), want: true},
		{name: "within past boundary", c: within, env: with(daysAgo(7).Add(-time.Second))},
		{name: "within now", c: within, env: with(refNow()), want: true},
		{name: "within future", c: within, env: with(refNow().Add(time.Hour))},
		{name: "within date string", c: within, env: with("2024-06-10"), want: true},
		{name: "within missing", c: within, env: none()},
		{name: "within string", c: within, env: with("recently")},
		{name: "olderThan", c: older, env: with(daysAgo(31)), want: true},
		{name: "olderThan boundary", c: older, env: with(daysAgo(30))},
		{name: "olderThan just past boundary", c: older, env: with(daysAgo(30).Add(-time.Nanosecond)), want: true},
		{name: "olderThan recent", c: older, env: with(daysAgo(29))},
		{name: "olderThan missing", c: older, env: none()},
	})
}

func TestEvalBirthdayWithin(t *testing.T) {
	loc := scrm.DefaultLocation()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, loc) }
	w7 := rule.Attr("a").BirthdayWithin(7)
	w1 := rule.Attr("a").BirthdayWithin(1)
	runCases(t, []evalCase{
		{name: "today", c: w7, env: with("06-15"), want: true},
		{name: "in 7 days", c: w7, env: with("06-22"), want: true},
		{name: "in 8 days", c: w7, env: with("06-23")},
		{name: "yesterday", c: w7, env: with("06-14")},
		{name: "full date", c: w7, env: with("1990-06-20"), want: true},
		{name: "time.Time", c: w7, env: with(time.Date(1990, 6, 20, 0, 0, 0, 0, time.UTC)), want: true},
		{name: "time.Time own location", c: w7, env: with(time.Date(1990, 6, 14, 20, 0, 0, 0, time.UTC))},
		{name: "year wrap passed", c: w7, at: day(2024, 12, 30), env: with("12-28")},
		{name: "year wrap ahead", c: w7, at: day(2024, 12, 30), env: with("01-02"), want: true},
		{name: "year wrap boundary", c: w7, at: day(2024, 12, 30), env: with("01-06"), want: true},
		{name: "year wrap past boundary", c: w7, at: day(2024, 12, 30), env: with("01-07")},
		{name: "29 Feb non-leap eve", c: w1, at: day(2025, 2, 27), env: with("2000-02-29"), want: true},
		{name: "29 Feb non-leap on 28th", c: w1, at: day(2025, 2, 28), env: with("02-29"), want: true},
		{name: "29 Feb non-leap after", c: w7, at: day(2025, 3, 1), env: with("02-29")},
		{name: "29 Feb leap eve", c: w1, at: day(2024, 2, 28), env: with("2000-02-29"), want: true},
		{name: "29 Feb leap day", c: w1, at: day(2024, 2, 29), env: with("02-29"), want: true},
		{name: "29 Feb leap two days ahead", c: w1, at: day(2024, 2, 27), env: with("02-29")},
		{name: "29 Feb next year is leap", c: w1, at: day(2027, 12, 31), env: with("02-29")},
		{name: "29 Feb seen from Dec before non-leap", c: rule.Attr("a").BirthdayWithin(60), at: day(2024, 12, 31), env: with("02-29"), want: true},
		{name: "28 Feb on leap day", c: w1, at: day(2024, 2, 29), env: with("02-28")},
		{name: "local today", c: w7, at: time.Date(2024, 6, 14, 20, 0, 0, 0, time.UTC), env: with("06-14")},
		{name: "UTC today", c: w7, loc: time.UTC, at: time.Date(2024, 6, 14, 20, 0, 0, 0, time.UTC), env: with("06-14"), want: true},
		{name: "invalid date", c: w7, env: with("1990-02-30")},
		{name: "invalid month", c: w7, env: with("13-01")},
		{name: "garbage", c: w7, env: with("June 20")},
		{name: "int", c: w7, env: with(620)},
		{name: "zero time", c: w7, env: with(time.Time{})},
		{name: "missing", c: w7, env: none()},
	})
}

func TestEvalEvents(t *testing.T) {
	paid := scrm.EventOrderPaid
	e := newEnv().
		event(paid, daysAgo(30), "300.00"). // exactly on the 30d boundary
		event(paid, daysAgo(10), "199.99").
		event(paid, daysAgo(100), "1000.00").
		event("page.viewed", daysAgo(1), "")
	ev := rule.Event(paid)
	runCases(t, []evalCase{
		{name: "count window boundary", c: ev.Within(30 * 24 * time.Hour).CountGte(2), env: e, want: true},
		{name: "count window excludes", c: ev.Within(29 * 24 * time.Hour).CountGte(2), env: e},
		{name: "count all time", c: ev.CountEq(3), env: e, want: true},
		{name: "count lt", c: ev.CountLt(3), env: e},
		{name: "count range", c: ev.Count(rule.Cmp{Gt: "1", Lte: "3", Ne: "2"}), env: e, want: true},
		{name: "count zero", c: rule.Event("x").CountEq(0), env: e, want: true},
		{name: "happened", c: rule.Event("page.viewed").Within(24 * time.Hour).Happened(), env: e, want: true},
		{name: "happened none", c: rule.Event("x").Happened(), env: e},
		{name: "sum gte equal", c: ev.Within(30 * 24 * time.Hour).SumGte(scrm.Yuan("499.99")), env: e, want: true},
		{name: "sum gte above", c: ev.Within(30 * 24 * time.Hour).SumGte(scrm.Yuan("500")), env: e},
		{name: "sum all time", c: ev.SumGt(scrm.Yuan("1499.98")), env: e, want: true},
		{name: "sum sub-fen bound", c: ev.SumLt(decimal.RequireFromString("1499.991")), env: e, want: true},
		{name: "sum no events", c: rule.Event("x").SumLte(decimal.Zero), env: e, want: true},
		{name: "last olderThan", c: rule.Event("page.viewed").LastOlderThan(12 * time.Hour), env: e, want: true},
		{name: "last olderThan boundary", c: rule.Event("page.viewed").LastOlderThan(24 * time.Hour), env: e},
		{name: "last olderThan recent", c: ev.LastOlderThan(30 * 24 * time.Hour), env: e},
		{name: "last olderThan no events", c: rule.Event("x").LastOlderThan(time.Hour), env: e},
		{name: "last within boundary", c: rule.Event("page.viewed").LastWithin(24 * time.Hour), env: e, want: true},
		{name: "last within", c: ev.LastWithin(7 * 24 * time.Hour), env: e},
		{name: "last both", c: rule.Condition{Event: paid, Last: &rule.LastCmp{OlderThan: rule.Duration(7 * 24 * time.Hour), Within: rule.Duration(14 * 24 * time.Hour)}}, env: e, want: true},
		{name: "count and sum and last", c: rule.Condition{Event: paid, Within: rule.Duration(30 * 24 * time.Hour), Count: &rule.Cmp{Gte: "2"}, Sum: &rule.Cmp{Gte: "400"}, Last: &rule.LastCmp{Within: rule.Duration(10 * 24 * time.Hour)}}, env: e, want: true},
		{name: "count and sum fails", c: rule.Condition{Event: paid, Within: rule.Duration(30 * 24 * time.Hour), Count: &rule.Cmp{Gte: "2"}, Sum: &rule.Cmp{Gte: "600"}}, env: e},
		{name: "not last includes never", c: rule.Not(rule.Event("x").LastWithin(time.Hour)), env: e, want: true},
	})
}

func TestEvalSumFenMatchesSum(t *testing.T) {
	base := newEnv().
		event("order.paid", daysAgo(1), "0.10").
		event("order.paid", daysAgo(2), "0.20").
		event("order.refunded", daysAgo(3), "100.00")
	bounds := []string{"0.30", "0.3", "0.29", "0.31", "0", "0.300", "0.295", "1e-1", "3e-1", "-5", "100", "99.99"}
	for _, b := range bounds {
		for _, typ := range []string{"order.paid", "order.refunded", "none"} {
			for _, cmp := range []rule.Cmp{{Eq: json.Number(b)}, {Ne: json.Number(b)}, {Gt: json.Number(b)}, {Gte: json.Number(b)}, {Lt: json.Number(b)}, {Lte: json.Number(b)}} {
				c := rule.Event(typ).Within(7 * 24 * time.Hour).Sum(cmp)
				p := rule.MustCompile(c, nil)
				plain := p.Eval(base, refNow())
				assert.Equal(t, plain, p.Eval(fenEnv{testEnv: base}, refNow()), "fen path of %s", p)
				assert.Equal(t, plain, p.Eval(fenEnv{testEnv: base, refuse: true}, refNow()), "refused fen path of %s", p)
				assert.Equal(t, plain, p.Explain(fenEnv{testEnv: base}, refNow()).Result, "explain of %s", p)
			}
		}
	}

	// The fen path is taken for whole-fen bounds, and only then.
	env := newEnv().event("order.paid", daysAgo(1), "10.00")
	fe := fenEnv{testEnv: env}
	require.True(t, rule.MustCompile(rule.Event("order.paid").SumGte(scrm.Yuan("10.00")), nil).Eval(fe, refNow()))
	assert.EqualValues(t, 1, env.fenCalls.Load())
	assert.EqualValues(t, 0, env.sumCalls.Load())
	require.True(t, rule.MustCompile(rule.Event("order.paid").SumGte(decimal.RequireFromString("9.999")), nil).Eval(fe, refNow()))
	assert.EqualValues(t, 1, env.fenCalls.Load())
	assert.EqualValues(t, 1, env.sumCalls.Load())
	require.True(t, rule.MustCompile(rule.Event("order.paid").SumGte(scrm.Yuan("10")), nil).Eval(fenEnv{testEnv: env, refuse: true}, refNow()))
	assert.EqualValues(t, 2, env.fenCalls.Load())
	assert.EqualValues(t, 2, env.sumCalls.Load())
}

func TestEvalTags(t *testing.T) {
	e := newEnv().tag("vip", daysAgo(7)).tag("new", daysAgo(1)).tag("old", daysAgo(100))
	e.expires["vip"] = refNow()
	e.expires["new"] = refNow().Add(time.Second)
	e.expires["old"] = time.Time{}
	exp := expiringEnv{e}
	runCases(t, []evalCase{
		{name: "has tag", c: rule.HasTag("vip"), env: e, want: true},
		{name: "missing tag", c: rule.HasTag("x"), env: e},
		{name: "applied within boundary", c: rule.TagAppliedWithin("vip", 7*24*time.Hour), env: e, want: true},
		{name: "applied within too old", c: rule.TagAppliedWithin("vip", 7*24*time.Hour-time.Second), env: e},
		{name: "expired at now", c: rule.HasTag("vip"), env: exp},
		{name: "expires later", c: rule.HasTag("new"), env: exp, want: true},
		{name: "expires later recent", c: rule.TagAppliedWithin("new", 2*24*time.Hour), env: exp, want: true},
		{name: "zero expiry", c: rule.HasTag("old"), env: exp, want: true},
		{name: "expired one second ago", c: rule.HasTag("new"), at: refNow().Add(2 * time.Second), env: exp},
		{name: "no expiry map entry", c: rule.HasTag("x"), env: exp},
	})
}

func TestEvalComposite(t *testing.T) {
	e := newEnv().segment("blacklist").attr("tier", "gold")
	runCases(t, []evalCase{
		{name: "segment", c: rule.InSegment("blacklist"), env: e, want: true},
		{name: "not segment", c: rule.Not(rule.InSegment("blacklist")), env: e},
		{name: "other segment", c: rule.InSegment("vip"), env: e},
		{name: "all", c: rule.All(rule.InSegment("blacklist"), rule.Attr("tier").Eq("gold")), env: e, want: true},
		{name: "all one false", c: rule.All(rule.InSegment("blacklist"), rule.Attr("tier").Eq("silver")), env: e},
		{name: "any", c: rule.Any(rule.InSegment("vip"), rule.Attr("tier").Eq("gold")), env: e, want: true},
		{name: "any none", c: rule.Any(rule.InSegment("vip"), rule.Attr("tier").Eq("silver")), env: e},
		{name: "double not", c: rule.Not(rule.Not(rule.InSegment("blacklist"))), env: e, want: true},
	})
}

func TestEvalDesign(t *testing.T) {
	c, err := rule.ParseCondition([]byte(designJSON))
	require.NoError(t, err)
	p, err := rule.Compile(c, nil)
	require.NoError(t, err)

	// The design example asks for 2 orders within 30 days and for the last
	// order to be older than 30 days: no customer satisfies both. Every
	// other child holds for this one.
	e := newEnv().
		attr("city", "杭州").
		attr("tier", "silver").
		attr("birthday", "1990-06-18").
		event("order.paid", daysAgo(20), "450.00").
		event("order.paid", daysAgo(5), "100.00").
		tag("到店未成交", daysAgo(2))
	tr := p.Explain(e, refNow())
	assert.False(t, tr.Result)
	assert.False(t, p.Eval(e, refNow()))
	var results []bool
	for _, c := range tr.Children {
		results = append(results, c.Result)
	}
	assert.Equal(t, []bool{true, true, true, false, true, true, true}, results, "%s", tr)

	// Without the contradictory child the rest matches.
	c.All = append(c.All[:3:3], c.All[4:]...)
	assert.True(t, rule.MustCompile(c, nil).Eval(e, refNow()))
}

func TestEvalNilAndMatch(t *testing.T) {
	p := rule.MustCompile(rule.InSegment("s"), nil)
	env := newEnv().segment("s")

	assert.False(t, p.Eval(nil, refNow()))
	var nilProgram *rule.Program
	assert.False(t, nilProgram.Eval(env, refNow()))
	assert.False(t, (&rule.Program{}).Eval(env, refNow()))
	assert.True(t, p.Eval(env, time.Time{}), "Eval does not check now")

	_, err := p.Match(nil, refNow())
	requireInvalid(t, err, "env")
	_, err = p.Match(env, time.Time{})
	requireInvalid(t, err, "now")
	_, err = nilProgram.Match(env, refNow())
	requireInvalid(t, err, "program")
	ok, err := p.Match(env, refNow())
	require.NoError(t, err)
	assert.True(t, ok)

	assert.False(t, nilProgram.Explain(env, refNow()).Result)
	assert.False(t, p.Explain(nil, refNow()).Result)
	assert.Equal(t, rule.Deps{}, nilProgram.Deps())
	assert.Equal(t, "<empty program>", nilProgram.String())
}

func TestEvalConcurrent(t *testing.T) {
	c, err := rule.ParseCondition([]byte(designJSON))
	require.NoError(t, err)
	p := rule.MustCompile(c, nil)
	env := newEnv().attr("city", "上海").attr("tier", "gold").
		event("order.paid", daysAgo(40), "600").event("order.paid", daysAgo(35), "1").
		tag("到店未成交", daysAgo(1))
	want := p.Eval(env, refNow())
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 200 {
				ok = ok && p.Eval(env, refNow()) == want && p.Explain(env, refNow()).Result == want
			}
			done <- ok
		}()
	}
	for range 8 {
		assert.True(t, <-done)
	}
}
