package tagging_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

func TestRuleAppliesWhenConditionBecomesTrue(t *testing.T) {
	h := newHarness(t)
	h.tag("复购", "")
	h.rule(tagging.Rule{ID: "repeat", Tag: "复购", When: rule.Event(scrm.EventOrderPaid).CountGte(2)})

	h.publish("c1", scrm.EventOrderPaid, "59.00", nil)
	assert.Empty(t, h.tags("c1"))
	assert.Empty(t, h.taken())

	h.clock.Advance(day)
	second := h.publish("c1", scrm.EventOrderPaid, "128.00", nil)
	assert.Equal(t, []string{"复购"}, h.tags("c1"))
	m, _ := h.profile("c1").TagMark("复购")
	assert.True(t, m.At.Equal(second.Time), "At is the time of the event that caused it")
	assert.Equal(t, "rule:repeat", m.Source)
	es := h.taken()
	require.Len(t, es, 1)
	assert.Equal(t, "tag.applied:event:"+second.ID+":复购", es[0].ID, "published IDs derive from the cause")
	assert.Equal(t, "repeat", es[0].Prop("rule"))
	assert.Equal(t, 1, h.count("复购"))

	// Still true on the third order: the tag was applied when it became
	// true, and a rule without Expires does not re-announce it.
	h.clock.Advance(day)
	h.publish("c1", scrm.EventOrderPaid, "18.00", nil)
	assert.Empty(t, h.taken())
	m, _ = h.profile("c1").TagMark("复购")
	assert.True(t, m.At.Equal(second.Time))

	hist, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, tagging.ActionApplied, hist[0].Action)
	assert.Equal(t, "repeat", hist[0].Rule)
	assert.Equal(t, "event:"+second.ID, hist[0].Cause)
	assert.Contains(t, hist[0].Reason, "order.paid")
}

func TestRuleRefreshesOnNewEventOnly(t *testing.T) {
	h := newHarness(t)
	h.tag("到店", "")
	h.rule(tagging.Rule{ID: "visit", Tag: "到店", When: rule.Event("store.visited").Within(7 * day).Happened(), Expires: 7 * day})
	first := h.publish("c1", "store.visited", "", nil)
	h.clock.Advance(3 * day)
	second := h.publish("c1", "store.visited", "", nil)

	m, ok := h.profile("c1").TagMark("到店")
	require.True(t, ok)
	assert.True(t, m.At.Equal(second.Time))
	assert.True(t, m.Expires.Equal(second.Time.Add(7*day)), "a refresh extends the expiry")
	assert.Equal(t, []string{"applied 到店 c1", "refreshed 到店 c1"}, summary(h.taken()))
	_ = first

	hist, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	require.Len(t, hist, 2)
	assert.Equal(t, tagging.ActionRefreshed, hist[0].Action, "newest first")
	assert.Equal(t, tagging.ActionApplied, hist[1].Action)
	assert.Equal(t, 1, h.count("到店"))
}

func TestSyncRuleRemovesWhenFalse(t *testing.T) {
	h := newHarness(t)
	h.tag("上海客户", "")
	h.rule(tagging.Rule{ID: "sh", Tag: "上海客户", When: rule.Attr("city").Eq("上海"), Sync: true})
	set := func(city any) {
		h.publish("c1", scrm.EventAttrsSet, "", map[string]any{"attrs": map[string]any{"city": city}})
	}
	set("上海")
	assert.Equal(t, []string{"上海客户"}, h.tags("c1"))
	set("上海") // attribute triggers do not refresh
	set("杭州")
	assert.Empty(t, h.tags("c1"))
	assert.Equal(t, []string{"applied 上海客户 c1", "removed 上海客户 c1"}, summary(h.taken()))
	assert.Equal(t, 0, h.count("上海客户"))

	// A manual mark is not the rule's to remove.
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "上海客户", By: "staff1"})
	require.NoError(t, err)
	set("北京")
	assert.Equal(t, []string{"上海客户"}, h.tags("c1"))
}

