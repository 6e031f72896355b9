package scrm_test

import (
	"context"
	"errors"
	"fmt"
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

// teamRig is a Team over a memory store with a recording publisher.
type teamRig struct {
	t     *testing.T
	team  *scrm.Team
	clock *scrmtest.Clock
	mu    sync.Mutex
	evs   []scrm.Event
	fail  error // returned by the publisher while set
}

func newTeamRig(t *testing.T) *teamRig {
	r := &teamRig{t: t, clock: scrmtest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))}
	r.team = scrm.NewTeam(nil, &scrm.Options{Clock: r.clock, Publisher: scrm.PublisherFunc(func(_ context.Context, e scrm.Event) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail != nil {
			return r.fail
		}
		require.NoError(t, e.Validate())
		r.evs = append(r.evs, e)
		return nil
	})})
	return r
}

func (r *teamRig) staff(id, store string, active bool, codes ...string) {
	r.t.Helper()
	require.NoError(r.t, r.team.PutStaff(context.Background(), scrm.Staff{Tenant: "t1", ID: id, Name: "员工" + id, Store: store, Active: active, Codes: codes}))
}

func (r *teamRig) added(id string, c scrm.CustomerID, props map[string]any) error {
	return r.team.Handle(context.Background(), scrm.Event{ID: id, Tenant: "t1", Customer: c, Type: scrm.EventCustomerAdded, Time: r.clock.Now(), Props: props})
}

func (r *teamRig) owner(c scrm.CustomerID) string {
	r.t.Helper()
	o, err := r.team.Owner(context.Background(), "t1", c)
	if errors.Is(err, scrm.ErrNotFound) {
		return ""
	}
	require.NoError(r.t, err)
	return o
}

// events returns and forgets the published events as "id from>to reason".
func (r *teamRig) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		require.Equal(r.t, scrm.EventOwnerChanged, e.Type)
		out = append(out, fmt.Sprintf("%s %s>%s %s", e.ID, e.Prop("from"), e.Prop("to"), e.Prop("reason")))
	}
	r.evs = nil
	return out
}

func TestTeamHandleCustomerAdded(t *testing.T) {
	tests := []struct {
		name   string
		props  map[string]any
		owner  string
		reason string
	}{
		{"staff", map[string]any{"staff": "a1", "store": "B", "channel_code": "qr-a2"}, "a1", scrm.OwnerReasonAdded},
		{"channel code", map[string]any{"channel_code": "qr-a2", "store": "B"}, "a2", scrm.OwnerReasonChannelCode},
		{"store rule", map[string]any{"store": "B"}, "b1", scrm.OwnerReasonStoreRule},
		{"unknown staff, code", map[string]any{"staff": "nobody", "channel_code": "qr-a2"}, "a2", scrm.OwnerReasonChannelCode},
		{"unknown staff and code, store", map[string]any{"staff": "nobody", "channel_code": "nope", "store": "B"}, "b1", scrm.OwnerReasonStoreRule},
		{"inactive staff: their store", map[string]any{"staff": "gone"}, "a1", scrm.OwnerReasonStoreRule},
		{"inactive staff, store given", map[string]any{"staff": "gone", "store": "B"}, "b1", scrm.OwnerReasonStoreRule},
		{"inactive code holder: their store", map[string]any{"channel_code": "qr-gone"}, "a1", scrm.OwnerReasonStoreRule},
		{"staff as a non-string prop is ignored", map[string]any{"staff": 42, "store": "B"}, "b1", scrm.OwnerReasonStoreRule},
		{"nothing", nil, "", ""},
		{"unknown staff only", map[string]any{"staff": "nobody"}, "", ""},
		{"store without active staff", map[string]any{"store": "C"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTeamRig(t)
			r.staff("a1", "A", true)
			r.staff("a2", "A", true, "qr-a2")
			r.staff("gone", "A", false, "qr-gone")
			r.staff("b1", "B", true)
			r.staff("c1", "C", false)
			r.clock.Advance(time.Minute)
			require.NoError(t, r.added("e1", "cust", tt.props))
			assert.Equal(t, tt.owner, r.owner("cust"))
			if tt.owner == "" {
				assert.Empty(t, r.events())
				return
			}
			assert.Equal(t, []string{"owner:cust:1 >" + tt.owner + " " + tt.reason}, r.events())
			h, err := r.team.History(context.Background(), "t1", "cust")
			require.NoError(t, err)
			require.Len(t, h, 1)
			assert.Equal(t, "e1", h[0].Cause)
			assert.True(t, h[0].At.Equal(r.clock.Now()), "the change takes the event's time")
		})
	}
}

