package scrm

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Group is a customer group chat (社群, WeCom customer group) run by a
// tenant's staff.
type Group struct {
	Tenant TenantID
	// ID identifies the group, usually the WeCom chat_id; unique per
	// tenant. It is what group.joined / group.left events name in Props
	// "group".
	ID    string
	Name  string   // shown to operators; at most MaxStaffNameLength bytes
	Owner string   // the staff member who owns the group (群主); optional
	Store string   // the store the group belongs to; optional
	Tags  []string // operator labels (福利群, 新客群); each an ID, none twice
}

// Validate reports the first malformed field as an ErrInvalid error naming
// it: Tenant and ID are required IDs (see CheckID); Owner and Store, when
// set, and each tag are IDs; tags are distinct; Name is valid UTF-8 of at
// most MaxStaffNameLength bytes.
func (g Group) Validate() error {
	const op = "scrm.Group"
	if err := CheckID(op, "Tenant", string(g.Tenant)); err != nil {
		return err
	}
	if err := CheckID(op, "ID", g.ID); err != nil {
		return err
	}
	if err := checkName(op, "Name", g.Name); err != nil {
		return err
	}
	if g.Owner != "" {
		if err := CheckID(op, "Owner", g.Owner); err != nil {
			return err
		}
	}
	if g.Store != "" {
		if err := CheckID(op, "Store", g.Store); err != nil {
			return err
		}
	}
	for i, tag := range g.Tags {
		field := fmt.Sprintf("Tags[%d]", i)
		if err := CheckID(op, field, tag); err != nil {
			return err
		}
		if slices.Contains(g.Tags[:i], tag) {
			return Invalid(op, field, "duplicate tag %q", tag)
		}
	}
	return nil
}

// String describes g for logs, e.g. "group acme/g1 store=jingan owner=s1 tags=[福利群]".
func (g Group) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "group %s/%s", g.Tenant, g.ID)
	if g.Store != "" {
		b.WriteString(" store=" + g.Store)
	}
	if g.Owner != "" {
		b.WriteString(" owner=" + g.Owner)
	}
	if len(g.Tags) > 0 {
		fmt.Fprintf(&b, " tags=%v", g.Tags)
	}
	return b.String()
}

func (g Group) clone() Group {
	g.Tags = slices.Clone(g.Tags)
	return g
}

// Membership is a customer's current membership of a group.
type Membership struct {
	Tenant   TenantID
	Group    string
	Customer CustomerID
	JoinedAt time.Time // the time of the join in effect
}

// ListGroupsParams is the input of GroupStore.ListGroups.
type ListGroupsParams struct {
	Tenant TenantID
	Store  string // when set, only the groups of this store
	Cursor string // the Next of the previous page; empty for the first
	Limit  int    // see PageLimit (default 100, at most 1000)
}

// GroupPage is one page of GroupStore.ListGroups, in ID order.
type GroupPage struct {
	Groups []Group
	Next   string
}

// MembershipParams is the input of GroupStore.ApplyMembership: one
// group.joined (Joined true) or group.left event.
type MembershipParams struct {
	Tenant   TenantID
	Group    string
	Customer CustomerID
	Joined   bool
	At       time.Time // the event's time
	EventID  string    // required
}

// MembershipResult is the output of GroupStore.ApplyMembership.
type MembershipResult struct {
	// Applied is false when the event ID had been applied before: nothing
	// changed.
	Applied bool
	// Member reports whether the customer is a member of the group after
	// the call.
	Member bool
	// Changed reports whether the call changed Member.
	Changed bool
}

// ListMembersParams is the input of GroupStore.Members.
type ListMembersParams struct {
	Tenant TenantID
	Group  string
	Cursor string // the Next of the previous page; empty for the first
	Limit  int    // see PageLimit (default 100, at most 1000)
}

// MemberPage is one page of a group's members, in customer ID order.
type MemberPage struct {
	Members []Membership
	Total   int    // the group's size
	Next    string // cursor of the next page; empty after the last one
}

