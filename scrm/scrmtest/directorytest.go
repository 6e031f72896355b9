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

// RunDirectoryStoreTests is the conformance suite every scrm.DirectoryStore
// must pass. newStore is called once per subtest and must return an empty
// store.
//
// Attribute values in the suite are JSON-native (strings, []any,
// map[string]any), and times are compared with a millisecond tolerance, so a
// store that serializes attributes as JSON and truncates timestamps passes.
func RunDirectoryStoreTests(t *testing.T, newStore func(t *testing.T) scrm.DirectoryStore) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	const tenant scrm.TenantID = "t1"

	t.Run("ResolveCreates", func(t *testing.T) {
		s := newStore(t)
		r := dirResolve(t, s, tenant, "c1", t0, dirPhone(1), dirUnion(1))
		assert.Equal(t, scrm.ResolveResult{Customer: "c1", Created: true}, dirNormResult(r))

		c, err := s.Get(ctx, tenant, "c1")
		require.NoError(t, err)
		assert.Equal(t, tenant, c.Tenant)
		assert.Equal(t, scrm.CustomerID("c1"), c.ID)
		assert.ElementsMatch(t, []scrm.Identity{dirPhone(1), dirUnion(1)}, c.Identities)
		assert.WithinDuration(t, t0, c.CreatedAt, time.Millisecond)
		assert.Empty(t, c.MergedInto)
		assert.Empty(t, c.Attrs)
	})

	t.Run("ResolveKnown", func(t *testing.T) {
		s := newStore(t)
		dirResolve(t, s, tenant, "c1", t0, dirPhone(1), dirUnion(1))

		r := dirResolve(t, s, tenant, "c2", t0.Add(time.Hour), dirPhone(1))
		assert.Equal(t, scrm.ResolveResult{Customer: "c1"}, dirNormResult(r))
		r = dirResolve(t, s, tenant, "c3", t0.Add(time.Hour), dirUnion(1), dirPhone(1))
		assert.Equal(t, scrm.ResolveResult{Customer: "c1"}, dirNormResult(r))

		for _, id := range []scrm.Identity{dirPhone(1), dirUnion(1)} {
			got, err := s.Lookup(ctx, tenant, id)
			require.NoError(t, err)
			assert.Equal(t, scrm.CustomerID("c1"), got, "Lookup(%v)", id)
		}
		for _, id := range []scrm.CustomerID{"c2", "c3"} {
			_, err := s.Get(ctx, tenant, id)
			assert.ErrorIs(t, err, scrm.ErrNotFound, "resolving known identities must not create %s", id)
		}
	})

	t.Run("AttachIdentities", func(t *testing.T) {
		s := newStore(t)
		dirResolve(t, s, tenant, "c1", t0, dirPhone(1))

		// A second phone is fine: a customer may hold several of one kind.
		r := dirResolve(t, s, tenant, "c2", t0.Add(time.Hour), dirPhone(1), dirUnion(1), dirPhone(2))
		assert.Equal(t, scrm.ResolveResult{Customer: "c1"}, dirNormResult(r))

		c, err := s.Get(ctx, tenant, "c1")
		require.NoError(t, err)
		assert.ElementsMatch(t, []scrm.Identity{dirPhone(1), dirUnion(1), dirPhone(2)}, c.Identities)
		assert.WithinDuration(t, t0, c.CreatedAt, time.Millisecond, "attaching must not change CreatedAt")
		for _, id := range c.Identities {
			got, err := s.Lookup(ctx, tenant, id)
			require.NoError(t, err)
			assert.Equal(t, scrm.CustomerID("c1"), got, "Lookup(%v)", id)
		}
		_, err = s.Get(ctx, tenant, "c2")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("MergeTwo", func(t *testing.T) {
		s := newStore(t)
		dirResolve(t, s, tenant, "cA", t0, dirPhone(1))
		dirResolve(t, s, tenant, "cB", t0.Add(time.Hour), dirUnion(1))
		require.NoError(t, s.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: tenant, Customer: "cA",
			Attrs: map[string]any{"name": "A", "city": "上海"}}))
		require.NoError(t, s.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: tenant, Customer: "cB",
			Attrs: map[string]any{"city": "北京", "level": "gold"}}))

		// The newer customer's identity comes first: order does not matter.
		r := dirResolve(t, s, tenant, "unused", t0.Add(2*time.Hour), dirUnion(1), dirPhone(1))
		assert.Equal(t, scrm.ResolveResult{Customer: "cA", Merged: []scrm.CustomerID{"cB"}}, dirNormResult(r))

		a, err := s.Get(ctx, tenant, "cA")
		require.NoError(t, err)
		assert.Empty(t, a.MergedInto)
		assert.ElementsMatch(t, []scrm.Identity{dirPhone(1), dirUnion(1)}, a.Identities)
		assert.Equal(t, map[string]any{"name": "A", "city": "上海", "level": "gold"}, a.Attrs,
			"the survivor keeps its own attributes and gains the ones it lacked")
		assert.WithinDuration(t, t0, a.CreatedAt, time.Millisecond)

		b, err := s.Get(ctx, tenant, "cB")
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("cA"), b.MergedInto)
		assert.Empty(t, b.Identities, "an absorbed customer's identities move to the survivor")

		got, err := s.Lookup(ctx, tenant, dirUnion(1))
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("cA"), got)
		_, err = s.Get(ctx, tenant, "unused")
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		// Resolving the linked identities again changes nothing.
		r = dirResolve(t, s, tenant, "unused2", t0.Add(3*time.Hour), dirPhone(1), dirUnion(1))
		assert.Equal(t, scrm.ResolveResult{Customer: "cA"}, dirNormResult(r))
	})

	t.Run("MergeTieSmallerIDSurvives", func(t *testing.T) {
		s := newStore(t)
		dirResolve(t, s, tenant, "c2", t0, dirPhone(2))
		dirResolve(t, s, tenant, "c1", t0, dirPhone(1))
		r := dirResolve(t, s, tenant, "c3", t0, dirPhone(2), dirPhone(1))
		assert.Equal(t, scrm.ResolveResult{Customer: "c1", Merged: []scrm.CustomerID{"c2"}}, dirNormResult(r))
	})

	t.Run("MergeThree", func(t *testing.T) {
		s := newStore(t)
		dirResolve(t, s, tenant, "cA", t0, dirPhone(1))
		dirResolve(t, s, tenant, "cB", t0.Add(time.Hour), dirUnion(2))
		dirResolve(t, s, tenant, "cC", t0.Add(2*time.Hour), dirEmail(3))
		for id, attrs := range map[scrm.CustomerID]map[string]any{
			"cA": {"a": "A"},
			"cB": {"b": "B", "x": "from B"},
			"cC": {"c": "C", "x": "from C"},
		} {
			require.NoError(t, s.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: tenant, Customer: id, Attrs: attrs}))
		}
		member := scrm.Identity{Kind: scrm.IdentityMemberNo, Value: "M0004"}

		r := dirResolve(t, s, tenant, "cD", t0.Add(3*time.Hour), dirEmail(3), dirUnion(2), member, dirPhone(1))
		assert.Equal(t, scrm.ResolveResult{Customer: "cA", Merged: []scrm.CustomerID{"cB", "cC"}}, dirNormResult(r),
			"the oldest survives; Merged lists the absorbed oldest first")

		a, err := s.Get(ctx, tenant, "cA")
		require.NoError(t, err)
		assert.ElementsMatch(t, []scrm.Identity{dirPhone(1), dirUnion(2), dirEmail(3), member}, a.Identities)
		assert.Equal(t, map[string]any{"a": "A", "b": "B", "c": "C", "x": "from B"}, a.Attrs,
			"older absorbed customers fill missing attributes first")
		for _, id := range []scrm.CustomerID{"cB", "cC"} {
			c, err := s.Get(ctx, tenant, id)
			require.NoError(t, err)
			assert.Equal(t, scrm.CustomerID("cA"), c.MergedInto, id)
			assert.Empty(t, c.Identities, id)
		}
		for _, id := range a.Identities {
			got, err := s.Lookup(ctx, tenant, id)
			require.NoError(t, err)
			assert.Equal(t, scrm.CustomerID("cA"), got, "Lookup(%v)", id)
		}
		_, err = s.Get(ctx, tenant, "cD")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("MergeChain", func(t *testing.T) {
		s := newStore(t)
		dirResolve(t, s, tenant, "cC", t0, dirPhone(3))
		dirResolve(t, s, tenant, "cA", t0.Add(time.Hour), dirPhone(1))
		dirResolve(t, s, tenant, "cB", t0.Add(2*time.Hour), dirPhone(2))

		r := dirResolve(t, s, tenant, "x1", t0.Add(3*time.Hour), dirPhone(1), dirPhone(2))
		assert.Equal(t, scrm.ResolveResult{Customer: "cA", Merged: []scrm.CustomerID{"cB"}}, dirNormResult(r))
		// phone 2 now belongs to cA, so linking it to cC absorbs cA.
		r = dirResolve(t, s, tenant, "x2", t0.Add(4*time.Hour), dirPhone(2), dirPhone(3))
		assert.Equal(t, scrm.ResolveResult{Customer: "cC", Merged: []scrm.CustomerID{"cA"}}, dirNormResult(r))

		assert.Equal(t, scrm.CustomerID("cC"), dirFollow(t, s, tenant, "cB"))
		assert.Equal(t, scrm.CustomerID("cC"), dirFollow(t, s, tenant, "cA"))
		c, err := s.Get(ctx, tenant, "cC")
		require.NoError(t, err)
		assert.ElementsMatch(t, []scrm.Identity{dirPhone(1), dirPhone(2), dirPhone(3)}, c.Identities)
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Get(ctx, tenant, "nobody")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.Lookup(ctx, tenant, dirPhone(1))
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		err = s.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: tenant, Customer: "nobody", Attrs: map[string]any{"a": "b"}})
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		dirResolve(t, s, tenant, "c1", t0, dirPhone(1))
		_, err = s.Lookup(ctx, tenant, dirPhone(2))
		assert.ErrorIs(t, err, scrm.ErrNotFound, "same kind, other value")
		_, err = s.Lookup(ctx, tenant, scrm.Identity{Kind: scrm.IdentityMemberNo, Value: dirPhone(1).Value})
		assert.ErrorIs(t, err, scrm.ErrNotFound, "same value, other kind")
		_, err = s.Get(ctx, tenant, "nobody")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})

	t.Run("NewIDTaken", func(t *testing.T) {
		s := newStore(t)
		dirResolve(t, s, tenant, "c1", t0, dirPhone(1))
		_, err := s.Resolve(ctx, scrm.ResolveParams{Tenant: tenant, Identities: []scrm.Identity{dirPhone(2)}, NewID: "c1", Now: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, err = s.Lookup(ctx, tenant, dirPhone(2))
		assert.ErrorIs(t, err, scrm.ErrNotFound, "a failed Resolve writes nothing")
		c, err := s.Get(ctx, tenant, "c1")
		require.NoError(t, err)
		assert.Equal(t, []scrm.Identity{dirPhone(1)}, c.Identities)
	})

	t.Run("InvalidParams", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Resolve(ctx, scrm.ResolveParams{Tenant: tenant, NewID: "c1", Now: t0})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no identities")
		_, err = s.Resolve(ctx, scrm.ResolveParams{Tenant: tenant, Identities: []scrm.Identity{dirPhone(1)}, Now: t0})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no NewID")
		_, err = s.Lookup(ctx, tenant, dirPhone(1))
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		s := newStore(t)
		r1 := dirResolve(t, s, "t1", "c1", t0, dirPhone(1))
		r2 := dirResolve(t, s, "t2", "c2", t0, dirPhone(1))
		assert.True(t, r1.Created)
		assert.True(t, r2.Created, "the same identity in another tenant is another customer")

		got, err := s.Lookup(ctx, "t2", dirPhone(1))
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("c2"), got)
		_, err = s.Get(ctx, "t2", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		err = s.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: "t2", Customer: "c1", Attrs: map[string]any{"a": "b"}})
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		// Customer IDs are per tenant.
		r3 := dirResolve(t, s, "t3", "c1", t0, dirPhone(9))
		assert.True(t, r3.Created)

		// A merge in t1 leaves t2 alone.
		dirResolve(t, s, "t1", "c4", t0.Add(time.Hour), dirUnion(1))
		dirResolve(t, s, "t2", "c5", t0.Add(time.Hour), dirUnion(1))
		dirResolve(t, s, "t1", "x", t0.Add(2*time.Hour), dirPhone(1), dirUnion(1))
		c5, err := s.Get(ctx, "t2", "c5")
		require.NoError(t, err)
		assert.Empty(t, c5.MergedInto)
		got, err = s.Lookup(ctx, "t2", dirUnion(1))
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("c5"), got)

		assert.Equal(t, []scrm.CustomerID{"c1"}, dirListAll(t, s, "t1", 10))
		assert.Equal(t, []scrm.CustomerID{"c2", "c5"}, dirListAll(t, s, "t2", 10))
		assert.Empty(t, dirListAll(t, s, "t4", 10))
	})

	t.Run("SetAttrs", func(t *testing.T) {
		s := newStore(t)
		dirResolve(t, s, tenant, "c1", t0, dirPhone(1))
		require.NoError(t, s.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: tenant, Customer: "c1",
			Attrs: map[string]any{"a": "1", "b": "2"}}))
		require.NoError(t, s.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: tenant, Customer: "c1",
			Attrs: map[string]any{"a": "3", "b": nil, "gone": nil}}))
		require.NoError(t, s.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: tenant, Customer: "c1"}), "empty attrs")
		c, err := s.Get(ctx, tenant, "c1")
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"a": "3"}, c.Attrs, "a nil value deletes")

		// Attributes set on an absorbed customer land on the survivor.
		dirResolve(t, s, tenant, "c2", t0.Add(time.Hour), dirPhone(2))
		dirResolve(t, s, tenant, "x", t0.Add(2*time.Hour), dirPhone(1), dirPhone(2))
		require.NoError(t, s.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: tenant, Customer: "c2",
			Attrs: map[string]any{"late": "yes", "a": nil}}))
		c, err = s.Get(ctx, tenant, "c1")
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"late": "yes"}, c.Attrs)
	})

	// SetAttrs is one atomic step: concurrent calls setting different
	// attributes of one customer, directly or through a customer absorbed
	// into it, all land (a read-modify-write of the whole attribute set
	// would lose some).
	t.Run("ConcurrentSetAttrsLoseNothing", func(t *testing.T) {
		s := newStore(t)
		dirResolve(t, s, tenant, "c1", t0, dirPhone(1))
		dirResolve(t, s, tenant, "c2", t0.Add(time.Hour), dirPhone(2))
		dirResolve(t, s, tenant, "x", t0.Add(2*time.Hour), dirPhone(1), dirPhone(2)) // c2 absorbed into c1
		const workers, each = 20, 10
		want := map[string]any{}
		for w := range workers {
			for i := range each {
				want[fmt.Sprintf("w%02d-%02d", w, i)] = fmt.Sprint(w * i)
			}
		}
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				target := scrm.CustomerID("c1")
				if w%2 == 1 {
					target = "c2"
				}
				for i := range each {
					k := fmt.Sprintf("w%02d-%02d", w, i)
					if err := s.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: tenant, Customer: target, Attrs: map[string]any{k: want[k]}}); err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		c, err := s.Get(ctx, tenant, "c1")
		require.NoError(t, err)
		var lost []string
		for k, v := range want {
			if c.Attrs[k] != v {
				lost = append(lost, k)
			}
		}
		slices.Sort(lost)
		assert.Empty(t, lost, "every concurrent SetAttrs lands: %d of %d attributes lost", len(lost), len(want))
		assert.Len(t, c.Attrs, len(want))
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		ids := []scrm.Identity{dirPhone(1), dirUnion(1)}
		dirResolve(t, s, tenant, "c1", t0, ids...)
		ids[0].Value = "changed"

		attrs := map[string]any{
			"name": "A",
			"tags": []any{"x", "y"},
			"addr": map[string]any{"city": "上海"},
		}
		require.NoError(t, s.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: tenant, Customer: "c1", Attrs: attrs}))
		attrs["name"] = "changed"
		attrs["tags"].([]any)[0] = "changed"
		attrs["addr"].(map[string]any)["city"] = "changed"

		want := scrm.Customer{
			Tenant:     tenant,
			ID:         "c1",
			Identities: []scrm.Identity{dirPhone(1), dirUnion(1)},
			Attrs: map[string]any{
				"name": "A",
				"tags": []any{"x", "y"},
				"addr": map[string]any{"city": "上海"},
			},
		}
		check := func(msg string) {
			t.Helper()
			c, err := s.Get(ctx, tenant, "c1")
			require.NoError(t, err)
			assert.ElementsMatch(t, want.Identities, c.Identities, msg)
			assert.Equal(t, want.Attrs, c.Attrs, msg)
		}
		check("after changing the caller's arguments")

		c, err := s.Get(ctx, tenant, "c1")
		require.NoError(t, err)
		c.Identities[0].Value = "changed"
		_ = append(c.Identities[:1], scrm.Identity{Kind: "x", Value: "y"})
		c.Attrs["name"] = "changed"
		c.Attrs["tags"].([]any)[1] = "changed"
		c.Attrs["addr"].(map[string]any)["city"] = "changed"
		check("after changing a Customer Get returned")

		page, err := s.List(ctx, scrm.ListCustomersParams{Tenant: tenant})
		require.NoError(t, err)
		require.Len(t, page.Customers, 1)
		page.Customers[0].Identities[1].Value = "changed"
		page.Customers[0].Attrs["tags"].([]any)[0] = "changed"
		delete(page.Customers[0].Attrs, "name")
		check("after changing a Customer List returned")
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		dirResolve(t, s, tenant, "c1", t0, dirPhone(1))
		cctx, cancel := context.WithCancel(ctx)
		cancel()

		_, err := s.Resolve(cctx, scrm.ResolveParams{Tenant: tenant, Identities: []scrm.Identity{dirPhone(2)}, NewID: "c2", Now: t0})
		assert.ErrorIs(t, err, context.Canceled, "Resolve")
		_, err = s.Resolve(cctx, scrm.ResolveParams{Tenant: tenant, Identities: []scrm.Identity{dirPhone(1), dirUnion(1)}, NewID: "c3", Now: t0})
		assert.ErrorIs(t, err, context.Canceled, "Resolve (attach)")
		_, err = s.Get(cctx, tenant, "c1")
		assert.ErrorIs(t, err, context.Canceled, "Get")
		_, err = s.Lookup(cctx, tenant, dirPhone(1))
		assert.ErrorIs(t, err, context.Canceled, "Lookup")
		err = s.SetAttrs(cctx, scrm.SetAttrsParams{Tenant: tenant, Customer: "c1", Attrs: map[string]any{"a": "b"}})
		assert.ErrorIs(t, err, context.Canceled, "SetAttrs")
		_, err = s.List(cctx, scrm.ListCustomersParams{Tenant: tenant})
		assert.ErrorIs(t, err, context.Canceled, "List")

		c, err := s.Get(ctx, tenant, "c1")
		require.NoError(t, err)
		assert.Equal(t, []scrm.Identity{dirPhone(1)}, c.Identities, "nothing written")
		assert.Empty(t, c.Attrs, "nothing written")
		_, err = s.Lookup(ctx, tenant, dirPhone(2))
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
	})

	t.Run("ListPages", func(t *testing.T) {
		s := newStore(t)
		rng := rand.New(rand.NewPCG(1, 2))
		const n = 25
		order := rng.Perm(n) // creation order differs from ID order
		for k, i := range order {
			dirResolve(t, s, tenant, scrm.CustomerID(fmt.Sprintf("c%02d", i)), t0.Add(time.Duration(k)*time.Minute), dirPhone(i))
		}
		// Absorb c03, c04 and c17 into older customers.
		var absorbed []scrm.CustomerID
		for _, pair := range [][2]int{{3, 10}, {4, 11}, {17, 12}} {
			r := dirResolve(t, s, tenant, "x", t0.Add(time.Hour), dirPhone(pair[0]), dirPhone(pair[1]))
			require.Len(t, r.Merged, 1)
			absorbed = append(absorbed, r.Merged...)
		}
		var want []scrm.CustomerID
		for i := range n {
			if id := scrm.CustomerID(fmt.Sprintf("c%02d", i)); !slices.Contains(absorbed, id) {
				want = append(want, id)
			}
		}

		var got []scrm.CustomerID
		cursor, pages := "", 0
		for {
			page, err := s.List(ctx, scrm.ListCustomersParams{Tenant: tenant, Cursor: cursor, Limit: 10})
			require.NoError(t, err)
			require.LessOrEqual(t, len(page.Customers), 10)
			pages++
			require.Less(t, pages, 10, "List does not terminate")
			for _, c := range page.Customers {
				assert.Empty(t, c.MergedInto, "List skips absorbed customers")
				assert.Equal(t, tenant, c.Tenant)
				assert.NotEmpty(t, c.Identities)
				got = append(got, c.ID)
			}
			if page.Next == "" {
				break
			}
			require.Len(t, page.Customers, 10, "only the last page may be short")
			cursor = page.Next
		}
		assert.Equal(t, want, got, "every live customer once, in ID order")
		assert.Equal(t, 3, pages)

		all, err := s.List(ctx, scrm.ListCustomersParams{Tenant: tenant})
		require.NoError(t, err)
		assert.Len(t, all.Customers, len(want), "Limit 0 means the default page size")
		assert.Empty(t, all.Next)

		exact, err := s.List(ctx, scrm.ListCustomersParams{Tenant: tenant, Limit: len(want)})
		require.NoError(t, err)
		assert.Len(t, exact.Customers, len(want))
		assert.Empty(t, exact.Next, "no Next when nothing follows")
	})

	t.Run("ConcurrentSameIdentity", func(t *testing.T) {
		s := newStore(t)
		const workers = 50
		results := make([]scrm.ResolveResult, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[w], errs[w] = s.Resolve(ctx, scrm.ResolveParams{Tenant: tenant,
					Identities: []scrm.Identity{dirPhone(1)},
					NewID:      scrm.CustomerID(fmt.Sprintf("c%02d", w)), Now: t0.Add(time.Duration(w) * time.Second)})
			}()
		}
		wg.Wait()
		created := 0
		for w := range workers {
			require.NoError(t, errs[w])
			if results[w].Created {
				created++
			}
			assert.Equal(t, results[0].Customer, results[w].Customer)
		}
		assert.Equal(t, 1, created, "exactly one Resolve creates the customer")
		assert.Len(t, dirListAll(t, s, tenant, 100), 1)
	})

	t.Run("ConcurrentLinking", func(t *testing.T) {
		s := newStore(t)
		// Each component is a chain phone0 - union0 - phone1 - union1 - ...,
		// resolved edge by edge (and node by node) in random order by many
		// goroutines; it must end as one live customer holding every
		// identity, and that customer must be the oldest one created.
		const components, length, workers = 10, 5, 50
		type call struct {
			comp int
			ids  []scrm.Identity
		}
		type birth struct {
			comp int
			at   time.Time
		}
		node := func(c, j int) (scrm.Identity, scrm.Identity) {
			return dirPhone(c*100 + j), dirUnion(c*100 + j)
		}
		var calls []call
		for c := range components {
			for j := range length {
				p, u := node(c, j)
				calls = append(calls, call{c, []scrm.Identity{p}}, call{c, []scrm.Identity{u}}, call{c, []scrm.Identity{p, u}})
				if j+1 < length {
					next, _ := node(c, j+1)
					calls = append(calls, call{c, []scrm.Identity{u, next}})
				}
			}
		}
		rng := rand.New(rand.NewPCG(3, 4))
		rng.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })

		var (
			seq     atomic.Int64
			mu      sync.Mutex
			created = map[scrm.CustomerID]birth{}
			errs    []error
			wg      sync.WaitGroup
		)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(calls); i += workers {
					n := seq.Add(1)
					at := t0.Add(time.Duration(n) * time.Second)
					id := scrm.CustomerID(fmt.Sprintf("c%05d", n))
					r, err := s.Resolve(ctx, scrm.ResolveParams{Tenant: tenant, Identities: calls[i].ids, NewID: id, Now: at})
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					} else if r.Created {
						created[r.Customer] = birth{calls[i].comp, at}
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))

		survivors := make([]scrm.CustomerID, components)
		for c := range components {
			var want []scrm.Identity
			for j := range length {
				p, u := node(c, j)
				want = append(want, p, u)
			}
			owner, err := s.Lookup(ctx, tenant, want[0])
			require.NoError(t, err)
			for _, id := range want[1:] {
				got, err := s.Lookup(ctx, tenant, id)
				require.NoError(t, err)
				assert.Equal(t, owner, got, "component %d: every identity maps to one customer", c)
			}
			cust, err := s.Get(ctx, tenant, owner)
			require.NoError(t, err)
			assert.Empty(t, cust.MergedInto, "component %d: the owner is live", c)
			assert.ElementsMatch(t, want, cust.Identities, "component %d", c)
			survivors[c] = owner
		}

		oldest := make([]time.Time, components)
		for id, info := range created {
			assert.Equal(t, survivors[info.comp], dirFollow(t, s, tenant, id), "customer %s ends in its component's survivor", id)
			if oldest[info.comp].IsZero() || info.at.Before(oldest[info.comp]) {
				oldest[info.comp] = info.at
			}
		}
		for c, id := range survivors {
			cust, err := s.Get(ctx, tenant, id)
			require.NoError(t, err)
			assert.WithinDuration(t, oldest[c], cust.CreatedAt, time.Millisecond, "component %d: the oldest customer survives", c)
		}
		live := dirListAll(t, s, tenant, 7)
		assert.ElementsMatch(t, survivors, live, "exactly one live customer per component")
	})
}

