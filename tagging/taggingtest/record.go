package taggingtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/tagging"
)

func entry(id, tag string, action tagging.Action, at time.Time) tagging.HistoryEntry {
	return tagging.HistoryEntry{ID: id, Tag: tag, Action: action, At: at, Source: "rule:r1", Rule: "r1",
		Cause: "event:" + id, Reason: "rule r1 matched (order.paid)"}
}

func marks(at time.Time, tags ...string) map[string]scrm.TagMark {
	m := make(map[string]scrm.TagMark, len(tags))
	for _, t := range tags {
		m[t] = scrm.TagMark{At: at, Source: "manual", By: "s1"}
	}
	return m
}

func (e *env) history(t *testing.T, s tagging.Store, tenant scrm.TenantID, c scrm.CustomerID) []tagging.HistoryEntry {
	t.Helper()
	var out []tagging.HistoryEntry
	p := tagging.ListHistoryParams{Tenant: tenant, Customer: c}
	for {
		page, err := s.ListHistory(e.ctx, p)
		require.NoError(t, err)
		out = append(out, page.Entries...)
		if page.Next == "" {
			return out
		}
		p.Cursor = page.Next
	}
}

func ids(es []tagging.HistoryEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func (e *env) customers(t *testing.T, s tagging.Store, tenant scrm.TenantID, tag string, limit int) []scrm.CustomerID {
	t.Helper()
	var out []scrm.CustomerID
	p := tagging.ListCustomersParams{Tenant: tenant, Tag: tag, Limit: limit}
	for {
		page, err := s.Customers(e.ctx, p)
		require.NoError(t, err)
		for _, c := range page.Customers {
			out = append(out, c.Customer)
		}
		if page.Next == "" {
			return out
		}
		p.Cursor = page.Next
	}
}

func (e *env) testHistory(t *testing.T) {
	t.Run("RoundTripNewestFirst", func(t *testing.T) {
		s := e.newStore(t)
		full := tagging.HistoryEntry{ID: "a", Customer: "ignored", Tag: "vip", Action: tagging.ActionApplied, At: e.t0,
			Source: "manual", By: "staff7", Rule: "", Cause: "apply:k1", Reason: "试穿未买",
			Expires: e.t0.Add(7 * 24 * time.Hour), Fingerprint: "fp"}
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 1,
			Tags: marks(e.t0, "vip"), Entries: []tagging.HistoryEntry{full}}))
		later := []tagging.HistoryEntry{
			entry("c", "vip", tagging.ActionRefreshed, e.t0.Add(2*time.Hour)),
			entry("b", "vip", tagging.ActionRemoved, e.t0.Add(time.Hour)), // recorded out of order
			entry("d", "x", tagging.ActionApplied, e.t0.Add(2*time.Hour)), // same At as c, recorded after it
		}
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 2, Entries: later}))

		got := e.history(t, s, t1, "c1")
		assert.Equal(t, []string{"d", "c", "b", "a"}, ids(got))
		last := got[3]
		assert.WithinDuration(t, e.t0, last.At, time.Millisecond)
		assert.WithinDuration(t, full.Expires, last.Expires, time.Millisecond)
		last.At, last.Expires = full.At, full.Expires
		full.Customer = "c1"
		assert.Equal(t, full, last, "every field round-trips; Customer is the recorded customer")

		none, err := s.ListHistory(e.ctx, tagging.ListHistoryParams{Tenant: t1, Customer: "nobody"})
		require.NoError(t, err)
		assert.Empty(t, none.Entries)
	})

	t.Run("ReplayAppendsOnce", func(t *testing.T) {
		s := e.newStore(t)
		es := []tagging.HistoryEntry{entry("e1", "vip", tagging.ActionApplied, e.t0), entry("e2", "x", tagging.ActionApplied, e.t0)}
		p := tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 1, Tags: marks(e.t0, "vip", "x"), Entries: es}
		require.NoError(t, s.Record(e.ctx, p))
		require.NoError(t, s.Record(e.ctx, p))
		// An ID is recorded once per tenant, whichever customer.
		p.Customer = "c2"
		require.NoError(t, s.Record(e.ctx, p))
		assert.Len(t, e.history(t, s, t1, "c1"), 2)
		assert.Empty(t, e.history(t, s, t1, "c2"))
		n, err := s.Count(e.ctx, t1, "vip")
		require.NoError(t, err)
		assert.Equal(t, 2, n, "the index part is not keyed by entries")
	})

	t.Run("PagesAndCause", func(t *testing.T) {
		s := e.newStore(t)
		var es []tagging.HistoryEntry
		for i := 0; i < 25; i++ {
			en := entry(fmt.Sprintf("e%02d", i), "vip", tagging.ActionRefreshed, e.t0.Add(time.Duration(i)*time.Minute))
			if i%5 == 0 {
				en.Cause = "sweep"
			}
			es = append(es, en)
		}
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 1, Entries: es}))
		var got []string
		p := tagging.ListHistoryParams{Tenant: t1, Customer: "c1", Limit: 10}
		pages := 0
		for {
			page, err := s.ListHistory(e.ctx, p)
			require.NoError(t, err)
			pages++
			assert.LessOrEqual(t, len(page.Entries), 10)
			got = append(got, ids(page.Entries)...)
			if page.Next == "" {
				break
			}
			p.Cursor = page.Next
		}
		assert.Equal(t, 3, pages)
		require.Len(t, got, 25)
		assert.Equal(t, "e24", got[0])
		assert.Equal(t, "e00", got[24])

		page, err := s.ListHistory(e.ctx, tagging.ListHistoryParams{Tenant: t1, Customer: "c1", Cause: "sweep"})
		require.NoError(t, err)
		assert.Equal(t, []string{"e20", "e15", "e10", "e05", "e00"}, ids(page.Entries))
		page, err = s.ListHistory(e.ctx, tagging.ListHistoryParams{Tenant: t1, Customer: "c1", Cause: "sweep", Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, []string{"e20", "e15"}, ids(page.Entries))
		require.NotEmpty(t, page.Next)
		page, err = s.ListHistory(e.ctx, tagging.ListHistoryParams{Tenant: t1, Customer: "c1", Cause: "sweep", Limit: 2, Cursor: page.Next})
		require.NoError(t, err)
		assert.Equal(t, []string{"e10", "e05"}, ids(page.Entries))

		_, err = s.ListHistory(e.ctx, tagging.ListHistoryParams{Tenant: t1, Customer: "c1", Cursor: "no-such-entry"})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
	})

	// Entries at the same At (one event's changes) list in reverse
	// recorded order, not by ID, and a cursor between two of them loses
	// and repeats none: a Service republishes a replay's entries in that
	// order, and a history screen pages through them.
	t.Run("SameTimePagesInRecordedOrder", func(t *testing.T) {
		s := e.newStore(t)
		recorded := []string{"z", "a", "m", "b", "y"}
		var es []tagging.HistoryEntry
		for _, id := range recorded {
			en := entry(id, "vip", tagging.ActionApplied, e.t0)
			en.Cause = "event:same"
			es = append(es, en)
		}
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 1, Entries: es}))
		want := []string{"y", "b", "m", "a", "z"}
		for _, cause := range []string{"", "event:same"} {
			var got []string
			p := tagging.ListHistoryParams{Tenant: t1, Customer: "c1", Cause: cause, Limit: 2}
			for {
				page, err := s.ListHistory(e.ctx, p)
				require.NoError(t, err)
				got = append(got, ids(page.Entries)...)
				if page.Next == "" || len(got) > len(want) {
					break
				}
				p.Cursor = page.Next
			}
			assert.Equal(t, want, got, "cause %q", cause)
		}
	})
}

