package sop

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"golang.org/x/time/rate"

	"github.com/scrmkit/scrmkit/scrm"
)

// RunRequest asks RunDue for one batch.
type RunRequest struct {
	// Limit is the most jobs to claim; default Options.BatchSize.
	Limit int
	// Worker names this worker in leases; it must differ between workers
	// running at once. Default: a new random ID per call.
	Worker string
}

// RunResult counts what a RunDue batch did with the jobs it claimed.
type RunResult struct {
	Claimed  int // jobs claimed
	Sent     int // actions done: messages sent, tasks created, rewards granted, tags changed
	Deferred int // moved later by a window, weekday, quiet hours, a cap or a rate limit
	Skipped  int // dropped: suppressed, over a skip cap, step removed, post too late
	Failed   int // failed for good (permanent error, or out of attempts)
	Retried  int // failed for now, to be retried after a backoff
	// Cancelled counts jobs whose enrollment exited when they came to run,
	// or while they ran without their action being done.
	Cancelled int
	// Paused counts jobs given back not run because their playbook was
	// paused after the batch claimed them: they wait for Resume.
	Paused int
	// Lost counts jobs whose lease was lost before their outcome could be
	// recorded (the lease expired and another worker took them): they run
	// again, with the same ID.
	Lost int
}

func (r *RunResult) add(o outcome) {
	switch o {
	case sent:
		r.Sent++
	case deferred:
		r.Deferred++
	case skipped:
		r.Skipped++
	case failed:
		r.Failed++
	case retried:
		r.Retried++
	case cancelled:
		r.Cancelled++
	case paused:
		r.Paused++
	}
}

type outcome uint8

const (
	sent outcome = iota
	deferred
	skipped
	failed
	retried
	cancelled
	paused
)

// RunDue claims the jobs due now (at most req.Limit) and runs each: it
// first asks the Store whether the job may start (Store.Start), so that a
// Pause or an Exit that returned while the batch ran holds for every job
// the batch has not started yet (a paused job is given back for the
// resume, an exited one cancelled); it checks the enrollment's Exit
// (cancelling the rest of the enrollment when it holds), the step's window
// and weekdays and, for messages, the tenant's quiet hours, suppress tags,
// caps and rate limits (deferring or skipping), then performs the action:
// a scrm.Message through Options.Channel, a StaffTask, a scrm.Grant through
// Options.Rewarder, a tag change through Options.Tagger. The job's ID is the message ID and the idempotency key of
// each effect. A retryable failure is retried after an exponential backoff
// up to Options.MaxAttempts; then, or on a permanent failure, the job fails
// with the error.
//
// Two RunDue calls at once (in one process or many, over one Store) never
// run the same job while its lease lasts. A worker that dies mid-job loses
// its lease when it expires; the job then runs again with the same ID, so
// a Channel that drops IDs it has sent sends it once.
//
// It returns what the batch did, and an error only when the Store fails (the
// jobs it could not record run again after their lease).
func (s *Service) RunDue(ctx context.Context, req RunRequest) (RunResult, error) {
	const op = "sop.RunDue"
	var res RunResult
	worker := req.Worker
	if worker == "" {
		worker = s.opts.NewID()
	}
	if err := scrm.CheckID(op, "Worker", worker); err != nil {
		return res, err
	}
	limit := req.Limit
	if limit <= 0 {
		limit = s.opts.BatchSize
	}
	jobs, err := s.store.Claim(ctx, ClaimParams{Worker: worker, At: s.now(), Limit: limit, Lease: s.opts.Lease})
	if err != nil {
		return res, scrm.Wrap(nil, op, err)
	}
	res.Claimed = len(jobs)
	r := runner{s: s, worker: worker, tenants: make(map[scrm.TenantID]*tenantCache, 1)}
	for i := range jobs {
		o, err := r.run(ctx, &jobs[i])
		if errors.Is(err, scrm.ErrConflict) {
			res.Lost++
			s.opts.Logger.Warn("sop: lease lost", "job", jobs[i].ID, "err", err)
			continue
		}
		if err != nil {
			return res, scrm.Wrap(nil, op, err)
		}
		res.add(o)
	}
	return res, nil
}