func TestTeamHandleFirstOwnerStays(t *testing.T) {
	r := newTeamRig(t)
	r.staff("a1", "A", true)
	r.staff("a2", "A", true)
	require.NoError(t, r.added("e1", "c1", map[string]any{"staff": "a1"}))
	assert.Equal(t, []string{"owner:c1:1 >a1 added"}, r.events())

	// The same event again: nothing changes, the event is published again.
	require.NoError(t, r.added("e1", "c1", map[string]any{"staff": "a1"}))
	assert.Equal(t, []string{"owner:c1:1 >a1 added"}, r.events())

	// Added later by another staff member: still a1's.
	require.NoError(t, r.added("e2", "c1", map[string]any{"staff": "a2"}))
	assert.Equal(t, "a1", r.owner("c1"))
	assert.Empty(t, r.events())

	// Other event types are ignored; invalid events are refused.
	require.NoError(t, r.team.Handle(context.Background(), scrm.Event{ID: "x", Tenant: "t1", Customer: "c2", Type: scrm.EventOrderPaid, Time: r.clock.Now()}))
	err := r.team.Handle(context.Background(), scrm.Event{ID: "y", Tenant: "t1", Customer: "c2", Type: scrm.EventCustomerAdded})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Empty(t, r.events())
}

func TestTeamHandlePublishFailure(t *testing.T) {
	r := newTeamRig(t)
	r.staff("a1", "A", true)
	r.fail = errors.New("bus down")
	err := r.added("e1", "c1", map[string]any{"staff": "a1"})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Equal(t, "a1", r.owner("c1"), "the owner is stored")
	r.fail = nil
	require.NoError(t, r.added("e1", "c1", map[string]any{"staff": "a1"}))
	assert.Equal(t, []string{"owner:c1:1 >a1 added"}, r.events(), "handling the event again publishes it")
}

