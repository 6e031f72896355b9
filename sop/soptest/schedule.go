package soptest

import (
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

func testEnroll(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("CreatesJobs", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 3))
		params := enrollParams(p, "c1", t0.Add(2*time.Hour), t0.Add(time.Hour), t0.Add(3*time.Hour))
		params.Jobs[1].Variant = "B"
		res, err := s.Enroll(ctx, params)
		require.NoError(t, err)
		en := res.Enrollment
		assert.Equal(t, 1, en.Seq)
		assert.Equal(t, sop.EnrollmentActive, en.State)
		assert.True(t, near(en.Anchor, t0))
		assert.True(t, near(en.EnrolledAt, t0))
		assert.Equal(t, "p1/c1/1", en.ID())

		jobs, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		require.Len(t, jobs, 3)
		assert.Equal(t, []string{"s2", "s1", "s3"}, []string{jobs[0].Step, jobs[1].Step, jobs[2].Step}, "due-time order")
		assert.Equal(t, "B", jobs[0].Variant)
		for _, j := range jobs {
			assert.Equal(t, sop.JobPending, j.State)
			assert.Equal(t, sop.JobID("t1", "p1", "c1", 1, j.Step), j.ID)
			assert.Equal(t, "p1", j.Playbook)
			assert.Equal(t, 1, j.Seq)
			assert.Equal(t, 0, j.Attempts)
		}
		assert.True(t, near(jobs[0].Due, t0.Add(time.Hour)))
		st := stats(t, s, "t1", "p1")
		assert.Equal(t, int64(1), st["s1"].Enrolled)
		assert.Equal(t, int64(1), st["s2/B"].Enrolled)

		ens, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		require.Len(t, ens, 1)
		assert.Equal(t, en, ens[0])
	})

	t.Run("BadInput", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 2))
		_, err := s.Enroll(ctx, enrollParams(p, "c1"))
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no jobs")
		params := enrollParams(p, "c1", t0)
		params.Jobs[0].Step = "nope"
		_, err = s.Enroll(ctx, params)
		assert.ErrorIs(t, err, scrm.ErrInvalid, "unknown step")
		_, err = s.Enroll(ctx, enrollParams(p, "", t0))
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		stale := enrollParams(p, "c1", t0)
		stale.Version = p.Version + 1
		_, err = s.Enroll(ctx, stale)
		assert.ErrorIs(t, err, scrm.ErrConflict, "jobs computed from another version")
		ens, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Empty(t, ens, "nothing written")
	})

	t.Run("ReentryOnce", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		_, err := s.Enroll(ctx, enrollParams(p, "c1", t0))
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, err = s.EndEnrollments(ctx, sop.EndEnrollmentsParams{Tenant: "t1", Playbook: "p1", Customer: "c1", At: t0})
		require.NoError(t, err)
		_, err = s.Enroll(ctx, enrollParams(p, "c1", t0))
		assert.ErrorIs(t, err, scrm.ErrConflict, "once means once, even after an exit")
		enroll(t, s, p, "c2", t0)
	})

	// A version conflict names "Version" and a re-entry refusal does not,
	// so that a Service recomputes the jobs on the first and reports the
	// second as "already enrolled".
	t.Run("VersionConflictToldFromReentryRefusal", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		paused, err := s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: true, At: t0})
		require.NoError(t, err)
		_, err = s.Enroll(ctx, enrollParams(p, "c1", t0))
		assert.ErrorIs(t, err, scrm.ErrConflict)
		assert.Equal(t, "Version", conflictField(err), "jobs computed from the version before the pause")
		ens, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Empty(t, ens, "nothing written")
		enroll(t, s, paused.Playbook, "c1", t0)
		_, err = s.Enroll(ctx, enrollParams(paused.Playbook, "c1", t0))
		assert.ErrorIs(t, err, scrm.ErrConflict)
		assert.NotEqual(t, "Version", conflictField(err), "re-entry Once refuses: not a version conflict")
	})

	t.Run("ReentryAfterExit", func(t *testing.T) {
		s := newStore(t)
		p := playbook("t1", "p1", 1)
		p.Reentry = sop.Reentry{Mode: sop.AfterExit, Cooldown: time.Hour}
		p = put(t, s, p)
		enroll(t, s, p, "c1", t0)
		_, err := s.Enroll(ctx, enrollParams(p, "c1", t0))
		assert.ErrorIs(t, err, scrm.ErrConflict, "still active")
		ended, err := s.EndEnrollments(ctx, sop.EndEnrollmentsParams{Tenant: "t1", Playbook: "p1", Customer: "c1", At: t0.Add(time.Minute), Reason: "bought"})
		require.NoError(t, err)
		require.Len(t, ended, 1)
		assert.Equal(t, "bought", ended[0].Reason)
		assert.True(t, near(ended[0].EndedAt, t0.Add(time.Minute)))
		params := enrollParams(p, "c1", t0)
		params.At = t0.Add(30 * time.Minute)
		_, err = s.Enroll(ctx, params)
		assert.ErrorIs(t, err, scrm.ErrConflict, "within the cooldown")
		params.At = t0.Add(61 * time.Minute)
		res, err := s.Enroll(ctx, params)
		require.NoError(t, err)
		assert.Equal(t, 2, res.Enrollment.Seq)

		// Completing every job ends the enrollment too.
		jobs := claim(t, s, "w", t0.Add(2*time.Hour), 10)
		require.Len(t, jobs, 1)
		_, err = complete(s, jobs[0], "w", t0.Add(2*time.Hour), sop.JobDone)
		require.NoError(t, err)
		ens, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: "t1", Customer: "c1", Playbook: "p1"})
		require.NoError(t, err)
		require.Len(t, ens, 2)
		assert.Equal(t, sop.EnrollmentExited, ens[0].State)
		assert.Equal(t, sop.EnrollmentCompleted, ens[1].State)
		assert.True(t, near(ens[1].EndedAt, t0.Add(2*time.Hour)))
		active, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: "t1", Customer: "c1", ActiveOnly: true})
		require.NoError(t, err)
		assert.Empty(t, active)
	})

	t.Run("ReentryAlways", func(t *testing.T) {
		s := newStore(t)
		p := playbook("t1", "p1", 1)
		p.Reentry = sop.Reentry{Mode: sop.Always, Cooldown: time.Hour}
		p = put(t, s, p)
		enroll(t, s, p, "c1", t0)
		params := enrollParams(p, "c1", t0)
		params.At = t0.Add(59 * time.Minute)
		_, err := s.Enroll(ctx, params)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		params.At = t0.Add(time.Hour)
		res, err := s.Enroll(ctx, params)
		require.NoError(t, err)
		assert.Equal(t, 2, res.Enrollment.Seq)
		active, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: "t1", Customer: "c1", ActiveOnly: true})
		require.NoError(t, err)
		assert.Len(t, active, 2, "enrollments may overlap")
		ended, err := s.EndEnrollments(ctx, sop.EndEnrollmentsParams{Tenant: "t1", Playbook: "p1", Customer: "c1", Seq: 1, At: t0})
		require.NoError(t, err)
		require.Len(t, ended, 1)
		assert.Equal(t, 1, ended[0].Seq)
	})

	t.Run("IdempotentReplay", func(t *testing.T) {
		s := newStore(t)
		p := playbook("t1", "p1", 2)
		p.Reentry = sop.Reentry{Mode: sop.Always}
		p = put(t, s, p)
		params := enrollParams(p, "c1", t0, t0.Add(time.Hour))
		params.IdempotencyKey = "event:e1"
		first, err := s.Enroll(ctx, params)
		require.NoError(t, err)
		again, err := s.Enroll(ctx, params)
		require.NoError(t, err)
		assert.True(t, again.Replayed)
		assert.Equal(t, first.Enrollment, again.Enrollment)
		params.Anchor = t0.Add(time.Minute)
		_, err = s.Enroll(ctx, params)
		assert.ErrorIs(t, err, scrm.ErrConflict, "same key, other payload")
		jobs, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Len(t, jobs, 2, "a replay schedules nothing")
		assert.Equal(t, int64(1), stats(t, s, "t1", "p1")["s1"].Enrolled)
	})

	// A key is looked for among all the customer's enrollments in the
	// playbook, not only the latest: the retry of an event that enrolled
	// the customer before a later enrollment must not enroll (and
	// message) the customer again.
	t.Run("IdempotentReplayOfEarlierEnrollment", func(t *testing.T) {
		s := newStore(t)
		p := playbook("t1", "p1", 1)
		p.Reentry = sop.Reentry{Mode: sop.Always}
		p = put(t, s, p)
		first := enrollParams(p, "c1", t0)
		first.IdempotencyKey = "event:e1"
		res, err := s.Enroll(ctx, first)
		require.NoError(t, err)
		second := enrollParams(p, "c1", t0.Add(time.Hour))
		second.At, second.Anchor, second.IdempotencyKey = t0.Add(time.Hour), t0.Add(time.Hour), "event:e2"
		_, err = s.Enroll(ctx, second)
		require.NoError(t, err)

		again, err := s.Enroll(ctx, first)
		require.NoError(t, err)
		assert.True(t, again.Replayed, "the first enrollment's key")
		assert.Equal(t, res.Enrollment, again.Enrollment)
		first.Anchor = t0.Add(time.Minute)
		_, err = s.Enroll(ctx, first)
		assert.ErrorIs(t, err, scrm.ErrConflict, "the first key with another anchor")
		assert.Equal(t, "IdempotencyKey", conflictField(err))
		ens, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Len(t, ens, 2, "a replay enrolls nobody")
		jobs, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Len(t, jobs, 2, "a replay schedules nothing")
	})

	t.Run("IdempotentReplayWithDefaultedAnchor", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		params := enrollParams(p, "c1", t0.Add(time.Hour))
		params.IdempotencyKey, params.AnchorDefaulted = "order-123", true
		first, err := s.Enroll(ctx, params)
		require.NoError(t, err)
		// The host retries after a timeout: its default anchor is its own
		// (later) now, which is not part of the request.
		params.At = t0.Add(2 * time.Second)
		params.Anchor = params.At
		params.Jobs[0].Due = params.At.Add(time.Hour)
		again, err := s.Enroll(ctx, params)
		require.NoError(t, err, "same key, no anchor named either time")
		assert.True(t, again.Replayed)
		assert.Equal(t, first.Enrollment, again.Enrollment)
		assert.True(t, near(again.Enrollment.Anchor, t0), "the first enrollment's anchor")

		params.AnchorDefaulted = false
		_, err = s.Enroll(ctx, params)
		assert.ErrorIs(t, err, scrm.ErrConflict, "an anchor named where the first call named none")
		jobs, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		require.Len(t, jobs, 1, "a replay schedules nothing")
		assert.True(t, near(jobs[0].Due, t0.Add(time.Hour)))

		explicit := enrollParams(p, "c2", t0.Add(time.Hour))
		explicit.IdempotencyKey = "order-456"
		_, err = s.Enroll(ctx, explicit)
		require.NoError(t, err)
		explicit.AnchorDefaulted = true
		_, err = s.Enroll(ctx, explicit)
		assert.ErrorIs(t, err, scrm.ErrConflict, "no anchor named where the first call named one")
	})

	t.Run("NoDoubleEnrollment", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 4))
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				params := enrollParams(p, "c1", t0, t0, t0, t0)
				params.IdempotencyKey = fmt.Sprintf("event:%d", i)
				_, err := s.Enroll(ctx, params)
				if err == nil {
					wins.Add(1)
				} else {
					assert.ErrorIs(t, err, scrm.ErrConflict)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
		jobs, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Len(t, jobs, 4)
	})
}

