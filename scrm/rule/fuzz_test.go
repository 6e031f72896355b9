package rule_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// fullEnv is a testEnv with every optional capability.
type fullEnv struct{ *testEnv }

func (e fullEnv) TagExpiry(tag string) (time.Time, bool) { return expiringEnv(e).TagExpiry(tag) }

func (e fullEnv) SumFen(typ string, since time.Time) (int64, bool) {
	return fenEnv{testEnv: e.testEnv}.SumFen(typ, since)
}

// fuzzEnvs returns environments holding attributes of every supported type
// under the names the seeds use.
func fuzzEnvs() []rule.Env {
	e := newEnv().
		attr("city", "上海").
		attr("tier", "gold").
		attr("birthday", "1990-06-18").
		attr("bday", time.Date(1992, 2, 29, 0, 0, 0, 0, time.UTC)).
		attr("md", "02-29").
		attr("n", 5).
		attr("u", uint64(1<<63)).
		attr("f", 2.5).
		attr("f32", float32(0.1)).
		attr("dec", decimal.RequireFromString("99.99")).
		attr("num", json.Number("1.8e1")).
		attr("big", json.Number("123456789012345678901234567890.5")).
		attr("ok", true).
		attr("list", []string{"a", "上海"}).
		attr("mixed", []any{"a", json.Number("2"), 3, nil, map[string]any{}}).
		attr("at", daysAgo(3)).
		attr("date", "2024-06-01").
		attr("nil", nil).
		attr("obj", map[string]any{"k": []any{1}}).
		event("order.paid", daysAgo(40), "300.00").
		event("order.paid", daysAgo(2), "250.50").
		event("page.viewed", daysAgo(1), "").
		tag("vip", daysAgo(3)).
		tag("到店未成交", daysAgo(2)).
		segment("blacklist")
	e.expires["vip"] = daysAgo(1)
	return []rule.Env{e, expiringEnv{e}, fenEnv{testEnv: e}, fullEnv{e}, newEnv()}
}

func FuzzConditionJSON(f *testing.F) {
	for _, s := range []string{
		designJSON,
		`{"segment":"blacklist"}`,
		`{"not":{"tag":"vip","appliedWithin":"7d"}}`,
		`{"any":[{"attr":"n","op":"between","value":[1,"5.0"]},{"attr":"f","op":"gt","value":2.4999}]}`,
		`{"all":[{"attr":"list","op":"contains","value":"上海"},{"attr":"mixed","op":"in","value":[2,3]}]}`,
		`{"attr":"dec","op":"lte","value":"99.990"}`,
		`{"attr":"num","op":"eq","value":18}`,
		`{"attr":"big","op":"gt","value":1e20}`,
		`{"attr":"u","op":"gte","value":9223372036854775808}`,
		`{"attr":"f32","op":"eq","value":0.1}`,
		`{"attr":"ok","op":"ne","value":false}`,
		`{"attr":"at","op":"within","value":"1w"}`,
		`{"attr":"date","op":"after","value":"2024-05-31"}`,
		`{"attr":"date","op":"before","value":"2024-06-01T00:00:00Z"}`,
		`{"attr":"bday","op":"birthdayWithin","value":"365d"}`,
		`{"attr":"md","op":"birthdayWithin","value":"30d"}`,
		`{"attr":"city","op":"prefix","value":"上"}`,
		`{"attr":"nil","op":"exists","value":false}`,
		`{"attr":"obj","op":"nin","value":["x"]}`,
		`{"event":"order.paid","within":"30d","count":{"gte":1,"lt":"3"},"sum":{"gt":"250.49"}}`,
		`{"event":"order.paid","last":{"olderThan":"1d","within":"3d"}}`,
		`{"event":"page.viewed"}`,
		`{"all":[]}`,
		`{"attr":"n","op":"gt","value":1e999}`,
		`{"event":"e","sum":{"gte":"1e-99999"}}`,
		`{"not":{"not":{"not":{}}}}`,
		`{"all":[{"segment":"a","tag":"b"}]}`,
		`{"attr":"x","op":"in","value":[]}`,
		`null`,
		`[]`,
		`{"value":{"a":1}}`,
	} {
		f.Add([]byte(s))
	}
	// Conditions built in Go with operands that encoding/json alone would
	// not write in the condition language: decimals and time.Durations.
	dec := decimal.RequireFromString
	for _, c := range []rule.Condition{
		rule.Attr("n").Eq(dec("5")),
		rule.Attr("dec").Ne(dec("99.990")),
		rule.Attr("num").Contains(dec("18")),
		rule.Attr("n").In(dec("5"), dec("6.5")),
		{Attr: "mixed", Op: "nin", Value: []any{dec("2"), 3, json.Number("4.0")}},
		{Attr: "f", Op: "between", Value: [2]decimal.Decimal{dec("2.5"), dec("2.5")}},
		{Attr: "big", Op: "gt", Value: decimal.New(123, 25)},
		{Attr: "at", Op: "within", Value: 30 * 24 * time.Hour},
		{Attr: "at", Op: "olderThan", Value: 90 * time.Minute},
		{Attr: "bday", Op: "birthdayWithin", Value: time.Duration(0)},
		rule.Any(rule.Not(rule.Condition{Attr: "md", Op: "birthdayWithin", Value: 14 * 24 * time.Hour}), rule.Attr("dec").Lte(dec("100"))),
	} {
		b, err := json.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	envs := fuzzEnvs()
	schema := &rule.CompileOptions{Location: time.UTC, Schema: map[string]rule.Type{
		"city": rule.String, "n": rule.Number, "dec": rule.Number, "ok": rule.Bool,
		"at": rule.Time, "birthday": rule.Time, "list": rule.List,
	}}
	times := []time.Time{refNow(), time.Date(2025, 2, 28, 23, 59, 59, 0, time.UTC), {}}

	f.Fuzz(func(t *testing.T, data []byte) {
		var c rule.Condition
		if err := json.Unmarshal(data, &c); err != nil {
			var syntax *json.SyntaxError
			if !errors.As(err, &syntax) {
				require.ErrorIs(t, err, scrm.ErrInvalid)
			}
			return
		}
		parsed, err := rule.ParseCondition(data)
		require.NoError(t, err)
		require.Equal(t, c, parsed)

		b, err := json.Marshal(c)
		require.NoError(t, err)
		var again rule.Condition
		require.NoError(t, json.Unmarshal(b, &again), "re-decoding %s", b)
		require.Equal(t, c, again, "round trip through %s", b)

		for _, opts := range []*rule.CompileOptions{nil, schema} {
			p, err := rule.Compile(c, opts)
			if err != nil {
				require.ErrorIs(t, err, scrm.ErrInvalid)
				var se *scrm.Error
				require.True(t, errors.As(err, &se))
				continue
			}
			p2, err := rule.Compile(again, opts)
			require.NoError(t, err)
			require.Equal(t, p.String(), p2.String())
			_ = p.Deps()
			for _, env := range envs {
				for _, at := range times {
					got := p.Eval(env, at)
					tr := p.Explain(env, at)
					require.Equal(t, got, tr.Result, "%s\n%s", p, tr)
					require.Equal(t, got, p2.Eval(env, at))
					_ = tr.String()
				}
			}
		}
	})
}
