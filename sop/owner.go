package sop

import (
	"context"
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
}

// ReassignTasksResult is the outcome of Store.ReassignTasks and
// Service.ReassignTasks.
type ReassignTasksResult struct {
	Moved    []string // the IDs of the tasks moved, in ID order
	Replayed bool     // the idempotency key was used before: nothing changed
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
// does this on customer.owner_changed events; hosts that learn of owner
// changes otherwise call it directly. Moving tasks already moved moves
// nothing. Errors: ErrInvalid naming the field; ErrConflict when
// IdempotencyKey was used for another move.
func (s *Service) ReassignTasks(ctx context.Context, req ReassignRequest) (ReassignTasksResult, error) {
	const op = "sop.ReassignTasks"
	if err := checkReassign(op, req); err != nil {
		return ReassignTasksResult{}, err
	}
	return s.reassign(ctx, op, req)
}

func (s *Service) reassign(ctx context.Context, op string, req ReassignRequest) (ReassignTasksResult, error) {
	res, err := s.store.ReassignTasks(ctx, ReassignTasksParams{Tenant: req.Tenant, Customer: req.Customer,
		From: req.From, To: req.To, At: s.now(), IdempotencyKey: req.IdempotencyKey})
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
// one (Props "to"), once per event.
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
	_, err := s.reassign(ctx, op, ReassignRequest{Tenant: e.Tenant, Customer: e.Customer, From: from, To: to,
		IdempotencyKey: "event:" + e.ID})
	return err
}