func TestNonSyncRuleKeepsTag(t *testing.T) {
	h := newHarness(t)
	h.tag("上海客户", "")
	h.rule(tagging.Rule{ID: "sh", Tag: "上海客户", When: rule.Attr("city").Eq("上海")})
	h.publish("c1", scrm.EventAttrsSet, "", map[string]any{"attrs": map[string]any{"city": "上海"}})
	h.publish("c1", scrm.EventAttrsSet, "", map[string]any{"attrs": map[string]any{"city": "杭州"}})
	assert.Equal(t, []string{"上海客户"}, h.tags("c1"))
}

func TestExclusiveGroupPriority(t *testing.T) {
	h := newHarness(t)
	h.group("消费能力", true)
	for _, id := range []string{"高", "中", "低"} {
		h.tag(id, "消费能力")
	}
	paid := func(min string) rule.Condition {
		return rule.Event(scrm.EventOrderPaid).Within(365 * day).SumGte(scrm.Yuan(min))
	}
	h.rule(tagging.Rule{ID: "high", Tag: "高", When: paid("1000"), Priority: 3, Sync: true})
	h.rule(tagging.Rule{ID: "mid", Tag: "中", When: paid("300"), Priority: 2, Sync: true})
	h.rule(tagging.Rule{ID: "low", Tag: "低", When: paid("0.01"), Priority: 1, Sync: true})

	h.publish("c1", scrm.EventOrderPaid, "100.00", nil)
	assert.Equal(t, []string{"低"}, h.tags("c1"))
	h.clock.Advance(day)
	h.publish("c1", scrm.EventOrderPaid, "300.00", nil)
	assert.Equal(t, []string{"中"}, h.tags("c1"))
	h.clock.Advance(day)
	h.publish("c1", scrm.EventOrderPaid, "700.00", nil)
	assert.Equal(t, []string{"高"}, h.tags("c1"))
	assert.Equal(t, []string{
		"applied 低 c1",
		"applied 中 c1", "removed 低 c1",
		"applied 高 c1", "removed 中 c1",
	}, summary(h.taken()))
	assert.Equal(t, 1, h.count("高"))
	assert.Equal(t, 0, h.count("中"))
	assert.Equal(t, 0, h.count("低"))

	hist, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	require.NotEmpty(t, hist)
	var replaced *tagging.HistoryEntry
	for i := range hist {
		if hist[i].Tag == "中" && hist[i].Action == tagging.ActionRemoved {
			replaced = &hist[i]
		}
	}
	require.NotNil(t, replaced)
	assert.Contains(t, replaced.Reason, "replaced by 高")
	assert.Equal(t, "high", replaced.Rule)
}

func TestKeywordRules(t *testing.T) {
	h := newHarness(t)
	h.tag("拒绝营销", "")
	h.tag("问价", "")
	h.rule(tagging.Rule{ID: "refuse", Tag: "拒绝营销", Keywords: []string{"不需要", "别发了", "STOP"}})
	h.rule(tagging.Rule{ID: "price", Tag: "问价", Keywords: []string{"多少钱"}, Match: tagging.MatchExact})

	cases := []struct {
		text string
		want []string
	}{
		{"好的，谢谢", nil},
		{"  我不需要了  ", []string{"拒绝营销"}},
		{"ｓｔｏｐ！", []string{"拒绝营销"}}, // full-width, case-folded
		{"这个多少钱呀", nil},             // exact: not the whole reply
		{"多少钱？？", []string{"问价"}},   // exact ignores punctuation at the ends
		{"别　发了", nil},               // an inner space is not the keyword
		{"别发了", []string{"拒绝营销"}},
	}
	for i, tc := range cases {
		c := scrm.CustomerID("k" + string(rune('a'+i)))
		h.publish(c, scrm.EventMessageReplied, "", map[string]any{"text": tc.text})
		assert.Equal(t, tc.want, h.tags(c), "reply %q", tc.text)
	}
	hist, err := h.svc.History(h.ctx, tenant, "kb")
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, "keyword:refuse", hist[0].Source)
	assert.Contains(t, hist[0].Reason, `"不需要"`)
}

