package segment_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/segment"
)

func TestDefineRejectsBadSegments(t *testing.T) {
	h := newHarness(t)
	h.define(segment.Segment{ID: "a", When: rule.InSegment("b0")})
	h.define(segment.Segment{ID: "b", When: rule.InSegment("a")})
	for _, tc := range []struct {
		name  string
		seg   segment.Segment
		field string
	}{
		{"no tenant", segment.Segment{ID: "x", Static: true}, "Tenant"},
		{"no ID", segment.Segment{Tenant: tenant, Static: true}, "ID"},
		{"long ID", segment.Segment{Tenant: tenant, ID: strings.Repeat("x", 129), Static: true}, "ID"},
		{"negative version", segment.Segment{Tenant: tenant, ID: "x", Static: true, Version: -1}, "Version"},
		{"dynamic without condition", segment.Segment{Tenant: tenant, ID: "x"}, "When"},
		{"static with condition", segment.Segment{Tenant: tenant, ID: "x", Static: true, When: rule.HasTag("vip")}, "When"},
		{"condition that does not compile", segment.Segment{Tenant: tenant, ID: "x", When: rule.All(
			rule.HasTag("vip"),
			rule.Condition{Attr: "city", Op: "like", Value: "上海"},
		)}, "When.all[1].op"},
		{"empty any", segment.Segment{Tenant: tenant, ID: "x", When: rule.Condition{Any: []rule.Condition{}}}, "When.any"},
		{"reads itself", segment.Segment{Tenant: tenant, ID: "x", When: rule.Not(rule.InSegment("x"))}, "When"},
		{"cycle through others", segment.Segment{Tenant: tenant, ID: "b0", When: rule.InSegment("b")}, "When"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := h.svc.List(h.ctx, tenant)
			require.NoError(t, err)
			_, err = h.svc.Define(h.ctx, tc.seg)
			requireField(t, err, tc.field)
			after, err := h.svc.List(h.ctx, tenant)
			require.NoError(t, err)
			assert.Equal(t, len(before), len(after), "nothing is written")
		})
	}
	_, err := h.svc.Define(h.ctx, segment.Segment{Tenant: tenant, ID: "b0", When: rule.InSegment("b")})
	assert.ErrorContains(t, err, "b0 → b → a → b0")
}

func TestDefineCreatesAndReplaces(t *testing.T) {
	h := newHarness(t)
	seg := h.define(segment.Segment{ID: "vip", When: rule.HasTag("vip")})
	assert.Equal(t, "vip", seg.Name, "Name defaults to ID")
	assert.Equal(t, int64(1), seg.Version)
	assert.Equal(t, t0, seg.CreatedAt)
	assert.Equal(t, t0, seg.UpdatedAt)

	_, err := h.svc.Define(h.ctx, segment.Segment{Tenant: tenant, ID: "vip", When: rule.HasTag("vip")})
	assert.ErrorIs(t, err, scrm.ErrConflict, "version 0 creates, and vip exists")

	h.clock.Advance(day)
	seg.Name = "VIP 客户"
	seg.When = rule.Any(rule.HasTag("vip"), rule.Attr("tier").Eq("gold"))
	seg2, err := h.svc.Define(h.ctx, seg)
	require.NoError(t, err)
	assert.Equal(t, int64(2), seg2.Version)
	assert.Equal(t, t0, seg2.CreatedAt)
	assert.Equal(t, t0.Add(day), seg2.UpdatedAt)

	_, err = h.svc.Define(h.ctx, seg) // still version 1
	assert.ErrorIs(t, err, scrm.ErrConflict)
	_, err = h.svc.Define(h.ctx, segment.Segment{Tenant: tenant, ID: "ghost", Version: 3, Static: true})
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	got, err := h.svc.Get(h.ctx, tenant, "vip")
	require.NoError(t, err)
	assert.Equal(t, "VIP 客户", got.Name)
	assert.Equal(t, seg.When.String(), got.When.String())
	_, err = h.svc.Get(h.ctx, tenant, "ghost")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	list, err := h.svc.List(h.ctx, tenant)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "vip", list[0].ID)
}

func TestDelete(t *testing.T) {
	h := newHarness(t)
	seedCustomers(h)
	h.define(repeatBuyers())
	h.refresh("repeat")
	h.define(segment.Segment{ID: "vip", When: rule.InSegment("repeat")})
	h.refresh("vip")
	h.log.take()

	_, err := h.svc.Delete(h.ctx, tenant, "repeat")
	assert.ErrorIs(t, err, scrm.ErrConflict, "vip reads repeat")
	assert.ErrorContains(t, err, "vip")
	assert.Equal(t, []scrm.CustomerID{"c1"}, h.members("repeat"), "nothing changed")

	d, err := h.svc.Delete(h.ctx, tenant, "vip")
	require.NoError(t, err)
	assert.Equal(t, []scrm.CustomerID{"c1"}, d.Exited)
	assert.Equal(t, []string{"exited vip c1"}, h.log.take())
	assert.False(t, h.profile("c1").InSegment("vip"), "no profile keeps a deleted segment")
	_, err = h.svc.Get(h.ctx, tenant, "vip")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = h.svc.Size(h.ctx, tenant, "vip")
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	_, err = h.svc.Delete(h.ctx, tenant, "repeat")
	require.NoError(t, err)
	assert.Equal(t, []string{"exited repeat c1"}, h.log.take())
	_, err = h.svc.Delete(h.ctx, tenant, "repeat")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
}

