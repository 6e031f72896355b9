package sop_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/sop"
)

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var e *scrm.Error
	require.True(t, errors.As(err, &e), "%v", err)
	return e.Field
}

func TestPlaybookBadInput(t *testing.T) {
	good := func() sop.Playbook {
		return sop.Playbook{Tenant: "t1", ID: "p", Steps: []sop.Step{
			{ID: "s1", Action: msg(scrm.ChannelWeCom, "x")},
			{ID: "s2", Day: 1, At: "10:00", Action: msg(scrm.ChannelWeCom, "y")},
		}}
	}
	badRule := rule.All(rule.Attr("city").Eq("x"), rule.Event(scrm.EventOrderPaid).Count(rule.Cmp{}))
	for _, tc := range []struct {
		name  string
		edit  func(*sop.Playbook)
		field string
	}{
		{"both After and Day", func(p *sop.Playbook) { p.Steps[1].After = time.Hour }, "Steps[1].Day"},
		{"After with At", func(p *sop.Playbook) { p.Steps[0].After, p.Steps[0].At = time.Hour, "10:00" }, "Steps[0].At"},
		{"25:00", func(p *sop.Playbook) { p.Steps[1].At = "25:00" }, "Steps[1].At"},
		{"10:60", func(p *sop.Playbook) { p.Steps[1].At = "10:60" }, "Steps[1].At"},
		{"9:00", func(p *sop.Playbook) { p.Steps[1].At = "9:00" }, "Steps[1].At"},
		{"empty playbook", func(p *sop.Playbook) { p.Steps = nil }, "Steps"},
		{"no ID", func(p *sop.Playbook) { p.ID = "" }, "ID"},
		{"no tenant", func(p *sop.Playbook) { p.Tenant = "" }, "Tenant"},
		{"negative After", func(p *sop.Playbook) { p.Steps[0].After = -time.Hour }, "Steps[0].After"},
		{"negative Day", func(p *sop.Playbook) { p.Steps[1].Day = -1 }, "Steps[1].Day"},
		{"duplicate step", func(p *sop.Playbook) { p.Steps[1].ID = "s1" }, "Steps[1].ID"},
		{"step without ID", func(p *sop.Playbook) { p.Steps[0].ID = "" }, "Steps[0].ID"},
		{"window 25:00", func(p *sop.Playbook) { p.Steps[0].Window = &sop.Window{Start: "25:00", End: "10:00"} }, "Steps[0].Window.Start"},
		{"empty window", func(p *sop.Playbook) { p.Steps[0].Window = &sop.Window{Start: "10:00", End: "10:00"} }, "Steps[0].Window.End"},
		{"bad weekday", func(p *sop.Playbook) { p.Steps[0].Weekdays = []time.Weekday{7} }, "Steps[0].Weekdays[0]"},
		{"duplicate weekday", func(p *sop.Playbook) { p.Steps[0].Weekdays = []time.Weekday{1, 1} }, "Steps[0].Weekdays[1]"},
		{"no action", func(p *sop.Playbook) { p.Steps[0].Action = sop.Action{} }, "Steps[0].Action.Kind"},
		{"unknown action", func(p *sop.Playbook) { p.Steps[0].Action.Kind = "fax" }, "Steps[0].Action.Kind"},
		{"unknown channel", func(p *sop.Playbook) { p.Steps[0].Action.Channel = "fax" }, "Steps[0].Action.Channel"},
		{"no template", func(p *sop.Playbook) { p.Steps[0].Action.Template = "" }, "Steps[0].Action.Template"},
		{"task without staff", func(p *sop.Playbook) { p.Steps[0].Action = sop.Action{Kind: sop.Task} }, "Steps[0].Action.Staff"},
		{"tag without tag", func(p *sop.Playbook) { p.Steps[0].Action = sop.Action{Kind: sop.Tag} }, "Steps[0].Action.Tag"},
		{"reward without kind", func(p *sop.Playbook) { p.Steps[0].Action = sop.Action{Kind: sop.Reward} }, "Steps[0].Action.Reward.Kind"},
		{"reward sub-fen", func(p *sop.Playbook) {
			p.Steps[0].Action = sop.Action{Kind: sop.Reward, Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: scrm.Yuan("1.005")}}
		}, "Steps[0].Action.Reward.Amount"},
		{"variants and action", func(p *sop.Playbook) {
			p.Steps[0].Variants = []sop.Variant{{Weight: 1, Action: msg(scrm.ChannelWeCom, "a")}}
		}, "Steps[0].Action"},
		{"variant weights zero", func(p *sop.Playbook) {
			p.Steps[0].Action = sop.Action{}
			p.Steps[0].Variants = []sop.Variant{{Weight: 0, Action: msg(scrm.ChannelWeCom, "a")}}
		}, "Steps[0].Variants"},
		{"negative weight", func(p *sop.Playbook) {
			p.Steps[0].Action = sop.Action{}
			p.Steps[0].Variants = []sop.Variant{{Weight: -1, Action: msg(scrm.ChannelWeCom, "a")}}
		}, "Steps[0].Variants[0].Weight"},
		{"duplicate variant", func(p *sop.Playbook) {
			p.Steps[0].Action = sop.Action{}
			p.Steps[0].Variants = []sop.Variant{{ID: "x", Weight: 1, Action: msg(scrm.ChannelWeCom, "a")}, {ID: "x", Weight: 1, Action: msg(scrm.ChannelWeCom, "b")}}
		}, "Steps[0].Variants[1].ID"},
		{"bad variant action", func(p *sop.Playbook) {
			p.Steps[0].Action = sop.Action{}
			p.Steps[0].Variants = []sop.Variant{{Weight: 1, Action: msg("fax", "a")}}
		}, "Steps[0].Variants[0].Action.Channel"},
		{"two triggers", func(p *sop.Playbook) { p.Trigger = sop.Trigger{Event: "x", Tag: "y"} }, "Trigger"},
		{"inactivity for 0", func(p *sop.Playbook) { p.Trigger = sop.Trigger{Inactive: &sop.Inactivity{}} }, "Trigger.Inactive.For"},
		{"when without trigger", func(p *sop.Playbook) { w := rule.HasTag("x"); p.Trigger.When = &w }, "Trigger.When"},
		{"bad when", func(p *sop.Playbook) { p.Trigger = sop.Trigger{Event: "x", When: &badRule} }, "Trigger.When.all[1].count"},
		{"bad exit", func(p *sop.Playbook) { p.Exit = &badRule }, "Exit.all[1].count"},
		{"empty exit", func(p *sop.Playbook) { p.Exit = &rule.Condition{} }, "Exit"},
		{"bad reentry", func(p *sop.Playbook) { p.Reentry.Mode = "twice" }, "Reentry.Mode"},
		{"cooldown with once", func(p *sop.Playbook) { p.Reentry.Cooldown = time.Hour }, "Reentry.Cooldown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, at(2026, 3, 2, 9, 0))
			p := good()
			tc.edit(&p)
			_, err := e.svc.PutPlaybook(e.ctx, p)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			assert.Equal(t, tc.field, fieldOf(t, err), "%v", err)
			_, err = e.store.GetPlaybook(e.ctx, "t1", "p")
			assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		})
	}
}