func TestTeamAssign(t *testing.T) {
	ctx := context.Background()
	r := newTeamRig(t)
	r.staff("a1", "A", true)
	r.staff("a2", "A", true)
	r.staff("gone", "A", false)

	res, err := r.team.Assign(ctx, scrm.AssignRequest{Tenant: "t1", Customer: "c1", Staff: "a2"})
	require.NoError(t, err)
	assert.True(t, res.Assigned)
	assert.Equal(t, scrm.OwnerReasonAssigned, res.Change.Reason)
	assert.True(t, res.Change.At.Equal(r.clock.Now()))
	res, err = r.team.Assign(ctx, scrm.AssignRequest{Tenant: "t1", Customer: "c2", Store: "A", Reason: "walk-in"})
	require.NoError(t, err)
	assert.Equal(t, "a1", res.Change.To)
	assert.Equal(t, "walk-in", res.Change.Reason)
	res, err = r.team.Assign(ctx, scrm.AssignRequest{Tenant: "t1", Customer: "c3", Store: "A"})
	require.NoError(t, err)
	assert.Equal(t, "a2", res.Change.To)
	assert.Equal(t, scrm.OwnerReasonStoreRule, res.Change.Reason)
	assert.Equal(t, []string{"owner:c1:1 >a2 assigned", "owner:c2:1 >a1 walk-in", "owner:c3:1 >a2 store_rule"}, r.events())

	// Again: no change, the event of the assignment is published again.
	res, err = r.team.Assign(ctx, scrm.AssignRequest{Tenant: "t1", Customer: "c1", Staff: "a2"})
	require.NoError(t, err)
	assert.False(t, res.Assigned)
	assert.Equal(t, []string{"owner:c1:1 >a2 assigned"}, r.events())

	long := strings.Repeat("x", scrm.MaxIDLength+1)
	for _, tt := range []struct {
		name  string
		req   scrm.AssignRequest
		code  error
		field string
	}{
		{"no tenant", scrm.AssignRequest{Customer: "c9", Staff: "a1"}, scrm.ErrInvalid, "Tenant"},
		{"no customer", scrm.AssignRequest{Tenant: "t1", Staff: "a1"}, scrm.ErrInvalid, "Customer"},
		{"long customer", scrm.AssignRequest{Tenant: "t1", Customer: scrm.CustomerID(long), Staff: "a1"}, scrm.ErrInvalid, "Customer"},
		{"neither staff nor store", scrm.AssignRequest{Tenant: "t1", Customer: "c9"}, scrm.ErrInvalid, "Staff"},
		{"long staff", scrm.AssignRequest{Tenant: "t1", Customer: "c9", Staff: long}, scrm.ErrInvalid, "Staff"},
		{"long store", scrm.AssignRequest{Tenant: "t1", Customer: "c9", Store: long}, scrm.ErrInvalid, "Store"},
		{"long reason", scrm.AssignRequest{Tenant: "t1", Customer: "c9", Staff: "a1", Reason: strings.Repeat("理由", 100)}, scrm.ErrInvalid, "Reason"},
		{"unknown staff", scrm.AssignRequest{Tenant: "t1", Customer: "c9", Staff: "nobody"}, scrm.ErrNotFound, "Staff"},
		{"inactive staff", scrm.AssignRequest{Tenant: "t1", Customer: "c9", Staff: "gone"}, scrm.ErrInvalid, "Staff"},
		{"empty store", scrm.AssignRequest{Tenant: "t1", Customer: "c9", Store: "Z"}, scrm.ErrNotFound, "Store"},
		{"owned by another", scrm.AssignRequest{Tenant: "t1", Customer: "c1", Staff: "a1"}, scrm.ErrConflict, "Customer"},
	} {
		_, err := r.team.Assign(ctx, tt.req)
		assert.ErrorIs(t, err, tt.code, tt.name)
		assertField(t, err, tt.field, tt.name)
	}
	assert.Empty(t, r.events(), "failed assignments publish nothing")
	assert.Equal(t, "", r.owner("c9"), "failed assignments write nothing")
	assert.Equal(t, "a2", r.owner("c1"))
}

func TestTeamTransfer(t *testing.T) {
	ctx := context.Background()
	r := newTeamRig(t)
	r.staff("a1", "A", true)
	r.staff("a2", "A", true)
	for _, c := range []scrm.CustomerID{"c3", "c1", "c2"} {
		require.NoError(t, r.added("add-"+string(c), c, map[string]any{"staff": "a1"}))
	}
	r.events()
	r.clock.Advance(time.Hour)

	req := scrm.TransferRequest{Tenant: "t1", From: "a1", To: "a2", Customers: []scrm.CustomerID{"c3", "c1"}, IdempotencyKey: "handover-1"}
	res, err := r.team.Transfer(ctx, req)
	require.NoError(t, err)
	assert.False(t, res.Replayed)
	require.Len(t, res.Changes, 2)
	assert.Equal(t, []string{"owner:c1:2 a1>a2 transfer", "owner:c3:2 a1>a2 transfer"}, r.events())
	for _, c := range res.Changes {
		assert.True(t, c.At.Equal(r.clock.Now()))
		assert.Equal(t, "transfer:handover-1", c.Cause)
	}
	assert.Equal(t, "a2", r.owner("c1"))
	assert.Equal(t, "a1", r.owner("c2"))

	// A replay changes nothing and republishes the same events.
	r.clock.Advance(time.Hour)
	again, err := r.team.Transfer(ctx, req)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, res.Changes, again.Changes)
	assert.Equal(t, []string{"owner:c1:2 a1>a2 transfer", "owner:c3:2 a1>a2 transfer"}, r.events())
	// The same key for another payload is a conflict.
	other := req
	other.Customers = []scrm.CustomerID{"c2"}
	_, err = r.team.Transfer(ctx, other)
	assert.ErrorIs(t, err, scrm.ErrConflict)
	assertField(t, err, "IdempotencyKey", "reused key")
	assert.Equal(t, "a1", r.owner("c2"))

	// All that is left, with a reason.
	res, err = r.team.Transfer(ctx, scrm.TransferRequest{Tenant: "t1", From: "a1", To: "a2", Reason: "调店", IdempotencyKey: "handover-2"})
	require.NoError(t, err)
	assert.Equal(t, []string{"owner:c2:2 a1>a2 调店"}, r.events())
	page, err := r.team.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: "t1", Staff: "a2"})
	require.NoError(t, err)
	assert.Equal(t, []scrm.CustomerID{"c1", "c2", "c3"}, page.Customers)
	assert.Equal(t, 3, page.Total)
}

