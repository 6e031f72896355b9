package sop

import (
	"context"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Store keeps playbooks, calendars and policies, enrollments and their
// scheduled jobs, staff tasks and stats. Every method is atomic on its own:
// services compute, the store enforces uniqueness (re-entry), exclusivity
// (leases) and counts (caps).
//
// Implementations must be safe for concurrent use, must copy values in and
// out (a caller never shares memory with the store), and must honour ctx:
// a done context returns an error matching scrm.ErrUnavailable that wraps
// ctx.Err(), and writes nothing. Every method reads and writes one tenant,
// except Claim, which serves the scheduler of all tenants. Methods return
// scrm.ErrInvalid for a missing tenant or ID. Run soptest.RunStoreTests
// against an implementation.
type Store interface {
	// Revision returns a number that grows whenever a playbook, calendar,
	// policy or content template of the tenant changes (pause and resume
	// included), so that a Service can cache them and still see changes
	// made through another Service sharing the store, and make a put
	// conditional on it (PutPlaybookParams.CheckRevision). 0 for a tenant
	// with none.
	Revision(ctx context.Context, tenant scrm.TenantID) (int64, error)

	// PutPlaybook stores a copy of params.Playbook: a new one when its
	// Version is 0, a replacement when its Version equals the stored one;
	// the stored Version becomes that plus one, UpdatedAt params.At. When a
	// stored playbook that was paused is stored unpaused, the pending jobs
	// of the playbook due before params.SkipDueBefore are skipped in the
	// same step, as in SetPaused. Errors: ErrConflict, and nothing written,
	// when the version does not match (a playbook exists for Version 0, or
	// none or another version for Version > 0); ErrConflict naming
	// "Revision", and nothing written, when params.CheckRevision is set and
	// the tenant's Revision is no longer params.Revision (checked and
	// written in one atomic step).
	PutPlaybook(ctx context.Context, params PutPlaybookParams) (PutPlaybookResult, error)

	// GetPlaybook returns a copy of the stored playbook. Errors: ErrNotFound.
	GetPlaybook(ctx context.Context, tenant scrm.TenantID, id string) (Playbook, error)

	// ListPlaybooks returns copies of the tenant's playbooks in ID order.
	ListPlaybooks(ctx context.Context, tenant scrm.TenantID) ([]Playbook, error)

	// SetPaused pauses or resumes a playbook. While it is paused, Claim
	// hands out none of its jobs. On resume, its pending jobs due before
	// params.SkipDueBefore are marked skipped (reason "paused"), never
	// sent, and the rest become claimable again; Skipped reports how many.
	// A job of an active enrollment still leased with a lease expired at
	// params.At (its worker died and no Claim reached it while paused)
	// counts as pending at its due time: skipped, its lease dropped and its
	// cap slots given back, when that is before SkipDueBefore.
	// Setting the state the playbook is already in changes nothing.
	// Errors: ErrNotFound.
	SetPaused(ctx context.Context, params SetPausedParams) (PutPlaybookResult, error)

	// PutCalendar stores a copy of params.Calendar (versions as in
	// PutPlaybook) and replaces its post jobs: pending and leased posts of
	// the previous version are dropped and params.Posts scheduled, in the
	// same step. Errors: ErrConflict on a version mismatch.
	PutCalendar(ctx context.Context, params PutCalendarParams) (Calendar, error)

	// GetCalendar returns a copy of the stored calendar. Errors: ErrNotFound.
	GetCalendar(ctx context.Context, tenant scrm.TenantID, id string) (Calendar, error)

	// PutPolicy replaces the tenant's delivery policy (last write wins),
	// storing a copy with Version incremented.
	PutPolicy(ctx context.Context, tenant scrm.TenantID, p Policy) (Policy, error)

	// GetPolicy returns a copy of the tenant's policy; the zero Policy when
	// none was put.
	GetPolicy(ctx context.Context, tenant scrm.TenantID) (Policy, error)

	// Enroll enrolls params.Customer in params.Playbook and schedules one
	// job per params.Jobs, atomically, if the playbook's Reentry allows it
	// at params.At given the customer's previous enrollments:
	//
	//   - Once: no previous enrollment;
	//   - AfterExit: the latest one has ended, at or before At-Cooldown;
	//   - Always: the latest one began at or before At-Cooldown.
	//
	// The new enrollment's Seq is the previous one's plus one. When
	// params.IdempotencyKey equals the key of one of the customer's
	// enrollments in the playbook, nothing is written and that enrollment
	// is returned with Replayed set, provided the anchor was sent the same
	// way: both calls with AnchorDefaulted (whatever their Anchors, which
	// are their own At), or both without it and with equal Anchors; else
	// ErrConflict naming IdempotencyKey. Errors: ErrNotFound for an
	// unknown playbook; ErrConflict naming "Version" when params.Version is
	// not the stored playbook version (reload it and recompute the jobs),
	// and ErrConflict naming no field when the re-entry rule refuses
	// (nothing written in either case); ErrInvalid for no jobs or a step ID
	// the playbook does not have.
	Enroll(ctx context.Context, params EnrollParams) (EnrollResult, error)

	// Enrollments returns copies of a customer's enrollments, in playbook ID
	// then Seq order, optionally of one playbook and only active ones.
	Enrollments(ctx context.Context, params ListEnrollmentsParams) ([]Enrollment, error)

	// EndEnrollments ends the customer's active enrollments in a playbook
	// (only the one numbered params.Seq when it is not 0) as exited, with
	// params.Reason, at params.At, and cancels their pending jobs, and
	// leased jobs whose lease expired at At, in the same step, giving back
	// their cap slots. A job whose lease still runs may be being sent
	// right now: it stays leased, keeps its slots and is marked to be
	// cancelled on completion. If its lease holder has not started it yet,
	// its Start cancels it (see Start); else its Complete records
	// what happened (JobDone: done, slots kept, touch recorded, counted
	// Sent; anything else, or a staff task to create: cancelled, slots
	// given back) and its Reschedule cancels it; if the lease expires
	// first, the first Claim (or resume) that reaches the job cancels it
	// and gives its slots back instead of handing it out. It returns the
	// enrollments it ended (none when none was active).
	EndEnrollments(ctx context.Context, params EndEnrollmentsParams) ([]Enrollment, error)

	// Jobs returns copies of a customer's jobs (or, with params.Calendar, a
	// calendar's current post jobs), in due-time order.
	Jobs(ctx context.Context, params ListJobsParams) ([]Job, error)

	// Claim leases up to params.Limit jobs of any tenant that are due at
	// params.At: pending jobs with Due <= At, and leased jobs whose lease
	// expired (LeaseUntil <= At; their worker is presumed dead and the job
	// runs again, with the same ID). It returns them in (Due, creation)
	// order, each with State JobLeased, Worker params.Worker, LeaseUntil
	// At+params.Lease and Attempts incremented. Two concurrent Claims never
	// return the same job while its lease runs. Jobs of paused playbooks
	// are not returned (they wait for SetPaused). An expired lease of a job
	// marked to be cancelled on completion (see EndEnrollments) is not
	// returned either: the job is cancelled and its cap slots given back.
	Claim(ctx context.Context, params ClaimParams) ([]Job, error)

	// Admit lets a leased message job through the customer's caps: for
	// every cap in params.Caps it counts the customer's messages on
	// params.Channel in the cap's period, and if each count is below its
	// Max it records the job against every cap (and returns Admitted);
	// otherwise it records nothing and returns the index of the first full
	// cap. Admitting a job that already holds its slots (a job re-run after a
	// lost lease) admits it again without counting it twice. A slot is kept
	// when the job completes as done and given back when it is rescheduled
	// or ends any other way. Errors: ErrConflict when the job is not leased,
	// params.Worker does not hold its lease, or the lease expired at
	// params.At.
	Admit(ctx context.Context, params AdmitParams) (AdmitResult, error)

	// Start is asked by a lease holder right before it runs a leased job of
	// a playbook (renders, admits and sends its message, creates its task,
	// grants its reward, changes its tag), so that an exit or a pause that
	// returned before it holds for the job. It returns the job's State:
	//
	//   - JobLeased: the worker may run the job; PlaybookVersion is the
	//     playbook's current stored version (a newer one than the claim's
	//     means the playbook changed since). Nothing is written.
	//   - JobCancelled: the job's enrollment ended while it was leased (see
	//     EndEnrollments): the job is cancelled now, its lease dropped and
	//     its cap slots given back, and must not run.
	//   - JobPending: its playbook is paused: the job is given back not
	//     run, as if Claim had not handed it out (lease dropped, cap slots
	//     given back, due time restored, the claim's Attempts increment
	//     undone, no deferral counted), and waits for the resume like the
	//     playbook's other pending jobs (SetPaused skips it if its due
	//     time is before SkipDueBefore).
	//
	// A job that started may still be ended by an exit while it runs (see
	// EndEnrollments and Complete). A calendar post, which has neither
	// enrollment nor playbook, gets JobLeased and PlaybookVersion 0.
	// Errors: ErrConflict, and nothing written, as Complete.
	Start(ctx context.Context, params StartParams) (StartResult, error)

	// Complete ends a leased job in params.State (JobDone, JobSkipped or
	// JobFailed) with params.Reason and updates the step's stats, in one
	// step. With params.Task it also creates that staff task (once: a task
	// with its ID already stored is kept). With params.Touch it records the
	// message for reply and conversion attribution (Attribute), forgetting
	// the customer's touches older than At-TouchKeep. For a calendar post
	// with a non-zero params.Next, the job is not ended but scheduled again
	// for that occurrence. When it was the enrollment's last open job, the
	// enrollment completes. A job whose enrollment ended while it was
	// leased (see EndEnrollments) ends done when params.State is JobDone
	// and there is no params.Task, and cancelled otherwise (no task
	// created); the returned Job says which. Errors: ErrConflict, and
	// nothing written, when the job is not leased (unknown, finished,
	// cancelled), params.Worker does not hold its lease, or the lease
	// expired at params.At.
	Complete(ctx context.Context, params CompleteParams) (Job, error)

	// Reschedule gives a leased job back as pending, due at params.Due. A
	// retry (params.Retry) keeps its Attempts and records params.Reason as
	// the last error; a deferral undoes the claim's Attempts increment and
	// counts a deferral in the step's stats. A job whose enrollment ended
	// while it was leased is cancelled instead (its cap slots given back),
	// and returned with State JobCancelled. Errors as Complete.
	Reschedule(ctx context.Context, params RescheduleParams) (Job, error)

	// Tasks returns copies of a staff member's tasks (all states when
	// params.State is empty), in CreatedAt then ID order.
	Tasks(ctx context.Context, params ListTasksParams) ([]StaffTask, error)

	// CompleteTask marks an open staff task done at params.At, on time when
	// At is not after its DueBy, and counts it in its step's stats.
	// Completing a task already done returns it unchanged. Errors:
	// ErrNotFound.
	CompleteTask(ctx context.Context, params CompleteTaskParams) (StaffTask, error)

	// Attribute credits a customer's recorded touches with a reply or a
	// conversion at params.At: every touch at or after At-Within and not
	// after At that has not been credited with this kind yet gets Replied
	// or Converted counted in its step's stats, and a reply its
	// params.ReplyType. When params.MessageID is set, only the touch whose
	// job ID it is can be credited: none when no recorded touch has it
	// (forgotten after TouchKeep, or never sent), never another. It
	// returns how many touches it credited; a replayed event credits
	// none.
	Attribute(ctx context.Context, params AttributeParams) (int, error)

	// Stats returns the counters of a playbook's steps and variants, in
	// the order the steps first appeared. Errors: ErrNotFound for an
	// unknown playbook.
	Stats(ctx context.Context, tenant scrm.TenantID, playbook string) ([]StepStats, error)

	// PutTemplate stores a copy of params.Template: a new one when its
	// Version is 0, a replacement when its Version equals the stored one
	// (only the latest version is kept); the stored Version becomes that
	// plus one, UpdatedAt params.At, and the tenant's Revision grows.
	// Errors: ErrConflict, and nothing written, when the version does not
	// match (a template exists for Version 0, or none or another version
	// for Version > 0), so of N concurrent creators exactly one wins;
	// ErrConflict naming "Revision", and nothing written, when
	// params.CheckRevision is set and the tenant's Revision is no longer
	// params.Revision (checked and written in one atomic step).
	PutTemplate(ctx context.Context, params PutTemplateParams) (Template, error)

	// GetTemplate returns a copy of the stored template. Errors:
	// ErrNotFound.
	GetTemplate(ctx context.Context, tenant scrm.TenantID, id string) (Template, error)

	// ListTemplates returns copies of the tenant's templates in ID order.
	ListTemplates(ctx context.Context, tenant scrm.TenantID) ([]Template, error)

	// ReassignTasks moves the customer's open staff tasks to params.To,
	// atomically: every open task of params.Customer held by params.From
	// (by any staff member but To when From is empty) gets Staff To,
	// MovedFrom its previous staff and MovedAt params.At. Done tasks keep
	// their staff. It returns the IDs of the tasks it moved, in ID order.
	// With params.ChangedAt the move is an ordered owner change: the store
	// keeps the customer's newest one (by ChangeSeq alone when both
	// changes have one, else by ChangedAt, ChangeSeq, ChangeID) and an
	// older change moves From's tasks to the newest change's To instead
	// of To, or nothing when From is empty, with Stale set (see
	// ReassignTasksParams.ChangedAt).
	// With params.IdempotencyKey, a second call with the same key and the
	// same Customer, From and To returns the first result with Replayed
	// set and changes nothing; with another Customer, From or To it
	// returns ErrConflict naming IdempotencyKey. Errors: ErrInvalid for a
	// missing Customer or To.
	ReassignTasks(ctx context.Context, params ReassignTasksParams) (ReassignTasksResult, error)
}

// PutPlaybookParams are the inputs of Store.PutPlaybook.
type PutPlaybookParams struct {
	Playbook Playbook
	At       time.Time
	// SkipDueBefore applies when this put resumes a paused playbook.
	SkipDueBefore time.Time
	// CheckRevision makes the put conditional on the tenant's Revision
	// still being Revision: the Revision at which the caller read the
	// tenant's templates to check the playbook against them. A template
	// (or anything else) stored since then makes the put fail with
	// ErrConflict naming "Revision"; read and check again.
	CheckRevision bool
	Revision      int64
}

// PutPlaybookResult is the outcome of Store.PutPlaybook and
// Store.SetPaused.
type PutPlaybookResult struct {
	Playbook Playbook
	Skipped  int // jobs skipped by a resume
}

// SetPausedParams are the inputs of Store.SetPaused.
type SetPausedParams struct {
	Tenant        scrm.TenantID
	Playbook      string
	Paused        bool
	At            time.Time
	SkipDueBefore time.Time // on resume: pending jobs due before it are skipped
}

// PutCalendarParams are the inputs of Store.PutCalendar.
type PutCalendarParams struct {
	Calendar Calendar
	At       time.Time
	Posts    []PostSpec
}

// PostSpec is one post job to schedule: the first occurrence of an entry
// for one group.
type PostSpec struct {
	Entry int
	Group string
	Due   time.Time
}

// EnrollParams are the inputs of Store.Enroll.
type EnrollParams struct {
	Tenant   scrm.TenantID
	Playbook string
	Version  int64 // the playbook version the jobs were computed from
	Customer scrm.CustomerID
	Anchor   time.Time
	// AnchorDefaulted reports that the caller named no anchor and Anchor is
	// the default, the time of the call. A defaulted anchor is not part of
	// the request an IdempotencyKey stands for: a retry that again names
	// none is the same request, though its default is later. The Store
	// keeps it with the enrollment to compare replays (see Store.Enroll).
	AnchorDefaulted bool
	At              time.Time // now: EnrolledAt, and the time re-entry is judged at
	// IdempotencyKey, when set, makes the enrollment happen once per key
	// per customer and playbook.
	IdempotencyKey string
	Jobs           []JobSpec
}

// JobSpec is one job to schedule at enrollment.
type JobSpec struct {
	Step    string
	Variant string
	Due     time.Time
}

// EnrollResult is the outcome of Store.Enroll.
type EnrollResult struct {
	Enrollment Enrollment
	Replayed   bool // the idempotency key matched an existing enrollment
}

// ListEnrollmentsParams are the inputs of Store.Enrollments.
type ListEnrollmentsParams struct {
	Tenant     scrm.TenantID
	Customer   scrm.CustomerID
	Playbook   string // optional
	ActiveOnly bool
}

// EndEnrollmentsParams are the inputs of Store.EndEnrollments.
type EndEnrollmentsParams struct {
	Tenant   scrm.TenantID
	Playbook string
	Customer scrm.CustomerID
	Seq      int // 0: every active enrollment
	At       time.Time
	Reason   string
}

// ListJobsParams are the inputs of Store.Jobs: a customer's jobs
// (Customer, optionally one Playbook) or a calendar's posts (Calendar).
type ListJobsParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	Playbook string
	Calendar string
}

