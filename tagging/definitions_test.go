package tagging_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

func TestDefinitionsBadInput(t *testing.T) {
	h := newHarness(t)
	h.group("g", true)
	h.tag("vip", "g")
	bad, err := rule.ParseCondition([]byte(`{"all": [{"attr": "city", "op": "eq", "value": "上海"}, {"event": "order.paid", "sum": {"gte": "abc"}}]}`))
	require.NoError(t, err, "it parses; it does not compile")

	cases := []struct {
		name  string
		put   func() error
		field string
	}{
		{"tag in unknown group", func() error {
			_, err := h.svc.PutTag(h.ctx, tenant, tagging.Tag{ID: "x", Group: "nope"})
			return err
		}, "Group"},
		{"tag with colon", func() error {
			_, err := h.svc.PutTag(h.ctx, tenant, tagging.Tag{ID: "a:b"})
			return err
		}, "ID"},
		{"tag kind", func() error {
			_, err := h.svc.PutTag(h.ctx, tenant, tagging.Tag{ID: "x", Kind: "auto"})
			return err
		}, "Kind"},
		{"group without ID", func() error {
			_, err := h.svc.PutGroup(h.ctx, tenant, tagging.Group{Name: "x"})
			return err
		}, "ID"},
		{"rule for unknown tag", func() error {
			_, err := h.svc.PutRule(h.ctx, tenant, tagging.Rule{ID: "r", Tag: "nope", When: rule.HasTag("vip")})
			return err
		}, "Tag"},
		{"rule that does not compile", func() error {
			_, err := h.svc.PutRule(h.ctx, tenant, tagging.Rule{ID: "r", Tag: "vip", When: bad})
			return err
		}, "When.all[1].sum.gte"},
		{"rule without condition", func() error {
			_, err := h.svc.PutRule(h.ctx, tenant, tagging.Rule{ID: "r", Tag: "vip"})
			return err
		}, "When"},
		{"empty keyword", func() error {
			_, err := h.svc.PutRule(h.ctx, tenant, tagging.Rule{ID: "r", Tag: "vip", Keywords: []string{"不需要", " 　"}})
			return err
		}, "Keywords[1]"},
		{"exact keyword of punctuation", func() error {
			_, err := h.svc.PutRule(h.ctx, tenant, tagging.Rule{ID: "r", Tag: "vip", Keywords: []string{"！！"}, Match: tagging.MatchExact})
			return err
		}, "Keywords[0]"},
		{"keyword sync", func() error {
			_, err := h.svc.PutRule(h.ctx, tenant, tagging.Rule{ID: "r", Tag: "vip", Keywords: []string{"不需要"}, Sync: true})
			return err
		}, "Sync"},
		{"match mode", func() error {
			_, err := h.svc.PutRule(h.ctx, tenant, tagging.Rule{ID: "r", Tag: "vip", Keywords: []string{"x"}, Match: "regex"})
			return err
		}, "Match"},
		{"negative expiry", func() error {
			_, err := h.svc.PutRule(h.ctx, tenant, tagging.Rule{ID: "r", Tag: "vip", When: rule.HasTag("x"), Expires: -time.Hour})
			return err
		}, "Expires"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.put()
			require.ErrorIs(t, err, scrm.ErrInvalid)
			var se *scrm.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.field, se.Field, "%v", err)
		})
	}
	d, err := h.svc.Definitions(h.ctx, tenant)
	require.NoError(t, err)
	assert.Len(t, d.Groups, 1)
	assert.Len(t, d.Tags, 1)
	assert.Empty(t, d.Rules, "nothing written")
}

func TestDefinitionsVersions(t *testing.T) {
	h := newHarness(t)
	g, err := h.svc.PutGroup(h.ctx, tenant, tagging.Group{ID: "style", Name: "风格偏好"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), g.Version)
	_, err = h.svc.PutGroup(h.ctx, tenant, tagging.Group{ID: "style", Name: "again"})
	assert.ErrorIs(t, err, scrm.ErrConflict, "creating an existing group")
	g.Exclusive = true
	g, err = h.svc.PutGroup(h.ctx, tenant, g)
	require.NoError(t, err)
	assert.Equal(t, int64(2), g.Version)

	h.tag("a", "style")
	h.tag("b", "style")
	r, err := h.svc.PutRule(h.ctx, tenant, tagging.Rule{ID: "r", Tag: "a", When: rule.Attr("x").Eq(1)})
	require.NoError(t, err)
	h.publish("c1", scrm.EventAttrsSet, "", map[string]any{"attrs": map[string]any{"x": 1}})
	assert.Equal(t, []string{"a"}, h.tags("c1"))

	// Changing a rule takes effect at once (the Service sees the revision move).
	r.Tag = "b"
	_, err = h.svc.PutRule(h.ctx, tenant, r)
	require.NoError(t, err)
	h.publish("c1", scrm.EventAttrsSet, "", map[string]any{"attrs": map[string]any{"x": 1}})
	assert.Equal(t, []string{"b"}, h.tags("c1"), "b replaces a in the exclusive group")

	require.NoError(t, h.svc.DeleteRule(h.ctx, tenant, "r"))
	assert.ErrorIs(t, h.svc.DeleteRule(h.ctx, tenant, "r"), scrm.ErrNotFound)
}

func TestExplain(t *testing.T) {
	h := newHarness(t)
	h.tag("高消费", "")
	h.rule(tagging.Rule{ID: "big", Tag: "高消费", When: rule.Event(scrm.EventOrderPaid).Within(30 * day).SumGte(scrm.Yuan("500"))})
	h.publish("c1", scrm.EventOrderPaid, "199.00", nil)
	tr, err := h.svc.Explain(h.ctx, tenant, "c1", "big")
	require.NoError(t, err)
	assert.False(t, tr.Result)
	assert.Contains(t, tr.String(), "observed 199")
	_, err = h.svc.Explain(h.ctx, tenant, "c1", "nope")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
}
