package sop_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/sop"
)

func TestReentry(t *testing.T) {
	step := []sop.Step{{ID: "s", After: time.Hour, Action: msg(scrm.ChannelWeCom, "x")}}
	for _, tc := range []struct {
		name    string
		reentry sop.Reentry
		// enrollments after triggers at 0h, 0h30 (replay), 0h30, 2h (after
		// the first completed), 30h
		want int
	}{
		{"once", sop.Reentry{}, 1},
		{"after exit", sop.Reentry{Mode: sop.AfterExit}, 3},                                         // 0h, 2h, 30h
		{"after exit with cooldown", sop.Reentry{Mode: sop.AfterExit, Cooldown: 24 * time.Hour}, 2}, // 0h, 30h
		{"always", sop.Reentry{Mode: sop.Always}, 4},                                                // 0h, 0h30, 2h, 30h
		{"always with cooldown", sop.Reentry{Mode: sop.Always, Cooldown: 90 * time.Minute}, 3},      // 0h, 2h, 30h
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := at(2026, 3, 2, 9, 0)
			e := newEnv(t, start)
			e.put(sop.Playbook{ID: "p", Trigger: sop.Trigger{Event: scrm.EventPageViewed}, Reentry: tc.reentry, Steps: step})
			ev := func(id string) {
				require.NoError(t, e.d.Publish(e.ctx, scrm.Event{ID: id, Tenant: "t1", Customer: "c1",
					Type: scrm.EventPageViewed, Time: e.clock.Now()}))
			}
			ev("v1")
			e.runUntil(start.Add(30*time.Minute), 10*time.Minute)
			ev("v1") // a replay of the same event never enrolls twice
			ev("v2")
			e.runUntil(start.Add(2*time.Hour), 10*time.Minute)
			ev("v3")
			e.runUntil(start.Add(30*time.Hour), time.Hour)
			ev("v4")
			ens, err := e.svc.Enrollments(e.ctx, "t1", "c1")
			require.NoError(t, err)
			assert.Len(t, ens, tc.want)
			for i, en := range ens {
				assert.Equal(t, i+1, en.Seq)
			}
		})
	}
}

func TestNoDoubleEnrollmentUnderConcurrentEvents(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "p", Trigger: sop.Trigger{Tag: "新客"},
		Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "x")}}})
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, e.svc.Handle(e.ctx, scrm.Event{ID: fmt.Sprintf("e%d", i), Tenant: "t1", Customer: "c1",
				Type: scrm.EventTagApplied, Time: start, Props: map[string]any{"tag": "新客"}}))
		}()
	}
	wg.Wait()
	ens, err := e.svc.Enrollments(e.ctx, "t1", "c1")
	require.NoError(t, err)
	assert.Len(t, ens, 1)
	assert.Equal(t, 1, e.run().Sent)
	assert.Equal(t, int64(1), stepStats(t, e, "p")["s"].Enrolled)
}

func TestTriggersAndWhen(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	when := rule.Attr("city").Eq("上海")
	e.put(sop.Playbook{ID: "sh", Trigger: sop.Trigger{Event: scrm.EventCustomerAdded, When: &when},
		Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "x")}}})
	e.put(sop.Playbook{ID: "tag", Trigger: sop.Trigger{Tag: "vip"},
		Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "y")}}})

	for c, city := range map[scrm.CustomerID]string{"c1": "上海", "c2": "杭州"} {
		require.NoError(t, e.d.Publish(e.ctx, scrm.Event{ID: "a-" + string(c), Tenant: "t1", Customer: c,
			Type: scrm.EventAttrsSet, Time: start, Props: map[string]any{"attrs": map[string]any{"city": city}}}))
		e.publish(c, scrm.EventCustomerAdded, nil)
	}
	e.publish("c3", scrm.EventTagApplied, map[string]any{"tag": "vip", "refreshed": true}) // a refresh: no trigger
	e.publish("c4", scrm.EventTagApplied, map[string]any{"tag": "vip"})
	e.publish("c5", scrm.EventTagApplied, map[string]any{"tag": "other"})

	for c, want := range map[scrm.CustomerID]int{"c1": 1, "c2": 0, "c3": 0, "c4": 1, "c5": 0} {
		ens, err := e.svc.Enrollments(e.ctx, "t1", c)
		require.NoError(t, err)
		assert.Len(t, ens, want, string(c))
	}
	ens, err := e.svc.Enrollments(e.ctx, "t1", "c4")
	require.NoError(t, err)
	assert.Equal(t, "event:e4", ens[0].IdempotencyKey)
	assert.True(t, ens[0].Anchor.Equal(start))
}

