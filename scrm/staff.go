package scrm

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Staff is a member of a tenant's front line (导购, 店员, 客服): the people
// who add customers on WeCom and follow them up. A customer's owner (跟进人)
// is one of them; see Team.
type Staff struct {
	Tenant TenantID
	// ID is the staff account, usually the WeCom userid; unique per tenant.
	ID string
	// Name is shown to operators. It is personal data: String and LogValue
	// mask it.
	Name string
	// Store is the store the staff member works at; empty for staff outside
	// any store (head office, online service), who never receive customers
	// by the store rule.
	Store string
	// Active is false once the staff member has left (离职). The zero value
	// is inactive: set Active when registering someone who works today. An
	// inactive staff member owns no customers (see StaffStore).
	Active bool
	// Codes are the channel codes (渠道码, 员工活码) that attribute customers
	// to this staff member: a customer.added event whose Props "channel_code"
	// is one of them is owned by this staff member. A code belongs to at
	// most one staff member of the tenant.
	Codes []string
}

// MaxStaffNameLength is the longest Staff.Name (and Group.Name) accepted, in
// bytes.
const MaxStaffNameLength = 256

// Validate reports the first malformed field as an ErrInvalid error naming
// it: Tenant and ID are required IDs (see CheckID); Store, when set, and
// each of Codes are IDs too, and Codes has no duplicates; Name is valid
// UTF-8 of at most MaxStaffNameLength bytes.
func (s Staff) Validate() error {
	const op = "scrm.Staff"
	if err := CheckID(op, "Tenant", string(s.Tenant)); err != nil {
		return err
	}
	if err := CheckID(op, "ID", s.ID); err != nil {
		return err
	}
	if err := checkName(op, "Name", s.Name); err != nil {
		return err
	}
	if s.Store != "" {
		if err := CheckID(op, "Store", s.Store); err != nil {
			return err
		}
	}
	for i, c := range s.Codes {
		field := fmt.Sprintf("Codes[%d]", i)
		if err := CheckID(op, field, c); err != nil {
			return err
		}
		if slices.Contains(s.Codes[:i], c) {
			return Invalid(op, field, "duplicate code %q", c)
		}
	}
	return nil
}

// String describes s for logs with the name masked, e.g.
// "staff acme/s1 张** store=jingan active codes=1".
func (s Staff) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "staff %s/%s", s.Tenant, s.ID)
	if s.Name != "" {
		b.WriteByte(' ')
		b.WriteString(maskName(s.Name))
	}
	if s.Store != "" {
		b.WriteString(" store=")
		b.WriteString(s.Store)
	}
	if s.Active {
		b.WriteString(" active")
	} else {
		b.WriteString(" inactive")
	}
	if len(s.Codes) > 0 {
		fmt.Fprintf(&b, " codes=%d", len(s.Codes))
	}
	return b.String()
}

// LogValue implements slog.LogValuer, so that structured handlers log the
// masked String rather than the raw name.
func (s Staff) LogValue() slog.Value { return slog.StringValue(s.String()) }

// clone returns a copy of s that shares no slice with it.
func (s Staff) clone() Staff {
	s.Codes = slices.Clone(s.Codes)
	return s
}

// checkName validates an optional display name.
func checkName(op, field, name string) error {
	switch {
	case len(name) > MaxStaffNameLength:
		return Invalid(op, field, "longer than %d bytes", MaxStaffNameLength)
	case !utf8.ValidString(name):
		return Invalid(op, field, "not valid UTF-8")
	}
	return nil
}

// maskName keeps the first character of a name and masks the rest with one
// "*" per character (at most three): "张三丰" → "张**".
func maskName(name string) string {
	first, size := utf8.DecodeRuneInString(name)
	rest := utf8.RuneCountInString(name[size:])
	return string(first) + strings.Repeat("*", min(max(rest, 1), 3))
}

// The reasons the Team records on ownership changes (OwnerChange.Reason and
// the "reason" Prop of customer.owner_changed). Transfers carry the caller's
// reason when it gives one.
const (
	// OwnerReasonAdded: customer.added named the staff member (Props "staff").
	OwnerReasonAdded = "added"
	// OwnerReasonChannelCode: the customer came through one of the staff
	// member's channel codes (Props "channel_code").
	OwnerReasonChannelCode = "channel_code"
	// OwnerReasonStoreRule: round-robin among the active staff of a store.
	OwnerReasonStoreRule = "store_rule"
	// OwnerReasonAssigned: Team.Assign named the staff member.
	OwnerReasonAssigned = "assigned"
	// OwnerReasonTransfer: Team.Transfer without a reason of its own (交接).
	OwnerReasonTransfer = "transfer"
	// OwnerReasonDeparture: Team.Deactivate moved the customers of a staff
	// member who left (离职继承).
	OwnerReasonDeparture = "departure"
)

