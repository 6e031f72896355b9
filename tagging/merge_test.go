package tagging_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

func TestMergeMovesTagsHistoryAndIndex(t *testing.T) {
	h := styleHarness(t)
	h.tag("复购", "")
	h.rule(tagging.Rule{ID: "repeat", Tag: "复购", When: rule.Event(scrm.EventOrderPaid).CountGte(2)})
	ids := 0
	dir := scrm.NewDirectory(scrm.NewMemoryDirectoryStore(), &scrm.Options{Clock: h.clock, Publisher: h.d,
		NewID: func() string { ids++; return fmt.Sprintf("C%d", ids) }})
	phone := scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"}
	union := scrm.Identity{Kind: scrm.IdentityUnionID, Value: "oUNION"}
	c1, err := dir.Resolve(h.ctx, tenant, phone)
	require.NoError(t, err)
	h.clock.Advance(time.Hour)
	c2, err := dir.Resolve(h.ctx, tenant, union)
	require.NoError(t, err)

	apply := func(c scrm.CustomerID, tag string) {
		_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: c, Tag: tag})
		require.NoError(t, err)
		h.clock.Advance(time.Minute)
	}
	apply(c1, "休闲风")
	h.publish(c1, scrm.EventOrderPaid, "10.00", nil)
	apply(c2, "商务风") // the more recent style wins
	apply(c2, "到店未成交")
	h.publish(c2, scrm.EventOrderPaid, "10.00", nil)
	require.Equal(t, 1, h.count("休闲风"))
	require.Equal(t, 1, h.count("商务风"))
	h.taken()

	survivor, err := dir.Resolve(h.ctx, tenant, phone, union)
	require.NoError(t, err)
	require.Equal(t, c1, survivor)

	assert.Equal(t, []string{"到店未成交", "商务风", "复购"}, h.tags(c1), "one order each: together they are repeat buyers")
	assert.Equal(t, 0, h.count("休闲风"))
	assert.Equal(t, 1, h.count("商务风"))
	assert.Equal(t, 1, h.count("到店未成交"))
	page, err := h.svc.Customers(h.ctx, tenant, "商务风", "", 0)
	require.NoError(t, err)
	require.Len(t, page.Customers, 1)
	assert.Equal(t, c1, page.Customers[0].Customer)
	assert.ElementsMatch(t, []string{"removed 休闲风 C1", "applied 复购 C1"}, summary(h.taken()))

	hist, err := h.svc.History(h.ctx, tenant, c2)
	require.NoError(t, err, "the absorbed customer's history is the survivor's")
	tags := map[string]int{}
	for _, e := range hist {
		assert.Equal(t, c1, e.Customer)
		tags[e.Tag+" "+string(e.Action)]++
	}
	assert.Equal(t, map[string]int{"休闲风 applied": 1, "商务风 applied": 1, "到店未成交 applied": 1, "休闲风 removed": 1, "复购 applied": 1}, tags)
	for i := 1; i < len(hist); i++ {
		assert.False(t, hist[i].At.After(hist[i-1].At), "newest first")
	}

	// Later requests for the absorbed ID reach the survivor.
	res, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: c2, Tag: "时尚风"})
	require.NoError(t, err)
	assert.Equal(t, c1, res.Customer)
	assert.Equal(t, []string{"商务风"}, res.Replaced)

	// Replaying the merge changes nothing.
	before, _ := h.svc.History(h.ctx, tenant, c1)
	require.NoError(t, h.d.Publish(h.ctx, scrm.MergeEvent(tenant, c2, c1, h.clock.Now())))
	after, _ := h.svc.History(h.ctx, tenant, c1)
	assert.Len(t, after, len(before))
	assert.Equal(t, 1, h.count("时尚风"))
}

// flakyStore fails Record when told to, like a database going away between
// the profile write and the store write.
type flakyStore struct {
	tagging.Store
	fail atomic.Int64
}

func (f *flakyStore) Record(ctx context.Context, p tagging.RecordParams) error {
	if f.fail.Add(-1) >= 0 {
		return scrm.Errorf(scrm.ErrUnavailable, "flaky", "connection reset")
	}
	return f.Store.Record(ctx, p)
}

func TestReplayRepairsAfterStoreFailure(t *testing.T) {
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
	h.tag("高消费", "")
	h.rule(tagging.Rule{ID: "big", Tag: "高消费", When: rule.Event(scrm.EventOrderPaid).SumGte(scrm.Yuan("500"))})

	e := scrm.Event{ID: "o1", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderPaid, Time: t0, Amount: scrm.Yuan("800")}
	flaky.fail.Store(1)
	err := h.d.Publish(h.ctx, e)
	require.Error(t, err)
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Equal(t, []string{"高消费"}, h.tags("c1"), "the profile was written")
	assert.Equal(t, 0, h.count("高消费"), "the store was not")
	assert.Empty(t, h.taken(), "nothing published for an unrecorded change")

	require.NoError(t, h.d.Publish(h.ctx, e), "the host retries the event")
	assert.Equal(t, 1, h.count("高消费"))
	hist, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, "event:o1", hist[0].Cause)
	es := h.taken()
	require.Len(t, es, 1)
	assert.Equal(t, "tag.applied:event:o1:高消费", es[0].ID)

	require.NoError(t, h.d.Publish(h.ctx, e), "once more")
	hist, err = h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	assert.Len(t, hist, 1)
	assert.Equal(t, 1, h.count("高消费"))
}

func TestPublishFailureIsReported(t *testing.T) {
	ctx := context.Background()
	ps := scrm.NewMemoryProfileStore()
	var fail atomic.Bool
	var got []string
	pub := scrm.PublisherFunc(func(_ context.Context, e scrm.Event) error {
		if fail.Load() {
			return errors.New("broker down")
		}
		got = append(got, e.ID)
		return nil
	})
	svc := tagging.New(nil, ps, &tagging.Options{Options: scrm.Options{Clock: scrm.ClockFunc(func() time.Time { return t0 }), Publisher: pub}})
	_, err := svc.PutTag(ctx, tenant, tagging.Tag{ID: "vip"})
	require.NoError(t, err)
	req := tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: "vip", IdempotencyKey: "k"}
	fail.Store(true)
	_, err = svc.Apply(ctx, req)
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	fail.Store(false)
	res, err := svc.Apply(ctx, req)
	require.NoError(t, err, "the retry publishes")
	assert.True(t, res.Replayed)
	assert.Equal(t, []string{"tag.applied:apply:k:vip"}, got)
}