func testClaim(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("DueTimeOrdering", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 3))
		q := put(t, s, playbook("t2", "q1", 1))
		enroll(t, s, p, "c1", t0.Add(3*time.Minute), t0.Add(time.Minute), t0.Add(10*time.Hour))
		enroll(t, s, p, "c2", t0.Add(2*time.Minute), t0, t0.Add(4*time.Minute))
		enroll(t, s, q, "c3", t0.Add(90*time.Second))
		assert.Empty(t, claim(t, s, "w", t0.Add(-time.Second), 10), "nothing due yet")
		jobs := claim(t, s, "w", t0.Add(5*time.Minute), 3)
		require.Len(t, jobs, 3)
		var got []string
		for _, j := range jobs {
			got = append(got, string(j.Customer)+"/"+j.Step)
			assert.Equal(t, sop.JobLeased, j.State)
			assert.Equal(t, "w", j.Worker)
			assert.True(t, near(j.LeaseUntil, t0.Add(5*time.Minute+lease)))
			assert.Equal(t, 1, j.Attempts)
		}
		assert.Equal(t, []string{"c2/s2", "c1/s2", "c3/s1"}, got, "earliest due first, across tenants")
		assert.True(t, near(jobs[0].Due, t0), "Due is the due time, not the lease")
		rest := claim(t, s, "w", t0.Add(5*time.Minute), 10)
		got = nil
		for _, j := range rest {
			got = append(got, string(j.Customer)+"/"+j.Step)
		}
		assert.Equal(t, []string{"c2/s1", "c1/s1", "c2/s3"}, got, "c1/s3 is not due")
	})

	t.Run("LeaseExclusivity", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 4))
		const customers = 500
		for i := range customers {
			enroll(t, s, p, scrm.CustomerID(fmt.Sprintf("c%03d", i)), t0, t0.Add(time.Second), t0.Add(2*time.Second), t0.Add(3*time.Second))
		}
		var mu sync.Mutex
		seen := make(map[string]string)
		var dups atomic.Int32
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				worker := fmt.Sprintf("w%d", w)
				for {
					jobs, err := s.Claim(ctx, sop.ClaimParams{Worker: worker, At: t0.Add(time.Minute), Limit: 7, Lease: time.Hour})
					if !assert.NoError(t, err) || len(jobs) == 0 {
						return
					}
					for _, j := range jobs {
						mu.Lock()
						if _, dup := seen[j.ID]; dup {
							dups.Add(1)
						}
						seen[j.ID] = worker
						mu.Unlock()
						_, err := complete(s, j, worker, t0.Add(time.Minute), sop.JobDone)
						assert.NoError(t, err)
					}
				}
			}()
		}
		wg.Wait()
		assert.Zero(t, dups.Load(), "no job claimed twice")
		assert.Len(t, seen, customers*4)
		st := stats(t, s, "t1", "p1")
		for _, step := range []string{"s1", "s2", "s3", "s4"} {
			assert.Equal(t, int64(customers), st[step].Sent)
		}
	})

	t.Run("LeaseExpiry", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		first := claim(t, s, "w1", t0, 10)
		require.Len(t, first, 1)
		assert.Empty(t, claim(t, s, "w2", t0.Add(lease-time.Second), 10), "the lease still runs")
		second := claim(t, s, "w2", t0.Add(lease), 10)
		require.Len(t, second, 1, "an expired lease is claimed again")
		assert.Equal(t, first[0].ID, second[0].ID, "with the same ID")
		assert.Equal(t, 2, second[0].Attempts)
		assert.True(t, near(second[0].Due, t0))

		_, err := complete(s, first[0], "w1", t0.Add(lease), sop.JobDone)
		assert.ErrorIs(t, err, scrm.ErrConflict, "the first worker lost its lease")
		_, err = complete(s, second[0], "w2", t0.Add(3*lease), sop.JobDone)
		assert.ErrorIs(t, err, scrm.ErrConflict, "an expired lease cannot complete")
		third := claim(t, s, "w3", t0.Add(3*lease), 10)
		require.Len(t, third, 1)
		done, err := complete(s, third[0], "w3", t0.Add(3*lease), sop.JobDone)
		require.NoError(t, err)
		assert.Equal(t, sop.JobDone, done.State)
		assert.Equal(t, 3, done.Attempts)
		assert.Equal(t, int64(1), stats(t, s, "t1", "p1")["s1"].Sent, "counted once")
		assert.Empty(t, claim(t, s, "w4", t0.Add(time.Hour), 10))
	})
}