// OwnerChange is one entry of a customer's ownership history: from then on
// (At) the customer was owned by To. A customer's changes are numbered from
// 1 without gaps (Seq), so the history says who owned whom and when, and
// every change has its own deterministic event ID (EventID).
type OwnerChange struct {
	Tenant   TenantID
	Customer CustomerID
	Seq      int64     // 1 for the first owner, then one more per change
	From     string    // the previous owner; empty for the first owner
	To       string    // the new owner
	ToStore  string    // To's store at the time of the change
	At       time.Time // when the change took effect
	Reason   string    // one of the OwnerReason* constants or the caller's reason
	// Cause is what made the change: the ID of the customer.added event, or
	// "assign:<customer>" / "transfer:<idempotency key>".
	Cause string
}

// EventID returns the ID of the customer.owner_changed event of c:
// "owner:<customer>:<seq>", or "owner:" and a hash when that would exceed
// MaxIDLength. It depends only on the customer and the change's number, so
// publishing the event again is harmless.
func (c OwnerChange) EventID() string {
	seq := strconv.FormatInt(c.Seq, 10)
	if 7+len(c.Customer)+len(seq) > MaxIDLength {
		return "owner:" + hashID(string(c.Customer), seq)
	}
	return "owner:" + string(c.Customer) + ":" + seq
}

// Event returns the customer.owner_changed event of c, with Props "from",
// "to", "reason", "store" (the new owner's store, empty when none) and
// "seq" (c.Seq, an int64: the change's number among the customer's, which
// orders changes delivered out of order).
func (c OwnerChange) Event() Event {
	return Event{
		ID:       c.EventID(),
		Tenant:   c.Tenant,
		Customer: c.Customer,
		Type:     EventOwnerChanged,
		Time:     c.At,
		Props:    map[string]any{"from": c.From, "to": c.To, "reason": c.Reason, "store": c.ToStore, "seq": c.Seq},
	}
}

// ListStaffParams is the input of StaffStore.ListStaff.
type ListStaffParams struct {
	Tenant TenantID
	// Store, when set, lists only the staff of that store.
	Store string
	// Cursor is the Next of the previous page; empty for the first page.
	Cursor string
	// Limit is the page size; see PageLimit (default 100, at most 1000).
	Limit int
}

// StaffPage is one page of StaffStore.ListStaff, in ID order.
type StaffPage struct {
	Staff []Staff
	Next  string // cursor of the next page; empty after the last one
}

// AssignParams is the input of StaffStore.Assign.
type AssignParams struct {
	Tenant   TenantID
	Customer CustomerID
	// Staff is the owner to assign. When empty, the owner is picked
	// round-robin among the active staff of Store.
	Staff string
	// Store is used when Staff is empty.
	Store  string
	Reason string    // recorded on the change
	Cause  string    // recorded on the change; see OwnerChange.Cause
	At     time.Time // recorded on the change
}

// AssignResult is the output of StaffStore.Assign.
type AssignResult struct {
	// Change is the change that made the customer's current owner: the new
	// one when Assigned, else the existing one.
	Change OwnerChange
	// Assigned reports whether this call gave the customer its owner.
	Assigned bool
}

// TransferParams is the input of StaffStore.Transfer.
type TransferParams struct {
	Tenant TenantID
	From   string
	// To is the new owner. It may be empty only with Deactivate: then each
	// customer goes, round-robin, to the other active staff of From's store.
	To string
	// Customers are the customers to move, each owned by From and listed
	// once; empty means all of From's customers.
	Customers []CustomerID
	// Deactivate makes From inactive in the same step (Customers must be
	// empty).
	Deactivate     bool
	Reason         string
	IdempotencyKey string    // required; unique per tenant
	Fingerprint    string    // digest of the request's payload (see Fingerprint)
	At             time.Time // recorded on the changes
}

// TransferResult is the output of StaffStore.Transfer and Team.Transfer.
type TransferResult struct {
	// Changes has one entry per customer moved, in customer ID order.
	Changes []OwnerChange
	// Deactivated reports whether From was made inactive by this transfer.
	Deactivated bool
	// Replayed reports that the idempotency key had been used before with
	// the same payload: Changes and Deactivated are the original result and
	// nothing changed.
	Replayed bool
}

// CustomersOfParams is the input of StaffStore.CustomersOf.
type CustomersOfParams struct {
	Tenant TenantID
	Staff  string
	// Cursor is the Next of the previous page; empty for the first page.
	Cursor string
	// Limit is the page size; see PageLimit (default 100, at most 1000).
	Limit int
}

