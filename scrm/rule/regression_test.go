package rule_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"

	"github.com/scrmkit/scrmkit/scrm/rule"
)

// hostEnv is a host read model holding attribute values as the host's own
// types.
type hostEnv struct{ attrs map[string]any }

func (e *hostEnv) Attr(n string) (any, bool)             { v, ok := e.attrs[n]; return v, ok }
func (e *hostEnv) Tag(string) (time.Time, bool)          { return time.Time{}, false }
func (e *hostEnv) InSegment(string) bool                 { return false }
func (e *hostEnv) Count(string, time.Time) int64         { return 0 }
func (e *hostEnv) Sum(string, time.Time) decimal.Decimal { return decimal.Zero }
func (e *hostEnv) Last(string) (time.Time, bool)         { return time.Time{}, false }

type (
	hostLevel int
	hostTier  string
	hostScore float32
	hostFlag  bool
	hostCount uint16
	hostDay   string
)

// The package doc promises "Eval accepts attribute values of type string,
// bool, every int and uint kind, ...", and Env is the interface hosts
// implement over their own read model. A host whose model uses named types
// (type Level int, type Tier string: the usual Go enums) gets them compared
// as their kind: Level(5) is an int, Tier("gold") a string, for eq, ne, in,
// gt, prefix and the rest (as scrm.Profile.SetAttr normalizes such values
// by reflect kind).
func TestNamedKindsCompare(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	env := &hostEnv{attrs: map[string]any{"level": hostLevel(5), "tier": hostTier("gold")}}
	for _, c := range []rule.Condition{
		rule.Attr("level").Eq(5),
		rule.Attr("level").Gte(3),
		rule.Attr("level").In(4, 5),
		rule.Attr("tier").Eq("gold"),
		rule.Attr("tier").In("gold", "silver"),
		rule.Attr("tier").Prefix("go"),
	} {
		p := rule.MustCompile(c, nil)
		assert.True(t, p.Eval(env, now), "%s", p)
	}
}

// More named kinds: floats, bools, uints, strings holding dates and
// substrings; and what stays false: a json.Number is a number, never a
// string, and a named string is not a number.
func TestNamedKindsCompareByKind(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	env := &hostEnv{attrs: map[string]any{
		"score": hostScore(4.5), "vip": hostFlag(true), "orders": hostCount(7),
		"tier": hostTier("gold member"), "joined": hostDay("2026-02-20"), "birthday": hostDay("03-05"),
		"num": json.Number("5"), "five": hostTier("5"),
	}}
	for _, tc := range []struct {
		c    rule.Condition
		want bool
	}{
		{rule.Attr("score").Gt(4), true},
		{rule.Attr("score").Eq(4.5), true},
		{rule.Attr("vip").Eq(true), true},
		{rule.Attr("vip").Ne(true), false},
		{rule.Attr("orders").Between(5, 10), true},
		{rule.Attr("tier").Contains("member"), true},
		{rule.Attr("tier").Ne("gold"), true},
		{rule.Attr("joined").Within(30 * 24 * time.Hour), true},
		{rule.Attr("birthday").BirthdayWithin(7), true},
		{rule.Attr("num").Eq("5"), false},
		{rule.Attr("five").Eq(5), false},
	} {
		p := rule.MustCompile(tc.c, nil)
		assert.Equal(t, tc.want, p.Eval(env, now), "%s", p)
	}
}
