package sop

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// The attribution windows of Stats, unless Options say otherwise.
const (
	// DefaultReplyWindow: a message.replied within 48 hours of a touch
	// counts as a reply to it.
	DefaultReplyWindow = 48 * time.Hour
	// DefaultConversionWindow: an order.paid within 7 days of a touch
	// counts as a conversion of it.
	DefaultConversionWindow = 7 * 24 * time.Hour
)

// StepStats counts what happened to one step (and one variant) of a
// playbook. Counts are of jobs (one per enrollment per step), except
// Deferred, which counts deferrals (a job deferred twice counts twice).
type StepStats struct {
	Step    string
	Variant string // empty for a step without variants

	Enrolled  int64 // jobs created
	Sent      int64 // jobs done: message sent, task created, reward granted, tag changed
	Deferred  int64 // deferrals by quiet hours, windows, caps and rate limits
	Skipped   int64 // jobs skipped
	Failed    int64 // jobs failed
	Cancelled int64 // jobs cancelled by an exit

	// Replied counts messages of the step followed by a message.replied of
	// the customer within the reply window; Converted, by an order.paid
	// within the conversion window. Each message counts at most once for
	// each, and a reply or an order counts for every message of the
	// customer in its window (or, for a reply naming its "message_id", a
	// job ID, for that message only, if it is in the window).
	Replied   int64
	Converted int64
	// ReplyTypes counts the first replies by the "reply_type" the host put
	// in the message.replied event's Props (e.g. "interested",
	// "unsubscribe"); replies without one are not counted here.
	ReplyTypes map[string]int64

	// TasksDone and TasksLate count completed staff tasks of the step, and
	// those completed after their deadline.
	TasksDone int64
	TasksLate int64
}

// Stats is the per-step, per-variant report of a playbook.
type Stats struct {
	Tenant   scrm.TenantID
	Playbook string
	// Steps has one row per step (per variant for steps with variants), in
	// the order of the playbook's steps; rows of steps since removed from
	// the playbook come last.
	Steps []StepStats
}
