package scrmtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// RunStaffStoreTests is the conformance suite every scrm.StaffStore must
// pass. newStore is called once per subtest and must return an empty
// store. Times are compared with a millisecond tolerance.
func RunStaffStoreTests(t *testing.T, newStore func(t *testing.T) scrm.StaffStore) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	const tenant scrm.TenantID = "t1"

	t.Run("StaffRoundTrip", func(t *testing.T) {
		s := newStore(t)
		want := scrm.Staff{Tenant: tenant, ID: "s1", Name: "张三", Store: "jingan", Active: true, Codes: []string{"qr-1", "qr-2"}}
		require.NoError(t, s.PutStaff(ctx, want))
		got, err := s.GetStaff(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.Equal(t, want, got)

		want.Name, want.Store, want.Codes = "张三丰", "xuhui", nil
		require.NoError(t, s.PutStaff(ctx, want), "PutStaff replaces")
		got, err = s.GetStaff(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.Equal(t, want.Name, got.Name)
		assert.Equal(t, "xuhui", got.Store)
		assert.Empty(t, got.Codes)
		_, err = s.StaffByCode(ctx, tenant, "qr-1")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a code dropped by PutStaff is released")

		_, err = s.GetStaff(ctx, tenant, "nobody")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("StaffCodes", func(t *testing.T) {
		s := newStore(t)
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s1", Store: "A", Active: true, Codes: []string{"qr-1", "qr-2"}})
		got, err := s.StaffByCode(ctx, tenant, "qr-2")
		require.NoError(t, err)
		assert.Equal(t, "s1", got.ID)
		_, err = s.StaffByCode(ctx, tenant, "qr-9")
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		err = s.PutStaff(ctx, scrm.Staff{Tenant: tenant, ID: "s2", Active: true, Codes: []string{"qr-3", "qr-1"}})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		stField(t, err, "Codes[1]")
		_, err = s.GetStaff(ctx, tenant, "s2")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a conflicting PutStaff writes nothing")
		_, err = s.StaffByCode(ctx, tenant, "qr-3")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a conflicting PutStaff writes nothing")

		// s1 gives qr-1 up; then s2 may take it.
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s1", Store: "A", Active: true, Codes: []string{"qr-2"}})
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s2", Active: true, Codes: []string{"qr-3", "qr-1"}})
		got, err = s.StaffByCode(ctx, tenant, "qr-1")
		require.NoError(t, err)
		assert.Equal(t, "s2", got.ID)
		// Putting a staff member again with their own codes is no conflict.
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s2", Name: "李四", Active: true, Codes: []string{"qr-1", "qr-3"}})
	})

	t.Run("CodesPerTenant", func(t *testing.T) {
		// Channel codes are unique per tenant, not across tenants: the same
		// code printed by two merchants attributes each tenant's customers
		// to that tenant's own staff member, whichever was put last.
		s := newStore(t)
		stPut(t, s, scrm.Staff{Tenant: "t1", ID: "s1", Store: "A", Active: true, Codes: []string{"qr"}})
		stPut(t, s, scrm.Staff{Tenant: "t2", ID: "s9", Store: "A", Active: true, Codes: []string{"qr"}})
		for tn, want := range map[scrm.TenantID]string{"t1": "s1", "t2": "s9"} {
			got, err := s.StaffByCode(ctx, tn, "qr")
			require.NoError(t, err, "tenant %s", tn)
			assert.Equal(t, tn, got.Tenant)
			assert.Equal(t, want, got.ID, "tenant %s resolves the code to its own staff member", tn)
		}
	})

	t.Run("ListStaffPages", func(t *testing.T) {
		s := newStore(t)
		rng := rand.New(rand.NewPCG(5, 6))
		for _, i := range rng.Perm(25) {
			store := "A"
			if i%3 == 0 {
				store = "B"
			}
			stPut(t, s, scrm.Staff{Tenant: tenant, ID: fmt.Sprintf("s%02d", i), Store: store, Active: i%5 != 0})
		}
		var all, inB []string
		for i := range 25 {
			all = append(all, fmt.Sprintf("s%02d", i))
			if i%3 == 0 {
				inB = append(inB, fmt.Sprintf("s%02d", i))
			}
		}
		assert.Equal(t, all, stListAll(t, s, scrm.ListStaffParams{Tenant: tenant, Limit: 10}), "every staff member once, in ID order")
		assert.Equal(t, inB, stListAll(t, s, scrm.ListStaffParams{Tenant: tenant, Store: "B", Limit: 3}))

		page, err := s.ListStaff(ctx, scrm.ListStaffParams{Tenant: tenant, Limit: 10})
		require.NoError(t, err)
		assert.Len(t, page.Staff, 10)
		assert.Equal(t, "s09", page.Next)
		page, err = s.ListStaff(ctx, scrm.ListStaffParams{Tenant: tenant})
		require.NoError(t, err)
		assert.Len(t, page.Staff, 25, "Limit 0 means the default page size")
		assert.Empty(t, page.Next)
		page, err = s.ListStaff(ctx, scrm.ListStaffParams{Tenant: tenant, Limit: 25})
		require.NoError(t, err)
		assert.Len(t, page.Staff, 25)
		assert.Empty(t, page.Next, "no Next when nothing follows")
	})

	t.Run("AssignNamed", func(t *testing.T) {
		s := newStore(t)
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s1", Store: "A", Active: true})
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s2", Store: "A", Active: true})
		r, err := s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: "c1", Staff: "s1", Reason: "added", Cause: "e1", At: t0})
		require.NoError(t, err)
		assert.True(t, r.Assigned)
		want := scrm.OwnerChange{Tenant: tenant, Customer: "c1", Seq: 1, To: "s1", ToStore: "A", At: t0, Reason: "added", Cause: "e1"}
		stSameChange(t, want, r.Change)

		owner, err := s.Owner(ctx, tenant, "c1")
		require.NoError(t, err)
		stSameChange(t, want, owner)
		h, err := s.History(ctx, tenant, "c1")
		require.NoError(t, err)
		require.Len(t, h, 1)
		stSameChange(t, want, h[0])

		// The first owner stays.
		r, err = s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: "c1", Staff: "s1", Reason: "assigned", Cause: "e2", At: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.False(t, r.Assigned)
		stSameChange(t, want, r.Change)
		r, err = s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: "c1", Store: "A", Reason: "store_rule", Cause: "e3", At: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.False(t, r.Assigned, "the store rule only applies to unowned customers")
		stSameChange(t, want, r.Change)
		_, err = s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: "c1", Staff: "s2", Reason: "assigned", Cause: "e4", At: t0.Add(time.Hour)})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		stField(t, err, "Customer")
		h, err = s.History(ctx, tenant, "c1")
		require.NoError(t, err)
		assert.Len(t, h, 1)

		_, err = s.Owner(ctx, tenant, "c2")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		h, err = s.History(ctx, tenant, "c2")
		require.NoError(t, err)
		assert.Empty(t, h)
	})

	t.Run("AssignErrors", func(t *testing.T) {
		s := newStore(t)
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "gone", Store: "A", Active: false})
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "b1", Store: "B", Active: true})
		for _, tt := range []struct {
			name  string
			p     scrm.AssignParams
			code  error
			field string
		}{
			{"unknown staff", scrm.AssignParams{Staff: "nobody"}, scrm.ErrNotFound, "Staff"},
			{"inactive staff", scrm.AssignParams{Staff: "gone"}, scrm.ErrInvalid, "Staff"},
			{"store without active staff", scrm.AssignParams{Store: "A"}, scrm.ErrNotFound, "Store"},
			{"unknown store", scrm.AssignParams{Store: "Z"}, scrm.ErrNotFound, "Store"},
		} {
			p := tt.p
			p.Tenant, p.Customer, p.At, p.Reason, p.Cause = tenant, "c1", t0, "x", "e1"
			_, err := s.Assign(ctx, p)
			assert.ErrorIs(t, err, tt.code, tt.name)
			stField(t, err, tt.field)
		}
		_, err := s.Owner(ctx, tenant, "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a failed Assign writes nothing")
		page, err := s.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: tenant, Staff: "gone"})
		require.NoError(t, err)
		assert.Zero(t, page.Total)
	})

	t.Run("RoundRobin", func(t *testing.T) {
		s := newStore(t)
		// Registered out of order: the turn order is by ID.
		for _, id := range []string{"a3", "a1", "a4", "a2"} {
			stPut(t, s, scrm.Staff{Tenant: tenant, ID: id, Store: "A", Active: id != "a4"})
		}
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "b1", Store: "B", Active: true})
		var got []string
		for i := range 7 {
			r, err := s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: scrm.CustomerID(fmt.Sprintf("c%d", i)), Store: "A", Reason: "store_rule", Cause: fmt.Sprintf("e%d", i), At: t0})
			require.NoError(t, err)
			require.True(t, r.Assigned)
			assert.Equal(t, "A", r.Change.ToStore)
			got = append(got, r.Change.To)
		}
		assert.Equal(t, []string{"a1", "a2", "a3", "a1", "a2", "a3", "a1"}, got, "active staff of the store in ID order, in turn")

		// An owned customer takes no turn.
		r, err := s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: "c0", Store: "A", Reason: "store_rule", Cause: "x", At: t0})
		require.NoError(t, err)
		require.False(t, r.Assigned)
		// A new staff member joins the rotation: the counter (7 turns taken)
		// now walks a0 a1 a2 a3.
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "a0", Store: "A", Active: true})
		got = nil
		for i := 7; i < 9; i++ {
			r, err := s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: scrm.CustomerID(fmt.Sprintf("c%d", i)), Store: "A", Reason: "store_rule", Cause: fmt.Sprintf("e%d", i), At: t0})
			require.NoError(t, err)
			got = append(got, r.Change.To)
		}
		assert.Equal(t, []string{"a3", "a0"}, got)
		// A named assignment does not advance the counter.
		_, err = s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: "c9", Staff: "a2", Reason: "assigned", Cause: "e9", At: t0})
		require.NoError(t, err)
		r, err = s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: "c10", Store: "A", Reason: "store_rule", Cause: "e10", At: t0})
		require.NoError(t, err)
		assert.Equal(t, "a1", r.Change.To)
		// Other stores have their own counters.
		r, err = s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: "c11", Store: "B", Reason: "store_rule", Cause: "e11", At: t0})
		require.NoError(t, err)
		assert.Equal(t, "b1", r.Change.To)
	})

	// Round-robin counters are per tenant and store: another tenant's store
	// of the same name takes its own turns.
	t.Run("RoundRobinPerTenant", func(t *testing.T) {
		s := newStore(t)
		for _, tn := range []scrm.TenantID{"t1", "t2"} {
			for _, id := range []string{"a1", "a2", "a3"} {
				stPut(t, s, scrm.Staff{Tenant: tn, ID: id, Store: "A", Active: true})
			}
		}
		r, err := s.Assign(ctx, scrm.AssignParams{Tenant: "t1", Customer: "c1", Store: "A", Reason: "store_rule", Cause: "e1", At: t0})
		require.NoError(t, err)
		assert.Equal(t, "a1", r.Change.To)
		r, err = s.Assign(ctx, scrm.AssignParams{Tenant: "t2", Customer: "c1", Store: "A", Reason: "store_rule", Cause: "e1", At: t0})
		require.NoError(t, err)
		assert.Equal(t, "a1", r.Change.To, "t1's assignment took no turn of t2's store")
		r, err = s.Assign(ctx, scrm.AssignParams{Tenant: "t1", Customer: "c2", Store: "A", Reason: "store_rule", Cause: "e2", At: t0})
		require.NoError(t, err)
		assert.Equal(t, "a2", r.Change.To, "t2's assignment took no turn of t1's store")
	})

	t.Run("TransferAll", func(t *testing.T) {
		s := newStore(t)
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": {"c5", "c1", "c3", "c2", "c4"}, "s2": {"c6"}}, t0)
		res, err := s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", To: "s2", Reason: "交接",
			IdempotencyKey: "k1", Fingerprint: "fp1", At: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.False(t, res.Replayed)
		assert.False(t, res.Deactivated)
		require.Len(t, res.Changes, 5)
		for i, c := range res.Changes {
			stSameChange(t, scrm.OwnerChange{Tenant: tenant, Customer: scrm.CustomerID(fmt.Sprintf("c%d", i+1)), Seq: 2,
				From: "s1", To: "s2", ToStore: "A", At: t0.Add(time.Hour), Reason: "交接", Cause: "transfer:k1"}, c)
		}
		assert.Empty(t, stOwned(t, s, tenant, "s1", 2))
		assert.Equal(t, []scrm.CustomerID{"c1", "c2", "c3", "c4", "c5", "c6"}, stOwned(t, s, tenant, "s2", 4))
		h, err := s.History(ctx, tenant, "c3")
		require.NoError(t, err)
		require.Len(t, h, 2)
		assert.Equal(t, "s1", h[0].To)
		assert.WithinDuration(t, t0, h[0].At, time.Millisecond)
		assert.Equal(t, "s2", h[1].To)
		owner, err := s.Owner(ctx, tenant, "c3")
		require.NoError(t, err)
		assert.Equal(t, "s2", owner.To)
		assert.Equal(t, int64(2), owner.Seq)

		// Nothing left: an empty transfer succeeds and moves nothing.
		res, err = s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", To: "s2", Reason: "x",
			IdempotencyKey: "k2", Fingerprint: "fp2", At: t0.Add(2 * time.Hour)})
		require.NoError(t, err)
		assert.Empty(t, res.Changes)
	})

	t.Run("TransferSome", func(t *testing.T) {
		s := newStore(t)
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": {"c1", "c2", "c3"}, "s2": {"c4"}}, t0)
		res, err := s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", To: "s2", Customers: []scrm.CustomerID{"c3", "c1"},
			Reason: "transfer", IdempotencyKey: "k1", Fingerprint: "fp1", At: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Len(t, res.Changes, 2)
		assert.Equal(t, scrm.CustomerID("c1"), res.Changes[0].Customer, "changes in customer ID order")
		assert.Equal(t, scrm.CustomerID("c3"), res.Changes[1].Customer)
		assert.Equal(t, []scrm.CustomerID{"c2"}, stOwned(t, s, tenant, "s1", 10))
		assert.Equal(t, []scrm.CustomerID{"c1", "c3", "c4"}, stOwned(t, s, tenant, "s2", 10))

		// And back: the history keeps every step.
		_, err = s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s2", To: "s1", Customers: []scrm.CustomerID{"c1"},
			Reason: "back", IdempotencyKey: "k2", Fingerprint: "fp2", At: t0.Add(2 * time.Hour)})
		require.NoError(t, err)
		h, err := s.History(ctx, tenant, "c1")
		require.NoError(t, err)
		require.Len(t, h, 3)
		for i, want := range [][2]string{{"", "s1"}, {"s1", "s2"}, {"s2", "s1"}} {
			assert.Equal(t, int64(i+1), h[i].Seq)
			assert.Equal(t, want[0], h[i].From, "change %d", i+1)
			assert.Equal(t, want[1], h[i].To, "change %d", i+1)
		}
		assert.Equal(t, "back", h[2].Reason)
	})

	t.Run("TransferErrors", func(t *testing.T) {
		s := newStore(t)
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": {"c1", "c2"}, "s2": {"c3"}}, t0)
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "gone", Store: "A"})
		for _, tt := range []struct {
			name  string
			p     scrm.TransferParams
			code  error
			field string
		}{
			{"unknown From", scrm.TransferParams{From: "nobody", To: "s2"}, scrm.ErrNotFound, "From"},
			{"unknown To", scrm.TransferParams{From: "s1", To: "nobody"}, scrm.ErrNotFound, "To"},
			{"inactive To", scrm.TransferParams{From: "s1", To: "gone"}, scrm.ErrInvalid, "To"},
			{"To is From", scrm.TransferParams{From: "s1", To: "s1"}, scrm.ErrInvalid, "To"},
			{"no To", scrm.TransferParams{From: "s1"}, scrm.ErrInvalid, "To"},
			{"not From's", scrm.TransferParams{From: "s1", To: "s2", Customers: []scrm.CustomerID{"c1", "c3"}}, scrm.ErrInvalid, "Customers[1]"},
			{"unowned", scrm.TransferParams{From: "s1", To: "s2", Customers: []scrm.CustomerID{"c9"}}, scrm.ErrInvalid, "Customers[0]"},
			{"listed twice", scrm.TransferParams{From: "s1", To: "s2", Customers: []scrm.CustomerID{"c1", "c2", "c1"}}, scrm.ErrInvalid, "Customers[2]"},
			{"deactivate with list", scrm.TransferParams{From: "s1", To: "s2", Deactivate: true, Customers: []scrm.CustomerID{"c1"}}, scrm.ErrInvalid, "Customers"},
		} {
			p := tt.p
			p.Tenant, p.Reason, p.IdempotencyKey, p.Fingerprint, p.At = tenant, "x", "k1", tt.name, t0.Add(time.Hour)
			res, err := s.Transfer(ctx, p)
			assert.ErrorIs(t, err, tt.code, tt.name)
			stField(t, err, tt.field)
			assert.Empty(t, res.Changes, tt.name)
		}
		assert.Equal(t, []scrm.CustomerID{"c1", "c2"}, stOwned(t, s, tenant, "s1", 10), "a failed transfer writes nothing")
		assert.Equal(t, []scrm.CustomerID{"c3"}, stOwned(t, s, tenant, "s2", 10), "a failed transfer writes nothing")
		for _, c := range []scrm.CustomerID{"c1", "c2", "c3"} {
			h, err := s.History(ctx, tenant, c)
			require.NoError(t, err)
			assert.Len(t, h, 1, "a failed transfer writes nothing")
		}
		st, err := s.GetStaff(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.True(t, st.Active)
		// A failed transfer does not use up its key.
		res, err := s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", To: "s2", Reason: "x", IdempotencyKey: "k1", Fingerprint: "ok", At: t0})
		require.NoError(t, err)
		assert.False(t, res.Replayed)
		assert.Len(t, res.Changes, 2)
	})

	t.Run("TransferIdempotent", func(t *testing.T) {
		s := newStore(t)
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": {"c1", "c2"}, "s2": nil}, t0)
		p := scrm.TransferParams{Tenant: tenant, From: "s1", To: "s2", Reason: "x", IdempotencyKey: "k1", Fingerprint: "fp1", At: t0.Add(time.Hour)}
		first, err := s.Transfer(ctx, p)
		require.NoError(t, err)
		require.Len(t, first.Changes, 2)

		// Move them back under another key, then replay k1.
		_, err = s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s2", To: "s1", Reason: "y", IdempotencyKey: "k2", Fingerprint: "fp2", At: t0.Add(2 * time.Hour)})
		require.NoError(t, err)
		p.At = t0.Add(3 * time.Hour)
		again, err := s.Transfer(ctx, p)
		require.NoError(t, err)
		assert.True(t, again.Replayed)
		require.Len(t, again.Changes, 2)
		for i := range first.Changes {
			stSameChange(t, first.Changes[i], again.Changes[i])
		}
		assert.Equal(t, []scrm.CustomerID{"c1", "c2"}, stOwned(t, s, tenant, "s1", 10), "a replay changes nothing")
		h, err := s.History(ctx, tenant, "c1")
		require.NoError(t, err)
		assert.Len(t, h, 3, "a replay changes nothing")

		p.Fingerprint = "other"
		_, err = s.Transfer(ctx, p)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		stField(t, err, "IdempotencyKey")

		// The key is checked before anything else, even From.
		_, err = s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "nobody", To: "s2", Reason: "x", IdempotencyKey: "k1", Fingerprint: "fp3", At: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict)
	})

	t.Run("DeactivateWithTo", func(t *testing.T) {
		s := newStore(t)
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": {"c1", "c2", "c3"}, "s3": {"c4"}}, t0)
		res, err := s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", To: "s3", Deactivate: true, Reason: "departure",
			IdempotencyKey: "leave-s1", Fingerprint: "fp", At: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.True(t, res.Deactivated)
		assert.Len(t, res.Changes, 3)
		st, err := s.GetStaff(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.False(t, st.Active)
		assert.Empty(t, stOwned(t, s, tenant, "s1", 10))
		assert.Equal(t, []scrm.CustomerID{"c1", "c2", "c3", "c4"}, stOwned(t, s, tenant, "s3", 10))
		_, err = s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: "c9", Staff: "s1", Reason: "x", Cause: "e9", At: t0})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "an inactive staff member gets no customers")

		// Deactivating again: nothing to move, already inactive.
		res, err = s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", Deactivate: true, Reason: "departure",
			IdempotencyKey: "leave-s1-again", Fingerprint: "fp", At: t0.Add(2 * time.Hour)})
		require.NoError(t, err)
		assert.False(t, res.Deactivated)
		assert.Empty(t, res.Changes)
	})

	// A replayed deactivation returns the original result, Deactivated
	// included, although the staff member is inactive by now.
	t.Run("DeactivateReplayReturnsOriginal", func(t *testing.T) {
		s := newStore(t)
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": {"c1", "c2"}, "s2": nil}, t0)
		p := scrm.TransferParams{Tenant: tenant, From: "s1", To: "s2", Deactivate: true, Reason: "departure",
			IdempotencyKey: "leave", Fingerprint: "fp", At: t0.Add(time.Hour)}
		first, err := s.Transfer(ctx, p)
		require.NoError(t, err)
		require.True(t, first.Deactivated)
		again, err := s.Transfer(ctx, p)
		require.NoError(t, err)
		assert.True(t, again.Replayed)
		assert.True(t, again.Deactivated, "a replay returns the original Deactivated")
		assert.Len(t, again.Changes, 2)
	})

	t.Run("DeactivateByStoreRule", func(t *testing.T) {
		s := newStore(t)
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": {"c5", "c4", "c3", "c2", "c1"}, "s2": nil, "s3": nil}, t0)
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s4", Store: "A"}) // inactive
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "b1", Store: "B", Active: true})
		res, err := s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", Deactivate: true, Reason: "departure",
			IdempotencyKey: "leave", Fingerprint: "fp", At: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.True(t, res.Deactivated)
		var got []string
		for _, c := range res.Changes {
			got = append(got, string(c.Customer)+"→"+c.To)
			assert.Equal(t, "A", c.ToStore)
		}
		// stTeam assigned c1..c5 to s1 by name: the store's counter is at 0.
		assert.Equal(t, []string{"c1→s2", "c2→s3", "c3→s2", "c4→s3", "c5→s2"}, got)
		assert.Equal(t, []scrm.CustomerID{"c1", "c3", "c5"}, stOwned(t, s, tenant, "s2", 10))
		assert.Equal(t, []scrm.CustomerID{"c2", "c4"}, stOwned(t, s, tenant, "s3", 10))
		assert.Empty(t, stOwned(t, s, tenant, "b1", 10), "staff of other stores inherit nothing")
	})

	// A deactivation inheriting by store rule advances the store's
	// round-robin counter by one per customer, as Assign does: the next
	// store-rule assignment continues where it ended.
	t.Run("StoreRuleTransferTakesTurns", func(t *testing.T) {
		s := newStore(t)
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": {"c1", "c2", "c3"}, "s2": nil, "s3": nil}, t0)
		res, err := s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", Deactivate: true, Reason: "departure",
			IdempotencyKey: "leave", Fingerprint: "fp", At: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Len(t, res.Changes, 3) // turns 0, 1, 2: s2, s3, s2
		r, err := s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: "c9", Store: "A", Reason: "store_rule", Cause: "e9", At: t0.Add(2 * time.Hour)})
		require.NoError(t, err)
		assert.Equal(t, "s3", r.Change.To, "turn 3 of [s2 s3]: the transfer's turns advanced the counter")
	})

	t.Run("DeactivateWithoutHeir", func(t *testing.T) {
		s := newStore(t)
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": {"c1", "c2"}}, t0)
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s2", Store: "A"}) // inactive
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "b1", Store: "B", Active: true})
		_, err := s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", Deactivate: true, Reason: "departure",
			IdempotencyKey: "leave", Fingerprint: "fp", At: t0.Add(time.Hour)})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		stField(t, err, "To")
		st, err := s.GetStaff(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.True(t, st.Active, "nothing written")
		assert.Equal(t, []scrm.CustomerID{"c1", "c2"}, stOwned(t, s, tenant, "s1", 10))

		// Through PutStaff: refused as well.
		err = s.PutStaff(ctx, scrm.Staff{Tenant: tenant, ID: "s1", Store: "A", Active: false})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		stField(t, err, "Active")
		st, err = s.GetStaff(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.True(t, st.Active, "nothing written")
		// Changing the store of a staff member who owns customers is fine.
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s1", Store: "B", Active: true})

		// Without customers, no heir is needed.
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "lonely", Store: "C", Active: true})
		res, err := s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "lonely", Deactivate: true, Reason: "departure",
			IdempotencyKey: "leave-lonely", Fingerprint: "fp", At: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.True(t, res.Deactivated)
		assert.Empty(t, res.Changes)
	})

	t.Run("CustomersOfPages", func(t *testing.T) {
		s := newStore(t)
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s1", Store: "A", Active: true})
		rng := rand.New(rand.NewPCG(7, 8))
		var want []scrm.CustomerID
		for i := range 25 {
			want = append(want, scrm.CustomerID(fmt.Sprintf("c%02d", i)))
		}
		for _, i := range rng.Perm(25) {
			_, err := s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: want[i], Staff: "s1", Reason: "x", Cause: "e", At: t0})
			require.NoError(t, err)
		}
		var got []scrm.CustomerID
		cursor, pages := "", 0
		for {
			page, err := s.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: tenant, Staff: "s1", Cursor: cursor, Limit: 10})
			require.NoError(t, err)
			assert.Equal(t, 25, page.Total)
			pages++
			require.Less(t, pages, 10, "CustomersOf does not terminate")
			got = append(got, page.Customers...)
			if page.Next == "" {
				break
			}
			require.Len(t, page.Customers, 10, "only the last page may be short")
			cursor = page.Next
		}
		assert.Equal(t, want, got)
		assert.Equal(t, 3, pages)
		page, err := s.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: tenant, Staff: "s1"})
		require.NoError(t, err)
		assert.Len(t, page.Customers, 25, "Limit 0 means the default page size")
		assert.Empty(t, page.Next)
		page, err = s.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: tenant, Staff: "nobody"})
		require.NoError(t, err)
		assert.Empty(t, page.Customers)
		assert.Zero(t, page.Total)
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		s := newStore(t)
		for _, tn := range []scrm.TenantID{"t1", "t2"} {
			stPut(t, s, scrm.Staff{Tenant: tn, ID: "s1", Store: "A", Active: true, Codes: []string{"qr"}})
			stPut(t, s, scrm.Staff{Tenant: tn, ID: "s2", Store: "A", Active: true})
		}
		_, err := s.Assign(ctx, scrm.AssignParams{Tenant: "t1", Customer: "c1", Staff: "s1", Reason: "x", Cause: "e1", At: t0})
		require.NoError(t, err)
		_, err = s.Owner(ctx, "t2", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		r, err := s.Assign(ctx, scrm.AssignParams{Tenant: "t2", Customer: "c1", Staff: "s2", Reason: "x", Cause: "e1", At: t0})
		require.NoError(t, err)
		assert.True(t, r.Assigned, "customer IDs are per tenant")

		res, err := s.Transfer(ctx, scrm.TransferParams{Tenant: "t1", From: "s1", To: "s2", Reason: "x", IdempotencyKey: "k", Fingerprint: "a", At: t0})
		require.NoError(t, err)
		assert.Len(t, res.Changes, 1)
		res, err = s.Transfer(ctx, scrm.TransferParams{Tenant: "t2", From: "s2", To: "s1", Reason: "x", IdempotencyKey: "k", Fingerprint: "b", At: t0})
		require.NoError(t, err, "idempotency keys are per tenant")
		assert.False(t, res.Replayed)
		assert.Equal(t, []scrm.CustomerID{"c1"}, stOwned(t, s, "t1", "s2", 10))
		assert.Equal(t, []scrm.CustomerID{"c1"}, stOwned(t, s, "t2", "s1", 10))

		_, err = s.GetStaff(ctx, "t3", "s1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.StaffByCode(ctx, "t3", "qr")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		page, err := s.ListStaff(ctx, scrm.ListStaffParams{Tenant: "t3"})
		require.NoError(t, err)
		assert.Empty(t, page.Staff)
		assert.Empty(t, stOwned(t, s, "t3", "s1", 10))
		_, err = s.Assign(ctx, scrm.AssignParams{Tenant: "t3", Customer: "c1", Store: "A", Reason: "x", Cause: "e", At: t0})
		assert.ErrorIs(t, err, scrm.ErrNotFound, "another tenant's staff never take turns")
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		st := scrm.Staff{Tenant: tenant, ID: "s1", Store: "A", Active: true, Codes: []string{"qr-1", "qr-2"}}
		require.NoError(t, s.PutStaff(ctx, st))
		st.Codes[0] = "changed"
		got, err := s.GetStaff(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.Equal(t, []string{"qr-1", "qr-2"}, got.Codes)
		got.Codes[1] = "changed"
		byCode, err := s.StaffByCode(ctx, tenant, "qr-1")
		require.NoError(t, err)
		assert.Equal(t, []string{"qr-1", "qr-2"}, byCode.Codes)
		page, err := s.ListStaff(ctx, scrm.ListStaffParams{Tenant: tenant})
		require.NoError(t, err)
		page.Staff[0].Codes[0] = "changed"
		got, err = s.GetStaff(ctx, tenant, "s1")
		require.NoError(t, err)
		assert.Equal(t, []string{"qr-1", "qr-2"}, got.Codes)

		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s2", Store: "A", Active: true})
		for _, c := range []scrm.CustomerID{"c1", "c2"} {
			_, err := s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: c, Staff: "s1", Reason: "x", Cause: "e", At: t0})
			require.NoError(t, err)
		}
		list := []scrm.CustomerID{"c2", "c1"}
		p := scrm.TransferParams{Tenant: tenant, From: "s1", To: "s2", Customers: list, Reason: "x", IdempotencyKey: "k", Fingerprint: "fp", At: t0}
		res, err := s.Transfer(ctx, p)
		require.NoError(t, err)
		list[0] = "changed"
		res.Changes[0].To = "changed"
		again, err := s.Transfer(ctx, p)
		require.NoError(t, err)
		require.True(t, again.Replayed)
		assert.Equal(t, "s2", again.Changes[0].To)
		h, err := s.History(ctx, tenant, "c1")
		require.NoError(t, err)
		h[0].To = "changed"
		h, err = s.History(ctx, tenant, "c1")
		require.NoError(t, err)
		assert.Equal(t, "s1", h[0].To)
		owned, err := s.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: tenant, Staff: "s2"})
		require.NoError(t, err)
		owned.Customers[0] = "changed"
		assert.Equal(t, []scrm.CustomerID{"c1", "c2"}, stOwned(t, s, tenant, "s2", 10))
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": {"c1"}, "s2": nil}, t0)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		check := func(err error, what string) {
			t.Helper()
			assert.ErrorIs(t, err, scrm.ErrUnavailable, what)
			assert.ErrorIs(t, err, context.Canceled, what)
		}
		check(s.PutStaff(cctx, scrm.Staff{Tenant: tenant, ID: "s3", Store: "A", Active: true}), "PutStaff")
		_, err := s.GetStaff(cctx, tenant, "s1")
		check(err, "GetStaff")
		_, err = s.StaffByCode(cctx, tenant, "x")
		check(err, "StaffByCode")
		_, err = s.ListStaff(cctx, scrm.ListStaffParams{Tenant: tenant})
		check(err, "ListStaff")
		_, err = s.Assign(cctx, scrm.AssignParams{Tenant: tenant, Customer: "c2", Staff: "s1", Reason: "x", Cause: "e", At: t0})
		check(err, "Assign")
		_, err = s.Transfer(cctx, scrm.TransferParams{Tenant: tenant, From: "s1", To: "s2", Reason: "x", IdempotencyKey: "k", Fingerprint: "fp", At: t0})
		check(err, "Transfer")
		_, err = s.Owner(cctx, tenant, "c1")
		check(err, "Owner")
		_, err = s.History(cctx, tenant, "c1")
		check(err, "History")
		_, err = s.CustomersOf(cctx, scrm.CustomersOfParams{Tenant: tenant, Staff: "s1"})
		check(err, "CustomersOf")

		_, err = s.GetStaff(ctx, tenant, "s3")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		_, err = s.Owner(ctx, tenant, "c2")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		assert.Equal(t, []scrm.CustomerID{"c1"}, stOwned(t, s, tenant, "s1", 10), "nothing written")
		res, err := s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", To: "s2", Reason: "x", IdempotencyKey: "k", Fingerprint: "fp2", At: t0})
		require.NoError(t, err, "the cancelled transfer did not record its key")
		assert.False(t, res.Replayed)
	})

	t.Run("ConcurrentPutStaffOneCodeHolder", func(t *testing.T) {
		// A channel code belongs to at most one staff member even when
		// staff members claiming it are put at once: exactly one PutStaff
		// wins, the others get ErrConflict, and customers coming through
		// the code go to the winner alone.
		s := newStore(t)
		const workers = 16
		var won, conflicts atomic.Int64
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.PutStaff(ctx, scrm.Staff{Tenant: tenant, ID: fmt.Sprintf("s%02d", w), Store: "A", Active: true, Codes: []string{"qr"}})
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, scrm.ErrConflict):
					conflicts.Add(1)
				default:
					errs[w] = err
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, int64(1), won.Load(), "one PutStaff takes the code")
		assert.Equal(t, int64(workers-1), conflicts.Load())
		holder, err := s.StaffByCode(ctx, tenant, "qr")
		require.NoError(t, err)
		page, err := s.ListStaff(ctx, scrm.ListStaffParams{Tenant: tenant, Limit: 1000})
		require.NoError(t, err)
		var holders []string
		for _, st := range page.Staff {
			if slices.Contains(st.Codes, "qr") {
				holders = append(holders, st.ID)
			}
		}
		assert.Equal(t, []string{holder.ID}, holders, "the code has one holder")
	})

	t.Run("ConcurrentAssignOneCustomer", func(t *testing.T) {
		s := newStore(t)
		const workers = 50
		for w := range workers {
			stPut(t, s, scrm.Staff{Tenant: tenant, ID: fmt.Sprintf("s%02d", w), Store: "A", Active: true})
		}
		var won, conflicts atomic.Int64
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: "c1", Staff: fmt.Sprintf("s%02d", w), Reason: "x", Cause: "e", At: t0})
				switch {
				case errors.Is(err, scrm.ErrConflict):
					conflicts.Add(1)
				case err != nil:
					errs[w] = err
				case r.Assigned:
					won.Add(1)
				}
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		assert.Equal(t, int64(1), won.Load(), "exactly one assignment wins")
		assert.Equal(t, int64(workers-1), conflicts.Load())
		h, err := s.History(ctx, tenant, "c1")
		require.NoError(t, err)
		assert.Len(t, h, 1)
	})

	t.Run("ConcurrentRoundRobin", func(t *testing.T) {
		s := newStore(t)
		for _, id := range []string{"a1", "a2", "a3"} {
			stPut(t, s, scrm.Staff{Tenant: tenant, ID: id, Store: "A", Active: true})
		}
		const customers, workers = 300, 30
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < customers; i += workers {
					r, err := s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: scrm.CustomerID(fmt.Sprintf("c%03d", i)), Store: "A", Reason: "store_rule", Cause: "e", At: t0})
					if err == nil && !r.Assigned {
						err = fmt.Errorf("customer %d not assigned", i)
					}
					if err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		for _, id := range []string{"a1", "a2", "a3"} {
			page, err := s.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: tenant, Staff: id, Limit: 1})
			require.NoError(t, err)
			assert.Equal(t, customers/3, page.Total, "%s gets exactly a third", id)
		}
	})

	t.Run("ConcurrentTransferSameKey", func(t *testing.T) {
		s := newStore(t)
		var cs []scrm.CustomerID
		for i := range 100 {
			cs = append(cs, scrm.CustomerID(fmt.Sprintf("c%03d", i)))
		}
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": cs, "s2": nil}, t0)
		const workers = 20
		results := make([]scrm.TransferResult, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[w], errs[w] = s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", To: "s2", Reason: "x",
					IdempotencyKey: "k", Fingerprint: "fp", At: t0.Add(time.Hour)})
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		performed := 0
		for w := range workers {
			if !results[w].Replayed {
				performed++
			}
			assert.Len(t, results[w].Changes, 100, "every caller sees the one result")
		}
		assert.Equal(t, 1, performed, "exactly one transfer is performed")
		for _, c := range cs {
			h, err := s.History(ctx, tenant, c)
			require.NoError(t, err)
			require.Len(t, h, 2, "customer %s moved once", c)
		}
	})

	t.Run("ConcurrentDeactivateAndAssign", func(t *testing.T) {
		s := newStore(t)
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s1", Store: "A", Active: true})
		stPut(t, s, scrm.Staff{Tenant: tenant, ID: "s2", Store: "A", Active: true})
		const customers, workers = 400, 20
		var assigned atomic.Int64
		errs := make([]error, workers+1)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < customers; i += workers {
					r, err := s.Assign(ctx, scrm.AssignParams{Tenant: tenant, Customer: scrm.CustomerID(fmt.Sprintf("c%03d", i)), Staff: "s1", Reason: "x", Cause: "e", At: t0})
					switch {
					case errors.Is(err, scrm.ErrInvalid): // s1 has left
					case err != nil:
						errs[w] = err
						return
					case r.Assigned:
						assigned.Add(1)
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[workers] = s.Transfer(ctx, scrm.TransferParams{Tenant: tenant, From: "s1", Deactivate: true, Reason: "departure",
				IdempotencyKey: "leave", Fingerprint: "fp", At: t0.Add(time.Hour)})
		}()
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		s1, err := s.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: tenant, Staff: "s1"})
		require.NoError(t, err)
		assert.Zero(t, s1.Total, "an inactive staff member owns nothing")
		s2, err := s.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: tenant, Staff: "s2"})
		require.NoError(t, err)
		assert.Equal(t, int(assigned.Load()), s2.Total, "every customer s1 got went to s2")
	})

	t.Run("ConcurrentOppositeTransfers", func(t *testing.T) {
		s := newStore(t)
		var a, b []scrm.CustomerID
		for i := range 50 {
			a = append(a, scrm.CustomerID(fmt.Sprintf("a%02d", i)))
			b = append(b, scrm.CustomerID(fmt.Sprintf("b%02d", i)))
		}
		stTeam(t, s, map[string][]scrm.CustomerID{"s1": a, "s2": b}, t0)
		const workers = 20
		var moved atomic.Int64
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				from, to := "s1", "s2"
				if w%2 == 1 {
					from, to = to, from
				}
				for i := range 5 {
					p := scrm.TransferParams{Tenant: tenant, From: from, To: to, Reason: "x",
						IdempotencyKey: fmt.Sprintf("k-%d-%d", w, i), Fingerprint: "fp", At: t0.Add(time.Duration(i) * time.Minute)}
					if i%2 == 1 { // some transfers name one customer
						p.Customers = []scrm.CustomerID{a[w]}
					}
					res, err := s.Transfer(ctx, p)
					if errors.Is(err, scrm.ErrInvalid) && len(p.Customers) > 0 {
						continue // the customer was not From's at that moment
					}
					if err != nil {
						errs[w] = err
						return
					}
					moved.Add(int64(len(res.Changes)))
				}
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		owned := append(stOwned(t, s, tenant, "s1", 7), stOwned(t, s, tenant, "s2", 7)...)
		assert.ElementsMatch(t, append(append([]scrm.CustomerID(nil), a...), b...), owned, "every customer has exactly one owner")
		changes := int64(0)
		for _, c := range owned {
			h, err := s.History(ctx, tenant, c)
			require.NoError(t, err)
			changes += int64(len(h) - 1)
			for i, ch := range h {
				assert.Equal(t, int64(i+1), ch.Seq, "customer %s: changes numbered without gaps", c)
				if i > 0 {
					assert.Equal(t, h[i-1].To, ch.From, "customer %s: each change starts where the last ended", c)
				}
			}
			cur, err := s.Owner(ctx, tenant, c)
			require.NoError(t, err)
			assert.Equal(t, h[len(h)-1].To, cur.To)
		}
		assert.Equal(t, moved.Load(), changes, "the history holds exactly the changes the transfers reported")
	})
}

