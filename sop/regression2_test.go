package sop_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/sop"
)

// withSendHook wraps env's channel: before each send, hook (if set) runs with
// the message.
func withSendHook(hook *atomic.Pointer[func(scrm.Message)]) func(*sop.Options) {
	return func(o *sop.Options) {
		inner := o.Channel
		o.Channel = scrm.ChannelFunc(func(ctx context.Context, m scrm.Message) (scrm.Receipt, error) {
			if f := hook.Load(); f != nil {
				(*f)(m)
			}
			return inner.Send(ctx, m)
		})
	}
}

// An exit that lands while a message is being sent must not cancel the
// leased job and give its cap slot back, since the message went out: the
// customer would then get more messages than the cap allows.
func TestExitDuringSendKeepsCapSlot(t *testing.T) {
	start := at(2026, 3, 2, 10, 0) // Monday
	var hook atomic.Pointer[func(scrm.Message)]
	e := newEnv(t, start, withSendHook(&hook))
	_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{Caps: []sop.Cap{{Channel: scrm.ChannelWeCom, Max: 1, Per: sop.Day}}})
	require.NoError(t, err)
	e.put(sop.Playbook{ID: "a", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "a")}}})
	e.put(sop.Playbook{ID: "b", Steps: []sop.Step{{ID: "s", After: time.Hour, Action: msg(scrm.ChannelWeCom, "b")}}})
	for _, pb := range []string{"a", "b"} {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: pb, Customer: "c1"})
		require.NoError(t, err)
	}
	// While "a" is being sent, the customer exits playbook a (another
	// goroutine handled their order, say).
	f := func(m scrm.Message) {
		if m.Template == "a" {
			hook.Store(nil)
			_, err := e.svc.Exit(e.ctx, sop.ExitRequest{Tenant: "t1", Playbook: "a", Customer: "c1", Reason: "bought"})
			require.NoError(t, err)
		}
	}
	hook.Store(&f)
	e.run()
	require.Len(t, e.rec.For("c1"), 1, "a went out")

	e.runUntil(at(2026, 3, 2, 20, 0), 15*time.Minute)
	assert.Equal(t, []string{"2026-03-02 10:00 Mon a"}, e.sends("c1", shanghai),
		"cap 1 wecom/day: b must wait for Tuesday, the slot of the sent message a must stay taken")
}

// The retry backoff RetryBase·2^(n-1) must not overflow time.Duration for
// large attempt numbers and turn negative (a retry at once instead of after
// RetryMax).
func TestRetryBackoffNeverNegative(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	e := newEnv(t, start, func(o *sop.Options) {
		o.MaxAttempts = 40
		o.RetryBase = time.Minute
		o.RetryMax = time.Hour
	})
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "x")}}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	for range 40 {
		e.rec.FailNext(scrm.ErrUnavailable)
	}
	for n := 1; n < 35; n++ {
		r, err := e.svc.RunDue(e.ctx, sop.RunRequest{Worker: "w1"})
		require.NoError(t, err)
		require.Equal(t, 1, r.Retried, "try %d", n)
		jobs, err := e.svc.Jobs(e.ctx, "t1", "c1")
		require.NoError(t, err)
		now := e.clock.Now()
		want := min(time.Minute<<min(n-1, 20), time.Hour)
		require.True(t, jobs[0].Due.Equal(now.Add(want)), "try %d: retry due %s, want now+%s", n, jobs[0].Due.Sub(now), want)
		e.clock.Set(jobs[0].Due)
	}
}