// Run calls RunDue every interval until ctx ends, draining full batches at
// once, and returns ctx's error. It is the only place in the package that
// waits in real time: a time.Ticker paces it, not Options.Clock, so tests
// and simulations call RunDue instead. Store failures are logged and
// retried on the next tick.
func (s *Service) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return scrm.Invalid("sop.Run", "every", "must be positive, got %s", every)
	}
	worker := s.opts.NewID()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			res, err := s.RunDue(ctx, RunRequest{Worker: worker})
			if err != nil {
				if ctx.Err() == nil {
					s.opts.Logger.Error("sop: RunDue failed", "err", err)
				}
				break
			}
			if res.Claimed < s.opts.BatchSize {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// runner runs the jobs of one batch, loading each tenant's cache once.
type runner struct {
	s       *Service
	worker  string
	tenants map[scrm.TenantID]*tenantCache
}

func (r *runner) tenant(ctx context.Context, t scrm.TenantID, fresh bool) (*tenantCache, error) {
	if tc := r.tenants[t]; tc != nil && !fresh {
		return tc, nil
	}
	tc, err := r.s.tenant(ctx, t)
	if err != nil {
		return nil, err
	}
	r.tenants[t] = tc
	return tc, nil
}

func (r *runner) run(ctx context.Context, j *Job) (outcome, error) {
	tc, err := r.tenant(ctx, j.Tenant, false)
	if err != nil {
		return 0, err
	}
	now := r.s.now()
	if j.Attempts > r.s.opts.MaxAttempts {
		// Claimed again and again without an outcome: its worker keeps dying.
		return r.complete(ctx, j, now, JobFailed, fmt.Sprintf("gave up after %d attempts whose leases expired", j.Attempts-1), nil, tc)
	}
	if j.IsPost() {
		return r.post(ctx, tc, j, now)
	}
	// Ask the Store whether the job may start: a Pause or an Exit may have
	// returned since the batch was claimed.
	start, err := r.s.store.Start(ctx, StartParams{Tenant: j.Tenant, Job: j.ID, Worker: r.worker, At: now})
	if err != nil {
		return 0, err
	}
	switch start.State {
	case JobCancelled:
		return cancelled, nil
	case JobPending:
		return paused, nil
	}
	j.PlaybookVersion = max(j.PlaybookVersion, start.PlaybookVersion)
	cp := tc.playbooks[j.Playbook]
	if cp == nil || cp.pb.Version < j.PlaybookVersion {
		if tc, err = r.tenant(ctx, j.Tenant, true); err != nil {
			return 0, err
		}
		cp = tc.playbooks[j.Playbook]
	}
	if cp == nil {
		return r.complete(ctx, j, now, JobSkipped, "playbook not loadable", nil, tc)
	}
	i, ok := cp.byID[j.Step]
	if !ok {
		return r.complete(ctx, j, now, JobSkipped, "step removed from the playbook", nil, tc)
	}
	st := &cp.steps[i]
	action := st.actionFor(j)
	var prof *scrm.Profile
	if cp.exit != nil {
		if prof, err = r.s.profile(ctx, j.Tenant, j.Customer); err != nil {
			return 0, err
		}
		if cp.exit.Eval(prof, now) {
			_, err := r.s.store.EndEnrollments(ctx, EndEnrollmentsParams{Tenant: j.Tenant, Playbook: j.Playbook,
				Customer: j.Customer, Seq: j.Seq, At: now, Reason: "exit condition"})
			if err != nil {
				return 0, err
			}
			// This job, leased to us, was left to its lease holder: report
			// it not done, which cancels it.
			return r.complete(ctx, j, now, JobSkipped, "exit condition", nil, tc)
		}
	}
	cons := st.cons
	pol := tc.policy
	if action.Kind == Message {
		if pol.err != nil {
			return r.policyBroken(ctx, j, now, pol)
		}
		cons.quiet = pol.quiet
	}
	next, ok := cons.next(now, tc.loc)
	if !ok {
		return r.complete(ctx, j, now, JobSkipped, "the step's window lies inside quiet hours", nil, tc)
	}
	if next.After(now) {
		return r.defer_(ctx, j, now, next, "outside the allowed hours")
	}
	switch action.Kind {
	case Message:
		return r.message(ctx, tc, cp, st, j, action, prof, now)
	case Task:
		deadline := action.Deadline
		if deadline <= 0 {
			deadline = DefaultTaskDeadline
		}
		task := &StaffTask{ID: j.ID, Staff: action.Staff, Customer: j.Customer, Playbook: j.Playbook, Step: j.Step,
			Variant: j.Variant, Channel: action.Channel, Template: action.Template, Vars: action.Vars,
			CreatedAt: now, DueBy: now.Add(deadline)}
		body, fail, err := r.content(ctx, tc, j, action, &prof, now)
		if err != nil {
			return 0, err
		}
		if fail != nil {
			return r.complete(ctx, j, now, JobFailed, fail.Error(), nil, tc)
		}
		task.Body = body
		return r.complete(ctx, j, now, JobDone, "", task, tc)
	case Reward:
		err = r.s.opts.Rewarder.Grant(ctx, scrm.Grant{Tenant: j.Tenant, Customer: j.Customer, Reward: action.Reward,
			IdempotencyKey: j.ID, Source: "sop:" + j.Playbook + ":" + j.Step})
	case Tag, Untag:
		req := TagRequest{Tenant: j.Tenant, Customer: j.Customer, Tag: action.Tag,
			Source: "sop:" + j.Playbook + ":" + j.Step, Reason: "SOP " + j.Playbook + ", step " + j.Step, IdempotencyKey: j.ID}
		if action.Kind == Tag {
			err = r.s.opts.Tagger.Apply(ctx, req)
		} else {
			err = r.s.opts.Tagger.Remove(ctx, req)
		}
	}
	if err != nil {
		return r.failed(ctx, j, now, err, time.Time{}, tc)
	}
	return r.complete(ctx, j, now, JobDone, "", nil, tc)
}

// actionFor returns the action job j runs on the step: its variant's. When
// the step no longer has that variant (an A/B test ended, or one was added
// after the job was scheduled), it is the step's Action for a step without
// variants now, or the arm the customer gets now (see Service.Arm).
func (st *compiledStep) actionFor(j *Job) Action {
	if len(st.arms) == 0 {
		return st.action
	}
	for i := range st.arms {
		if st.arms[i].ID == j.Variant {
			return st.arms[i].Action
		}
	}
	return st.arms[st.arm(armBucket(j.Tenant, j.Playbook, j.Customer))].Action
}

// message applies the policy to a message job and sends it.
func (r *runner) message(ctx context.Context, tc *tenantCache, cp *compiledPlaybook, st *compiledStep, j *Job, a Action, prof *scrm.Profile, now time.Time) (outcome, error) {
	pol := tc.policy
	if len(pol.suppress) > 0 {
		if prof == nil {
			var err error
			if prof, err = r.s.profile(ctx, j.Tenant, j.Customer); err != nil {
				return 0, err
			}
		}
		for _, tag := range pol.suppress {
			if _, ok := prof.Tag(tag); ok && !expired(prof, tag, now) {
				return r.complete(ctx, j, now, JobSkipped, "suppressed: the customer has tag "+tag, nil, tc)
			}
		}
	}
	body, fail, err := r.content(ctx, tc, j, a, &prof, now)
	if err != nil {
		return 0, err
	}
	if fail != nil {
		return r.complete(ctx, j, now, JobFailed, fail.Error(), nil, tc)
	}
	if caps := pol.caps[a.Channel]; len(caps) > 0 {
		periods := make([]CapPeriod, len(caps))
		for i, c := range caps {
			start, end := periodStart(c.Per, now, tc.loc)
			periods[i] = CapPeriod{Max: c.Max, Per: c.Per, Start: start, End: end}
		}
		res, err := r.s.store.Admit(ctx, AdmitParams{Tenant: j.Tenant, Job: j.ID, Worker: r.worker, At: now,
			Customer: j.Customer, Channel: a.Channel, Caps: periods})
		if err != nil {
			return 0, err
		}
		if !res.Admitted {
			c := caps[res.Full]
			why := fmt.Sprintf("cap: %d %s messages per %s", c.Max, c.Channel, c.Per)
			if c.OnExceed == Skip {
				return r.complete(ctx, j, now, JobSkipped, why, nil, tc)
			}
			cons := st.cons
			cons.quiet = pol.quiet
			next, ok := cons.next(periods[res.Full].End, tc.loc)
			if !ok {
				return r.complete(ctx, j, now, JobSkipped, why, nil, tc)
			}
			return r.defer_(ctx, j, now, next, why)
		}
	}
	if delay, limited := r.s.rateDelay(j.Tenant, a.Channel, pol.p.RateLimits, now); limited {
		return r.defer_(ctx, j, now, now.Add(delay), "rate limit of channel "+a.Channel)
	}
	m := scrm.Message{ID: j.ID, Tenant: j.Tenant, Customer: j.Customer, Channel: a.Channel, Staff: a.Staff,
		Template: a.Template, Body: body, Vars: maps.Clone(a.Vars)}
	if _, err := r.s.opts.Channel.Send(ctx, m); err != nil {
		return r.failed(ctx, j, now, err, time.Time{}, tc)
	}
	done, err := r.s.store.Complete(ctx, CompleteParams{Tenant: j.Tenant, Job: j.ID, Worker: r.worker, At: now,
		State: JobDone, Touch: true, TouchKeep: max(r.s.opts.ReplyWindow, r.s.opts.ConversionWindow)})
	if err != nil {
		return 0, err
	}
	return outcomeOf(done.State), nil
}

// content renders the content template a step's action names, reading the
// customer's profile into *prof if it is not loaded yet. It returns "" for
// an action without one (a channel-side template name: the channel renders
// it with Vars); fail is a rendering failure, to be recorded on the job;
// err a store failure.
func (r *runner) content(ctx context.Context, tc *tenantCache, j *Job, a Action, prof **scrm.Profile, now time.Time) (body string, fail, err error) {
	if tc.templates[a.Template] == nil {
		return "", nil, nil
	}
	if *prof == nil {
		if *prof, err = r.s.profile(ctx, j.Tenant, j.Customer); err != nil {
			return "", nil, err
		}
	}
	in := renderInput{prof: *prof, vars: a.Vars, customer: j.Customer, staff: a.Staff, playbook: j.Playbook, step: j.Step, now: now}
	body, fail = r.s.renderAction(tc, a.Channel, a.Template, &in)
	if fail != nil {
		r.s.opts.Logger.Warn("sop: template not rendered", "job", j.ID, "err", fail)
	}
	return body, fail, nil
}

// expired reports whether the customer's tag has expired at now.
func expired(p *scrm.Profile, tag string, now time.Time) bool {
	exp, ok := p.TagExpiry(tag)
	return ok && !exp.IsZero() && !now.Before(exp)
}

// post runs a calendar post: quiet hours and rate limits apply; the next
// weekly occurrence is scheduled whatever the outcome.
func (r *runner) post(ctx context.Context, tc *tenantCache, j *Job, now time.Time) (outcome, error) {
	cal, err := tc.calendar(ctx, r.s.store, j.Tenant, j.Calendar)
	if err != nil {
		return 0, err
	}
	if cal == nil || j.Entry >= len(cal.Entries) {
		return r.complete(ctx, j, now, JobSkipped, "calendar entry removed", nil, tc)
	}
	e := cal.Entries[j.Entry]
	next := postNext(cal, j, now, tc.loc)
	if now.Sub(j.Due) > r.s.opts.Grace {
		return r.completePost(ctx, j, now, JobSkipped, "missed: more than the grace late", next)
	}
	if tc.policy.err != nil {
		return r.policyBroken(ctx, j, now, tc.policy)
	}
	// A group post has no customer: a content template renders its default
	// Body with the entry's Vars and the Staff field.
	body, fail := r.s.renderAction(tc, e.Channel, e.Template, &renderInput{vars: e.Vars, staff: e.Staff, now: now})
	if fail != nil {
		r.s.opts.Logger.Warn("sop: template not rendered", "job", j.ID, "err", fail)
		return r.completePost(ctx, j, now, JobFailed, fail.Error(), next)
	}
	pol := tc.policy
	if n, ok := (constraints{quiet: pol.quiet}).next(now, tc.loc); ok && n.After(now) {
		return r.defer_(ctx, j, now, n, "quiet hours")
	}
	if delay, limited := r.s.rateDelay(j.Tenant, e.Channel, pol.p.RateLimits, now); limited {
		return r.defer_(ctx, j, now, now.Add(delay), "rate limit of channel "+e.Channel)
	}
	m := scrm.Message{ID: j.ID, Tenant: j.Tenant, Group: j.Group, Channel: e.Channel, Staff: e.Staff,
		Template: e.Template, Body: body, Vars: maps.Clone(e.Vars)}
	if _, err := r.s.opts.Channel.Send(ctx, m); err != nil {
		return r.failed(ctx, j, now, err, next, tc)
	}
	return r.completePost(ctx, j, now, JobDone, "", next)
}

// nextOccurrence returns the first weekly repeat of occ after now (and
// after occ): the same local weekday and time of day, on a date a whole
// number of weeks later. Weeks are counted in local calendar dates, not in
// hours (a week holding a DST change is 167 or 169 hours long).
func nextOccurrence(occ, now time.Time, loc *time.Location) time.Time {
	lo := occ.In(loc)
	return firstOccurrence(lo.Weekday(), lo.Hour()*60+lo.Minute(), later(occ, now).Add(time.Nanosecond), loc)
}

// postNext returns the occurrence that follows post j when it runs at now:
// the next local Weekday at At of its calendar entry after now. Each
// occurrence is placed on its own date from the entry's At, so a time in a
// DST gap moves past the gap on that date only and the next week is back
// at At. When the entry is gone (cal nil or shorter), the post repeats its
// last occurrence's weekday and time of day.
func postNext(cal *Calendar, j *Job, now time.Time, loc *time.Location) time.Time {
	if cal != nil && j.Entry < len(cal.Entries) {
		e := &cal.Entries[j.Entry]
		if mod, err := parseClock(e.At); err == nil {
			return firstOccurrence(e.Weekday, mod, later(j.Scheduled, now).Add(time.Nanosecond), loc)
		}
	}
	return nextOccurrence(j.Scheduled, now, loc)
}

// later returns the later of two instants.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (r *runner) completePost(ctx context.Context, j *Job, now time.Time, state JobState, reason string, next time.Time) (outcome, error) {
	_, err := r.s.store.Complete(ctx, CompleteParams{Tenant: j.Tenant, Job: j.ID, Worker: r.worker, At: now,
		State: state, Reason: reason, Next: next})
	if err != nil {
		return 0, err
	}
	return outcomeOf(state), nil
}

