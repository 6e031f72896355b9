package tagging_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/tagging"
)

func styleHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.group("风格偏好", true)
	for _, id := range []string{"休闲风", "时尚风", "商务风"} {
		h.tag(id, "风格偏好")
	}
	h.tag("到店未成交", "")
	return h
}

func TestApplyAndRemove(t *testing.T) {
	h := styleHarness(t)
	res, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "到店未成交", By: "staff7", Reason: "试穿未买"})
	require.NoError(t, err)
	assert.Equal(t, scrm.CustomerID("c1"), res.Customer)
	assert.False(t, res.Refreshed)
	assert.True(t, res.Mark.At.Equal(t0))
	assert.Equal(t, "manual", res.Mark.Source)
	assert.Equal(t, "staff7", res.Mark.By)
	m, ok := h.profile("c1").TagMark("到店未成交")
	require.True(t, ok)
	assert.Equal(t, "staff7", m.By)

	// Tagged again today: At moves, and it is recorded.
	h.clock.Advance(6 * time.Hour)
	res, err = h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "到店未成交", By: "staff8"})
	require.NoError(t, err)
	assert.True(t, res.Refreshed)
	m, _ = h.profile("c1").TagMark("到店未成交")
	assert.True(t, m.At.Equal(t0.Add(6*time.Hour)))
	assert.Equal(t, "staff8", m.By)
	assert.Equal(t, 1, h.count("到店未成交"))

	rr, err := h.svc.Remove(h.ctx, tagging.RemoveRequest{Tenant: tenant, Customer: "c1", Tag: "到店未成交", By: "staff9", Reason: "已成交"})
	require.NoError(t, err)
	assert.True(t, rr.Removed)
	assert.Equal(t, "staff8", rr.Mark.By)
	assert.Empty(t, h.tags("c1"))
	assert.Equal(t, 0, h.count("到店未成交"))

	rr, err = h.svc.Remove(h.ctx, tagging.RemoveRequest{Tenant: tenant, Customer: "c1", Tag: "到店未成交"})
	require.NoError(t, err)
	assert.False(t, rr.Removed, "removing an absent tag changes nothing")

	hist, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	require.Len(t, hist, 3)
	assert.Equal(t, []tagging.Action{tagging.ActionRemoved, tagging.ActionRefreshed, tagging.ActionApplied},
		[]tagging.Action{hist[0].Action, hist[1].Action, hist[2].Action})
	assert.Equal(t, "staff9", hist[0].By)
	assert.Equal(t, "已成交", hist[0].Reason)
	assert.Equal(t, "试穿未买", hist[2].Reason)
	assert.Equal(t, []string{"applied 到店未成交 c1", "refreshed 到店未成交 c1", "removed 到店未成交 c1"}, summary(h.taken()))
}

func TestApplyExclusiveReplaces(t *testing.T) {
	h := styleHarness(t)
	apply := func(tag string) tagging.ApplyResult {
		res, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: tag})
		require.NoError(t, err)
		return res
	}
	apply("休闲风")
	apply("到店未成交")
	res := apply("商务风")
	assert.Equal(t, []string{"休闲风"}, res.Replaced)
	assert.Equal(t, []string{"到店未成交", "商务风"}, h.tags("c1"))
	assert.Equal(t, 0, h.count("休闲风"))
	assert.Equal(t, 1, h.count("商务风"))
	assert.Equal(t, []string{"applied 休闲风 c1", "applied 到店未成交 c1", "applied 商务风 c1", "removed 休闲风 c1"}, summary(h.taken()))
}

