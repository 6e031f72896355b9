package scrmtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// RunGroupStoreTests is the conformance suite every scrm.GroupStore must
// pass. newStore is called once per subtest and must return an empty
// store. Times are compared with a millisecond tolerance; the events of one
// (group, customer) in the suite are at least a second apart unless they
// test equal times.
func RunGroupStoreTests(t *testing.T, newStore func(t *testing.T) scrm.GroupStore) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	const tenant scrm.TenantID = "t1"

	t.Run("GroupRoundTrip", func(t *testing.T) {
		s := newStore(t)
		want := scrm.Group{Tenant: tenant, ID: "g1", Name: "静安店福利群", Owner: "s1", Store: "jingan", Tags: []string{"福利群", "新客"}}
		require.NoError(t, s.PutGroup(ctx, want))
		got, err := s.GetGroup(ctx, tenant, "g1")
		require.NoError(t, err)
		assert.Equal(t, want, got)

		want.Name, want.Tags = "静安店老客群", nil
		require.NoError(t, s.PutGroup(ctx, want))
		got, err = s.GetGroup(ctx, tenant, "g1")
		require.NoError(t, err)
		assert.Equal(t, "静安店老客群", got.Name)
		assert.Empty(t, got.Tags)

		_, err = s.GetGroup(ctx, tenant, "nope")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	// Replacing a group keeps its membership.
	t.Run("PutGroupKeepsMembership", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.PutGroup(ctx, scrm.Group{Tenant: tenant, ID: "g1", Name: "old"}))
		grApply(t, s, tenant, "g1", "c1", true, t0, "e1")
		grApply(t, s, tenant, "g1", "c2", true, t0.Add(time.Minute), "e2")
		require.NoError(t, s.PutGroup(ctx, scrm.Group{Tenant: tenant, ID: "g1", Name: "new", Tags: []string{"x"}}))
		assert.Equal(t, 2, grSize(t, s, tenant, "g1"), "PutGroup keeps the members")
		assert.Equal(t, []scrm.CustomerID{"c1", "c2"}, grMembers(t, s, tenant, "g1", 10))
		ms, err := s.GroupsOf(ctx, tenant, "c1")
		require.NoError(t, err)
		require.Len(t, ms, 1)
		assert.WithinDuration(t, t0, ms[0].JoinedAt, time.Millisecond)
		// A group first known by its members keeps them when registered.
		grApply(t, s, tenant, "g2", "c3", true, t0, "e3")
		require.NoError(t, s.PutGroup(ctx, scrm.Group{Tenant: tenant, ID: "g2", Name: "later"}))
		assert.Equal(t, 1, grSize(t, s, tenant, "g2"))
	})

	t.Run("ListGroupsPages", func(t *testing.T) {
		s := newStore(t)
		rng := rand.New(rand.NewPCG(9, 10))
		var all, inB []string
		for i := range 25 {
			all = append(all, fmt.Sprintf("g%02d", i))
			if i%4 == 0 {
				inB = append(inB, fmt.Sprintf("g%02d", i))
			}
		}
		for _, i := range rng.Perm(25) {
			store := "A"
			if i%4 == 0 {
				store = "B"
			}
			require.NoError(t, s.PutGroup(ctx, scrm.Group{Tenant: tenant, ID: all[i], Store: store}))
		}
		assert.Equal(t, all, grListAll(t, s, scrm.ListGroupsParams{Tenant: tenant, Limit: 10}))
		assert.Equal(t, inB, grListAll(t, s, scrm.ListGroupsParams{Tenant: tenant, Store: "B", Limit: 2}))
		page, err := s.ListGroups(ctx, scrm.ListGroupsParams{Tenant: tenant})
		require.NoError(t, err)
		assert.Len(t, page.Groups, 25, "Limit 0 means the default page size")
		assert.Empty(t, page.Next)
	})

	t.Run("JoinLeave", func(t *testing.T) {
		s := newStore(t)
		r := grApply(t, s, tenant, "g1", "c1", true, t0, "e1")
		assert.Equal(t, scrm.MembershipResult{Applied: true, Member: true, Changed: true}, r)
		grApply(t, s, tenant, "g1", "c2", true, t0.Add(time.Minute), "e2")
		grApply(t, s, tenant, "g2", "c1", true, t0.Add(2*time.Minute), "e3")
		assert.Equal(t, 2, grSize(t, s, tenant, "g1"))
		assert.Equal(t, 1, grSize(t, s, tenant, "g2"))
		assert.Equal(t, 0, grSize(t, s, tenant, "nope"))

		ms, err := s.GroupsOf(ctx, tenant, "c1")
		require.NoError(t, err)
		require.Len(t, ms, 2)
		assert.Equal(t, "g1", ms[0].Group)
		assert.Equal(t, scrm.CustomerID("c1"), ms[0].Customer)
		assert.Equal(t, tenant, ms[0].Tenant)
		assert.WithinDuration(t, t0, ms[0].JoinedAt, time.Millisecond)
		assert.Equal(t, "g2", ms[1].Group)

		r = grApply(t, s, tenant, "g1", "c1", false, t0.Add(time.Hour), "e4")
		assert.Equal(t, scrm.MembershipResult{Applied: true, Member: false, Changed: true}, r)
		assert.Equal(t, 1, grSize(t, s, tenant, "g1"))
		assert.Equal(t, []scrm.CustomerID{"c2"}, grMembers(t, s, tenant, "g1", 10))
		ms, err = s.GroupsOf(ctx, tenant, "c1")
		require.NoError(t, err)
		require.Len(t, ms, 1)
		assert.Equal(t, "g2", ms[0].Group)

		// A second leave changes nothing; a rejoin counts from its own time.
		r = grApply(t, s, tenant, "g1", "c1", false, t0.Add(2*time.Hour), "e5")
		assert.Equal(t, scrm.MembershipResult{Applied: true, Member: false, Changed: false}, r)
		grApply(t, s, tenant, "g1", "c1", true, t0.Add(3*time.Hour), "e6")
		page, err := s.Members(ctx, scrm.ListMembersParams{Tenant: tenant, Group: "g1"})
		require.NoError(t, err)
		require.Len(t, page.Members, 2)
		assert.Equal(t, 2, page.Total)
		assert.WithinDuration(t, t0.Add(3*time.Hour), page.Members[0].JoinedAt, time.Millisecond)

		ms, err = s.GroupsOf(ctx, tenant, "nobody")
		require.NoError(t, err)
		assert.Empty(t, ms)
		page, err = s.Members(ctx, scrm.ListMembersParams{Tenant: tenant, Group: "nope"})
		require.NoError(t, err)
		assert.Empty(t, page.Members)
		assert.Zero(t, page.Total)
	})

	// GroupsOf lists memberships in group ID order, whatever the join order.
	t.Run("GroupsOfInGroupIDOrder", func(t *testing.T) {
		s := newStore(t)
		grApply(t, s, tenant, "g3", "c1", true, t0, "e3")
		grApply(t, s, tenant, "g1", "c1", true, t0.Add(time.Minute), "e1")
		grApply(t, s, tenant, "g2", "c1", true, t0.Add(2*time.Minute), "e2")
		ms, err := s.GroupsOf(ctx, tenant, "c1")
		require.NoError(t, err)
		var got []string
		for _, m := range ms {
			got = append(got, m.Group)
		}
		assert.Equal(t, []string{"g1", "g2", "g3"}, got)
	})

	t.Run("EventIDOnce", func(t *testing.T) {
		s := newStore(t)
		grApply(t, s, tenant, "g1", "c1", true, t0, "e1")
		r := grApply(t, s, tenant, "g1", "c1", true, t0, "e1")
		assert.Equal(t, scrm.MembershipResult{Applied: false, Member: true}, r)
		// An event ID is applied once per tenant, whatever it is about.
		r = grApply(t, s, tenant, "g1", "c1", false, t0.Add(time.Hour), "e1")
		assert.False(t, r.Applied)
		assert.True(t, r.Member)
		r = grApply(t, s, tenant, "g2", "c2", true, t0, "e1")
		assert.False(t, r.Applied)
		assert.Equal(t, 1, grSize(t, s, tenant, "g1"))
		assert.Equal(t, 0, grSize(t, s, tenant, "g2"))
		// The duplicate join did not count as a second join either.
		require.NoError(t, s.RecordAdded(ctx, scrm.AttributionParams{Tenant: tenant, Customer: "c2", EventID: "a2", At: t0.Add(-time.Hour)}))
		as := grAcqAll(t, s, tenant, t0.Add(-24*time.Hour), t0.Add(24*time.Hour), 10)
		require.Len(t, as, 1)
		assert.True(t, as[0].FirstJoinedAt.IsZero(), "a duplicate event ID records no join")
	})

	t.Run("OutOfOrder", func(t *testing.T) {
		type ev struct {
			joined bool
			at     time.Duration
		}
		// Every delivery order of each sequence must end the same way: the
		// latest event by time decides; at equal times a leave wins.
		tests := []struct {
			name   string
			events []ev
			member bool
		}{
			{"join then leave", []ev{{true, 0}, {false, time.Hour}}, false},
			{"leave then rejoin", []ev{{true, 0}, {false, time.Hour}, {true, 2 * time.Hour}}, true},
			{"two joins", []ev{{true, 0}, {true, time.Hour}}, true},
			{"leave only", []ev{{false, time.Hour}}, false},
			{"same instant", []ev{{true, time.Hour}, {false, time.Hour}}, false},
			{"same instant, rejoin later", []ev{{true, time.Hour}, {false, time.Hour}, {true, 2 * time.Hour}}, true},
			{"churn", []ev{{true, 0}, {false, 1 * time.Hour}, {true, 2 * time.Hour}, {false, 3 * time.Hour}, {true, 4 * time.Hour}, {false, 5 * time.Hour}}, false},
		}
		for _, tt := range tests {
			for _, order := range grPerms(len(tt.events)) {
				s := newStore(t)
				for _, i := range order {
					e := tt.events[i]
					grApply(t, s, tenant, "g1", "c1", e.joined, t0.Add(e.at), fmt.Sprintf("e%d", i))
				}
				want := 0
				if tt.member {
					want = 1
				}
				assert.Equal(t, want, grSize(t, s, tenant, "g1"), "%s, order %v", tt.name, order)
				ms, err := s.GroupsOf(ctx, tenant, "c1")
				require.NoError(t, err)
				assert.Len(t, ms, want, "%s, order %v", tt.name, order)
				if tt.member {
					var last time.Duration
					for _, e := range tt.events {
						if e.joined {
							last = max(last, e.at)
						}
					}
					assert.WithinDuration(t, t0.Add(last), ms[0].JoinedAt, time.Millisecond, "%s: JoinedAt is the join in effect", tt.name)
				}
			}
		}
	})

	t.Run("MembersPages", func(t *testing.T) {
		s := newStore(t)
		rng := rand.New(rand.NewPCG(11, 12))
		var want []scrm.CustomerID
		for i := range 30 {
			want = append(want, scrm.CustomerID(fmt.Sprintf("c%02d", i)))
		}
		for _, i := range rng.Perm(30) {
			grApply(t, s, tenant, "g1", want[i], true, t0, fmt.Sprintf("j%d", i))
		}
		for _, i := range []int{3, 17, 29} {
			grApply(t, s, tenant, "g1", want[i], false, t0.Add(time.Hour), fmt.Sprintf("l%d", i))
		}
		want = append(append(want[:3:3], want[4:17]...), want[18:29]...)
		var got []scrm.CustomerID
		cursor, pages := "", 0
		for {
			page, err := s.Members(ctx, scrm.ListMembersParams{Tenant: tenant, Group: "g1", Cursor: cursor, Limit: 10})
			require.NoError(t, err)
			assert.Equal(t, 27, page.Total)
			pages++
			require.Less(t, pages, 10, "Members does not terminate")
			for _, m := range page.Members {
				assert.Equal(t, "g1", m.Group)
				got = append(got, m.Customer)
			}
			if page.Next == "" {
				break
			}
			require.Len(t, page.Members, 10, "only the last page may be short")
			cursor = page.Next
		}
		assert.Equal(t, want, got, "every current member once, in ID order")
		assert.Equal(t, 3, pages)
		page, err := s.Members(ctx, scrm.ListMembersParams{Tenant: tenant, Group: "g1", Limit: 27})
		require.NoError(t, err)
		assert.Len(t, page.Members, 27)
		assert.Empty(t, page.Next, "no Next when nothing follows")
	})

	t.Run("Acquisitions", func(t *testing.T) {
		s := newStore(t)
		add := func(c scrm.CustomerID, id string, at time.Time, store, staff string) {
			t.Helper()
			require.NoError(t, s.RecordAdded(ctx, scrm.AttributionParams{Tenant: tenant, Customer: c, EventID: id, At: at, Store: store, Staff: staff}))
		}
		owner := func(c scrm.CustomerID, id string, at time.Time, store, staff string) {
			t.Helper()
			require.NoError(t, s.RecordFirstOwner(ctx, scrm.AttributionParams{Tenant: tenant, Customer: c, EventID: id, At: at, Store: store, Staff: staff}))
		}
		// c1: added in store A by s1; joined before (does not count) and
		// three days after.
		grApply(t, s, tenant, "g0", "c1", true, t0.Add(-time.Hour), "j0")
		add("c1", "a1", t0, "A", "s1")
		grApply(t, s, tenant, "g1", "c1", true, t0.Add(72*time.Hour), "j1")
		grApply(t, s, tenant, "g2", "c1", true, t0.Add(24*time.Hour), "j2")
		grApply(t, s, tenant, "g2", "c1", false, t0.Add(25*time.Hour), "l2") // left again: the join still counts
		// c2: added without attribution; the first owner fills it in, even
		// when recorded before the add.
		owner("c2", "o2", t0.Add(time.Hour), "B", "s2")
		add("c2", "a2", t0.Add(time.Hour), "", "")
		// c3: the add names a staff member but no store: the owner's store.
		add("c3", "a3", t0.Add(2*time.Hour), "", "s9")
		owner("c3", "o3", t0.Add(2*time.Hour), "C", "s3")
		// c4: added twice; the earliest counts, whichever arrives first.
		add("c4", "a4-late", t0.Add(5*time.Hour), "Z", "sZ")
		add("c4", "a4-early", t0.Add(4*time.Hour), "D", "s4")
		add("c4", "a4-late", t0.Add(5*time.Hour), "Z", "sZ")
		// c5: added outside the period; c6: only joined.
		add("c5", "a5", t0.Add(48*time.Hour), "A", "s1")
		grApply(t, s, tenant, "g1", "c6", true, t0, "j6")

		got := grAcqAll(t, s, tenant, t0, t0.Add(24*time.Hour), 2)
		want := []scrm.Acquisition{
			{Tenant: tenant, Customer: "c1", AddedAt: t0, Store: "A", Staff: "s1", FirstJoinedAt: t0.Add(24 * time.Hour)},
			{Tenant: tenant, Customer: "c2", AddedAt: t0.Add(time.Hour), Store: "B", Staff: "s2"},
			{Tenant: tenant, Customer: "c3", AddedAt: t0.Add(2 * time.Hour), Store: "C", Staff: "s9"},
			{Tenant: tenant, Customer: "c4", AddedAt: t0.Add(4 * time.Hour), Store: "D", Staff: "s4"},
		}
		require.Len(t, got, len(want))
		for i := range want {
			grSameAcq(t, want[i], got[i])
		}
		// [From, To): the bounds.
		got = grAcqAll(t, s, tenant, t0.Add(time.Hour), t0.Add(4*time.Hour), 10)
		require.Len(t, got, 2)
		assert.Equal(t, scrm.CustomerID("c2"), got[0].Customer)
		assert.Equal(t, scrm.CustomerID("c3"), got[1].Customer)

		// A later join before the add's window and an earlier add: c1's first
		// join after the new AddedAt.
		add("c1", "a1-earlier", t0.Add(-2*time.Hour), "A0", "s0")
		got = grAcqAll(t, s, tenant, t0.Add(-3*time.Hour), t0.Add(-time.Hour), 10)
		require.Len(t, got, 1)
		grSameAcq(t, scrm.Acquisition{Tenant: tenant, Customer: "c1", AddedAt: t0.Add(-2 * time.Hour), Store: "A0", Staff: "s0",
			FirstJoinedAt: t0.Add(-time.Hour)}, got[0])
	})

	// RecordFirstOwner keeps the earliest first-owner record, whichever
	// arrives first.
	t.Run("FirstOwnerEarliestKept", func(t *testing.T) {
		s := newStore(t)
		for _, c := range []scrm.CustomerID{"c1", "c2"} {
			require.NoError(t, s.RecordAdded(ctx, scrm.AttributionParams{Tenant: tenant, Customer: c, EventID: "a-" + string(c), At: t0}))
		}
		early := scrm.AttributionParams{Tenant: tenant, EventID: "o-early", At: t0.Add(time.Hour), Store: "A", Staff: "s1"}
		late := scrm.AttributionParams{Tenant: tenant, EventID: "o-late", At: t0.Add(2 * time.Hour), Store: "B", Staff: "s2"}
		for c, order := range map[scrm.CustomerID][]scrm.AttributionParams{"c1": {early, late}, "c2": {late, early}} {
			for _, p := range order {
				p.Customer = c
				require.NoError(t, s.RecordFirstOwner(ctx, p))
			}
		}
		got := grAcqAll(t, s, tenant, t0, t0.Add(time.Hour), 10)
		require.Len(t, got, 2)
		for _, a := range got {
			assert.Equal(t, "A", a.Store, "%s: the earliest first owner's store", a.Customer)
			assert.Equal(t, "s1", a.Staff, "%s: the earliest first owner", a.Customer)
		}
	})

	// Two customer.added events of a customer at the same time (a customer
	// adding two staff members at once): the smaller event ID is kept,
	// whichever arrives first.
	t.Run("EarliestAddTieByEventID", func(t *testing.T) {
		s := newStore(t)
		a1 := scrm.AttributionParams{Tenant: tenant, EventID: "a1", At: t0, Store: "A", Staff: "s1"}
		a2 := scrm.AttributionParams{Tenant: tenant, EventID: "a2", At: t0, Store: "B", Staff: "s2"}
		for c, order := range map[scrm.CustomerID][]scrm.AttributionParams{"c1": {a1, a2}, "c2": {a2, a1}} {
			for _, p := range order {
				p.Customer = c
				require.NoError(t, s.RecordAdded(ctx, p))
			}
		}
		got := grAcqAll(t, s, tenant, t0, t0.Add(time.Hour), 10)
		require.Len(t, got, 2)
		for _, a := range got {
			assert.Equal(t, "A", a.Store, "%s: the add with the smaller event ID", a.Customer)
			assert.Equal(t, "s1", a.Staff, "%s: the add with the smaller event ID", a.Customer)
		}
	})

	// A join counts towards FirstJoinedAt even when it arrives after a
	// later leave of the same group (and so never takes effect).
	t.Run("StaleJoinStillCounts", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.RecordAdded(ctx, scrm.AttributionParams{Tenant: tenant, Customer: "c1", EventID: "a1", At: t0}))
		grApply(t, s, tenant, "g1", "c1", false, t0.Add(2*time.Hour), "l1")
		r := grApply(t, s, tenant, "g1", "c1", true, t0.Add(time.Hour), "j1")
		assert.Equal(t, scrm.MembershipResult{Applied: true}, r, "the stale join changes no membership")
		got := grAcqAll(t, s, tenant, t0, t0.Add(time.Hour), 10)
		require.Len(t, got, 1)
		grSameAcq(t, scrm.Acquisition{Tenant: tenant, Customer: "c1", AddedAt: t0, FirstJoinedAt: t0.Add(time.Hour)}, got[0])
	})

	// FirstJoinedAt is the first join at or after AddedAt: a join at the
	// very time of the add counts.
	t.Run("JoinAtAddCounts", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.RecordAdded(ctx, scrm.AttributionParams{Tenant: tenant, Customer: "c1", EventID: "a1", At: t0}))
		grApply(t, s, tenant, "g1", "c1", true, t0, "j1")
		grApply(t, s, tenant, "g2", "c1", true, t0.Add(time.Hour), "j2")
		got := grAcqAll(t, s, tenant, t0, t0.Add(time.Hour), 10)
		require.Len(t, got, 1)
		grSameAcq(t, scrm.Acquisition{Tenant: tenant, Customer: "c1", AddedAt: t0, FirstJoinedAt: t0}, got[0])
	})

	t.Run("AcquisitionPages", func(t *testing.T) {
		s := newStore(t)
		rng := rand.New(rand.NewPCG(13, 14))
		var want []scrm.CustomerID
		for _, i := range rng.Perm(40) {
			at := t0.Add(time.Duration(i) * time.Hour)
			c := scrm.CustomerID(fmt.Sprintf("c%02d", i))
			require.NoError(t, s.RecordAdded(ctx, scrm.AttributionParams{Tenant: tenant, Customer: c, EventID: "a" + string(c), At: at}))
		}
		for i := 10; i < 35; i++ {
			want = append(want, scrm.CustomerID(fmt.Sprintf("c%02d", i)))
		}
		var got []scrm.CustomerID
		for _, a := range grAcqAll(t, s, tenant, t0.Add(10*time.Hour), t0.Add(35*time.Hour), 7) {
			got = append(got, a.Customer)
		}
		assert.Equal(t, want, got)
		// Records added between pages still appear when they sort after the cursor.
		page, err := s.ListAcquisitions(ctx, scrm.ListAcquisitionsParams{Tenant: tenant, From: t0, To: t0.Add(100 * time.Hour), Limit: 5})
		require.NoError(t, err)
		require.NotEmpty(t, page.Next)
		require.NoError(t, s.RecordAdded(ctx, scrm.AttributionParams{Tenant: tenant, Customer: "c99", EventID: "a99", At: t0}))
		rest := grAcqFrom(t, s, scrm.ListAcquisitionsParams{Tenant: tenant, From: t0, To: t0.Add(100 * time.Hour), Cursor: page.Next, Limit: 100})
		assert.Equal(t, scrm.CustomerID("c99"), rest[len(rest)-1].Customer)
		assert.Len(t, rest, 36)
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.PutGroup(ctx, scrm.Group{Tenant: "t1", ID: "g1", Name: "one"}))
		grApply(t, s, "t1", "g1", "c1", true, t0, "e1")
		r := grApply(t, s, "t2", "g1", "c1", true, t0, "e1")
		assert.True(t, r.Applied, "event IDs are per tenant")
		grApply(t, s, "t2", "g1", "c2", true, t0, "e2")
		assert.Equal(t, 1, grSize(t, s, "t1", "g1"))
		assert.Equal(t, 2, grSize(t, s, "t2", "g1"))
		_, err := s.GetGroup(ctx, "t2", "g1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		require.NoError(t, s.RecordAdded(ctx, scrm.AttributionParams{Tenant: "t1", Customer: "c1", EventID: "a", At: t0, Store: "A"}))
		assert.Empty(t, grAcqAll(t, s, "t2", t0.Add(-time.Hour), t0.Add(time.Hour), 10))
		assert.Len(t, grAcqAll(t, s, "t1", t0.Add(-time.Hour), t0.Add(time.Hour), 10), 1)
		page, err := s.ListGroups(ctx, scrm.ListGroupsParams{Tenant: "t3"})
		require.NoError(t, err)
		assert.Empty(t, page.Groups)
		ms, err := s.GroupsOf(ctx, "t3", "c1")
		require.NoError(t, err)
		assert.Empty(t, ms)
		assert.Equal(t, 0, grSize(t, s, "t3", "g1"))
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		g := scrm.Group{Tenant: tenant, ID: "g1", Tags: []string{"a", "b"}}
		require.NoError(t, s.PutGroup(ctx, g))
		g.Tags[0] = "changed"
		got, err := s.GetGroup(ctx, tenant, "g1")
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, got.Tags)
		got.Tags[1] = "changed"
		page, err := s.ListGroups(ctx, scrm.ListGroupsParams{Tenant: tenant})
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, page.Groups[0].Tags)
		page.Groups[0].Tags[0] = "changed"
		got, err = s.GetGroup(ctx, tenant, "g1")
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, got.Tags)

		grApply(t, s, tenant, "g1", "c1", true, t0, "e1")
		grApply(t, s, tenant, "g1", "c2", true, t0, "e2")
		mp, err := s.Members(ctx, scrm.ListMembersParams{Tenant: tenant, Group: "g1"})
		require.NoError(t, err)
		mp.Members[0].Customer = "changed"
		assert.Equal(t, []scrm.CustomerID{"c1", "c2"}, grMembers(t, s, tenant, "g1", 10))
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		check := func(err error, what string) {
			t.Helper()
			assert.ErrorIs(t, err, scrm.ErrUnavailable, what)
			assert.ErrorIs(t, err, context.Canceled, what)
		}
		check(s.PutGroup(cctx, scrm.Group{Tenant: tenant, ID: "g1"}), "PutGroup")
		_, err := s.GetGroup(cctx, tenant, "g1")
		check(err, "GetGroup")
		_, err = s.ListGroups(cctx, scrm.ListGroupsParams{Tenant: tenant})
		check(err, "ListGroups")
		_, err = s.ApplyMembership(cctx, scrm.MembershipParams{Tenant: tenant, Group: "g1", Customer: "c1", Joined: true, At: t0, EventID: "e1"})
		check(err, "ApplyMembership")
		_, err = s.Members(cctx, scrm.ListMembersParams{Tenant: tenant, Group: "g1"})
		check(err, "Members")
		_, err = s.GroupsOf(cctx, tenant, "c1")
		check(err, "GroupsOf")
		_, err = s.Size(cctx, tenant, "g1")
		check(err, "Size")
		check(s.RecordAdded(cctx, scrm.AttributionParams{Tenant: tenant, Customer: "c1", EventID: "a1", At: t0}), "RecordAdded")
		check(s.RecordFirstOwner(cctx, scrm.AttributionParams{Tenant: tenant, Customer: "c1", EventID: "o1", At: t0, Staff: "s1"}), "RecordFirstOwner")
		_, err = s.ListAcquisitions(cctx, scrm.ListAcquisitionsParams{Tenant: tenant, From: t0, To: t0.Add(time.Hour)})
		check(err, "ListAcquisitions")

		_, err = s.GetGroup(ctx, tenant, "g1")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		assert.Equal(t, 0, grSize(t, s, tenant, "g1"), "nothing written")
		r := grApply(t, s, tenant, "g1", "c1", true, t0, "e1")
		assert.True(t, r.Applied, "the cancelled event ID was not recorded")
		assert.Empty(t, grAcqAll(t, s, tenant, t0.Add(-time.Hour), t0.Add(time.Hour), 10), "nothing written")
	})

	t.Run("ConcurrentJoins", func(t *testing.T) {
		s := newStore(t)
		const workers, each = 50, 20
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					c := scrm.CustomerID(fmt.Sprintf("c%02d-%02d", w, i))
					if _, err := s.ApplyMembership(ctx, scrm.MembershipParams{Tenant: tenant, Group: "g1", Customer: c, Joined: true, At: t0, EventID: "j" + string(c)}); err != nil {
						errs[w] = err
						return
					}
					if i%10 == 0 {
						if _, err := s.Members(ctx, scrm.ListMembersParams{Tenant: tenant, Group: "g1", Limit: 5}); err != nil {
							errs[w] = err
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		assert.Equal(t, workers*each, grSize(t, s, tenant, "g1"))
		assert.Len(t, grMembers(t, s, tenant, "g1", 333), workers*each)
	})

	t.Run("ConcurrentDuplicates", func(t *testing.T) {
		s := newStore(t)
		const workers = 50
		var applied, changed atomic.Int64
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.ApplyMembership(ctx, scrm.MembershipParams{Tenant: tenant, Group: "g1", Customer: "c1", Joined: true, At: t0, EventID: "same"})
				errs[w] = err
				if r.Applied {
					applied.Add(1)
				}
				if r.Changed {
					changed.Add(1)
				}
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		assert.Equal(t, int64(1), applied.Load(), "an event ID is applied exactly once")
		assert.Equal(t, int64(1), changed.Load())
		assert.Equal(t, 1, grSize(t, s, tenant, "g1"))
	})

	t.Run("ConcurrentOutOfOrder", func(t *testing.T) {
		// 200 customers each get join / leave / (rejoin for even ones),
		// delivered by many goroutines in random order.
		s := newStore(t)
		type call struct {
			c      scrm.CustomerID
			joined bool
			at     time.Time
			id     string
		}
		var calls []call
		var wantMembers []scrm.CustomerID
		for i := range 200 {
			c := scrm.CustomerID(fmt.Sprintf("c%03d", i))
			calls = append(calls, call{c, true, t0, "j1" + string(c)}, call{c, false, t0.Add(time.Hour), "l" + string(c)})
			if i%2 == 0 {
				calls = append(calls, call{c, true, t0.Add(2 * time.Hour), "j2" + string(c)})
				wantMembers = append(wantMembers, c)
			}
		}
		rng := rand.New(rand.NewPCG(15, 16))
		rng.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })
		const workers = 25
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(calls); i += workers {
					k := calls[i]
					if _, err := s.ApplyMembership(ctx, scrm.MembershipParams{Tenant: tenant, Group: "g1", Customer: k.c, Joined: k.joined, At: k.at, EventID: k.id}); err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		assert.Equal(t, len(wantMembers), grSize(t, s, tenant, "g1"))
		assert.Equal(t, wantMembers, grMembers(t, s, tenant, "g1", 50))
	})
}