// AttributionParams is the input of GroupStore.RecordAdded and
// RecordFirstOwner: who brought a customer in, and when.
type AttributionParams struct {
	Tenant   TenantID
	Customer CustomerID
	EventID  string
	At       time.Time
	Store    string // may be empty
	Staff    string // may be empty
}

// Acquisition is a customer added to the tenant (customer.added), with the
// store and staff member it is attributed to and the first group join
// after it, for the group-join rate.
type Acquisition struct {
	Tenant   TenantID
	Customer CustomerID
	AddedAt  time.Time // the earliest customer.added of the customer
	// Store and Staff come from that event's Props "store" and "staff";
	// each one missing there is taken from the customer's first owner
	// (the customer.owner_changed event with an empty "from").
	Store string
	Staff string
	// FirstJoinedAt is the earliest group.joined of the customer at or
	// after AddedAt, in any group; zero when none.
	FirstJoinedAt time.Time
}

// ListAcquisitionsParams is the input of GroupStore.ListAcquisitions.
type ListAcquisitionsParams struct {
	Tenant   TenantID
	From, To time.Time // AddedAt in [From, To)
	Cursor   string    // the Next of the previous page; empty for the first
	Limit    int       // see PageLimit (default 100, at most 1000)
}

// AcquisitionPage is one page of GroupStore.ListAcquisitions, in customer
// ID order.
type AcquisitionPage struct {
	Acquisitions []Acquisition
	Next         string
}

// GroupStore persists groups, their membership and what the group-join
// rate needs. It is the interface storage implementers write; hosts use
// *Groups. Every method is atomic on its own, reads and writes only the
// tenant it is given, copies values in and out, and returns an error
// matching ErrUnavailable and wrapping ctx.Err() when ctx is done (writing
// nothing). Inputs reach the store already validated.
//
// The invariants the store maintains, within a tenant:
//   - a membership event ID is applied at most once;
//   - a (group, customer) pair's membership is decided by the latest of its
//     events by event time, whatever order they arrive in (at equal times
//     a leave beats a join), so the result does not depend on delivery
//     order;
//   - a group's size is the number of its current members.
//
// NewMemoryGroupStore is the in-memory implementation;
// scrmtest.RunGroupStoreTests is the conformance suite every implementation
// must pass.
type GroupStore interface {
	// PutGroup creates or replaces group g.ID. Membership is kept.
	PutGroup(ctx context.Context, g Group) error

	// GetGroup returns group id.
	//
	// Errors: ErrNotFound when the tenant has no such group.
	GetGroup(ctx context.Context, tenant TenantID, id string) (Group, error)

	// ListGroups returns the tenant's groups (of p.Store, when set) in ID
	// order (byte-wise), starting after p.Cursor.
	ListGroups(ctx context.Context, p ListGroupsParams) (GroupPage, error)

	// ApplyMembership applies one join or leave event. When p.EventID was
	// applied before it changes nothing and reports Applied false. Else it
	// records the ID, records a join's time among the customer's join
	// times (used by ListAcquisitions, even when a later leave is already
	// known), and sets the pair's membership when the event is newer than
	// the one in effect (see the invariants). Groups need not be created
	// with PutGroup to have members.
	ApplyMembership(ctx context.Context, p MembershipParams) (MembershipResult, error)

	// Members returns the current members of p.Group in customer ID order
	// (byte-wise), starting after p.Cursor; Total is the group's size. An
	// unknown group has no members (an empty page, no error).
	Members(ctx context.Context, p ListMembersParams) (MemberPage, error)

	// GroupsOf returns the customer's current memberships in group ID
	// order; empty when none.
	GroupsOf(ctx context.Context, tenant TenantID, customer CustomerID) ([]Membership, error)

	// Size returns how many members group has now; 0 for an unknown group.
	Size(ctx context.Context, tenant TenantID, group string) (int, error)

	// RecordAdded records a customer.added event of the customer. Only the
	// earliest one (by At, then EventID) is kept, so recording events again
	// or out of order gives the same result.
	RecordAdded(ctx context.Context, p AttributionParams) error

	// RecordFirstOwner records the customer's first owner (the
	// customer.owner_changed event with an empty "from"), kept as
	// RecordAdded keeps the earliest.
	RecordFirstOwner(ctx context.Context, p AttributionParams) error

	// ListAcquisitions returns the customers whose AddedAt is in
	// [p.From, p.To), in customer ID order (byte-wise), starting after
	// p.Cursor; see Acquisition for how each field is derived.
	ListAcquisitions(ctx context.Context, p ListAcquisitionsParams) (AcquisitionPage, error)
}