func TestActionsNeedTheirCollaborators(t *testing.T) {
	ctx := context.Background()
	svc := sop.New(nil, scrm.NewMemoryProfileStore(), nil)
	for _, a := range []sop.Action{
		msg(scrm.ChannelWeCom, "x"),
		{Kind: sop.Reward, Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: 10}},
		{Kind: sop.Untag, Tag: "x"},
	} {
		_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: "t1", ID: "p", Steps: []sop.Step{{ID: "s", Action: a}}})
		require.ErrorIs(t, err, scrm.ErrInvalid)
		assert.Equal(t, "Steps[0].Action.Kind", fieldOf(t, err))
	}
	_, err := svc.PutCalendar(ctx, weekly())
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	// A task needs no collaborator.
	_, err = svc.PutPlaybook(ctx, sop.Playbook{Tenant: "t1", ID: "p", Steps: []sop.Step{{ID: "s", Action: sop.Action{Kind: sop.Task, Staff: "s1"}}}})
	assert.NoError(t, err)
}

func TestPolicyBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     sop.Policy
		field string
	}{
		{"cap with Max 0", sop.Policy{Caps: []sop.Cap{{Channel: scrm.ChannelWeCom, Max: 0, Per: sop.Day}}}, "Caps[0].Max"},
		{"cap unknown channel", sop.Policy{Caps: []sop.Cap{{Channel: "fax", Max: 1, Per: sop.Day}}}, "Caps[0].Channel"},
		{"cap bad period", sop.Policy{Caps: []sop.Cap{{Channel: scrm.ChannelSMS, Max: 1, Per: "year"}}}, "Caps[0].Per"},
		{"cap bad exceed", sop.Policy{Caps: []sop.Cap{{Channel: scrm.ChannelSMS, Max: 1, Per: sop.Day, OnExceed: "drop"}}}, "Caps[0].OnExceed"},
		{"duplicate cap", sop.Policy{Caps: []sop.Cap{{Channel: scrm.ChannelSMS, Max: 1, Per: sop.Day}, {Channel: scrm.ChannelSMS, Max: 2, Per: sop.Day}}}, "Caps[1]"},
		{"rate limit unknown channel", sop.Policy{RateLimits: map[string]sop.RateLimit{"fax": {N: 1, Per: time.Second}}}, `RateLimits["fax"]`},
		{"rate limit N 0", sop.Policy{RateLimits: map[string]sop.RateLimit{scrm.ChannelSMS: {N: 0, Per: time.Second}}}, `RateLimits["sms"].N`},
		{"rate limit no Per", sop.Policy{RateLimits: map[string]sop.RateLimit{scrm.ChannelSMS: {N: 1}}}, `RateLimits["sms"].Per`},
		{"quiet 25:00", sop.Policy{QuietHours: &sop.Window{Start: "22:00", End: "25:00"}}, "QuietHours.End"},
		{"empty suppress tag", sop.Policy{SuppressTags: []string{""}}, "SuppressTags[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, at(2026, 3, 2, 9, 0))
			_, err := e.svc.SetPolicy(e.ctx, "t1", tc.p)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			assert.Equal(t, tc.field, fieldOf(t, err), "%v", err)
			p, err := e.svc.Policy(e.ctx, "t1")
			require.NoError(t, err)
			assert.Zero(t, p.Version, "nothing written")
		})
	}
}

func TestCalendarBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*sop.Calendar)
		field string
	}{
		{"25:00", func(c *sop.Calendar) { c.Entries[0].At = "25:00" }, "Entries[0].At"},
		{"no groups", func(c *sop.Calendar) { c.Entries[1].Groups = nil }, "Entries[1].Groups"},
		{"empty group", func(c *sop.Calendar) { c.Entries[0].Groups[1] = "" }, "Entries[0].Groups[1]"},
		{"duplicate group", func(c *sop.Calendar) { c.Entries[0].Groups[1] = "g1" }, "Entries[0].Groups[1]"},
		{"unknown channel", func(c *sop.Calendar) { c.Entries[2].Channel = "fax" }, "Entries[2].Channel"},
		{"no template", func(c *sop.Calendar) { c.Entries[2].Template = "" }, "Entries[2].Template"},
		{"bad weekday", func(c *sop.Calendar) { c.Entries[0].Weekday = 9 }, "Entries[0].Weekday"},
		{"no ID", func(c *sop.Calendar) { c.ID = "" }, "ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, at(2026, 3, 2, 9, 0))
			c := weekly()
			tc.edit(&c)
			_, err := e.svc.PutCalendar(e.ctx, c)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			assert.Equal(t, tc.field, fieldOf(t, err), "%v", err)
			_, err = e.svc.Calendar(e.ctx, "t1", "groups")
			assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		})
	}
}

func TestRequestBadInput(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 9, 0))
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "x")}}})
	for _, tc := range []struct {
		req   sop.EnrollRequest
		field string
	}{
		{sop.EnrollRequest{Playbook: "p", Customer: "c"}, "Tenant"},
		{sop.EnrollRequest{Tenant: "t1", Customer: "c"}, "Playbook"},
		{sop.EnrollRequest{Tenant: "t1", Playbook: "p"}, "Customer"},
		{sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "\xff"}, "Customer"},
	} {
		_, err := e.svc.Enroll(e.ctx, tc.req)
		require.ErrorIs(t, err, scrm.ErrInvalid)
		assert.Equal(t, tc.field, fieldOf(t, err))
	}
	err := e.svc.Handle(e.ctx, scrm.Event{ID: "x", Tenant: "t1", Type: "t", Time: time.Now()})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	assert.ErrorIs(t, e.svc.Run(e.ctx, 0), scrm.ErrInvalid)

	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err = e.svc.RunDue(ctx, sop.RunRequest{})
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
}
