package tagging_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

// doc.go (Decisions): "Sync rules remove only marks a rule wrote (Source
// "rule:..."), never manual, keyword or imported ones"; a rule refreshes
// only marks rules of its kind wrote. A staff member tags C1 常客 by hand
// with no expiry. A Sync rule with Expires for the same tag holds on the
// next order: it leaves the manual, permanent mark as it is (no rule
// source, no expiry), so neither the Sync rule nor an expiry takes the
// hand-applied tag off later.
func TestExpiringRuleLeavesManualTagAlone(t *testing.T) {
	h := newHarness(t)
	h.tag("常客", "")
	h.rule(tagging.Rule{ID: "r1", Tag: "常客", When: rule.Event(scrm.EventOrderPaid).Within(30 * day).CountGte(1),
		Sync: true, Expires: 30 * day})
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "C1", Tag: "常客", By: "staff-1"})
	require.NoError(t, err)

	h.clock.Advance(time.Hour)
	h.publish("C1", scrm.EventOrderPaid, "10.00", nil)
	m, ok := h.profile("C1").TagMark("常客")
	require.True(t, ok)
	assert.Equal(t, "manual", m.Source, "the hand-applied mark must not be overwritten by the rule")
	assert.True(t, m.Expires.IsZero(), "a permanent manual tag got an expiry: %s", m.Expires)

	// 31 days later the rule no longer holds: a Sync rule must not take a
	// manual tag off.
	h.clock.Advance(31 * day)
	_, err = h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.NoError(t, err)
	require.Contains(t, h.tags("C1"), "常客")
}

// The same for a keyword rule with Expires: a reply matching it leaves a
// refusal tag (拒绝) that staff applied for good as it is, instead of
// turning it into a keyword mark expiring in 30 days.
func TestExpiringKeywordRuleLeavesManualTagAlone(t *testing.T) {
	h := newHarness(t)
	h.tag("拒绝", "")
	h.rule(tagging.Rule{ID: "k1", Tag: "拒绝", Keywords: []string{"不需要"}, Expires: 30 * day})
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "C1", Tag: "拒绝", By: "staff-1"})
	require.NoError(t, err)
	h.taken()

	h.clock.Advance(time.Hour)
	h.publish("C1", scrm.EventMessageReplied, "", map[string]any{"text": "不需要"})
	m, ok := h.profile("C1").TagMark("拒绝")
	require.True(t, ok)
	assert.Equal(t, "manual", m.Source)
	assert.True(t, m.Expires.IsZero(), "a permanent manual tag got an expiry: %s", m.Expires)
	assert.Empty(t, summary(h.taken()), "nothing changed, nothing is announced")

	h.clock.Advance(31 * day)
	_, err = h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.NoError(t, err)
	require.Contains(t, h.tags("C1"), "拒绝")

	// A mark the keyword rule wrote itself is refreshed as before.
	h.publish("C2", scrm.EventMessageReplied, "", map[string]any{"text": "不需要"})
	h.clock.Advance(time.Hour)
	h.publish("C2", scrm.EventMessageReplied, "", map[string]any{"text": "不需要"})
	m, ok = h.profile("C2").TagMark("拒绝")
	require.True(t, ok)
	assert.Equal(t, "keyword:k1", m.Source)
	assert.True(t, m.Expires.Equal(h.clock.Now().Add(30*day)))
}

// A refresh never shortens an expiry (Rule's doc: "the expiry is
// extended"): a rule with a short Expires refreshing a mark another rule
// gave a longer one keeps the longer expiry, and an expiring rule does not
// give an expiry to a rule mark that had none.
func TestRuleRefreshNeverShortensExpiry(t *testing.T) {
	h := newHarness(t)
	h.tag("活跃", "")
	h.tag("老客", "")
	h.rule(tagging.Rule{ID: "long", Tag: "活跃", When: rule.Event(scrm.EventOrderPaid).Within(30 * day).CountGte(1), Expires: 30 * day})
	h.rule(tagging.Rule{ID: "short", Tag: "活跃", When: rule.Event(scrm.EventPageViewed).Within(7 * day).CountGte(1), Expires: 7 * day, Priority: 1})
	h.rule(tagging.Rule{ID: "forever", Tag: "老客", When: rule.Event(scrm.EventOrderPaid).CountGte(1)})
	h.rule(tagging.Rule{ID: "browse", Tag: "老客", When: rule.Event(scrm.EventPageViewed).CountGte(1), Expires: 7 * day})

	h.publish("C1", scrm.EventOrderPaid, "10.00", nil)
	first, ok := h.profile("C1").TagMark("活跃")
	require.True(t, ok)
	require.True(t, first.Expires.Equal(t0.Add(30*day)))

	h.clock.Advance(time.Hour)
	h.publish("C1", scrm.EventPageViewed, "", nil)
	m, ok := h.profile("C1").TagMark("活跃")
	require.True(t, ok)
	assert.True(t, m.Expires.Equal(first.Expires), "the expiry was shortened to %s", m.Expires)
	old, ok := h.profile("C1").TagMark("老客")
	require.True(t, ok)
	assert.True(t, old.Expires.IsZero(), "a rule mark without expiry got one: %s", old.Expires)

	h.clock.Advance(8 * day)
	_, err := h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"活跃", "老客"}, h.tags("C1"))
}

