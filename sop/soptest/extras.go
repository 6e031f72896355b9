package soptest

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
	"github.com/scrmkit/scrmkit/sop"
)

func testCaps(t *testing.T, newStore func(t *testing.T) sop.Store) {
	month := []sop.CapPeriod{{Max: 3, Per: sop.Month, Start: t0.AddDate(0, 0, -1), End: t0.AddDate(0, 1, -1)}}
	admit := func(s sop.Store, j sop.Job, worker string, caps []sop.CapPeriod) (sop.AdmitResult, error) {
		return s.Admit(ctx, sop.AdmitParams{Tenant: "t1", Job: j.ID, Worker: worker, At: t0, Customer: j.Customer,
			Channel: scrm.ChannelSMS, Caps: caps})
	}

	t.Run("ExactlyMaxUnderConcurrency", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		p.Reentry = sop.Reentry{Mode: sop.Always}
		p = put(t, s, p)
		const n = 40
		for range n {
			params := enrollParams(p, "c1", t0)
			_, err := s.Enroll(ctx, params)
			require.NoError(t, err)
		}
		jobs := claim(t, s, "w", t0, n)
		require.Len(t, jobs, n)
		var admitted atomic.Int32
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := admit(s, j, "w", month)
				if assert.NoError(t, err) && res.Admitted {
					admitted.Add(1)
					_, err := complete(s, j, "w", t0, sop.JobDone)
					assert.NoError(t, err)
				} else if err == nil {
					assert.Equal(t, 0, res.Full)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(3), admitted.Load(), "exactly the cap")
	})

	t.Run("SlotsHeldAndReleased", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 3))
		enroll(t, s, p, "c1", t0, t0, t0)
		jobs := claim(t, s, "w", t0, 3)
		one := []sop.CapPeriod{{Max: 1, Per: sop.Day, Start: t0.Truncate(24 * time.Hour), End: t0.Truncate(24 * time.Hour).Add(24 * time.Hour)}}
		res, err := admit(s, jobs[0], "w", one)
		require.NoError(t, err)
		assert.True(t, res.Admitted)
		res, err = admit(s, jobs[0], "w", one)
		require.NoError(t, err)
		assert.True(t, res.Admitted, "the same job again: it holds its slot")
		res, err = admit(s, jobs[1], "w", one)
		require.NoError(t, err)
		assert.False(t, res.Admitted)
		// The first job is deferred: its slot comes back.
		_, err = s.Reschedule(ctx, sop.RescheduleParams{Tenant: "t1", Job: jobs[0].ID, Worker: "w", At: t0, Due: t0.Add(time.Hour)})
		require.NoError(t, err)
		res, err = admit(s, jobs[1], "w", one)
		require.NoError(t, err)
		assert.True(t, res.Admitted)
		_, err = complete(s, jobs[1], "w", t0, sop.JobDone)
		require.NoError(t, err)
		res, err = admit(s, jobs[2], "w", one)
		require.NoError(t, err)
		assert.False(t, res.Admitted, "a sent message keeps its slot")
		// Another customer, another channel, or the next period: not counted.
		_, err = s.Admit(ctx, sop.AdmitParams{Tenant: "t1", Job: jobs[2].ID, Worker: "w", At: t0, Customer: "c1",
			Channel: scrm.ChannelWeCom, Caps: one})
		require.NoError(t, err)
		_, err = admit(s, sop.Job{ID: jobs[2].ID, Customer: "c1"}, "other", one)
		assert.ErrorIs(t, err, scrm.ErrConflict, "only the lease holder")
	})
}

