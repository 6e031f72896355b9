package tagging

import (
	"context"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Action is what happened to a tag in a HistoryEntry.
type Action string

// The history actions.
const (
	ActionApplied   Action = "applied"   // the customer did not have the tag (or it had expired)
	ActionRefreshed Action = "refreshed" // the customer had it; At (and the expiry) moved forward
	ActionRemoved   Action = "removed"   // taken off: by hand, by a Sync rule, replaced in an exclusive group, expired, or lost in a merge
)

// HistoryEntry records one change of one tag on one customer: who, when,
// why, from which rule.
type HistoryEntry struct {
	// ID is derived from the cause and the tag, so that replaying the cause
	// records nothing twice: "<cause>:<tag>", or "h:" and a hash when that
	// would exceed scrm.MaxIDLength minus the "tag.applied:" prefix. The
	// tag.applied / tag.removed event published for the entry has the ID
	// "tag.applied:<entry ID>" / "tag.removed:<entry ID>".
	ID       string
	Customer scrm.CustomerID
	Tag      string
	Action   Action
	// At is when it happened: the time of the event that caused it (the
	// request time for Apply and Remove, the sweep time for sweeps, the
	// expiry itself for expired tags).
	At time.Time
	// Source is the mechanism: "manual" (or the request's Source for Apply
	// and Remove), "rule:<id>", "keyword:<id>", "expiry", "merge".
	Source string
	By     string // the staff member, for manual changes
	Rule   string // the rule, when a rule caused it
	// Cause identifies what caused it: "event:<event ID>",
	// "apply:<idempotency key>", "remove:<idempotency key>",
	// "sweep:<customer>:<unix nanoseconds>", "expire:<customer>:<unix
	// nanoseconds of the expiry>", "merge:<event ID>".
	Cause string
	// Reason explains it for a person: "rule r1 matched on order.paid",
	// "replaced by 商务风 (exclusive group 风格偏好)", `reply matched "不需要"`.
	Reason string
	// Expires is the expiry of the mark an application wrote (zero: none).
	Expires time.Time
	// Fingerprint is the digest of the request payload, for entries of
	// Apply and Remove calls with an idempotency key; empty otherwise.
	Fingerprint string
}

// TaggedCustomer is one customer carrying a tag, with the tag's mark.
type TaggedCustomer struct {
	Customer scrm.CustomerID
	Mark     scrm.TagMark
}

// CustomerPage is one page of Store.Customers.
type CustomerPage struct {
	Customers []TaggedCustomer
	Next      string // cursor of the next page; empty after the last one
}

// HistoryPage is one page of Store.ListHistory.
type HistoryPage struct {
	Entries []HistoryEntry
	Next    string // cursor of the next page; empty after the last one
}

// RecordParams are the inputs of Store.Record.
type RecordParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// Version is the version of the profile Tags were read from.
	Version int64
	// Tags are every tag mark on that profile version, expired ones
	// included: the customer's index entries become exactly these.
	Tags map[string]scrm.TagMark
	// Entries are appended to the customer's history. Entry.Customer is
	// ignored: the store sets it to Customer.
	Entries []HistoryEntry
	// Absorbed are customers merged into Customer: their history moves to
	// Customer and their index entries are dropped.
	Absorbed []scrm.CustomerID
}

// KeyRecord is what a Store keeps for an idempotency key of Apply or
// Remove: the request that first used the key.
type KeyRecord struct {
	Tenant scrm.TenantID
	// Key is the key in its namespace, "apply:<key>" or "remove:<key>" (a
	// hash of that when longer than scrm.MaxIDLength).
	Key string
	// Customer is the request's customer (as named in the request, not
	// the survivor of a later merge).
	Customer scrm.CustomerID
	// Fingerprint is the digest of the request's payload.
	Fingerprint string
}

// ListHistoryParams are the inputs of Store.ListHistory.
type ListHistoryParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// Cause, when set, keeps only the entries with this Cause.
	Cause string
	// Cursor is the Next of the previous page; empty for the first.
	Cursor string
	// Limit is the page size: 0 means 100, more than 1000 means 1000.
	Limit int
}

// ListCustomersParams are the inputs of Store.Customers.
type ListCustomersParams struct {
	Tenant scrm.TenantID
	Tag    string
	// Cursor is the Next of the previous page (the last customer ID
	// returned); empty for the first.
	Cursor string
	// Limit is the page size: 0 means 100, more than 1000 means 1000.
	Limit int
}

