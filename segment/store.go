package segment

import (
	"context"

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

	// GetSegment returns a segment.
	//
	// Errors: ErrNotFound when the tenant has no segment id.
	GetSegment(ctx context.Context, tenant scrm.TenantID, id string) (Segment, error)

	// ListSegments returns every segment of the tenant in ID order together
	// with the tenant's generation (see Generation), read in one atomic
	// step. A tenant without segments gives an empty list.
	ListSegments(ctx context.Context, tenant scrm.TenantID) (SegmentList, error)

	// DeleteSegment removes a segment and every membership record of it.
	//
	// Errors: ErrNotFound when the tenant has no segment id.
	DeleteSegment(ctx context.Context, tenant scrm.TenantID, id string) error

	// Generation returns a number that changes every time a segment
	// definition of the tenant is created, updated or deleted, and only
	// then; 0 for a tenant that never had one. Services use it to tell
	// when their compiled dependency index is stale.
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
	// Errors: ErrInvalid when a Customer is malformed (Field
	// "Changes[i].Customer") or appears twice, or Version is negative;
	// ErrNotFound when the segment does not exist.
	ApplyMembership(ctx context.Context, p ApplyMembershipParams) ([]MembershipChange, error)

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