func TestTeamTransferBadInput(t *testing.T) {
	ctx := context.Background()
	r := newTeamRig(t)
	r.staff("a1", "A", true)
	r.staff("a2", "A", true)
	r.staff("gone", "A", false)
	require.NoError(t, r.added("e1", "c1", map[string]any{"staff": "a1"}))
	require.NoError(t, r.added("e2", "c2", map[string]any{"staff": "a2"}))
	r.events()
	long := strings.Repeat("x", scrm.MaxIDLength+1)
	ok := scrm.TransferRequest{Tenant: "t1", From: "a1", To: "a2", IdempotencyKey: "k"}
	with := func(f func(*scrm.TransferRequest)) scrm.TransferRequest {
		req := ok
		f(&req)
		return req
	}
	tests := []struct {
		name  string
		req   scrm.TransferRequest
		code  error
		field string
	}{
		{"no tenant", with(func(r *scrm.TransferRequest) { r.Tenant = "" }), scrm.ErrInvalid, "Tenant"},
		{"no From", with(func(r *scrm.TransferRequest) { r.From = "" }), scrm.ErrInvalid, "From"},
		{"no To", with(func(r *scrm.TransferRequest) { r.To = "" }), scrm.ErrInvalid, "To"},
		{"long To", with(func(r *scrm.TransferRequest) { r.To = long }), scrm.ErrInvalid, "To"},
		{"to self", with(func(r *scrm.TransferRequest) { r.To = "a1" }), scrm.ErrInvalid, "To"},
		{"no key", with(func(r *scrm.TransferRequest) { r.IdempotencyKey = "" }), scrm.ErrInvalid, "IdempotencyKey"},
		{"long reason", with(func(r *scrm.TransferRequest) { r.Reason = strings.Repeat("x", 300) }), scrm.ErrInvalid, "Reason"},
		{"bad reason", with(func(r *scrm.TransferRequest) { r.Reason = "\xff" }), scrm.ErrInvalid, "Reason"},
		{"empty customer", with(func(r *scrm.TransferRequest) { r.Customers = []scrm.CustomerID{"c1", ""} }), scrm.ErrInvalid, "Customers[1]"},
		{"duplicate customer", with(func(r *scrm.TransferRequest) { r.Customers = []scrm.CustomerID{"c1", "c1"} }), scrm.ErrInvalid, "Customers[1]"},
		{"unknown From", with(func(r *scrm.TransferRequest) { r.From = "nobody" }), scrm.ErrNotFound, "From"},
		{"unknown To", with(func(r *scrm.TransferRequest) { r.To = "nobody" }), scrm.ErrNotFound, "To"},
		{"inactive To", with(func(r *scrm.TransferRequest) { r.To = "gone" }), scrm.ErrInvalid, "To"},
		{"not From's customer", with(func(r *scrm.TransferRequest) { r.Customers = []scrm.CustomerID{"c1", "c2"} }), scrm.ErrInvalid, "Customers[1]"},
		{"unowned customer", with(func(r *scrm.TransferRequest) { r.Customers = []scrm.CustomerID{"c9"} }), scrm.ErrInvalid, "Customers[0]"},
	}
	for _, tt := range tests {
		res, err := r.team.Transfer(ctx, tt.req)
		assert.ErrorIs(t, err, tt.code, tt.name)
		assertField(t, err, tt.field, tt.name)
		assert.Empty(t, res.Changes, tt.name)
	}
	assert.Empty(t, r.events(), "nothing published")
	assert.Equal(t, "a1", r.owner("c1"), "nothing written")
	assert.Equal(t, "a2", r.owner("c2"), "nothing written")

	// Many customers: the duplicate check still names the right one.
	var many []scrm.CustomerID
	for i := range 100 {
		many = append(many, scrm.CustomerID(fmt.Sprintf("x%d", i)))
	}
	many = append(many, "x42")
	_, err := r.team.Transfer(ctx, with(func(r *scrm.TransferRequest) { r.Customers = many }))
	assertField(t, err, "Customers[100]", "duplicate in a long list")
}