// OwnedPage is one page of the customers a staff member owns, in ID order.
type OwnedPage struct {
	Customers []CustomerID
	// Total is how many customers the staff member owns in all.
	Total int
	// Next is the cursor of the following page; empty after the last one.
	Next string
}

// StaffStore persists a tenant's staff and the ownership of its customers.
// It is the interface storage implementers write; hosts use *Team. Every
// method is atomic on its own, reads and writes only the tenant it is given,
// copies values in and out, and returns an error matching ErrUnavailable
// and wrapping ctx.Err() when ctx is done (writing nothing). Inputs reach
// the store already validated by the Team.
//
// The invariants the store maintains, within a tenant:
//   - a channel code belongs to at most one staff member;
//   - every owned customer has exactly one owner, and that owner is an
//     active staff member: an inactive staff member owns no customers, so a
//     staff member who leaves never strands customers;
//   - a customer's ownership changes are numbered 1, 2, 3, ... without gaps,
//     and the last one names the current owner;
//   - an idempotency key is used by at most one transfer.
//
// NewMemoryStaffStore is the in-memory implementation;
// scrmtest.RunStaffStoreTests is the conformance suite every implementation
// must pass.
type StaffStore interface {
	// PutStaff creates or replaces the staff member s.ID.
	//
	// Errors: ErrConflict naming the field ("Codes[1]") when a code belongs
	// to another staff member; ErrConflict naming "Active" when s is
	// inactive but the stored staff member owns customers (deactivate with
	// Transfer). On error nothing is written.
	PutStaff(ctx context.Context, s Staff) error

	// GetStaff returns staff member id.
	//
	// Errors: ErrNotFound when the tenant has no such staff member.
	GetStaff(ctx context.Context, tenant TenantID, id string) (Staff, error)

	// StaffByCode returns the staff member holding channel code code.
	//
	// Errors: ErrNotFound when no staff member of the tenant holds it.
	StaffByCode(ctx context.Context, tenant TenantID, code string) (Staff, error)

	// ListStaff returns the tenant's staff (of p.Store, when set) in ID
	// order (byte-wise), starting after p.Cursor.
	ListStaff(ctx context.Context, p ListStaffParams) (StaffPage, error)

	// Assign gives an unowned customer its first owner: p.Staff, or when
	// p.Staff is empty the next active staff member of p.Store in
	// round-robin order. The round-robin order is deterministic: the
	// store's active staff sorted by ID, and a per-store counter that every
	// round-robin assignment (and every Transfer inheriting by store rule)
	// advances by one, whichever staff member it picks; concurrent
	// assignments each take their own turn. A customer that already has an
	// owner keeps it: the result has Assigned false and the existing change.
	//
	// Errors: ErrNotFound naming "Staff" for an unknown staff member;
	// ErrInvalid naming "Staff" for an inactive one; ErrNotFound naming
	// "Store" when the store has no active staff; ErrConflict naming
	// "Customer" when p.Staff is set and the customer is already owned by
	// someone else. On error nothing is written.
	Assign(ctx context.Context, p AssignParams) (AssignResult, error)

	// Transfer moves customers from p.From to p.To (or, with Deactivate and
	// no To, to the other active staff of From's store in round-robin
	// order, customers taken in ID order) in one atomic step, appending a
	// change to each customer's history, deactivating p.From when
	// p.Deactivate, and recording the result under p.IdempotencyKey.
	//
	// When the key was used before: with the same p.Fingerprint it returns
	// the recorded result with Replayed set and changes nothing; with
	// another it returns an error matching ErrConflict naming
	// "IdempotencyKey". The key is checked before anything else.
	//
	// Errors: ErrNotFound naming "From" or "To" for an unknown staff member;
	// ErrInvalid naming "To" when To is inactive, equals From, or is empty
	// without Deactivate, or when no other active staff member of From's
	// store can inherit From's customers; ErrInvalid naming "Customers[i]"
	// when that customer is not owned by From (or is listed twice), or
	// "Customers" when listed with Deactivate. On error nothing is written.
	Transfer(ctx context.Context, p TransferParams) (TransferResult, error)

	// Owner returns the change that made the customer's current owner (its
	// To is the owner, its At the time since when).
	//
	// Errors: ErrNotFound when the customer has no owner.
	Owner(ctx context.Context, tenant TenantID, customer CustomerID) (OwnerChange, error)

	// History returns every ownership change of the customer, oldest (Seq
	// 1) first; empty when the customer never had an owner.
	History(ctx context.Context, tenant TenantID, customer CustomerID) ([]OwnerChange, error)

	// CustomersOf returns the customers p.Staff owns now, in ID order
	// (byte-wise), starting after p.Cursor; Total counts all of them. An
	// unknown staff member owns nothing (an empty page, no error).
	CustomersOf(ctx context.Context, p CustomersOfParams) (OwnedPage, error)
}