func testTransitions(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("CompleteStates", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 3))
		enroll(t, s, p, "c1", t0, t0, t0)
		jobs := claim(t, s, "w", t0, 10)
		require.Len(t, jobs, 3)
		_, err := complete(s, jobs[0], "w", t0, sop.JobPending)
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = complete(s, jobs[0], "other", t0, sop.JobDone)
		assert.ErrorIs(t, err, scrm.ErrConflict, "not the lease holder")
		wrong := jobs[0]
		wrong.Tenant = "t2"
		_, err = complete(s, wrong, "w", t0, sop.JobDone)
		assert.ErrorIs(t, err, scrm.ErrConflict, "not this tenant's job")

		_, err = complete(s, jobs[0], "w", t0, sop.JobDone)
		require.NoError(t, err)
		_, err = complete(s, jobs[0], "w", t0, sop.JobDone)
		assert.ErrorIs(t, err, scrm.ErrConflict, "completed once")
		got, err := s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: jobs[1].ID, Worker: "w", At: t0, State: sop.JobSkipped, Reason: "suppressed"})
		require.NoError(t, err)
		assert.Equal(t, "suppressed", got.Reason)
		got, err = s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: jobs[2].ID, Worker: "w", At: t0, State: sop.JobFailed, Reason: "blocked"})
		require.NoError(t, err)
		assert.Equal(t, sop.JobFailed, got.State)
		st := stats(t, s, "t1", "p1")
		assert.Equal(t, int64(1), st[jobs[0].Step].Sent)
		assert.Equal(t, int64(1), st[jobs[1].Step].Skipped)
		assert.Equal(t, int64(1), st[jobs[2].Step].Failed)
		ens, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Equal(t, sop.EnrollmentCompleted, ens[0].State)
	})

	t.Run("Reschedule", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		j := claim(t, s, "w", t0, 1)[0]
		got, err := s.Reschedule(ctx, sop.RescheduleParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0, Due: t0.Add(time.Minute), Retry: true, Reason: "timeout"})
		require.NoError(t, err)
		assert.Equal(t, sop.JobPending, got.State)
		assert.Equal(t, 1, got.Attempts, "a retry keeps the attempt")
		assert.Equal(t, "timeout", got.Reason)
		assert.True(t, near(got.Due, t0.Add(time.Minute)))
		assert.Empty(t, claim(t, s, "w", t0.Add(59*time.Second), 1))

		j = claim(t, s, "w", t0.Add(time.Minute), 1)[0]
		assert.Equal(t, 2, j.Attempts)
		got, err = s.Reschedule(ctx, sop.RescheduleParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0.Add(time.Minute), Due: t0.Add(time.Hour), Reason: "quiet hours"})
		require.NoError(t, err)
		assert.Equal(t, 1, got.Attempts, "a deferral gives the attempt back")
		_, err = s.Reschedule(ctx, sop.RescheduleParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0.Add(time.Minute), Due: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict, "no longer leased")
		assert.Equal(t, int64(1), stats(t, s, "t1", "p1")["s1"].Deferred)
	})

	// Admit and Reschedule, like Start and Complete, act for the worker
	// holding a live lease only: a worker whose lease expired (the job
	// runs again elsewhere) must not be admitted and send, nor give back
	// a job another worker holds (which would then run twice).
	t.Run("OnlyTheLeaseHolder", func(t *testing.T) {
		day := []sop.CapPeriod{{Max: 5, Per: sop.Day, Start: t0.Truncate(24 * time.Hour), End: t0.Truncate(24 * time.Hour).Add(24 * time.Hour)}}
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		j := claim(t, s, "w1", t0, 1)[0]
		admit := func(worker string, at time.Time) error {
			_, err := s.Admit(ctx, sop.AdmitParams{Tenant: "t1", Job: j.ID, Worker: worker, At: at, Customer: "c1",
				Channel: scrm.ChannelSMS, Caps: day})
			return err
		}
		reschedule := func(worker string, at time.Time) error {
			_, err := s.Reschedule(ctx, sop.RescheduleParams{Tenant: "t1", Job: j.ID, Worker: worker, At: at,
				Due: at.Add(time.Hour), Retry: true, Reason: "timeout"})
			return err
		}
		assert.ErrorIs(t, admit("w2", t0), scrm.ErrConflict, "Admit: not the lease holder")
		assert.ErrorIs(t, reschedule("w2", t0), scrm.ErrConflict, "Reschedule: not the lease holder")
		assert.ErrorIs(t, admit("w1", t0.Add(lease)), scrm.ErrConflict, "Admit: the lease expired")
		assert.ErrorIs(t, reschedule("w1", t0.Add(lease)), scrm.ErrConflict, "Reschedule: the lease expired")

		// Nothing was written: the expired lease is claimed again.
		again := claim(t, s, "w2", t0.Add(lease), 10)
		require.Len(t, again, 1)
		assert.Equal(t, j.ID, again[0].ID)
		assert.Equal(t, 2, again[0].Attempts)
		assert.True(t, near(again[0].Due, t0), "not rescheduled")
		assert.ErrorIs(t, reschedule("w1", t0.Add(lease)), scrm.ErrConflict, "Reschedule: the lease went to w2")
		assert.ErrorIs(t, admit("w1", t0.Add(lease)), scrm.ErrConflict, "Admit: the lease went to w2")
		require.NoError(t, admit("w2", t0.Add(lease)))
		done, err := complete(s, again[0], "w2", t0.Add(lease), sop.JobDone)
		require.NoError(t, err)
		assert.Equal(t, sop.JobDone, done.State)
		assert.ErrorIs(t, admit("w2", t0.Add(lease)), scrm.ErrConflict, "Admit: no longer leased")
		st := stats(t, s, "t1", "p1")["s1"]
		assert.Equal(t, int64(1), st.Sent)
		assert.Zero(t, st.Deferred)
	})

	t.Run("EndEnrollmentsCancelsJobs", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 3))
		enroll(t, s, p, "c1", t0, t0.Add(time.Hour), t0.Add(2*time.Hour))
		leased := claim(t, s, "w", t0, 1)
		require.Len(t, leased, 1)
		ended, err := s.EndEnrollments(ctx, sop.EndEnrollmentsParams{Tenant: "t1", Playbook: "p1", Customer: "c1", At: t0, Reason: "exit"})
		require.NoError(t, err)
		require.Len(t, ended, 1)
		assert.Equal(t, sop.EnrollmentExited, ended[0].State)
		// The leased job is left to its worker, who reports it not sent.
		got, err := complete(s, leased[0], "w", t0, sop.JobFailed)
		require.NoError(t, err)
		assert.Equal(t, sop.JobCancelled, got.State, "not sent: cancelled")
		_, err = complete(s, leased[0], "w", t0, sop.JobDone)
		assert.ErrorIs(t, err, scrm.ErrConflict, "a cancelled job cannot complete")
		assert.Empty(t, claim(t, s, "w", t0.Add(24*time.Hour), 10))
		jobs, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		for _, j := range jobs {
			assert.Equal(t, sop.JobCancelled, j.State)
		}
		st := stats(t, s, "t1", "p1")
		assert.Equal(t, int64(1), st["s1"].Cancelled)
		assert.Equal(t, int64(1), st["s3"].Cancelled)
		again, err := s.EndEnrollments(ctx, sop.EndEnrollmentsParams{Tenant: "t1", Playbook: "p1", Customer: "c1", At: t0})
		require.NoError(t, err)
		assert.Empty(t, again)
	})

	// EndEnrollments ends the customer's enrollments in the playbook
	// named and no other: not the customer's in other playbooks, not other
	// customers' in that playbook.
	t.Run("EndEnrollmentsEndsThatCustomerInThatPlaybookOnly", func(t *testing.T) {
		s := newStore(t)
		pbs := []sop.Playbook{put(t, s, playbook("t1", "p1", 1)), put(t, s, playbook("t1", "p2", 1))}
		customers := []scrm.CustomerID{"c1", "c2"}
		for _, p := range pbs {
			for _, c := range customers {
				enroll(t, s, p, c, t0.Add(time.Hour))
			}
		}
		ended, err := s.EndEnrollments(ctx, sop.EndEnrollmentsParams{Tenant: "t1", Playbook: "p1", Customer: "c1", At: t0, Reason: "exit"})
		require.NoError(t, err)
		require.Len(t, ended, 1)
		assert.Equal(t, "p1", ended[0].Playbook)
		assert.Equal(t, scrm.CustomerID("c1"), ended[0].Customer)
		for _, p := range pbs {
			for _, c := range customers {
				active, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: "t1", Customer: c, Playbook: p.ID, ActiveOnly: true})
				require.NoError(t, err)
				want := 1
				if p.ID == "p1" && c == "c1" {
					want = 0
				}
				assert.Len(t, active, want, "%s in %s", c, p.ID)
			}
		}
		assert.Len(t, claim(t, s, "w", t0.Add(time.Hour), 10), 3, "the other enrollments' jobs still run")
	})

	t.Run("EndEnrollmentsLeavesLeasedJobToItsWorker", func(t *testing.T) {
		day := []sop.CapPeriod{{Max: 1, Per: sop.Day, Start: t0.Truncate(24 * time.Hour), End: t0.Truncate(24 * time.Hour).Add(24 * time.Hour)}}
		admit := func(s sop.Store, j sop.Job, at time.Time) sop.AdmitResult {
			t.Helper()
			res, err := s.Admit(ctx, sop.AdmitParams{Tenant: "t1", Job: j.ID, Worker: "w", At: at, Customer: "c1",
				Channel: scrm.ChannelSMS, Caps: day})
			require.NoError(t, err)
			return res
		}
		// setup enrolls c1 in p1 (one job, the one ended) and p2 (one job
		// competing for the cap slot), leases and admits the first, then
		// ends its enrollment.
		setup := func(t *testing.T) (sop.Store, sop.Job, sop.Job) {
			s := newStore(t)
			p1 := put(t, s, playbook("t1", "p1", 1))
			p2 := put(t, s, playbook("t1", "p2", 1))
			enroll(t, s, p1, "c1", t0)
			enroll(t, s, p2, "c1", t0.Add(time.Second))
			jobs := claim(t, s, "w", t0.Add(time.Second), 2)
			require.Len(t, jobs, 2)
			require.Equal(t, "p1", jobs[0].Playbook)
			require.True(t, admit(s, jobs[0], t0.Add(time.Second)).Admitted)
			ended, err := s.EndEnrollments(ctx, sop.EndEnrollmentsParams{Tenant: "t1", Playbook: "p1", Customer: "c1",
				At: t0.Add(2 * time.Second), Reason: "bought"})
			require.NoError(t, err)
			require.Len(t, ended, 1)
			return s, jobs[0], jobs[1]
		}

		t.Run("SentKeepsSlotAndTouch", func(t *testing.T) {
			s, j, other := setup(t)
			assert.False(t, admit(s, other, t0.Add(2*time.Second)).Admitted, "the leased job keeps its slot")
			got, err := s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0.Add(3 * time.Second),
				State: sop.JobDone, Touch: true, TouchKeep: 7 * 24 * time.Hour})
			require.NoError(t, err, "its worker still records the outcome")
			assert.Equal(t, sop.JobDone, got.State)
			assert.False(t, admit(s, other, t0.Add(3*time.Second)).Admitted, "a sent message keeps its slot")
			st := stats(t, s, "t1", "p1")
			assert.Equal(t, int64(1), st["s1"].Sent)
			assert.Zero(t, st["s1"].Cancelled)
			n, err := s.Attribute(ctx, sop.AttributeParams{Tenant: "t1", Customer: "c1", Kind: sop.Replied,
				At: t0.Add(time.Hour), Within: 48 * time.Hour, MessageID: j.ID})
			require.NoError(t, err)
			assert.Equal(t, 1, n, "its touch was recorded")
			ens, err := s.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: "t1", Customer: "c1", Playbook: "p1"})
			require.NoError(t, err)
			assert.Equal(t, sop.EnrollmentExited, ens[0].State, "still exited")
		})

		t.Run("NotSentCancelsAndReleases", func(t *testing.T) {
			for _, state := range []sop.JobState{sop.JobSkipped, sop.JobFailed} {
				s, j, other := setup(t)
				got, err := s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0.Add(3 * time.Second),
					State: state, Reason: "x"})
				require.NoError(t, err)
				assert.Equal(t, sop.JobCancelled, got.State, state)
				assert.True(t, admit(s, other, t0.Add(3*time.Second)).Admitted, "%s: the slot came back", state)
				st := stats(t, s, "t1", "p1")
				assert.Equal(t, int64(1), st["s1"].Cancelled, state)
				assert.Zero(t, st["s1"].Sent+st["s1"].Skipped+st["s1"].Failed, state)
			}
		})

		t.Run("TaskNotCreated", func(t *testing.T) {
			s, j, _ := setup(t)
			task := &sop.StaffTask{ID: j.ID, Staff: "s1", Customer: "c1", Playbook: "p1", Step: j.Step, CreatedAt: t0, DueBy: t0.Add(time.Hour)}
			got, err := s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0.Add(3 * time.Second),
				State: sop.JobDone, Task: task})
			require.NoError(t, err)
			assert.Equal(t, sop.JobCancelled, got.State)
			tasks, err := s.Tasks(ctx, sop.ListTasksParams{Tenant: "t1", Staff: "s1"})
			require.NoError(t, err)
			assert.Empty(t, tasks)
		})

		t.Run("RescheduleCancels", func(t *testing.T) {
			s, j, other := setup(t)
			got, err := s.Reschedule(ctx, sop.RescheduleParams{Tenant: "t1", Job: j.ID, Worker: "w", At: t0.Add(3 * time.Second),
				Due: t0.Add(time.Hour), Retry: true, Reason: "timeout"})
			require.NoError(t, err)
			assert.Equal(t, sop.JobCancelled, got.State)
			assert.True(t, admit(s, other, t0.Add(3*time.Second)).Admitted, "the slot came back")
			for _, c := range claim(t, s, "w2", t0.Add(2*time.Hour), 10) {
				assert.NotEqual(t, j.ID, c.ID, "a cancelled job is not run")
			}
		})

		t.Run("ExpiredLeaseCancelledByNextClaim", func(t *testing.T) {
			s, j, other := setup(t)
			_, err := s.Reschedule(ctx, sop.RescheduleParams{Tenant: "t1", Job: other.ID, Worker: "w", At: t0.Add(2 * time.Second),
				Due: t0.Add(2 * lease)})
			require.NoError(t, err)
			again := claim(t, s, "w2", t0.Add(2*lease), 10)
			require.Len(t, again, 1, "only the other job: the ended one is not handed out")
			assert.Equal(t, other.ID, again[0].ID)
			_, err = complete(s, j, "w", t0.Add(2*lease), sop.JobDone)
			assert.ErrorIs(t, err, scrm.ErrConflict, "the lease expired")
			res, err := s.Admit(ctx, sop.AdmitParams{Tenant: "t1", Job: other.ID, Worker: "w2", At: t0.Add(2 * lease),
				Customer: "c1", Channel: scrm.ChannelSMS, Caps: day})
			require.NoError(t, err)
			assert.True(t, res.Admitted, "the slot came back")
			jobs, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1", Playbook: "p1"})
			require.NoError(t, err)
			assert.Equal(t, sop.JobCancelled, jobs[0].State)
			assert.Equal(t, int64(1), stats(t, s, "t1", "p1")["s1"].Cancelled)
		})
	})

	t.Run("JobsAreCopies", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		jobs, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		jobs[0].State = sop.JobDone
		jobs[0].Due = t0.Add(time.Hour)
		again, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Equal(t, sop.JobPending, again[0].State)
		assert.True(t, near(again[0].Due, t0))
	})
}