// stPut calls s.PutStaff and requires it to succeed.
func stPut(t *testing.T, s scrm.StaffStore, st scrm.Staff) {
	t.Helper()
	require.NoError(t, s.PutStaff(context.Background(), st), "PutStaff(%s)", st.ID)
}

// stTeam registers active staff in store "A" of tenant t1 and assigns them
// their customers by name at time at.
func stTeam(t *testing.T, s scrm.StaffStore, owned map[string][]scrm.CustomerID, at time.Time) {
	t.Helper()
	for id, cs := range owned {
		stPut(t, s, scrm.Staff{Tenant: "t1", ID: id, Store: "A", Active: true})
		for _, c := range cs {
			r, err := s.Assign(context.Background(), scrm.AssignParams{Tenant: "t1", Customer: c, Staff: id, Reason: "added", Cause: "e-" + string(c), At: at})
			require.NoError(t, err)
			require.True(t, r.Assigned)
		}
	}
}

// stOwned pages through the customers staff owns.
func stOwned(t *testing.T, s scrm.StaffStore, tenant scrm.TenantID, staff string, limit int) []scrm.CustomerID {
	t.Helper()
	var out []scrm.CustomerID
	cursor := ""
	for range 10000 {
		page, err := s.CustomersOf(context.Background(), scrm.CustomersOfParams{Tenant: tenant, Staff: staff, Cursor: cursor, Limit: limit})
		require.NoError(t, err)
		out = append(out, page.Customers...)
		if page.Next == "" {
			require.Equal(t, page.Total, len(out), "Total counts every page")
			return out
		}
		cursor = page.Next
	}
	t.Fatal("CustomersOf does not terminate")
	return nil
}

// stListAll pages through ListStaff and returns the IDs.
func stListAll(t *testing.T, s scrm.StaffStore, p scrm.ListStaffParams) []string {
	t.Helper()
	var out []string
	for range 10000 {
		page, err := s.ListStaff(context.Background(), p)
		require.NoError(t, err)
		for _, st := range page.Staff {
			out = append(out, st.ID)
		}
		if page.Next == "" {
			return out
		}
		p.Cursor = page.Next
	}
	t.Fatal("ListStaff does not terminate")
	return nil
}

// stSameChange compares two changes, their times with a tolerance.
func stSameChange(t *testing.T, want, got scrm.OwnerChange) {
	t.Helper()
	assert.WithinDuration(t, want.At, got.At, time.Millisecond, "At of change %d of %s", want.Seq, want.Customer)
	want.At, got.At = time.Time{}, time.Time{}
	assert.Equal(t, want, got)
}

// stField asserts that err is a *scrm.Error naming field.
func stField(t *testing.T, err error, field string) {
	t.Helper()
	var e *scrm.Error
	if assert.ErrorAs(t, err, &e) {
		assert.Equal(t, field, e.Field, "%v", err)
	}
}