func TestApplyIdempotencyKey(t *testing.T) {
	h := styleHarness(t)
	req := tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "时尚风", By: "s1", IdempotencyKey: "k1"}
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "休闲风"})
	require.NoError(t, err)
	first, err := h.svc.Apply(h.ctx, req)
	require.NoError(t, err)
	assert.Equal(t, []string{"休闲风"}, first.Replaced)
	firstEvents := h.taken()

	h.clock.Advance(time.Hour)
	again, err := h.svc.Apply(h.ctx, req)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.True(t, again.Mark.At.Equal(first.Mark.At), "the original result")
	assert.Equal(t, first.Replaced, again.Replaced)
	m, _ := h.profile("c1").TagMark("时尚风")
	assert.True(t, m.At.Equal(t0), "a replay changes nothing")
	hist, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	assert.Len(t, hist, 3)
	for _, e := range h.taken() {
		found := false
		for _, f := range firstEvents {
			found = found || f.ID == e.ID
		}
		assert.True(t, found, "a replay republishes only the original IDs, got %s", e.ID)
	}

	req.By = "s2"
	_, err = h.svc.Apply(h.ctx, req)
	assert.ErrorIs(t, err, scrm.ErrConflict)

	req.By, req.Customer = "s1", "c2"
	_, err = h.svc.Apply(h.ctx, req)
	assert.ErrorIs(t, err, scrm.ErrConflict, "the key was used for another customer")
	assert.Empty(t, h.tags("c2"))
}

func TestApplyBadInput(t *testing.T) {
	h := styleHarness(t)
	future := t0.Add(day)
	cases := []struct {
		name  string
		req   tagging.ApplyRequest
		field string
	}{
		{"unknown tag", tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "nope"}, "Tag"},
		{"no tag", tagging.ApplyRequest{Tenant: tenant, Customer: "c1"}, "Tag"},
		{"no customer", tagging.ApplyRequest{Tenant: tenant, Tag: "休闲风"}, "Customer"},
		{"no tenant", tagging.ApplyRequest{Customer: "c1", Tag: "休闲风"}, "Tenant"},
		{"past expiry", tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "休闲风", Expires: t0.Add(-time.Second)}, "Expires"},
		{"reserved source", tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "休闲风", Source: "rule:x", Expires: future}, "Source"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.svc.Apply(h.ctx, tc.req)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			var se *scrm.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.field, se.Field)
		})
	}
	_, err := h.svc.Remove(h.ctx, tagging.RemoveRequest{Tenant: tenant, Customer: "c1", Tag: "nope"})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	_, err = h.profiles.Get(h.ctx, tenant, "c1")
	assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
	_, err = h.svc.Count(h.ctx, tenant, "nope")
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Empty(t, h.taken())
}

func TestApplyWithExpiry(t *testing.T) {
	h := styleHarness(t)
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "到店未成交", Expires: t0.Add(7 * day)})
	require.NoError(t, err)
	p := h.profile("c1")
	exp, ok := p.TagExpiry("到店未成交")
	require.True(t, ok)
	assert.True(t, exp.Equal(t0.Add(7*day)))
	hist, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	assert.True(t, hist[0].Expires.Equal(t0.Add(7*day)))
}

func TestRemoveIdempotencyKey(t *testing.T) {
	h := styleHarness(t)
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "休闲风"})
	require.NoError(t, err)
	req := tagging.RemoveRequest{Tenant: tenant, Customer: "c1", Tag: "休闲风", By: "s1", IdempotencyKey: "rm1"}
	res, err := h.svc.Remove(h.ctx, req)
	require.NoError(t, err)
	assert.True(t, res.Removed)
	assert.False(t, res.Replayed)

	// Applied again by someone else; the retried removal must not undo that.
	h.clock.Advance(time.Minute)
	_, err = h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "休闲风"})
	require.NoError(t, err)
	res, err = h.svc.Remove(h.ctx, req)
	require.NoError(t, err)
	assert.True(t, res.Replayed)
	assert.Equal(t, []string{"休闲风"}, h.tags("c1"))

	req.Reason = "other"
	_, err = h.svc.Remove(h.ctx, req)
	assert.ErrorIs(t, err, scrm.ErrConflict)

	_, err = h.svc.Customers(h.ctx, tenant, "nope", "", 0)
	assert.ErrorIs(t, err, scrm.ErrInvalid)
}
