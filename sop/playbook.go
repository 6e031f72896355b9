package sop

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// Playbook is an SOP: the standard sequence of touches after a moment that
// matters. A customer enters it when its Trigger fires (or when the host calls
// Enroll), and each Step then happens once at its own time, unless the Exit
// condition ends the enrollment first.
//
// A Playbook is a value; the Service and the Store copy it in and out.
type Playbook struct {
	Tenant scrm.TenantID
	ID     string
	Name   string

	// Trigger says which moment enrolls a customer. The zero Trigger means
	// the playbook is only entered through Service.Enroll.
	Trigger Trigger
	// Steps are the touches, each timed from the enrollment's anchor (the
	// time of the triggering event, or EnrollRequest.Anchor). At least one,
	// at most MaxSteps; their order does not matter, each has its own time.
	Steps []Step
	// Exit, when set, is checked before every step and on every event that
	// could change it; when it holds the enrollment ends and its remaining
	// steps are cancelled.
	Exit *rule.Condition
	// Reentry says whether a customer may enter again.
	Reentry Reentry
	// Paused stops every send of the playbook; see Service.Pause and
	// Service.Resume. Customers are still enrolled while it is paused.
	Paused bool

	// Version is the stored version: 0 to create, the version read to
	// update (optimistic concurrency). Set by the Store.
	Version int64
	// UpdatedAt is when the stored version was written. Set by the Store.
	UpdatedAt time.Time
}

// MaxSteps bounds the steps of a playbook.
const MaxSteps = 64

// MaxVariants bounds the A/B variants of a step.
const MaxVariants = 26

// Trigger is what enrolls a customer into a playbook: exactly one of Event,
// Tag, Segment and Inactive (or none, for playbooks entered only through
// Service.Enroll), optionally narrowed by When.
type Trigger struct {
	// Event enrolls on every event of this type (e.g. scrm.EventCustomerAdded,
	// scrm.EventOrderPaid). The anchor is the event's Time.
	Event string
	// Tag enrolls when the tag is applied (a scrm.EventTagApplied event whose
	// Props "tag" is Tag). Refreshes of a tag the customer already had
	// (Props "refreshed": true) do not trigger.
	Tag string
	// Segment enrolls when the customer enters the segment (a
	// scrm.EventSegmentEntered event whose Props "segment" is Segment).
	Segment string
	// Inactive enrolls customers who have gone quiet; Service.Sweep finds
	// them.
	Inactive *Inactivity
	// When, if set, must also hold on the customer's profile at the moment
	// of the trigger.
	When *rule.Condition
}

// IsZero reports whether the trigger is empty (enrollment only through
// Service.Enroll).
func (t Trigger) IsZero() bool {
	return t.Event == "" && t.Tag == "" && t.Segment == "" && t.Inactive == nil && t.When == nil
}

// Inactivity is an inactivity trigger: the customer's latest Event (any
// event type when Event is empty) is more than For ago. Customers who never
// had such an event are not inactive: they were never active.
type Inactivity struct {
	Event string
	For   time.Duration
}

// ReentryMode says whether a customer may enter a playbook again.
type ReentryMode string

// The re-entry modes.
const (
	// Once (the default, also the zero value "") enrolls each customer at
	// most once, ever.
	Once ReentryMode = "once"
	// AfterExit enrolls again only once the previous enrollment has ended
	// (all steps done, or exited), and at least Cooldown after it ended.
	AfterExit ReentryMode = "after_exit"
	// Always enrolls on every trigger, at least Cooldown after the previous
	// enrollment began; enrollments may overlap.
	Always ReentryMode = "always"
)

// Reentry is a playbook's re-entry policy. The Store enforces it, so two
// events racing to enroll the same customer enroll them once.
type Reentry struct {
	Mode ReentryMode // "" means Once
	// Cooldown is, for AfterExit, the wait from the end of the previous
	// enrollment; for Always, from its start. At most MaxOffset.
	Cooldown time.Duration
}

