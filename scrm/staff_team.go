package scrm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
)

// Team keeps a tenant's staff and who owns (跟进) each customer.
//
// Ownership comes from three places:
//   - customer.added events (Team is a Handler): the staff member named by
//     Props "staff", else the staff member holding Props "channel_code",
//     else the store rule for Props "store" (see Handle);
//   - Assign, for an unowned customer: a named staff member or the store
//     rule (round-robin among the store's active staff);
//   - Transfer and Deactivate, which move customers between staff (交接,
//     离职继承) atomically, keeping the history of who owned whom and when.
//
// Every change publishes one customer.owner_changed event (see
// OwnerChange.Event) through Options.Publisher, after the store write, with
// an ID derived from the customer and the change's number, so the sop
// package can move pending staff tasks and replays are harmless.
//
// Team does not follow customer.merged: a customer absorbed by a merge
// keeps its ownership record (and stays in CustomersOf), and the survivor
// keeps its own owner.
//
// A Team is safe for concurrent use; its consistency comes from the
// StaffStore. Build it with NewTeam.
type Team struct {
	store StaffStore
	opts  Options
}

// NewTeam returns a Team over store; a nil store means
// NewMemoryStaffStore(). It uses opts.Clock for the time of explicit
// changes (event-driven ones take the event's time), opts.Publisher for
// customer.owner_changed events and opts.Logger for diagnostics (names
// masked); a nil opts means the defaults.
func NewTeam(store StaffStore, opts *Options) *Team {
	if store == nil {
		store = NewMemoryStaffStore()
	}
	return &Team{store: store, opts: opts.WithDefaults()}
}

// Store returns the StaffStore the Team writes to.
func (t *Team) Store() StaffStore { return t.store }

// PutStaff registers or updates a staff member (s.Tenant, s.ID). Setting
// Active false on a staff member who owns customers is refused: use
// Deactivate, which moves them in the same step.
//
// Errors: ErrInvalid naming the field (see Staff.Validate), with nothing
// written; ErrConflict naming "Codes[i]" when a code belongs to another
// staff member, or "Active" as above.
func (t *Team) PutStaff(ctx context.Context, s Staff) error {
	const op = "scrm.Team.PutStaff"
	if err := s.Validate(); err != nil {
		return err
	}
	return storeErr(op, t.store.PutStaff(ctx, s))
}

// Staff returns staff member id.
//
// Errors: ErrInvalid for a malformed tenant or id; ErrNotFound naming "ID"
// when the tenant has no such staff member.
func (t *Team) Staff(ctx context.Context, tenant TenantID, id string) (Staff, error) {
	const op = "scrm.Team.Staff"
	if err := checkTenantAnd(op, tenant, "ID", id); err != nil {
		return Staff{}, err
	}
	s, err := t.store.GetStaff(ctx, tenant, id)
	return s, storeErr(op, err)
}

// StaffByCode returns the staff member holding channel code code.
//
// Errors: ErrInvalid for a malformed tenant or code; ErrNotFound when no
// staff member of the tenant holds it.
func (t *Team) StaffByCode(ctx context.Context, tenant TenantID, code string) (Staff, error) {
	const op = "scrm.Team.StaffByCode"
	if err := checkTenantAnd(op, tenant, "Code", code); err != nil {
		return Staff{}, err
	}
	s, err := t.store.StaffByCode(ctx, tenant, code)
	return s, storeErr(op, err)
}

// ListStaff returns a page of the tenant's staff (of p.Store, when set) in
// ID order; pass the page's Next as p.Cursor to get the following one.
//
// Errors: ErrInvalid for a malformed tenant or store.
func (t *Team) ListStaff(ctx context.Context, p ListStaffParams) (StaffPage, error) {
	const op = "scrm.Team.ListStaff"
	if err := CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return StaffPage{}, err
	}
	if p.Store != "" {
		if err := CheckID(op, "Store", p.Store); err != nil {
			return StaffPage{}, err
		}
	}
	p.Limit = PageLimit(p.Limit, 100, 1000)
	page, err := t.store.ListStaff(ctx, p)
	return page, storeErr(op, err)
}

