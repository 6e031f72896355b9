package sop_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

// customer.owner_changed events count in the order of the changes, not of
// their delivery. The customer's owner went li → wang (change 2) and then
// wang → zhao (change 3, wang left); the events reach sop in the opposite
// order (a failed publish of change 2 republished later, as Team.Transfer's
// doc tells hosts to do). Issue 10: "pending SOP staff tasks follow the
// customer": the open task ends with zhao, the owner now, and not with wang
// (Groups, for one, also decides by event time so that delivery order does
// not matter).
func TestOwnerChangesApplyInTheirOrder(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "care", Steps: []sop.Step{
		{ID: "call", Action: sop.Action{Kind: sop.Task, Staff: "li", Template: "回访"}},
	}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "care", Customer: "c1"})
	require.NoError(t, err)
	e.run()
	require.Len(t, staffOf(t, e, "li", sop.TaskOpen), 1)

	c2 := scrm.OwnerChange{Tenant: "t1", Customer: "c1", Seq: 2, From: "li", To: "wang", At: start.Add(time.Hour), Reason: "transfer"}
	c3 := scrm.OwnerChange{Tenant: "t1", Customer: "c1", Seq: 3, From: "wang", To: "zhao", At: start.Add(2 * time.Hour), Reason: "departure"}
	e.clock.Set(start.Add(3 * time.Hour))
	require.NoError(t, e.svc.Handle(e.ctx, c3.Event()))
	require.NoError(t, e.svc.Handle(e.ctx, c2.Event()))

	assert.Equal(t, []string{"c1/call"}, staffOf(t, e, "zhao", sop.TaskOpen), "the open task is with the current owner")
	assert.Empty(t, staffOf(t, e, "wang", sop.TaskOpen), "not with the staff member who left")
}

// Two changes of the same customer at the same time (a coarse clock) count
// in the order of their change numbers, read from the event ID
// "owner:<customer>:<seq>": number 10 is newer than number 9 although its
// ID sorts first.
func TestOwnerChangesAtTheSameTimeApplyByNumber(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "care", Steps: []sop.Step{
		{ID: "call", Action: sop.Action{Kind: sop.Task, Staff: "li", Template: "回访"}},
	}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "care", Customer: "c1"})
	require.NoError(t, err)
	e.run()

	when := start.Add(time.Hour)
	c9 := scrm.OwnerChange{Tenant: "t1", Customer: "c1", Seq: 9, From: "li", To: "wang", At: when}
	c10 := scrm.OwnerChange{Tenant: "t1", Customer: "c1", Seq: 10, From: "wang", To: "zhao", At: when}
	require.NoError(t, e.svc.Handle(e.ctx, c10.Event()))
	require.NoError(t, e.svc.Handle(e.ctx, c9.Event()))
	require.NoError(t, e.svc.Handle(e.ctx, c9.Event()), "a replay moves nothing more")

	assert.Equal(t, []string{"c1/call"}, staffOf(t, e, "zhao", sop.TaskOpen))
	assert.Empty(t, staffOf(t, e, "wang", sop.TaskOpen))
}

// A customer ID long enough that the change's event ID is a hash still
// orders changes made at the same time by their number: the event's Props
// "seq" carries it.
func TestOwnerChangesOfLongCustomerIDApplyByNumber(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "care", Steps: []sop.Step{
		{ID: "call", Action: sop.Action{Kind: sop.Task, Staff: "li", Template: "回访"}},
	}})
	long := scrm.CustomerID(strings.Repeat("c", scrm.MaxIDLength))
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "care", Customer: long})
	require.NoError(t, err)
	e.run()

	when := start.Add(time.Hour)
	c9 := scrm.OwnerChange{Tenant: "t1", Customer: long, Seq: 9, From: "li", To: "wang", At: when}
	c10 := scrm.OwnerChange{Tenant: "t1", Customer: long, Seq: 10, From: "wang", To: "zhao", At: when}
	require.NotContains(t, c10.EventID(), string(long), "the ID is hashed")
	require.NoError(t, e.svc.Handle(e.ctx, c10.Event()))
	require.NoError(t, e.svc.Handle(e.ctx, c9.Event()))
	assert.Len(t, staffOf(t, e, "zhao", sop.TaskOpen), 1)
	assert.Empty(t, staffOf(t, e, "wang", sop.TaskOpen))
}