func testPause(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("PausedJobsWaitAndResumeSkipsOld", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 3))
		other := put(t, s, playbook("t1", "p2", 1))
		enroll(t, s, p, "c1", t0, t0.Add(2*time.Hour), t0.Add(5*time.Hour))
		enroll(t, s, other, "c1", t0.Add(time.Hour))
		res, err := s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: true, At: t0})
		require.NoError(t, err)
		assert.True(t, res.Playbook.Paused)
		assert.Equal(t, p.Version+1, res.Playbook.Version)
		p = res.Playbook
		got, err := s.GetPlaybook(ctx, "t1", "p1")
		require.NoError(t, err)
		assert.True(t, got.Paused)

		jobs := claim(t, s, "w", t0.Add(3*time.Hour), 10)
		require.Len(t, jobs, 1, "only the other playbook's job")
		assert.Equal(t, "p2", jobs[0].Playbook)

		// Enrollment continues while paused.
		enroll(t, s, p, "c2", t0.Add(3*time.Hour))

		res, err = s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: false,
			At: t0.Add(3 * time.Hour), SkipDueBefore: t0.Add(90 * time.Minute)})
		require.NoError(t, err)
		assert.Equal(t, 1, res.Skipped, "s1 of c1, due at t0")
		jobs = claim(t, s, "w", t0.Add(3*time.Hour), 10)
		var got2 []string
		for _, j := range jobs {
			got2 = append(got2, string(j.Customer)+"/"+j.Step)
		}
		assert.Equal(t, []string{"c1/s2", "c2/s1"}, got2)
		st := stats(t, s, "t1", "p1")
		assert.Equal(t, int64(1), st["s1"].Skipped)
		cj, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1", Playbook: "p1"})
		require.NoError(t, err)
		assert.Equal(t, sop.JobSkipped, cj[0].State)
		assert.Equal(t, "paused", cj[0].Reason)

		res, err = s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: false, At: t0.Add(4 * time.Hour), SkipDueBefore: t0.Add(4 * time.Hour)})
		require.NoError(t, err)
		assert.Zero(t, res.Skipped, "resuming a running playbook changes nothing")
	})

	t.Run("ExpiredLeaseOfPausedPlaybookWaits", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		leased := claim(t, s, "w1", t0, 1)
		require.Len(t, leased, 1)
		_, err := s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: true, At: t0})
		require.NoError(t, err)
		assert.Empty(t, claim(t, s, "w2", t0.Add(2*lease), 10), "the expired lease is not handed out while paused")
		_, err = complete(s, leased[0], "w1", t0.Add(2*lease), sop.JobDone)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, err = s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: false, At: t0.Add(2 * lease), SkipDueBefore: t0.Add(-time.Hour)})
		require.NoError(t, err)
		again := claim(t, s, "w2", t0.Add(2*lease), 10)
		require.Len(t, again, 1)
		assert.Equal(t, leased[0].ID, again[0].ID)
		assert.True(t, near(again[0].Due, t0))
	})

	t.Run("ResumeSkipsOldJobWhoseLeaseExpired", func(t *testing.T) {
		// Its worker died before the pause, and no Claim reached the job
		// while paused: it is pending at its due time.
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		leased := claim(t, s, "w1", t0, 1)
		require.Len(t, leased, 1)
		_, err := s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: true, At: t0})
		require.NoError(t, err)
		res, err := s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: false,
			At: t0.Add(5 * time.Hour), SkipDueBefore: t0.Add(4 * time.Hour)})
		require.NoError(t, err)
		assert.Equal(t, 1, res.Skipped)
		assert.Empty(t, claim(t, s, "w2", t0.Add(5*time.Hour), 10))
		jobs, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Equal(t, sop.JobSkipped, jobs[0].State)
		assert.Equal(t, "paused", jobs[0].Reason)
		assert.True(t, near(jobs[0].Due, t0))
		assert.Equal(t, int64(1), stats(t, s, "t1", "p1")["s1"].Skipped)
	})

	t.Run("ResumeKeepsRecentOrLiveLease", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		enroll(t, s, p, "c2", t0)
		leased := claim(t, s, "w1", t0, 2)
		require.Len(t, leased, 2)
		_, err := s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: true, At: t0})
		require.NoError(t, err)
		// Resumed within the lease, with a cut-off after the due time: the
		// worker may still be sending, so nothing is skipped.
		res, err := s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: false,
			At: t0.Add(lease / 2), SkipDueBefore: t0.Add(time.Second)})
		require.NoError(t, err)
		assert.Zero(t, res.Skipped, "live leases")
		_, err = complete(s, leased[0], "w1", t0.Add(lease/2), sop.JobDone)
		require.NoError(t, err)
		// The other lease expires; a resume with a cut-off before its due
		// time leaves it to run again.
		_, err = s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: true, At: t0.Add(lease / 2)})
		require.NoError(t, err)
		res, err = s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: false,
			At: t0.Add(2 * lease), SkipDueBefore: t0.Add(-time.Hour)})
		require.NoError(t, err)
		assert.Zero(t, res.Skipped, "due within the grace")
		again := claim(t, s, "w2", t0.Add(2*lease), 10)
		require.Len(t, again, 1)
		assert.Equal(t, leased[1].ID, again[0].ID)
	})

	t.Run("ResumeThroughPutPlaybook", func(t *testing.T) {
		s := newStore(t)
		p := playbook("t1", "p1", 1)
		p.Paused = true
		p = put(t, s, p)
		enroll(t, s, p, "c1", t0)
		assert.Empty(t, claim(t, s, "w", t0.Add(time.Hour), 10))
		p.Paused = false
		res, err := s.PutPlaybook(ctx, sop.PutPlaybookParams{Playbook: p, At: t0.Add(2 * time.Hour), SkipDueBefore: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.Equal(t, 1, res.Skipped)
		assert.Empty(t, claim(t, s, "w", t0.Add(2*time.Hour), 10))
	})
}

func testTasks(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("CreateOnceAndComplete", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 2))
		enroll(t, s, p, "c1", t0, t0)
		jobs := claim(t, s, "w", t0, 2)
		require.Len(t, jobs, 2)
		for i, j := range jobs {
			task := &sop.StaffTask{ID: j.ID, Staff: "s1", Customer: "c1", Playbook: "p1", Step: j.Step,
				Template: fmt.Sprintf("call-%d", i), Vars: map[string]string{"k": "v"},
				CreatedAt: t0.Add(time.Duration(i) * time.Second), DueBy: t0.Add(time.Hour)}
			_, err := s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0, State: sop.JobDone, Task: task})
			require.NoError(t, err)
			task.Vars["k"] = "changed"
		}
		open, err := s.Tasks(ctx, sop.ListTasksParams{Tenant: "t1", Staff: "s1", State: sop.TaskOpen})
		require.NoError(t, err)
		require.Len(t, open, 2)
		assert.Equal(t, "call-0", open[0].Template)
		assert.Equal(t, "v", open[0].Vars["k"])
		assert.Equal(t, sop.TaskOpen, open[0].State)
		assert.Equal(t, scrm.TenantID("t1"), open[0].Tenant)
		open[0].Vars["k"] = "changed"

		done, err := s.CompleteTask(ctx, sop.CompleteTaskParams{Tenant: "t1", ID: open[0].ID, At: t0.Add(30 * time.Minute)})
		require.NoError(t, err)
		assert.True(t, done.OnTime)
		assert.Equal(t, "v", done.Vars["k"])
		late, err := s.CompleteTask(ctx, sop.CompleteTaskParams{Tenant: "t1", ID: open[1].ID, At: t0.Add(2 * time.Hour)})
		require.NoError(t, err)
		assert.False(t, late.OnTime)
		again, err := s.CompleteTask(ctx, sop.CompleteTaskParams{Tenant: "t1", ID: open[1].ID, At: t0.Add(3 * time.Hour)})
		require.NoError(t, err)
		assert.True(t, near(again.DoneAt, t0.Add(2*time.Hour)), "completing twice changes nothing")
		_, err = s.CompleteTask(ctx, sop.CompleteTaskParams{Tenant: "t1", ID: "nope", At: t0})
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		doneList, err := s.Tasks(ctx, sop.ListTasksParams{Tenant: "t1", Staff: "s1", State: sop.TaskDone})
		require.NoError(t, err)
		assert.Len(t, doneList, 2)
		none, err := s.Tasks(ctx, sop.ListTasksParams{Tenant: "t1", Staff: "s2"})
		require.NoError(t, err)
		assert.Empty(t, none)
		st := stats(t, s, "t1", "p1")
		assert.Equal(t, int64(1), st["s1"].TasksDone+st["s2"].TasksDone-st["s1"].TasksLate-st["s2"].TasksLate)
		assert.Equal(t, int64(1), st["s1"].TasksLate+st["s2"].TasksLate)
	})

	// Tasks lists in CreatedAt order, ties in ID order.
	t.Run("CreatedAtThenIDOrder", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 3))
		enroll(t, s, p, "c1", t0, t0, t0)
		created := map[string]time.Time{"s1": t0.Add(2 * time.Second), "s2": t0.Add(time.Second), "s3": t0.Add(time.Second)}
		for _, j := range claim(t, s, "w", t0, 3) {
			_, err := s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0, State: sop.JobDone,
				Task: &sop.StaffTask{ID: j.ID, Staff: "li", Customer: "c1", Playbook: "p1", Step: j.Step,
					CreatedAt: created[j.Step], DueBy: t0.Add(time.Hour)}})
			require.NoError(t, err)
		}
		id := func(step string) string { return sop.JobID("t1", "p1", "c1", 1, step) }
		assert.Equal(t, []string{id("s2"), id("s3"), id("s1")}, taskIDs(t, s, "t1", "li", ""))
	})

	// Completing a task is one atomic step: of concurrent completions of
	// one task (a double click, a retried request) exactly one counts it
	// in the step's stats, and every one returns the task as that one
	// completed it.
	t.Run("ConcurrentCompletionsCountOnce", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		j := claim(t, s, "w", t0, 1)[0]
		_, err := s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0, State: sop.JobDone,
			Task: &sop.StaffTask{ID: j.ID, Staff: "s1", Customer: "c1", Playbook: "p1", Step: j.Step,
				CreatedAt: t0, DueBy: t0.Add(time.Hour)}})
		require.NoError(t, err)
		const n = 8
		got := make([]sop.StaffTask, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got[i], errs[i] = s.CompleteTask(ctx, sop.CompleteTaskParams{Tenant: "t1", ID: j.ID, At: t0.Add(time.Duration(i) * 20 * time.Minute)})
			}()
		}
		close(start)
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i])
			assert.Equal(t, sop.TaskDone, got[i].State)
			assert.True(t, near(got[i].DoneAt, got[0].DoneAt), "every caller gets the one completion")
			assert.Equal(t, got[0].OnTime, got[i].OnTime)
		}
		st := stats(t, s, "t1", "p1")["s1"]
		assert.Equal(t, int64(1), st.TasksDone, "completed once, counted once")
		late := int64(0)
		if !got[0].OnTime {
			late = 1
		}
		assert.Equal(t, late, st.TasksLate)
	})
}

