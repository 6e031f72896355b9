package sop

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// EnrollmentState is where an enrollment stands.
type EnrollmentState string

// The enrollment states.
const (
	EnrollmentActive    EnrollmentState = "active"    // steps remain
	EnrollmentCompleted EnrollmentState = "completed" // every step ran (sent, skipped or failed)
	EnrollmentExited    EnrollmentState = "exited"    // ended early: the Exit condition held, or Service.Exit
)

// Enrollment is one customer's pass through one playbook.
type Enrollment struct {
	Tenant   scrm.TenantID
	Playbook string
	Customer scrm.CustomerID
	// Seq numbers the customer's enrollments in the playbook: 1, 2, ...
	Seq int
	// Anchor is the instant the steps are timed from.
	Anchor time.Time
	// EnrolledAt is when the enrollment was made.
	EnrolledAt time.Time
	State      EnrollmentState
	// EndedAt is when it completed or exited; zero while active.
	EndedAt time.Time
	// Reason says why it exited ("exit condition", or the host's reason).
	Reason string
	// IdempotencyKey is the key it was made with: "event:<event ID>" for
	// event triggers, "inactive:<unix nanoseconds of the last activity>"
	// for inactivity, the host's key for Enroll (may be empty).
	IdempotencyKey string
}

// ID returns the enrollment's identifier within the tenant:
// "<playbook>/<customer>/<seq>".
func (e Enrollment) ID() string {
	return e.Playbook + "/" + string(e.Customer) + "/" + strconv.Itoa(e.Seq)
}

// JobState is where a scheduled job stands.
type JobState string

// The job states.
const (
	JobPending   JobState = "pending"   // waiting for its due time (or deferred, or to be retried)
	JobLeased    JobState = "leased"    // claimed by a worker until LeaseUntil
	JobDone      JobState = "done"      // its action ran: message sent, task created, reward granted, tag changed
	JobSkipped   JobState = "skipped"   // not run: suppressed, capped, paused past the grace, step removed
	JobFailed    JobState = "failed"    // its action failed permanently or ran out of attempts; Reason holds the error
	JobCancelled JobState = "cancelled" // its enrollment exited first
)

// Terminal reports whether s is a final state.
func (s JobState) Terminal() bool {
	return s == JobDone || s == JobSkipped || s == JobFailed || s == JobCancelled
}

// Job is one scheduled unit of work, materialised ahead of time: one step of
// one enrollment, or the next occurrence of one calendar post to one group.
// The Store keeps jobs in due-time order and hands them to workers with a
// lease (Store.Claim).
type Job struct {
	Tenant scrm.TenantID
	// ID identifies the job within the tenant and is the idempotency key of
	// its effect: the scrm.Message ID, the scrm.Grant key, the StaffTask ID.
	// See JobID and PostID.
	ID string

	// For playbook steps:
	Playbook        string
	PlaybookVersion int64 // the playbook's current stored version, set by Claim
	Customer        scrm.CustomerID
	Seq             int    // the enrollment's Seq
	Step            string // the step ID
	Variant         string // the variant ID; empty without variants

	// For calendar posts:
	Calendar  string
	Entry     int       // index into Calendar.Entries
	Group     string    // the group posted to
	Scheduled time.Time // the occurrence, before any deferral

	Due      time.Time
	State    JobState
	Attempts int    // claims that did not end in a deferral
	Reason   string // why it was skipped or cancelled, or the last error

	// Worker and LeaseUntil describe the current lease (State JobLeased).
	Worker     string
	LeaseUntil time.Time
}

// IsPost reports whether the job is a calendar post.
func (j Job) IsPost() bool { return j.Calendar != "" }

// JobID returns the ID of the job of step in the seq-th enrollment of
// customer in playbook: "sop:<tenant>:<playbook>:<customer>:<seq>:<step>".
// It is deterministic, so a job run again after a lost lease carries the same
// ID, and it is the idempotency key of the job's effect. When a part holds a
// ':' (which would make two jobs collide) or the whole would exceed
// scrm.MaxIDLength, the ID is "sop:h:" followed by a digest of the parts.
func JobID(tenant scrm.TenantID, playbook string, customer scrm.CustomerID, seq int, step string) string {
	return joinID(string(tenant), playbook, string(customer), strconv.Itoa(seq), step)
}

// PostID returns the ID of the occurrence of a calendar post:
// "sop:<tenant>:cal:<calendar>:<entry>:<group>:<occurrence as 20060102T1504Z>",
// digested as JobID is when needed.
func PostID(tenant scrm.TenantID, calendar string, entry int, group string, occurrence time.Time) string {
	return joinID(string(tenant), "cal", calendar, strconv.Itoa(entry), group, occurrence.UTC().Format("20060102T1504Z"))
}

// isJobID reports whether id has the form of the IDs JobID and PostID
// make, the scrm.Message IDs the package sends, rather than an ID a channel
// gave its message.
func isJobID(id string) bool { return strings.HasPrefix(id, "sop:") }

func joinID(parts ...string) string {
	n := len("sop")
	plain := true
	for _, p := range parts {
		n += 1 + len(p)
		if strings.IndexByte(p, ':') >= 0 {
			plain = false
		}
	}
	if plain && n <= scrm.MaxIDLength {
		var b strings.Builder
		b.Grow(n)
		b.WriteString("sop")
		for _, p := range parts {
			b.WriteByte(':')
			b.WriteString(p)
		}
		return b.String()
	}
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return "sop:h:" + hex.EncodeToString(h.Sum(nil)[:16])
}