func grApply(t *testing.T, s scrm.GroupStore, tenant scrm.TenantID, group string, c scrm.CustomerID, joined bool, at time.Time, id string) scrm.MembershipResult {
	t.Helper()
	r, err := s.ApplyMembership(context.Background(), scrm.MembershipParams{Tenant: tenant, Group: group, Customer: c, Joined: joined, At: at, EventID: id})
	require.NoError(t, err)
	return r
}

func grSize(t *testing.T, s scrm.GroupStore, tenant scrm.TenantID, group string) int {
	t.Helper()
	n, err := s.Size(context.Background(), tenant, group)
	require.NoError(t, err)
	return n
}

// grMembers pages through a group's members.
func grMembers(t *testing.T, s scrm.GroupStore, tenant scrm.TenantID, group string, limit int) []scrm.CustomerID {
	t.Helper()
	var out []scrm.CustomerID
	cursor := ""
	for range 10000 {
		page, err := s.Members(context.Background(), scrm.ListMembersParams{Tenant: tenant, Group: group, Cursor: cursor, Limit: limit})
		require.NoError(t, err)
		for _, m := range page.Members {
			out = append(out, m.Customer)
		}
		if page.Next == "" {
			require.Equal(t, page.Total, len(out), "Total is the group's size")
			return out
		}
		cursor = page.Next
	}
	t.Fatal("Members does not terminate")
	return nil
}

