package rule_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// designJSON is the example condition of DESIGN.md §4.
const designJSON = `{"all": [
  {"attr": "city", "op": "in", "value": ["上海", "杭州"]},
  {"event": "order.paid", "within": "30d", "count": {"gte": 2}},
  {"event": "order.paid", "within": "90d", "sum": {"gte": "500.00"}},
  {"event": "order.paid", "last": {"olderThan": "30d"}},
  {"tag": "到店未成交", "appliedWithin": "7d"},
  {"not": {"segment": "blacklist"}},
  {"any": [{"attr": "tier", "op": "eq", "value": "gold"},
           {"attr": "birthday", "op": "birthdayWithin", "value": "7d"}]}
]}`

// roundTrip decodes data, encodes the result and decodes that again,
// requiring both decodes to be deep-equal. It returns the first decode.
func roundTrip(t *testing.T, data string) rule.Condition {
	t.Helper()
	var c rule.Condition
	require.NoError(t, json.Unmarshal([]byte(data), &c))
	b, err := json.Marshal(c)
	require.NoError(t, err)
	var again rule.Condition
	require.NoError(t, json.Unmarshal(b, &again), "re-decoding %s", b)
	require.Equal(t, c, again, "after encoding as %s", b)
	return c
}

func TestConditionJSONDesign(t *testing.T) {
	c := roundTrip(t, designJSON)
	day := 24 * time.Hour
	want := rule.Condition{All: []rule.Condition{
		{Attr: "city", Op: "in", Value: []any{"上海", "杭州"}},
		{Event: "order.paid", Within: rule.Duration(30 * day), Count: &rule.Cmp{Gte: "2"}},
		{Event: "order.paid", Within: rule.Duration(90 * day), Sum: &rule.Cmp{Gte: "500.00"}},
		{Event: "order.paid", Last: &rule.LastCmp{OlderThan: rule.Duration(30 * day)}},
		{Tag: "到店未成交", AppliedWithin: rule.Duration(7 * day)},
		{Not: &rule.Condition{Segment: "blacklist"}},
		{Any: []rule.Condition{
			{Attr: "tier", Op: "eq", Value: "gold"},
			{Attr: "birthday", Op: "birthdayWithin", Value: "7d"},
		}},
	}}
	assert.Equal(t, want, c)

	b, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `{"all":[
		{"attr":"city","op":"in","value":["上海","杭州"]},
		{"event":"order.paid","within":"30d","count":{"gte":2}},
		{"event":"order.paid","within":"90d","sum":{"gte":500.00}},
		{"event":"order.paid","last":{"olderThan":"30d"}},
		{"tag":"到店未成交","appliedWithin":"1w"},
		{"not":{"segment":"blacklist"}},
		{"any":[{"attr":"tier","op":"eq","value":"gold"},{"attr":"birthday","op":"birthdayWithin","value":"7d"}]}
	]}`, string(b))
}

