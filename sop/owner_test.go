package sop_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

// staffOf returns the IDs of a staff member's tasks in the given state, by
// customer and step: "c1/call".
func staffOf(t *testing.T, e *env, staff string, state sop.TaskState) []string {
	t.Helper()
	tasks, err := e.svc.Tasks(e.ctx, "t1", staff, state)
	require.NoError(t, err)
	var out []string
	for _, tk := range tasks {
		out = append(out, string(tk.Customer)+"/"+tk.Step)
	}
	return out
}

func TestOwnerChangedMovesOpenTasks(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "care", Steps: []sop.Step{
		{ID: "call", Action: sop.Action{Kind: sop.Task, Staff: "li", Template: "回访"}},
		{ID: "visit", Action: sop.Action{Kind: sop.Task, Staff: "li", Template: "邀约到店"}},
		{ID: "review", Action: sop.Action{Kind: sop.Task, Staff: "manager", Template: "店长复核"}},
	}})
	for _, c := range []scrm.CustomerID{"c1", "c2"} {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "care", Customer: c})
		require.NoError(t, err)
	}
	e.run()
	done, err := e.svc.CompleteTask(e.ctx, "t1", sop.JobID("t1", "care", "c1", 1, "call"))
	require.NoError(t, err)
	require.Equal(t, sop.TaskDone, done.State)

	e.clock.Advance(time.Hour)
	// li leaves; c1 goes to wang.
	e.publish("c1", scrm.EventOwnerChanged, map[string]any{"from": "li", "to": "wang", "reason": "离职继承"})
	assert.Equal(t, []string{"c1/visit"}, staffOf(t, e, "wang", sop.TaskOpen), "li's open task of c1 follows the customer")
	assert.Equal(t, []string{"c1/call"}, staffOf(t, e, "li", sop.TaskDone), "a done task keeps its staff")
	assert.ElementsMatch(t, []string{"c2/call", "c2/visit"}, staffOf(t, e, "li", sop.TaskOpen), "other customers stay")
	assert.ElementsMatch(t, []string{"c1/review", "c2/review"}, staffOf(t, e, "manager", sop.TaskOpen), "tasks of other staff stay")

	moved, err := e.svc.Tasks(e.ctx, "t1", "wang", sop.TaskOpen)
	require.NoError(t, err)
	require.Len(t, moved, 1)
	assert.Equal(t, "li", moved[0].MovedFrom)
	assert.True(t, moved[0].MovedAt.Equal(start.Add(time.Hour)))
	assert.Equal(t, "邀约到店", moved[0].Template)

	// Replaying the event changes nothing.
	require.NoError(t, e.d.Publish(e.ctx, scrm.Event{ID: "e1", Tenant: "t1", Customer: "c1", Type: scrm.EventOwnerChanged,
		Time: e.clock.Now(), Props: map[string]any{"from": "li", "to": "wang"}}))
	assert.Equal(t, []string{"c1/visit"}, staffOf(t, e, "wang", sop.TaskOpen))

	// A first owner (no "from") takes every open task of the customer.
	e.publish("c2", scrm.EventOwnerChanged, map[string]any{"to": "zhao"})
	assert.ElementsMatch(t, []string{"c2/call", "c2/visit", "c2/review"}, staffOf(t, e, "zhao", sop.TaskOpen))
	assert.Empty(t, staffOf(t, e, "li", sop.TaskOpen))

	// The new staff member completes the moved task; it counts in stats.
	_, err = e.svc.CompleteTask(e.ctx, "t1", moved[0].ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"c1/visit"}, staffOf(t, e, "wang", sop.TaskDone))
	assert.Equal(t, int64(1), stepStats(t, e, "care")["visit"].TasksDone)
}

func TestOwnerChangedBadInput(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 9, 0))
	err := e.svc.Handle(e.ctx, scrm.Event{ID: "e1", Tenant: "t1", Customer: "c1", Type: scrm.EventOwnerChanged,
		Time: e.clock.Now(), Props: map[string]any{"from": "li"}})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, `Props["to"]`, fieldOf(t, err))

	for _, tc := range []struct {
		name  string
		req   sop.ReassignRequest
		field string
	}{
		{"no tenant", sop.ReassignRequest{Customer: "c1", To: "s"}, "Tenant"},
		{"no customer", sop.ReassignRequest{Tenant: "t1", To: "s"}, "Customer"},
		{"no staff", sop.ReassignRequest{Tenant: "t1", Customer: "c1"}, "To"},
	} {
		_, err := e.svc.ReassignTasks(e.ctx, tc.req)
		require.ErrorIs(t, err, scrm.ErrInvalid, tc.name)
		assert.Equal(t, tc.field, fieldOf(t, err), tc.name)
	}
}

func TestReassignTasksIdempotencyKey(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 9, 0))
	e.put(sop.Playbook{ID: "care", Steps: []sop.Step{{ID: "call", Action: sop.Action{Kind: sop.Task, Staff: "li", Template: "回访"}}}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "care", Customer: "c1"})
	require.NoError(t, err)
	e.run()
	req := sop.ReassignRequest{Tenant: "t1", Customer: "c1", From: "li", To: "wang", IdempotencyKey: "handover-1"}
	res, err := e.svc.ReassignTasks(e.ctx, req)
	require.NoError(t, err)
	assert.Equal(t, []string{sop.JobID("t1", "care", "c1", 1, "call")}, res.Moved)
	assert.False(t, res.Replayed)
	again, err := e.svc.ReassignTasks(e.ctx, req)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, res.Moved, again.Moved, "the original result")
	req.To = "zhao"
	_, err = e.svc.ReassignTasks(e.ctx, req)
	assert.ErrorIs(t, err, scrm.ErrConflict)
	assert.Equal(t, []string{"c1/call"}, staffOf(t, e, "wang", sop.TaskOpen))
}