func (e *env) testIndex(t *testing.T) {
	t.Run("FollowsTags", func(t *testing.T) {
		s := e.newStore(t)
		rec := func(c scrm.CustomerID, v int64, tags ...string) {
			t.Helper()
			require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: c, Version: v, Tags: marks(e.t0, tags...)}))
		}
		count := func(tag string) int {
			t.Helper()
			n, err := s.Count(e.ctx, t1, tag)
			require.NoError(t, err)
			return n
		}
		rec("c1", 1, "vip", "高")
		rec("c2", 1, "vip")
		rec("c3", 1, "高")
		assert.Equal(t, 2, count("vip"))
		assert.Equal(t, 2, count("高"))
		assert.Equal(t, 0, count("never"))
		rec("c1", 2, "中") // 高 and vip gone, 中 new
		assert.Equal(t, 1, count("vip"))
		assert.Equal(t, 1, count("高"))
		assert.Equal(t, 1, count("中"))
		assert.Equal(t, []scrm.CustomerID{"c3"}, e.customers(t, s, t1, "高", 0))

		// A profile version older than the one recorded leaves the index
		// alone (a concurrent writer got there first), but its entries count.
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 1, Tags: marks(e.t0, "vip"),
			Entries: []tagging.HistoryEntry{entry("late", "vip", tagging.ActionApplied, e.t0)}}))
		assert.Equal(t, 1, count("vip"))
		assert.Equal(t, []string{"late"}, ids(e.history(t, s, t1, "c1")))
		// The same version again is a replay and applies.
		rec("c1", 2, "中")
		assert.Equal(t, 1, count("中"))
		rec("c1", 3)
		assert.Equal(t, 0, count("中"))
		assert.Empty(t, e.customers(t, s, t1, "中", 0))
	})

	t.Run("Marks", func(t *testing.T) {
		s := e.newStore(t)
		m := scrm.TagMark{At: e.t0, Source: "rule:r1", By: "", Expires: e.t0.Add(time.Hour)}
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 1, Tags: map[string]scrm.TagMark{"vip": m}}))
		page, err := s.Customers(e.ctx, tagging.ListCustomersParams{Tenant: t1, Tag: "vip"})
		require.NoError(t, err)
		require.Len(t, page.Customers, 1)
		got := page.Customers[0].Mark
		assert.WithinDuration(t, m.At, got.At, time.Millisecond)
		assert.WithinDuration(t, m.Expires, got.Expires, time.Millisecond)
		assert.Equal(t, "rule:r1", got.Source)
		// A refreshed mark replaces the old one.
		m.At = e.t0.Add(time.Minute)
		m.By = "s9"
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 2, Tags: map[string]scrm.TagMark{"vip": m}}))
		page, err = s.Customers(e.ctx, tagging.ListCustomersParams{Tenant: t1, Tag: "vip"})
		require.NoError(t, err)
		require.Len(t, page.Customers, 1)
		assert.WithinDuration(t, m.At, page.Customers[0].Mark.At, time.Millisecond)
		assert.Equal(t, "s9", page.Customers[0].Mark.By)
	})

	t.Run("CustomersPages", func(t *testing.T) {
		s := e.newStore(t)
		const n = 230
		for i := n - 1; i >= 0; i-- { // recorded out of order on purpose
			c := scrm.CustomerID(fmt.Sprintf("c%04d", i))
			require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: c, Version: 1, Tags: marks(e.t0, "vip")}))
		}
		// Untag some, then tag one of them again.
		for i := 0; i < n; i += 3 {
			c := scrm.CustomerID(fmt.Sprintf("c%04d", i))
			require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: c, Version: 2}))
		}
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c0003", Version: 3, Tags: marks(e.t0, "vip")}))
		var want []scrm.CustomerID
		for i := 0; i < n; i++ {
			if i%3 != 0 || i == 3 {
				want = append(want, scrm.CustomerID(fmt.Sprintf("c%04d", i)))
			}
		}
		got := e.customers(t, s, t1, "vip", 50)
		assert.Equal(t, want, got)
		cnt, err := s.Count(e.ctx, t1, "vip")
		require.NoError(t, err)
		assert.Equal(t, len(want), cnt)
		page, err := s.Customers(e.ctx, tagging.ListCustomersParams{Tenant: t1, Tag: "vip", Limit: 5000})
		require.NoError(t, err)
		assert.Len(t, page.Customers, min(1000, len(want)), "limits above 1000 mean 1000")
		page, err = s.Customers(e.ctx, tagging.ListCustomersParams{Tenant: t1, Tag: "vip"})
		require.NoError(t, err)
		assert.Len(t, page.Customers, 100, "limit 0 means 100")
		assert.NotEmpty(t, page.Next)
	})
}

