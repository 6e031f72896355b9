package scrmtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// RunProfileStoreTests is the conformance suite every scrm.ProfileStore must
// pass. newStore is called once per subtest and must return an empty store.
func RunProfileStoreTests(t *testing.T, newStore func(t *testing.T) scrm.ProfileStore) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

	t.Run("GetNotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Get(ctx, "t1", "nobody")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		p := sampleProfile("t1", "c1", t0)
		v, err := s.Save(ctx, scrm.SaveProfileParams{Profile: p})
		require.NoError(t, err)
		assert.Equal(t, int64(1), v)
		got, err := s.Get(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), got.Version)
		assertSameProfile(t, p, got)
	})

	// A profile remembers, per attribute, the time of the
	// customer.attrs_set event that set it, so that an older event delivered
	// later leaves the attribute alone; a store keeps those times.
	t.Run("AttrEventTimesKept", func(t *testing.T) {
		s := newStore(t)
		p := scrm.NewProfile("t1", "c1")
		p.Apply(scrm.Event{ID: "a2", Tenant: "t1", Customer: "c1", Type: scrm.EventAttrsSet, Time: t0.Add(time.Minute),
			Props: map[string]any{"attrs": map[string]any{"city": "北京"}}})
		_, err := s.Save(ctx, scrm.SaveProfileParams{Profile: p})
		require.NoError(t, err)
		got, err := s.Get(ctx, "t1", "c1")
		require.NoError(t, err)
		got.Apply(scrm.Event{ID: "a1", Tenant: "t1", Customer: "c1", Type: scrm.EventAttrsSet, Time: t0,
			Props: map[string]any{"attrs": map[string]any{"city": "上海"}}})
		city, _ := got.Attr("city")
		assert.Equal(t, "北京", city, "the stored profile lost the time of the event that set city")
	})

	// A deletion by a customer.attrs_set event keeps its time too, so that
	// an older event delivered later does not bring the attribute back.
	t.Run("AttrDeletionTimesKept", func(t *testing.T) {
		s := newStore(t)
		p := scrm.NewProfile("t1", "c1")
		p.Apply(scrm.Event{ID: "a2", Tenant: "t1", Customer: "c1", Type: scrm.EventAttrsSet, Time: t0.Add(time.Minute),
			Props: map[string]any{"attrs": map[string]any{"city": nil}}})
		_, err := s.Save(ctx, scrm.SaveProfileParams{Profile: p})
		require.NoError(t, err)
		got, err := s.Get(ctx, "t1", "c1")
		require.NoError(t, err)
		_, ok := got.Attr("city")
		assert.False(t, ok, "a deleted attribute is present")
		assert.Empty(t, got.Attrs())
		got.Apply(scrm.Event{ID: "a1", Tenant: "t1", Customer: "c1", Type: scrm.EventAttrsSet, Time: t0,
			Props: map[string]any{"attrs": map[string]any{"city": "上海"}}})
		city, ok := got.Attr("city")
		assert.False(t, ok, "the stored profile lost the time of the event that deleted city: it holds %v", city)
	})

	t.Run("VersionConflict", func(t *testing.T) {
		s := newStore(t)
		p := scrm.NewProfile("t1", "c1")
		p.SetAttr("n", 1)
		_, err := s.Save(ctx, scrm.SaveProfileParams{Profile: p})
		require.NoError(t, err)

		stale := scrm.NewProfile("t1", "c1") // version 0, but one is stored
		stale.SetAttr("n", 2)
		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: stale})
		assert.ErrorIs(t, err, scrm.ErrConflict)

		ahead := scrm.NewProfile("t1", "c1")
		ahead.Version = 5
		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: ahead})
		assert.ErrorIs(t, err, scrm.ErrConflict)

		got, err := s.Get(ctx, "t1", "c1")
		require.NoError(t, err)
		n, _ := got.Attr("n")
		assert.Equal(t, int64(1), n, "a conflicting save must write nothing")
		assert.Equal(t, int64(1), got.Version)

		got.SetAttr("n", 3)
		v, err := s.Save(ctx, scrm.SaveProfileParams{Profile: got})
		require.NoError(t, err)
		assert.Equal(t, int64(2), v)
	})

	// Save records its event ID in the same atomic step as the profile: a
	// save refused for its version records nothing, so that UpdateProfile,
	// retrying after the conflict, still applies the event.
	t.Run("VersionConflictRecordsNoEvent", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Save(ctx, scrm.SaveProfileParams{Profile: scrm.NewProfile("t1", "c1")})
		require.NoError(t, err)
		stale := scrm.NewProfile("t1", "c1")
		stale.SetAttr("n", 2)
		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: stale, EventID: "e1"})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		done, err := s.Applied(ctx, "t1", "e1")
		require.NoError(t, err)
		assert.False(t, done, "a save refused for its version recorded its event ID")

		got, err := s.Get(ctx, "t1", "c1")
		require.NoError(t, err)
		got.SetAttr("n", 3)
		v, err := s.Save(ctx, scrm.SaveProfileParams{Profile: got, EventID: "e1"})
		require.NoError(t, err, "the retry with the right version applies the event")
		assert.Equal(t, int64(2), v)
		done, err = s.Applied(ctx, "t1", "e1")
		require.NoError(t, err)
		assert.True(t, done)
	})

	t.Run("EventIDRecordedOnce", func(t *testing.T) {
		s := newStore(t)
		p := scrm.NewProfile("t1", "c1")
		v, err := s.Save(ctx, scrm.SaveProfileParams{Profile: p, EventID: "e1"})
		require.NoError(t, err)
		done, err := s.Applied(ctx, "t1", "e1")
		require.NoError(t, err)
		assert.True(t, done)

		p.Version = v
		p.SetAttr("changed", true)
		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: p, EventID: "e1"})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		got, err := s.Get(ctx, "t1", "c1")
		require.NoError(t, err)
		_, changed := got.Attr("changed")
		assert.False(t, changed, "a duplicate event ID must write nothing")
		assert.Equal(t, v, got.Version)

		// Event IDs are per tenant, and for any customer of the tenant.
		other := scrm.NewProfile("t1", "c2")
		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: other, EventID: "e1"})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		done, err = s.Applied(ctx, "t2", "e1")
		require.NoError(t, err)
		assert.False(t, done)
		done, err = s.Applied(ctx, "t1", "e2")
		require.NoError(t, err)
		assert.False(t, done)
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		s := newStore(t)
		a := scrm.NewProfile("t1", "c1")
		a.SetAttr("who", "t1")
		b := scrm.NewProfile("t2", "c1")
		b.SetAttr("who", "t2")
		_, err := s.Save(ctx, scrm.SaveProfileParams{Profile: a, EventID: "e"})
		require.NoError(t, err)
		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: b, EventID: "e"})
		require.NoError(t, err, "the same event ID in another tenant is a different event")
		for _, tenant := range []scrm.TenantID{"t1", "t2"} {
			got, err := s.Get(ctx, tenant, "c1")
			require.NoError(t, err)
			who, _ := got.Attr("who")
			assert.Equal(t, string(tenant), who)
		}
		_, err = s.Get(ctx, "t3", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		page, err := s.List(ctx, scrm.ListProfilesParams{Tenant: "t3"})
		require.NoError(t, err)
		assert.Empty(t, page.Profiles)
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		p := sampleProfile("t1", "c1", t0)
		_, err := s.Save(ctx, scrm.SaveProfileParams{Profile: p})
		require.NoError(t, err)
		p.SetAttr("city", "北京")
		p.SetTag("vip", scrm.TagMark{At: t0.Add(time.Hour)})
		p.Apply(scrm.Event{ID: "x", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid, Time: t0, Amount: scrm.Yuan("1")})

		got, err := s.Get(ctx, "t1", "c1")
		require.NoError(t, err)
		city, _ := got.Attr("city")
		assert.Equal(t, "上海", city)
		assert.Equal(t, int64(2), got.Count(scrm.EventOrderPaid, time.Time{}), "a change after Save is not stored")
		got.SetAttr("city", "广州")
		got.Attrs()["city"] = "深圳"
		if l, ok := got.Attr("likes"); ok {
			l.([]string)[0] = "changed"
		}
		again, err := s.Get(ctx, "t1", "c1")
		require.NoError(t, err)
		city, _ = again.Attr("city")
		assert.Equal(t, "上海", city)
		likes, _ := again.Attr("likes")
		assert.Equal(t, []string{"咖啡", "甜点"}, likes)

		page, err := s.List(ctx, scrm.ListProfilesParams{Tenant: "t1"})
		require.NoError(t, err)
		require.Len(t, page.Profiles, 1)
		page.Profiles[0].SetAttr("city", "成都")
		again, err = s.Get(ctx, "t1", "c1")
		require.NoError(t, err)
		city, _ = again.Attr("city")
		assert.Equal(t, "上海", city)
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		p := scrm.NewProfile("t1", "c1")
		_, err := s.Save(cctx, scrm.SaveProfileParams{Profile: p, EventID: "e1"})
		assert.ErrorIs(t, err, scrm.ErrUnavailable)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.Get(cctx, "t1", "c1")
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.Applied(cctx, "t1", "e1")
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.List(cctx, scrm.ListProfilesParams{Tenant: "t1"})
		assert.ErrorIs(t, err, context.Canceled)

		_, err = s.Get(ctx, "t1", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a cancelled save must write nothing")
		done, err := s.Applied(ctx, "t1", "e1")
		require.NoError(t, err)
		assert.False(t, done)
	})

	t.Run("InvalidInput", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Save(ctx, scrm.SaveProfileParams{})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: scrm.NewProfile("", "c1")})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: scrm.NewProfile("t1", "")})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
	})

	t.Run("ListPages", func(t *testing.T) {
		s := newStore(t)
		const n = 250
		for i := n - 1; i >= 0; i-- { // saved out of order on purpose
			p := scrm.NewProfile("t1", scrm.CustomerID(fmt.Sprintf("c%04d", i)))
			if i%50 == 7 {
				p.MergedInto = "c0000"
			}
			_, err := s.Save(ctx, scrm.SaveProfileParams{Profile: p})
			require.NoError(t, err)
		}
		var seen []scrm.CustomerID
		cursor := ""
		pages := 0
		for {
			page, err := s.List(ctx, scrm.ListProfilesParams{Tenant: "t1", Cursor: cursor, Limit: 100})
			require.NoError(t, err)
			pages++
			require.LessOrEqual(t, len(page.Profiles), 100)
			for _, p := range page.Profiles {
				assert.Empty(t, p.MergedInto, "absorbed profiles are skipped")
				seen = append(seen, p.Customer)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
			require.Less(t, pages, 10, "List does not terminate")
		}
		assert.Len(t, seen, n-5)
		for i := 1; i < len(seen); i++ {
			assert.Less(t, seen[i-1], seen[i], "List is in customer ID order, each once")
		}
		page, err := s.List(ctx, scrm.ListProfilesParams{Tenant: "t1"})
		require.NoError(t, err)
		assert.Len(t, page.Profiles, 100, "limit 0 means 100")

		// The optional scanner visits what List returns, page by page.
		if sc, ok := s.(scrm.ProfileScanner); ok {
			var scanned []scrm.CustomerID
			cursor := ""
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10, "ScanProfiles does not terminate")
				next, err := sc.ScanProfiles(ctx, scrm.ListProfilesParams{Tenant: "t1", Cursor: cursor, Limit: 100}, func(p *scrm.Profile) error {
					scanned = append(scanned, p.Customer)
					return nil
				})
				require.NoError(t, err)
				if next == "" {
					break
				}
				cursor = next
			}
			assert.Equal(t, seen, scanned)
			stop := errors.New("stop")
			_, err := sc.ScanProfiles(ctx, scrm.ListProfilesParams{Tenant: "t1"}, func(*scrm.Profile) error { return stop })
			assert.ErrorIs(t, err, stop, "an error from fn stops the scan")
		}
	})

	t.Run("ConcurrentUpdatesLoseNothing", func(t *testing.T) {
		concurrentUpdates(t, newStore(t), 50, 20, t0)
	})

	t.Run("ConcurrentOptimisticUpdatesLoseNothing", func(t *testing.T) {
		// Hide any ProfileUpdater capability so that UpdateProfile falls
		// back to Get / Save with version checks.
		concurrentUpdates(t, struct{ scrm.ProfileStore }{newStore(t)}, 8, 25, t0)
	})

	t.Run("UpdaterSemantics", func(t *testing.T) {
		s := newStore(t)
		u, ok := s.(scrm.ProfileUpdater)
		if !ok {
			t.Skip("the store does not implement the optional scrm.ProfileUpdater")
		}
		p, applied, err := u.UpdateProfile(ctx, scrm.UpdateProfileParams{Tenant: "t1", Customer: "c1", EventID: "e1"}, func(p *scrm.Profile) error {
			p.SetAttr("n", 1)
			return nil
		})
		require.NoError(t, err)
		assert.True(t, applied)
		assert.Equal(t, int64(1), p.Version)
		p.SetAttr("n", 99) // the returned profile is a copy

		_, applied, err = u.UpdateProfile(ctx, scrm.UpdateProfileParams{Tenant: "t1", Customer: "c1", EventID: "e1"}, func(p *scrm.Profile) error {
			t.Error("fn must not run for a replayed event")
			return nil
		})
		require.NoError(t, err)
		assert.False(t, applied)

		boom := errors.New("boom")
		_, _, err = u.UpdateProfile(ctx, scrm.UpdateProfileParams{Tenant: "t1", Customer: "c1", EventID: "e2"}, func(p *scrm.Profile) error {
			p.SetAttr("n", 2)
			return boom
		})
		assert.ErrorIs(t, err, boom)
		done, err := s.Applied(ctx, "t1", "e2")
		require.NoError(t, err)
		assert.False(t, done, "a failed update records no event")

		got, err := s.Get(ctx, "t1", "c1")
		require.NoError(t, err)
		n, _ := got.Attr("n")
		assert.Equal(t, int64(1), n)
		assert.Equal(t, int64(1), got.Version)

		// Absorbed profiles redirect to their survivor.
		a := scrm.NewProfile("t1", "absorbed")
		a.MergedInto = "c1"
		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: a})
		require.NoError(t, err)
		p, _, err = u.UpdateProfile(ctx, scrm.UpdateProfileParams{Tenant: "t1", Customer: "absorbed"}, func(p *scrm.Profile) error {
			p.SetAttr("via", "absorbed")
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("c1"), p.Customer)
		assert.Equal(t, int64(2), p.Version)

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err = u.UpdateProfile(cctx, scrm.UpdateProfileParams{Tenant: "t1", Customer: "c1"}, func(p *scrm.Profile) error { return nil })
		assert.ErrorIs(t, err, context.Canceled)
	})

	// The optional updater records event IDs per tenant, in the same set as
	// Save: an event applied to one customer is a replay for every other
	// customer of the tenant (a customer merged since, say), whichever
	// method recorded it.
	t.Run("UpdaterEventIDsPerTenant", func(t *testing.T) {
		s := newStore(t)
		u, ok := s.(scrm.ProfileUpdater)
		if !ok {
			t.Skip("the store does not implement the optional scrm.ProfileUpdater")
		}
		_, applied, err := u.UpdateProfile(ctx, scrm.UpdateProfileParams{Tenant: "t1", Customer: "c1", EventID: "e1"}, func(p *scrm.Profile) error {
			p.SetAttr("n", 1)
			return nil
		})
		require.NoError(t, err)
		require.True(t, applied)
		done, err := s.Applied(ctx, "t1", "e1")
		require.NoError(t, err)
		assert.True(t, done, "Applied sees the event ID UpdateProfile recorded")

		_, applied, err = u.UpdateProfile(ctx, scrm.UpdateProfileParams{Tenant: "t1", Customer: "c2", EventID: "e1"}, func(p *scrm.Profile) error {
			t.Error("fn must not run for an event applied to another customer of the tenant")
			return nil
		})
		require.NoError(t, err)
		assert.False(t, applied)
		_, err = s.Get(ctx, "t1", "c2")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a replay writes nothing")
		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: scrm.NewProfile("t1", "c3"), EventID: "e1"})
		assert.ErrorIs(t, err, scrm.ErrConflict, "Save sees the event ID UpdateProfile recorded")

		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: scrm.NewProfile("t1", "c4"), EventID: "e2"})
		require.NoError(t, err)
		_, applied, err = u.UpdateProfile(ctx, scrm.UpdateProfileParams{Tenant: "t1", Customer: "c5", EventID: "e2"}, func(p *scrm.Profile) error {
			t.Error("fn must not run for an event Save recorded")
			return nil
		})
		require.NoError(t, err)
		assert.False(t, applied)

		_, applied, err = u.UpdateProfile(ctx, scrm.UpdateProfileParams{Tenant: "t2", Customer: "c1", EventID: "e1"}, func(p *scrm.Profile) error { return nil })
		require.NoError(t, err)
		assert.True(t, applied, "event IDs are per tenant")
	})

	// A replayed event returns the profile as stored (following merges), not
	// an empty one: callers (tagging) replay their result from it.
	t.Run("UpdaterReplayReturnsStored", func(t *testing.T) {
		s := newStore(t)
		u, ok := s.(scrm.ProfileUpdater)
		if !ok {
			t.Skip("the store does not implement the optional scrm.ProfileUpdater")
		}
		_, _, err := u.UpdateProfile(ctx, scrm.UpdateProfileParams{Tenant: "t1", Customer: "c1", EventID: "e1"}, func(p *scrm.Profile) error {
			p.SetAttr("n", 1)
			p.SetTag("vip", scrm.TagMark{At: t0, Source: "manual", By: "s1"})
			return nil
		})
		require.NoError(t, err)
		check := func(customer scrm.CustomerID) {
			t.Helper()
			p, applied, err := u.UpdateProfile(ctx, scrm.UpdateProfileParams{Tenant: "t1", Customer: customer, EventID: "e1"}, func(p *scrm.Profile) error {
				t.Error("fn must not run for a replayed event")
				return nil
			})
			require.NoError(t, err)
			assert.False(t, applied)
			require.NotNil(t, p, "a replay returns the stored profile")
			assert.Equal(t, scrm.CustomerID("c1"), p.Customer)
			assert.Equal(t, int64(1), p.Version, "a replay returns the stored profile")
			n, _ := p.Attr("n")
			assert.Equal(t, int64(1), n, "a replay returns the stored profile")
			m, ok := p.TagMark("vip")
			assert.True(t, ok, "a replay returns the stored profile")
			assert.Equal(t, "s1", m.By)
		}
		check("c1")
		a := scrm.NewProfile("t1", "absorbed")
		a.MergedInto = "c1"
		_, err = s.Save(ctx, scrm.SaveProfileParams{Profile: a})
		require.NoError(t, err)
		check("absorbed")
	})

	t.Run("ConcurrentSameEventOnce", func(t *testing.T) {
		s := newStore(t)
		const workers = 50
		var wg sync.WaitGroup
		var applied atomic.Int64
		start := make(chan struct{})
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, ok, err := scrm.UpdateProfile(ctx, s, "t1", "c1", "the-event", func(p *scrm.Profile) error {
					p.Apply(scrm.Event{ID: "the-event", Tenant: "t1", Customer: "c1", Type: "x", Time: t0})
					return nil
				})
				if !assert.NoError(t, err) {
					return
				}
				if ok {
					applied.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int64(1), applied.Load(), "exactly one writer applies an event")
		got, err := s.Get(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), got.Count("x", time.Time{}))
	})
}

