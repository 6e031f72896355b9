package sop

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// PutCalendar validates c and stores it (Version 0 creates, the version
// read updates), scheduling the next occurrence of every entry for every
// group: the first local Weekday at At that is not before now. Each post
// schedules the following week's when it runs (sent, skipped or failed),
// so a calendar posts every week until it is replaced; a calendar with no
// entries posts nothing. Replacing a calendar drops its scheduled posts and
// schedules the new ones. Errors: ErrInvalid naming the field, and nothing
// written; ErrConflict on a version mismatch.
func (s *Service) PutCalendar(ctx context.Context, c Calendar) (Calendar, error) {
	op := fmt.Sprintf("sop calendar %q", c.ID)
	ats, err := s.compileCalendar(op, c)
	if err != nil {
		return Calendar{}, err
	}
	if err := s.checkEntryTemplates(ctx, op, c); err != nil {
		return Calendar{}, err
	}
	now := s.now()
	loc := s.opts.LocationOf(c.Tenant)
	var posts []PostSpec
	for i, e := range c.Entries {
		first := firstOccurrence(e.Weekday, ats[i], now, loc)
		for _, g := range e.Groups {
			posts = append(posts, PostSpec{Entry: i, Group: g, Due: first})
		}
	}
	out, err := s.store.PutCalendar(ctx, PutCalendarParams{Calendar: c, At: now, Posts: posts})
	if err != nil {
		return Calendar{}, scrm.Wrap(nil, op, err)
	}
	s.forget(c.Tenant)
	return out, nil
}

// Calendar returns a stored calendar. Errors: ErrNotFound.
func (s *Service) Calendar(ctx context.Context, tenant scrm.TenantID, id string) (Calendar, error) {
	return s.store.GetCalendar(ctx, tenant, id)
}

// Posts returns a calendar's scheduled post jobs (one per entry and group),
// in due-time order.
func (s *Service) Posts(ctx context.Context, tenant scrm.TenantID, calendar string) ([]Job, error) {
	if err := scrm.CheckID("sop.Posts", "calendar", calendar); err != nil {
		return nil, err
	}
	return s.store.Jobs(ctx, ListJobsParams{Tenant: tenant, Calendar: calendar})
}

// firstOccurrence returns the first local weekday wd at minute mod that is
// not before now. It walks local calendar dates a week apart and places the
// time on each date with localTime, so a time in a DST gap moves past the
// gap on that date only.
func firstOccurrence(wd time.Weekday, mod int, now time.Time, loc *time.Location) time.Time {
	ln := now.In(loc)
	y, mo, d := ln.Date()
	for ahead := (int(wd) - int(ln.Weekday()) + 7) % 7; ; ahead += 7 {
		if t := localTime(y, mo, d+ahead, mod/60, mod%60, 0, loc); !t.Before(now) {
			return t
		}
	}
}
