// Package sop runs SOP playbooks (标准作业流程): the standard sequence of
// touches after a moment that matters. A customer added the store manager
// (welcome within the hour), was tagged as a new lead (messages on day 1, 3,
// 8 and 15 at 10:00), bought (thank-you within a day, a repurchase coupon at
// T+21), or went quiet for 30 days (a wake-up coupon on the weekend).
//
// # Model
//
// A Playbook has a Trigger (an event type, a tag applied, a segment entered,
// inactivity; optionally narrowed by a When condition), Steps (each at an
// offset After the anchor, or on Day N at a local time At, optionally inside
// a daily Window and on given Weekdays; each doing one Action, or one of
// several A/B Variants), an Exit condition and a Reentry policy.
//
// Enrolling a customer materialises one Job per step in the Store, due at
// the step's time computed in the tenant's zone (Options.LocationOf). A
// local time that does not exist (a DST gap) moves forward by the gap; one
// that happens twice takes the first. The Store enforces the re-entry
// policy, so concurrent triggers enroll a customer once.
//
// The host calls RunDue (or Run) to deliver what is due. RunDue claims jobs
// with a lease, so two workers never run the same job, and a job whose
// worker died runs again after the lease with the same ID: the job ID is
// the scrm.Message ID and the idempotency key of grants, tag changes and
// staff tasks, so the effect happens once wherever the effect's receiver
// drops duplicates. Before each job RunDue checks the Exit condition and
// the tenant's Policy (quiet hours, caps per customer, channel and calendar
// period, rate limits per channel, suppress tags); failures are retried
// with exponential backoff, then recorded as failed.
//
// Pausing a playbook stops its sends; Resume skips (and records) the jobs
// that fell due more than Options.Grace before it, rather than blasting the
// backlog. Task actions create StaffTasks for staff accounts (Tasks,
// CompleteTask records on-time or late); when a customer's owner changes
// (a customer.owner_changed event, or ReassignTasks) their open tasks
// follow the customer to the new staff member. A Calendar posts to groups
// every week. Stats counts per step and variant: enrolled, sent, deferred,
// skipped, failed, cancelled, replied within 48 hours, converted within 7
// days, and reply types.
//
// # Content templates
//
// A Template (内容模板) is message text written once with text/template
// variables and rendered per customer:
//
//	{{.Name}}，您的{{yuan .CouponAmount}}元券明天到期
//
// Its Variants serve some customers another
// text (千人千面): the first whose When condition (a tag, a segment, any
// condition of the rule language) holds on the customer's profile wins,
// else the default Body. PutTemplate checks it when it is saved: the
// syntax, that each body reads only declared variables (Required,
// Optional, and the well-known Customer, Staff, Playbook and Step), and
// that its fixed text fits the channel's ContentLimit (SMS: 70 characters
// in one segment, 67 per segment beyond, at most 3 segments by default;
// WeCom: 4000 bytes).
//
// A Message or Task action whose Template is the ID of a stored Template is
// rendered when its job runs, from the action's Vars, the well-known fields
// and the customer's profile attributes, in that order; the text goes out
// in scrm.Message.Body (StaffTask.Body for a task). Any other name is the
// channel's own template and passes through with Vars, as it always did.
// A rendering that would leave a hole (a missing or blank variable that is
// not Optional, an execution error) or break the channel's limit is never
// sent: the job fails with the reason. Render previews a template for a
// customer or a sample profile.
//
// # Wiring
//
// Put the Service in the Dispatcher after the *scrm.Profiles, so triggers
// and exits read a profile that already includes the event:
//
//	profiles := scrm.NewMemoryProfileStore()
//	sops := sop.New(sop.NewMemoryStore(), profiles, &sop.Options{Channel: myChannel})
//	d := scrm.NewDispatcher(scrm.NewProfiles(profiles, nil), sops)
//	// ... d.Publish(ctx, event) as things happen; every minute:
//	res, err := sops.RunDue(ctx, sop.RunRequest{Worker: "worker-1"})
//
// The package does not import the tagging or segment packages: it learns of
// tags and segments from their tag.applied and segment.entered events, reads
// tags from profiles, and changes tags through the Tagger the host adapts.
//
// # Time
//
// Every decision takes the time from Options.Clock. Run is the only function
// that waits in real time (a time.Ticker the caller cannot inject); tests
// and simulations drive a fake clock (scrmtest.NewClock) and call RunDue.
//
// # Decisions
//
//   - Step times are fixed at enrollment. Editing a playbook changes what
//     pending jobs do (looked up by step ID when they run; skipped if the
//     step is gone), not when they are due. A job whose A/B variant the
//     step no longer has (the test was ended: the winner became the
//     step's Action) runs the step's Action, or, when variants were added
//     or replaced, the arm the customer gets now; Stats count it under the
//     variant it was scheduled with.
//   - A step with neither After nor Day/At is due at the anchor; Day N
//     without At is at the anchor's local time of day; a day-N time before
//     the anchor is due at the anchor.
//   - Windows and weekdays are part of the schedule and are applied at
//     enrollment and again at run time; quiet hours are policy and are
//     applied at run time, to messages and calendar posts only (staff tasks,
//     rewards and tags are not touches of the customer's phone).
//   - A time a step's window, weekdays or (for messages) quiet hours do
//     not allow moves to the earliest allowed time after it, found on
//     local calendar dates. A step due on a weekday it does not allow
//     moves to the next allowed day at the same local time of day when
//     that is allowed, else at the first allowed time after it that day,
//     else at that day's first allowed time (its window's opening, the end
//     of quiet hours): due Monday 23:00, Tuesdays only, quiet 22:00–08:00,
//     it goes out Tuesday 08:00. A window opening (or quiet hours' end) in
//     a DST gap moves forward by the gap, like any local time, and nothing
//     goes out at a local time the rules forbid.
//   - Customers are enrolled in paused playbooks; only sending stops. A
//     Pause also holds for the jobs a running batch claimed before it but
//     has not started: each job asks the Store whether it may start
//     (Store.Start) and a paused one is given back for the resume.
//   - An IdempotencyKey stands for the request as the caller sent it: an
//     Enroll without an Anchor (anchored at now) retried without one
//     replays the first enrollment, though now has moved on.
//   - A/B arms are chosen from a hash of (tenant, playbook, customer), so a
//     customer keeps the arm on every enrollment and steps with equal
//     weights put them in the same bucket.
//   - A job counts its claims in Attempts (a deferral gives the claim
//     back); a job claimed more than Options.MaxAttempts times without an
//     outcome, because its workers keep dying, fails.
//   - An exit (Exit, or the Exit condition) that lands while a job is
//     being run does not undo what the worker does: a message that went
//     out is recorded as sent, keeps its cap slot and is attributed
//     replies and orders; a job whose action was not done is cancelled.
//     A job its batch claimed but had not started is cancelled when it
//     comes to start (Store.Start), never sent. If the worker dies, the
//     job is cancelled when its lease expires.
//   - Resume treats a job whose worker died before the pause (its lease
//     expired) like a pending one at its due time: skipped if that is more
//     than Options.Grace before the resume.
//   - Cap counters count messages let through (Store.Admit) in calendar
//     periods of the tenant's zone, weeks starting on Monday; a message over
//     a Defer cap moves to the start of the next period (then to the next
//     allowed time).
//   - A calendar post more than Options.Grace late (a worker was down) is
//     skipped, not sent days later; the following week's is still
//     scheduled. Each occurrence is the entry's Weekday at its At on its
//     own local date, found by counting dates, not hours: an At in a DST
//     gap moves past the gap that day only, and a week holding a clock
//     change is still one week.
//   - Replies and orders are attributed to every message of the customer
//     inside the window, each message at most once per kind; a reply whose
//     Props "message_id" is a job ID ("sop:...") is attributed to that
//     message only, and to none when that message is outside the window or
//     forgotten. A "message_id" of another form (a channel's own ID) names
//     no message the package knows: the reply counts for the window.
//     Reply types come from the reply event's Props "reply_type".
//   - Rate limiters live in the Service: several Service instances over
//     one Store each get the configured rate.
//   - A policy fails closed. A stored policy that caps or rate-limits a
//     channel this Service does not know (set by a Service with other
//     Options.Channels) applies without those caps and limits (this
//     Service runs no step on such a channel) and with everything else,
//     quiet hours included; a stored policy this Service cannot compile
//     at all holds every message and calendar post back (deferred by
//     Options.RetryBase, the error in Job.Reason) until one it can apply
//     is stored. Nothing goes out unconstrained.
//   - Templates are versioned like playbooks (Version 0 creates, the version
//     read replaces) and only the latest version is kept; a job renders the
//     version stored when its RunDue call read the tenant's templates (once
//     per call and tenant, again for a job whose playbook changed since: a
//     template saved during a batch serves the next RunDue call's jobs).
//     There is no delete: an action that renders a template must never
//     silently turn into a channel-side name.
//   - Whether an action's Template is a content template is decided when
//     the job runs, by ID (among the templates its RunDue call read), so a
//     playbook may be saved before its template. Saving a playbook (or
//     calendar) that sends a stored template on another channel than the
//     template's is an error, and so is saving a template whose ID a
//     stored playbook sends on another channel; a playbook and a template
//     saved at the same moment are checked against each other too (the
//     Store makes each check and its write one atomic step, see
//     PutPlaybookParams.CheckRevision). A
//     stored template this Service cannot compile (stored under other
//     ContentLimits) fails the jobs that name it rather than passing them
//     through.
//   - Rendering failures are permanent (the data will not change by
//     retrying): the job fails at once, with the reason in Job.Reason, and
//     counts as failed in Stats. A task whose script cannot be rendered is
//     not created.
//   - A group post has no customer: its template renders the default Body
//     with the entry's Vars and Staff.
//   - On customer.owner_changed, the open tasks the previous owner (Props
//     "from") holds for the customer move to the new one (Props "to");
//     tasks of other staff stay (a playbook may assign a specialist), and
//     with no "from" (a first owner) every open task of the customer moves.
//     Done tasks keep their staff. Tasks that pending Task jobs will create
//     later go to the staff their action names. Changes count in the order
//     they happened (their change numbers, scrm.OwnerChange.Seq; the
//     event's Time for an event without one), not of delivery: a change
//     older than one already handled (a republished event) moves its
//     "from" tasks to the newer change's owner, and an older first owner
//     moves nothing, so they end with the current owner.
package sop