// concurrentUpdates has workers goroutines fold each events into one profile
// through scrm.UpdateProfile and checks that none is lost.
func concurrentUpdates(t *testing.T, s scrm.ProfileStore, workers, each int, t0 time.Time) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				e := scrm.Event{ID: fmt.Sprintf("e-%d-%d", w, i), Tenant: "t1", Customer: "c1",
					Type: scrm.EventOrderPaid, Time: t0.Add(time.Duration(w*each+i) * time.Minute), Amount: scrm.Yuan("1.50")}
				_, _, err := scrm.UpdateProfile(ctx, s, "t1", "c1", e.ID, func(p *scrm.Profile) error {
					p.Apply(e)
					return nil
				})
				assert.NoError(t, err)
			}
		}(w)
	}
	wg.Wait()
	got, err := s.Get(ctx, "t1", "c1")
	require.NoError(t, err)
	total := int64(workers * each)
	assert.Equal(t, total, got.Count(scrm.EventOrderPaid, time.Time{}))
	assert.True(t, got.Sum(scrm.EventOrderPaid, time.Time{}).Equal(decimal.NewFromInt(total).Mul(scrm.Yuan("1.5"))))
	assert.Equal(t, total, got.Version)
}

// sampleProfile builds a profile using every kind of state.
func sampleProfile(tenant scrm.TenantID, id scrm.CustomerID, t0 time.Time) *scrm.Profile {
	p := scrm.NewProfile(tenant, id)
	p.SetAttr("city", "上海")
	p.SetAttr("age", 31)
	p.SetAttr("score", 4.5)
	p.SetAttr("balance", scrm.Yuan("12.30"))
	p.SetAttr("birthday", time.Date(1990, 2, 28, 0, 0, 0, 0, time.UTC))
	p.SetAttr("vip", true)
	p.SetAttr("likes", []string{"咖啡", "甜点"})
	p.SetTag("到店未成交", scrm.TagMark{At: t0, Source: "manual", By: "staff1"})
	p.SetTag("new", scrm.TagMark{At: t0, Source: "rule:r1", Expires: t0.Add(72 * time.Hour)})
	p.SetSegment("high_value", true)
	p.Apply(scrm.Event{ID: "o1", Tenant: tenant, Customer: id, Type: scrm.EventOrderPaid, Time: t0.Add(-48 * time.Hour), Amount: scrm.Yuan("99.90")})
	p.Apply(scrm.Event{ID: "o2", Tenant: tenant, Customer: id, Type: scrm.EventOrderPaid, Time: t0.Add(-time.Hour), Amount: scrm.Yuan("20.10")})
	p.Apply(scrm.Event{ID: "v1", Tenant: tenant, Customer: id, Type: scrm.EventPageViewed, Time: t0})
	return p
}