func TestRuleChainsThroughTagEvents(t *testing.T) {
	h := newHarness(t)
	h.tag("复购", "")
	h.tag("忠诚", "")
	h.tag("重点维护", "")
	h.rule(tagging.Rule{ID: "repeat", Tag: "复购", When: rule.Event(scrm.EventOrderPaid).CountGte(2)})
	h.rule(tagging.Rule{ID: "loyal", Tag: "忠诚", When: rule.All(rule.HasTag("复购"), rule.Attr("member").Eq(true))})
	h.rule(tagging.Rule{ID: "vip", Tag: "重点维护", When: rule.HasTag("忠诚")})
	// A rule that reads the tag it applies terminates.
	h.rule(tagging.Rule{ID: "self", Tag: "复购", When: rule.HasTag("复购")})

	h.publish("c1", scrm.EventAttrsSet, "", map[string]any{"attrs": map[string]any{"member": true}})
	h.publish("c1", scrm.EventOrderPaid, "10.00", nil)
	h.clock.Advance(time.Hour)
	h.publish("c1", scrm.EventOrderPaid, "10.00", nil)
	assert.Equal(t, []string{"复购", "忠诚", "重点维护"}, h.tags("c1"))
}

func TestReplayedEventChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.group("消费能力", true)
	h.tag("高", "消费能力")
	h.tag("低", "消费能力")
	h.rule(tagging.Rule{ID: "high", Tag: "高", When: rule.Event(scrm.EventOrderPaid).SumGte(scrm.Yuan("500")), Priority: 2})
	h.rule(tagging.Rule{ID: "low", Tag: "低", When: rule.Event(scrm.EventOrderPaid).Happened(), Priority: 1})
	h.publish("c1", scrm.EventOrderPaid, "100.00", nil)
	e := h.publish("c1", scrm.EventOrderPaid, "600.00", nil)
	first := h.taken()
	hist, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)

	// The host publishes the same event again (it did not see the result).
	require.NoError(t, h.d.Publish(h.ctx, e))
	again, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	assert.Equal(t, len(hist), len(again), "nothing recorded twice")
	assert.Equal(t, []string{"高"}, h.tags("c1"))
	assert.Equal(t, 1, h.count("高"))
	assert.Equal(t, 0, h.count("低"))
	// The same IDs are published again, so downstream dedup absorbs them.
	ids := func(es []scrm.Event) map[string]bool {
		m := map[string]bool{}
		for _, e := range es {
			m[e.ID] = true
		}
		return m
	}
	replayed := ids(h.taken())
	for id := range replayed {
		assert.True(t, ids(first)[id], "replay published an unknown ID %s", id)
	}
	assert.NotEmpty(t, replayed)
}

// countingStore counts profile reads, to show that events no rule reads
// cost nothing.
type countingStore struct {
	scrm.ProfileStore
	gets atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, tenant scrm.TenantID, id scrm.CustomerID) (*scrm.Profile, error) {
	c.gets.Add(1)
	return c.ProfileStore.Get(ctx, tenant, id)
}

func TestHandleSkipsEventsNoRuleReads(t *testing.T) {
	ctx := context.Background()
	cs := &countingStore{ProfileStore: scrm.NewMemoryProfileStore()}
	svc := tagging.New(nil, cs, nil)
	_, err := svc.PutTag(ctx, tenant, tagging.Tag{ID: "vip"})
	require.NoError(t, err)
	for i := 0; i < 50; i++ {
		_, err := svc.PutRule(ctx, tenant, tagging.Rule{ID: "r" + string(rune('A'+i)), Tag: "vip",
			When: rule.Event("custom." + string(rune('A'+i))).CountGte(3)})
		require.NoError(t, err)
	}
	e := scrm.Event{ID: "x", Tenant: tenant, Customer: "c1", Type: scrm.EventPageViewed, Time: t0}
	require.NoError(t, svc.Handle(ctx, e))
	assert.Zero(t, cs.gets.Load(), "an event no rule reads must not even load the profile")
	e.Type, e.ID = "custom.C", "y"
	require.NoError(t, svc.Handle(ctx, e))
	assert.Equal(t, int64(1), cs.gets.Load())
}

