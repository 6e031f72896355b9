package scrm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
)

// AssignRequest asks Team.Assign to give an unowned customer an owner.
type AssignRequest struct {
	Tenant   TenantID
	Customer CustomerID
	// Staff is the owner to assign; it must be an active staff member. When
	// empty, the owner is the next active staff member of Store in
	// round-robin order (see StaffStore.Assign).
	Staff string
	// Store is used when Staff is empty.
	Store string
	// Reason is recorded on the change; default OwnerReasonAssigned, or
	// OwnerReasonStoreRule when the store rule picked the owner.
	Reason string
}

// Assign gives an unowned customer an owner (跟进人): r.Staff, or by the
// store rule the next active staff member of r.Store in round-robin order,
// deterministic and safe under concurrent calls. A customer that already
// has an owner keeps it, and Assign returns the existing change with
// Assigned false (calling Assign again after a success is harmless, and
// republishes the event of an assignment Assign made); to change an owner,
// use Transfer.
//
// On success it publishes the customer.owner_changed event of the change.
//
// Errors: ErrInvalid naming the field for malformed input, or "Staff" when
// neither Staff nor Store is given or the staff member is inactive;
// ErrNotFound naming "Staff" for an unknown staff member, or "Store" when
// the store has no active staff; ErrConflict naming "Customer" when
// r.Staff is set and another staff member owns the customer. On error
// nothing is written. ErrUnavailable when the owner was stored but the
// event could not be published (call Assign again to republish).
func (t *Team) Assign(ctx context.Context, r AssignRequest) (AssignResult, error) {
	const op = "scrm.Team.Assign"
	if err := checkTenantAnd(op, r.Tenant, "Customer", string(r.Customer)); err != nil {
		return AssignResult{}, err
	}
	switch {
	case r.Staff != "":
		if err := CheckID(op, "Staff", r.Staff); err != nil {
			return AssignResult{}, err
		}
	case r.Store != "":
		if err := CheckID(op, "Store", r.Store); err != nil {
			return AssignResult{}, err
		}
	default:
		return AssignResult{}, Invalid(op, "Staff", "Staff or Store required")
	}
	if err := checkName(op, "Reason", r.Reason); err != nil {
		return AssignResult{}, err
	}
	reason := r.Reason
	if reason == "" {
		reason = OwnerReasonAssigned
		if r.Staff == "" {
			reason = OwnerReasonStoreRule
		}
	}
	res, err := t.store.Assign(ctx, AssignParams{
		Tenant: r.Tenant, Customer: r.Customer, Staff: r.Staff, Store: r.Store,
		Reason: reason, Cause: assignCause, At: t.opts.Clock.Now(),
	})
	if err != nil {
		return AssignResult{}, storeErr(op, err)
	}
	if res.Assigned {
		t.logChange(ctx, res.Change)
	}
	if res.Assigned || (res.Change.Cause == assignCause && (r.Staff == "" || r.Staff == res.Change.To)) {
		if err := t.publish(ctx, op, []OwnerChange{res.Change}, "call Assign again to republish"); err != nil {
			return res, err
		}
	}
	return res, nil
}

// assignCause is the Cause of the changes Team.Assign makes. A customer
// has at most one first owner, so it needs nothing more.
const assignCause = "assign"

// TransferRequest asks Team.Transfer to move customers from one staff
// member to another (交接).
type TransferRequest struct {
	Tenant TenantID
	From   string // the current owner
	To     string // the new owner: an active staff member other than From
	// Customers are the customers to move, each owned by From and listed
	// once; empty means all of From's customers.
	Customers []CustomerID
	// Reason is recorded on each change and in the events' "reason" Prop;
	// default OwnerReasonTransfer.
	Reason string
	// IdempotencyKey identifies the transfer: replaying it with the same
	// payload returns the original result and changes nothing. Required.
	IdempotencyKey string
}

// Transfer moves r.Customers (all of r.From's customers when empty) to
// r.To in one atomic step: either every customer moves or none does. Each
// customer's history gains a change (From, To, the time from
// Options.Clock, the reason, Cause "transfer:<key>"), and one
// customer.owner_changed event per customer is published afterwards, in
// customer ID order, so that the sop package can move the customer's
// pending staff tasks to the new owner.
//
// Transfer is idempotent by r.IdempotencyKey: a replay with the same
// payload returns the original result with Replayed set, changes nothing,
// and publishes the original events again (their IDs are deterministic, so
// handlers ignore the duplicates; this is how a failed publish is
// recovered). The same key with another payload is an ErrConflict.
//
// Errors: ErrInvalid naming the field for malformed input, a missing key,
// To equal to From or an inactive To, or a customer not owned by From
// ("Customers[3]"); ErrNotFound naming "From" or "To" for an unknown staff
// member; ErrConflict naming "IdempotencyKey" as above. On error nothing is
// written. ErrUnavailable, with the result, when the move was stored but
// some events could not be published: call Transfer again with the same
// request.
func (t *Team) Transfer(ctx context.Context, r TransferRequest) (TransferResult, error) {
	const op = "scrm.Team.Transfer"
	if err := checkTenantAnd(op, r.Tenant, "From", r.From); err != nil {
		return TransferResult{}, err
	}
	if err := CheckID(op, "To", r.To); err != nil {
		return TransferResult{}, err
	}
	if r.To == r.From {
		return TransferResult{}, Invalid(op, "To", "transfer to the same staff member %q", r.From)
	}
	if err := checkCustomerList(op, r.Customers); err != nil {
		return TransferResult{}, err
	}
	reason, err := checkTransferCommon(op, r.Reason, r.IdempotencyKey, OwnerReasonTransfer)
	if err != nil {
		return TransferResult{}, err
	}
	customers := slices.Clone(r.Customers)
	if len(customers) == 0 {
		customers = nil // nil and [] both mean "all": one payload, one fingerprint
	}
	return t.transfer(ctx, op, TransferParams{
		Tenant: r.Tenant, From: r.From, To: r.To, Customers: customers,
		Reason: reason, IdempotencyKey: r.IdempotencyKey,
		Fingerprint: Fingerprint("transfer", r.From, r.To, customers, reason),
	})
}