func TestTeamTransferPublishFailure(t *testing.T) {
	ctx := context.Background()
	r := newTeamRig(t)
	r.staff("a1", "A", true)
	r.staff("a2", "A", true)
	require.NoError(t, r.added("e1", "c1", map[string]any{"staff": "a1"}))
	require.NoError(t, r.added("e2", "c2", map[string]any{"staff": "a1"}))
	r.events()
	r.fail = errors.New("bus down")
	req := scrm.TransferRequest{Tenant: "t1", From: "a1", To: "a2", IdempotencyKey: "k"}
	res, err := r.team.Transfer(ctx, req)
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Contains(t, err.Error(), "2 of 2")
	assert.Len(t, res.Changes, 2, "the result comes with the error")
	assert.Equal(t, "a2", r.owner("c1"), "the move is stored")
	r.fail = nil
	res, err = r.team.Transfer(ctx, req)
	require.NoError(t, err)
	assert.True(t, res.Replayed)
	assert.Equal(t, []string{"owner:c1:2 a1>a2 transfer", "owner:c2:2 a1>a2 transfer"}, r.events())
}

func TestTeamDeactivate(t *testing.T) {
	ctx := context.Background()
	r := newTeamRig(t)
	r.staff("a1", "A", true)
	r.staff("a2", "A", true)
	r.staff("a3", "A", true)
	r.staff("solo", "S", true)
	for i := range 4 {
		require.NoError(t, r.added(fmt.Sprintf("e%d", i), scrm.CustomerID(fmt.Sprintf("c%d", i)), map[string]any{"staff": "a1"}))
	}
	require.NoError(t, r.added("e-solo", "s1", map[string]any{"staff": "solo"}))
	r.events()

	for _, tt := range []struct {
		name  string
		req   scrm.DeactivateRequest
		code  error
		field string
	}{
		{"no staff", scrm.DeactivateRequest{Tenant: "t1", IdempotencyKey: "k"}, scrm.ErrInvalid, "Staff"},
		{"unknown staff", scrm.DeactivateRequest{Tenant: "t1", Staff: "nobody", IdempotencyKey: "k"}, scrm.ErrNotFound, "Staff"},
		{"to self", scrm.DeactivateRequest{Tenant: "t1", Staff: "a1", To: "a1", IdempotencyKey: "k"}, scrm.ErrInvalid, "To"},
		{"unknown To", scrm.DeactivateRequest{Tenant: "t1", Staff: "a1", To: "nobody", IdempotencyKey: "k"}, scrm.ErrNotFound, "To"},
		{"no key", scrm.DeactivateRequest{Tenant: "t1", Staff: "a1"}, scrm.ErrInvalid, "IdempotencyKey"},
		{"no heir in store", scrm.DeactivateRequest{Tenant: "t1", Staff: "solo", IdempotencyKey: "k"}, scrm.ErrInvalid, "To"},
	} {
		_, err := r.team.Deactivate(ctx, tt.req)
		assert.ErrorIs(t, err, tt.code, tt.name)
		assertField(t, err, tt.field, tt.name)
	}
	assert.Empty(t, r.events())
	s, err := r.team.Staff(ctx, "t1", "solo")
	require.NoError(t, err)
	assert.True(t, s.Active, "a departing staff member with customers and no heir stays active")

	// PutStaff cannot deactivate someone who owns customers.
	err = r.team.PutStaff(ctx, scrm.Staff{Tenant: "t1", ID: "a1", Store: "A"})
	assert.ErrorIs(t, err, scrm.ErrConflict)
	assertField(t, err, "Active", "PutStaff")

	// By the store rule: a2 and a3 take turns.
	r.clock.Advance(time.Hour)
	res, err := r.team.Deactivate(ctx, scrm.DeactivateRequest{Tenant: "t1", Staff: "a1", IdempotencyKey: "leave-a1"})
	require.NoError(t, err)
	assert.True(t, res.Deactivated)
	assert.Equal(t, []string{
		"owner:c0:2 a1>a2 departure", "owner:c1:2 a1>a3 departure",
		"owner:c2:2 a1>a2 departure", "owner:c3:2 a1>a3 departure",
	}, r.events())
	s, err = r.team.Staff(ctx, "t1", "a1")
	require.NoError(t, err)
	assert.False(t, s.Active)

	// Named heir, custom reason.
	res, err = r.team.Deactivate(ctx, scrm.DeactivateRequest{Tenant: "t1", Staff: "solo", To: "a2", Reason: "闭店", IdempotencyKey: "leave-solo"})
	require.NoError(t, err)
	assert.True(t, res.Deactivated)
	assert.Equal(t, []string{"owner:s1:2 solo>a2 闭店"}, r.events())
}

