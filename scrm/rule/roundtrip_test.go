package rule_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm/rule"
)

// requireSameMeaningAfterJSON compiles c, encodes it, decodes and compiles
// it again, and checks both programs agree on env.
func requireSameMeaningAfterJSON(t *testing.T, c rule.Condition, env rule.Env) {
	t.Helper()
	p1, err := rule.Compile(c, nil)
	require.NoError(t, err)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	c2, err := rule.ParseCondition(b)
	require.NoError(t, err, "decoding %s", b)
	p2, err := rule.Compile(c2, nil)
	require.NoError(t, err, "recompiling %s", b)
	require.Equal(t, p1.Eval(env, refNow()), p2.Eval(env, refNow()),
		"semantics changed through JSON %s: %s vs %s", b, p1, p2)
}

// Condition.Value documents decimal.Decimal as a number operand. eq with a
// decimal compiles as a numeric comparison, but decimal.Decimal encodes as
// a JSON string ("5"), which decodes back as a string comparison: an int
// attribute 5 matches before the round trip and not after.
func TestDecimalEqRoundTrip(t *testing.T) {
	env := newEnv().attr("a", 5)
	requireSameMeaningAfterJSON(t, rule.Attr("a").Eq(decimal.RequireFromString("5")), env)
}

func TestDecimalInRoundTrip(t *testing.T) {
	env := newEnv().attr("a", 5)
	requireSameMeaningAfterJSON(t, rule.Attr("a").In(decimal.RequireFromString("5"), decimal.RequireFromString("6")), env)
}

// Condition.Value documents time.Duration as an operand of within; it
// compiles, but encodes as a JSON number of nanoseconds that Compile then
// rejects.
func TestTimeDurationWithinRoundTrip(t *testing.T) {
	env := newEnv().attr("a", daysAgo(1))
	requireSameMeaningAfterJSON(t, rule.Condition{Attr: "a", Op: "within", Value: 30 * 24 * time.Hour}, env)
}