// DeactivateRequest asks Team.Deactivate to mark a staff member who left
// (离职) inactive and hand their customers on (离职继承).
type DeactivateRequest struct {
	Tenant TenantID
	Staff  string // the staff member leaving
	// To inherits all of Staff's customers. When empty, each customer goes
	// to the other active staff of Staff's store in round-robin order
	// (customers taken in ID order; see StaffStore.Assign for the order).
	To string
	// Reason is recorded on each change; default OwnerReasonDeparture.
	Reason string
	// IdempotencyKey identifies the deactivation, as for Transfer. Required.
	IdempotencyKey string
}

// Deactivate marks r.Staff inactive and, in the same atomic step, moves
// every customer they own to r.To, or, without To, round-robin to the other
// active staff of their store. A departing staff member's customers are
// therefore never left without an owner: when Staff owns customers and
// there is no one to inherit them (no To, and no other active staff in
// Staff's store) Deactivate fails with ErrInvalid naming "To" and changes
// nothing. A staff member who owns no customers is simply deactivated.
// Events, idempotency and errors are as for Transfer; TransferResult.
// Deactivated is false when Staff was already inactive.
func (t *Team) Deactivate(ctx context.Context, r DeactivateRequest) (TransferResult, error) {
	const op = "scrm.Team.Deactivate"
	if err := checkTenantAnd(op, r.Tenant, "Staff", r.Staff); err != nil {
		return TransferResult{}, err
	}
	if r.To != "" {
		if err := CheckID(op, "To", r.To); err != nil {
			return TransferResult{}, err
		}
		if r.To == r.Staff {
			return TransferResult{}, Invalid(op, "To", "the departing staff member %q cannot inherit their own customers", r.Staff)
		}
	}
	reason, err := checkTransferCommon(op, r.Reason, r.IdempotencyKey, OwnerReasonDeparture)
	if err != nil {
		return TransferResult{}, err
	}
	res, err := t.transfer(ctx, op, TransferParams{
		Tenant: r.Tenant, From: r.Staff, To: r.To, Deactivate: true,
		Reason: reason, IdempotencyKey: r.IdempotencyKey,
		Fingerprint: Fingerprint("deactivate", r.Staff, r.To, reason),
	})
	var e *Error
	if errors.As(err, &e) && e.Code == ErrNotFound && e.Field == "From" {
		e.Field = "Staff" // the request's name for From
	}
	return res, err
}

// transfer runs a validated transfer and publishes its events.
func (t *Team) transfer(ctx context.Context, op string, p TransferParams) (TransferResult, error) {
	p.At = t.opts.Clock.Now()
	res, err := t.store.Transfer(ctx, p)
	if err != nil {
		return TransferResult{}, storeErr(op, err)
	}
	if !res.Replayed {
		t.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "customers transferred",
			slog.String("tenant", string(p.Tenant)), slog.String("from", p.From), slog.String("to", p.To),
			slog.Int("customers", len(res.Changes)), slog.Bool("deactivated", res.Deactivated),
			slog.String("reason", p.Reason))
	}
	if err := t.publish(ctx, op, res.Changes, "call again with the same IdempotencyKey to republish"); err != nil {
		return res, err
	}
	return res, nil
}

// checkCustomerList validates a list of customer IDs: each an ID, none
// twice.
func checkCustomerList(op string, cs []CustomerID) error {
	for i, c := range cs {
		if CheckID(op, "", string(c)) != nil { // format the field name only on error
			return CheckID(op, fmt.Sprintf("Customers[%d]", i), string(c))
		}
	}
	if i := duplicateIndex(cs); i >= 0 {
		return Invalid(op, fmt.Sprintf("Customers[%d]", i), "customer %s listed twice", cs[i])
	}
	return nil
}

// duplicateIndex returns the index of the first element of cs equal to an
// earlier one, or -1.
func duplicateIndex(cs []CustomerID) int {
	if len(cs) <= 16 {
		for i := range cs {
			if slices.Contains(cs[:i], cs[i]) {
				return i
			}
		}
		return -1
	}
	seen := make(map[CustomerID]struct{}, len(cs))
	for i, c := range cs {
		if _, dup := seen[c]; dup {
			return i
		}
		seen[c] = struct{}{}
	}
	return -1
}

