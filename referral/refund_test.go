package referral_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

// flaky fails the first publish of each event ID in fail, then passes
// everything to inner.
type flaky struct {
	inner scrm.Publisher
	mu    sync.Mutex
	fail  map[string]bool // event type → fail its events' first publish
	seen  map[string]bool // IDs failed once
}

func (f *flaky) Publish(ctx context.Context, e scrm.Event) error {
	f.mu.Lock()
	if f.fail[e.Type] && !f.seen[e.ID] {
		f.seen[e.ID] = true
		f.mu.Unlock()
		return scrm.Errorf(scrm.ErrUnavailable, "queue", "broker down")
	}
	f.mu.Unlock()
	return f.inner.Publish(ctx, e)
}

func withFlaky(types ...string) func(*referral.Options) {
	return func(o *referral.Options) {
		f := &flaky{inner: o.Publisher, fail: map[string]bool{}, seen: map[string]bool{}}
		for _, t := range types {
			f.fail[t] = true
		}
		o.Publisher = f
	}
}

// order builds a host order event (not yet delivered).
func (r *rig) order(c scrm.CustomerID, typ, amount string, orderID any) scrm.Event {
	r.seq++
	return scrm.Event{ID: fmt.Sprintf("ev%04d", r.seq), Tenant: tenant, Customer: c, Type: typ, Time: r.clock.Now(),
		Amount: scrm.Yuan(amount), Props: map[string]any{"order_id": orderID}}
}

// reversedTotal checks the distinct EventReversed published: how many, and
// that they add up to Stats' Reversed for the inviter.
func reversedTotal(t *testing.T, r *rig, inviter scrm.CustomerID, n int, total string) {
	t.Helper()
	evs := r.events.Of(referral.EventReversed)
	sum := scrm.Yuan("0")
	for _, e := range evs {
		sum = sum.Add(e.Amount)
	}
	assert.Len(t, evs, n, "distinct referral.reversed events")
	assert.True(t, sum.Equal(scrm.Yuan(total)), "events add up to %s, want %s", sum, total)
	st, err := r.svc.Stats(r.ctx, tenant, "p1", inviter)
	require.NoError(t, err)
	assert.True(t, st.Reversed.Equal(sum), "Stats.Reversed %s, events %s", st.Reversed, sum)
}

// A refund delivered before its order (at-least-once delivery does not
// keep order) reverses the entries the order creates, and their events
// are published as when the two arrive in order.
func TestRefundBeforePaidPublishesReversed(t *testing.T) {
	for _, refundFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("refundFirst=%v", refundFirst), func(t *testing.T) {
			r := newRig(t)
			r.save(referral.Program{Percent: scrm.Yuan("0.10"), Commission: rates("0.05"), SettleAfter: 7 * day})
			r.mustBind("B", "A")
			r.clock.Advance(day)
			pay := r.order("B", scrm.EventOrderPaid, "100.00", "o1")
			ref := r.order("B", scrm.EventOrderRefunded, "100.00", "o1")
			ref.Time = pay.Time.Add(1)
			evs := []scrm.Event{pay, ref}
			if refundFirst {
				evs = []scrm.Event{ref, pay}
			}
			for _, e := range evs {
				require.NoError(t, r.dispatch.Publish(r.ctx, e))
			}
			reversedTotal(t, r, "A", 2, "15.00")
			for _, e := range r.events.Of(referral.EventReversed) {
				assert.True(t, e.Time.Equal(ref.Time), "reversed at the refund's time")
				assert.Equal(t, "o1", e.Prop("order_id"))
			}
			// Redeliveries publish the same events again, nothing new.
			for _, e := range evs {
				require.NoError(t, r.svc.Handle(r.ctx, e))
			}
			reversedTotal(t, r, "A", 2, "15.00")
		})
	}
}