// TestConditionJSONCanonicalValues pins how MarshalJSON writes operands:
// decimals as JSON numbers, durations of duration operators in text form,
// everything else as encoding/json writes it.
func TestConditionJSONCanonicalValues(t *testing.T) {
	dec := decimal.RequireFromString
	five := dec("5.10")
	day := 24 * time.Hour
	big := decimal.New(123, 40)         // 1.23e42: 43 digits as text
	huge := decimal.New(1234567890, 60) // exponent form: Compile reads it
	for _, tc := range []struct {
		name string
		c    rule.Condition
		want string
	}{
		{"decimal", rule.Attr("a").Eq(dec("5")), `{"attr":"a","op":"eq","value":5}`},
		{"decimal fraction", rule.Attr("a").Ne(dec("-0.50")), `{"attr":"a","op":"ne","value":-0.5}`},
		{"decimal pointer", rule.Condition{Attr: "a", Op: "contains", Value: &five}, `{"attr":"a","op":"contains","value":5.1}`},
		{"nil decimal pointer", rule.Condition{Attr: "a", Op: "eq", Value: (*decimal.Decimal)(nil)}, `{"attr":"a","op":"eq","value":null}`},
		{"large decimal", rule.Attr("a").Gt(big), `{"attr":"a","op":"gt","value":1230000000000000000000000000000000000000000}`},
		{"huge decimal", rule.Attr("a").Gt(huge), `{"attr":"a","op":"gt","value":1234567890e60}`},
		{"decimal list", rule.Attr("a").In(dec("5"), dec("6")), `{"attr":"a","op":"in","value":[5,6]}`},
		{"mixed list", rule.Condition{Attr: "a", Op: "nin", Value: []any{dec("5"), 6, "7", json.Number("8.0"), &five, nil}},
			`{"attr":"a","op":"nin","value":[5,6,"7",8.0,5.1,null]}`},
		{"decimal slice", rule.Condition{Attr: "a", Op: "in", Value: []decimal.Decimal{dec("1.5"), dec("2")}}, `{"attr":"a","op":"in","value":[1.5,2]}`},
		{"decimal pointer slice", rule.Condition{Attr: "a", Op: "in", Value: []*decimal.Decimal{&five, nil}}, `{"attr":"a","op":"in","value":[5.1,null]}`},
		{"decimal array", rule.Condition{Attr: "a", Op: "between", Value: [2]decimal.Decimal{dec("1"), dec("2.5")}}, `{"attr":"a","op":"between","value":[1,2.5]}`},
		{"nil decimal slice", rule.Condition{Attr: "a", Op: "in", Value: []decimal.Decimal(nil)}, `{"attr":"a","op":"in","value":null}`},
		{"nested list untouched", rule.Condition{Attr: "a", Op: "in", Value: []any{[]any{dec("1")}}}, `{"attr":"a","op":"in","value":[["1"]]}`},
		{"time.Duration within", rule.Condition{Attr: "a", Op: "within", Value: 30 * day}, `{"attr":"a","op":"within","value":"30d"}`},
		{"time.Duration olderThan", rule.Condition{Attr: "a", Op: "olderThan", Value: 90 * time.Minute}, `{"attr":"a","op":"olderThan","value":"90m"}`},
		{"time.Duration birthdayWithin", rule.Condition{Attr: "a", Op: "birthdayWithin", Value: 14 * day}, `{"attr":"a","op":"birthdayWithin","value":"2w"}`},
		{"zero time.Duration birthdayWithin", rule.Condition{Attr: "a", Op: "birthdayWithin", Value: time.Duration(0)}, `{"attr":"a","op":"birthdayWithin","value":"0d"}`},
		{"zero Duration birthdayWithin", rule.Condition{Attr: "a", Op: "birthdayWithin", Value: rule.Duration(0)}, `{"attr":"a","op":"birthdayWithin","value":"0d"}`},
		{"Duration within", rule.Condition{Attr: "a", Op: "within", Value: rule.Duration(36 * time.Hour)}, `{"attr":"a","op":"within","value":"36h"}`},
		{"sub-second duration", rule.Condition{Attr: "a", Op: "within", Value: 1500 * time.Millisecond}, `{"attr":"a","op":"within","value":1500000000}`},
		{"time.Duration eq is a number", rule.Attr("a").Eq(time.Second), `{"attr":"a","op":"eq","value":1000000000}`},
		{"int", rule.Attr("a").Eq(5), `{"attr":"a","op":"eq","value":5}`},
		{"json.Number", rule.Attr("a").Eq(json.Number("5.00")), `{"attr":"a","op":"eq","value":5.00}`},
		{"string", rule.Attr("a").Eq("<5>"), `{"attr":"a","op":"eq","value":"\u003c5\u003e"}`},
		{"strings", rule.Attr("a").In("x", "y"), `{"attr":"a","op":"in","value":["x","y"]}`},
		{"time", rule.Attr("a").Before(time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)), `{"attr":"a","op":"before","value":"2024-06-01T08:00:00Z"}`},
		{"nested", rule.All(
			rule.Any(rule.Attr("a").Eq(dec("5")), rule.Not(rule.Condition{Attr: "b", Op: "within", Value: day})),
			rule.Not(rule.Not(rule.Attr("c").In(dec("1")))),
		), `{"all":[{"any":[{"attr":"a","op":"eq","value":5},{"not":{"attr":"b","op":"within","value":"1d"}}]},` +
			`{"not":{"not":{"attr":"c","op":"in","value":[1]}}}]}`},
		{"empty lists kept", rule.Condition{All: []rule.Condition{}, Not: &rule.Condition{}}, `{"all":[],"not":{}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.c)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(b))
			require.Equal(t, tc.want, tc.c.String())
			ptr, err := json.Marshal(&tc.c)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(ptr))
		})
	}
}

// TestConditionJSONEscapeHTML checks that MarshalJSON leaves HTML escaping
// to the caller's encoder, as encoding/json did before Condition had one.
func TestConditionJSONEscapeHTML(t *testing.T) {
	c := rule.All(rule.Attr("a&b").Eq("<x>"), rule.Attr("n").Eq(decimal.RequireFromString("1")))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(c))
	require.Equal(t, `{"all":[{"attr":"a&b","op":"eq","value":"<x>"},{"attr":"n","op":"eq","value":1}]}`+"\n", buf.String())
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.Equal(t, `{"all":[{"attr":"a\u0026b","op":"eq","value":"\u003cx\u003e"},{"attr":"n","op":"eq","value":1}]}`, string(b))
}

// TestConditionJSONCycle checks that a Condition containing itself, which
// only Go can build, is an encoding error rather than endless recursion.
func TestConditionJSONCycle(t *testing.T) {
	viaNot := &rule.Condition{}
	viaNot.Not = viaNot
	viaList := make([]rule.Condition, 2)
	viaList[1].Any = viaList
	for name, c := range map[string]rule.Condition{"not": *viaNot, "list": {All: viaList}} {
		_, err := json.Marshal(c)
		var unsupported *json.UnsupportedValueError
		require.ErrorAs(t, err, &unsupported, name)
		require.Contains(t, c.String(), "unencodable", name)
	}
	// A list shared by siblings, or a prefix of an ancestor's list, is no
	// cycle, however deep.
	leaf := []rule.Condition{rule.HasTag("t")}
	deep := rule.Condition{All: leaf, Any: leaf}
	for range 100 {
		deep = rule.Condition{All: []rule.Condition{deep, {Any: leaf}}, Any: leaf}
	}
	_, err := json.Marshal(deep)
	require.NoError(t, err)
	prefix := make([]rule.Condition, 2)
	prefix[0] = rule.HasTag("t")
	prefix[1].All = prefix[:1]
	c := rule.Condition{All: prefix}
	for range 100 {
		c = rule.Not(c)
	}
	_, err = json.Marshal(c)
	require.NoError(t, err)
}

// TestConditionJSONRoundTripProperty builds random conditions in Go with
// operands of every supported type, and checks that whenever one compiles,
// its JSON form decodes to a condition that compiles (under the same
// options) and agrees with it on random profiles and times; and that the
// JSON form is a fixed point of decoding and encoding again.
func TestConditionJSONRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2024))
	n := 4000
	if testing.Short() {
		n = 500
	}
	opts := []*rule.CompileOptions{
		nil,
		{Schema: map[string]rule.Type{"a": rule.Number, "b": rule.Time}},
		{Schema: map[string]rule.Type{"a": rule.String, "b": rule.List}},
	}
	compiled := 0
	for i := range n {
		c := randCondition(r, 0)
		b, err := json.Marshal(c)
		if err != nil {
			// Only Go values without a JSON form (NaN, negative durations)
			// fail, and Compile rejects those too.
			for _, o := range opts {
				_, cerr := rule.Compile(c, o)
				require.Error(t, cerr, "%d: %#v unencodable (%v) but compiles", i, c, err)
			}
			continue
		}
		c2, err := rule.ParseCondition(b)
		require.NoError(t, err, "%d: decoding %s", i, b)
		b2, err := json.Marshal(c2)
		require.NoError(t, err)
		require.Equal(t, string(b), string(b2), "%d: encoding is not canonical", i)
		for _, o := range opts {
			p1, err := rule.Compile(c, o)
			if err != nil {
				continue
			}
			compiled++
			p2, err := rule.Compile(c2, o)
			require.NoError(t, err, "%d: %s compiles as %s but not after JSON", i, b, p1)
			for range 6 {
				env := randProfile(r)
				now := refNow().Add(time.Duration(r.IntN(72)-36) * time.Hour)
				require.Equal(t, p1.Eval(env, now), p2.Eval(env, now),
					"%d: %s vs %s (JSON %s) on %v at %s", i, p1, p2, b, env.attrs, now)
			}
		}
	}
	require.Greater(t, compiled, n/2, "too few random conditions compile to test much")
}

// randCondition returns a random condition, mostly attribute comparisons
// on "a" and "b" with operands of every supported Go type.
func randCondition(r *rand.Rand, depth int) rule.Condition {
	switch k := r.IntN(10); {
	case depth < 3 && k == 0:
		return rule.All(randConditions(r, depth)...)
	case depth < 3 && k == 1:
		return rule.Any(randConditions(r, depth)...)
	case depth < 3 && k == 2:
		return rule.Not(randCondition(r, depth+1))
	case k == 3:
		return rule.Condition{Tag: "vip", AppliedWithin: rule.Duration(time.Duration(r.IntN(5)) * 24 * time.Hour)}
	}
	ops := []string{"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "prefix", "exists",
		"between", "before", "after", "within", "olderThan", "birthdayWithin"}
	op := ops[r.IntN(len(ops))]
	attr := []string{"a", "b"}[r.IntN(2)]
	return rule.Condition{Attr: attr, Op: op, Value: randOperand(r, op)}
}

func randConditions(r *rand.Rand, depth int) []rule.Condition {
	out := make([]rule.Condition, 1+r.IntN(3))
	for i := range out {
		out[i] = randCondition(r, depth+1)
	}
	return out
}

// randOperand returns an operand for op: usually of a kind op takes,
// sometimes of any kind.
func randOperand(r *rand.Rand, op string) any {
	kind := op
	if r.IntN(4) == 0 {
		kind = []string{"eq", "in", "between", "before", "within", "exists"}[r.IntN(6)]
	}
	switch kind {
	case "eq", "ne", "contains":
		switch r.IntN(3) {
		case 0:
			return randString(r)
		case 1:
			return r.IntN(2) == 0
		}
		return randNumber(r)
	case "gt", "gte", "lt", "lte":
		return randNumber(r)
	case "prefix":
		return randString(r)
	case "in", "nin":
		return randList(r)
	case "between":
		lo, hi := randDecimal(r), randDecimal(r)
		if lo.GreaterThan(hi) {
			lo, hi = hi, lo
		}
		switch r.IntN(4) {
		case 0:
			return []decimal.Decimal{lo, hi}
		case 1:
			return [2]decimal.Decimal{lo, hi}
		case 2:
			return []any{lo, hi.String()}
		}
		return []any{lo.IntPart(), &hi}
	case "before", "after":
		return randInstant(r)
	case "within", "olderThan", "birthdayWithin":
		return randDuration(r, kind == op)
	}
	return []any{nil, true, false}[r.IntN(3)] // exists
}

func randString(r *rand.Rand) string {
	return []string{"gold", "上海", "5", "5.0", "a<b>&", "", "2024-06-01"}[r.IntN(7)]
}

var randDecimals = []string{"0", "5", "5.0", "5.10", "-0.5", "6", "99.99", "1e3", "0.1", "18", "123456789012345678901"}

func randDecimal(r *rand.Rand) decimal.Decimal {
	return decimal.RequireFromString(randDecimals[r.IntN(len(randDecimals))])
}

// randNumber returns a number of a random Go type.
func randNumber(r *rand.Rand) any {
	d := randDecimal(r)
	switch r.IntN(9) {
	case 0:
		return int(d.IntPart())
	case 1:
		return uint8(r.IntN(10))
	case 2:
		f, _ := d.Float64()
		return f
	case 3:
		f, _ := d.Float64()
		return float32(f)
	case 4:
		return &d
	case 5:
		return json.Number(d.String())
	case 6:
		return d.String() // a numeric string
	}
	return d
}

// randList returns an in / nin operand of a random list type.
func randList(r *rand.Rand) any {
	n := 1 + r.IntN(3)
	switch r.IntN(6) {
	case 0:
		out := make([]string, n)
		for i := range out {
			out[i] = randString(r)
		}
		return out
	case 1:
		out := make([]decimal.Decimal, n)
		for i := range out {
			out[i] = randDecimal(r)
		}
		return out
	case 2:
		out := make([]int, n)
		for i := range out {
			out[i] = r.IntN(8)
		}
		return out
	case 3:
		out := make([]any, n)
		for i := range out {
			out[i] = randString(r)
		}
		return out
	}
	out := make([]any, n)
	for i := range out {
		out[i] = randNumber(r)
	}
	return out
}

// randInstant returns a before / after operand: a time, a date or an
// RFC 3339 string.
func randInstant(r *rand.Rand) any {
	t := refNow().Add(-time.Duration(r.IntN(60*24)) * time.Hour)
	switch r.IntN(4) {
	case 0:
		return t.Format(time.DateOnly)
	case 1:
		return t.Format(time.RFC3339)
	case 2:
		return &t
	}
	return t.In(time.FixedZone("X", -5*3600))
}

// randDuration returns a duration operand: time.Duration, a string, or
// (only as the operand of a duration operator, where it has its text form)
// a Duration.
func randDuration(r *rand.Rand, durationOp bool) any {
	d := []time.Duration{0, time.Hour, 90 * time.Minute, 24 * time.Hour, 30 * 24 * time.Hour,
		14 * 24 * time.Hour, 36 * time.Hour, 1500 * time.Millisecond, -24 * time.Hour}[r.IntN(9)]
	switch r.IntN(4) {
	case 0:
		return rule.Duration(d).String()
	case 1:
		if durationOp && d >= 0 {
			return rule.Duration(d)
		}
	}
	return d
}

// randProfile returns an env whose attributes a and b hold values of
// random types, or are missing.
func randProfile(r *rand.Rand) *testEnv {
	e := newEnv().tag("vip", daysAgo(float64(r.IntN(6))))
	for _, name := range []string{"a", "b"} {
		t := refNow().Add(-time.Duration(r.IntN(400*24)) * time.Hour)
		vals := []any{
			r.IntN(10), int64(18), uint8(5), 5.0, 5.1, float32(0.1), randDecimal(r),
			json.Number("5.10"), json.Number("1.8e1"), "5", "gold", "上海", "a<b>&", true, false,
			t, t.Format(time.DateOnly), t.Format("01-02"), t.Format(time.RFC3339),
			[]string{"gold", "5"}, []any{json.Number("5"), "x", 6}, nil,
		}
		if r.IntN(8) != 0 {
			e.attr(name, vals[r.IntN(len(vals))])
		}
	}
	return e
}