func TestSegmentAndTenantZone(t *testing.T) {
	h := newHarness(t)
	h.tag("黑名单", "")
	h.rule(tagging.Rule{ID: "bl", Tag: "黑名单", When: rule.InSegment("blacklist"), Sync: true})
	h.profilesSetSegment("c1", "blacklist", true)
	h.publish("c1", scrm.EventSegmentEntered, "", map[string]any{"segment": "blacklist"})
	assert.Equal(t, []string{"黑名单"}, h.tags("c1"))
	h.profilesSetSegment("c1", "blacklist", false)
	h.publish("c1", scrm.EventSegmentExited, "", map[string]any{"segment": "blacklist"})
	assert.Empty(t, h.tags("c1"))
}

func (h *harness) profilesSetSegment(c scrm.CustomerID, seg string, in bool) {
	h.t.Helper()
	_, err := h.profiles.Update(h.ctx, tenant, c, func(p *scrm.Profile) error {
		p.SetSegment(seg, in)
		return nil
	})
	require.NoError(h.t, err)
}

func TestRulesCompileInTenantZone(t *testing.T) {
	ctx := context.Background()
	ps := scrm.NewMemoryProfileStore()
	// 2026-05-01 20:00 UTC is already 05-02 04:00 in Shanghai.
	at := time.Date(2026, 5, 1, 20, 0, 0, 0, time.UTC)
	svc := tagging.New(nil, ps, &tagging.Options{Options: scrm.Options{
		Clock: scrm.ClockFunc(func() time.Time { return at }),
		TenantLocation: func(t scrm.TenantID) *time.Location {
			if t == "london" {
				return time.UTC
			}
			return nil
		},
	}})
	for _, tn := range []scrm.TenantID{"shanghai", "london"} {
		_, err := svc.PutTag(ctx, tn, tagging.Tag{ID: "五一后注册"})
		require.NoError(t, err)
		_, err = svc.PutRule(ctx, tn, tagging.Rule{ID: "r", Tag: "五一后注册", When: rule.Attr("signup").After("2026-05-01")})
		require.NoError(t, err)
		e := scrm.Event{ID: "a", Tenant: tn, Customer: "c1", Type: scrm.EventAttrsSet, Time: at,
			Props: map[string]any{"attrs": map[string]any{"signup": at}}}
		require.NoError(t, scrm.NewProfiles(ps, nil).Handle(ctx, e))
		require.NoError(t, svc.Handle(ctx, e))
	}
	sh, err := ps.Get(ctx, "shanghai", "c1")
	require.NoError(t, err)
	_, ok := sh.Tag("五一后注册")
	assert.True(t, ok, "after 05-01 ends in Shanghai")
	ld, err := ps.Get(ctx, "london", "c1")
	require.NoError(t, err)
	_, ok = ld.Tag("五一后注册")
	assert.False(t, ok, "still 05-01 in London")
}

// Two Sync rules that undo each other oscillate; the Dispatcher's depth
// bound stops them, and Handle never loops on its own.
func TestRuleCycleIsBounded(t *testing.T) {
	h := newHarness(t)
	h.tag("A", "")
	h.tag("B", "")
	h.rule(tagging.Rule{ID: "r1", Tag: "A", Sync: true, When: rule.All(rule.Attr("go").Eq(true), rule.Not(rule.HasTag("B")))})
	h.rule(tagging.Rule{ID: "r2", Tag: "B", Sync: true, When: rule.HasTag("A")})
	err := h.d.Publish(h.ctx, scrm.Event{ID: "start", Tenant: tenant, Customer: "c1", Type: scrm.EventAttrsSet, Time: t0,
		Props: map[string]any{"attrs": map[string]any{"go": true}}})
	assert.ErrorIs(t, err, scrm.ErrExhausted)
	es := h.taken()
	assert.NotEmpty(t, es)
	assert.LessOrEqual(t, len(es), scrm.DefaultMaxDepth+1)
	for _, e := range es {
		assert.LessOrEqual(t, len(e.ID), scrm.MaxIDLength, "derived IDs stay within bounds: %s", e.ID)
	}
	// Index and profile agree wherever the cascade stopped.
	for _, tag := range []string{"A", "B"} {
		_, has := h.profile("c1").Tag(tag)
		want := 0
		if has {
			want = 1
		}
		assert.Equal(t, want, h.count(tag), tag)
	}
}
