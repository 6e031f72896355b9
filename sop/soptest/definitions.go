package soptest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

func testPlaybooks(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetPlaybook(ctx, "t1", "nope")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "nope", Paused: true, At: t0})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.Stats(ctx, "t1", "nope")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.Enroll(ctx, enrollParams(sop.Playbook{Tenant: "t1", ID: "nope"}, "c1", t0))
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.EndEnrollments(ctx, sop.EndEnrollmentsParams{Tenant: "t1", Playbook: "nope", Customer: "c1", At: t0})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		list, err := s.ListPlaybooks(ctx, "t1")
		require.NoError(t, err)
		assert.Empty(t, list)
		rev, err := s.Revision(ctx, "t1")
		require.NoError(t, err)
		assert.Zero(t, rev)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		p := playbook("t1", "p1", 3)
		p.Reentry = sop.Reentry{Mode: sop.AfterExit, Cooldown: 72 * time.Hour}
		p.Steps[1].Variants = []sop.Variant{{ID: "A", Weight: 2, Action: p.Steps[1].Action}, {ID: "B", Weight: 1,
			Action: sop.Action{Kind: sop.Reward, Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: scrm.Yuan("12.30")}}}}
		p.Steps[1].Action = sop.Action{}
		got := put(t, s, p)
		assert.Equal(t, int64(1), got.Version)
		assert.True(t, near(got.UpdatedAt, t0))
		read, err := s.GetPlaybook(ctx, "t1", "p1")
		require.NoError(t, err)
		assertSamePlaybook(t, p, read)
		assert.Equal(t, int64(1), read.Version)
		list, err := s.ListPlaybooks(ctx, "t1")
		require.NoError(t, err)
		require.Len(t, list, 1)
		assertSamePlaybook(t, p, list[0])

		put(t, s, playbook("t1", "a0", 1))
		list, err = s.ListPlaybooks(ctx, "t1")
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, "a0", list[0].ID, "ID order")
	})

	t.Run("VersionConflict", func(t *testing.T) {
		s := newStore(t)
		v1 := put(t, s, playbook("t1", "p1", 2))
		rev1, err := s.Revision(ctx, "t1")
		require.NoError(t, err)

		dup := playbook("t1", "p1", 1) // Version 0: create, but it exists
		_, err = s.PutPlaybook(ctx, sop.PutPlaybookParams{Playbook: dup, At: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict)

		v1.Name = "renamed"
		v2 := put(t, s, v1)
		assert.Equal(t, int64(2), v2.Version)
		v1.Name = "stale"
		_, err = s.PutPlaybook(ctx, sop.PutPlaybookParams{Playbook: v1, At: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		ahead := v2
		ahead.Version = 9
		_, err = s.PutPlaybook(ctx, sop.PutPlaybookParams{Playbook: ahead, At: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict)

		got, err := s.GetPlaybook(ctx, "t1", "p1")
		require.NoError(t, err)
		assert.Equal(t, "renamed", got.Name, "a conflicting put writes nothing")
		assert.Len(t, got.Steps, 2)
		rev2, err := s.Revision(ctx, "t1")
		require.NoError(t, err)
		assert.Greater(t, rev2, rev1)
	})

	// A Service caches the tenant's playbooks, policy, calendars and
	// templates while the Revision stays put: every change moves it, or
	// another Service sharing the store keeps sending by a stale pause
	// state, quiet hours or caps.
	t.Run("RevisionMovesOnEveryChange", func(t *testing.T) {
		s := newStore(t)
		put(t, s, playbook("t1", "p1", 1))
		last, err := s.Revision(ctx, "t1")
		require.NoError(t, err)
		moved := func(what string, err error) {
			t.Helper()
			require.NoError(t, err, what)
			now, err := s.Revision(ctx, "t1")
			require.NoError(t, err)
			assert.Greater(t, now, last, "%s moves the revision", what)
			last = now
		}
		_, err = s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: true, At: t0})
		moved("a pause", err)
		_, err = s.SetPaused(ctx, sop.SetPausedParams{Tenant: "t1", Playbook: "p1", Paused: false, At: t0, SkipDueBefore: t0})
		moved("a resume", err)
		_, err = s.PutPolicy(ctx, "t1", sop.Policy{QuietHours: &sop.Window{Start: "22:00", End: "08:00"}})
		moved("a policy", err)
		_, err = s.PutCalendar(ctx, sop.PutCalendarParams{At: t0, Calendar: sop.Calendar{Tenant: "t1", ID: "c1", Entries: []sop.Entry{
			{Weekday: time.Monday, At: "10:00", Groups: []string{"g1"}, Channel: scrm.ChannelWeComGroup, Template: "种草"}}}})
		moved("a calendar", err)
		_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: template("t1", "tp"), At: t0})
		moved("a template", err)
		other, err := s.Revision(ctx, "t2")
		require.NoError(t, err)
		assert.Zero(t, other, "revisions are per tenant")
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		p := playbook("t1", "p1", 2)
		put(t, s, p)
		// Mutate what was put.
		p.Steps[0].Action.Vars["k"] = "changed"
		p.Steps[0].Weekdays[0] = time.Sunday
		p.Steps[0].Window.Start = "00:00"
		p.Exit.All[1].Value.([]any)[0] = "北京"
		p.Trigger.When.Tag = "changed"
		got, err := s.GetPlaybook(ctx, "t1", "p1")
		require.NoError(t, err)
		assert.Equal(t, "v", got.Steps[0].Action.Vars["k"])
		assert.Equal(t, time.Monday, got.Steps[0].Weekdays[0])
		assert.Equal(t, "09:00", got.Steps[0].Window.Start)
		assert.Equal(t, "新客", got.Trigger.When.Tag)
		assert.Equal(t, "上海", exitCity(got))
		// Mutate what was read.
		got.Steps[0].Action.Vars["k"] = "changed"
		got.Steps = got.Steps[:1]
		got.Exit.All[1].Value.([]any)[0] = "北京"
		again, err := s.GetPlaybook(ctx, "t1", "p1")
		require.NoError(t, err)
		assert.Equal(t, "v", again.Steps[0].Action.Vars["k"])
		assert.Len(t, again.Steps, 2)
		assert.Equal(t, "上海", exitCity(again))
	})
}

