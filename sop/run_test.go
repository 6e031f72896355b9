package sop_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/sop"
)

func TestConcurrentRunDueSendsEachTaskOnce(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "s1", Action: msg(scrm.ChannelWeCom, "a")},
		{ID: "s2", After: time.Second, Action: msg(scrm.ChannelWeCom, "b")},
		{ID: "s3", After: 2 * time.Second, Action: msg(scrm.ChannelWeCom, "c")},
		{ID: "s4", After: 3 * time.Second, Action: msg(scrm.ChannelWeCom, "d")},
	}})
	for i := range 2500 {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: scrm.CustomerID(fmt.Sprintf("c%04d", i))})
		require.NoError(t, err)
	}
	e.clock.Advance(time.Minute)

	var sent atomic.Int64
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r, err := e.svc.RunDue(e.ctx, sop.RunRequest{Limit: 37, Worker: fmt.Sprintf("w%d", w)})
				assert.NoError(t, err)
				if err != nil || r.Claimed == 0 {
					return
				}
				sent.Add(int64(r.Sent))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(10000), sent.Load())
	assert.Len(t, e.rec.Messages(), 10000)
	assert.Empty(t, e.rec.Duplicates())
	st := stepStats(t, e, "p")
	for _, s := range []string{"s1", "s2", "s3", "s4"} {
		assert.Equal(t, int64(2500), st[s].Sent, s)
	}
}

// crashingChannel records a message and then "crashes" its worker by
// cancelling the worker's context before the send is acknowledged.
type crashingChannel struct {
	rec    *scrmtest.Recorder
	cancel atomic.Pointer[context.CancelFunc]
}

func (c *crashingChannel) Send(ctx context.Context, m scrm.Message) (scrm.Receipt, error) {
	r, err := c.rec.Send(ctx, m)
	if f := c.cancel.Swap(nil); f != nil {
		(*f)()
	}
	return r, err
}

func TestCrashBetweenSendAndAckRedeliversSameID(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	clock := scrmtest.NewClock(start)
	ch := &crashingChannel{rec: scrmtest.NewRecorder()}
	svc := sop.New(sop.NewMemoryStore(), scrm.NewMemoryProfileStore(), &sop.Options{
		Options: scrm.Options{Clock: clock}, Channel: ch, Lease: time.Minute,
	})
	ctx := context.Background()
	_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: "t1", ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "hi")}}})
	require.NoError(t, err)
	_, err = svc.Enroll(ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)

	crashCtx, cancel := context.WithCancel(ctx)
	ch.cancel.Store(&cancel)
	_, err = svc.RunDue(crashCtx, sop.RunRequest{Worker: "dies"})
	require.Error(t, err, "the worker dies before recording the send")
	require.Len(t, ch.rec.Messages(), 1)

	// While the lease runs, nobody else takes the job.
	r, err := svc.RunDue(ctx, sop.RunRequest{Worker: "w2"})
	require.NoError(t, err)
	assert.Equal(t, 0, r.Claimed)

	clock.Advance(time.Minute) // the lease expires
	r, err = svc.RunDue(ctx, sop.RunRequest{Worker: "w2"})
	require.NoError(t, err)
	assert.Equal(t, 1, r.Sent)
	msgs := ch.rec.Messages()
	require.Len(t, msgs, 2)
	assert.Equal(t, msgs[0].ID, msgs[1].ID, "a redelivery carries the same message ID")
	assert.Equal(t, sop.JobID("t1", "p", "c1", 1, "s"), msgs[0].ID)
	assert.Equal(t, []string{msgs[0].ID}, ch.rec.Duplicates())

	jobs, err := svc.Jobs(ctx, "t1", "c1")
	require.NoError(t, err)
	assert.Equal(t, sop.JobDone, jobs[0].State)
	assert.Equal(t, 2, jobs[0].Attempts)
}

