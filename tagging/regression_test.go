package tagging_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

// newFlakyHarness is newHarness with a Store whose Record can be made to fail.
func newFlakyHarness(t *testing.T) (*harness, *flakyStore) {
	h := newHarness(t)
	flaky := &flakyStore{Store: h.store}
	h.svc = tagging.New(flaky, h.ps, &tagging.Options{Options: scrm.Options{Clock: h.clock,
		Publisher: scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error { return h.d.Publish(ctx, e) })}})
	h.d = scrm.NewDispatcher(h.profiles, h.svc, scrm.HandlerFunc(func(_ context.Context, e scrm.Event) error {
		if e.Type == scrm.EventTagApplied || e.Type == scrm.EventTagRemoved {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		}
		return nil
	}))
	return h, flaky
}

// Remove's doc: ErrUnavailable when a store failed, "retry with the same
// idempotency key"; when the profile was written but the history was not,
// the retry repairs the tag index, so it no longer counts a customer who
// no longer carries the tag.
func TestRemoveRetryAfterRecordFailureRepairsIndex(t *testing.T) {
	h, flaky := newFlakyHarness(t)
	h.tag("vip", "")
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "vip"})
	require.NoError(t, err)
	require.Equal(t, 1, h.count("vip"))

	req := tagging.RemoveRequest{Tenant: tenant, Customer: "c1", Tag: "vip", IdempotencyKey: "rm1"}
	flaky.fail.Store(1)
	_, err = h.svc.Remove(h.ctx, req)
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Empty(t, h.tags("c1"), "the profile was written")

	res, err := h.svc.Remove(h.ctx, req) // the documented retry
	require.NoError(t, err)
	assert.True(t, res.Removed)
	assert.Equal(t, 0, h.count("vip"), "after a successful retry Count must not include c1")
	page, err := h.svc.Customers(h.ctx, tenant, "vip", "", 0)
	require.NoError(t, err)
	assert.Empty(t, page.Customers, "nor Customers")
}

// Handle's doc: "A failure between the profile write and the store write is
// repaired by handling the event again for applications and the tag index".
// That holds for an event whose only effect is a Sync removal too, though
// handling it again plans nothing.
func TestRedeliveredEventRepairsIndexAfterSyncRemoval(t *testing.T) {
	h, flaky := newFlakyHarness(t)
	h.tag("上海客户", "")
	h.rule(tagging.Rule{ID: "sh", Tag: "上海客户", When: rule.Attr("city").Eq("上海"), Sync: true})
	h.publish("c1", scrm.EventAttrsSet, "", map[string]any{"attrs": map[string]any{"city": "上海"}})
	require.Equal(t, 1, h.count("上海客户"))

	e := scrm.Event{ID: "move", Tenant: tenant, Customer: "c1", Type: scrm.EventAttrsSet, Time: h.clock.Now(),
		Props: map[string]any{"attrs": map[string]any{"city": "杭州"}}}
	flaky.fail.Store(1)
	require.ErrorIs(t, h.d.Publish(h.ctx, e), scrm.ErrUnavailable)
	assert.Empty(t, h.tags("c1"), "the profile was written")

	require.NoError(t, h.d.Publish(h.ctx, e), "the host redelivers the event")
	assert.Equal(t, 0, h.count("上海客户"), "the redelivery must repair the tag index")
}

// hookStore runs before once, just before the first Record for customer
// on, as a concurrent writer would slip in between the profile write and
// the store write.
type hookStore struct {
	tagging.Store
	on     scrm.CustomerID
	before func()
	fired  bool
}

func (s *hookStore) Record(ctx context.Context, p tagging.RecordParams) error {
	if !s.fired && p.Customer == s.on && s.before != nil {
		s.fired = true
		s.before()
	}
	return s.Store.Record(ctx, p)
}

// A merge completing between an Apply's profile write and its Store.Record
// (two goroutines: a staff member tagging c2 while the Directory merges c2
// into c1) must not bring the absorbed c2 back into the tag index: Count
// and Customers show only c1, and the application's history entry is filed
// under c1, where History (which follows the merge) shows it.
func TestApplyRacingMergeKeepsAbsorbedCustomerOutOfIndex(t *testing.T) {
	h := newHarness(t)
	hs := &hookStore{Store: h.store, on: "c2"}
	h.svc = tagging.New(hs, h.ps, &tagging.Options{Options: scrm.Options{Clock: h.clock,
		Publisher: scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error { return h.d.Publish(ctx, e) })}})
	h.d = scrm.NewDispatcher(h.profiles, h.svc)
	h.tag("vip", "")
	h.publish("c1", scrm.EventCustomerAdded, "", nil)
	h.publish("c2", scrm.EventCustomerAdded, "", nil)

	hs.before = func() {
		require.NoError(t, h.d.Publish(h.ctx, scrm.MergeEvent(tenant, "c2", "c1", h.clock.Now())))
	}
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c2", Tag: "vip", By: "staff1"})
	require.NoError(t, err)
	require.True(t, hs.fired)

	assert.Equal(t, []string{"vip"}, h.tags("c1"), "the survivor carries the tag")
	page, err := h.svc.Customers(h.ctx, tenant, "vip", "", 0)
	require.NoError(t, err)
	var ids []scrm.CustomerID
	for _, c := range page.Customers {
		ids = append(ids, c.Customer)
	}
	assert.Equal(t, []scrm.CustomerID{"c1"}, ids, "only the live customer is listed")
	assert.Equal(t, 1, h.count("vip"), "one customer carries vip")
	hist, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	assert.Len(t, hist, 1, "the survivor's history shows the application")
}

