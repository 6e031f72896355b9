package sop_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

// Pause stops every send of a playbook (Playbook.Paused; issue 8: "while
// paused nothing is sent"), including the jobs of a RunDue batch claimed
// before the pause that the batch has not started yet: each job asks the
// Store whether it may start (Store.Start), and a paused one is given back,
// not sent. Three customers are due and one batch claims them all; the
// operator pauses the campaign while the first message is being sent; the
// other two do not go out after Pause returned, and go out on Resume.
func TestPauseDuringBatchHoldsJobsNotYetStarted(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	var hook atomic.Pointer[func(scrm.Message)]
	e := newEnv(t, start, withSendHook(&hook))
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "blast")}}})
	for _, c := range []scrm.CustomerID{"c1", "c2", "c3"} {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: c})
		require.NoError(t, err)
	}
	f := func(m scrm.Message) {
		hook.Store(nil)
		// The operator sees the first message go out with a wrong text and
		// pauses the campaign at once.
		_, err := e.svc.Pause(e.ctx, "t1", "p")
		require.NoError(t, err)
	}
	hook.Store(&f)
	r, err := e.svc.RunDue(e.ctx, sop.RunRequest{Worker: "w1"})
	require.NoError(t, err)
	assert.Equal(t, 3, r.Claimed)
	assert.Len(t, e.rec.Messages(), 1, "messages sent after Pause returned")
	assert.Equal(t, 1, r.Sent)
	assert.Equal(t, 2, r.Paused)

	// Nothing goes out while paused; within the grace, Resume sends them.
	e.clock.Advance(10 * time.Minute)
	assert.Zero(t, e.run().Claimed)
	res, err := e.svc.Resume(e.ctx, "t1", "p")
	require.NoError(t, err)
	assert.Zero(t, res.Skipped)
	assert.Equal(t, 2, e.run().Sent)
	assert.Len(t, e.rec.Messages(), 3)
	st := stepStats(t, e, "p")["s"]
	assert.Equal(t, int64(3), st.Sent)
	assert.Zero(t, st.Deferred, "given back, not deferred")
}

// A Service that cannot compile the stored policy still never sends in the
// tenant's quiet hours (no messages at 3 a.m., DESIGN §2, issue 8). A
// policy stored by a Service whose Options.Channels names a host channel
// ("dingtalk", capped) is applied by a worker Service without that channel
// (a rolling deploy, a second process) without that channel's cap, on which
// it sends nothing, and with everything else: the WeCom message due at 03:00
// waits for the end of quiet hours at 08:00.
func TestPolicyWithUnknownChannelKeepsQuietHours(t *testing.T) {
	start := at(2026, 3, 2, 2, 0)
	e := newEnv(t, start)
	admin := sop.New(e.store, e.profiles, &sop.Options{Options: scrm.Options{Clock: e.clock},
		Channel: e.rec, Channels: []string{"dingtalk"}})
	_, err := admin.SetPolicy(e.ctx, "t1", sop.Policy{
		QuietHours: &sop.Window{Start: "22:00", End: "08:00"},
		Caps:       []sop.Cap{{Channel: "dingtalk", Max: 1, Per: sop.Day}},
	})
	require.NoError(t, err)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", After: time.Hour, Action: msg(scrm.ChannelWeCom, "night")}}})
	_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	e.runUntil(at(2026, 3, 2, 9, 0), 15*time.Minute)
	assert.Equal(t, []string{"2026-03-02 08:00 Mon night"}, e.sends("c1", shanghai),
		"the worker sent inside the tenant's quiet hours")
}

// A stored policy the Service cannot compile at all (written to the Store
// by another tool) fails closed: messages wait, with the reason on the
// job, until a policy the Service can apply is stored.
func TestUnloadablePolicyHoldsMessages(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	_, err := e.store.PutPolicy(e.ctx, "t1", sop.Policy{QuietHours: &sop.Window{Start: "25:00", End: "08:00"}})
	require.NoError(t, err)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "hi")}}})
	_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	r := e.runUntil(at(2026, 3, 2, 10, 30), 5*time.Minute)
	assert.Empty(t, e.rec.Messages())
	assert.Positive(t, r.Deferred)
	jobs, err := e.store.Jobs(e.ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
	require.NoError(t, err)
	assert.Equal(t, sop.JobPending, jobs[0].State)
	assert.True(t, strings.Contains(jobs[0].Reason, "policy"), jobs[0].Reason)

	_, err = e.svc.SetPolicy(e.ctx, "t1", sop.Policy{QuietHours: &sop.Window{Start: "22:00", End: "08:00"}})
	require.NoError(t, err)
	e.runUntil(at(2026, 3, 2, 11, 0), 5*time.Minute)
	assert.Len(t, e.rec.Messages(), 1)
}

// A step's After is bounded like Day (ten years, sop.MaxOffset): a step
// parked "for ever" with the largest duration (about 292 years, a due
// time past 2262 that int64 Unix nanoseconds cannot hold) is refused with
// ErrInvalid naming Steps[0].After, never sent at once.
func TestStepAfterBeyondTenYearsIsRefused(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	p := sop.Playbook{Tenant: "t1", ID: "p", Steps: []sop.Step{
		{ID: "later", After: time.Duration(1<<63 - 1), Action: msg(scrm.ChannelWeCom, "never")},
	}}
	if _, err := e.svc.PutPlaybook(e.ctx, p); err != nil {
		require.ErrorIs(t, err, scrm.ErrInvalid)
		assert.Equal(t, "Steps[0].After", fieldOf(t, err))
		return
	}
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	e.run()
	assert.Empty(t, e.rec.Messages(), "a step due in 292 years went out now")
}

