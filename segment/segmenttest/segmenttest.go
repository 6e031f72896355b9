// Package segmenttest is the conformance suite for segment.Store
// implementations.
//
// A host that writes its own store runs the suite from its own tests:
//
//	func TestMySegmentStore(t *testing.T) {
//		segmenttest.RunStoreTests(t, func(t *testing.T) segment.Store {
//			return mystore.New(testDB(t))
//		})
//	}
package segmenttest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/segment"
)

// RunStoreTests is the conformance suite every segment.Store must pass.
// newStore is called once per subtest and must return an empty store.
// Times are compared with a millisecond tolerance, and conditions by their
// JSON form, so a store that keeps conditions as JSON and truncates
// timestamps passes.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) segment.Store) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	const tenant scrm.TenantID = "t1"

	dynamic := func(id string) segment.Segment {
		return segment.Segment{Tenant: tenant, ID: id, Name: "高价值 " + id, When: sampleCondition(), CreatedAt: t0, UpdatedAt: t0}
	}
	create := func(t *testing.T, s segment.Store, seg segment.Segment) segment.Segment {
		t.Helper()
		got, err := s.CreateSegment(ctx, seg)
		require.NoError(t, err)
		return got
	}
	apply := func(t *testing.T, s segment.Store, seg string, changes ...segment.MembershipChange) []segment.MembershipChange {
		t.Helper()
		got, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: seg, Changes: changes})
		require.NoError(t, err)
		return got
	}
	in := func(c scrm.CustomerID, v int64) segment.MembershipChange {
		return segment.MembershipChange{Customer: c, In: true, Version: v}
	}
	out := func(c scrm.CustomerID, v int64) segment.MembershipChange {
		return segment.MembershipChange{Customer: c, In: false, Version: v}
	}

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetSegment(ctx, tenant, "nope")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.UpdateSegment(ctx, segment.Segment{Tenant: tenant, ID: "nope", Version: 1, Static: true})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.SaveSegment(ctx, segment.Segment{Tenant: tenant, ID: "nope", Version: 1, Static: true}, 0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		assert.ErrorIs(t, s.DeleteSegment(ctx, tenant, "nope"), scrm.ErrNotFound)
		_, err = s.Contains(ctx, tenant, "nope", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: "nope"})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.Size(ctx, tenant, "nope")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: "nope", Changes: []segment.MembershipChange{in("c1", 1)}})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		list, err := s.ListSegments(ctx, tenant)
		require.NoError(t, err)
		assert.Empty(t, list.Segments)
		gen, err := s.Generation(ctx, tenant)
		require.NoError(t, err)
		assert.Zero(t, gen, "a tenant that never had a segment is at generation 0")
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		want := dynamic("vip")
		got := create(t, s, want)
		assert.Equal(t, int64(1), got.Version)
		for _, g := range []segment.Segment{got, mustGet(t, s, tenant, "vip")} {
			assertSameSegment(t, want, g)
			assert.Equal(t, int64(1), g.Version)
		}
		static := segment.Segment{Tenant: tenant, ID: "名单-2026", Name: "双11 名单", Static: true, CreatedAt: t0, UpdatedAt: t0}
		create(t, s, static)
		g := mustGet(t, s, tenant, "名单-2026")
		assertSameSegment(t, static, g)
		assert.True(t, g.When.IsZero())
	})

	t.Run("DuplicateCreate", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		other := dynamic("vip")
		other.Name = "other"
		_, err := s.CreateSegment(ctx, other)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		assert.Equal(t, "高价值 vip", mustGet(t, s, tenant, "vip").Name, "a failed create writes nothing")
	})

	t.Run("InvalidSegment", func(t *testing.T) {
		s := newStore(t)
		_, err := s.CreateSegment(ctx, segment.Segment{ID: "x", Static: true})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.CreateSegment(ctx, segment.Segment{Tenant: tenant, Static: true})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.UpdateSegment(ctx, segment.Segment{Tenant: tenant, Static: true, Version: 1})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
	})

	t.Run("UpdateVersions", func(t *testing.T) {
		s := newStore(t)
		v1 := create(t, s, dynamic("vip"))
		gen1, err := s.Generation(ctx, tenant)
		require.NoError(t, err)

		v1.Name = "renamed"
		v1.When = rule.Attr("city").Eq("上海")
		v1.CreatedAt = t0.Add(time.Hour) // the stored CreatedAt is kept
		v1.UpdatedAt = t0.Add(2 * time.Hour)
		v2, err := s.UpdateSegment(ctx, v1)
		require.NoError(t, err)
		assert.Equal(t, int64(2), v2.Version)
		got := mustGet(t, s, tenant, "vip")
		assert.Equal(t, "renamed", got.Name)
		assert.Equal(t, v1.When.String(), got.When.String())
		assert.WithinDuration(t, t0, got.CreatedAt, time.Millisecond)
		assert.WithinDuration(t, t0.Add(2*time.Hour), got.UpdatedAt, time.Millisecond)
		gen2, err := s.Generation(ctx, tenant)
		require.NoError(t, err)
		assert.NotEqual(t, gen1, gen2, "an update changes the generation")

		stale := v1 // still at version 1
		stale.Name = "stale"
		_, err = s.UpdateSegment(ctx, stale)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		ahead := v1
		ahead.Version = 7
		_, err = s.UpdateSegment(ctx, ahead)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		assert.Equal(t, "renamed", mustGet(t, s, tenant, "vip").Name, "a conflicting update writes nothing")
		gen3, err := s.Generation(ctx, tenant)
		require.NoError(t, err)
		assert.Equal(t, gen2, gen3, "a failed update leaves the generation")
	})

	t.Run("ListAndGeneration", func(t *testing.T) {
		s := newStore(t)
		seen := map[int64]bool{}
		gen := func() int64 {
			g, err := s.Generation(ctx, tenant)
			require.NoError(t, err)
			return g
		}
		seen[gen()] = true
		for _, id := range []string{"b", "c", "a"} {
			create(t, s, dynamic(id))
			g := gen()
			assert.False(t, seen[g], "each create gives a new generation")
			seen[g] = true
		}
		list, err := s.ListSegments(ctx, tenant)
		require.NoError(t, err)
		var ids []string
		for _, seg := range list.Segments {
			ids = append(ids, seg.ID)
		}
		assert.Equal(t, []string{"a", "b", "c"}, ids, "ListSegments is in ID order")
		assert.Equal(t, gen(), list.Generation)

		before := gen()
		apply(t, s, "a", in("c1", 1))
		assert.Equal(t, before, gen(), "membership changes do not change the generation")
		require.NoError(t, s.DeleteSegment(ctx, tenant, "b"))
		assert.False(t, seen[gen()], "a delete gives a new generation")
		list, err = s.ListSegments(ctx, tenant)
		require.NoError(t, err)
		assert.Len(t, list.Segments, 2)
	})

	t.Run("Membership", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		flipped := apply(t, s, "vip", in("c2", 3), in("c1", 5), out("c3", 1))
		assert.Equal(t, []segment.MembershipChange{in("c2", 3), in("c1", 5)}, flipped, "only changes that flip membership are returned, in order")
		assertMembers(t, s, tenant, "vip", "c1", "c2")

		assert.Empty(t, apply(t, s, "vip", in("c2", 3), in("c1", 5)), "a replay flips nothing")
		assert.Empty(t, apply(t, s, "vip", out("c1", 4)), "a decision from an older profile is ignored")
		assertMembers(t, s, tenant, "vip", "c1", "c2")

		assert.Equal(t, []segment.MembershipChange{out("c1", 5)}, apply(t, s, "vip", out("c1", 5)), "at equal versions the later call wins")
		assertMembers(t, s, tenant, "vip", "c2")

		// A record is kept for non-members too: an exit at version 9 wins
		// over an entry decided at version 8 that arrives later.
		assert.Empty(t, apply(t, s, "vip", out("c4", 9)))
		assert.Empty(t, apply(t, s, "vip", in("c4", 8)))
		assertMembers(t, s, tenant, "vip", "c2")
		assert.Equal(t, []segment.MembershipChange{in("c4", 10)}, apply(t, s, "vip", in("c4", 10)))
		assertMembers(t, s, tenant, "vip", "c2", "c4")

		ok, err := s.Contains(ctx, tenant, "vip", "c4")
		require.NoError(t, err)
		assert.True(t, ok)
		ok, err = s.Contains(ctx, tenant, "vip", "c1")
		require.NoError(t, err)
		assert.False(t, ok)
		ok, err = s.Contains(ctx, tenant, "vip", "never")
		require.NoError(t, err)
		assert.False(t, ok)
	})

	t.Run("InvalidMembership", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		for _, tc := range []struct {
			name    string
			changes []segment.MembershipChange
			field   string
		}{
			{"empty customer", []segment.MembershipChange{in("c1", 1), in("", 1)}, "Changes[1].Customer"},
			{"duplicate", []segment.MembershipChange{in("c1", 1), in("c2", 1), out("c1", 2)}, "Changes[2].Customer"},
			{"negative version", []segment.MembershipChange{in("c1", -1)}, "Changes[0].Version"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: "vip", Changes: tc.changes})
				require.ErrorIs(t, err, scrm.ErrInvalid)
				var e *scrm.Error
				if assert.ErrorAs(t, err, &e) {
					assert.Equal(t, tc.field, e.Field)
				}
				assertMembers(t, s, tenant, "vip")
			})
		}
	})

	t.Run("MembersPages", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		const n = 2345
		var changes []segment.MembershipChange
		for i := n - 1; i >= 0; i-- { // out of order on purpose
			changes = append(changes, in(scrm.CustomerID(fmt.Sprintf("c%05d", i)), 1))
		}
		for len(changes) > 0 {
			k := min(700, len(changes))
			apply(t, s, "vip", changes[:k]...)
			changes = changes[k:]
		}
		var all []scrm.CustomerID
		cursor, pages := "", 0
		for {
			page, err := s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: "vip", Cursor: cursor, Limit: 1000})
			require.NoError(t, err)
			pages++
			require.LessOrEqual(t, len(page.Customers), 1000)
			all = append(all, page.Customers...)
			if page.Next == "" {
				break
			}
			cursor = page.Next
			require.Less(t, pages, 10, "Members does not terminate")
		}
		require.Len(t, all, n)
		for i := range all {
			assert.Equal(t, scrm.CustomerID(fmt.Sprintf("c%05d", i)), all[i])
		}
		page, err := s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: "vip"})
		require.NoError(t, err)
		assert.Len(t, page.Customers, 100, "limit 0 means 100")
		page, err = s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: "vip", Limit: 5000})
		require.NoError(t, err)
		assert.Len(t, page.Customers, 1000, "limit above 1000 means 1000")
		page, err = s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: "vip", Cursor: "c00100x", Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, []scrm.CustomerID{"c00101", "c00102"}, page.Customers, "a cursor need not be a member")
		page, err = s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: "vip", Cursor: "c02344"})
		require.NoError(t, err)
		assert.Empty(t, page.Customers)
		assert.Empty(t, page.Next)
		size, err := s.Size(ctx, tenant, "vip")
		require.NoError(t, err)
		assert.Equal(t, n, size)

		// Exit every other one.
		for i := 0; i < n; i += 2 {
			apply(t, s, "vip", out(scrm.CustomerID(fmt.Sprintf("c%05d", i)), 2))
		}
		size, err = s.Size(ctx, tenant, "vip")
		require.NoError(t, err)
		assert.Equal(t, n/2, size)
		page, err = s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: "vip", Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, []scrm.CustomerID{"c00001", "c00003", "c00005"}, page.Customers)
	})

	t.Run("DeleteRemovesMembership", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		apply(t, s, "vip", in("c1", 1), in("c2", 1))
		gen, err := s.Generation(ctx, tenant)
		require.NoError(t, err)
		assert.ErrorIs(t, s.DeleteSegment(ctx, tenant, "vip"), scrm.ErrConflict, "a segment with members is not deleted")
		mustGet(t, s, tenant, "vip")
		assertMembers(t, s, tenant, "vip", "c1", "c2")
		gen2, err := s.Generation(ctx, tenant)
		require.NoError(t, err)
		assert.Equal(t, gen, gen2, "a refused delete writes nothing")

		apply(t, s, "vip", out("c1", 2), out("c2", 2), out("c3", 5))
		require.NoError(t, s.DeleteSegment(ctx, tenant, "vip"), "once its members exited")
		_, err = s.GetSegment(ctx, tenant, "vip")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		create(t, s, dynamic("vip"))
		assertMembers(t, s, tenant, "vip")
		assert.Equal(t, []segment.MembershipChange{in("c1", 1), in("c3", 1)}, apply(t, s, "vip", in("c1", 1), in("c3", 1)), "no record survives a delete")
	})

	t.Run("SaveSegmentAtGeneration", func(t *testing.T) {
		s := newStore(t)
		_, err := s.SaveSegment(ctx, dynamic("a"), 1)
		assert.ErrorIs(t, err, scrm.ErrConflict, "a tenant without segments is at generation 0")
		a, err := s.SaveSegment(ctx, dynamic("a"), 0)
		require.NoError(t, err)
		assert.Equal(t, int64(1), a.Version)
		assertSameSegment(t, dynamic("a"), mustGet(t, s, tenant, "a"))
		list, err := s.ListSegments(ctx, tenant)
		require.NoError(t, err)
		gen := list.Generation

		// Another write moves the generation: a write checked against the
		// old list is refused and writes nothing.
		create(t, s, dynamic("b"))
		_, err = s.SaveSegment(ctx, dynamic("c"), gen)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, err = s.GetSegment(ctx, tenant, "c")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a refused create writes nothing")
		stale := a
		stale.Name = "stale"
		_, err = s.SaveSegment(ctx, stale, gen)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		assert.Equal(t, "高价值 a", mustGet(t, s, tenant, "a").Name, "a refused update writes nothing")
		gen2, err := s.Generation(ctx, tenant)
		require.NoError(t, err)
		assert.NotEqual(t, gen, gen2)

		// At the current generation: creates and updates as CreateSegment
		// and UpdateSegment do, with their errors.
		_, err = s.SaveSegment(ctx, dynamic("a"), gen2)
		assert.ErrorIs(t, err, scrm.ErrConflict, "a exists")
		_, err = s.SaveSegment(ctx, segment.Segment{Tenant: tenant, ID: "nope", Static: true, Version: 1}, gen2)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		ahead := a
		ahead.Version = 5
		_, err = s.SaveSegment(ctx, ahead, gen2)
		assert.ErrorIs(t, err, scrm.ErrConflict, "versions differ")
		_, err = s.SaveSegment(ctx, segment.Segment{Tenant: tenant, Static: true}, gen2)
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.SaveSegment(ctx, segment.Segment{ID: "x", Static: true}, gen2)
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		apply(t, s, "a", in("c1", 1))
		upd := a
		upd.Name = "renamed"
		upd.Deleting = true
		upd.CreatedAt = t0.Add(time.Hour) // the stored CreatedAt is kept
		upd.UpdatedAt = t0.Add(2 * time.Hour)
		got, err := s.SaveSegment(ctx, upd, gen2)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
		for _, g := range []segment.Segment{got, mustGet(t, s, tenant, "a")} {
			assert.Equal(t, "renamed", g.Name)
			assert.True(t, g.Deleting, "Deleting is stored as given")
			assert.WithinDuration(t, t0, g.CreatedAt, time.Millisecond)
			assert.WithinDuration(t, t0.Add(2*time.Hour), g.UpdatedAt, time.Millisecond)
		}
		list, err = s.ListSegments(ctx, tenant)
		require.NoError(t, err)
		assert.True(t, list.Segments[0].Deleting)
		assert.NotEqual(t, gen2, list.Generation, "an update changes the generation")
		assertMembers(t, s, tenant, "a", "c1")
		upd.Deleting, upd.Version = false, 2
		got, err = s.UpdateSegment(ctx, upd)
		require.NoError(t, err)
		assert.False(t, got.Deleting, "UpdateSegment stores Deleting as given too")
		c := dynamic("c")
		c.Deleting = true
		assert.True(t, create(t, s, c).Deleting, "and CreateSegment")
	})

	t.Run("ConcurrentSaveSegmentOneWinsPerGeneration", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("base"))
		list, err := s.ListSegments(ctx, tenant)
		require.NoError(t, err)
		var wins atomic.Int64
		race(50, func(i int) {
			_, err := s.SaveSegment(ctx, dynamic(fmt.Sprint("s", i)), list.Generation)
			if err == nil {
				wins.Add(1)
			} else {
				assert.ErrorIs(t, err, scrm.ErrConflict)
			}
		})
		assert.Equal(t, int64(1), wins.Load(), "exactly one write checked against one generation wins")
		list, err = s.ListSegments(ctx, tenant)
		require.NoError(t, err)
		assert.Len(t, list.Segments, 2)
	})

	t.Run("ConcurrentSaveSegmentSerializes", func(t *testing.T) {
		s := newStore(t)
		// Each racer reads the list and stores a segment named after the
		// number of segments it saw, retrying when the generation moved:
		// the names are 0..n-1, each write having seen every earlier one.
		const n = 30
		race(n, func(i int) {
			for attempt := 0; attempt < 10*n; attempt++ {
				list, err := s.ListSegments(ctx, tenant)
				if !assert.NoError(t, err) {
					return
				}
				seg := dynamic(fmt.Sprintf("s%02d", i))
				seg.Name = fmt.Sprint(len(list.Segments))
				_, err = s.SaveSegment(ctx, seg, list.Generation)
				if err == nil {
					return
				}
				if !assert.ErrorIs(t, err, scrm.ErrConflict) {
					return
				}
			}
			t.Errorf("racer %d never stored its segment", i)
		})
		list, err := s.ListSegments(ctx, tenant)
		require.NoError(t, err)
		names := map[string]bool{}
		for _, seg := range list.Segments {
			names[seg.Name] = true
		}
		assert.Len(t, list.Segments, n)
		for i := 0; i < n; i++ {
			assert.True(t, names[fmt.Sprint(i)], "no write saw %d segments: two writes saw the same list", i)
		}
	})

	t.Run("ConcurrentDeleteDropsNoMember", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		// Customers enter while a deleter makes the members exit and
		// deletes: every customer whose entry flipped membership exits
		// before the segment goes, so no entry is dropped unannounced.
		const n, each = 20, 20
		var mu sync.Mutex
		entered, exited := map[scrm.CustomerID]bool{}, map[scrm.CustomerID]bool{}
		race(n+1, func(i int) {
			for j := 0; i < n && j < each; j++ {
				c := scrm.CustomerID(fmt.Sprintf("c%02d-%02d", i, j))
				got, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: "vip", Changes: []segment.MembershipChange{in(c, 1)}})
				if err != nil {
					assert.ErrorIs(t, err, scrm.ErrNotFound, "entries after the delete find no segment")
					return
				}
				mu.Lock()
				entered[c] = len(got) == 1
				mu.Unlock()
			}
			if i < n {
				return
			}
			for attempt := 0; attempt < 10*n*each; attempt++ {
				page, err := s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: "vip", Limit: 1000})
				if !assert.NoError(t, err) {
					return
				}
				var outs []segment.MembershipChange
				for _, c := range page.Customers {
					outs = append(outs, out(c, 2))
				}
				if len(outs) > 0 {
					got, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: "vip", Changes: outs})
					if !assert.NoError(t, err) {
						return
					}
					mu.Lock()
					for _, c := range got {
						exited[c.Customer] = true
					}
					mu.Unlock()
				}
				err = s.DeleteSegment(ctx, tenant, "vip")
				if err == nil {
					return
				}
				if !assert.ErrorIs(t, err, scrm.ErrConflict, "only members keep a segment") {
					return
				}
			}
			t.Errorf("the segment was never deleted")
		})
		_, err := s.GetSegment(ctx, tenant, "vip")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		for c, flipped := range entered {
			if flipped {
				assert.True(t, exited[c], "%s entered and was dropped with the segment without exiting", c)
			}
		}
	})

	t.Run("Unreported", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		create(t, s, dynamic("a-first"))
		report := func(seg, cause string, changes ...segment.MembershipChange) []segment.MembershipChange {
			t.Helper()
			got, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: seg, Changes: changes,
				Report: true, Source: "event", Cause: cause, At: t0})
			require.NoError(t, err)
			return got
		}
		list := func(p segment.ListUnreportedParams) []segment.Unreported {
			t.Helper()
			p.Tenant = tenant
			var all []segment.Unreported
			for pages := 0; ; pages++ {
				require.Less(t, pages, 100, "ListUnreported does not terminate")
				page, err := s.ListUnreported(ctx, p)
				require.NoError(t, err)
				all = append(all, page.Changes...)
				if page.Next == "" {
					return all
				}
				p.Cursor = page.Next
			}
		}
		key := func(us []segment.Unreported) []string {
			var out []string
			for _, u := range us {
				out = append(out, fmt.Sprintf("%s/%s@%d:%v", u.Segment, u.Customer, u.Version, u.In))
			}
			return out
		}

		assert.Empty(t, list(segment.ListUnreportedParams{}), "nothing kept yet")
		report("vip", "e1", in("c2", 3), in("c1", 5), out("c3", 1))
		apply(t, s, "vip", in("c4", 1)) // without Report: kept nowhere
		got := list(segment.ListUnreportedParams{Segment: "vip"})
		assert.Equal(t, []string{"vip/c1@5:true", "vip/c2@3:true"}, key(got), "only flips are kept, in customer order")
		if assert.Len(t, got, 2) {
			u := got[0]
			assert.Equal(t, tenant, u.Tenant)
			assert.Equal(t, "event", u.Source)
			assert.Equal(t, "e1", u.Cause)
			assert.WithinDuration(t, t0, u.At, time.Millisecond)
			got[0].Customer, got[1].Cause = "zz", "changed"
			assert.Equal(t, []string{"vip/c1@5:true", "vip/c2@3:true"}, key(list(segment.ListUnreportedParams{Segment: "vip"})), "copies, not aliases")
			assert.Equal(t, "e1", list(segment.ListUnreportedParams{Segment: "vip"})[1].Cause)
		}
		assert.Empty(t, report("vip", "e2", in("c1", 5)), "a replay flips nothing")
		report("vip", "e3", out("c1", 6))
		report("a-first", "e4", in("c1", 2))
		assert.Equal(t, []string{"a-first/c1@2:true", "vip/c1@5:true", "vip/c1@6:false"},
			key(list(segment.ListUnreportedParams{Customer: "c1"})), "one customer's, every segment, by version")
		assert.Equal(t, []string{"vip/c1@5:true", "vip/c1@6:false"},
			key(list(segment.ListUnreportedParams{Segment: "vip", Customer: "c1"})))
		assert.Equal(t, []string{"a-first/c1@2:true", "vip/c1@5:true", "vip/c1@6:false", "vip/c2@3:true"},
			key(list(segment.ListUnreportedParams{Limit: 1})), "the whole tenant, one at a time")

		// Exits before entries at one version: c5 enters and exits at 7.
		report("vip", "e5", in("c5", 7))
		report("vip", "e6", out("c5", 7))
		assert.Equal(t, []string{"vip/c5@7:false", "vip/c5@7:true"}, key(list(segment.ListUnreportedParams{Customer: "c5"})))
		report("vip", "e7", in("c5", 7)) // flips again at 7: still kept once
		assert.Equal(t, []string{"vip/c5@7:false", "vip/c5@7:true"}, key(list(segment.ListUnreportedParams{Customer: "c5"})))

		require.NoError(t, s.MarkReported(ctx, segment.MarkReportedParams{Tenant: tenant, Segment: "vip",
			Changes: []segment.MembershipChange{in("c1", 5), out("c5", 7), in("c5", 7), in("c9", 1), out("c2", 3)}}))
		assert.Equal(t, []string{"a-first/c1@2:true", "vip/c1@6:false", "vip/c2@3:true"},
			key(list(segment.ListUnreportedParams{})), "marked changes are cleared; others, and near misses, are ignored")
		require.NoError(t, s.MarkReported(ctx, segment.MarkReportedParams{Tenant: tenant, Segment: "vip",
			Changes: []segment.MembershipChange{in("c1", 5)}}), "marking twice is harmless")
		assertMembers(t, s, tenant, "vip", "c2", "c4", "c5")

		err := s.MarkReported(ctx, segment.MarkReportedParams{Tenant: tenant, Segment: "vip", Changes: []segment.MembershipChange{in("", 1)}})
		require.ErrorIs(t, err, scrm.ErrInvalid)
		var e *scrm.Error
		if assert.ErrorAs(t, err, &e) {
			assert.Equal(t, "Changes[0].Customer", e.Field)
		}
		_, err = s.ListUnreported(ctx, segment.ListUnreportedParams{Tenant: tenant, Segment: "nope"})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		assert.ErrorIs(t, s.MarkReported(ctx, segment.MarkReportedParams{Tenant: tenant, Segment: "nope", Changes: []segment.MembershipChange{in("c1", 1)}}), scrm.ErrNotFound)

		// Other tenants see none of it; a delete drops the segment's.
		create(t, s, segment.Segment{Tenant: "t2", ID: "vip", Static: true})
		page, err := s.ListUnreported(ctx, segment.ListUnreportedParams{Tenant: "t2", Customer: "c1"})
		require.NoError(t, err)
		assert.Empty(t, page.Changes)
		page, err = s.ListUnreported(ctx, segment.ListUnreportedParams{Tenant: "t3"})
		require.NoError(t, err)
		assert.Empty(t, page.Changes)
		apply(t, s, "vip", out("c2", 20), out("c4", 20), out("c5", 20)) // without Report: kept nowhere
		require.NoError(t, s.DeleteSegment(ctx, tenant, "vip"))
		assert.Equal(t, []string{"a-first/c1@2:true"}, key(list(segment.ListUnreportedParams{})))
		create(t, s, dynamic("vip"))
		assert.Empty(t, list(segment.ListUnreportedParams{Segment: "vip"}), "nothing survives a delete")
	})

	// A page of unreported changes may end between a customer's exit and
	// entry at one version: the next page starts with the entry (a cursor
	// without the In skips it, and its event is never published).
	t.Run("UnreportedPagesSplitExitAndEntryAtOneVersion", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		report := func(changes ...segment.MembershipChange) {
			t.Helper()
			_, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: "vip", Changes: changes,
				Report: true, Source: "event", At: t0})
			require.NoError(t, err)
		}
		report(in("c1", 7), in("c2", 7))
		report(out("c1", 7), out("c2", 7))
		report(in("c1", 7))
		var got []string
		p := segment.ListUnreportedParams{Tenant: tenant, Segment: "vip", Limit: 1}
		for pages := 0; ; pages++ {
			require.Less(t, pages, 20, "ListUnreported does not terminate")
			page, err := s.ListUnreported(ctx, p)
			require.NoError(t, err)
			for _, u := range page.Changes {
				got = append(got, fmt.Sprintf("%s@%d:%v", u.Customer, u.Version, u.In))
			}
			if page.Next == "" {
				break
			}
			p.Cursor = page.Next
		}
		assert.Equal(t, []string{"c1@7:false", "c1@7:true", "c2@7:false", "c2@7:true"}, got)
	})

	t.Run("UnreportedPages", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		const n = 1234
		var changes []segment.MembershipChange
		for i := n - 1; i >= 0; i-- {
			changes = append(changes, in(scrm.CustomerID(fmt.Sprintf("c%05d", i)), 1))
		}
		_, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: "vip", Changes: changes, Report: true, Source: "refresh", At: t0})
		require.NoError(t, err)
		var all []scrm.CustomerID
		cursor, pages := "", 0
		for {
			page, err := s.ListUnreported(ctx, segment.ListUnreportedParams{Tenant: tenant, Segment: "vip", Cursor: cursor, Limit: 500})
			require.NoError(t, err)
			pages++
			require.LessOrEqual(t, len(page.Changes), 500)
			for _, u := range page.Changes {
				all = append(all, u.Customer)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
			// Marking what was listed does not disturb the cursor.
			var done []segment.MembershipChange
			for _, u := range page.Changes[:10] {
				done = append(done, u.MembershipChange)
			}
			require.NoError(t, s.MarkReported(ctx, segment.MarkReportedParams{Tenant: tenant, Segment: "vip", Changes: done}))
			require.Less(t, pages, 10, "ListUnreported does not terminate")
		}
		assert.Equal(t, 3, pages)
		require.Len(t, all, n)
		for i := range all {
			assert.Equal(t, scrm.CustomerID(fmt.Sprintf("c%05d", i)), all[i])
		}
		page, err := s.ListUnreported(ctx, segment.ListUnreportedParams{Tenant: tenant, Segment: "vip"})
		require.NoError(t, err)
		assert.Len(t, page.Changes, 100, "limit 0 means 100")
		assert.Equal(t, scrm.CustomerID("c00010"), page.Changes[0].Customer, "the first page's marked ones are gone")
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		s := newStore(t)
		a := dynamic("vip")
		b := dynamic("vip")
		b.Tenant, b.Name = "t2", "t2's"
		create(t, s, a)
		create(t, s, b)
		apply(t, s, "vip", in("c1", 1))
		_, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: "t2", Segment: "vip", Changes: []segment.MembershipChange{in("c2", 1)}})
		require.NoError(t, err)
		assertMembers(t, s, tenant, "vip", "c1")
		assertMembers(t, s, "t2", "vip", "c2")
		assert.Equal(t, "t2's", mustGet(t, s, "t2", "vip").Name)
		_, err = s.GetSegment(ctx, "t3", "vip")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: "t2", Segment: "vip", Changes: []segment.MembershipChange{out("c2", 2)}})
		require.NoError(t, err)
		require.NoError(t, s.DeleteSegment(ctx, "t2", "vip"))
		assertMembers(t, s, tenant, "vip", "c1")
		list, err := s.ListSegments(ctx, "t3")
		require.NoError(t, err)
		assert.Empty(t, list.Segments)
	})

	// Membership reads name the tenant: a customer ID that is a member of
	// another tenant's segment of the same ID is not a member here (the
	// two tenants' c1 are different people).
	t.Run("MembershipReadsArePerTenant", func(t *testing.T) {
		s := newStore(t)
		b := dynamic("vip")
		b.Tenant = "t2"
		create(t, s, dynamic("vip"))
		create(t, s, b)
		apply(t, s, "vip", in("c1", 1))
		_, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: "t2", Segment: "vip", Changes: []segment.MembershipChange{in("c2", 1)}})
		require.NoError(t, err)
		for _, tc := range []struct {
			tenant   scrm.TenantID
			customer scrm.CustomerID
			want     bool
		}{{tenant, "c1", true}, {tenant, "c2", false}, {"t2", "c2", true}, {"t2", "c1", false}} {
			ok, err := s.Contains(ctx, tc.tenant, "vip", tc.customer)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ok, "Contains(%s, %s)", tc.tenant, tc.customer)
		}
		assertMembers(t, s, tenant, "vip", "c1")
		assertMembers(t, s, "t2", "vip", "c2")
	})

	// Members orders customer IDs byte-wise, not by a collation (case,
	// accents and punctuation ignored or folded), and its cursor pages
	// through them in that order, each exactly once.
	t.Run("MembersInByteOrder", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		want := []scrm.CustomerID{"B2", "Z", "_x", "a1", "b1", "c-2", "c1", "z", "é"}
		var changes []segment.MembershipChange
		for i := len(want) - 1; i >= 0; i-- {
			changes = append(changes, in(want[i], 1))
		}
		apply(t, s, "vip", changes...)
		for _, limit := range []int{1, 2, 4, 1000} {
			var all []scrm.CustomerID
			cursor := ""
			for pages := 0; ; pages++ {
				require.Less(t, pages, 20, "Members does not terminate")
				page, err := s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: "vip", Cursor: cursor, Limit: limit})
				require.NoError(t, err)
				all = append(all, page.Customers...)
				if page.Next == "" {
					break
				}
				cursor = page.Next
			}
			assert.Equal(t, want, all, "limit %d", limit)
		}
	})

	t.Run("GenerationIsPerTenant", func(t *testing.T) {
		// Another tenant's definitions never move this tenant's generation,
		// so its writes never fail this tenant's SaveSegment.
		s := newStore(t)
		create(t, s, dynamic("a"))
		gen, err := s.Generation(ctx, tenant)
		require.NoError(t, err)
		b := dynamic("b")
		b.Tenant = "t2"
		b = create(t, s, b)
		b.Name = "renamed"
		_, err = s.UpdateSegment(ctx, b)
		require.NoError(t, err)
		require.NoError(t, s.DeleteSegment(ctx, "t2", "b"))
		got, err := s.Generation(ctx, tenant)
		require.NoError(t, err)
		assert.Equal(t, gen, got, "t2's writes leave t1's generation")
		list, err := s.ListSegments(ctx, tenant)
		require.NoError(t, err)
		assert.Equal(t, gen, list.Generation)
		_, err = s.SaveSegment(ctx, dynamic("c"), gen)
		assert.NoError(t, err, "a write checked against t1's definitions is not refused for t2's")
	})

	t.Run("ConcurrentCreateOneWins", func(t *testing.T) {
		s := newStore(t)
		var wins atomic.Int64
		race(50, func(i int) {
			seg := dynamic("vip")
			seg.Name = fmt.Sprint("racer ", i)
			_, err := s.CreateSegment(ctx, seg)
			if err == nil {
				wins.Add(1)
			} else {
				assert.ErrorIs(t, err, scrm.ErrConflict)
			}
		})
		assert.Equal(t, int64(1), wins.Load(), "exactly one create wins")
	})

	t.Run("ConcurrentUpdateOneWins", func(t *testing.T) {
		s := newStore(t)
		v1 := create(t, s, dynamic("vip"))
		var wins atomic.Int64
		race(50, func(i int) {
			seg := v1
			seg.Name = fmt.Sprint("racer ", i)
			_, err := s.UpdateSegment(ctx, seg)
			if err == nil {
				wins.Add(1)
			} else {
				assert.ErrorIs(t, err, scrm.ErrConflict)
			}
		})
		assert.Equal(t, int64(1), wins.Load(), "exactly one update of a version wins")
		assert.Equal(t, int64(2), mustGet(t, s, tenant, "vip").Version)
	})

	t.Run("ConcurrentEntryFlipsOnce", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		var flips atomic.Int64
		race(50, func(int) {
			got, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: "vip", Changes: []segment.MembershipChange{in("c1", 1)}})
			if assert.NoError(t, err) {
				flips.Add(int64(len(got)))
			}
		})
		assert.Equal(t, int64(1), flips.Load(), "exactly one of the racing entries is reported as a change")
		assertMembers(t, s, tenant, "vip", "c1")
	})

	t.Run("ConcurrentVersionsNewestWins", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		// Versions 1..100 of one customer arrive in any order; version v
		// says "in" when v is even. The last word is version 100: in.
		var flips atomic.Int64
		race(100, func(i int) {
			v := int64(i + 1)
			got, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: "vip", Changes: []segment.MembershipChange{{Customer: "c1", In: v%2 == 0, Version: v}}})
			if assert.NoError(t, err) {
				flips.Add(int64(len(got)))
			}
		})
		assertMembers(t, s, tenant, "vip", "c1")
		assert.Empty(t, apply(t, s, "vip", out("c1", 99)), "nothing older than the newest decision applies")
		assert.Equal(t, int64(1), flips.Load()%2, "flips alternate from out to in, so an odd number happened")
	})

	t.Run("ConcurrentDisjointEntries", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		const workers, each = 20, 50
		race(workers, func(w int) {
			for i := 0; i < each; i++ {
				_, err := s.ApplyMembership(ctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: "vip",
					Changes: []segment.MembershipChange{in(scrm.CustomerID(fmt.Sprintf("w%02d-%03d", w, i)), 1)}})
				assert.NoError(t, err)
			}
		})
		size, err := s.Size(ctx, tenant, "vip")
		require.NoError(t, err)
		assert.Equal(t, workers*each, size)
		var n int
		cursor := ""
		for {
			page, err := s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: "vip", Cursor: cursor, Limit: 333})
			require.NoError(t, err)
			n += len(page.Customers)
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		assert.Equal(t, workers*each, n)
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		create(t, s, dynamic("vip"))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		check := func(err error) {
			t.Helper()
			assert.ErrorIs(t, err, scrm.ErrUnavailable)
			assert.ErrorIs(t, err, context.Canceled)
		}
		_, err := s.CreateSegment(cctx, dynamic("other"))
		check(err)
		upd := mustGet(t, s, tenant, "vip")
		upd.Name = "changed"
		_, err = s.UpdateSegment(cctx, upd)
		check(err)
		_, err = s.GetSegment(cctx, tenant, "vip")
		check(err)
		_, err = s.ListSegments(cctx, tenant)
		check(err)
		check(s.DeleteSegment(cctx, tenant, "vip"))
		_, err = s.SaveSegment(cctx, dynamic("other"), 1)
		check(err)
		_, err = s.SaveSegment(cctx, upd, 1)
		check(err)
		_, err = s.Generation(cctx, tenant)
		check(err)
		_, err = s.ApplyMembership(cctx, segment.ApplyMembershipParams{Tenant: tenant, Segment: "vip", Changes: []segment.MembershipChange{in("c1", 1)}})
		check(err)
		_, err = s.Contains(cctx, tenant, "vip", "c1")
		check(err)
		_, err = s.Members(cctx, segment.ListMembersParams{Tenant: tenant, Segment: "vip"})
		check(err)
		_, err = s.Size(cctx, tenant, "vip")
		check(err)
		_, err = s.ListUnreported(cctx, segment.ListUnreportedParams{Tenant: tenant, Segment: "vip"})
		check(err)
		check(s.MarkReported(cctx, segment.MarkReportedParams{Tenant: tenant, Segment: "vip", Changes: []segment.MembershipChange{in("c1", 1)}}))

		got := mustGet(t, s, tenant, "vip")
		assert.Equal(t, "高价值 vip", got.Name, "nothing is written with a cancelled context")
		_, err = s.GetSegment(ctx, tenant, "other")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		assertMembers(t, s, tenant, "vip")
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		seg := dynamic("vip")
		_, err := s.CreateSegment(ctx, seg)
		require.NoError(t, err)
		want := sampleCondition().String()
		// Change what was passed in, deep inside the condition.
		seg.When.All[0].Value.([]any)[0] = "北京"
		seg.When.All[1].Count.Gte = "99"
		seg.When.All = append(seg.When.All[:1], rule.HasTag("x"))
		assert.Equal(t, want, mustGet(t, s, tenant, "vip").When.String())

		got := mustGet(t, s, tenant, "vip")
		got.When.All[0].Value.([]any)[0] = "广州"
		got.When.All[2].Sum.Gte = "1"
		got.When.All[3].Not.Tag = "changed"
		assert.Equal(t, want, mustGet(t, s, tenant, "vip").When.String())

		list, err := s.ListSegments(ctx, tenant)
		require.NoError(t, err)
		list.Segments[0].When.All[0].Value.([]any)[1] = "深圳"
		assert.Equal(t, want, mustGet(t, s, tenant, "vip").When.String())

		changes := []segment.MembershipChange{in("c1", 1), in("c2", 1)}
		flipped := apply(t, s, "vip", changes...)
		changes[0].Customer = "zz"
		flipped[1].Customer = "yy"
		page, err := s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: "vip"})
		require.NoError(t, err)
		page.Customers[0] = "xx"
		assertMembers(t, s, tenant, "vip", "c1", "c2")
	})
}