func TestStaffValidateAndString(t *testing.T) {
	long := strings.Repeat("x", scrm.MaxIDLength+1)
	ok := scrm.Staff{Tenant: "t1", ID: "s1", Name: "王小明", Store: "A", Active: true, Codes: []string{"q1", "q2"}}
	require.NoError(t, ok.Validate())
	for _, tt := range []struct {
		field string
		f     func(*scrm.Staff)
	}{
		{"Tenant", func(s *scrm.Staff) { s.Tenant = "" }},
		{"ID", func(s *scrm.Staff) { s.ID = "" }},
		{"ID", func(s *scrm.Staff) { s.ID = long }},
		{"Name", func(s *scrm.Staff) { s.Name = strings.Repeat("名", 100) }},
		{"Name", func(s *scrm.Staff) { s.Name = "\xff" }},
		{"Store", func(s *scrm.Staff) { s.Store = long }},
		{"Codes[1]", func(s *scrm.Staff) { s.Codes = []string{"q1", ""} }},
		{"Codes[2]", func(s *scrm.Staff) { s.Codes = []string{"q1", "q2", "q1"} }},
	} {
		s := ok
		s.Codes = slices.Clone(ok.Codes)
		tt.f(&s)
		err := s.Validate()
		assert.ErrorIs(t, err, scrm.ErrInvalid, tt.field)
		assertField(t, err, tt.field, tt.field)

		team := scrm.NewTeam(nil, nil)
		err = team.PutStaff(context.Background(), s)
		assert.ErrorIs(t, err, scrm.ErrInvalid, tt.field)
		if s.Tenant != "" && s.ID != "" && len(s.ID) <= scrm.MaxIDLength {
			_, err = team.Staff(context.Background(), s.Tenant, s.ID)
			assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		}
	}

	assert.Equal(t, "staff t1/s1 王** store=A active codes=2", ok.String())
	assert.Equal(t, "staff t1/s2 J* inactive", scrm.Staff{Tenant: "t1", ID: "s2", Name: "Jo"}.String())
	assert.NotContains(t, fmt.Sprint(ok), "小明")
}