func TestMembershipQueries(t *testing.T) {
	h := newHarness(t)
	h.define(segment.Segment{ID: "list", Static: true})
	_, err := h.svc.Add(h.ctx, tenant, "list", "c5", "c3", "c1", "c4", "c2")
	require.NoError(t, err)
	assert.Equal(t, []scrm.CustomerID{"c1", "c2", "c3", "c4", "c5"}, h.members("list"))
	page, err := h.svc.Members(h.ctx, tenant, "list", "c2", 2)
	require.NoError(t, err)
	assert.Equal(t, segment.MemberPage{Customers: []scrm.CustomerID{"c3", "c4"}, Next: "c4"}, page)
	n, err := h.svc.Size(h.ctx, tenant, "list")
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	in, err := h.svc.Contains(h.ctx, tenant, "list", "c3")
	require.NoError(t, err)
	assert.True(t, in)
	in, err = h.svc.Contains(h.ctx, tenant, "list", "c9")
	require.NoError(t, err)
	assert.False(t, in)

	_, err = h.svc.Contains(h.ctx, tenant, "list", "")
	requireField(t, err, "customer")
	_, err = h.svc.Members(h.ctx, "", "list", "", 0)
	requireField(t, err, "tenant")
	_, err = h.svc.Size(h.ctx, tenant, "")
	requireField(t, err, "segment")
	_, err = h.svc.Contains(h.ctx, tenant, "nope", "c1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = h.svc.Members(h.ctx, "other-tenant", "list", "", 0)
	assert.ErrorIs(t, err, scrm.ErrNotFound, "segments are per tenant")
}

func TestStaticAddRemove(t *testing.T) {
	h := newHarness(t)
	h.define(segment.Segment{ID: "双11名单", Static: true})
	h.attrs("c1", map[string]any{"city": "上海"})

	d, err := h.svc.Add(h.ctx, tenant, "双11名单", "c2", "c1", "c2", "new-customer")
	require.NoError(t, err)
	assert.Equal(t, []scrm.CustomerID{"c1", "c2", "new-customer"}, d.Entered, "sorted, repeats once")
	assert.Equal(t, 3, d.Size)
	assert.ElementsMatch(t, []string{"entered 双11名单 c1", "entered 双11名单 c2", "entered 双11名单 new-customer"}, h.log.take())
	assert.True(t, h.profile("new-customer").InSegment("双11名单"), "a customer without a profile gets one holding the membership")
	for _, e := range h.log.all() {
		assert.Equal(t, segment.SourceAdd, e.Prop("source"))
	}

	d, err = h.svc.Add(h.ctx, tenant, "双11名单", "c1", "c2")
	require.NoError(t, err)
	assert.Empty(t, d.Entered, "adding members again changes nothing")
	assert.Empty(t, h.log.take())

	d, err = h.svc.Remove(h.ctx, tenant, "双11名单", "c2", "c9")
	require.NoError(t, err)
	assert.Equal(t, []scrm.CustomerID{"c2"}, d.Exited)
	assert.Equal(t, 2, d.Size)
	assert.Equal(t, []string{"exited 双11名单 c2"}, h.log.take())
	h.assertConsistent("双11名单", "c1", "c2", "new-customer")
	_, err = h.profiles.Get(h.ctx, tenant, "c9")
	assert.ErrorIs(t, err, scrm.ErrNotFound, "removing a stranger creates no profile")
}

func TestStaticBadInput(t *testing.T) {
	h := newHarness(t)
	h.define(segment.Segment{ID: "list", Static: true})
	h.define(repeatBuyers())
	_, err := h.svc.Add(h.ctx, tenant, "list", "c1", "", "c3")
	requireField(t, err, "customers[1]")
	_, err = h.svc.Remove(h.ctx, tenant, "list", scrm.CustomerID(strings.Repeat("c", 200)))
	requireField(t, err, "customers[0]")
	_, err = h.svc.Add(h.ctx, tenant, "repeat", "c1")
	requireField(t, err, "segment")
	_, err = h.svc.Add(h.ctx, tenant, "nope", "c1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	assert.Empty(t, h.members("list"), "nothing is written")
	_, err = h.profiles.Get(h.ctx, tenant, "c1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	assert.Empty(t, h.log.take())
}

// TestStaticConcurrentAddRemove has many goroutines add and remove the same
// customers at once: each customer enters exactly once when only adds race,
// and afterwards the Store and the profiles agree.
func TestStaticConcurrentAddRemove(t *testing.T) {
	h := newHarness(t)
	h.define(segment.Segment{ID: "list", Static: true})
	customers := []scrm.CustomerID{"c1", "c2", "c3", "c4"}
	race := func(n int, fn func(i int)) {
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
	race(30, func(int) {
		_, err := h.svc.Add(h.ctx, tenant, "list", customers...)
		assert.NoError(t, err)
	})
	assert.ElementsMatch(t, []string{"entered list c1", "entered list c2", "entered list c3", "entered list c4"}, h.log.take(),
		"30 racing uploads of the same list: each customer enters once")
	h.assertConsistent("list", customers...)

	race(30, func(i int) {
		var err error
		if i%2 == 0 {
			_, err = h.svc.Remove(h.ctx, tenant, "list", customers[i%4], customers[(i+1)%4])
		} else {
			_, err = h.svc.Add(h.ctx, tenant, "list", customers[i%4])
		}
		assert.NoError(t, err)
	})
	h.assertConsistent("list", customers...)
	n, err := h.svc.Size(h.ctx, tenant, "list")
	require.NoError(t, err)
	assert.Len(t, h.members("list"), n)
}
