package scrm_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// groupRig wires a Team and Groups to one Dispatcher, as a host does.
type groupRig struct {
	t      *testing.T
	clock  *scrmtest.Clock
	bus    *scrm.Dispatcher
	team   *scrm.Team
	groups *scrm.Groups
	t0     time.Time
}

func newGroupRig(t *testing.T) *groupRig {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, scrm.DefaultLocation())
	r := &groupRig{t: t, clock: scrmtest.NewClock(t0), t0: t0}
	opts := &scrm.Options{Clock: r.clock, Publisher: scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error { return r.bus.Publish(ctx, e) })}
	r.team = scrm.NewTeam(nil, opts)
	r.groups = scrm.NewGroups(nil, opts)
	r.bus = scrm.NewDispatcher(r.team, r.groups)
	return r
}

func (r *groupRig) publish(id string, c scrm.CustomerID, typ string, at time.Duration, props map[string]any) {
	r.t.Helper()
	require.NoError(r.t, r.bus.Publish(context.Background(), scrm.Event{ID: id, Tenant: "t1", Customer: c, Type: typ, Time: r.t0.Add(at), Props: props}))
}

func (r *groupRig) join(id string, c scrm.CustomerID, group string, at time.Duration) {
	r.t.Helper()
	r.publish(id, c, scrm.EventGroupJoined, at, map[string]any{"group": group})
}

func (r *groupRig) leave(id string, c scrm.CustomerID, group string, at time.Duration) {
	r.t.Helper()
	r.publish(id, c, scrm.EventGroupLeft, at, map[string]any{"group": group})
}

func (r *groupRig) members(group string) []scrm.CustomerID {
	r.t.Helper()
	page, err := r.groups.Members(context.Background(), scrm.ListMembersParams{Tenant: "t1", Group: group})
	require.NoError(r.t, err)
	var out []scrm.CustomerID
	for _, m := range page.Members {
		out = append(out, m.Customer)
	}
	n, err := r.groups.Size(context.Background(), "t1", group)
	require.NoError(r.t, err)
	require.Equal(r.t, n, page.Total)
	require.Equal(r.t, n, len(out))
	return out
}

func TestGroupsMembership(t *testing.T) {
	ctx := context.Background()
	r := newGroupRig(t)
	require.NoError(t, r.groups.PutGroup(ctx, scrm.Group{Tenant: "t1", ID: "g1", Name: "静安店福利群", Owner: "a1", Store: "A", Tags: []string{"福利群"}}))
	r.join("j1", "c1", "g1", time.Hour)
	r.join("j2", "c2", "g1", 2*time.Hour)
	r.join("j3", "c2", "g2", 3*time.Hour) // an unregistered group has members too
	assert.Equal(t, []scrm.CustomerID{"c1", "c2"}, r.members("g1"))
	assert.Equal(t, []scrm.CustomerID{"c2"}, r.members("g2"))

	ms, err := r.groups.GroupsOf(ctx, "t1", "c2")
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, "g1", ms[0].Group)
	assert.True(t, ms[0].JoinedAt.Equal(r.t0.Add(2*time.Hour)))
	assert.Equal(t, "g2", ms[1].Group)

	r.leave("l1", "c1", "g1", 4*time.Hour)
	r.leave("l1", "c1", "g1", 4*time.Hour) // replayed
	r.join("j1", "c1", "g1", time.Hour)    // replayed, and older anyway
	assert.Equal(t, []scrm.CustomerID{"c2"}, r.members("g1"))

	// A leave delivered before its join keeps the customer out; the later
	// rejoin lets them in.
	r.leave("l9", "c9", "g1", 6*time.Hour)
	r.join("j9", "c9", "g1", 5*time.Hour)
	assert.Equal(t, []scrm.CustomerID{"c2"}, r.members("g1"))
	r.join("j9b", "c9", "g1", 7*time.Hour)
	assert.Equal(t, []scrm.CustomerID{"c2", "c9"}, r.members("g1"))

	g, err := r.groups.Group(ctx, "t1", "g1")
	require.NoError(t, err)
	assert.Equal(t, "group t1/g1 store=A owner=a1 tags=[福利群]", g.String())
	_, err = r.groups.Group(ctx, "t1", "g2")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	page, err := r.groups.ListGroups(ctx, scrm.ListGroupsParams{Tenant: "t1", Store: "A"})
	require.NoError(t, err)
	require.Len(t, page.Groups, 1)
}