// A referral.reversed whose publish failed is published when the refund
// is delivered again, as the error (ErrUnavailable) asks.
func TestRedeliveredRefundRepublishesReversed(t *testing.T) {
	r := newRig(t, withFlaky(referral.EventReversed))
	r.save(referral.Program{Percent: scrm.Yuan("0.10"), SettleAfter: 7 * day})
	r.mustBind("B", "A")
	r.pay("B", "600.00", "o1")
	r.clock.Advance(day)
	ref := r.order("B", scrm.EventOrderRefunded, "600.00", "o1")
	require.ErrorIs(t, r.svc.Handle(r.ctx, ref), scrm.ErrUnavailable)
	assert.Empty(t, r.events.Of(referral.EventReversed), "the publish failed")
	require.NoError(t, r.svc.Handle(r.ctx, ref))
	reversedTotal(t, r, "A", 1, "60.00")
}

// When entries are born reversed (the refund came first) and publishing
// their events fails, the qualifying event's redelivery publishes them.
func TestRefundFirstReversedRepublishedOnRedelivery(t *testing.T) {
	r := newRig(t, withFlaky(referral.EventReversed))
	r.save(referral.Program{Percent: scrm.Yuan("0.10"), SettleAfter: 7 * day})
	r.mustBind("B", "A")
	ref := r.order("B", scrm.EventOrderRefunded, "80.00", "o1")
	require.NoError(t, r.svc.Handle(r.ctx, ref), "no entries yet: nothing to publish")
	pay := r.order("B", scrm.EventOrderPaid, "80.00", "o1")
	require.ErrorIs(t, r.svc.Handle(r.ctx, pay), scrm.ErrUnavailable)
	assert.Empty(t, r.events.Of(referral.EventReversed), "the publish failed")
	require.NoError(t, r.svc.Handle(r.ctx, pay))
	reversedTotal(t, r, "A", 1, "8.00")
}

// A numeric order_id, as JSON decoding leaves it, names the same order as
// its decimal string; other values are refused rather than ignored.
func TestNumericOrderID(t *testing.T) {
	tests := []struct {
		name string
		id   any
	}{
		{"string", "1234567"},
		{"json.Number", json.Number("1234567")},
		{"json.Number exponent", json.Number("1.234567e6")},
		{"int", 1234567},
		{"int64", int64(1234567)},
		{"uint32", uint32(1234567)},
		{"float64", float64(1234567)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.save(referral.Program{Percent: scrm.Yuan("0.10"), SettleAfter: 7 * day})
			r.mustBind("B", "A")
			// Paid with one representation, refunded with the string.
			require.NoError(t, r.dispatch.Publish(r.ctx, r.order("B", scrm.EventOrderPaid, "100.00", tt.id)))
			q := r.events.Of(referral.EventQualified)
			require.Len(t, q, 1)
			assert.Equal(t, "1234567", q[0].Prop("order_id"))
			r.clock.Advance(day)
			require.NoError(t, r.dispatch.Publish(r.ctx, r.order("B", scrm.EventOrderRefunded, "100.00", "1234567")))
			reversedTotal(t, r, "A", 1, "10.00")

			// And the other way round.
			r2 := newRig(t)
			r2.save(referral.Program{Percent: scrm.Yuan("0.10"), SettleAfter: 7 * day})
			r2.mustBind("B", "A")
			require.NoError(t, r2.dispatch.Publish(r2.ctx, r2.order("B", scrm.EventOrderPaid, "100.00", "1234567")))
			require.NoError(t, r2.dispatch.Publish(r2.ctx, r2.order("B", scrm.EventOrderRefunded, "100.00", tt.id)))
			reversedTotal(t, r2, "A", 1, "10.00")
		})
	}
}

func TestMalformedOrderIDRefused(t *testing.T) {
	for _, id := range []any{1.5, json.Number("12.5"), json.Number("x"), true, []string{"o1"}} {
		for _, typ := range []string{scrm.EventOrderPaid, scrm.EventOrderRefunded} {
			t.Run(fmt.Sprintf("%s %T %v", typ, id, id), func(t *testing.T) {
				r := newRig(t)
				r.save(referral.Program{Percent: scrm.Yuan("0.10"), SettleAfter: 7 * day})
				r.mustBind("B", "A")
				err := r.svc.Handle(r.ctx, r.order("B", typ, "100.00", id))
				require.ErrorIs(t, err, scrm.ErrInvalid)
				var se *scrm.Error
				require.ErrorAs(t, err, &se)
				assert.Equal(t, "Props.order_id", se.Field)
				assert.Empty(t, r.events.Of(referral.EventQualified), "nothing recorded")
			})
		}
	}
}
