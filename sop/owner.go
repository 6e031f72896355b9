package sop

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// ReassignTasksParams are the inputs of Store.ReassignTasks.
type ReassignTasksParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// From, when set, limits the move to the open tasks this staff member
	// holds; empty moves every open task of the customer.
	From string
	To   string
	At   time.Time
	// IdempotencyKey, optional, makes the move happen once: "event:<ID>"
	// for a customer.owner_changed event, so up to scrm.MaxIDLength+6
	// bytes.
	IdempotencyKey string

	// ChangedAt, when set, makes the move one of the customer's ordered
	// owner changes, so that changes delivered out of order end the same
	// as in order. Handle sets it from a customer.owner_changed event: its
	// Time, ChangeSeq the change number of its ID "owner:<customer>:<seq>"
	// (scrm.OwnerChange.Seq; 0 when the ID has another form) and ChangeID
	// its ID. Two changes that both have a ChangeSeq (> 0) are ordered by
	// it alone (the staff store numbers a customer's changes in the order
	// they happened, whatever their times); otherwise by ChangedAt, then
	// ChangeSeq, then ChangeID (byte order). The store keeps the newest
	// change applied per customer: a newer one (or the same one again)
	// moves the tasks as usual and becomes the newest; an older one
	// (delivered late) moves From's tasks to the newest change's To
	// instead of its own, and with From empty (a late first owner) moves
	// nothing, so the tasks end with the owner the newest change names
	// whatever the delivery order, and tasks of staff who never owned the
	// customer stay. Moves without ChangedAt are not ordered and leave the
	// newest change as it is.
	ChangedAt time.Time
	ChangeSeq int64
	ChangeID  string
}

// ReassignTasksResult is the outcome of Store.ReassignTasks and
// Service.ReassignTasks.
type ReassignTasksResult struct {
	Moved    []string // the IDs of the tasks moved, in ID order
	Replayed bool     // the idempotency key was used before: nothing changed
	// Stale: an ordered change older than the customer's newest (see
	// ReassignTasksParams.ChangedAt); From's tasks went to the newest
	// change's To (none moved when From is empty).
	Stale bool
}

// ReassignRequest asks to hand a customer's open staff tasks to another
// staff member.
type ReassignRequest struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// From, optional: only the tasks this staff member holds move; empty
	// moves every open task of the customer.
	From string
	To   string
	// IdempotencyKey, optional: a retry with the same key moves nothing
	// more and returns the first result.
	IdempotencyKey string
}

// ReassignTasks moves a customer's open staff tasks to req.To (held by
// req.From, or all of them when From is empty); done tasks keep the staff
// member who did them. Each moved task records MovedFrom and MovedAt. Handle
// does this on customer.owner_changed events, in the order of the changes
// rather than of their delivery (see ReassignTasksParams.ChangedAt); hosts
// that learn of owner changes otherwise call it directly, which moves the
// tasks at once, unordered. Moving tasks already moved moves nothing.
// Errors: ErrInvalid naming the field; ErrConflict when IdempotencyKey was
// used for another move.
func (s *Service) ReassignTasks(ctx context.Context, req ReassignRequest) (ReassignTasksResult, error) {
	const op = "sop.ReassignTasks"
	if err := checkReassign(op, req); err != nil {
		return ReassignTasksResult{}, err
	}
	return s.reassign(ctx, op, ReassignTasksParams{Tenant: req.Tenant, Customer: req.Customer,
		From: req.From, To: req.To, IdempotencyKey: req.IdempotencyKey})
}

// reassign calls Store.ReassignTasks with p, At set to now.
func (s *Service) reassign(ctx context.Context, op string, p ReassignTasksParams) (ReassignTasksResult, error) {
	p.At = s.now()
	res, err := s.store.ReassignTasks(ctx, p)
	return res, scrm.Wrap(nil, op, err)
}

func checkReassign(op string, req ReassignRequest) error {
	if err := scrm.CheckID(op, "Tenant", string(req.Tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "Customer", string(req.Customer)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "To", req.To); err != nil {
		return err
	}
	if req.From != "" {
		if err := scrm.CheckID(op, "From", req.From); err != nil {
			return err
		}
	}
	if req.IdempotencyKey != "" {
		if err := scrm.CheckID(op, "IdempotencyKey", req.IdempotencyKey); err != nil {
			return err
		}
	}
	return nil
}

// ownerChanged hands the customer's open tasks held by the previous owner
// (Props "from"; every open task when it is empty, a first owner) to the new
// one (Props "to"), once per event, ordered by change number (or the
// event's Time when one has none): a change older than one already applied
// hands them to the newer change's new owner instead, and an older first
// owner moves nothing.
func (s *Service) ownerChanged(ctx context.Context, e scrm.Event) error {
	const op = "sop.Handle"
	from, to := e.Prop("from"), e.Prop("to")
	if err := scrm.CheckID(op, `Props["to"]`, to); err != nil {
		return err
	}
	if from != "" {
		if err := scrm.CheckID(op, `Props["from"]`, from); err != nil {
			return err
		}
	}
	// The key may be longer than an ID (an event ID of MaxIDLength plus
	// the prefix); stores keep keys of any length.
	_, err := s.reassign(ctx, op, ReassignTasksParams{Tenant: e.Tenant, Customer: e.Customer, From: from, To: to,
		IdempotencyKey: "event:" + e.ID, ChangedAt: e.Time, ChangeSeq: changeSeq(e), ChangeID: e.ID})
	return err
}

// changeSeq returns the change number of a customer.owner_changed event:
// its Props "seq" (scrm.OwnerChange.Event sets it) in any integral form
// JSON decoding leaves, else the number of an ID "owner:<customer>:<seq>"
// (scrm.OwnerChange.EventID), else 0.
func changeSeq(e scrm.Event) int64 {
	if s, err := e.IDProp("sop.Handle", "seq"); err == nil && s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			return n
		}
	}
	rest, ok := strings.CutPrefix(e.ID, "owner:")
	if !ok {
		return 0
	}
	rest, ok = strings.CutPrefix(rest, string(e.Customer))
	if !ok || len(rest) < 2 || rest[0] != ':' {
		return 0
	}
	n, err := strconv.ParseInt(rest[1:], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