func TestGroupsHandleBadInput(t *testing.T) {
	ctx := context.Background()
	groups := scrm.NewGroups(nil, nil)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ev := func(typ string, props map[string]any) scrm.Event {
		return scrm.Event{ID: "e1", Tenant: "t1", Customer: "c1", Type: typ, Time: at, Props: props}
	}
	for _, tt := range []struct {
		name  string
		e     scrm.Event
		field string
	}{
		{"no group", ev(scrm.EventGroupJoined, nil), "Props.group"},
		{"empty group", ev(scrm.EventGroupLeft, map[string]any{"group": ""}), "Props.group"},
		{"group not a string", ev(scrm.EventGroupJoined, map[string]any{"group": 7}), "Props.group"},
		{"long group", ev(scrm.EventGroupJoined, map[string]any{"group": strings.Repeat("g", 200)}), "Props.group"},
		{"no time", scrm.Event{ID: "e1", Tenant: "t1", Customer: "c1", Type: scrm.EventGroupJoined, Props: map[string]any{"group": "g1"}}, "Time"},
		{"no customer", scrm.Event{ID: "e1", Tenant: "t1", Type: scrm.EventCustomerAdded, Time: at}, "Customer"},
	} {
		err := groups.Handle(ctx, tt.e)
		assert.ErrorIs(t, err, scrm.ErrInvalid, tt.name)
		assertField(t, err, tt.field, tt.name)
	}
	n, err := groups.Size(ctx, "t1", "g1")
	require.NoError(t, err)
	assert.Zero(t, n, "nothing written")
	// The bad events did not use up their ID.
	require.NoError(t, groups.Handle(ctx, ev(scrm.EventGroupJoined, map[string]any{"group": "g1"})))
	n, err = groups.Size(ctx, "t1", "g1")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	// Other event types are ignored, even invalid ones.
	require.NoError(t, groups.Handle(ctx, scrm.Event{Type: scrm.EventOrderPaid}))

	for _, tt := range []struct {
		name  string
		err   error
		field string
	}{
		{"Members tenant", second(groups.Members(ctx, scrm.ListMembersParams{Group: "g1"})), "Tenant"},
		{"Members group", second(groups.Members(ctx, scrm.ListMembersParams{Tenant: "t1"})), "Group"},
		{"GroupsOf customer", second(groups.GroupsOf(ctx, "t1", "")), "Customer"},
		{"Size group", second(groups.Size(ctx, "t1", "")), "Group"},
		{"Group id", second(groups.Group(ctx, "t1", "")), "ID"},
		{"ListGroups tenant", second(groups.ListGroups(ctx, scrm.ListGroupsParams{})), "Tenant"},
	} {
		assert.ErrorIs(t, tt.err, scrm.ErrInvalid, tt.name)
		assertField(t, tt.err, tt.field, tt.name)
	}
}

func second[T any](_ T, err error) error { return err }

func TestGroupValidate(t *testing.T) {
	long := strings.Repeat("x", scrm.MaxIDLength+1)
	ok := scrm.Group{Tenant: "t1", ID: "g1", Name: "群", Owner: "a1", Store: "A", Tags: []string{"x", "y"}}
	require.NoError(t, ok.Validate())
	for _, tt := range []struct {
		field string
		f     func(*scrm.Group)
	}{
		{"Tenant", func(g *scrm.Group) { g.Tenant = "" }},
		{"ID", func(g *scrm.Group) { g.ID = long }},
		{"Name", func(g *scrm.Group) { g.Name = strings.Repeat("群", 100) }},
		{"Owner", func(g *scrm.Group) { g.Owner = long }},
		{"Store", func(g *scrm.Group) { g.Store = "\xff" }},
		{"Tags[1]", func(g *scrm.Group) { g.Tags = []string{"x", ""} }},
		{"Tags[1]", func(g *scrm.Group) { g.Tags = []string{"x", "x"} }},
	} {
		g := ok
		g.Tags = slices.Clone(ok.Tags)
		tt.f(&g)
		err := g.Validate()
		assert.ErrorIs(t, err, scrm.ErrInvalid, tt.field)
		assertField(t, err, tt.field, tt.field)
		groups := scrm.NewGroups(nil, nil)
		assert.ErrorIs(t, groups.PutGroup(context.Background(), g), scrm.ErrInvalid)
		page, err := groups.ListGroups(context.Background(), scrm.ListGroupsParams{Tenant: "t1"})
		require.NoError(t, err)
		assert.Empty(t, page.Groups, "nothing written")
	}
}