// checkTransferCommon validates a transfer's reason and key and returns the
// reason to record.
func checkTransferCommon(op, reason, key, def string) (string, error) {
	if err := CheckID(op, "IdempotencyKey", key); err != nil {
		return "", err
	}
	if err := checkName(op, "Reason", reason); err != nil {
		return "", err
	}
	if reason == "" {
		reason = def
	}
	return reason, nil
}

// Handle implements Handler. On a customer.added event it gives an unowned
// customer its first owner, trying in order:
//
//  1. Props "staff", when it names an active staff member (reason
//     OwnerReasonAdded);
//  2. Props "channel_code", when an active staff member holds the code
//     (reason OwnerReasonChannelCode);
//  3. the store rule for Props "store" or, when that is empty, for the
//     store of the (inactive) staff member found in 1 or 2: round-robin
//     among the store's active staff (reason OwnerReasonStoreRule). This
//     also applies when the staff member found active in 1 or 2 leaves (or
//     is removed) before the assignment is stored, exactly as if they had
//     left before the event.
//
// A customer who already has an owner keeps it: a customer added later by
// another staff member is still followed up by the first (use Transfer to
// change that). "First" is in the order the events are handled, not by
// their Time: when a queue delivers a customer's later customer.added
// before the earlier one, the later one's staff member becomes the owner
// (metrics, which attributes a customer by the earliest customer.added's
// Time, then credits the other). Hosts whose queues may reorder one
// customer's events deliver them in order or correct the owner with
// Transfer. When nothing attributes the customer, or the store has no
// active staff, the customer stays unowned (logged at warn level for an
// unknown staff member, code or empty store; Assign can give an owner
// later); that is not an error.
//
// The change takes the event's time and its ID as Cause. Handling the same
// event again changes nothing and publishes the change's event again.
// Other event types are ignored.
func (t *Team) Handle(ctx context.Context, e Event) error {
	const op = "scrm.Team.Handle"
	if e.Type != EventCustomerAdded {
		return nil
	}
	if err := e.Validate(); err != nil {
		return err
	}
	log := t.opts.Logger
	var staff, store, reason string
	fallback := e.Prop("store")
	for _, a := range [...]struct{ prop, reason string }{{"staff", OwnerReasonAdded}, {"channel_code", OwnerReasonChannelCode}} {
		v := e.Prop(a.prop)
		if v == "" || CheckID(op, a.prop, v) != nil {
			continue
		}
		var s Staff
		var err error
		if a.prop == "staff" {
			s, err = t.store.GetStaff(ctx, e.Tenant, v)
		} else {
			s, err = t.store.StaffByCode(ctx, e.Tenant, v)
		}
		switch {
		case errors.Is(err, ErrNotFound):
			log.LogAttrs(ctx, slog.LevelWarn, "customer.added names an unknown "+a.prop,
				slog.String("tenant", string(e.Tenant)), slog.String("event", e.ID), slog.String(a.prop, v))
			continue
		case err != nil:
			return storeErr(op, err)
		}
		if fallback == "" {
			// The store rule's store when s is inactive, or leaves before
			// the assignment below.
			fallback = s.Store
		}
		if s.Active {
			staff, reason = s.ID, a.reason
			break
		}
	}
	if staff == "" {
		if fallback == "" {
			return nil
		}
		store, reason = fallback, OwnerReasonStoreRule
	}
	p := AssignParams{Tenant: e.Tenant, Customer: e.Customer, Staff: staff, Store: store, Reason: reason, Cause: e.ID, At: e.Time}
	res, err := t.store.Assign(ctx, p)
	if staff != "" && (isCode(err, ErrInvalid, "Staff") || isCode(err, ErrNotFound, "Staff")) && fallback != "" {
		// The staff member left in the meantime: the store rule applies.
		p.Staff, p.Store, p.Reason = "", fallback, OwnerReasonStoreRule
		res, err = t.store.Assign(ctx, p)
	}
	switch {
	case isCode(err, ErrConflict, "Customer"):
		return nil // owned by someone else already: the first owner stays
	case isCode(err, ErrNotFound, "Store"):
		log.LogAttrs(ctx, slog.LevelWarn, "customer.added: no active staff in store; customer left unowned",
			slog.String("tenant", string(e.Tenant)), slog.String("event", e.ID), slog.String("store", p.Store))
		return nil
	case isCode(err, ErrInvalid, "Staff") || isCode(err, ErrNotFound, "Staff"):
		log.LogAttrs(ctx, slog.LevelWarn, "customer.added: staff member left; customer left unowned",
			slog.String("tenant", string(e.Tenant)), slog.String("event", e.ID), slog.String("staff", p.Staff))
		return nil
	case err != nil:
		return storeErr(op, err)
	}
	if res.Assigned {
		t.logChange(ctx, res.Change)
	} else if res.Change.Cause != e.ID {
		return nil
	}
	return t.publish(ctx, op, []OwnerChange{res.Change}, "handle the event again to republish")
}
