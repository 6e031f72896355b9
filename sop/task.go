package sop

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// TaskState is where a staff task stands.
type TaskState string

// The staff task states. The empty TaskState selects every state in
// Service.Tasks.
const (
	TaskOpen TaskState = "open"
	TaskDone TaskState = "done"
)

// StaffTask is work a Task action gives a staff member: typically a WeCom
// message or a call a person must make or confirm. Its ID is the ID of the
// job that created it, so a job run twice creates it once.
type StaffTask struct {
	Tenant   scrm.TenantID
	ID       string
	Staff    string
	Customer scrm.CustomerID
	Playbook string
	Step     string
	Variant  string
	Channel  string
	Template string
	Vars     map[string]string
	// Body is the rendered text when Template names a content Template
	// (the script the staff member sends); empty otherwise.
	Body string

	CreatedAt time.Time
	// DueBy is the deadline: CreatedAt plus the action's Deadline.
	DueBy time.Time
	State TaskState
	// DoneAt is when it was completed; zero while open.
	DoneAt time.Time
	// OnTime reports whether it was completed by DueBy (meaningful once done).
	OnTime bool
	// MovedFrom and MovedAt record the last reassignment of the open task
	// (the customer's owner changed, Store.ReassignTasks): the staff member
	// it was taken from, and when. Empty for a task never moved.
	MovedFrom string
	MovedAt   time.Time
}

// Late reports whether the task is past its deadline at now: open after
// DueBy, or completed after it.
func (t StaffTask) Late(now time.Time) bool {
	if t.State == TaskDone {
		return !t.OnTime
	}
	return now.After(t.DueBy)
}
