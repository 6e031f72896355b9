package segment_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/segment"
)

// activity builds a profile with events of the given types, days ago.
func activity(events ...any) *scrm.Profile {
	p := scrm.NewProfile(tenant, "c1")
	for i := 0; i+1 < len(events); i += 2 {
		p.Apply(scrm.Event{ID: "x", Tenant: tenant, Customer: "c1", Type: events[i].(string),
			Time: t0.Add(-time.Duration(events[i+1].(int)) * day), Amount: yuan("10.00")})
	}
	return p
}

const paid = scrm.EventOrderPaid

func TestDefaultLifecycle(t *testing.T) {
	l := segment.DefaultLifecycle()
	for _, tc := range []struct {
		name string
		p    *scrm.Profile
		want string
	}{
		{"no purchase", activity(scrm.EventPageViewed, 1), segment.StageProspect},
		{"first purchase 10 days ago", activity(paid, 10, paid, 2), segment.StageNew},
		{"first purchase exactly 30 days ago", activity(paid, 30), segment.StageNew},
		{"buying since long, recently too", activity(paid, 200, paid, 60, paid, 5), segment.StageActive},
		{"last purchase 45 days ago", activity(paid, 60, paid, 45), segment.StageDormant},
		{"last purchase 31 days ago", activity(paid, 31), segment.StageDormant},
		{"last purchase 120 days ago", activity(paid, 120), segment.StageChurned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, l.Stage(tc.p, t0))
		})
	}
	var names []string
	for _, st := range l.Stages() {
		names = append(names, st.Name)
	}
	assert.Equal(t, []string{"prospect", "new", "active", "dormant", "churned"}, names)
}

func TestB2BLifecycle(t *testing.T) {
	l := segment.B2BLifecycle()
	tagged := func(tag string) *scrm.Profile {
		p := activity()
		p.SetTag(tag, scrm.TagMark{At: t0})
		return p
	}
	attr := func(v string) *scrm.Profile {
		p := activity()
		p.SetAttr(segment.LeadStageAttr, v)
		return p
	}
	wonTagged := tagged("SQL")
	wonTagged.Apply(scrm.Event{ID: "o", Tenant: tenant, Customer: "c1", Type: paid, Time: t0, Amount: yuan("1")})
	for _, tc := range []struct {
		name string
		p    *scrm.Profile
		want string
	}{
		{"an order beats everything", wonTagged, segment.StageWon},
		{"marked won by hand", attr("成单"), segment.StageWon},
		{"sales accepted", tagged("SQL"), segment.StageSQL},
		{"SQL by attribute", attr("SQL"), segment.StageSQL},
		{"MQL by attribute", attr("MQL"), segment.StageMQL},
		{"MQL by tag", tagged("MQL"), segment.StageMQL},
		{"engaged: 3 page views", activity(scrm.EventPageViewed, 1, scrm.EventPageViewed, 2, scrm.EventPageViewed, 29), segment.StageMQL},
		{"engaged: replied", activity(scrm.EventMessageReplied, 3), segment.StageMQL},
		{"2 page views", activity(scrm.EventPageViewed, 1, scrm.EventPageViewed, 2), segment.StageLead},
		{"stale engagement", activity(scrm.EventMessageReplied, 40), segment.StageLead},
		{"nothing", activity(), segment.StageLead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, l.Stage(tc.p, t0))
		})
	}
}

func TestLifecycleExplain(t *testing.T) {
	l := segment.DefaultLifecycle()
	trace := l.Explain(activity(paid, 60, paid, 45), t0)
	require.Len(t, trace, 4, "stages up to the one that matched")
	assert.Equal(t, segment.StageDormant, trace[3].Stage)
	assert.True(t, trace[3].Trace.Result)
	for _, st := range trace[:3] {
		assert.False(t, st.Trace.Result, st.Stage)
	}
	trace = l.Explain(activity(paid, 500), t0)
	require.Len(t, trace, 5)
	assert.Equal(t, "matches every customer", trace[4].Trace.Desc)
}

// envOnly hides every method of a profile but rule.Env's.
type envOnly struct{ rule.Env }

func TestLifecycleWithoutFirst(t *testing.T) {
	// An Env without First has no "$first." attributes: the new stage
	// cannot match, so a first-time buyer counts as active.
	l := segment.DefaultLifecycle()
	assert.Equal(t, segment.StageActive, l.Stage(envOnly{activity(paid, 3)}, t0))
	assert.Equal(t, segment.StageNew, l.Stage(activity(paid, 3), t0))
	assert.Equal(t, "", l.Stage(nil, t0))
}

func TestCustomLifecycle(t *testing.T) {
	l, err := segment.NewLifecycle([]segment.Stage{
		{Name: "VIP", When: rule.Event(paid).Within(365 * day).SumGte(yuan("1000"))},
		{Name: "会员", When: rule.Attr("member_no").Exists()},
	}, nil)
	require.NoError(t, err)
	p := activity()
	assert.Equal(t, "", l.Stage(p, t0), "no stage matches and there is no catch-all")
	p.SetAttr("member_no", "M1")
	assert.Equal(t, "会员", l.Stage(p, t0))
}

func TestNewLifecycleBadInput(t *testing.T) {
	ok := rule.HasTag("x")
	for _, tc := range []struct {
		name   string
		stages []segment.Stage
		field  string
	}{
		{"no stages", nil, "Stages"},
		{"empty name", []segment.Stage{{When: ok}}, "Stages[0].Name"},
		{"repeated name", []segment.Stage{{Name: "a", When: ok}, {Name: "a", When: ok}}, "Stages[1].Name"},
		{"condition that does not compile", []segment.Stage{{Name: "a", When: ok}, {Name: "b", When: rule.Condition{Attr: "city", Op: "like", Value: "x"}}}, "Stages[1].When.op"},
		{"stage after a catch-all", []segment.Stage{{Name: "a", When: ok}, {Name: "all"}, {Name: "never", When: ok}}, "Stages[2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := segment.NewLifecycle(tc.stages, nil)
			requireField(t, err, tc.field)
		})
	}
}
