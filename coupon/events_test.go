package coupon_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

// checkedLog is an eventLog that refuses events as a Dispatcher does (an
// invalid event, such as one with an ID longer than scrm.MaxIDLength) and
// fails the first publish of events of type failOnce, if set.
type checkedLog struct {
	eventLog
	mu       sync.Mutex
	failOnce string
}

func (l *checkedLog) Publish(ctx context.Context, e scrm.Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	l.mu.Lock()
	fail := l.failOnce != "" && e.Type == l.failOnce
	if fail {
		l.failOnce = ""
	}
	l.mu.Unlock()
	if fail {
		return errors.New("broker down")
	}
	return l.eventLog.Publish(ctx, e)
}

func (l *checkedLog) ids(typ string) []string {
	var out []string
	for _, e := range l.ofType(typ) {
		out = append(out, e.ID)
	}
	return out
}

// newCheckedEnv is newEnv with a checkedLog as the publisher and coupon IDs
// from newID.
func newCheckedEnv(t *testing.T, newID func() string) (*env, *checkedLog) {
	t.Helper()
	log := &checkedLog{}
	e := newEnv(t, func(o *coupon.Options) {
		o.Publisher = log
		if newID != nil {
			o.NewID = newID
		}
	})
	return e, log
}

func TestLongIDEvents(t *testing.T) {
	// Coupon and order IDs of scrm.MaxIDLength bytes are valid, so the
	// events about them must be too: each ID is bounded, deterministic
	// (published again with the same ID) and distinct per cause.
	n := 0
	e, log := newCheckedEnv(t, func() string {
		n++
		return strings.Repeat(string(rune('a'+n)), scrm.MaxIDLength)
	})
	e.put(t, coupon.Template{ID: "cash", Kind: coupon.KindCash, Amount: yuan("10")})
	e.put(t, coupon.Template{ID: "ship", Kind: coupon.KindFreeShipping})
	c := e.claim(t, "u1", "cash")
	issued, err := e.svc.Issue(ctx, coupon.IssueRequest{Tenant: tenant, Customer: "u1", Template: "ship",
		IdempotencyKey: "issue-1", Source: strings.Repeat("s", scrm.MaxIDLength)})
	require.NoError(t, err)
	require.Len(t, issued, 1)
	require.Len(t, c.ID, scrm.MaxIDLength)

	cart := cart3()
	cart.OrderID = strings.Repeat("9", scrm.MaxIDLength)
	_, err = e.svc.Lock(ctx, coupon.LockRequest{Cart: cart, Coupons: []string{c.ID, issued[0].ID}, IdempotencyKey: "lock-1"})
	require.NoError(t, err)
	for i := range 2 {
		o, err := e.svc.Confirm(ctx, tenant, cart.OrderID)
		require.NoError(t, err, "Confirm #%d", i+1)
		assert.Equal(t, coupon.OrderConfirmed, o.State)
	}
	req := coupon.RefundRequest{Tenant: tenant, OrderID: cart.OrderID, IdempotencyKey: "refund-1"}
	for i := range 2 {
		r, err := e.svc.Refund(ctx, req)
		require.NoError(t, err, "Refund #%d", i+1)
		assert.Len(t, r.Restored, 2)
	}
	e.clock.Advance(31 * 24 * time.Hour)
	swept, err := e.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, 2, swept)

	issuedIDs := log.ids(coupon.EventIssued)
	redeemed := log.ids(coupon.EventRedeemed)
	restored := log.ids(coupon.EventRestored)
	expired := log.ids(coupon.EventExpired)
	require.Len(t, issuedIDs, 2)
	require.Len(t, redeemed, 4, "two coupons, confirmed twice")
	require.Len(t, restored, 4, "two coupons, refunded twice")
	require.Len(t, expired, 2)
	assert.Equal(t, redeemed[:2], redeemed[2:], "a repeated Confirm publishes the same IDs")
	assert.Equal(t, restored[:2], restored[2:], "a replayed Refund publishes the same IDs")

	distinct := map[string]bool{}
	for _, ids := range [][]string{issuedIDs, redeemed[:2], restored[:2], expired} {
		for _, id := range ids {
			assert.LessOrEqual(t, len(id), scrm.MaxIDLength, id)
			distinct[id] = true
		}
	}
	assert.Len(t, distinct, 8, "one ID per coupon and event type")
	for _, ev := range log.ofType(coupon.EventRedeemed) {
		assert.Equal(t, cart.OrderID, ev.Props["order_id"], "the props keep the full IDs")
		assert.Contains(t, []string{c.ID, issued[0].ID}, ev.Props["coupon"])
	}
}

func TestShortIDEventsReadable(t *testing.T) {
	// IDs that fit keep their documented, readable form.
	e, log := newCheckedEnv(t, nil)
	e.put(t, coupon.Template{ID: "cash", Kind: coupon.KindCash, Amount: yuan("10")})
	c := e.claim(t, "u1", "cash")
	_, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart3(), Coupons: []string{c.ID}, IdempotencyKey: "lock-1"})
	require.NoError(t, err)
	_, err = e.svc.Confirm(ctx, tenant, "o1")
	require.NoError(t, err)
	_, err = e.svc.Refund(ctx, coupon.RefundRequest{Tenant: tenant, OrderID: "o1"})
	require.NoError(t, err)
	e.clock.Advance(31 * 24 * time.Hour)
	_, err = e.svc.Sweep(ctx, tenant)
	require.NoError(t, err)
	assert.Equal(t, []string{"coupon.issued:" + c.ID}, log.ids(coupon.EventIssued))
	assert.Equal(t, []string{"coupon.redeemed:" + c.ID + ":o1"}, log.ids(coupon.EventRedeemed))
	assert.Equal(t, []string{"coupon.restored:" + c.ID + ":o1"}, log.ids(coupon.EventRestored))
	assert.Equal(t, []string{"coupon.expired:" + c.ID}, log.ids(coupon.EventExpired))
}

