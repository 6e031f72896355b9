package sop

import (
	"context"

	"github.com/scrmkit/scrmkit/scrm"
)

// Tasks returns a staff member's tasks in the given state (every state when
// state is empty), oldest first.
func (s *Service) Tasks(ctx context.Context, tenant scrm.TenantID, staff string, state TaskState) ([]StaffTask, error) {
	const op = "sop.Tasks"
	switch state {
	case "", TaskOpen, TaskDone:
	default:
		return nil, scrm.Invalid(op, "state", "must be open, done or empty, got %q", state)
	}
	out, err := s.store.Tasks(ctx, ListTasksParams{Tenant: tenant, Staff: staff, State: state})
	return out, scrm.Wrap(nil, op, err)
}

// CompleteTask marks a staff task done now, on time when now is not after
// its DueBy, late otherwise (StaffTask.OnTime), and counts it in the step's
// stats. Completing a task twice returns it as first completed. Errors:
// ErrNotFound.
func (s *Service) CompleteTask(ctx context.Context, tenant scrm.TenantID, id string) (StaffTask, error) {
	const op = "sop.CompleteTask"
	if err := scrm.CheckID(op, "id", id); err != nil {
		return StaffTask{}, err
	}
	out, err := s.store.CompleteTask(ctx, CompleteTaskParams{Tenant: tenant, ID: id, At: s.now()})
	return out, scrm.Wrap(nil, op, err)
}
