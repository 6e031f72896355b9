package sop_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

func TestQuietHoursAcrossDSTNights(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	for _, tc := range []struct {
		name string
		due  time.Time
		want string
	}{
		{"spring forward night", time.Date(2026, 3, 7, 23, 0, 0, 0, ny), "2026-03-08 08:00 Sun x"},
		{"fall back night", time.Date(2026, 10, 31, 23, 0, 0, 0, ny), "2026-11-01 08:00 Sun x"},
		{"inside repeated hour", time.Date(2026, 11, 1, 1, 30, 0, 0, ny), "2026-11-01 08:00 Sun x"},
		{"exactly at quiet start", time.Date(2026, 3, 9, 22, 0, 0, 0, ny), "2026-03-10 08:00 Tue x"},
		{"exactly at quiet end", time.Date(2026, 3, 9, 8, 0, 0, 0, ny), "2026-03-09 08:00 Mon x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.due, func(o *sop.Options) { o.Location = ny })
			_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{QuietHours: &sop.Window{Start: "22:00", End: "08:00"}})
			require.NoError(t, err)
			e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Action: msg(scrm.ChannelWeCom, "x")}}})
			_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
			require.NoError(t, err)
			e.runUntil(tc.due.Add(36*time.Hour), time.Minute)
			assert.Equal(t, []string{tc.want}, e.sends("c1", ny))
		})
	}
}

func TestDailyCapAtLocalMidnight(t *testing.T) {
	start := at(2026, 3, 2, 23, 58)
	e := newEnv(t, start)
	_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{Caps: []sop.Cap{{Channel: scrm.ChannelSMS, Max: 1, Per: sop.Day}}})
	require.NoError(t, err)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "a", Action: msg(scrm.ChannelSMS, "a")},
		{ID: "b", After: time.Minute, Action: msg(scrm.ChannelSMS, "b")},
		{ID: "c", After: 2 * time.Minute, Action: msg(scrm.ChannelSMS, "c")},
	}})
	_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	e.runUntil(at(2026, 3, 4, 1, 0), time.Minute)
	assert.Equal(t, []string{"2026-03-02 23:58 Mon a", "2026-03-03 00:00 Tue b", "2026-03-04 00:00 Wed c"}, e.sends("c1", shanghai))
}

func TestWeeklyCapAtMondayMidnight(t *testing.T) {
	start := at(2026, 3, 8, 23, 59) // Sunday
	e := newEnv(t, start)
	_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{Caps: []sop.Cap{{Channel: scrm.ChannelSMS, Max: 1, Per: sop.Week}}})
	require.NoError(t, err)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "a", Action: msg(scrm.ChannelSMS, "a")},
		{ID: "b", After: time.Minute, Action: msg(scrm.ChannelSMS, "b")},
		{ID: "c", After: 2 * time.Minute, Action: msg(scrm.ChannelSMS, "c")},
	}})
	_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	e.runUntil(at(2026, 3, 16, 1, 0), 5*time.Minute)
	assert.Equal(t, []string{"2026-03-08 23:59 Sun a", "2026-03-09 00:04 Mon b", "2026-03-16 00:04 Mon c"}, e.sends("c1", shanghai))
}

func TestConcurrentRunDueCapsAndRate(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	e := newEnv(t, start)
	_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{
		Caps:       []sop.Cap{{Channel: scrm.ChannelSMS, Max: 2, Per: sop.Day, OnExceed: sop.Skip}},
		RateLimits: map[string]sop.RateLimit{scrm.ChannelSMS: {N: 50, Per: time.Second}},
	})
	require.NoError(t, err)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "s1", Action: msg(scrm.ChannelSMS, "a")},
		{ID: "s2", Action: msg(scrm.ChannelSMS, "b")},
		{ID: "s3", Action: msg(scrm.ChannelSMS, "c")},
	}})
	for i := range 300 {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: scrm.CustomerID(fmt.Sprintf("c%03d", i))})
		require.NoError(t, err)
	}
	for range 40 {
		e.clock.Advance(time.Second)
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					r, err := e.svc.RunDue(e.ctx, sop.RunRequest{Limit: 7, Worker: fmt.Sprintf("w%d", w)})
					assert.NoError(t, err)
					if err != nil || r.Claimed == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	assert.Empty(t, e.rec.Duplicates())
	for i := range 300 {
		assert.Len(t, e.rec.For(scrm.CustomerID(fmt.Sprintf("c%03d", i))), 2)
	}
	st := stepStats(t, e, "p")
	assert.Equal(t, int64(600), st["s1"].Sent+st["s2"].Sent+st["s3"].Sent)
	assert.Equal(t, int64(300), st["s1"].Skipped+st["s2"].Skipped+st["s3"].Skipped)
}