// ClaimParams are the inputs of Store.Claim.
type ClaimParams struct {
	Worker string
	At     time.Time
	Limit  int // 0 means 100; more than 10000 means 10000
	Lease  time.Duration
}

// AdmitParams are the inputs of Store.Admit.
type AdmitParams struct {
	Tenant   scrm.TenantID
	Job      string // the job ID
	Worker   string
	At       time.Time
	Customer scrm.CustomerID
	Channel  string
	Caps     []CapPeriod
}

// CapPeriod is one cap applied to a message: at most Max messages in the
// period [Start, End).
type CapPeriod struct {
	Max        int
	Per        Period
	Start, End time.Time
}

// AdmitResult is the outcome of Store.Admit.
type AdmitResult struct {
	Admitted bool
	Full     int // when not admitted: the index in Caps of the first full cap
}

// StartParams are the inputs of Store.Start.
type StartParams struct {
	Tenant scrm.TenantID
	Job    string // the job ID
	Worker string
	At     time.Time
}

// StartResult is the outcome of Store.Start.
type StartResult struct {
	// State is JobLeased (run the job), JobCancelled (its enrollment
	// ended) or JobPending (its playbook is paused; the job was given
	// back).
	State JobState
	// PlaybookVersion is the playbook's current stored version.
	PlaybookVersion int64
}

