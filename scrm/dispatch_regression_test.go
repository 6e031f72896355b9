package scrm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// "A failing handler does not stop delivery ... Publish returns all the
// failures joined." A handler whose error joins a real failure with the
// cascade-depth error its own Publish returned loses the real failure:
// isCascadeErr matches the joined error as a whole and drops it.
func TestPublishReportsHandlerFailureJoinedWithDepthError(t *testing.T) {
	ctx := context.Background()
	storeDown := errors.New("store down")
	var d *scrm.Dispatcher
	n := 0
	d = scrm.NewDispatcher(scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
		n++
		pubErr := d.Publish(ctx, ev(fmt.Sprint("e", n), "loop"))
		if pubErr == nil {
			return nil
		}
		// The deepest handler also failed its own write.
		return errors.Join(storeDown, pubErr)
	}))
	d.MaxDepth = 2
	err := d.Publish(ctx, ev("root", "loop"))
	require.ErrorIs(t, err, scrm.ErrExhausted)
	assert.ErrorIs(t, err, storeDown, "the handler's own failure must be reported too: %v", err)
}

// SetAttrs derives the customer.attrs_set event ID from (customer, instant,
// attrs), "so the same change at the same instant is one event". Setting
// city 上海, then 北京, then 上海 again within one clock reading (a batch
// import, a coarse clock) gives the third change the first one's ID:
// Profiles drops it as a replay, and the profile rules read keeps 北京 while
// the Directory holds 上海, until some later change.
func TestSetAttrsBackAndForthAtOneInstantReachesProfile(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ps := scrm.NewMemoryProfileStore()
	profiles := scrm.NewProfiles(ps, nil)
	d := scrm.NewDispatcher(profiles)
	dir := scrm.NewDirectory(nil, &scrm.Options{Clock: scrm.ClockFunc(func() time.Time { return at }), Publisher: d})
	c, err := dir.Resolve(ctx, "t1", scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"})
	require.NoError(t, err)
	for _, city := range []string{"上海", "北京", "上海"} {
		require.NoError(t, dir.SetAttrs(ctx, "t1", c, map[string]any{"city": city}))
	}
	cust, err := dir.Get(ctx, "t1", c)
	require.NoError(t, err)
	require.Equal(t, "上海", cust.Attrs["city"])
	p, err := profiles.Get(ctx, "t1", c)
	require.NoError(t, err)
	got, _ := p.Attr("city")
	assert.Equal(t, "上海", got, "the profile must agree with the Directory")
}

// The depth error is dropped from a handler's error however deeply it is
// wrapped or joined, and every other failure beside it is kept; the depth
// error itself is reported exactly once.
func TestPublishKeepsFailuresInNestedAndWrappedDepthErrors(t *testing.T) {
	storeDown := errors.New("store down")
	grantFailed := errors.New("grant failed")
	shapes := map[string]func(pubErr error) error{
		"wrapped join": func(pubErr error) error {
			return fmt.Errorf("effects: %w", errors.Join(storeDown, pubErr))
		},
		"nested joins": func(pubErr error) error {
			return errors.Join(errors.Join(fmt.Errorf("enroll: %w", pubErr), storeDown), errors.Join(grantFailed))
		},
		"scrm error around join": func(pubErr error) error {
			return scrm.Wrap(nil, "sop.enroll", errors.Join(scrm.Wrap(nil, "publish", pubErr), storeDown))
		},
		"wrapped depth error only": func(pubErr error) error {
			return fmt.Errorf("effects: %w", pubErr)
		},
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			var d *scrm.Dispatcher
			n := 0
			d = scrm.NewDispatcher(scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
				n++
				if pubErr := d.Publish(ctx, ev(fmt.Sprint("e", n), "loop")); pubErr != nil {
					return shape(pubErr)
				}
				return nil
			}))
			d.MaxDepth = 2
			err := d.Publish(context.Background(), ev("root", "loop"))
			require.ErrorIs(t, err, scrm.ErrExhausted)
			assert.Equal(t, 1, strings.Count(err.Error(), "deeper than"), "the depth error is reported once: %v", err)
			if name == "wrapped depth error only" {
				assert.NotContains(t, err.Error(), "handler 0", "nothing else failed: %v", err)
				return
			}
			assert.ErrorIs(t, err, storeDown)
			if name == "nested joins" {
				assert.ErrorIs(t, err, grantFailed)
			}
		})
	}
}

// A handler error with no depth error in it is reported as it is, wrapper
// and all.
func TestPublishReportsPlainHandlerErrorUnchanged(t *testing.T) {
	storeDown := errors.New("store down")
	d := scrm.NewDispatcher(scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
		return fmt.Errorf("effects: %w", storeDown)
	}))
	err := d.Publish(context.Background(), ev("root", "x"))
	require.ErrorIs(t, err, storeDown)
	assert.Contains(t, err.Error(), "effects: store down")
}

// Every SetAttrs call publishes an event with an ID of its own, even when
// the same attributes are set at the same instant.
func TestSetAttrsEventIDsAreDistinctPerCall(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var ids []string
	pub := scrm.PublisherFunc(func(_ context.Context, e scrm.Event) error {
		if e.Type == scrm.EventAttrsSet {
			ids = append(ids, e.ID)
		}
		return nil
	})
	clock := scrm.ClockFunc(func() time.Time { return at })
	dir := scrm.NewDirectory(nil, &scrm.Options{Clock: clock, Publisher: pub})
	c, err := dir.Resolve(ctx, "t1", scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"})
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, dir.SetAttrs(ctx, "t1", c, map[string]any{"city": "上海"}))
	}
	require.Len(t, ids, 3)
	assert.NotEqual(t, ids[0], ids[1])
	assert.NotEqual(t, ids[1], ids[2])
	assert.NotEqual(t, ids[0], ids[2])
}