// Step is one touch of a playbook, at a time relative to the enrollment's
// anchor: either After (an offset: T+1h, T+24h, T+21d) or Day and At (day N
// after the anchor's local date, at a local "HH:MM"). With neither, the step
// is due at the anchor itself.
type Step struct {
	// ID names the step; unique within the playbook. Stats, task IDs and
	// message IDs carry it.
	ID string
	// After is an offset from the anchor, as a duration (24h is 24 hours,
	// even across a DST change), at most MaxOffset (ten years).
	After time.Duration
	// Day is the number of calendar days after the anchor's local date in
	// the tenant's zone (0: the same day), at most 3660 (ten years).
	Day int
	// At is the local time "HH:MM" on that day; empty means the anchor's
	// own local time of day. A time earlier than the anchor (Day 0 at 10:00
	// for a customer who arrived at 11:00) is due at the anchor. A local
	// time that does not exist (a DST gap) moves forward by the gap; one that
	// happens twice takes the first.
	At string
	// Window, if set, limits sends to between Start and End local time; a
	// step due outside it moves to the next opening.
	Window *Window
	// Weekdays, if set, limits sends to these weekdays (local); a step due
	// on another day moves to the next allowed one, at the same local time
	// of day if that is allowed, else at the first allowed time after it
	// that day, else at that day's first allowed time (the Window's
	// opening, or for a message the end of quiet hours).
	Weekdays []time.Weekday
	// Action is what the step does. A step with Variants leaves it empty.
	Action Action
	// Variants, if set, split customers between actions (A/B tests): each
	// customer gets one arm, chosen deterministically from the tenant,
	// playbook and customer, with probability Weight / (sum of weights).
	// The same customer gets the same arm on every enrollment, and the same
	// bucket across steps with equal weights.
	Variants []Variant
}

// Window is a daily span of local time, "HH:MM" to "HH:MM", start included,
// end excluded. An End before Start wraps past midnight (22:00–08:00).
type Window struct {
	Start string
	End   string
}

// Variant is one arm of an A/B test on a step.
type Variant struct {
	// ID names the arm in stats; default "A", "B", ... by position.
	ID string
	// Weight is the arm's share; 0 turns the arm off. The weights of a step
	// must add up to more than 0.
	Weight int
	Action Action
}

// ActionKind is what a step does.
type ActionKind string

// The action kinds.
const (
	// Message sends Template through Options.Channel to the customer,
	// rendered first when it names a content Template.
	Message ActionKind = "message"
	// Task creates a StaffTask for Staff (e.g. a WeCom mass message a person
	// must confirm), due within Deadline.
	Task ActionKind = "task"
	// Reward grants Reward through Options.Rewarder.
	Reward ActionKind = "reward"
	// Tag applies Tag through Options.Tagger.
	Tag ActionKind = "tag"
	// Untag removes Tag through Options.Tagger.
	Untag ActionKind = "untag"
)

// DefaultTaskDeadline is how long staff have to complete a Task action's
// StaffTask when the Action gives no Deadline.
const DefaultTaskDeadline = 24 * time.Hour

// Action is what a step (or a variant) does.
type Action struct {
	Kind ActionKind
	// Channel delivers a Message (scrm.ChannelWeCom, scrm.ChannelSMS, ...;
	// it must be known, see Options.Channels). For a Task, it says which
	// channel the staff member will use (optional).
	Channel string
	// Template is the content template of a Message or a Task: the ID of
	// one of the tenant's content Templates (see Service.PutTemplate),
	// which the Service renders for the customer when the job runs (the
	// text goes in scrm.Message.Body, or StaffTask.Body), or else the
	// channel's own template name, passed through for the channel to
	// render with Vars. The lookup is by ID when the job runs.
	Template string
	// Vars are template variables: passed on as they are in the
	// scrm.Message, and the first source of a content Template's
	// variables.
	Vars map[string]string
	// Staff is the staff account: the sender of a Message (WeCom), the
	// assignee of a Task (required for tasks).
	Staff string
	// Deadline is how long the staff member has to complete a Task; default
	// DefaultTaskDeadline, at most MaxOffset.
	Deadline time.Duration
	// Reward is granted by a Reward action.
	Reward scrm.Reward
	// Tag is applied by a Tag action and removed by an Untag action.
	Tag string
}

func (a Action) isZero() bool {
	return a.Kind == "" && a.Channel == "" && a.Template == "" && a.Vars == nil && a.Staff == "" &&
		a.Deadline == 0 && a.Reward.Kind == "" && a.Tag == ""
}
