package rule_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// requireInvalid requires err to be a *scrm.Error matching ErrInvalid with
// the given Field, and returns it.
func requireInvalid(t *testing.T, err error, field string) *scrm.Error {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, scrm.ErrInvalid)
	var se *scrm.Error
	require.True(t, errors.As(err, &se), "%T: %v", err, err)
	assert.Equal(t, field, se.Field, "error: %v", err)
	return se
}

func TestCompileDesign(t *testing.T) {
	c, err := rule.ParseCondition([]byte(designJSON))
	require.NoError(t, err)
	p, err := rule.Compile(c, nil)
	require.NoError(t, err)
	assert.Equal(t, `all(attr city in ["上海", "杭州"], event order.paid within 30d count >= 2, `+
		`event order.paid within 90d sum >= 500.00, event order.paid last olderThan 30d, `+
		`tag 到店未成交 appliedWithin 1w, not(segment blacklist), `+
		`any(attr tier eq "gold", attr birthday birthdayWithin 1w))`, p.String())
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		json  string
		field string
		msg   string // expected Msg, when it matters
	}{
		{"empty", `{}`, "", ""},
		{"two kinds", `{"segment":"s","tag":"t"}`, "", "mixes the keys of tag and segment; a condition has exactly one kind"},
		{"two kinds nested", `{"all":[{"segment":"s"},{"attr":"a","op":"exists","within":"3d"}]}`, "all[1]", ""},
		{"empty all", `{"all":[]}`, "all", "empty list; want at least one condition"},
		{"empty any nested", `{"not":{"any":[]}}`, "not.any", ""},
		{"empty child", `{"all":[{"segment":"a"},{}]}`, "all[1]", ""},
		{"bad sum", `{"all":[{"segment":"a"},{"tag":"t"},{"event":"order.paid","sum":{"gte":"abc"}}]}`, "all[2].sum.gte", `want a decimal, got "abc"`},
		{"bad count", `{"all":[{"segment":"a"},{"event":"e","count":{"gte":1.5}}]}`, "all[1].count.gte", `want a non-negative integer, got "1.5"`},
		{"negative count", `{"event":"e","count":{"lt":-1}}`, "count.lt", ""},
		{"count text", `{"event":"e","count":{"eq":"two"}}`, "count.eq", ""},
		{"no bound", `{"event":"e","count":{}}`, "count", ""},
		{"no sum bound", `{"event":"e","sum":{}}`, "sum", ""},
		{"huge sum", `{"event":"e","sum":{"gte":1e300}}`, "sum.gte", ""},
		{"no last bound", `{"event":"e","last":{}}`, "last", ""},
		{"within with last", `{"event":"e","within":"3d","last":{"olderThan":"1d"}}`, "within", ""},
		{"no event", `{"within":"3d"}`, "event", ""},
		{"no tag", `{"appliedWithin":"3d"}`, "tag", ""},
		{"no attr", `{"op":"eq","value":1}`, "attr", ""},
		{"no op", `{"attr":"a","value":1}`, "op", ""},
		{"unknown op", `{"any":[{"attr":"a","op":"like","value":"x"}]}`, "any[0].op", ""},
		{"op case", `{"attr":"a","op":"EQ","value":"x"}`, "op", ""},
		{"eq no value", `{"attr":"a","op":"eq"}`, "value", ""},
		{"eq list", `{"attr":"a","op":"eq","value":[1]}`, "value", ""},
		{"eq object", `{"attr":"a","op":"eq","value":{}}`, "value", ""},
		{"gt string", `{"attr":"a","op":"gt","value":"abc"}`, "value", `want a number, got "abc"`},
		{"gt bool", `{"attr":"a","op":"gt","value":true}`, "value", ""},
		{"between one", `{"attr":"a","op":"between","value":[1]}`, "value", ""},
		{"between scalar", `{"attr":"a","op":"between","value":1}`, "value", ""},
		{"between bad hi", `{"attr":"a","op":"between","value":[1,"x"]}`, "value[1]", ""},
		{"between reversed", `{"attr":"a","op":"between","value":[5,1]}`, "value", ""},
		{"in empty", `{"attr":"a","op":"in","value":[]}`, "value", "empty list; want at least one value"},
		{"nin empty", `{"attr":"a","op":"nin","value":[]}`, "value", ""},
		{"in scalar", `{"attr":"a","op":"in","value":"x"}`, "value", ""},
		{"in mixed", `{"attr":"a","op":"in","value":["x",1]}`, "value[1]", ""},
		{"in mixed numbers", `{"attr":"a","op":"in","value":[1,"x"]}`, "value[1]", ""},
		{"in bools", `{"attr":"a","op":"in","value":[true]}`, "value[0]", ""},
		{"contains bool", `{"attr":"a","op":"contains","value":true}`, "value", ""},
		{"prefix number", `{"attr":"a","op":"prefix","value":1}`, "value", ""},
		{"exists string", `{"attr":"a","op":"exists","value":"yes"}`, "value", ""},
		{"before garbage", `{"attr":"a","op":"before","value":"yesterday"}`, "value", ""},
		{"before bad date", `{"attr":"a","op":"before","value":"2024-02-30"}`, "value", ""},
		{"after number", `{"attr":"a","op":"after","value":20240101}`, "value", ""},
		{"within bad", `{"attr":"a","op":"within","value":"30x"}`, "value", ""},
		{"within number", `{"attr":"a","op":"within","value":30}`, "value", ""},
		{"olderThan none", `{"attr":"a","op":"olderThan"}`, "value", ""},
		{"birthday hours", `{"attr":"a","op":"birthdayWithin","value":"36h"}`, "value", "want a whole number of days, got 36h"},
		{"deep path", `{"all":[{"any":[{"segment":"x"},{"not":{"event":"e","sum":{"lt":"1,000"}}}]}]}`, "all[0].any[1].not.sum.lt", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := rule.ParseCondition([]byte(tc.json))
			require.NoError(t, err)
			p, err := rule.Compile(c, nil)
			assert.Nil(t, p)
			se := requireInvalid(t, err, tc.field)
			assert.Equal(t, "rule.Compile", se.Op)
			if tc.msg != "" {
				assert.Equal(t, tc.msg, se.Msg)
			}
		})
	}
}

