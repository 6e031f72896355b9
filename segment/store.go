package segment

import (
	"context"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Store keeps segment definitions and their membership. It is the interface
// storage implementers write; hosts use *Service. NewMemoryStore is the
// in-memory implementation and segmenttest.RunStoreTests the conformance
// suite every implementation must pass.
//
// Every method is atomic on its own, reads and writes only the tenant it is
// given, copies values in and out (callers may change what they passed or got
// back), and, when ctx is done, returns an error matching scrm.ErrUnavailable
// that wraps ctx.Err() and writes nothing. A method that returns an error
// writes nothing.
type Store interface {
	// CreateSegment stores a new segment with Version 1 and returns it as
	// stored. The caller sets CreatedAt and UpdatedAt.
	//
	// Errors: ErrInvalid when Tenant or ID is missing; ErrConflict when
	// the tenant already has a segment with seg.ID.
	CreateSegment(ctx context.Context, seg Segment) (Segment, error)

	// UpdateSegment replaces the stored segment seg.ID if its Version still
	// equals seg.Version, storing Version+1, and returns it as stored.
	// CreatedAt is kept from the stored segment. Membership is kept.
	//
	// Errors: ErrInvalid when Tenant or ID is missing; ErrNotFound when
	// there is no such segment; ErrConflict when the versions differ.
	UpdateSegment(ctx context.Context, seg Segment) (Segment, error)

	// SaveSegment is CreateSegment (seg.Version 0) or UpdateSegment
	// (seg.Version the stored version), done only if the tenant's
	// generation still equals generation, in the same atomic step: a
	// caller that checked a write against ListSegments (the Service checks
	// that conditions do not read each other in a cycle, and that no
	// segment reads one being deleted) passes the list's Generation, so
	// that the write fails when any definition changed since.
	//
	// Errors: those of CreateSegment and UpdateSegment; ErrConflict when
	// the generation differs.
	SaveSegment(ctx context.Context, seg Segment, generation int64) (Segment, error)

	// GetSegment returns a segment.
	//
	// Errors: ErrNotFound when the tenant has no segment id.
	GetSegment(ctx context.Context, tenant scrm.TenantID, id string) (Segment, error)

	// ListSegments returns every segment of the tenant in ID order together
	// with the tenant's generation (see Generation), read in one atomic
	// step. A tenant without segments gives an empty list.
	ListSegments(ctx context.Context, tenant scrm.TenantID) (SegmentList, error)

	// DeleteSegment removes a segment that has no members, with every
	// membership record of it (non-members' records, unreported changes).
	// The check and the removal are one atomic step, so a customer who
	// entered after the caller made the members exit is never dropped with
	// the segment (with its profile still saying it is in).
	//
	// Errors: ErrNotFound when the tenant has no segment id; ErrConflict
	// when the segment has members.
	DeleteSegment(ctx context.Context, tenant scrm.TenantID, id string) error

	// Generation returns a number that changes every time a segment
	// definition of the tenant is created, updated or deleted, and only
	// then; 0 for a tenant that never had one. Services use it to tell
	// when their compiled dependency index is stale, and SaveSegment to
	// tell that the definitions a write was checked against changed.
	Generation(ctx context.Context, tenant scrm.TenantID) (int64, error)

	// ApplyMembership records membership decisions for one segment. Each
	// change takes effect only if no record of the customer in the segment
	// has a greater Version (changes at equal versions: the later call
	// wins); the record then holds the change's In and Version, whether or
	// not membership flips, so that a decision based on an older profile
	// can never overwrite one based on a newer profile. It returns the
	// changes that flipped membership (a non-member entering, a member
	// exiting), in the order given.
	//
	// The store keeps the last Version per customer and segment, members or
	// not: a SQL implementation keeps one row per (segment, customer) it
	// was ever told about, with a conditional upsert
	// (... ON CONFLICT DO UPDATE ... WHERE stored.version <= new.version).
	//
	// With p.Report set, every change that flips membership is also kept,
	// in the same atomic step, as Unreported (carrying p.Source, p.Cause
	// and p.At) until MarkReported clears it: the Service publishes the
	// change's event after the call, and the kept record is what lets it
	// publish the event again when that fails or the process dies first.
	// Without p.Report nothing is kept. A change already kept (same
	// customer, In and Version) is kept once.
	//
	// Errors: ErrInvalid when a Customer is malformed (Field
	// "Changes[i].Customer") or appears twice, or Version is negative;
	// ErrNotFound when the segment does not exist.
	ApplyMembership(ctx context.Context, p ApplyMembershipParams) ([]MembershipChange, error)

	// ListUnreported returns a page of the changes ApplyMembership kept as
	// Unreported and MarkReported has not cleared, of one segment when
	// p.Segment is set and of one customer (in every segment, or in
	// p.Segment) when p.Customer is set, ordered by segment, customer,
	// Version, and exits before entries at equal versions. It starts after
	// p.Cursor; UnreportedPage.Next is the cursor of the next page, empty
	// after the last one. Limit as Members. DeleteSegment drops a segment's
	// unreported changes with it.
	//
	// Errors: ErrNotFound when p.Segment is set and does not exist.
	ListUnreported(ctx context.Context, p ListUnreportedParams) (UnreportedPage, error)

	// MarkReported clears the unreported changes of one segment that match
	// p.Changes (same Customer, In and Version); changes not kept are
	// ignored, so marking twice is harmless.
	//
	// Errors: ErrInvalid when a Customer is malformed (Field
	// "Changes[i].Customer") or a Version negative; ErrNotFound when the
	// segment does not exist.
	MarkReported(ctx context.Context, p MarkReportedParams) error

	// Contains reports whether customer is a member of the segment.
	//
	// Errors: ErrNotFound when the segment does not exist.
	Contains(ctx context.Context, tenant scrm.TenantID, segment string, customer scrm.CustomerID) (bool, error)

	// Members returns a page of members in ascending customer ID order
	// (byte-wise), starting after p.Cursor; MemberPage.Next is the cursor
	// of the next page, empty after the last one. Limit 0 or less means
	// 100, more than 1000 means 1000 (scrm.PageLimit). Each page is a
	// consistent read; members entering or exiting between pages may or may
	// not appear.
	//
	// Errors: ErrNotFound when the segment does not exist.
	Members(ctx context.Context, p ListMembersParams) (MemberPage, error)

	// Size returns the number of members of the segment.
	//
	// Errors: ErrNotFound when the segment does not exist.
	Size(ctx context.Context, tenant scrm.TenantID, segment string) (int, error)
}

// SegmentList is the result of Store.ListSegments.
type SegmentList struct {
	Segments   []Segment // in ID order
	Generation int64     // the tenant's generation when the list was read
}

// MembershipChange is one membership decision: customer is (In) or is not a
// member, as decided from the customer's profile at Version.
type MembershipChange struct {
	Customer scrm.CustomerID
	In       bool
	Version  int64
}

// ApplyMembershipParams is the input of Store.ApplyMembership.
type ApplyMembershipParams struct {
	Tenant  scrm.TenantID
	Segment string
	Changes []MembershipChange

	// Report keeps every change that flips membership as Unreported, with
	// Source, Cause and At, until Store.MarkReported: set when an event
	// announces the flips. The Service leaves it unset only for the silent
	// exits of customers absorbed by a merge.
	Report bool
	Source string    // the events' "source" (one of the Source constants)
	Cause  string    // the events' "cause": the causing event's ID, if any
	At     time.Time // the events' Time
}

// Unreported is a membership change whose segment.entered or
// segment.exited event is not known to be published: the Store keeps it
// from the ApplyMembership that flipped membership until MarkReported.
type Unreported struct {
	Tenant  scrm.TenantID
	Segment string
	MembershipChange
	Source string
	Cause  string
	At     time.Time
}

// Event returns the event announcing the change: MembershipEvent, with
// Props "cause" when Cause is set. It is the same event, ID included, every
// time it is built, so publishing it again is harmless.
func (u Unreported) Event() scrm.Event {
	e := MembershipEvent(u.Tenant, u.Segment, u.Customer, u.In, u.Version, u.Source, u.At)
	if u.Cause != "" {
		e.Props["cause"] = u.Cause
	}
	return e
}

// ListUnreportedParams is the input of Store.ListUnreported.
type ListUnreportedParams struct {
	Tenant   scrm.TenantID
	Segment  string          // only this segment's changes; empty: every segment's
	Customer scrm.CustomerID // only this customer's changes; empty: every customer's
	Cursor   string          // the Next of the previous page; empty for the first
	Limit    int
}

// UnreportedPage is one page of Store.ListUnreported.
type UnreportedPage struct {
	Changes []Unreported
	Next    string // cursor of the next page; empty when this is the last
}

// MarkReportedParams is the input of Store.MarkReported.
type MarkReportedParams struct {
	Tenant  scrm.TenantID
	Segment string
	Changes []MembershipChange
}

// ListMembersParams is the input of Store.Members.
type ListMembersParams struct {
	Tenant  scrm.TenantID
	Segment string
	Cursor  string // the Next of the previous page; empty for the first
	Limit   int
}

// MemberPage is one page of Store.Members.
type MemberPage struct {
	Customers []scrm.CustomerID
	Next      string // cursor of the next page; empty when this is the last
}