func TestConditionJSONRoundTrip(t *testing.T) {
	for name, data := range map[string]string{
		"all":            `{"all":[{"segment":"a"},{"segment":"b"}]}`,
		"any":            `{"any":[{"segment":"a"}]}`,
		"not":            `{"not":{"tag":"vip"}}`,
		"attr string":    `{"attr":"tier","op":"eq","value":"gold"}`,
		"attr number":    `{"attr":"age","op":"gte","value":18}`,
		"attr big":       `{"attr":"score","op":"lt","value":12345678901234567890.123456789}`,
		"attr exp":       `{"attr":"score","op":"lt","value":1.5e3}`,
		"attr bool":      `{"attr":"subscribed","op":"eq","value":false}`,
		"attr exists":    `{"attr":"phone","op":"exists"}`,
		"attr between":   `{"attr":"age","op":"between","value":[18,"30.5"]}`,
		"attr object":    `{"attr":"x","op":"eq","value":{"a":[1,null,"b"]}}`,
		"attr time":      `{"attr":"joined","op":"before","value":"2024-01-01T00:00:00+08:00"}`,
		"event count":    `{"event":"order.paid","count":{"eq":1,"ne":2,"gt":0,"gte":1,"lt":3,"lte":2}}`,
		"event sum":      `{"event":"order.paid","within":"12h","sum":{"gt":"0.01","lte":99.99}}`,
		"event sum text": `{"event":"order.paid","sum":{"gte":"abc"}}`,
		"event last":     `{"event":"order.paid","last":{"olderThan":"30d","within":"2w"}}`,
		"event all":      `{"event":"page.viewed","within":"90m","count":{"gte":1},"sum":{"gte":0},"last":{"within":"1d"}}`,
		"event bare":     `{"event":"customer.added"}`,
		"tag":            `{"tag":"vip"}`,
		"tag within":     `{"tag":"vip","appliedWithin":"48h"}`,
		"segment":        `{"segment":"黑名单"}`,
		"empty lists":    `{"all":[],"any":[]}`,
		"nulls":          `{"all":null,"not":null,"value":null,"count":null,"within":null,"attr":null}`,
		"empty objects":  `{"not":{},"count":{},"last":{}}`,
		"null child":     `{"all":[null,{}]}`,
		"escapes":        `{"attr":"a\"b","op":"prefix","value":"<\u00e9\ud83d\ude00>"}`,
		"invalid utf8":   "{\"segment\":\"\xff\xfe\"}",
		"deep":           `{"not":{"not":{"not":{"all":[{"any":[{"not":{"segment":"s"}}]}]}}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			roundTrip(t, data)
		})
	}
}

func TestConditionJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data, field string
	}{
		{"unknown key", `{"segment":"a","color":"red"}`, "color"},
		{"unknown nested key", `{"all":[{"segment":"a"},{"not":{"segmnt":"b"}}]}`, "all[1].not.segmnt"},
		{"case matters", `{"All":[]}`, "All"},
		{"unknown cmp key", `{"event":"e","count":{"gte":1,"atLeast":2}}`, "count.atLeast"},
		{"unknown last key", `{"event":"e","last":{"older":"3d"}}`, "last.older"},
		{"bad within", `{"all":[{"event":"e","within":"30x"}]}`, "all[0].within"},
		{"numeric within", `{"event":"e","within":30}`, "within"},
		{"negative within", `{"event":"e","within":"-3d"}`, "within"},
		{"zero within", `{"event":"e","within":"0d"}`, "within"},
		{"bad appliedWithin", `{"tag":"t","appliedWithin":"7 days"}`, "appliedWithin"},
		{"bad last", `{"event":"e","last":{"olderThan":"1y"}}`, "last.olderThan"},
		{"attr not string", `{"attr":5,"op":"eq","value":1}`, "attr"},
		{"all not list", `{"all":{"segment":"a"}}`, "all"},
		{"child not object", `{"any":["x"]}`, "any[0]"},
		{"count bool", `{"event":"e","count":{"gte":true}}`, "count.gte"},
		{"count list", `{"event":"e","count":[1]}`, "count"},
		{"top-level list", `[1]`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c rule.Condition
			err := json.Unmarshal([]byte(tc.data), &c)
			require.Error(t, err)
			assert.ErrorIs(t, err, scrm.ErrInvalid)
			var se *scrm.Error
			require.True(t, errors.As(err, &se), "%T %v", err, err)
			assert.Equal(t, tc.field, se.Field, "%v", err)

			_, err = rule.ParseCondition([]byte(tc.data))
			assert.ErrorIs(t, err, scrm.ErrInvalid)
		})
	}
}

func TestParseCondition(t *testing.T) {
	c, err := rule.ParseCondition([]byte(designJSON))
	require.NoError(t, err)
	var want rule.Condition
	require.NoError(t, json.Unmarshal([]byte(designJSON), &want))
	assert.Equal(t, want, c)

	for _, bad := range []string{``, `{`, `{"segment":"a"} x`, `{"segment":}`} {
		_, err := rule.ParseCondition([]byte(bad))
		assert.ErrorIs(t, err, scrm.ErrInvalid, "%q", bad)
	}

	c, err = rule.ParseCondition([]byte(` null `))
	require.NoError(t, err)
	assert.True(t, c.IsZero())
}

func TestConditionJSONNumbersKeepPrecision(t *testing.T) {
	c := roundTrip(t, `{"attr":"score","op":"gt","value":0.30000000000000000001}`)
	assert.Equal(t, json.Number("0.30000000000000000001"), c.Value)
}

func TestConditionJSONNullKeepsValue(t *testing.T) {
	c := rule.Condition{Segment: "s"}
	require.NoError(t, json.Unmarshal([]byte(`null`), &c))
	assert.Equal(t, rule.Condition{Segment: "s"}, c)
}

func TestConditionJSONTooDeep(t *testing.T) {
	data := ""
	for range 100 {
		data += `{"not":`
	}
	data += `{"segment":"s"}`
	for range 100 {
		data += `}`
	}
	var c rule.Condition
	err := json.Unmarshal([]byte(data), &c)
	assert.ErrorIs(t, err, scrm.ErrInvalid)
}

func TestConditionStringAndIsZero(t *testing.T) {
	assert.True(t, rule.Condition{}.IsZero())
	assert.False(t, rule.InSegment("s").IsZero())
	assert.False(t, rule.Condition{Value: false}.IsZero())
	assert.Equal(t, `{"not":{"segment":"s"}}`, rule.Not(rule.InSegment("s")).String())
	assert.Contains(t, rule.Condition{Event: "e", Within: -1}.String(), "unencodable")
}

func TestCmpJSON(t *testing.T) {
	var c rule.Cmp
	require.NoError(t, json.Unmarshal([]byte(`{"gte":"500.00","lt":1e3}`), &c))
	assert.Equal(t, rule.Cmp{Gte: "500.00", Lt: "1e3"}, c)
	b, err := json.Marshal(rule.Cmp{Gte: "500.00", Ne: "x y"})
	require.NoError(t, err)
	assert.Equal(t, `{"ne":"x y","gte":500.00}`, string(b))
	err = json.Unmarshal([]byte(`{"min":1}`), &c)
	assert.ErrorIs(t, err, scrm.ErrInvalid)

	var l rule.LastCmp
	require.NoError(t, json.Unmarshal([]byte(`{"within":"7d"}`), &l))
	assert.Equal(t, rule.LastCmp{Within: rule.Duration(7 * 24 * time.Hour)}, l)
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"since":"7d"}`), &l), scrm.ErrInvalid)
}