// The other durations and the anchor are bounded too, so that every due
// time and re-entry time can be stored: Reentry.Cooldown and a task's
// Deadline at most sop.MaxOffset, an Enroll Anchor in the years 1900–2200.
// Ten years exactly is accepted.
func TestDurationsAndAnchorOutsideBoundsAreRefused(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	huge := time.Duration(1<<63 - 1)
	_, err := e.svc.PutPlaybook(e.ctx, sop.Playbook{Tenant: "t1", ID: "p", Reentry: sop.Reentry{Mode: sop.Always, Cooldown: huge},
		Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "x")}}})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Reentry.Cooldown", fieldOf(t, err))
	_, err = e.svc.PutPlaybook(e.ctx, sop.Playbook{Tenant: "t1", ID: "p",
		Steps: []sop.Step{{ID: "s", Action: sop.Action{Kind: sop.Task, Staff: "li", Template: "x", Deadline: huge}}}})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Steps[0].Action.Deadline", fieldOf(t, err))
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", After: sop.MaxOffset, Action: msg(scrm.ChannelWeCom, "x")}}})
	for _, a := range []time.Time{time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)} {
		_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1", Anchor: a})
		require.ErrorIs(t, err, scrm.ErrInvalid)
		assert.Equal(t, "Anchor", fieldOf(t, err))
	}
	en, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1", Anchor: time.Date(2200, 6, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	jobs, err := e.store.Jobs(e.ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
	require.NoError(t, err)
	assert.True(t, jobs[0].Due.Equal(en.Anchor.Add(sop.MaxOffset)), "due %s", jobs[0].Due)
	e.run()
	assert.Empty(t, e.rec.Messages())
}

// Ending an A/B test keeps the step for the customers mid-sequence: pending
// jobs "run the step with their step ID as it is when they run" (PutPlaybook,
// and sop's Decisions). The operator ends the test on day 1 the usual way:
// the winning arm's action becomes the step's Action and Variants are
// removed; the customer enrolled before gets the winner on day 3 (a job
// whose variant the step no longer has runs the step's Action).
func TestEndingABTestRunsTheWinnerForPendingJobs(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	p := e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "d3", Day: 3, At: "10:00", Variants: []sop.Variant{
		{ID: "A", Weight: 1, Action: msg(scrm.ChannelWeCom, "a")},
		{ID: "B", Weight: 1, Action: msg(scrm.ChannelWeCom, "b")},
	}}}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	// Day 1: B won; the step now sends b to everyone.
	e.clock.Advance(24 * time.Hour)
	p.Steps[0].Variants = nil
	p.Steps[0].Action = msg(scrm.ChannelWeCom, "b")
	e.put(p)
	r := e.runUntil(at(2026, 3, 5, 11, 0), time.Hour)
	assert.Equal(t, 0, r.Skipped)
	assert.Equal(t, []string{"2026-03-05 10:00 Thu b"}, e.sends("c1", shanghai),
		"the customer mid-sequence lost the day-3 touch")
}

// Adding an A/B test to a step keeps it for the customers enrolled before
// (their jobs carry no variant): each gets the arm it would be assigned now.
func TestVariantsAddedAfterEnrollmentRunTheCustomersArm(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	p := e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "d1", Day: 1, At: "10:00", Action: msg(scrm.ChannelWeCom, "plain")}}})
	customers := []scrm.CustomerID{"c1", "c2", "c3", "c4", "c5", "c6"}
	for _, c := range customers {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: c})
		require.NoError(t, err)
	}
	p.Steps[0].Action = sop.Action{}
	p.Steps[0].Variants = []sop.Variant{
		{ID: "A", Weight: 1, Action: msg(scrm.ChannelWeCom, "a")},
		{ID: "B", Weight: 1, Action: msg(scrm.ChannelWeCom, "b")},
	}
	e.put(p)
	r := e.runUntil(at(2026, 3, 3, 11, 0), time.Hour)
	assert.Equal(t, len(customers), r.Sent)
	for _, c := range customers {
		arm, err := e.svc.Arm(e.ctx, "t1", "p", "d1", c)
		require.NoError(t, err)
		assert.Equal(t, []string{"2026-03-03 10:00 Tue " + strings.ToLower(arm)}, e.sends(c, shanghai), c)
	}
}

// Exit ends an enrollment and cancels its remaining steps; only a step a
// worker has started may still go out. A customer replies 别发了 and the
// host calls Exit while a RunDue batch is sending to another customer; the
// batch already holds this customer's job (claimed, not started): after
// Exit returns, that job is cancelled when it comes to start, never sent.
func TestExitDuringBatchCancelsJobsNotYetStarted(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	var hook atomic.Pointer[func(scrm.Message)]
	e := newEnv(t, start, withSendHook(&hook))
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "promo")}}})
	for _, c := range []scrm.CustomerID{"c1", "c2"} {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: c})
		require.NoError(t, err)
	}
	f := func(m scrm.Message) {
		hook.Store(nil)
		// While c1's message is being sent, c2 asks not to be contacted.
		ended, err := e.svc.Exit(e.ctx, sop.ExitRequest{Tenant: "t1", Playbook: "p", Customer: "c2", Reason: "别发了"})
		require.NoError(t, err)
		require.Len(t, ended, 1)
	}
	hook.Store(&f)
	r, err := e.svc.RunDue(e.ctx, sop.RunRequest{Worker: "w1"})
	require.NoError(t, err)
	assert.Equal(t, 2, r.Claimed)
	assert.Empty(t, e.rec.For("c2"), "c2 got the message after Exit returned")
	assert.Equal(t, 1, r.Cancelled)
	jobs, err := e.store.Jobs(e.ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c2"})
	require.NoError(t, err)
	assert.Equal(t, sop.JobCancelled, jobs[0].State)
	assert.Equal(t, "别发了", jobs[0].Reason)
}