// Store keeps a tenant's tag definitions, each customer's tag history, and
// an index from tags to the customers carrying them. The tag marks
// themselves live in the customers' profiles (scrm.ProfileStore), which is
// what rules read; the index mirrors them for counts and listings.
//
// Every method is atomic on its own, reads and writes only the tenant it is
// given, copies values in and out (callers may modify what they passed or
// got back), and returns an error matching scrm.ErrUnavailable that wraps
// ctx.Err() when ctx is done, writing nothing. Malformed input (a missing
// tenant, ID or tag) is an error matching scrm.ErrInvalid, with nothing
// written.
//
// NewMemoryStore is the in-memory implementation; taggingtest.RunStoreTests
// is the conformance suite every implementation must pass.
type Store interface {
	// PutGroup creates (g.Version 0) or updates (g.Version equal to the
	// stored version) a group, stores it with Version incremented, and
	// increments the tenant's revision. Errors: ErrConflict, nothing
	// written, when the version does not match (including creating a group
	// that exists).
	PutGroup(ctx context.Context, tenant scrm.TenantID, g Group) (Group, error)

	// PutTag creates or updates a tag like PutGroup. Invariant: a tag's
	// Group, when set, names a group of the tenant; otherwise the error
	// matches ErrInvalid (Field "Group") and nothing is written.
	PutTag(ctx context.Context, tenant scrm.TenantID, t Tag) (Tag, error)

	// PutRule creates or updates a rule like PutGroup. Invariant: a rule's
	// Tag names a tag of the tenant; otherwise the error matches ErrInvalid
	// (Field "Tag") and nothing is written. The store does not compile
	// conditions; the Service does before calling it.
	PutRule(ctx context.Context, tenant scrm.TenantID, r Rule) (Rule, error)

	// DeleteRule deletes a rule and increments the tenant's revision.
	// Errors: ErrNotFound when the tenant has no such rule.
	DeleteRule(ctx context.Context, tenant scrm.TenantID, id string) error

	// Definitions returns all the tenant's groups, tags and rules, sorted by
	// ID, with the revision they are consistent with (one snapshot). A
	// tenant with nothing defined has revision 0 and empty lists.
	Definitions(ctx context.Context, tenant scrm.TenantID) (Definitions, error)

	// Revision returns the tenant's definitions revision: 0 before the first
	// Put, then increased by every Put and Delete. It must be cheap; a
	// Service calls it on every event to keep its compiled rules current.
	Revision(ctx context.Context, tenant scrm.TenantID) (int64, error)

	// Record writes the outcome of tag changes on one customer, in one
	// atomic step:
	//   - each Absorbed customer's history entries move to p.Customer (they
	//     keep their IDs) and its index entries are dropped;
	//   - each entry of p.Entries whose ID the tenant has not recorded yet
	//     is appended to p.Customer's history; entries already recorded are
	//     skipped, so replaying a Record changes nothing;
	//   - when p.Version is at least the version last recorded for
	//     p.Customer, the customer's index entries become exactly p.Tags;
	//     an older version (a concurrent writer recorded a newer profile
	//     first) leaves the index alone.
	// A customer named in the Absorbed of an earlier Record stays absorbed:
	// a later Record for it (a write that raced the merge) appends its
	// entries to the customer that absorbed it (following further merges)
	// and leaves the index alone, as do its Absorbed moves.
	// Invariant: a customer's index entries are the tags of the newest
	// profile version recorded for it, an absorbed customer has none, and
	// Count(tag) is the number of customers whose entries include tag.
	Record(ctx context.Context, p RecordParams) error

	// PutKey records an idempotency key for the tenant with the customer
	// and fingerprint of k, unless the tenant has recorded k.Key before,
	// and returns the record stored for the key: k itself, or the earlier
	// record unchanged (the caller compares it with its request). Keys are
	// unique per tenant whichever customer they were used for. Errors:
	// ErrInvalid for a missing tenant, key or customer, nothing written.
	PutKey(ctx context.Context, k KeyRecord) (KeyRecord, error)

	// ListHistory returns a customer's history entries newest first (by At,
	// then by the order they were recorded), optionally only those of one
	// cause. Errors: ErrInvalid for a malformed cursor. A customer without
	// history gets an empty page, not ErrNotFound.
	ListHistory(ctx context.Context, p ListHistoryParams) (HistoryPage, error)

	// Count returns how many customers' index entries include tag.
	Count(ctx context.Context, tenant scrm.TenantID, tag string) (int, error)

	// Customers returns the customers whose index entries include p.Tag, in
	// ascending customer ID order (byte-wise) after p.Cursor, with their
	// marks. Each page is a consistent read; customers tagged or untagged
	// between pages may or may not appear.
	Customers(ctx context.Context, p ListCustomersParams) (CustomerPage, error)
}