// Groups keeps a tenant's customer groups (社群) and their membership,
// maintained from group.joined and group.left events, and reports the
// group-join rate of newly added customers per store and per staff member
// (JoinRate).
//
// Membership is decided per (group, customer) by the latest event by event
// time, so events delivered out of order give the same membership as in
// order: a leave that arrives before its join (with a later time) leaves
// the customer out; a stale join arriving after a newer leave changes
// nothing. At equal times a leave beats a join. Each event ID is applied
// once.
//
// Groups does not follow customer.merged: memberships and the add record
// of an absorbed customer stay under its old ID.
//
// A Groups is safe for concurrent use; its consistency comes from the
// GroupStore. Build it with NewGroups.
type Groups struct {
	store GroupStore
	opts  Options
}

// NewGroups returns a Groups over store; a nil store means
// NewMemoryGroupStore(). It uses opts.Clock for JoinRate's "now" and
// opts.Logger for diagnostics; a nil opts means the defaults.
func NewGroups(store GroupStore, opts *Options) *Groups {
	if store == nil {
		store = NewMemoryGroupStore()
	}
	return &Groups{store: store, opts: opts.WithDefaults()}
}

// Store returns the GroupStore the Groups writes to.
func (g *Groups) Store() GroupStore { return g.store }

// PutGroup registers or updates group gr. Registering a group is optional
// for membership; it gives the group its name, owner, store and tags.
//
// Errors: ErrInvalid naming the field (see Group.Validate), with nothing
// written.
func (g *Groups) PutGroup(ctx context.Context, gr Group) error {
	const op = "scrm.Groups.PutGroup"
	if err := gr.Validate(); err != nil {
		return err
	}
	return storeErr(op, g.store.PutGroup(ctx, gr))
}

// Group returns group id.
//
// Errors: ErrInvalid for a malformed tenant or id; ErrNotFound when the
// tenant has no such group.
func (g *Groups) Group(ctx context.Context, tenant TenantID, id string) (Group, error) {
	const op = "scrm.Groups.Group"
	if err := checkTenantAnd(op, tenant, "ID", id); err != nil {
		return Group{}, err
	}
	gr, err := g.store.GetGroup(ctx, tenant, id)
	return gr, storeErr(op, err)
}

// ListGroups returns a page of the tenant's groups (of p.Store, when set)
// in ID order.
//
// Errors: ErrInvalid for a malformed tenant or store.
func (g *Groups) ListGroups(ctx context.Context, p ListGroupsParams) (GroupPage, error) {
	const op = "scrm.Groups.ListGroups"
	if err := CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return GroupPage{}, err
	}
	if p.Store != "" {
		if err := CheckID(op, "Store", p.Store); err != nil {
			return GroupPage{}, err
		}
	}
	p.Limit = PageLimit(p.Limit, 100, 1000)
	page, err := g.store.ListGroups(ctx, p)
	return page, storeErr(op, err)
}

