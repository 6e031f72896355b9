package sop_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

// monthEnd has five daily messages across the end of March.
func monthEnd() sop.Playbook {
	st := func(id string, day int) sop.Step {
		return sop.Step{ID: id, Day: day, At: "10:00", Window: &sop.Window{Start: "09:00", End: "21:00"},
			Action: msg(scrm.ChannelWeCom, id)}
	}
	return sop.Playbook{ID: "p", Steps: []sop.Step{st("m29", 1), st("m30", 2), st("m31", 3), st("a02", 5), st("a03", 6)}}
}

func TestCapsPerCalendarMonth(t *testing.T) {
	for _, tc := range []struct {
		name     string
		onExceed sop.Exceed
		want     []string
	}{
		{"defer", sop.Defer, []string{
			"2026-03-29 10:00 Sun m29", "2026-03-30 10:00 Mon m30",
			"2026-04-01 09:00 Wed m31", // the month is full: the next period, at the window's opening
			"2026-04-02 10:00 Thu a02",
			// a03 is deferred to May: April is full.
		}},
		{"skip", sop.Skip, []string{
			"2026-03-29 10:00 Sun m29", "2026-03-30 10:00 Mon m30",
			"2026-04-02 10:00 Thu a02", "2026-04-03 10:00 Fri a03",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := at(2026, 3, 28, 12, 0)
			e := newEnv(t, start)
			_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{Caps: []sop.Cap{
				{Channel: scrm.ChannelWeCom, Max: 2, Per: sop.Month, OnExceed: tc.onExceed},
			}})
			require.NoError(t, err)
			e.put(monthEnd())
			_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
			require.NoError(t, err)
			e.runUntil(at(2026, 4, 10, 0, 0), 15*time.Minute)
			assert.Equal(t, tc.want, e.sends("c1", shanghai))

			jobs, err := e.svc.Jobs(e.ctx, "t1", "c1")
			require.NoError(t, err)
			last := jobs[len(jobs)-1]
			if tc.onExceed == sop.Skip {
				st := stepStats(t, e, "p")
				assert.Equal(t, int64(1), st["m31"].Skipped)
			} else {
				assert.Equal(t, "a03", last.Step)
				assert.Equal(t, sop.JobPending, last.State)
				assert.True(t, last.Due.Equal(at(2026, 5, 1, 9, 0)), "due %s", last.Due.In(shanghai))
			}
		})
	}
}

func TestCapsArePerCustomerAndChannel(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{Caps: []sop.Cap{
		{Channel: scrm.ChannelSMS, Max: 1, Per: sop.Day, OnExceed: sop.Skip},
	}})
	require.NoError(t, err)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "a", Action: msg(scrm.ChannelSMS, "a")},
		{ID: "b", After: time.Minute, Action: msg(scrm.ChannelSMS, "b")},
		{ID: "c", After: 2 * time.Minute, Action: msg(scrm.ChannelWeCom, "c")},
	}})
	for _, c := range []scrm.CustomerID{"c1", "c2"} {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: c})
		require.NoError(t, err)
	}
	res := e.runUntil(start.Add(time.Hour), time.Minute)
	assert.Equal(t, 4, res.Sent)    // a and c for each customer
	assert.Equal(t, 2, res.Skipped) // b: the second SMS of the day
	for _, c := range []scrm.CustomerID{"c1", "c2"} {
		assert.Len(t, e.rec.For(c), 2)
	}
}

func TestRateLimitDefersOverflow(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{RateLimits: map[string]sop.RateLimit{
		scrm.ChannelSMS: {N: 2, Per: time.Minute},
	}})
	require.NoError(t, err)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelSMS, "promo")}}})
	for i := range 6 {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: scrm.CustomerID(rune('a' + i))})
		require.NoError(t, err)
	}
	res := e.run()
	assert.Equal(t, 2, res.Sent, "the burst")
	assert.Equal(t, 4, res.Deferred)
	// Then one every 30 seconds.
	e.clock.Advance(30 * time.Second)
	res = e.run()
	assert.Equal(t, 1, res.Sent)
	e.runUntil(start.Add(10*time.Minute), 10*time.Second)
	assert.Len(t, e.rec.Messages(), 6)
	assert.Empty(t, e.rec.Duplicates())
	// No minute saw more than the rate allows (burst 2, then 2 per minute).
	perWindow := map[int64]int{}
	for _, times := range e.sentAt {
		for _, t := range times {
			perWindow[t.Sub(start).Milliseconds()/30000]++
		}
	}
	for w, n := range perWindow {
		if w == 0 {
			assert.LessOrEqual(t, n, 2)
		} else {
			assert.LessOrEqual(t, n, 1, "window %d", w)
		}
	}
}

func TestSuppressTags(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{SuppressTags: []string{"勿扰"}})
	require.NoError(t, err)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "m", Action: msg(scrm.ChannelWeCom, "hello")},
		{ID: "t", Action: sop.Action{Kind: sop.Task, Staff: "s1", Template: "call"}},
	}})
	_, err = scrm.NewProfiles(e.profiles, nil).Update(e.ctx, "t1", "quiet", func(p *scrm.Profile) error {
		p.SetTag("勿扰", scrm.TagMark{At: start, Source: "manual"})
		return nil
	})
	require.NoError(t, err)
	_, err = scrm.NewProfiles(e.profiles, nil).Update(e.ctx, "t1", "expired", func(p *scrm.Profile) error {
		p.SetTag("勿扰", scrm.TagMark{At: start.Add(-48 * time.Hour), Source: "manual", Expires: start.Add(-time.Hour)})
		return nil
	})
	require.NoError(t, err)
	for _, c := range []scrm.CustomerID{"quiet", "expired", "c3"} {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: c})
		require.NoError(t, err)
	}
	res := e.run()
	assert.Equal(t, 1, res.Skipped)
	assert.Equal(t, 5, res.Sent, "two messages and three staff tasks")
	assert.Empty(t, e.rec.For("quiet"))
	assert.Len(t, e.rec.For("expired"), 1, "an expired suppress tag no longer suppresses")
	jobs, err := e.svc.Jobs(e.ctx, "t1", "quiet")
	require.NoError(t, err)
	for _, j := range jobs {
		if j.Step == "m" {
			assert.Equal(t, sop.JobSkipped, j.State)
			assert.Contains(t, j.Reason, "勿扰")
		}
	}
}