// assertSameProfile compares everything a profile exposes: attributes with
// their types, tags, segments, and activity (money with Equal, times within
// a millisecond, as SQL stores may round).
func assertSameProfile(t *testing.T, want, got *scrm.Profile) {
	t.Helper()
	assert.Equal(t, want.Tenant, got.Tenant)
	assert.Equal(t, want.Customer, got.Customer)
	assert.Equal(t, want.MergedInto, got.MergedInto)
	wa, ga := want.Attrs(), got.Attrs()
	require.Len(t, ga, len(wa))
	for k, wv := range wa {
		gv := ga[k]
		switch w := wv.(type) {
		case decimal.Decimal:
			g, ok := gv.(decimal.Decimal)
			if assert.True(t, ok, "attr %s: want decimal, got %T", k, gv) {
				assert.True(t, w.Equal(g), "attr %s: want %s, got %s", k, w, g)
			}
		case time.Time:
			g, ok := gv.(time.Time)
			if assert.True(t, ok, "attr %s: want time, got %T", k, gv) {
				assert.WithinDuration(t, w, g, time.Millisecond, "attr %s", k)
			}
		default:
			assert.Equal(t, wv, gv, "attr %s", k)
		}
	}
	wt, gt := want.Tags(), got.Tags()
	require.Len(t, gt, len(wt))
	for k, w := range wt {
		g, ok := gt[k]
		require.True(t, ok, "tag %s missing", k)
		assert.WithinDuration(t, w.At, g.At, time.Millisecond, "tag %s At", k)
		assert.WithinDuration(t, w.Expires, g.Expires, time.Millisecond, "tag %s Expires", k)
		assert.Equal(t, w.Source, g.Source)
		assert.Equal(t, w.By, g.By)
	}
	assert.Equal(t, want.Segments(), got.Segments())
	assert.Equal(t, want.EventTypes(), got.EventTypes())
	for _, typ := range want.EventTypes() {
		assert.Equal(t, want.Count(typ, time.Time{}), got.Count(typ, time.Time{}), "count %s", typ)
		assert.True(t, want.Sum(typ, time.Time{}).Equal(got.Sum(typ, time.Time{})), "sum %s", typ)
		wl, _ := want.Last(typ)
		gl, _ := got.Last(typ)
		assert.WithinDuration(t, wl, gl, time.Millisecond, "last %s", typ)
		wf, _ := want.First(typ)
		gf, _ := got.First(typ)
		assert.WithinDuration(t, wf, gf, time.Millisecond, "first %s", typ)
		since := wl.Add(-24 * time.Hour)
		assert.Equal(t, want.Count(typ, since), got.Count(typ, since), "windowed count %s", typ)
		assert.True(t, want.Sum(typ, since).Equal(got.Sum(typ, since)), "windowed sum %s", typ)
	}
}