func testAttribution(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("CreditedOncePerTouch", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 2))
		enroll(t, s, p, "c1", t0, t0.Add(time.Hour))
		for _, at := range []time.Time{t0, t0.Add(time.Hour)} {
			j := claim(t, s, "w", at, 1)[0]
			_, err := s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: j.ID, Worker: "w", At: at, State: sop.JobDone,
				Touch: true, TouchKeep: 7 * 24 * time.Hour})
			require.NoError(t, err)
		}
		reply := sop.AttributeParams{Tenant: "t1", Customer: "c1", Kind: sop.Replied, At: t0.Add(48*time.Hour + 30*time.Minute),
			Within: 48 * time.Hour, ReplyType: "interested"}
		n, err := s.Attribute(ctx, reply)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "only the second touch is within 48 hours")
		n, err = s.Attribute(ctx, reply)
		require.NoError(t, err)
		assert.Zero(t, n, "a replay credits nothing")

		conv := sop.AttributeParams{Tenant: "t1", Customer: "c1", Kind: sop.Converted, At: t0.Add(72 * time.Hour), Within: 7 * 24 * time.Hour}
		n, err = s.Attribute(ctx, conv)
		require.NoError(t, err)
		assert.Equal(t, 2, n)

		byID := sop.AttributeParams{Tenant: "t1", Customer: "c1", Kind: sop.Replied, At: t0.Add(time.Hour), Within: 48 * time.Hour,
			MessageID: sop.JobID("t1", "p1", "c1", 1, "s1")}
		n, err = s.Attribute(ctx, byID)
		require.NoError(t, err)
		assert.Equal(t, 1, n)

		st := stats(t, s, "t1", "p1")
		assert.Equal(t, int64(1), st["s1"].Replied)
		assert.Equal(t, int64(1), st["s2"].Replied)
		assert.Equal(t, map[string]int64{"interested": 1}, st["s2"].ReplyTypes)
		assert.Equal(t, int64(1), st["s1"].Converted)
		assert.Equal(t, int64(1), st["s2"].Converted)
		st["s2"].ReplyTypes["interested"] = 99
		assert.Equal(t, int64(1), stats(t, s, "t1", "p1")["s2"].ReplyTypes["interested"], "a copy")

		_, err = s.Attribute(ctx, sop.AttributeParams{Tenant: "t1", Customer: "c1", Kind: "clicked", At: t0})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		n, err = s.Attribute(ctx, sop.AttributeParams{Tenant: "t1", Customer: "nobody", Kind: sop.Converted, At: t0, Within: time.Hour})
		require.NoError(t, err)
		assert.Zero(t, n)
	})

	t.Run("MessageIDCreditsThatTouchOnly", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 3))
		enroll(t, s, p, "c1", t0, t0.Add(2*time.Hour), t0.Add(24*time.Hour))
		// s1 is forgotten when s2 is recorded (TouchKeep 1h); s3 is never sent.
		for _, at := range []time.Time{t0, t0.Add(2 * time.Hour)} {
			j := claim(t, s, "w", at, 1)[0]
			_, err := s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: j.ID, Worker: "w", At: at, State: sop.JobDone,
				Touch: true, TouchKeep: time.Hour})
			require.NoError(t, err)
		}
		reply := func(step string) int {
			t.Helper()
			n, err := s.Attribute(ctx, sop.AttributeParams{Tenant: "t1", Customer: "c1", Kind: sop.Replied,
				At: t0.Add(3 * time.Hour), Within: 48 * time.Hour, MessageID: sop.JobID("t1", "p1", "c1", 1, step)})
			require.NoError(t, err)
			return n
		}
		assert.Zero(t, reply("s1"), "a forgotten touch: credited to no other")
		assert.Zero(t, reply("s3"), "a message never sent: credited to no other")
		st := stats(t, s, "t1", "p1")
		assert.Zero(t, st["s1"].Replied+st["s2"].Replied+st["s3"].Replied)
		assert.Equal(t, 1, reply("s2"))
		assert.Equal(t, int64(1), stats(t, s, "t1", "p1")["s2"].Replied)
	})
}

