package soptest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

func start(s sop.Store, j sop.Job, worker string, at time.Time) (sop.StartResult, error) {
	return s.Start(ctx, sop.StartParams{Tenant: j.Tenant, Job: j.ID, Worker: worker, At: at})
}

// testStart covers Store.Start: a pause or an exit that returned before a
// leased job starts holds for it.
func testStart(t *testing.T, newStore func(t *testing.T) sop.Store) {
	day := []sop.CapPeriod{{Max: 1, Per: sop.Day, Start: t0.Truncate(24 * time.Hour), End: t0.Truncate(24 * time.Hour).Add(24 * time.Hour)}}
	admit := func(s sop.Store, j sop.Job) (sop.AdmitResult, error) {
		return s.Admit(ctx, sop.AdmitParams{Tenant: j.Tenant, Job: j.ID, Worker: "w", At: t0, Customer: j.Customer,
			Channel: scrm.ChannelSMS, Caps: day})
	}
	// setup leases a job of c1 in p1 holding c1's only SMS slot of the day,
	// a job of c2 in p1, and a job of c1 in p2 that the cap refuses.
	setup := func(t *testing.T, s sop.Store) (c1, c2, other sop.Job) {
		t.Helper()
		p := put(t, s, playbook("t1", "p1", 1))
		q := put(t, s, playbook("t1", "p2", 1))
		enroll(t, s, p, "c1", t0)
		enroll(t, s, p, "c2", t0)
		enroll(t, s, q, "c1", t0)
		for _, j := range claim(t, s, "w", t0, 3) {
			switch {
			case j.Playbook == "p2":
				other = j
			case j.Customer == "c1":
				c1 = j
			default:
				c2 = j
			}
		}
		require.NotEmpty(t, c1.ID)
		require.NotEmpty(t, c2.ID)
		require.NotEmpty(t, other.ID)
		res, err := admit(s, c1)
		require.NoError(t, err)
		require.True(t, res.Admitted)
		res, err = admit(s, other)
		require.NoError(t, err)
		require.False(t, res.Admitted, "c1's slot is taken")
		return c1, c2, other
	}

	t.Run("GoesAheadWithTheCurrentVersion", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		j := claim(t, s, "w", t0, 1)[0]
		res, err := start(s, j, "w", t0)
		require.NoError(t, err)
		assert.Equal(t, sop.JobLeased, res.State)
		assert.Equal(t, p.Version, res.PlaybookVersion)
		// The playbook is edited while the job is leased: Start tells.
		p = put(t, s, p)
		res, err = start(s, j, "w", t0)
		require.NoError(t, err)
		assert.Equal(t, sop.JobLeased, res.State)
		assert.Equal(t, p.Version, res.PlaybookVersion)
		// Nothing was written: the lease is intact.
		done, err := complete(s, j, "w", t0, sop.JobDone)
		require.NoError(t, err)
		assert.Equal(t, sop.JobDone, done.State)
	})

	t.Run("PausedPlaybookGivesTheJobBack", func(t *testing.T) {
		s := newStore(t)
		c1, c2, other := setup(t, s)
		_, err := s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: true, At: t0})
		require.NoError(t, err)

		got, err := start(s, c1, "w", t0.Add(time.Second))
		require.NoError(t, err)
		assert.Equal(t, sop.JobPending, got.State)
		_, err = complete(s, c1, "w", t0.Add(time.Second), sop.JobDone)
		assert.ErrorIs(t, err, scrm.ErrConflict, "the lease was dropped")
		cj, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1", Playbook: "p1"})
		require.NoError(t, err)
		assert.Equal(t, sop.JobPending, cj[0].State)
		assert.True(t, near(cj[0].Due, t0), "its due time is restored")
		assert.Zero(t, cj[0].Attempts, "the claim is undone")
		assert.Zero(t, stats(t, s, "t1", "p1")["s1"].Deferred)
		res, err := admit(s, other)
		require.NoError(t, err)
		assert.True(t, res.Admitted, "the slot the paused job held was given back")
		_, err = complete(s, other, "w", t0.Add(time.Second), sop.JobDone)
		require.NoError(t, err)
		got, err = start(s, c2, "w", t0.Add(time.Second))
		require.NoError(t, err)
		assert.Equal(t, sop.JobPending, got.State)
		assert.Empty(t, claim(t, s, "w2", t0.Add(time.Hour), 10), "held while paused")

		// Resumed within the grace: both run, with their IDs.
		_, err = s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: false,
			At: t0.Add(time.Hour), SkipDueBefore: t0.Add(-time.Minute)})
		require.NoError(t, err)
		again := claim(t, s, "w2", t0.Add(time.Hour), 10)
		require.Len(t, again, 2)
		assert.ElementsMatch(t, []string{c1.ID, c2.ID}, []string{again[0].ID, again[1].ID})
		for _, j := range again {
			assert.Equal(t, 1, j.Attempts)
		}
	})

	t.Run("ResumeSkipsOldJobGivenBack", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		j := claim(t, s, "w", t0, 1)[0]
		_, err := s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: true, At: t0})
		require.NoError(t, err)
		got, err := start(s, j, "w", t0)
		require.NoError(t, err)
		require.Equal(t, sop.JobPending, got.State)
		res, err := s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: false,
			At: t0.Add(5 * time.Hour), SkipDueBefore: t0.Add(4 * time.Hour)})
		require.NoError(t, err)
		assert.Equal(t, 1, res.Skipped)
		assert.Empty(t, claim(t, s, "w", t0.Add(5*time.Hour), 10))
		cj, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1"})
		require.NoError(t, err)
		assert.Equal(t, sop.JobSkipped, cj[0].State)
		assert.Equal(t, "paused", cj[0].Reason)
	})

	t.Run("ExitedEnrollmentCancelsTheJob", func(t *testing.T) {
		s := newStore(t)
		c1, c2, other := setup(t, s)
		_, err := s.EndEnrollments(ctx, sop.EndEnrollmentsParams{Tenant: "t1", Playbook: "p1", Customer: "c1", At: t0, Reason: "别发了"})
		require.NoError(t, err)

		got, err := start(s, c1, "w", t0.Add(time.Second))
		require.NoError(t, err)
		assert.Equal(t, sop.JobCancelled, got.State)
		_, err = complete(s, c1, "w", t0.Add(time.Second), sop.JobDone)
		assert.ErrorIs(t, err, scrm.ErrConflict, "cancelled: nothing to complete")
		cj, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Customer: "c1", Playbook: "p1"})
		require.NoError(t, err)
		assert.Equal(t, sop.JobCancelled, cj[0].State)
		assert.Equal(t, int64(1), stats(t, s, "t1", "p1")["s1"].Cancelled)
		res, err := admit(s, other)
		require.NoError(t, err)
		assert.True(t, res.Admitted, "the slot the cancelled job held was given back")
		_, err = complete(s, other, "w", t0.Add(time.Second), sop.JobDone)
		require.NoError(t, err)
		// The other customer's job goes ahead.
		got, err = start(s, c2, "w", t0.Add(time.Second))
		require.NoError(t, err)
		assert.Equal(t, sop.JobLeased, got.State)
		_, err = complete(s, c2, "w", t0.Add(time.Second), sop.JobDone)
		require.NoError(t, err)
		assert.Empty(t, claim(t, s, "w2", t0.Add(2*lease), 10), "the cancelled job is not handed out again")
	})

	t.Run("OnlyTheLeaseHolder", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 1))
		enroll(t, s, p, "c1", t0)
		j := claim(t, s, "w", t0, 1)[0]
		_, err := start(s, j, "other", t0)
		assert.ErrorIs(t, err, scrm.ErrConflict)
		_, err = start(s, j, "w", t0.Add(lease))
		assert.ErrorIs(t, err, scrm.ErrConflict, "the lease expired")
		_, err = start(s, sop.Job{Tenant: "t1", ID: "sop:t1:p1:nobody:1:s1"}, "w", t0)
		assert.ErrorIs(t, err, scrm.ErrConflict, "not leased")
		_, err = complete(s, j, "w", t0, sop.JobDone)
		require.NoError(t, err, "the failed Starts wrote nothing")
	})

	t.Run("CalendarPostGoesAhead", func(t *testing.T) {
		s := newStore(t)
		c := sop.Calendar{Tenant: "t1", ID: "c1", Entries: []sop.Entry{
			{Weekday: time.Monday, At: "10:00", Groups: []string{"g1"}, Channel: scrm.ChannelWeComGroup, Template: "种草"},
		}}
		_, err := s.PutCalendar(ctx, sop.PutCalendarParams{Calendar: c, At: t0, Posts: []sop.PostSpec{{Entry: 0, Group: "g1", Due: t0}}})
		require.NoError(t, err)
		j := claim(t, s, "w", t0, 1)[0]
		got, err := start(s, j, "w", t0)
		require.NoError(t, err)
		assert.Equal(t, sop.JobLeased, got.State)
	})
}