func TestCompileGoValues(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name  string
		c     rule.Condition
		field string // "" means it compiles
	}{
		{"int", rule.Attr("a").Gt(5), ""},
		{"uint8", rule.Attr("a").Gt(uint8(5)), ""},
		{"float32", rule.Attr("a").Gt(float32(2.5)), ""},
		{"decimal", rule.Attr("a").Gt(decimal.RequireFromString("2.5")), ""},
		{"decimal pointer", rule.Attr("a").Gt(new(decimal.Decimal)), ""},
		{"nil decimal pointer", rule.Attr("a").Gt((*decimal.Decimal)(nil)), "value"},
		{"NaN", rule.Attr("a").Gt(math.NaN()), "value"},
		{"Inf", rule.Attr("a").Eq(math.Inf(1)), "value"},
		{"[]int in", rule.Condition{Attr: "a", Op: "in", Value: []int{1, 2}}, ""},
		{"[]string in", rule.Condition{Attr: "a", Op: "in", Value: []string{"x"}}, ""},
		{"array in", rule.Condition{Attr: "a", Op: "in", Value: [2]string{"x", "y"}}, ""},
		{"time before", rule.Attr("a").Before(time.Now()), ""},
		{"zero time", rule.Attr("a").Before(time.Time{}), "value"},
		{"duration", rule.Attr("a").Within(day), ""},
		{"time.Duration value", rule.Condition{Attr: "a", Op: "olderThan", Value: day}, ""},
		{"negative duration", rule.Attr("a").Within(-day), "value"},
		{"sub-second duration", rule.Attr("a").Within(time.Millisecond), "value"},
		{"birthday today", rule.Attr("a").BirthdayWithin(0), ""},
		{"negative birthday days", rule.Attr("a").BirthdayWithin(-1), "value"},
		{"birthday zero Duration", rule.Condition{Attr: "a", Op: "birthdayWithin", Value: rule.Duration(0)}, ""},
		{"zero within", rule.Condition{Attr: "a", Op: "within", Value: rule.Duration(0)}, "value"},
		{"birthday 7", rule.Attr("a").BirthdayWithin(7), ""},
		{"negative within", rule.Condition{Event: "e", Within: -1}, "within"},
		{"sub-second appliedWithin", rule.Condition{Tag: "t", AppliedWithin: 1}, "appliedWithin"},
		{"negative olderThan", rule.Condition{Event: "e", Last: &rule.LastCmp{OlderThan: -1}}, "last.olderThan"},
		{"empty All builder", rule.All(), "all"},
		{"struct value", rule.Attr("a").Eq(struct{}{}), "value"},
		{"map value", rule.Attr("a").Eq(map[string]int{}), "value"},
		{"big uint", rule.Attr("a").Eq(uint64(math.MaxUint64)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rule.Compile(tc.c, nil)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, tc.field)
		})
	}
}

func TestCompileCycle(t *testing.T) {
	c := &rule.Condition{}
	c.Not = c // a cycle, only possible in Go
	_, err := rule.Compile(*c, nil)
	require.ErrorIs(t, err, scrm.ErrInvalid)
}