// outcomeOf returns the outcome of a job ended in state: the state asked
// of Store.Complete, or the one it returned (JobCancelled when the
// enrollment ended while the job ran).
func outcomeOf(state JobState) outcome {
	switch state {
	case JobDone:
		return sent
	case JobSkipped:
		return skipped
	case JobCancelled:
		return cancelled
	}
	return failed
}

func (r *runner) complete(ctx context.Context, j *Job, now time.Time, state JobState, reason string, task *StaffTask, tc *tenantCache) (outcome, error) {
	if j.IsPost() {
		cal, err := tc.calendar(ctx, r.s.store, j.Tenant, j.Calendar)
		if err != nil {
			return 0, err
		}
		return r.completePost(ctx, j, now, state, reason, postNext(cal, j, now, tc.loc))
	}
	got, err := r.s.store.Complete(ctx, CompleteParams{Tenant: j.Tenant, Job: j.ID, Worker: r.worker, At: now,
		State: state, Reason: reason, Task: task})
	if err != nil {
		return 0, err
	}
	return outcomeOf(got.State), nil
}

// policyBroken defers a message or a post while the tenant's stored policy
// does not compile in this Service: without it, quiet hours and caps
// cannot be known, so nothing goes out (see Service.loadPolicy).
func (r *runner) policyBroken(ctx context.Context, j *Job, now time.Time, pol *compiledPolicy) (outcome, error) {
	return r.defer_(ctx, j, now, now.Add(r.s.opts.RetryBase), "the tenant's policy does not load in this Service: "+pol.err.Error())
}

