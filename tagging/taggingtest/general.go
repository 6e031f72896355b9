package taggingtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

func (e *env) testGeneral(t *testing.T) {
	t.Run("TenantIsolation", func(t *testing.T) {
		s := e.newStore(t)
		e.seedDefinitions(t, s, t1)
		_, err := s.PutRule(e.ctx, t1, sampleRule("r1", "vip"))
		require.NoError(t, err)
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 1, Tags: marks(e.t0, "vip"),
			Entries: []tagging.HistoryEntry{entry("e1", "vip", tagging.ActionApplied, e.t0)}}))

		d, err := s.Definitions(e.ctx, t2)
		require.NoError(t, err)
		assert.Empty(t, d.Groups)
		assert.Empty(t, d.Tags)
		assert.Empty(t, d.Rules)
		assert.Equal(t, int64(0), d.Revision)
		_, err = s.PutRule(e.ctx, t2, sampleRule("r1", "vip"))
		assert.ErrorIs(t, err, scrm.ErrInvalid, "t2 has no tag vip")
		_, err = s.PutTag(e.ctx, t2, tagging.Tag{ID: "x", Group: "style"})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "t2 has no group style")
		// The same IDs in another tenant are other entities.
		_, err = s.PutGroup(e.ctx, t2, tagging.Group{ID: "style"})
		require.NoError(t, err)
		assert.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t2, Customer: "c1", Version: 1,
			Entries: []tagging.HistoryEntry{entry("e1", "vip", tagging.ActionApplied, e.t0)}}))
		assert.Len(t, e.history(t, s, t2, "c1"), 1)
		n, err := s.Count(e.ctx, t2, "vip")
		require.NoError(t, err)
		assert.Equal(t, 0, n)
		assert.Empty(t, e.customers(t, s, t2, "vip", 0))
		n, err = s.Count(e.ctx, t1, "vip")
		require.NoError(t, err)
		assert.Equal(t, 1, n)
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := e.newStore(t)
		e.seedDefinitions(t, s, t1)
		cctx, cancel := context.WithCancel(e.ctx)
		cancel()
		check := func(err error) {
			t.Helper()
			assert.ErrorIs(t, err, scrm.ErrUnavailable)
			assert.ErrorIs(t, err, context.Canceled)
		}
		_, err := s.PutGroup(cctx, t1, tagging.Group{ID: "g2"})
		check(err)
		_, err = s.PutTag(cctx, t1, tagging.Tag{ID: "t2"})
		check(err)
		_, err = s.PutRule(cctx, t1, sampleRule("r1", "vip"))
		check(err)
		check(s.DeleteRule(cctx, t1, "r1"))
		_, err = s.Definitions(cctx, t1)
		check(err)
		_, err = s.Revision(cctx, t1)
		check(err)
		check(s.Record(cctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 1, Tags: marks(e.t0, "vip"),
			Entries: []tagging.HistoryEntry{entry("e1", "vip", tagging.ActionApplied, e.t0)}}))
		_, err = s.ListHistory(cctx, tagging.ListHistoryParams{Tenant: t1, Customer: "c1"})
		check(err)
		_, err = s.Count(cctx, t1, "vip")
		check(err)
		_, err = s.Customers(cctx, tagging.ListCustomersParams{Tenant: t1, Tag: "vip"})
		check(err)
		_, err = s.PutKey(cctx, tagging.KeyRecord{Tenant: t1, Key: "apply:k", Customer: "c1", Fingerprint: "fp"})
		check(err)
		got, err := s.PutKey(e.ctx, tagging.KeyRecord{Tenant: t1, Key: "apply:k", Customer: "c2", Fingerprint: "fp2"})
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("c2"), got.Customer, "the cancelled PutKey wrote nothing")

		d, err := s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		assert.Len(t, d.Groups, 1, "nothing written")
		assert.Len(t, d.Tags, 2)
		assert.Empty(t, d.Rules)
		assert.Empty(t, e.history(t, s, t1, "c1"))
		n, err := s.Count(e.ctx, t1, "vip")
		require.NoError(t, err)
		assert.Equal(t, 0, n)
	})

	t.Run("InvalidInput", func(t *testing.T) {
		s := e.newStore(t)
		e.seedDefinitions(t, s, t1)
		_, err := s.PutGroup(e.ctx, "", tagging.Group{ID: "g"})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.PutGroup(e.ctx, t1, tagging.Group{})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.PutTag(e.ctx, t1, tagging.Tag{})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.PutRule(e.ctx, t1, tagging.Rule{Tag: "vip"})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		for name, p := range map[string]tagging.RecordParams{
			"no tenant":   {Customer: "c1"},
			"no customer": {Tenant: t1},
			"entry ID":    {Tenant: t1, Customer: "c1", Entries: []tagging.HistoryEntry{{Tag: "vip", Action: tagging.ActionApplied}}},
			"entry tag":   {Tenant: t1, Customer: "c1", Entries: []tagging.HistoryEntry{{ID: "x", Action: tagging.ActionApplied}}},
			"action":      {Tenant: t1, Customer: "c1", Entries: []tagging.HistoryEntry{{ID: "x", Tag: "vip", Action: "deleted"}}},
		} {
			assert.ErrorIs(t, s.Record(e.ctx, p), scrm.ErrInvalid, name)
		}
		// A bad entry among good ones writes nothing.
		err = s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 1, Tags: marks(e.t0, "vip"),
			Entries: []tagging.HistoryEntry{entry("ok", "vip", tagging.ActionApplied, e.t0), {ID: "bad", Tag: "vip"}}})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		assert.Empty(t, e.history(t, s, t1, "c1"))
		n, err := s.Count(e.ctx, t1, "vip")
		require.NoError(t, err)
		assert.Equal(t, 0, n)
		_, err = s.ListHistory(e.ctx, tagging.ListHistoryParams{Tenant: t1})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.Customers(e.ctx, tagging.ListCustomersParams{Tenant: t1})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := e.newStore(t)
		e.seedDefinitions(t, s, t1)
		r := sampleRule("r1", "vip")
		r.Keywords = nil
		r.When = rule.All(rule.Attr("city").In("上海", "杭州"), rule.Not(rule.HasTag("x")))
		want := r.When.String()
		put, err := s.PutRule(e.ctx, t1, r)
		require.NoError(t, err)
		r.When.All[0].Value.([]any)[0] = "北京"
		r.When.All[1].Not.Tag = "y"
		put.When.All = append(put.When.All[:0], rule.HasTag("z"))

		kw := tagging.Rule{ID: "k1", Tag: "vip", Keywords: []string{"不需要"}}
		_, err = s.PutRule(e.ctx, t1, kw)
		require.NoError(t, err)
		kw.Keywords[0] = "changed"

		d, err := s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		require.Len(t, d.Rules, 2)
		assert.Equal(t, []string{"不需要"}, d.Rules[0].Keywords)
		assert.Equal(t, want, d.Rules[1].When.String())
		d.Rules[0].Keywords[0] = "mutated"
		d.Rules[1].When.All[1].Not.Tag = "mutated"
		d.Groups[0].Name = "mutated"
		again, err := s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		assert.Equal(t, []string{"不需要"}, again.Rules[0].Keywords)
		assert.Equal(t, want, again.Rules[1].When.String())
		assert.Equal(t, "风格偏好", again.Groups[0].Name)

		tags := marks(e.t0, "vip")
		es := []tagging.HistoryEntry{entry("e1", "vip", tagging.ActionApplied, e.t0)}
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 1, Tags: tags, Entries: es}))
		tags["other"] = scrm.TagMark{At: e.t0}
		delete(tags, "vip")
		es[0].Reason = "mutated"
		n, err := s.Count(e.ctx, t1, "vip")
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		n, err = s.Count(e.ctx, t1, "other")
		require.NoError(t, err)
		assert.Equal(t, 0, n)
		got := e.history(t, s, t1, "c1")
		require.Len(t, got, 1)
		assert.Equal(t, "rule r1 matched (order.paid)", got[0].Reason)
		got[0].Reason = "mutated too"
		assert.Equal(t, "rule r1 matched (order.paid)", e.history(t, s, t1, "c1")[0].Reason)
	})
}