// dirResolve calls s.Resolve and requires it to succeed.
func dirResolve(t *testing.T, s scrm.DirectoryStore, tenant scrm.TenantID, newID scrm.CustomerID, now time.Time, ids ...scrm.Identity) scrm.ResolveResult {
	t.Helper()
	r, err := s.Resolve(context.Background(), scrm.ResolveParams{Tenant: tenant, Identities: ids, NewID: newID, Now: now})
	require.NoError(t, err, "Resolve(%v)", ids)
	return r
}

// dirNormResult makes an empty Merged nil, so results compare with Equal.
func dirNormResult(r scrm.ResolveResult) scrm.ResolveResult {
	if len(r.Merged) == 0 {
		r.Merged = nil
	}
	return r
}

// dirFollow follows MergedInto from id to the live customer.
func dirFollow(t *testing.T, s scrm.DirectoryStore, tenant scrm.TenantID, id scrm.CustomerID) scrm.CustomerID {
	t.Helper()
	for range 64 {
		c, err := s.Get(context.Background(), tenant, id)
		require.NoError(t, err)
		if c.MergedInto == "" {
			return id
		}
		id = c.MergedInto
	}
	t.Fatalf("customer %s: MergedInto chain longer than 64 (cycle?)", id)
	return ""
}

// dirListAll pages through every live customer of the tenant.
func dirListAll(t *testing.T, s scrm.DirectoryStore, tenant scrm.TenantID, limit int) []scrm.CustomerID {
	t.Helper()
	var ids []scrm.CustomerID
	cursor := ""
	for range 10000 {
		page, err := s.List(context.Background(), scrm.ListCustomersParams{Tenant: tenant, Cursor: cursor, Limit: limit})
		require.NoError(t, err)
		for _, c := range page.Customers {
			ids = append(ids, c.ID)
		}
		if page.Next == "" {
			return ids
		}
		cursor = page.Next
	}
	t.Fatal("List does not terminate")
	return nil
}

func dirPhone(n int) scrm.Identity {
	return scrm.Identity{Kind: scrm.IdentityPhone, Value: fmt.Sprintf("138%08d", n)}
}

func dirUnion(n int) scrm.Identity {
	return scrm.Identity{Kind: scrm.IdentityUnionID, Value: fmt.Sprintf("union-%d", n)}
}

func dirEmail(n int) scrm.Identity {
	return scrm.Identity{Kind: scrm.IdentityEmail, Value: fmt.Sprintf("user%d@example.com", n)}
}