func TestOwnerChangeEventID(t *testing.T) {
	c := scrm.OwnerChange{Tenant: "t1", Customer: "c1", Seq: 3, From: "a", To: "b", ToStore: "A", Reason: "x", At: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	e := c.Event()
	require.NoError(t, e.Validate())
	assert.Equal(t, "owner:c1:3", e.ID)
	assert.Equal(t, map[string]any{"from": "a", "to": "b", "reason": "x", "store": "A", "seq": int64(3)}, e.Props)
	c.Customer = scrm.CustomerID(strings.Repeat("c", scrm.MaxIDLength))
	id := c.EventID()
	assert.LessOrEqual(t, len(id), scrm.MaxIDLength)
	assert.True(t, strings.HasPrefix(id, "owner:"))
	c.Seq = 4
	assert.NotEqual(t, id, c.EventID(), "each change has its own ID")
}

func TestTeamWithDispatcherAndProfiles(t *testing.T) {
	// The wiring a host uses: Profiles first, then the Team; the owner
	// change lands in the profile as an event like any other.
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	var bus *scrm.Dispatcher
	opts := &scrm.Options{Clock: clock, Publisher: scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error { return bus.Publish(ctx, e) })}
	profiles := scrm.NewProfiles(scrm.NewMemoryProfileStore(), opts)
	team := scrm.NewTeam(nil, opts)
	bus = scrm.NewDispatcher(profiles, team)
	require.NoError(t, team.PutStaff(ctx, scrm.Staff{Tenant: "t1", ID: "a1", Store: "A", Active: true, Codes: []string{"qr"}}))
	require.NoError(t, bus.Publish(ctx, scrm.Event{ID: "e1", Tenant: "t1", Customer: "c1", Type: scrm.EventCustomerAdded, Time: clock.Now(),
		Props: map[string]any{"channel_code": "qr"}}))
	p, err := profiles.Get(ctx, "t1", "c1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.Count(scrm.EventOwnerChanged, time.Time{}))
	// Replaying the whole cascade changes nothing.
	require.NoError(t, bus.Publish(ctx, scrm.Event{ID: "e1", Tenant: "t1", Customer: "c1", Type: scrm.EventCustomerAdded, Time: clock.Now(),
		Props: map[string]any{"channel_code": "qr"}}))
	p, err = profiles.Get(ctx, "t1", "c1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.Count(scrm.EventOwnerChanged, time.Time{}))
}

func TestTeamConcurrentHandleAndTransfer(t *testing.T) {
	// Customers arrive through a store while its staff hand over and leave:
	// every customer ends up owned by an active staff member, exactly once.
	ctx := context.Background()
	r := newTeamRig(t)
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		r.staff(id, "A", true)
	}
	const customers, workers = 400, 16
	var wg sync.WaitGroup
	errs := make([]error, workers+2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < customers; i += workers {
				if err := r.added(fmt.Sprintf("e%d", i), scrm.CustomerID(fmt.Sprintf("c%03d", i)), map[string]any{"store": "A"}); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, errs[workers] = r.team.Deactivate(ctx, scrm.DeactivateRequest{Tenant: "t1", Staff: "a1", IdempotencyKey: "leave-a1"})
	}()
	go func() {
		defer wg.Done()
		_, errs[workers+1] = r.team.Transfer(ctx, scrm.TransferRequest{Tenant: "t1", From: "a2", To: "a3", IdempotencyKey: "a2-a3"})
	}()
	wg.Wait()
	require.NoError(t, errors.Join(errs...))

	total := 0
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		page, err := r.team.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: "t1", Staff: id, Limit: 1})
		require.NoError(t, err)
		total += page.Total
		if id == "a1" {
			assert.Zero(t, page.Total, "the staff member who left owns nothing")
		}
	}
	assert.Equal(t, customers, total, "every customer has exactly one owner")
	// One event per change, and per customer the events follow the history.
	seen := map[string]bool{}
	for _, e := range r.events() {
		id := strings.Fields(e)[0]
		assert.False(t, seen[id], "event %s published once", id)
		seen[id] = true
	}
	changes := 0
	for i := range customers {
		h, err := r.team.History(ctx, "t1", scrm.CustomerID(fmt.Sprintf("c%03d", i)))
		require.NoError(t, err)
		changes += len(h)
	}
	assert.Equal(t, changes, len(seen))
}

// assertField asserts that err is a *scrm.Error naming field.
func assertField(t *testing.T, err error, field, msg string) {
	t.Helper()
	var e *scrm.Error
	if assert.ErrorAs(t, err, &e, msg) {
		assert.Equal(t, field, e.Field, "%s: %v", msg, err)
	}
}