func TestCompileSchema(t *testing.T) {
	opts := &rule.CompileOptions{Schema: map[string]rule.Type{
		"city":     rule.String,
		"age":      rule.Number,
		"vip":      rule.Bool,
		"birthday": rule.Time,
		"hobbies":  rule.List,
	}}
	for _, tc := range []struct {
		name  string
		json  string
		field string // "" means it compiles
	}{
		{"string eq", `{"attr":"city","op":"eq","value":"上海"}`, ""},
		{"string eq number", `{"attr":"city","op":"eq","value":5}`, "value"},
		{"string gt", `{"attr":"city","op":"gt","value":"a"}`, "op"},
		{"string prefix", `{"attr":"city","op":"prefix","value":"上"}`, ""},
		{"string contains number", `{"attr":"city","op":"contains","value":5}`, "value"},
		{"string in numbers", `{"attr":"city","op":"in","value":[1]}`, "value[0]"},
		{"string before", `{"attr":"city","op":"before","value":"2024-01-01"}`, "op"},
		{"number gt", `{"attr":"age","op":"gt","value":18}`, ""},
		{"number gt numeric string", `{"attr":"age","op":"gt","value":"18.5"}`, ""},
		{"number gt string", `{"attr":"age","op":"gt","value":"old"}`, "value"},
		{"number eq numeric string", `{"attr":"age","op":"eq","value":"18"}`, ""},
		{"number eq bool", `{"attr":"age","op":"eq","value":true}`, "value"},
		{"number prefix", `{"attr":"age","op":"prefix","value":"1"}`, "op"},
		{"number contains", `{"attr":"age","op":"contains","value":1}`, "op"},
		{"number in strings", `{"attr":"age","op":"in","value":["x"]}`, "value[0]"},
		{"number in numeric strings", `{"attr":"age","op":"in","value":["1", 2]}`, ""},
		{"number within", `{"attr":"age","op":"within","value":"3d"}`, "op"},
		{"bool eq", `{"attr":"vip","op":"eq","value":true}`, ""},
		{"bool eq string", `{"attr":"vip","op":"eq","value":"true"}`, "value"},
		{"bool in", `{"attr":"vip","op":"in","value":[true]}`, "op"},
		{"time birthday", `{"attr":"birthday","op":"birthdayWithin","value":"7d"}`, ""},
		{"time eq", `{"attr":"birthday","op":"eq","value":"2024-01-01"}`, "op"},
		{"time gt", `{"attr":"birthday","op":"gt","value":1}`, "op"},
		{"list contains", `{"attr":"hobbies","op":"contains","value":"跑步"}`, ""},
		{"list in", `{"attr":"hobbies","op":"in","value":["跑步"]}`, ""},
		{"list eq", `{"attr":"hobbies","op":"eq","value":"跑步"}`, "op"},
		{"list prefix", `{"attr":"hobbies","op":"prefix","value":"跑"}`, "op"},
		{"exists on all", `{"all":[{"attr":"city","op":"exists"},{"attr":"age","op":"exists"},{"attr":"vip","op":"exists"},{"attr":"birthday","op":"exists"},{"attr":"hobbies","op":"exists","value":false}]}`, ""},
		{"undeclared", `{"attr":"other","op":"gt","value":1}`, ""},
		{"nested path", `{"any":[{"segment":"s"},{"attr":"city","op":"lt","value":3}]}`, "any[1].op"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := rule.ParseCondition([]byte(tc.json))
			require.NoError(t, err)
			_, err = rule.Compile(c, opts)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, tc.field)
		})
	}

	_, err := rule.Compile(rule.InSegment("s"), &rule.CompileOptions{Schema: map[string]rule.Type{"x": 0}})
	requireInvalid(t, err, `Schema["x"]`)
}

func TestTypeText(t *testing.T) {
	schema := map[string]rule.Type{"a": rule.String, "b": rule.Number, "c": rule.Bool, "d": rule.Time, "e": rule.List}
	b, err := json.Marshal(schema)
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":"string","b":"number","c":"bool","d":"time","e":"list"}`, string(b))
	var back map[string]rule.Type
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, schema, back)
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"a":"text"}`), &back), scrm.ErrInvalid)
	_, err = rule.Type(0).MarshalText()
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Type(9)", rule.Type(9).String())
}

func TestMustCompile(t *testing.T) {
	assert.NotNil(t, rule.MustCompile(rule.InSegment("s"), nil))
	assert.Panics(t, func() { rule.MustCompile(rule.Condition{}, nil) })
}