func testTenantIsolation(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("Isolated", func(t *testing.T) {
		s := newStore(t)
		a := put(t, s, playbook("t1", "p", 1))
		b := put(t, s, playbook("t2", "p", 2))
		assert.Len(t, a.Steps, 1)
		assert.Len(t, b.Steps, 2)
		enroll(t, s, a, "c1", t0)
		enroll(t, s, b, "c1", t0.Add(time.Hour), t0.Add(2*time.Hour))
		for tenant, want := range map[scrm.TenantID]int{"t1": 1, "t2": 2, "t3": 0} {
			jobs, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: tenant, Customer: "c1"})
			require.NoError(t, err)
			assert.Len(t, jobs, want, string(tenant))
			for _, j := range jobs {
				assert.Equal(t, tenant, j.Tenant)
			}
			ens, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: tenant, Customer: "c1"})
			require.NoError(t, err)
			assert.Len(t, ens, min(want, 1))
		}
		_, err := s.GetPlaybook(ctx, "t3", "p")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.PutPolicy(ctx, "t1", sop.Policy{SuppressTags: []string{"x"}})
		require.NoError(t, err)
		pol, err := s.GetPolicy(ctx, "t2")
		require.NoError(t, err)
		assert.Empty(t, pol.SuppressTags)
		ended, err := s.EndEnrollments(ctx, sop.EndEnrollmentsParams{Tenant: "t1", Playbook: "p", Customer: "c1", At: t0})
		require.NoError(t, err)
		assert.Len(t, ended, 1)
		active, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: "t2", Customer: "c1", ActiveOnly: true})
		require.NoError(t, err)
		assert.Len(t, active, 1, "t2's enrollment is untouched")
	})

	// Lists and task completion read and write only the tenant named:
	// another tenant's playbooks are never listed (nor enrolled into), and
	// a task ID of another tenant is not found.
	t.Run("ListsAndTaskCompletionStayInTheTenant", func(t *testing.T) {
		s := newStore(t)
		a := put(t, s, playbook("t1", "p1", 1))
		put(t, s, playbook("t2", "p2", 1))
		for tenant, want := range map[scrm.TenantID][]string{"t1": {"p1"}, "t2": {"p2"}, "t3": nil} {
			list, err := s.ListPlaybooks(ctx, tenant)
			require.NoError(t, err)
			var ids []string
			for _, p := range list {
				assert.Equal(t, tenant, p.Tenant)
				ids = append(ids, p.ID)
			}
			assert.Equal(t, want, ids, string(tenant))
		}
		enroll(t, s, a, "c1", t0)
		j := claim(t, s, "w", t0, 1)[0]
		_, err := s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0, State: sop.JobDone,
			Task: &sop.StaffTask{ID: j.ID, Staff: "s1", Customer: "c1", Playbook: "p1", Step: j.Step,
				CreatedAt: t0, DueBy: t0.Add(time.Hour)}})
		require.NoError(t, err)
		_, err = s.CompleteTask(ctx, sop.CompleteTaskParams{Tenant: "t2", ID: j.ID, At: t0})
		assert.ErrorIs(t, err, scrm.ErrNotFound, "t1's task, asked as t2")
		open, err := s.Tasks(ctx, sop.ListTasksParams{Tenant: "t1", Staff: "s1", State: sop.TaskOpen})
		require.NoError(t, err)
		assert.Len(t, open, 1, "t1's task is still open")
		assert.Zero(t, stats(t, s, "t1", "p1")["s1"].TasksDone)
	})
}