// Members returns a page of the current members of p.Group in customer ID
// order, with the group's size as Total.
//
// Errors: ErrInvalid for a malformed tenant or group.
func (g *Groups) Members(ctx context.Context, p ListMembersParams) (MemberPage, error) {
	const op = "scrm.Groups.Members"
	if err := checkTenantAnd(op, p.Tenant, "Group", p.Group); err != nil {
		return MemberPage{}, err
	}
	p.Limit = PageLimit(p.Limit, 100, 1000)
	page, err := g.store.Members(ctx, p)
	return page, storeErr(op, err)
}

// GroupsOf returns the groups the customer is a member of now, in group ID
// order.
//
// Errors: ErrInvalid for a malformed tenant or customer.
func (g *Groups) GroupsOf(ctx context.Context, tenant TenantID, customer CustomerID) ([]Membership, error) {
	const op = "scrm.Groups.GroupsOf"
	if err := checkTenantAnd(op, tenant, "Customer", string(customer)); err != nil {
		return nil, err
	}
	ms, err := g.store.GroupsOf(ctx, tenant, customer)
	return ms, storeErr(op, err)
}

// Size returns how many members the group has now.
//
// Errors: ErrInvalid for a malformed tenant or group.
func (g *Groups) Size(ctx context.Context, tenant TenantID, group string) (int, error) {
	const op = "scrm.Groups.Size"
	if err := checkTenantAnd(op, tenant, "Group", group); err != nil {
		return 0, err
	}
	n, err := g.store.Size(ctx, tenant, group)
	return n, storeErr(op, err)
}

// Handle implements Handler:
//   - group.joined / group.left (Props "group", required) update the
//     customer's membership of that group (see Groups);
//   - customer.added records when the customer was added and the Props
//     "store" and "staff" it is attributed to;
//   - customer.owner_changed with an empty "from" (a first owner, as Team
//     publishes it) records the owner ("to") and their store ("store") as
//     the attribution for whatever customer.added leaves out.
//
// Put Groups after the Team in a Dispatcher, or anywhere: the attribution
// does not depend on the order the events arrive in. Other event types are
// ignored. Replaying an event changes nothing.
//
// Errors: ErrInvalid for an invalid event, or naming "Props.group" for a
// membership event without a valid group.
func (g *Groups) Handle(ctx context.Context, e Event) error {
	const op = "scrm.Groups.Handle"
	switch e.Type {
	case EventGroupJoined, EventGroupLeft, EventCustomerAdded, EventOwnerChanged:
	default:
		return nil
	}
	if err := e.Validate(); err != nil {
		return err
	}
	switch e.Type {
	case EventGroupJoined, EventGroupLeft:
		group := e.Prop("group")
		if err := CheckID(op, "Props.group", group); err != nil {
			return err
		}
		r, err := g.store.ApplyMembership(ctx, MembershipParams{Tenant: e.Tenant, Group: group, Customer: e.Customer,
			Joined: e.Type == EventGroupJoined, At: e.Time, EventID: e.ID})
		if err != nil {
			return storeErr(op, err)
		}
		if r.Changed {
			g.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "group membership changed",
				slog.String("tenant", string(e.Tenant)), slog.String("group", group),
				slog.String("customer", string(e.Customer)), slog.Bool("member", r.Member))
		}
		return nil
	case EventCustomerAdded:
		return storeErr(op, g.store.RecordAdded(ctx, AttributionParams{Tenant: e.Tenant, Customer: e.Customer,
			EventID: e.ID, At: e.Time, Store: idProp(e, "store"), Staff: idProp(e, "staff")}))
	default: // EventOwnerChanged
		to := idProp(e, "to")
		if e.Prop("from") != "" || to == "" {
			return nil
		}
		return storeErr(op, g.store.RecordFirstOwner(ctx, AttributionParams{Tenant: e.Tenant, Customer: e.Customer,
			EventID: e.ID, At: e.Time, Store: idProp(e, "store"), Staff: to}))
	}
}

// idProp returns the string property key when it is a valid ID, else "".
func idProp(e Event, key string) string {
	v := e.Prop(key)
	if CheckID("", key, v) != nil {
		return ""
	}
	return v
}