// joinRateRig sets up the scenario of the join-rate tests; see the table in
// TestGroupsJoinRate.
func joinRateRig(t *testing.T) *groupRig {
	ctx := context.Background()
	r := newGroupRig(t)
	for _, s := range []scrm.Staff{
		{Tenant: "t1", ID: "a1", Store: "A", Active: true},
		{Tenant: "t1", ID: "a2", Store: "A", Active: true},
		{Tenant: "t1", ID: "b1", Store: "B", Active: true, Codes: []string{"qr-b1"}},
	} {
		require.NoError(t, r.team.PutStaff(ctx, s))
	}
	h, d := time.Hour, 24*time.Hour
	added := scrm.EventCustomerAdded
	r.join("j7-before", "c7", "g0", -d) // before being added: does not count
	r.publish("a8", "c8", added, -d, map[string]any{"staff": "a1"})
	r.publish("a1", "c1", added, 0, map[string]any{"staff": "a1", "store": "A"})
	r.join("j1", "c1", "g1", d)
	r.publish("a2", "c2", added, h, map[string]any{"channel_code": "qr-b1"})
	r.join("j2", "c2", "g2", 8*d)
	r.publish("a3", "c3", added, 2*h, map[string]any{"store": "A"}) // store rule: a1
	r.join("j3", "c3", "g1", 7*d+2*h)                               // exactly 7 days later: counts
	r.publish("a4", "c4", added, 3*h, map[string]any{"store": "A"}) // store rule: a2
	r.publish("a7", "c7", added, 4*h, map[string]any{"store": "B"})
	r.publish("a5", "c5", added, 9*d, map[string]any{"staff": "a2", "store": "A"})
	r.publish("a6", "c6", added, 9*d+h, nil)
	r.join("j6", "c6", "g1", 9*d+2*h)
	r.leave("l6", "c6", "g1", 9*d+3*h) // left again: the join still counts
	r.clock.Set(r.t0.Add(10 * d))
	return r
}