func (e *env) testConcurrency(t *testing.T) {
	t.Run("CreateRaceOneWins", func(t *testing.T) {
		s := e.newStore(t)
		const n = 32
		var wg sync.WaitGroup
		results := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.PutGroup(e.ctx, t1, tagging.Group{ID: "style", Name: fmt.Sprint("writer", i)})
				results <- err
			}()
		}
		wg.Wait()
		close(results)
		won := 0
		for err := range results {
			if err == nil {
				won++
			} else {
				assert.ErrorIs(t, err, scrm.ErrConflict)
			}
		}
		assert.Equal(t, 1, won, "exactly one create wins")
		rev, err := s.Revision(e.ctx, t1)
		require.NoError(t, err)
		assert.Equal(t, int64(1), rev)
	})

	t.Run("ConcurrentPutsEachMoveRevision", func(t *testing.T) {
		// Revision increments once per Put even when Puts race (no lost
		// read-modify-write of the counter): two changes that share one
		// revision leave a Service that loaded between them with stale rules.
		s := e.newStore(t)
		const n = 16
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.PutTag(e.ctx, t1, tagging.Tag{ID: fmt.Sprint("tag", i)})
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		rev, err := s.Revision(e.ctx, t1)
		require.NoError(t, err)
		assert.Equal(t, int64(n), rev, "%d Puts, %d increments", n, n)
		d, err := s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		assert.Len(t, d.Tags, n)
		assert.Equal(t, int64(n), d.Revision)
	})

	t.Run("UpdateRaceOneWinsPerVersion", func(t *testing.T) {
		s := e.newStore(t)
		e.seedDefinitions(t, s, t1)
		d, err := s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		g := d.Groups[0]
		const n = 32
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine := g
				mine.Name = fmt.Sprint("writer", i)
				_, err := s.PutGroup(e.ctx, t1, mine)
				if err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				} else {
					assert.ErrorIs(t, err, scrm.ErrConflict)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, 1, won)
	})

	t.Run("IndexFollowsNewestVersion", func(t *testing.T) {
		s := e.newStore(t)
		const n = 64
		versions := rand.Perm(n)
		var wg sync.WaitGroup
		for _, v := range versions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tag := fmt.Sprint("L", v%4)
				assert.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: int64(v + 1),
					Tags:    marks(e.t0, tag),
					Entries: []tagging.HistoryEntry{entry(fmt.Sprint("e", v), tag, tagging.ActionApplied, e.t0)}}))
			}()
		}
		wg.Wait()
		newest := fmt.Sprint("L", (n-1)%4)
		total := 0
		for i := 0; i < 4; i++ {
			tag := fmt.Sprint("L", i)
			c, err := s.Count(e.ctx, t1, tag)
			require.NoError(t, err)
			total += c
			if tag == newest {
				assert.Equal(t, 1, c)
			}
		}
		assert.Equal(t, 1, total, "the index holds the newest version's tags only")
		assert.Len(t, e.history(t, s, t1, "c1"), n, "and every entry")
	})

	t.Run("ManyCustomersCounted", func(t *testing.T) {
		s := e.newStore(t)
		const n = 100
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := scrm.CustomerID(fmt.Sprintf("c%03d", i))
				p := tagging.RecordParams{Tenant: t1, Customer: c, Version: 1, Tags: marks(e.t0, "vip"),
					Entries: []tagging.HistoryEntry{entry(fmt.Sprint("e", i), "vip", tagging.ActionApplied, e.t0)}}
				assert.NoError(t, s.Record(e.ctx, p))
				assert.NoError(t, s.Record(e.ctx, p), "a concurrent replay")
				if i%4 == 0 {
					assert.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: c, Version: 2}))
				}
			}()
		}
		wg.Wait()
		cnt, err := s.Count(e.ctx, t1, "vip")
		require.NoError(t, err)
		assert.Equal(t, n-n/4, cnt)
		assert.Len(t, e.customers(t, s, t1, "vip", 30), n-n/4)
	})

	t.Run("ConcurrentMergeAndRecord", func(t *testing.T) {
		s := e.newStore(t)
		for i := 0; i < 10; i++ {
			c := scrm.CustomerID(fmt.Sprint("a", i))
			require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: c, Version: 1, Tags: marks(e.t0, "vip"),
				Entries: []tagging.HistoryEntry{entry(fmt.Sprint("a", i), "vip", tagging.ActionApplied, e.t0)}}))
		}
		var wg sync.WaitGroup
		var errs []error
		var mu sync.Mutex
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "survivor", Version: int64(i + 1), Tags: marks(e.t0, "vip"),
					Absorbed: []scrm.CustomerID{scrm.CustomerID(fmt.Sprint("a", i))}})
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		cnt, err := s.Count(e.ctx, t1, "vip")
		require.NoError(t, err)
		assert.Equal(t, 1, cnt)
		assert.Len(t, e.history(t, s, t1, "survivor"), 10)
	})
}
