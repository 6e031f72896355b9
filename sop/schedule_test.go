package sop_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/sop"
)

// newLead is the new-lead sequence: day 1, 3, 8 and 15 at 10:00, leaving on
// the first purchase.
func newLead() sop.Playbook {
	exit := rule.Event(scrm.EventOrderPaid).Happened()
	return sop.Playbook{
		ID: "new-lead", Name: "新客培育",
		Trigger: sop.Trigger{Tag: "新客"},
		Steps: []sop.Step{
			{ID: "d1", Day: 1, At: "10:00", Action: msg(scrm.ChannelWeCom, "intro")},
			{ID: "d3", Day: 3, At: "10:00", Action: msg(scrm.ChannelWeCom, "story")},
			{ID: "d8", Day: 8, At: "10:00", Action: msg(scrm.ChannelWeCom, "offer")},
			{ID: "d15", Day: 15, At: "10:00", Action: msg(scrm.ChannelWeCom, "last-call")},
		},
		Exit: &exit,
	}
}

func TestDayNSequenceDeliveredAtLocalTimes(t *testing.T) {
	for _, tc := range []struct {
		zone  string
		start time.Time // local: Monday 2 March 2026, 14:37
		want  []string
	}{
		{"Asia/Shanghai", time.Date(2026, 3, 2, 14, 37, 0, 0, shanghai), []string{
			"2026-03-03 10:00 Tue intro", "2026-03-05 10:00 Thu story",
			"2026-03-10 10:00 Tue offer", "2026-03-17 10:00 Tue last-call",
		}},
		// New York springs forward on 8 March 2026: the local times stay
		// at 10:00 although the UTC offset changes mid-sequence.
		{"America/New_York", time.Date(2026, 3, 2, 14, 37, 0, 0, mustZone(t, "America/New_York")), []string{
			"2026-03-03 10:00 Tue intro", "2026-03-05 10:00 Thu story",
			"2026-03-10 10:00 Tue offer", "2026-03-17 10:00 Tue last-call",
		}},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			loc := mustZone(t, tc.zone)
			e := newEnv(t, tc.start, func(o *sop.Options) { o.Location = loc })
			e.put(newLead())
			e.publish("c1", scrm.EventTagApplied, map[string]any{"tag": "新客"})
			res := e.runUntil(tc.start.Add(16*24*time.Hour), time.Minute)
			assert.Equal(t, tc.want, e.sends("c1", loc))
			assert.Equal(t, 4, res.Sent)
			assert.Empty(t, e.rec.Duplicates())

			ens, err := e.svc.Enrollments(e.ctx, "t1", "c1")
			require.NoError(t, err)
			require.Len(t, ens, 1)
			assert.Equal(t, sop.EnrollmentCompleted, ens[0].State)
		})
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func TestExitOnPurchaseCancelsTheRest(t *testing.T) {
	start := at(2026, 3, 2, 14, 40)
	e := newEnv(t, start)
	e.put(newLead())
	e.publish("c1", scrm.EventTagApplied, map[string]any{"tag": "新客"})
	e.publish("c2", scrm.EventTagApplied, map[string]any{"tag": "新客"})

	e.runUntil(at(2026, 3, 4, 12, 0), 10*time.Minute) // day 1 sent to both
	e.publish("c1", scrm.EventOrderPaid, nil)         // c1 buys on day 2

	ens, err := e.svc.Enrollments(e.ctx, "t1", "c1")
	require.NoError(t, err)
	require.Len(t, ens, 1)
	assert.Equal(t, sop.EnrollmentExited, ens[0].State)
	assert.Contains(t, ens[0].Reason, "exit condition")

	e.runUntil(start.Add(20*24*time.Hour), 10*time.Minute)
	assert.Equal(t, []string{"2026-03-03 10:00 Tue intro"}, e.sends("c1", shanghai))
	assert.Len(t, e.sends("c2", shanghai), 4)

	jobs, err := e.svc.Jobs(e.ctx, "t1", "c1")
	require.NoError(t, err)
	states := map[string]sop.JobState{}
	for _, j := range jobs {
		states[j.Step] = j.State
	}
	assert.Equal(t, map[string]sop.JobState{"d1": sop.JobDone, "d3": sop.JobCancelled, "d8": sop.JobCancelled, "d15": sop.JobCancelled}, states)
	st := stepStats(t, e, "new-lead")
	assert.Equal(t, int64(1), st["d3"].Cancelled)
	assert.Equal(t, int64(1), st["d3"].Sent)
	assert.Equal(t, int64(2), st["d1"].Sent)
}