func TestEnrollIdempotencyAndErrors(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "p", Reentry: sop.Reentry{Mode: sop.Always},
		Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "x")}}})
	req := sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1", Anchor: start, IdempotencyKey: "k1"}
	first, err := e.svc.Enroll(e.ctx, req)
	require.NoError(t, err)
	again, err := e.svc.Enroll(e.ctx, req)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	req.Anchor = start.Add(time.Hour)
	_, err = e.svc.Enroll(e.ctx, req)
	assert.ErrorIs(t, err, scrm.ErrConflict)
	req.Anchor = time.Time{}
	_, err = e.svc.Enroll(e.ctx, req)
	assert.ErrorIs(t, err, scrm.ErrConflict, "no anchor, where the first request named one")
	ens, err := e.svc.Enrollments(e.ctx, "t1", "c1")
	require.NoError(t, err)
	assert.Len(t, ens, 1)

	// A request without an anchor is anchored at now; a retry without one
	// is the same request, and one naming that now is not.
	req = sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c2", IdempotencyKey: "k2"}
	first, err = e.svc.Enroll(e.ctx, req)
	require.NoError(t, err)
	assert.True(t, first.Anchor.Equal(start))
	e.clock.Advance(time.Minute)
	again, err = e.svc.Enroll(e.ctx, req)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	req.Anchor = start
	_, err = e.svc.Enroll(e.ctx, req)
	assert.ErrorIs(t, err, scrm.ErrConflict, "an anchor, where the first request named none")

	_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "nope", Customer: "c1"})
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	once := newEnv(t, start)
	once.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "x")}}})
	_, err = once.svc.Enroll(once.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	_, err = once.svc.Enroll(once.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	assert.ErrorIs(t, err, scrm.ErrConflict)
}

func TestEditedPlaybookAppliesToPendingJobs(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	pb := e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "a", After: time.Hour, Action: msg(scrm.ChannelWeCom, "old")},
		{ID: "b", After: 2 * time.Hour, Action: msg(scrm.ChannelWeCom, "b")},
	}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	pb.Steps = []sop.Step{{ID: "a", After: 5 * time.Hour, Action: msg(scrm.ChannelWeCom, "new")}}
	_, err = e.svc.PutPlaybook(e.ctx, pb)
	require.NoError(t, err)
	r := e.runUntil(start.Add(3*time.Hour), 10*time.Minute)
	assert.Equal(t, 1, r.Sent)
	assert.Equal(t, 1, r.Skipped, "step b was removed")
	assert.Equal(t, []string{"2026-03-02 10:00 Mon new"}, e.sends("c1", shanghai), "the new action, at the time fixed at enrollment")

	_, err = e.svc.PutPlaybook(e.ctx, pb) // a stale version
	assert.ErrorIs(t, err, scrm.ErrConflict)
}

func TestSweepEnrollsInactiveCustomers(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "wake", Trigger: sop.Trigger{Inactive: &sop.Inactivity{Event: scrm.EventOrderPaid, For: 30 * 24 * time.Hour}},
		Reentry: sop.Reentry{Mode: sop.AfterExit},
		Steps:   []sop.Step{{ID: "coupon", Action: msg(scrm.ChannelWeCom, "wake-up")}}})
	order := func(c scrm.CustomerID, when time.Time) {
		require.NoError(t, e.d.Publish(e.ctx, scrm.Event{ID: fmt.Sprintf("o-%s-%d", c, when.Unix()), Tenant: "t1",
			Customer: c, Type: scrm.EventOrderPaid, Time: when}))
	}
	order("quiet", start.Add(-40*24*time.Hour))
	order("active", start.Add(-10*24*time.Hour))
	e.publish("never", scrm.EventCustomerAdded, nil)

	res, err := e.svc.Sweep(e.ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, 3, res.Scanned)
	assert.Equal(t, 1, res.Enrolled)
	e.run()
	assert.Len(t, e.rec.For("quiet"), 1)

	// The same quiet spell does not enroll again, even after the enrollment ended.
	e.clock.Advance(24 * time.Hour)
	res, err = e.svc.Sweep(e.ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, 0, res.Enrolled)

	// A new order, then quiet again: a new spell.
	order("quiet", e.clock.Now())
	e.clock.Advance(31 * 24 * time.Hour)
	res, err = e.svc.Sweep(e.ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, 2, res.Enrolled, "quiet again, and active has now been quiet for 41 days")
}

func TestExitByHost(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", After: time.Hour, Action: msg(scrm.ChannelWeCom, "x")}}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	ended, err := e.svc.Exit(e.ctx, sop.ExitRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	require.Len(t, ended, 1)
	assert.Equal(t, sop.EnrollmentExited, ended[0].State)
	assert.Equal(t, "exited by host", ended[0].Reason)
	assert.Equal(t, 0, e.runUntil(start.Add(2*time.Hour), 10*time.Minute).Sent)
	ended, err = e.svc.Exit(e.ctx, sop.ExitRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	assert.Empty(t, ended)
}
