package sop_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

func TestPauseResumeWithGrace(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start, func(o *sop.Options) { o.Grace = time.Hour })
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "h1", After: time.Hour, Action: msg(scrm.ChannelWeCom, "h1")},                    // due 10:00
		{ID: "h4", After: 4*time.Hour + 30*time.Minute, Action: msg(scrm.ChannelWeCom, "h4")}, // due 13:30
		{ID: "h30", After: 30 * time.Hour, Action: msg(scrm.ChannelWeCom, "h30")},             // due tomorrow 15:00
	}})
	for i := range 20 {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: scrm.CustomerID(fmt.Sprintf("c%02d", i))})
		require.NoError(t, err)
	}
	e.clock.Advance(30 * time.Minute)
	pb, err := e.svc.Pause(e.ctx, "t1", "p")
	require.NoError(t, err)
	assert.True(t, pb.Paused)

	// Paused until 14:00: nothing goes out, though h1 and h4 fall due.
	r := e.runUntil(at(2026, 3, 2, 14, 0), 5*time.Minute)
	assert.Equal(t, 0, r.Sent)
	assert.Empty(t, e.rec.Messages())

	// A customer who arrives during the pause is still enrolled.
	_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "late"})
	require.NoError(t, err)

	// Resume at 14:00 with a grace of an hour: h1 (4 hours late) is skipped,
	// h4 (30 minutes late) is sent, h30 goes out on time.
	res, err := e.svc.Resume(e.ctx, "t1", "p")
	require.NoError(t, err)
	assert.False(t, res.Playbook.Paused)
	assert.Equal(t, 20, res.Skipped)
	r = e.run()
	assert.Equal(t, 20, r.Sent)
	e.runUntil(at(2026, 3, 3, 16, 0), 5*time.Minute)

	assert.Equal(t, []string{"2026-03-02 14:00 Mon h4", "2026-03-03 15:00 Tue h30"}, e.sends("c07", shanghai))
	assert.Equal(t, []string{"2026-03-02 15:00 Mon h1", "2026-03-02 18:30 Mon h4"}, e.sends("late", shanghai))
	st := stepStats(t, e, "p")
	assert.Equal(t, int64(20), st["h1"].Skipped)
	assert.Equal(t, int64(1), st["h1"].Sent)
	assert.Equal(t, int64(21), st["h4"].Sent)
	jobs, err := e.svc.Jobs(e.ctx, "t1", "c00")
	require.NoError(t, err)
	assert.Equal(t, sop.JobSkipped, jobs[0].State)
	assert.Equal(t, "paused", jobs[0].Reason)
}

func TestPauseResumeIdempotentAndThroughPutPlaybook(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	pb := e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "x")}}})
	_, err := e.svc.Pause(e.ctx, "t1", "p")
	require.NoError(t, err)
	again, err := e.svc.Pause(e.ctx, "t1", "p")
	require.NoError(t, err)
	assert.Equal(t, pb.Version+1, again.Version, "pausing a paused playbook changes nothing")

	_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	e.clock.Advance(3 * time.Hour)
	assert.Equal(t, 0, e.run().Sent)

	// Unpausing by storing the playbook unpaused applies the same grace.
	cur, err := e.svc.Playbook(e.ctx, "t1", "p")
	require.NoError(t, err)
	cur.Paused = false
	_, err = e.svc.PutPlaybook(e.ctx, cur)
	require.NoError(t, err)
	assert.Equal(t, 0, e.run().Sent)
	assert.Empty(t, e.rec.Messages(), "no backlog blast")

	_, err = e.svc.Resume(e.ctx, "t1", "missing")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
}
