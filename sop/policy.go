package sop

import (
	"time"
)

// Policy is a tenant's delivery policy: when messages may go out, how many
// each customer gets, how fast each channel sends, and who gets none. It
// applies to Message actions and calendar posts at the moment they run, so
// a change takes effect on tasks already scheduled. Task, Reward, Tag and
// Untag actions are not messages and are not held back by it.
type Policy struct {
	// QuietHours, if set, is a daily local span with no messages (e.g.
	// 22:00–08:00); a message due inside it is deferred to its end.
	QuietHours *Window
	// Caps limit messages per customer per channel per calendar period.
	Caps []Cap
	// RateLimits limit sends per channel (across all customers of the
	// tenant), keyed by channel name.
	RateLimits map[string]RateLimit
	// SuppressTags: customers with any of these tags get no Message actions
	// (they said they don't want them); such steps are skipped.
	SuppressTags []string

	// Version counts the stored versions; set by the Store.
	Version int64
}

// Period is a calendar period in the tenant's zone.
type Period string

// The cap periods. Weeks start on Monday.
const (
	Day   Period = "day"
	Week  Period = "week"
	Month Period = "month"
)

// Exceed says what happens to a message that would exceed a cap.
type Exceed string

// The cap outcomes.
const (
	// Defer (the default, also the zero value "") moves the message to the
	// start of the next period.
	Defer Exceed = "defer"
	// Skip drops the message; it is recorded as skipped.
	Skip Exceed = "skip"
)

// Cap limits the messages one customer receives on one channel in one
// calendar period: at most Max. The Store counts them, atomically with
// letting a message through, so concurrent workers never exceed it.
type Cap struct {
	Channel  string
	Max      int
	Per      Period
	OnExceed Exceed
}

// RateLimit limits the sends of one channel: N per Per on average, with
// bursts of up to Burst (default N). It is enforced with a
// golang.org/x/time/rate limiter driven by the Service's Clock; a message
// over the limit is deferred to when a token is available. Limiters live in
// the Service: several Service instances each get the full rate.
type RateLimit struct {
	N     int
	Per   time.Duration
	Burst int
}