func (e *env) testMerge(t *testing.T) {
	t.Run("AbsorbedMovesToSurvivor", func(t *testing.T) {
		s := e.newStore(t)
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 3, Tags: marks(e.t0, "vip"),
			Entries: []tagging.HistoryEntry{entry("a1", "vip", tagging.ActionApplied, e.t0)}}))
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c2", Version: 9, Tags: marks(e.t0, "vip", "高"),
			Entries: []tagging.HistoryEntry{
				entry("b1", "vip", tagging.ActionApplied, e.t0.Add(-time.Hour)),
				entry("b2", "高", tagging.ActionApplied, e.t0.Add(time.Hour)),
			}}))
		merge := tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 4, Tags: marks(e.t0, "vip", "高"),
			Entries:  []tagging.HistoryEntry{entry("m1", "x", tagging.ActionRemoved, e.t0.Add(2*time.Hour))},
			Absorbed: []scrm.CustomerID{"c2"}}
		require.NoError(t, s.Record(e.ctx, merge))
		require.NoError(t, s.Record(e.ctx, merge), "a replay")

		got := e.history(t, s, t1, "c1")
		assert.Equal(t, []string{"m1", "b2", "a1", "b1"}, ids(got))
		for _, h := range got {
			assert.Equal(t, scrm.CustomerID("c1"), h.Customer)
		}
		assert.Empty(t, e.history(t, s, t1, "c2"))
		for tag, want := range map[string]int{"vip": 1, "高": 1} {
			n, err := s.Count(e.ctx, t1, tag)
			require.NoError(t, err)
			assert.Equal(t, want, n, tag)
			assert.Equal(t, []scrm.CustomerID{"c1"}, e.customers(t, s, t1, tag, 0))
		}
		// The absorbed customer's IDs stay recorded: replaying its entries
		// adds nothing anywhere.
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 4,
			Tags: marks(e.t0, "vip", "高"), Entries: []tagging.HistoryEntry{entry("b1", "vip", tagging.ActionApplied, e.t0)}}))
		assert.Len(t, e.history(t, s, t1, "c1"), 4)
	})

	t.Run("AbsorbedStaysAbsorbed", func(t *testing.T) {
		s := e.newStore(t)
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 2, Tags: marks(e.t0, "vip"),
			Absorbed: []scrm.CustomerID{"c2"}}))
		// A write for c2 that raced the merge arrives after it: its entries
		// go to c1, and c2 does not re-enter the index.
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c2", Version: 7, Tags: marks(e.t0, "vip", "高"),
			Entries: []tagging.HistoryEntry{entry("late", "vip", tagging.ActionApplied, e.t0)}}))
		assert.Equal(t, []string{"late"}, ids(e.history(t, s, t1, "c1")))
		assert.Empty(t, e.history(t, s, t1, "c2"))
		for tag, want := range map[string][]scrm.CustomerID{"vip": {"c1"}, "高": nil} {
			n, err := s.Count(e.ctx, t1, tag)
			require.NoError(t, err)
			assert.Equal(t, len(want), n, tag)
			assert.Equal(t, want, e.customers(t, s, t1, tag, 0), tag)
		}
		// Merges chain: once c1 is absorbed by c0, c2's writes reach c0.
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c0", Version: 1, Tags: marks(e.t0, "vip"),
			Absorbed: []scrm.CustomerID{"c1"}}))
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c2", Version: 8, Tags: marks(e.t0, "x"),
			Entries: []tagging.HistoryEntry{entry("later", "x", tagging.ActionApplied, e.t0.Add(time.Hour))}}))
		assert.Equal(t, []string{"later", "late"}, ids(e.history(t, s, t1, "c0")))
		assert.Empty(t, e.history(t, s, t1, "c1"))
		assert.Equal(t, []scrm.CustomerID{"c0"}, e.customers(t, s, t1, "vip", 0))
		n, err := s.Count(e.ctx, t1, "x")
		require.NoError(t, err)
		assert.Equal(t, 0, n)
		// Another tenant's c2 is another customer.
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t2, Customer: "c2", Version: 1, Tags: marks(e.t0, "vip")}))
		assert.Equal(t, []scrm.CustomerID{"c2"}, e.customers(t, s, t2, "vip", 0))
	})

	// A merge recorded with a profile version older than the survivor's
	// (a concurrent write of the survivor got there first) leaves the
	// survivor's index alone but still absorbs: the absorbed customer's
	// history moves and it leaves the index for good.
	t.Run("StaleVersionStillAbsorbs", func(t *testing.T) {
		s := e.newStore(t)
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 5, Tags: marks(e.t0, "vip")}))
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c2", Version: 1, Tags: marks(e.t0, "vip", "高"),
			Entries: []tagging.HistoryEntry{entry("b1", "高", tagging.ActionApplied, e.t0)}}))
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Version: 3, Tags: marks(e.t0, "vip", "高", "x"),
			Entries:  []tagging.HistoryEntry{entry("m1", "x", tagging.ActionApplied, e.t0.Add(time.Hour))},
			Absorbed: []scrm.CustomerID{"c2"}}))
		assert.Equal(t, []string{"m1", "b1"}, ids(e.history(t, s, t1, "c1")))
		assert.Empty(t, e.history(t, s, t1, "c2"))
		for tag, want := range map[string][]scrm.CustomerID{"vip": {"c1"}, "高": nil, "x": nil} {
			n, err := s.Count(e.ctx, t1, tag)
			require.NoError(t, err)
			assert.Equal(t, len(want), n, tag)
			assert.Equal(t, want, e.customers(t, s, t1, tag, 0), tag)
		}
		// c2 stays absorbed.
		require.NoError(t, s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c2", Version: 2, Tags: marks(e.t0, "高"),
			Entries: []tagging.HistoryEntry{entry("late", "高", tagging.ActionApplied, e.t0.Add(2*time.Hour))}}))
		assert.Equal(t, []string{"late", "m1", "b1"}, ids(e.history(t, s, t1, "c1")))
		n, err := s.Count(e.ctx, t1, "高")
		require.NoError(t, err)
		assert.Zero(t, n)
	})

	t.Run("Invalid", func(t *testing.T) {
		s := e.newStore(t)
		err := s.Record(e.ctx, tagging.RecordParams{Tenant: t1, Customer: "c1", Absorbed: []scrm.CustomerID{"c1"}})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
	})
}