// Owner returns the staff member who owns the customer now.
//
// Errors: ErrInvalid for a malformed tenant or customer; ErrNotFound when
// the customer has no owner.
func (t *Team) Owner(ctx context.Context, tenant TenantID, customer CustomerID) (string, error) {
	c, err := t.Ownership(ctx, tenant, customer)
	return c.To, err
}

// Ownership returns the change that made the customer's current owner: To
// is the owner, At the time since when, Reason why.
//
// Errors: as Owner.
func (t *Team) Ownership(ctx context.Context, tenant TenantID, customer CustomerID) (OwnerChange, error) {
	const op = "scrm.Team.Owner"
	if err := checkTenantAnd(op, tenant, "Customer", string(customer)); err != nil {
		return OwnerChange{}, err
	}
	c, err := t.store.Owner(ctx, tenant, customer)
	return c, storeErr(op, err)
}

// History returns the customer's ownership changes, oldest first: who owned
// the customer, from when (At) and why. It is empty, without error, for a
// customer who never had an owner.
//
// Errors: ErrInvalid for a malformed tenant or customer.
func (t *Team) History(ctx context.Context, tenant TenantID, customer CustomerID) ([]OwnerChange, error) {
	const op = "scrm.Team.History"
	if err := checkTenantAnd(op, tenant, "Customer", string(customer)); err != nil {
		return nil, err
	}
	h, err := t.store.History(ctx, tenant, customer)
	return h, storeErr(op, err)
}

// CustomersOf returns a page of the customers p.Staff owns, in ID order,
// with their Total; pass the page's Next as p.Cursor to get the following
// one.
//
// Errors: ErrInvalid for a malformed tenant or staff ID.
func (t *Team) CustomersOf(ctx context.Context, p CustomersOfParams) (OwnedPage, error) {
	const op = "scrm.Team.CustomersOf"
	if err := checkTenantAnd(op, p.Tenant, "Staff", p.Staff); err != nil {
		return OwnedPage{}, err
	}
	p.Limit = PageLimit(p.Limit, 100, 1000)
	page, err := t.store.CustomersOf(ctx, p)
	return page, storeErr(op, err)
}

// publish publishes the events of changes, in order. It tries every one
// even after a failure, so that one failing handler does not hold back the
// others, and returns an error matching ErrUnavailable that says how many
// failed, wrapping the first failure.
func (t *Team) publish(ctx context.Context, op string, changes []OwnerChange, retry string) error {
	var first error
	failed := 0
	for i := range changes {
		if err := t.opts.Publisher.Publish(ctx, changes[i].Event()); err != nil {
			if first == nil {
				first = err
			}
			failed++
		}
	}
	if first == nil {
		return nil
	}
	return &Error{Code: ErrUnavailable, Op: op,
		Msg: "ownership stored but publishing " + strconv.Itoa(failed) + " of " + strconv.Itoa(len(changes)) + " customer.owner_changed events failed; " + retry,
		Err: first}
}

// logChange logs one ownership change at debug level.
func (t *Team) logChange(ctx context.Context, c OwnerChange) {
	t.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "customer owner changed",
		slog.String("tenant", string(c.Tenant)), slog.String("customer", string(c.Customer)),
		slog.String("from", c.From), slog.String("to", c.To), slog.String("reason", c.Reason))
}

// checkTenantAnd validates the tenant and one more ID field.
func checkTenantAnd(op string, tenant TenantID, field, id string) error {
	if err := CheckID(op, "Tenant", string(tenant)); err != nil {
		return err
	}
	return CheckID(op, field, id)
}

// hashID returns a hex digest of parts, for deterministic IDs that would
// otherwise be too long.
func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// isCode reports whether err is an *Error with the given code and field.
func isCode(err error, code error, field string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code && e.Field == field
}