func grListAll(t *testing.T, s scrm.GroupStore, p scrm.ListGroupsParams) []string {
	t.Helper()
	var out []string
	for range 10000 {
		page, err := s.ListGroups(context.Background(), p)
		require.NoError(t, err)
		for _, g := range page.Groups {
			out = append(out, g.ID)
		}
		if page.Next == "" {
			return out
		}
		p.Cursor = page.Next
	}
	t.Fatal("ListGroups does not terminate")
	return nil
}

func grAcqAll(t *testing.T, s scrm.GroupStore, tenant scrm.TenantID, from, to time.Time, limit int) []scrm.Acquisition {
	t.Helper()
	return grAcqFrom(t, s, scrm.ListAcquisitionsParams{Tenant: tenant, From: from, To: to, Limit: limit})
}

func grAcqFrom(t *testing.T, s scrm.GroupStore, p scrm.ListAcquisitionsParams) []scrm.Acquisition {
	t.Helper()
	var out []scrm.Acquisition
	for range 10000 {
		page, err := s.ListAcquisitions(context.Background(), p)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Acquisitions), max(p.Limit, 1))
		out = append(out, page.Acquisitions...)
		if page.Next == "" {
			return out
		}
		p.Cursor = page.Next
	}
	t.Fatal("ListAcquisitions does not terminate")
	return nil
}

// grSameAcq compares acquisitions, times with a tolerance.
func grSameAcq(t *testing.T, want, got scrm.Acquisition) {
	t.Helper()
	assert.WithinDuration(t, want.AddedAt, got.AddedAt, time.Millisecond, "%s AddedAt", want.Customer)
	if want.FirstJoinedAt.IsZero() {
		assert.True(t, got.FirstJoinedAt.IsZero(), "%s FirstJoinedAt: want none, got %s", want.Customer, got.FirstJoinedAt)
	} else {
		assert.WithinDuration(t, want.FirstJoinedAt, got.FirstJoinedAt, time.Millisecond, "%s FirstJoinedAt", want.Customer)
	}
	want.AddedAt, got.AddedAt, want.FirstJoinedAt, got.FirstJoinedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	assert.Equal(t, want, got)
}

// grPerms returns every permutation of 0..n-1 (n is small).
func grPerms(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range grPerms(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}