func testCancelledContext(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("EveryMethod", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p", 1))
		enroll(t, s, p, "c1", t0)
		c, cancel := context.WithCancel(ctx)
		cancel()
		check := func(name string, err error) {
			t.Helper()
			assert.ErrorIs(t, err, scrm.ErrUnavailable, name)
			assert.ErrorIs(t, err, context.Canceled, name)
		}
		_, err := s.Revision(c, "t1")
		check("Revision", err)
		_, err = s.PutPlaybook(c, sop.PutPlaybookParams{Playbook: playbook("t1", "q", 1), At: t0})
		check("PutPlaybook", err)
		_, err = s.GetPlaybook(c, "t1", "p")
		check("GetPlaybook", err)
		_, err = s.ListPlaybooks(c, "t1")
		check("ListPlaybooks", err)
		_, err = s.SetPaused(c, sop.SetPausedParams{Tenant: "t1", Playbook: "p", Paused: true, At: t0})
		check("SetPaused", err)
		_, err = s.PutCalendar(c, sop.PutCalendarParams{Calendar: sop.Calendar{Tenant: "t1", ID: "c"}, At: t0})
		check("PutCalendar", err)
		_, err = s.GetCalendar(c, "t1", "c")
		check("GetCalendar", err)
		_, err = s.PutPolicy(c, "t1", sop.Policy{})
		check("PutPolicy", err)
		_, err = s.GetPolicy(c, "t1")
		check("GetPolicy", err)
		_, err = s.Enroll(c, enrollParams(p, "c2", t0))
		check("Enroll", err)
		_, err = s.Enrollments(c, sop.ListEnrollmentsParams{Tenant: "t1", Customer: "c1"})
		check("Enrollments", err)
		_, err = s.EndEnrollments(c, sop.EndEnrollmentsParams{Tenant: "t1", Playbook: "p", Customer: "c1", At: t0})
		check("EndEnrollments", err)
		_, err = s.Jobs(c, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
		check("Jobs", err)
		_, err = s.Claim(c, sop.ClaimParams{Worker: "w", At: t0, Lease: lease})
		check("Claim", err)
		j := claim(t, s, "w", t0, 1)[0]
		_, err = s.Admit(c, sop.AdmitParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0, Customer: "c1", Channel: scrm.ChannelSMS})
		check("Admit", err)
		_, err = s.Start(c, sop.StartParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0})
		check("Start", err)
		_, err = complete(sop.Store(ctxStore{s, c}), j, "w", t0, sop.JobDone)
		check("Complete", err)
		_, err = s.Reschedule(c, sop.RescheduleParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0, Due: t0})
		check("Reschedule", err)
		_, err = s.Tasks(c, sop.ListTasksParams{Tenant: "t1", Staff: "s"})
		check("Tasks", err)
		_, err = s.CompleteTask(c, sop.CompleteTaskParams{Tenant: "t1", ID: "x", At: t0})
		check("CompleteTask", err)
		_, err = s.Attribute(c, sop.AttributeParams{Tenant: "t1", Customer: "c1", Kind: sop.Replied, At: t0})
		check("Attribute", err)
		_, err = s.Stats(c, "t1", "p")
		check("Stats", err)
		_, err = s.PutTemplate(c, sop.PutTemplateParams{Template: template("t1", "tp"), At: t0})
		check("PutTemplate", err)
		_, err = s.GetTemplate(c, "t1", "tp")
		check("GetTemplate", err)
		_, err = s.ListTemplates(c, "t1")
		check("ListTemplates", err)
		_, err = s.ReassignTasks(c, sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", To: "s", At: t0, IdempotencyKey: "k"})
		check("ReassignTasks", err)

		// Nothing was written: the job is still leased to w, the enrollment active.
		done, err := complete(s, j, "w", t0, sop.JobDone)
		require.NoError(t, err)
		assert.Equal(t, sop.JobDone, done.State)
		_, err = s.GetPlaybook(ctx, "t1", "q")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.GetTemplate(ctx, "t1", "tp")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		res, err := s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", To: "s", At: t0, IdempotencyKey: "k"})
		require.NoError(t, err)
		assert.False(t, res.Replayed, "the key was not recorded")
	})
}

// ctxStore passes a fixed context to Complete, for the cancelled-context
// check of a helper that uses the package context.
type ctxStore struct {
	sop.Store
	ctx context.Context
}

func (c ctxStore) Complete(_ context.Context, p sop.CompleteParams) (sop.Job, error) {
	return c.Store.Complete(c.ctx, p)
}