func TestExitCheckedBeforeEveryStep(t *testing.T) {
	// The exit reads an attribute the host sets directly on the profile, so
	// no event tells the Service: the check before the step catches it.
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	exit := rule.Attr("unsubscribed").Eq(true)
	e.put(sop.Playbook{ID: "p", Exit: &exit, Steps: []sop.Step{
		{ID: "s1", After: time.Hour, Action: msg(scrm.ChannelSMS, "a")},
		{ID: "s2", After: 2 * time.Hour, Action: msg(scrm.ChannelSMS, "b")},
	}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	e.runUntil(start.Add(90*time.Minute), time.Minute)
	_, err = scrm.NewProfiles(e.profiles, nil).Update(e.ctx, "t1", "c1", func(p *scrm.Profile) error {
		p.SetAttr("unsubscribed", true)
		return nil
	})
	require.NoError(t, err)
	res := e.runUntil(start.Add(3*time.Hour), time.Minute)
	assert.Equal(t, 1, res.Cancelled)
	assert.Equal(t, 0, res.Sent)
	assert.Len(t, e.rec.For("c1"), 1)
}

func TestQuietHoursDeferToTheirEnd(t *testing.T) {
	start := at(2026, 3, 2, 23, 10)
	e := newEnv(t, start)
	_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{QuietHours: &sop.Window{Start: "22:00", End: "08:00"}})
	require.NoError(t, err)
	e.put(sop.Playbook{ID: "welcome", Trigger: sop.Trigger{Event: scrm.EventCustomerAdded},
		Steps: []sop.Step{{ID: "hi", Action: msg(scrm.ChannelWeCom, "welcome")}}})
	e.publish("c1", scrm.EventCustomerAdded, nil)

	res := e.run()
	assert.Equal(t, 1, res.Deferred, "23:10 is inside the quiet hours")
	assert.Empty(t, e.rec.Messages())
	e.runUntil(at(2026, 3, 3, 12, 0), time.Minute)
	assert.Equal(t, []string{"2026-03-03 08:00 Tue welcome"}, e.sends("c1", shanghai))
	assert.Equal(t, int64(1), stepStats(t, e, "welcome")["hi"].Deferred)
}

func TestWeekdayAndWindowDeferral(t *testing.T) {
	start := at(2026, 3, 4, 15, 0) // a Wednesday
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "wake-up", Steps: []sop.Step{{
		ID: "coupon", Weekdays: []time.Weekday{time.Saturday, time.Sunday},
		Window: &sop.Window{Start: "10:00", End: "20:00"}, Action: msg(scrm.ChannelWeCom, "weekend-coupon"),
	}}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "wake-up", Customer: "c1"})
	require.NoError(t, err)
	jobs, err := e.svc.Jobs(e.ctx, "t1", "c1")
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	assert.True(t, jobs[0].Due.Equal(at(2026, 3, 7, 15, 0)), "due %s: Saturday at the same time of day", jobs[0].Due.In(shanghai))

	// A day-N step keeps its At when it moves to an allowed weekday; its
	// window still applies.
	e.put(sop.Playbook{ID: "workdays", Steps: []sop.Step{
		{ID: "d3", Day: 3, At: "10:00", Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
			Action: msg(scrm.ChannelWeCom, "workday")},
		{ID: "late", Day: 3, At: "21:30", Weekdays: []time.Weekday{time.Monday}, Window: &sop.Window{Start: "09:00", End: "21:00"},
			Action: msg(scrm.ChannelWeCom, "monday")},
	}})
	_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "workdays", Customer: "c2"})
	require.NoError(t, err)

	e.runUntil(at(2026, 3, 10, 0, 0), 5*time.Minute)
	assert.Equal(t, []string{"2026-03-07 15:00 Sat weekend-coupon"}, e.sends("c1", shanghai))
	assert.Equal(t, []string{"2026-03-09 09:00 Mon monday", "2026-03-09 10:00 Mon workday"}, e.sends("c2", shanghai))
}

func TestWindowRecheckedAtRunTime(t *testing.T) {
	// The worker was down over the window: the job, found at 21:00, waits
	// for the next opening instead of going out at night.
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Window: &sop.Window{Start: "10:00", End: "12:00"},
		Action: msg(scrm.ChannelWeCom, "hello")}}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	e.clock.Set(at(2026, 3, 2, 21, 0))
	res := e.run()
	assert.Equal(t, 1, res.Deferred)
	e.runUntil(at(2026, 3, 3, 11, 0), time.Minute)
	assert.Equal(t, []string{"2026-03-03 10:00 Tue hello"}, e.sends("c1", shanghai))
}

func TestOffsetStepsAndAnchor(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "bought", Trigger: sop.Trigger{Event: scrm.EventOrderPaid}, Steps: []sop.Step{
		{ID: "thanks", After: 2 * time.Hour, Action: msg(scrm.ChannelWeCom, "thanks")},
		{ID: "coupon", After: 21 * 24 * time.Hour, Action: sop.Action{Kind: sop.Reward,
			Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "repurchase-10"}}},
		{ID: "tag", Day: 0, Action: sop.Action{Kind: sop.Tag, Tag: "已购"}},
	}})
	e.clock.Set(at(2026, 3, 2, 13, 30))
	e.publish("c1", scrm.EventOrderPaid, map[string]any{"order_id": "o1"})
	e.runUntil(at(2026, 3, 24, 0, 0), 15*time.Minute)

	assert.Equal(t, []string{"2026-03-02 15:30 Mon thanks"}, e.sends("c1", shanghai))
	require.Len(t, e.grants, 1)
	g := e.grants[0]
	assert.Equal(t, scrm.RewardCoupon, g.Reward.Kind)
	assert.Equal(t, sop.JobID("t1", "bought", "c1", 1, "coupon"), g.IdempotencyKey)
	assert.Equal(t, "sop:bought:coupon", g.Source)
	require.Len(t, e.tagReqs, 1)
	assert.Equal(t, "已购", e.tagReqs[0].Tag)
	assert.Equal(t, sop.JobID("t1", "bought", "c1", 1, "tag"), e.tagReqs[0].IdempotencyKey)
}

func TestAnchorTimeOfDayAndPastDayTimes(t *testing.T) {
	start := at(2026, 3, 2, 11, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "today10", At: "10:00", Action: msg(scrm.ChannelSMS, "a")}, // already past: due at the anchor
		{ID: "day2", Day: 2, Action: msg(scrm.ChannelSMS, "b")},         // the anchor's time of day
	}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1", Anchor: at(2026, 3, 2, 11, 25)})
	require.NoError(t, err)
	jobs, err := e.svc.Jobs(e.ctx, "t1", "c1")
	require.NoError(t, err)
	require.Len(t, jobs, 2)
	assert.True(t, jobs[0].Due.Equal(at(2026, 3, 2, 11, 25)))
	assert.True(t, jobs[1].Due.Equal(at(2026, 3, 4, 11, 25)))
}
