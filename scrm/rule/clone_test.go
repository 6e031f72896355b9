package rule_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm/rule"
)

func TestConditionClone(t *testing.T) {
	orig := rule.All(
		rule.Attr("city").In("上海", "杭州"),
		rule.Not(rule.Event("order.paid").Within(30*24*time.Hour).CountGte(2)),
		rule.Any(rule.Event("order.paid").SumGte(decimal.RequireFromString("500")), rule.HasTag("vip")),
		rule.Event("order.paid").LastOlderThan(30*24*time.Hour),
		rule.Condition{Attr: "n", Op: "in", Value: []int{1, 2}},
	)
	before, err := json.Marshal(orig)
	require.NoError(t, err)
	c := orig.Clone()
	assert.Equal(t, orig, c)

	// Change every list, pointer and list value of the copy.
	c.All[0].Value.([]any)[0] = "北京"
	c.All[1].Not.Within = rule.Duration(time.Hour)
	c.All[1].Not.Count.Gte = "9"
	c.All[2].Any[1].Tag = "other"
	c.All[3].Last.OlderThan = rule.Duration(time.Hour)
	c.All[4].Value.([]int)[0] = 7
	c.All = append(c.All, rule.HasTag("x"))

	after, err := json.Marshal(orig)
	require.NoError(t, err)
	assert.JSONEq(t, string(before), string(after), "the original is untouched")
	assert.Nil(t, rule.ClonePtr(nil))
	p := rule.ClonePtr(&orig)
	assert.Equal(t, orig, *p)
}