func TestRefundRepublishesRestored(t *testing.T) {
	// A full refund whose coupon.restored publish failed is stored; the
	// retry the ErrUnavailable asks for publishes the event again, with the
	// ID the first attempt would have used.
	tests := []struct {
		name string
		key  string
	}{
		{"retry with the same key", "refund-1"},
		{"full refund again without a key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, log := newCheckedEnv(t, nil)
			e.put(t, coupon.Template{ID: "cash", Kind: coupon.KindCash, Amount: yuan("10")})
			c := e.claim(t, "u1", "cash")
			_, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart3(), Coupons: []string{c.ID}, IdempotencyKey: "lock-1"})
			require.NoError(t, err)
			_, err = e.svc.Confirm(ctx, tenant, "o1")
			require.NoError(t, err)

			log.failOnce = coupon.EventRestored
			req := coupon.RefundRequest{Tenant: tenant, OrderID: "o1", IdempotencyKey: tt.key}
			_, err = e.svc.Refund(ctx, req)
			require.ErrorIs(t, err, scrm.ErrUnavailable)
			assert.Empty(t, log.ids(coupon.EventRestored))
			o, err := e.svc.Order(ctx, tenant, "o1")
			require.NoError(t, err)
			require.Equal(t, coupon.OrderRefunded, o.State, "the refund stands")

			r, err := e.svc.Refund(ctx, req)
			require.NoError(t, err)
			assert.True(t, r.Full)
			assert.Equal(t, []string{c.ID}, r.Restored)
			want := "coupon.restored:" + c.ID + ":o1"
			assert.Equal(t, []string{want}, log.ids(coupon.EventRestored))
			ev := log.ofType(coupon.EventRestored)[0]
			assert.Equal(t, string(coupon.StateAvailable), ev.Props["state"])
			assert.Equal(t, "cash", ev.Props["template"])

			_, err = e.svc.Refund(ctx, req)
			require.NoError(t, err)
			assert.Equal(t, []string{want, want}, log.ids(coupon.EventRestored), "every retry publishes, with the same ID")
			assert.Equal(t, coupon.StateAvailable, mustWallet(t, e, "u1")[0].State)
		})
	}
}

func TestRefundPartialReplayPublishesNothing(t *testing.T) {
	// A partial refund restores no coupon, so neither it nor its replay
	// publishes coupon.restored.
	e, log := newCheckedEnv(t, nil)
	e.put(t, coupon.Template{ID: "cash", Kind: coupon.KindCash, Amount: yuan("10")})
	c := e.claim(t, "u1", "cash")
	_, err := e.svc.Lock(ctx, coupon.LockRequest{Cart: cart3(), Coupons: []string{c.ID}, IdempotencyKey: "lock-1"})
	require.NoError(t, err)
	_, err = e.svc.Confirm(ctx, tenant, "o1")
	require.NoError(t, err)
	req := coupon.RefundRequest{Tenant: tenant, OrderID: "o1", IdempotencyKey: "rf1",
		Lines: []coupon.RefundLine{{Line: 0, Quantity: 1}}}
	for range 2 {
		r, err := e.svc.Refund(ctx, req)
		require.NoError(t, err)
		assert.False(t, r.Full)
	}
	assert.Empty(t, log.ids(coupon.EventRestored))
}

func TestGrantSourceTooLong(t *testing.T) {
	tests := []struct {
		name    string
		source  string
		wantErr bool
	}{
		{"at the limit", strings.Repeat("s", scrm.MaxIDLength), false},
		{"one byte over", strings.Repeat("s", scrm.MaxIDLength+1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, log := newCheckedEnv(t, nil)
			e.put(t, coupon.Template{ID: "cash", Kind: coupon.KindCash, Amount: yuan("10")})
			err := e.svc.Grant(ctx, scrm.Grant{Tenant: tenant, Customer: "u1", IdempotencyKey: "g1", Source: tt.source,
				Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "cash"}})
			st, serr := e.svc.Stats(ctx, tenant, "cash")
			require.NoError(t, serr)
			if !tt.wantErr {
				require.NoError(t, err)
				assert.Len(t, mustWallet(t, e, "u1"), 1)
				assert.Equal(t, tt.source, mustWallet(t, e, "u1")[0].Source)
				assert.Equal(t, int64(1), st.Issued)
				return
			}
			require.ErrorIs(t, err, scrm.ErrInvalid)
			assert.Equal(t, "Source", fieldOf(err))
			assert.Empty(t, mustWallet(t, e, "u1"), "nothing written")
			assert.Zero(t, st.Issued)
			assert.Empty(t, log.ids(coupon.EventIssued))
		})
	}
}