func TestGroupsJoinRate(t *testing.T) {
	// customer  added   attributed to      first join    in 7 days
	// c1        0       A / a1 (Props)     +1d           yes
	// c2        1h      B / b1 (code)      +8d           no
	// c3        2h      A / a1 (rule)      +7d exactly   yes
	// c4        3h      A / a2 (rule)      none          no (window closed)
	// c7        4h      B / b1 (rule)      -1d (before)  no
	// c5        9d      A / a2 (Props)     none          open: pending
	// c6        9d1h    none               +1h           yes
	// c8        -1d     outside the period
	ctx := context.Background()
	r := joinRateRig(t)
	owner, err := r.team.Owner(ctx, "t1", "c3")
	require.NoError(t, err)
	require.Equal(t, "a1", owner, "the scenario's store rule")

	rep, err := r.groups.JoinRate(ctx, scrm.JoinRateRequest{Tenant: "t1", By: scrm.JoinRateByStore, From: r.t0})
	require.NoError(t, err)
	assert.True(t, rep.To.Equal(r.clock.Now()), "To defaults to now")
	assert.Equal(t, scrm.DefaultJoinWindow, rep.Window)
	assert.Equal(t, []string{
		" added=1 joined=1 pending=0 rate=1",
		"A added=4 joined=2 pending=1 rate=0.5",
		"B added=2 joined=0 pending=0 rate=0",
	}, rateRows(rep.Rows))
	assert.Equal(t, " added=7 joined=3 pending=1 rate=0.4286", rateRow(rep.Total))

	rep, err = r.groups.JoinRate(ctx, scrm.JoinRateRequest{Tenant: "t1", By: scrm.JoinRateByStaff, From: r.t0, To: r.t0.Add(10 * 24 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, []string{
		" added=1 joined=1 pending=0 rate=1",
		"a1 added=2 joined=2 pending=0 rate=1",
		"a2 added=2 joined=0 pending=1 rate=0",
		"b1 added=2 joined=0 pending=0 rate=0",
	}, rateRows(rep.Rows))

	// A narrower period and a longer window: c2's join on day 8 counts.
	rep, err = r.groups.JoinRate(ctx, scrm.JoinRateRequest{Tenant: "t1", By: scrm.JoinRateByStore, From: r.t0, To: r.t0.Add(3 * time.Hour), Window: 8 * 24 * time.Hour})
	require.NoError(t, err)
	assert.Equal(t, []string{"A added=2 joined=2 pending=0 rate=1", "B added=1 joined=1 pending=0 rate=1"}, rateRows(rep.Rows))
	rep, err = r.groups.JoinRate(ctx, scrm.JoinRateRequest{Tenant: "t1", By: scrm.JoinRateByStore, From: r.t0, To: r.t0.Add(3 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, " added=3 joined=2 pending=0 rate=0.6667", rateRow(rep.Total), "rounded half-up to 4 places")

	// Replaying every event changes nothing.
	before, err := r.groups.JoinRate(ctx, scrm.JoinRateRequest{Tenant: "t1", By: scrm.JoinRateByStaff, From: r.t0.Add(-48 * time.Hour)})
	require.NoError(t, err)
	r.publish("a1", "c1", scrm.EventCustomerAdded, 0, map[string]any{"staff": "a1", "store": "A"})
	r.join("j1", "c1", "g1", 24*time.Hour)
	r.join("j3", "c3", "g1", 7*24*time.Hour+2*time.Hour)
	after, err := r.groups.JoinRate(ctx, scrm.JoinRateRequest{Tenant: "t1", By: scrm.JoinRateByStaff, From: r.t0.Add(-48 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, rateRows(before.Rows), rateRows(after.Rows))
	assert.Equal(t, "a1 added=3 joined=2 pending=0 rate=0.6667", rateRows(after.Rows)[1], "c8 (a1's, never joined) is in the wider period")
}

func TestGroupsJoinRateBadInput(t *testing.T) {
	ctx := context.Background()
	groups := scrm.NewGroups(nil, nil)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		req   scrm.JoinRateRequest
		field string
	}{
		{"no tenant", scrm.JoinRateRequest{By: "store", From: from}, "Tenant"},
		{"no by", scrm.JoinRateRequest{Tenant: "t1", From: from}, "By"},
		{"bad by", scrm.JoinRateRequest{Tenant: "t1", By: "group", From: from}, "By"},
		{"no from", scrm.JoinRateRequest{Tenant: "t1", By: "store"}, "From"},
		{"to before from", scrm.JoinRateRequest{Tenant: "t1", By: "store", From: from, To: from.Add(-time.Hour)}, "To"},
		{"to equals from", scrm.JoinRateRequest{Tenant: "t1", By: "store", From: from, To: from}, "To"},
		{"negative window", scrm.JoinRateRequest{Tenant: "t1", By: "staff", From: from, To: from.Add(time.Hour), Window: -time.Hour}, "Window"},
	} {
		_, err := groups.JoinRate(ctx, tt.req)
		assert.ErrorIs(t, err, scrm.ErrInvalid, tt.name)
		assertField(t, err, tt.field, tt.name)
	}
	rep, err := groups.JoinRate(ctx, scrm.JoinRateRequest{Tenant: "t1", By: "store", From: from, To: from.Add(time.Hour)})
	require.NoError(t, err)
	assert.Empty(t, rep.Rows)
	assert.Equal(t, " added=0 joined=0 pending=0 rate=0", rateRow(rep.Total))
}

func TestGroupsConcurrentEvents(t *testing.T) {
	// Many goroutines deliver joins, leaves and duplicates of them in random
	// order; the membership ends as the latest event of each pair says.
	ctx := context.Background()
	groups := scrm.NewGroups(nil, nil)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var evs []scrm.Event
	want := map[string][]scrm.CustomerID{}
	for g := range 4 {
		group := fmt.Sprintf("g%d", g)
		for c := range 60 {
			cust := scrm.CustomerID(fmt.Sprintf("c%02d", c))
			steps := 1 + (c+g)%4 // join, leave, join, leave ...
			for k := range steps {
				typ := scrm.EventGroupJoined
				if k%2 == 1 {
					typ = scrm.EventGroupLeft
				}
				e := scrm.Event{ID: fmt.Sprintf("%s-%s-%d", group, cust, k), Tenant: "t1", Customer: cust, Type: typ,
					Time: t0.Add(time.Duration(k) * time.Minute), Props: map[string]any{"group": group}}
				evs = append(evs, e, e) // each delivered twice
			}
			if steps%2 == 1 {
				want[group] = append(want[group], cust)
			}
		}
	}
	rng := rand.New(rand.NewPCG(21, 22))
	rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	const workers = 32
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(evs); i += workers {
				if err := groups.Handle(ctx, evs[i]); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	for g := range 4 {
		group := fmt.Sprintf("g%d", g)
		page, err := groups.Members(ctx, scrm.ListMembersParams{Tenant: "t1", Group: group})
		require.NoError(t, err)
		var got []scrm.CustomerID
		for _, m := range page.Members {
			got = append(got, m.Customer)
		}
		assert.Equal(t, want[group], got, group)
		assert.Equal(t, len(want[group]), page.Total, group)
	}
}

func rateRow(r scrm.JoinRate) string {
	return fmt.Sprintf("%s added=%d joined=%d pending=%d rate=%s", r.Key, r.Added, r.Joined, r.Pending, r.Rate)
}

func rateRows(rows []scrm.JoinRate) []string {
	var out []string
	for _, r := range rows {
		out = append(out, rateRow(r))
	}
	return out
}