// ApplyRequest.IdempotencyKey: "repeating it with the same payload returns
// the original result (with Replayed set) and changes nothing" (DESIGN §2:
// "Replaying the same key with the same payload returns the original
// result"). An Apply with Expires one hour ahead succeeds; the host's retry
// queue replays it two hours later with the very same payload: the replay
// returns the original result, although Expires has passed by then. A new
// application with an Expires in the past is still refused, with nothing
// written (its key stays free).
func TestApplyReplayAfterExpiresPassedReturnsOriginalResult(t *testing.T) {
	h := newHarness(t)
	h.tag("试用", "")
	req := tagging.ApplyRequest{Tenant: tenant, Customer: "C1", Tag: "试用", Expires: t0.Add(time.Hour), IdempotencyKey: "k1"}
	first, err := h.svc.Apply(h.ctx, req)
	require.NoError(t, err)

	h.clock.Advance(2 * time.Hour)
	again, err := h.svc.Apply(h.ctx, req)
	require.NoError(t, err, "a replay of the same key and payload must return the original result")
	require.True(t, again.Replayed)
	require.True(t, first.Mark.Expires.Equal(again.Mark.Expires))

	late := tagging.ApplyRequest{Tenant: tenant, Customer: "C1", Tag: "试用", Expires: t0.Add(time.Hour), IdempotencyKey: "k2"}
	_, err = h.svc.Apply(h.ctx, late)
	require.ErrorIs(t, err, scrm.ErrInvalid)
	late.Expires = h.clock.Now().Add(time.Hour)
	res, err := h.svc.Apply(h.ctx, late)
	require.NoError(t, err, "the refused request did not claim its key")
	assert.False(t, res.Replayed)
}

// Handle's doc on customer.merged: it "keeps only the most recently
// applied tag of each exclusive group on the survivor", an unexpired tag
// beating expired ones (doc.go: expired tags "stop matching at their
// expiry"). C1 carries 高 (消费能力, no expiry); C2 was tagged 低 later,
// for one day only, and that day is over. When C2 is merged into C1 the
// live 高 stays: an expired mark does not beat a live one.
func TestMergeConflictKeepsLiveTagOverExpiredOne(t *testing.T) {
	h := newHarness(t)
	h.group("消费能力", true)
	h.tag("高", "消费能力")
	h.tag("低", "消费能力")
	dir := scrm.NewDirectory(scrm.NewMemoryDirectoryStore(), &scrm.Options{Clock: h.clock, Publisher: h.d,
		NewID: sequentialIDs("C")})
	phone := scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"}
	union := scrm.Identity{Kind: scrm.IdentityUnionID, Value: "oUNION"}
	c1, err := dir.Resolve(h.ctx, tenant, phone)
	require.NoError(t, err)
	h.clock.Advance(time.Hour)
	c2, err := dir.Resolve(h.ctx, tenant, union)
	require.NoError(t, err)

	_, err = h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: c1, Tag: "高"})
	require.NoError(t, err)
	h.clock.Advance(time.Hour)
	_, err = h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: c2, Tag: "低", Expires: h.clock.Now().Add(day)})
	require.NoError(t, err)
	h.clock.Advance(3 * day) // 低 expired two days ago

	survivor, err := dir.Resolve(h.ctx, tenant, phone, union)
	require.NoError(t, err)
	require.Equal(t, c1, survivor)
	m, ok := h.profile(c1).TagMark("高")
	require.True(t, ok, "the live 高 was removed in favour of an expired 低; tags now: %v", h.tags(c1))
	require.True(t, m.Active(h.clock.Now()))
	assert.Equal(t, []string{"高"}, h.tags(c1), "the expired 低 goes")
}

// sequentialIDs returns an ID generator: prefix1, prefix2, ...
func sequentialIDs(prefix string) func() string {
	n := 0
	return func() string { n++; return prefix + strconv.Itoa(n) }
}