func TestRetriesWithBackoffThenFail(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	e := newEnv(t, start, func(o *sop.Options) { o.MaxAttempts = 3 })
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "hi")}}})
	enroll := func(c scrm.CustomerID) {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: c})
		require.NoError(t, err)
	}
	job := func(c scrm.CustomerID) sop.Job {
		jobs, err := e.svc.Jobs(e.ctx, "t1", c)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		return jobs[0]
	}

	// Two temporary failures, then success: retried after 1 and 2 minutes.
	enroll("c1")
	e.rec.FailNext(scrm.Errorf(scrm.ErrUnavailable, "wecom", "rate limited by provider"))
	e.rec.FailNext(fmt.Errorf("connection reset")) // unclassified: retryable
	r := e.run()
	assert.Equal(t, 1, r.Retried)
	j := job("c1")
	assert.Equal(t, sop.JobPending, j.State)
	assert.True(t, j.Due.Equal(start.Add(time.Minute)), "due %s", j.Due)
	assert.Contains(t, j.Reason, "rate limited")
	e.clock.Advance(time.Minute)
	r = e.run()
	assert.Equal(t, 1, r.Retried)
	assert.True(t, job("c1").Due.Equal(start.Add(3*time.Minute)))
	e.clock.Advance(2 * time.Minute)
	r = e.run()
	assert.Equal(t, 1, r.Sent)
	assert.Equal(t, sop.JobDone, job("c1").State)

	// A permanent failure fails at once.
	enroll("c2")
	e.rec.FailNext(scrm.Errorf(scrm.ErrForbidden, "wecom", "customer blocked the account"))
	r = e.run()
	assert.Equal(t, 1, r.Failed)
	assert.Equal(t, sop.JobFailed, job("c2").State)
	assert.Contains(t, job("c2").Reason, "blocked")

	// Out of attempts.
	enroll("c3")
	for range 3 {
		e.rec.FailNext(scrm.ErrUnavailable)
	}
	total := e.runUntil(e.clock.Now().Add(time.Hour), time.Minute)
	assert.Equal(t, 2, total.Retried)
	assert.Equal(t, 1, total.Failed)
	assert.Equal(t, sop.JobFailed, job("c3").State)
	assert.Contains(t, job("c3").Reason, "after 3 attempts")

	st := stepStats(t, e, "p")["s"]
	assert.Equal(t, int64(1), st.Sent)
	assert.Equal(t, int64(2), st.Failed)
	assert.Len(t, e.rec.Messages(), 1)
}

func TestWorkerWhoseLeaseExpiredCannotComplete(t *testing.T) {
	// A slow channel: the worker's lease expires mid-send and another
	// worker takes the job over; the slow worker's outcome is refused.
	start := at(2026, 3, 2, 10, 0)
	clock := scrmtest.NewClock(start)
	rec := scrmtest.NewRecorder()
	var svc *sop.Service
	var first atomic.Bool
	first.Store(true)
	slow := scrm.ChannelFunc(func(ctx context.Context, m scrm.Message) (scrm.Receipt, error) {
		if first.Swap(false) {
			clock.Advance(2 * time.Minute)
			r, err := svc.RunDue(ctx, sop.RunRequest{Worker: "fast"})
			assert.NoError(t, err)
			assert.Equal(t, 1, r.Sent)
		}
		return rec.Send(ctx, m)
	})
	svc = sop.New(sop.NewMemoryStore(), scrm.NewMemoryProfileStore(), &sop.Options{
		Options: scrm.Options{Clock: clock}, Channel: slow, Lease: time.Minute,
	})
	ctx := context.Background()
	_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: "t1", ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "hi")}}})
	require.NoError(t, err)
	_, err = svc.Enroll(ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	r, err := svc.RunDue(ctx, sop.RunRequest{Worker: "slow"})
	require.NoError(t, err)
	assert.Equal(t, 1, r.Lost)
	assert.Equal(t, 0, r.Sent)
	msgs := rec.Messages()
	require.Len(t, msgs, 2)
	assert.Equal(t, msgs[0].ID, msgs[1].ID)
	st, err := svc.Stats(ctx, "t1", "p")
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Steps[0].Sent, "counted once")
}

func TestRunLoopsUntilCancelled(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "x")}}})
	for i := range 250 { // more than a batch: Run drains full batches at once
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: scrm.CustomerID(fmt.Sprintf("c%d", i))})
		require.NoError(t, err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx, 10*time.Millisecond) }()
	require.Eventually(t, func() bool { return len(e.rec.Messages()) == 250 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.Empty(t, e.rec.Duplicates())
}