// CompleteParams are the inputs of Store.Complete.
type CompleteParams struct {
	Tenant scrm.TenantID
	Job    string // the job ID
	Worker string
	At     time.Time
	State  JobState // JobDone, JobSkipped or JobFailed
	Reason string
	// Task, for a Task action, is the staff task to create.
	Task *StaffTask
	// Touch records a message sent to the customer for attribution;
	// TouchKeep is how long touches are kept.
	Touch     bool
	TouchKeep time.Duration
	// Next, for a calendar post, is its next occurrence.
	Next time.Time
}

// RescheduleParams are the inputs of Store.Reschedule.
type RescheduleParams struct {
	Tenant scrm.TenantID
	Job    string
	Worker string
	At     time.Time
	Due    time.Time
	Retry  bool
	Reason string
}

// ListTasksParams are the inputs of Store.Tasks.
type ListTasksParams struct {
	Tenant scrm.TenantID
	Staff  string
	State  TaskState // empty: every state
}

// CompleteTaskParams are the inputs of Store.CompleteTask.
type CompleteTaskParams struct {
	Tenant scrm.TenantID
	ID     string
	At     time.Time
}

// AttributionKind is what Store.Attribute credits.
type AttributionKind string

// The attribution kinds.
const (
	Replied   AttributionKind = "replied"
	Converted AttributionKind = "converted"
)

// AttributeParams are the inputs of Store.Attribute.
type AttributeParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	Kind     AttributionKind
	At       time.Time
	Within   time.Duration
	// MessageID, optional, is the job ID of the message a reply answers:
	// only that touch is credited, and nothing when it is not recorded.
	// The Service sets it from a reply's Props "message_id" when that is
	// a job ID, never to a channel's own message ID.
	MessageID string
	ReplyType string // optional, for replies
}
