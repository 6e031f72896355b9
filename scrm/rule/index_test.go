package rule_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

func TestIndexAffected(t *testing.T) {
	var x rule.Index[string]
	for name, c := range map[string]rule.Condition{
		"orders": rule.Event(scrm.EventOrderPaid).CountGte(2),
		"city":   rule.Attr("city").Eq("上海"),
		"vip":    rule.All(rule.HasTag("vip"), rule.Event(scrm.EventOrderPaid).Happened()),
		"seg":    rule.InSegment("high"),
	} {
		x.Add(rule.MustCompile(c, nil).Deps(), name)
	}
	affected := func(e scrm.Event) map[string]bool {
		got := map[string]bool{}
		x.Affected(e, func(v string, direct bool) { got[v] = got[v] || direct })
		return got
	}
	ev := func(typ string, props map[string]any) scrm.Event {
		return scrm.Event{ID: "e", Tenant: "t", Customer: "c", Type: typ, Time: time.Now(), Props: props}
	}
	assert.Equal(t, map[string]bool{"orders": true, "vip": true}, affected(ev(scrm.EventOrderPaid, nil)))
	assert.Equal(t, map[string]bool{"city": false}, affected(ev(scrm.EventAttrsSet, map[string]any{"attrs": map[string]any{"city": "北京", "x": 1}})))
	assert.Equal(t, map[string]bool{"vip": false}, affected(ev(scrm.EventTagRemoved, map[string]any{"tag": "vip"})))
	assert.Equal(t, map[string]bool{"seg": false}, affected(ev(scrm.EventSegmentEntered, map[string]any{"segment": "high"})))
	assert.Empty(t, affected(ev(scrm.EventPageViewed, nil)))
	var empty rule.Index[int]
	empty.Affected(ev(scrm.EventOrderPaid, nil), func(int, bool) { t.Fatal("empty index") })
}