func exitCity(p sop.Playbook) any {
	switch v := p.Exit.All[1].Value.(type) {
	case []any:
		return v[0]
	case []string:
		return v[0]
	}
	return nil
}

func assertSamePlaybook(t *testing.T, want, got sop.Playbook) {
	t.Helper()
	want.Version, want.UpdatedAt = got.Version, got.UpdatedAt
	// Decimals compare by value, not representation.
	for i := range want.Steps {
		for k := range want.Steps[i].Variants {
			w, g := want.Steps[i].Variants[k].Action.Reward.Amount, got.Steps[i].Variants[k].Action.Reward.Amount
			assert.True(t, w.Equal(g), "Steps[%d].Variants[%d] amount %s != %s", i, k, w, g)
			want.Steps[i].Variants[k].Action.Reward.Amount = g
		}
	}
	assert.Equal(t, want.Exit.String(), got.Exit.String())
	assert.Equal(t, want.Trigger.When.String(), got.Trigger.When.String())
	want.Exit, got.Exit = nil, nil
	want.Trigger.When, got.Trigger.When = nil, nil
	assert.Equal(t, want, got)
}

func testCalendars(t *testing.T, newStore func(t *testing.T) sop.Store) {
	cal := func() sop.Calendar {
		return sop.Calendar{Tenant: "t1", ID: "c1", Entries: []sop.Entry{
			{Weekday: time.Monday, At: "10:00", Groups: []string{"g1", "g2"}, Channel: scrm.ChannelWeComGroup, Template: "种草", Vars: map[string]string{"a": "b"}},
			{Weekday: time.Friday, At: "20:00", Groups: []string{"g3"}, Channel: scrm.ChannelWeComGroup, Template: "裂变"},
		}}
	}
	posts := []sop.PostSpec{{Entry: 0, Group: "g1", Due: t0}, {Entry: 0, Group: "g2", Due: t0}, {Entry: 1, Group: "g3", Due: t0.Add(4 * 24 * time.Hour)}}

	t.Run("RoundTripAndPosts", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetCalendar(ctx, "t1", "c1")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		c := cal()
		got, err := s.PutCalendar(ctx, sop.PutCalendarParams{Calendar: c, At: t0, Posts: posts})
		require.NoError(t, err)
		assert.Equal(t, int64(1), got.Version)
		c.Entries[0].Groups[0] = "changed"
		c.Entries[0].Vars["a"] = "changed"
		read, err := s.GetCalendar(ctx, "t1", "c1")
		require.NoError(t, err)
		assert.Equal(t, "g1", read.Entries[0].Groups[0])
		assert.Equal(t, "b", read.Entries[0].Vars["a"])
		assert.Equal(t, "裂变", read.Entries[1].Template)

		jobs, err := s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Calendar: "c1"})
		require.NoError(t, err)
		require.Len(t, jobs, 3)
		assert.Equal(t, "g3", jobs[2].Group)
		assert.Equal(t, 1, jobs[2].Entry)
		assert.True(t, near(jobs[2].Scheduled, t0.Add(4*24*time.Hour)))
		assert.Equal(t, sop.PostID("t1", "c1", 1, "g3", jobs[2].Scheduled), jobs[2].ID)

		// A post done with a next occurrence is scheduled again.
		claimed := claim(t, s, "w", t0, 10)
		require.Len(t, claimed, 2)
		assert.True(t, claimed[0].IsPost())
		next := t0.Add(7 * 24 * time.Hour)
		done, err := s.Complete(ctx, sop.CompleteParams{Tenant: "t1", Job: claimed[0].ID, Worker: "w", At: t0, State: sop.JobDone, Next: next})
		require.NoError(t, err)
		assert.Equal(t, sop.JobPending, done.State)
		assert.True(t, near(done.Due, next))
		assert.NotEqual(t, claimed[0].ID, done.ID, "each occurrence has its own ID")

		// Replacing the calendar drops its scheduled posts (leased ones too).
		_, err = s.PutCalendar(ctx, sop.PutCalendarParams{Calendar: c, At: t0, Posts: posts})
		assert.ErrorIs(t, err, scrm.ErrConflict, "version 0 for an existing calendar")
		c.Version = 1
		c.Entries = c.Entries[1:]
		_, err = s.PutCalendar(ctx, sop.PutCalendarParams{Calendar: c, At: t0, Posts: []sop.PostSpec{{Entry: 0, Group: "g3", Due: t0}}})
		require.NoError(t, err)
		_, err = complete(s, claimed[1], "w", t0, sop.JobDone)
		assert.ErrorIs(t, err, scrm.ErrConflict, "a dropped post's lease is gone")
		jobs, err = s.Jobs(ctx, sop.ListJobsParams{Tenant: "t1", Calendar: "c1"})
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		assert.Equal(t, "g3", jobs[0].Group)
	})
}