// defer_ gives the job back, due at next.
func (r *runner) defer_(ctx context.Context, j *Job, now, next time.Time, why string) (outcome, error) {
	got, err := r.s.store.Reschedule(ctx, RescheduleParams{Tenant: j.Tenant, Job: j.ID, Worker: r.worker, At: now,
		Due: next, Reason: "deferred: " + why})
	if err != nil {
		return 0, err
	}
	if got.State == JobCancelled {
		return cancelled, nil // its enrollment ended while it ran
	}
	return deferred, nil
}

// failed retries the job after a backoff when err is retryable and
// attempts remain, and fails it otherwise. next is a post's next occurrence.
func (r *runner) failed(ctx context.Context, j *Job, now time.Time, err error, next time.Time, tc *tenantCache) (outcome, error) {
	if ctx.Err() != nil {
		// Our own context ended mid-send: leave the job leased, so it runs
		// again once the lease expires.
		return 0, scrm.Wrap(scrm.ErrUnavailable, "sop.RunDue", ctx.Err())
	}
	if errors.Is(scrm.CodeOf(err), scrm.ErrUnavailable) && j.Attempts < r.s.opts.MaxAttempts {
		backoff := retryBackoff(r.s.opts.RetryBase, r.s.opts.RetryMax, j.Attempts)
		got, serr := r.s.store.Reschedule(ctx, RescheduleParams{Tenant: j.Tenant, Job: j.ID, Worker: r.worker, At: now,
			Due: now.Add(backoff), Retry: true, Reason: err.Error()})
		if serr != nil {
			return 0, serr
		}
		if got.State == JobCancelled {
			return cancelled, nil // its enrollment ended while it ran
		}
		return retried, nil
	}
	reason := err.Error()
	if j.Attempts >= r.s.opts.MaxAttempts && errors.Is(scrm.CodeOf(err), scrm.ErrUnavailable) {
		reason = fmt.Sprintf("after %d attempts: %s", j.Attempts, reason)
	}
	if j.IsPost() {
		return r.completePost(ctx, j, now, JobFailed, reason, next)
	}
	return r.complete(ctx, j, now, JobFailed, reason, nil, tc)
}

