package sop_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

func weekly() sop.Calendar {
	return sop.Calendar{Tenant: "t1", ID: "groups", Entries: []sop.Entry{
		{Weekday: time.Monday, At: "10:00", Groups: []string{"g1", "g2"}, Channel: scrm.ChannelWeComGroup, Template: "种草"},
		{Weekday: time.Wednesday, At: "12:00", Groups: []string{"g1"}, Channel: scrm.ChannelWeComGroup, Template: "会员日"},
		{Weekday: time.Friday, At: "20:00", Groups: []string{"g2"}, Channel: scrm.ChannelWeComGroup, Template: "裂变"},
	}}
}

func (e *env) posts() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, m := range e.rec.Messages() {
		for _, t := range e.sentAt[m.ID] {
			out = append(out, t.In(shanghai).Format("01-02 15:04 Mon")+" "+m.Group+" "+m.Template)
		}
	}
	return dedupe(out)
}

func TestCalendarPostsToGroupsEachWeek(t *testing.T) {
	start := at(2026, 3, 1, 12, 0) // a Sunday
	e := newEnv(t, start)
	cal, err := e.svc.PutCalendar(e.ctx, weekly())
	require.NoError(t, err)
	assert.Equal(t, int64(1), cal.Version)
	posts, err := e.svc.Posts(e.ctx, "t1", "groups")
	require.NoError(t, err)
	require.Len(t, posts, 4)
	assert.True(t, posts[0].Due.Equal(at(2026, 3, 2, 10, 0)))

	e.runUntil(at(2026, 3, 22, 0, 0), 5*time.Minute)
	want := []string{
		"03-02 10:00 Mon g1 种草", "03-02 10:00 Mon g2 种草", "03-04 12:00 Wed g1 会员日", "03-06 20:00 Fri g2 裂变",
		"03-09 10:00 Mon g1 种草", "03-09 10:00 Mon g2 种草", "03-11 12:00 Wed g1 会员日", "03-13 20:00 Fri g2 裂变",
		"03-16 10:00 Mon g1 种草", "03-16 10:00 Mon g2 种草", "03-18 12:00 Wed g1 会员日", "03-20 20:00 Fri g2 裂变",
	}
	assert.Equal(t, want, e.posts())
	assert.Empty(t, e.rec.Duplicates())
	for _, m := range e.rec.Messages() {
		assert.Empty(t, m.Customer)
	}

	// Replacing the calendar replaces its schedule.
	cal.Entries = cal.Entries[:1]
	_, err = e.svc.PutCalendar(e.ctx, cal)
	require.NoError(t, err)
	e.rec.Reset()
	e.runUntil(at(2026, 3, 29, 0, 0), 5*time.Minute)
	assert.Len(t, e.rec.Messages(), 2)
}

func TestCalendarQuietHoursAndMissedPosts(t *testing.T) {
	start := at(2026, 3, 1, 12, 0)
	e := newEnv(t, start)
	_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{QuietHours: &sop.Window{Start: "19:00", End: "08:00"}})
	require.NoError(t, err)
	_, err = e.svc.PutCalendar(e.ctx, weekly())
	require.NoError(t, err)
	e.runUntil(at(2026, 3, 8, 0, 0), 5*time.Minute)
	assert.Contains(t, e.posts(), "03-07 08:00 Sat g2 裂变", "the Friday 20:00 post waits for the quiet hours to end")

	// The workers are down from Sunday to Tuesday: Monday's posts are
	// skipped rather than sent a day late; Wednesday's go out.
	e.rec.Reset()
	e.clock.Set(at(2026, 3, 10, 9, 0))
	r := e.run()
	assert.Equal(t, 2, r.Skipped)
	e.runUntil(at(2026, 3, 17, 0, 0), 5*time.Minute)
	assert.Equal(t, []string{"03-11 12:00 Wed g1 会员日", "03-14 08:00 Sat g2 裂变", "03-16 10:00 Mon g1 种草", "03-16 10:00 Mon g2 种草"}, e.posts())
}