// The design's idempotency rule: the same key with a different payload is
// ErrConflict. Keys are tenant-wide, so reusing a Remove key for another
// customer (here one who does not carry the tag) is ErrConflict, not a
// replay that removed the tag.
func TestRemoveKeyReusedForAnotherCustomerConflicts(t *testing.T) {
	h := newHarness(t)
	h.tag("vip", "")
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "vip"})
	require.NoError(t, err)
	res, err := h.svc.Remove(h.ctx, tagging.RemoveRequest{Tenant: tenant, Customer: "c1", Tag: "vip", IdempotencyKey: "rm"})
	require.NoError(t, err)
	require.True(t, res.Removed)

	res, err = h.svc.Remove(h.ctx, tagging.RemoveRequest{Tenant: tenant, Customer: "c3", Tag: "vip", IdempotencyKey: "rm"})
	assert.ErrorIs(t, err, scrm.ErrConflict, "key rm was used for c1; got %+v", res)
}

// Same for Apply: reusing a key for another customer who happens to carry
// the tag with the same source and operator is ErrConflict, not a replay
// of a result the key never produced.
func TestApplyKeyReusedForAnotherCustomerConflicts(t *testing.T) {
	h := newHarness(t)
	h.tag("vip", "")
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c3", Tag: "vip"})
	require.NoError(t, err)
	_, err = h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "vip", IdempotencyKey: "k"})
	require.NoError(t, err)

	res, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c3", Tag: "vip", IdempotencyKey: "k"})
	assert.ErrorIs(t, err, scrm.ErrConflict, "key k was used for c1; got %+v", res)
}

// MatchExact: "the reply is a keyword, once punctuation, symbols and emoji
// at either end are ignored". That includes emoji that end in a combining
// keycap (U+20E3: #️⃣, *️⃣) or in tag characters (subdivision flags such as
// the flag of England), as well as those whose last code point is a
// symbol, a variation selector or a joiner (🙏🏻, ❤️, 👨‍👩‍👧).
func TestExactMatchIgnoresTrailingEmoji(t *testing.T) {
	h := newHarness(t)
	h.tag("停", "")
	h.rule(tagging.Rule{ID: "stop", Tag: "停", Keywords: []string{"别发了"}, Match: tagging.MatchExact})
	for i, text := range []string{
		"别发了\U0001F64F\U0001F3FB", // 🙏🏻, control: matches
		"别发了#\uFE0F\u20E3",        // #️⃣ keycap number sign
		"别发了\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", // flag of England (tag sequence)
	} {
		c := scrm.CustomerID("k" + string(rune('a'+i)))
		h.publish(c, scrm.EventMessageReplied, "", map[string]any{"text": text})
		assert.Equal(t, []string{"停"}, h.tags(c), "reply %q", text)
	}
}

// A sweep retried at the same instant after a failed Record goes through the
// same replay as a redelivered event, and repairs the index of a customer
// whose expired tag it removed.
func TestSweepRetryAfterRecordFailureRepairsIndex(t *testing.T) {
	h, flaky := newFlakyHarness(t)
	h.tag("vip", "")
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "vip", Expires: t0.Add(day)})
	require.NoError(t, err)
	h.clock.Advance(2 * day)

	flaky.fail.Store(1)
	_, err = h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	require.Empty(t, h.tags("c1"), "the profile was written")
	require.Equal(t, 1, h.count("vip"))

	_, err = h.svc.Sweep(h.ctx, tenant, tagging.SweepOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, h.count("vip"))
}

// A removal whose history was lost, retried after someone applied the tag
// again, repairs the index and leaves the new application alone.
func TestRemoveRetryKeepsTagAppliedSince(t *testing.T) {
	h, flaky := newFlakyHarness(t)
	h.tag("vip", "")
	_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "vip"})
	require.NoError(t, err)
	req := tagging.RemoveRequest{Tenant: tenant, Customer: "c1", Tag: "vip", IdempotencyKey: "rm1"}
	flaky.fail.Store(1)
	_, err = h.svc.Remove(h.ctx, req)
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	_, err = h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "vip", By: "s2"})
	require.NoError(t, err)

	res, err := h.svc.Remove(h.ctx, req)
	require.NoError(t, err)
	assert.True(t, res.Replayed)
	assert.Equal(t, []string{"vip"}, h.tags("c1"))
	assert.Equal(t, 1, h.count("vip"))

	_, err = h.svc.Remove(h.ctx, tagging.RemoveRequest{Tenant: tenant, Customer: "c2", Tag: "vip", IdempotencyKey: "rm1"})
	assert.ErrorIs(t, err, scrm.ErrConflict, "the key belongs to c1 though its history was lost")
}