// A retry of the very same request (same key, Anchor left zero = now) must
// return the first enrollment, not ErrConflict.
func TestEnrollRetryWithDefaultAnchorReplays(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	e := newEnv(t, start)
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", After: time.Hour, Action: msg(scrm.ChannelWeCom, "x")}}})
	req := sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1", IdempotencyKey: "order-123"}
	first, err := e.svc.Enroll(e.ctx, req)
	require.NoError(t, err)
	e.clock.Advance(2 * time.Second) // the host retries after a timeout
	again, err := e.svc.Enroll(e.ctx, req)
	require.NoError(t, err, "same key, same payload")
	assert.Equal(t, first, again)
}

func TestCalendarNextWeekAfterOutageAcrossFallBack(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	start := time.Date(2026, 10, 30, 12, 0, 0, 0, ny) // Friday
	e := newEnv(t, start, func(o *sop.Options) { o.Location = ny })
	_, err := e.svc.PutCalendar(e.ctx, sop.Calendar{Tenant: "t1", ID: "cal", Entries: []sop.Entry{
		{Weekday: time.Saturday, At: "10:00", Groups: []string{"g"}, Channel: scrm.ChannelWeComGroup, Template: "x"},
	}})
	require.NoError(t, err)
	// Workers are down from Saturday 31 October (EDT) until Saturday
	// 7 November 09:30 (EST), half an hour before that week's post.
	e.clock.Set(time.Date(2026, 11, 7, 9, 30, 0, 0, ny))
	r := e.run()
	assert.Equal(t, 1, r.Skipped, "last week's post is missed")
	posts, err := e.svc.Posts(e.ctx, "t1", "cal")
	require.NoError(t, err)
	require.Len(t, posts, 1)
	assert.Equal(t, "2026-11-07 10:00", posts[0].Due.In(ny).Format("2006-01-02 15:04"), "this week's post is still ahead")
}

// The job is due Monday 23:00; the step is then restricted to Tuesdays.
// Tuesday 08:00 meets both the weekday and the quiet hours, but the
// run-time recheck moves the job to Tuesday 23:00 (quiet) and from there a
// whole week on.
func TestWeekdayRecheckWithQuietHoursTakesTheSameWeek(t *testing.T) {
	start := at(2026, 3, 2, 9, 0) // Monday
	e := newEnv(t, start)
	_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{QuietHours: &sop.Window{Start: "22:00", End: "08:00"}})
	require.NoError(t, err)
	pb := e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", After: 14 * time.Hour, Action: msg(scrm.ChannelWeCom, "x")}}})
	_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	pb.Steps[0].Weekdays = []time.Weekday{time.Tuesday}
	e.put(pb)
	e.runUntil(at(2026, 3, 11, 0, 0), 10*time.Minute)
	assert.Equal(t, []string{"2026-03-03 08:00 Tue x"}, e.sends("c1", shanghai))
}

// A nil amount stored on the profile is a blank optional variable: it must
// render as "" (or fail), never as text/template's "<no value>".
func TestOptionalNilAttributeRendersEmpty(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	e.putTemplate(sop.Template{ID: "bal", Channel: scrm.ChannelWeCom,
		Body: "您好{{.Nick}}，欢迎回来", Optional: []string{"Nick"}})
	e.setProfile("c1", map[string]any{"Nick": (*decimal.Decimal)(nil)})
	p, err := e.svc.Render(e.ctx, sop.RenderRequest{Tenant: "t1", Template: "bal", Customer: "c1"})
	require.NoError(t, err)
	assert.Equal(t, "您好，欢迎回来", p.Body)
}

// An entry at Sunday 02:30 in New York falls in the spring-forward gap on
// 8 March 2026 and goes out at 03:30 that day; the following Sundays must
// be back at 02:30, not stuck at 03:30 for good.
func TestCalendarEntryInDSTGapMovesThatDayOnly(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	start := time.Date(2026, 3, 7, 12, 0, 0, 0, ny)
	e := newEnv(t, start, func(o *sop.Options) { o.Location = ny })
	_, err := e.svc.PutCalendar(e.ctx, sop.Calendar{Tenant: "t1", ID: "cal", Entries: []sop.Entry{
		{Weekday: time.Sunday, At: "02:30", Groups: []string{"g"}, Channel: scrm.ChannelWeComGroup, Template: "x"},
	}})
	require.NoError(t, err)
	e.runUntil(time.Date(2026, 3, 23, 0, 0, 0, 0, ny), 5*time.Minute)
	var got []string
	for _, m := range e.rec.Messages() {
		for _, ts := range e.sentAt[m.ID] {
			got = append(got, ts.In(ny).Format("01-02 15:04"))
		}
	}
	assert.Equal(t, []string{"03-08 03:30", "03-15 02:30", "03-22 02:30"}, got)
}