// retryBackoff returns the wait before retrying a job whose try number
// attempts failed: base·2^(attempts-1), at most limit. The shift is taken
// only when base<<shift stays at or below limit, so the wait never
// overflows into a negative duration (a retry due in the past), however
// many attempts Options.MaxAttempts allows.
func retryBackoff(base, limit time.Duration, attempts int) time.Duration {
	if shift := max(attempts-1, 0); shift < 63 && base <= limit>>shift {
		return base << shift
	}
	return limit
}

// limitKey identifies a rate limiter: one per tenant and channel.
type limitKey struct {
	tenant  scrm.TenantID
	channel string
}

type limiter struct {
	cfg RateLimit
	lim *rate.Limiter
}

// rateDelay takes a token from the channel's limiter at now (the Clock's
// time, never a wait) and reports how long to defer when there is none.
func (s *Service) rateDelay(tenant scrm.TenantID, channel string, limits map[string]RateLimit, now time.Time) (time.Duration, bool) {
	cfg, ok := limits[channel]
	if !ok {
		return 0, false
	}
	burst := cfg.Burst
	if burst <= 0 {
		burst = cfg.N
	}
	k := limitKey{tenant, channel}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limits[k]
	if l == nil || l.cfg != cfg {
		every := rate.Every(cfg.Per / time.Duration(cfg.N))
		if cfg.Per/time.Duration(cfg.N) <= 0 {
			every = rate.Inf
		}
		l = &limiter{cfg: cfg, lim: rate.NewLimiter(every, burst)}
		s.limits[k] = l
	}
	if l.lim.AllowN(now, 1) {
		return 0, false
	}
	res := l.lim.ReserveN(now, 1)
	if !res.OK() {
		return cfg.Per, true
	}
	d := res.DelayFrom(now)
	res.CancelAt(now)
	if d <= 0 {
		d = time.Millisecond
	}
	return d, true
}