// sampleCondition uses every node kind and list operands.
func sampleCondition() rule.Condition {
	return rule.All(
		rule.Attr("city").In("上海", "杭州"),
		rule.Event(scrm.EventOrderPaid).Within(30*24*time.Hour).CountGte(2),
		rule.Event(scrm.EventOrderPaid).Within(90*24*time.Hour).SumGte(scrm.Yuan("500.00")),
		rule.Not(rule.TagAppliedWithin("拒绝营销", 7*24*time.Hour)),
		rule.Any(rule.InSegment("blacklist"), rule.Event(scrm.EventOrderPaid).LastOlderThan(30*24*time.Hour)),
	)
}

func mustGet(t *testing.T, s segment.Store, tenant scrm.TenantID, id string) segment.Segment {
	t.Helper()
	seg, err := s.GetSegment(context.Background(), tenant, id)
	require.NoError(t, err)
	return seg
}

func assertSameSegment(t *testing.T, want, got segment.Segment) {
	t.Helper()
	assert.Equal(t, want.Tenant, got.Tenant)
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Static, got.Static)
	assert.Equal(t, want.When.String(), got.When.String(), "conditions compare by their JSON form")
	assert.WithinDuration(t, want.CreatedAt, got.CreatedAt, time.Millisecond)
	assert.WithinDuration(t, want.UpdatedAt, got.UpdatedAt, time.Millisecond)
}

// assertMembers checks Members (one page), Size and Contains agree on the
// exact member list.
func assertMembers(t *testing.T, s segment.Store, tenant scrm.TenantID, seg string, want ...scrm.CustomerID) {
	t.Helper()
	ctx := context.Background()
	page, err := s.Members(ctx, segment.ListMembersParams{Tenant: tenant, Segment: seg, Limit: 1000})
	require.NoError(t, err)
	if len(want) == 0 {
		assert.Empty(t, page.Customers)
	} else {
		assert.Equal(t, want, page.Customers)
	}
	size, err := s.Size(ctx, tenant, seg)
	require.NoError(t, err)
	assert.Equal(t, len(want), size)
	for _, c := range want {
		ok, err := s.Contains(ctx, tenant, seg, c)
		require.NoError(t, err)
		assert.True(t, ok, "Contains(%s)", c)
	}
}

// race runs fn(0..n-1) in n goroutines released at once and waits.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			fn(i)
		}(i)
	}
	close(start)
	wg.Wait()
}