// A reply naming its message (Props "message_id", a job ID) is attributed to
// that message only; when that message's touch has been forgotten (older
// than the attribution windows), the reply must not be credited to another
// step.
func TestReplyNamingOldMessageNotCreditedToAnother(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "d0", Action: msg(scrm.ChannelWeCom, "d0")},
		{ID: "d8", After: 8 * 24 * time.Hour, Action: msg(scrm.ChannelWeCom, "d8")},
	}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	e.runUntil(start.Add(8*24*time.Hour), time.Hour)
	require.Len(t, e.rec.For("c1"), 2)
	e.clock.Advance(time.Hour)
	// The customer answers the day-0 message (quoting it), 8 days later.
	e.publish("c1", scrm.EventMessageReplied, map[string]any{"message_id": sop.JobID("t1", "p", "c1", 1, "d0")})
	st := stepStats(t, e, "p")
	assert.Equal(t, int64(0), st["d0"].Replied, "outside the 48h window")
	assert.Equal(t, int64(0), st["d8"].Replied, "the reply names d0's message, not d8's")
}

// A job whose worker died (lease still held) when the playbook was paused
// must be skipped by Resume's grace rule even when no RunDue ran during the
// pause, not go out hours late after the resume.
func TestResumeSkipsJobWhoseWorkerDiedBeforePause(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	var hook atomic.Pointer[func(scrm.Message)]
	e := newEnv(t, start, withSendHook(&hook), func(o *sop.Options) { o.Lease = time.Minute; o.Grace = time.Hour })
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "x")}}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)

	// The worker dies before the channel call completes.
	ctx, cancel := context.WithCancel(e.ctx)
	f := func(scrm.Message) { hook.Store(nil); cancel() }
	hook.Store(&f)
	_, err = e.svc.RunDue(ctx, sop.RunRequest{Worker: "dies"})
	require.Error(t, err)
	require.Empty(t, e.rec.Messages())

	_, err = e.svc.Pause(e.ctx, "t1", "p")
	require.NoError(t, err)
	e.clock.Advance(5 * time.Hour) // workers down too
	res, err := e.svc.Resume(e.ctx, "t1", "p")
	require.NoError(t, err)
	e.run()
	assert.Empty(t, e.rec.Messages(), "due 5 hours before the resume, more than the grace: skipped")
	assert.Equal(t, 1, res.Skipped)
}

// A "message_id" that is not a job ID (the channel's own message ID) names
// no message the package knows: the reply counts for every message in the
// reply window, as one without it does.
func TestReplyNamingChannelMessageIDCountsForWindow(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "s1", Action: msg(scrm.ChannelWeCom, "s1")},
		{ID: "s2", After: time.Hour, Action: msg(scrm.ChannelWeCom, "s2")},
	}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	e.runUntil(start.Add(time.Hour), time.Hour)
	require.Len(t, e.rec.For("c1"), 2)
	e.clock.Advance(time.Hour)
	e.publish("c1", scrm.EventMessageReplied, map[string]any{"message_id": "wx-msg-8812"})
	st := stepStats(t, e, "p")
	assert.Equal(t, int64(1), st["s1"].Replied)
	assert.Equal(t, int64(1), st["s2"].Replied)
}

// When the Exit condition holds as a job comes to run, the job is
// cancelled (its worker reports it not done), counted as cancelled.
func TestExitConditionCancelsJobAtRun(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	exit := rule.Attr("unsubscribed").Eq(true)
	e.put(sop.Playbook{ID: "p", Exit: &exit, Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelSMS, "a")}}})
	_, err := scrm.NewProfiles(e.profiles, nil).Update(e.ctx, "t1", "c1", func(p *scrm.Profile) error {
		p.SetAttr("unsubscribed", true)
		return nil
	})
	require.NoError(t, err)
	_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	res := e.run()
	assert.Equal(t, 1, res.Cancelled)
	assert.Zero(t, res.Lost)
	assert.Empty(t, e.rec.For("c1"))
	jobs, err := e.svc.Jobs(e.ctx, "t1", "c1")
	require.NoError(t, err)
	assert.Equal(t, sop.JobCancelled, jobs[0].State)
	assert.Equal(t, "exit condition", jobs[0].Reason)
	assert.Equal(t, int64(1), stepStats(t, e, "p")["s"].Cancelled)
}