func testPolicy(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		p, err := s.GetPolicy(ctx, "t1")
		require.NoError(t, err)
		assert.Zero(t, p.Version)
		in := sop.Policy{
			QuietHours:   &sop.Window{Start: "22:00", End: "08:00"},
			Caps:         []sop.Cap{{Channel: scrm.ChannelSMS, Max: 2, Per: sop.Week, OnExceed: sop.Skip}},
			RateLimits:   map[string]sop.RateLimit{scrm.ChannelSMS: {N: 10, Per: time.Second, Burst: 20}},
			SuppressTags: []string{"勿扰"},
		}
		out, err := s.PutPolicy(ctx, "t1", in)
		require.NoError(t, err)
		assert.Equal(t, int64(1), out.Version)
		in.QuietHours.Start = "00:00"
		in.Caps[0].Max = 99
		in.RateLimits[scrm.ChannelSMS] = sop.RateLimit{N: 1, Per: time.Hour}
		in.SuppressTags[0] = "x"
		got, err := s.GetPolicy(ctx, "t1")
		require.NoError(t, err)
		assert.Equal(t, "22:00", got.QuietHours.Start)
		assert.Equal(t, 2, got.Caps[0].Max)
		assert.Equal(t, sop.RateLimit{N: 10, Per: time.Second, Burst: 20}, got.RateLimits[scrm.ChannelSMS])
		assert.Equal(t, []string{"勿扰"}, got.SuppressTags)
		got.Caps[0].Max = 7
		again, err := s.GetPolicy(ctx, "t1")
		require.NoError(t, err)
		assert.Equal(t, 2, again.Caps[0].Max)
		out, err = s.PutPolicy(ctx, "t1", sop.Policy{})
		require.NoError(t, err)
		assert.Equal(t, int64(2), out.Version)
	})
}
