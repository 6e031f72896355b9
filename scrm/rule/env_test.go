package rule_test

import (
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// testEvent is one event in a testEnv.
type testEvent struct {
	at     time.Time
	amount decimal.Decimal
}

// testEnv is a plain rule.Env backed by maps. It implements none of the
// optional capabilities; wrap it in expiringEnv or fenEnv for those.
type testEnv struct {
	attrs    map[string]any
	tags     map[string]time.Time
	expires  map[string]time.Time
	segments map[string]bool
	events   map[string][]testEvent

	// Calls to Sum and SumFen, atomic so that concurrent tests can share
	// an env.
	sumCalls, fenCalls atomic.Int64
}

var _ rule.Env = (*testEnv)(nil)

func newEnv() *testEnv {
	return &testEnv{
		attrs:    map[string]any{},
		tags:     map[string]time.Time{},
		expires:  map[string]time.Time{},
		segments: map[string]bool{},
		events:   map[string][]testEvent{},
	}
}

func (e *testEnv) attr(name string, v any) *testEnv { e.attrs[name] = v; return e }

func (e *testEnv) tag(tag string, at time.Time) *testEnv { e.tags[tag] = at; return e }

func (e *testEnv) segment(s string) *testEnv { e.segments[s] = true; return e }

func (e *testEnv) event(typ string, at time.Time, amount string) *testEnv {
	d := decimal.Zero
	if amount != "" {
		d = scrm.Yuan(amount)
	}
	e.events[typ] = append(e.events[typ], testEvent{at: at, amount: d})
	return e
}

func (e *testEnv) Attr(name string) (any, bool) { v, ok := e.attrs[name]; return v, ok }

func (e *testEnv) Tag(tag string) (time.Time, bool) { t, ok := e.tags[tag]; return t, ok }

func (e *testEnv) InSegment(s string) bool { return e.segments[s] }

func (e *testEnv) Count(typ string, since time.Time) int64 {
	var n int64
	for _, ev := range e.events[typ] {
		if !ev.at.Before(since) {
			n++
		}
	}
	return n
}

func (e *testEnv) Sum(typ string, since time.Time) decimal.Decimal {
	e.sumCalls.Add(1)
	return e.sum(typ, since)
}

func (e *testEnv) sum(typ string, since time.Time) decimal.Decimal {
	s := decimal.Zero
	for _, ev := range e.events[typ] {
		if !ev.at.Before(since) {
			s = s.Add(ev.amount)
		}
	}
	return s
}

func (e *testEnv) Last(typ string) (time.Time, bool) {
	var last time.Time
	for _, ev := range e.events[typ] {
		if ev.at.After(last) {
			last = ev.at
		}
	}
	return last, !last.IsZero()
}

// expiringEnv adds rule.TagExpirer.
type expiringEnv struct{ *testEnv }

var _ rule.TagExpirer = expiringEnv{}

func (e expiringEnv) TagExpiry(tag string) (time.Time, bool) {
	t, ok := e.expires[tag]
	return t, ok
}

// fenEnv adds rule.FenSummer; exact reports ok == false when set.
type fenEnv struct {
	*testEnv
	refuse bool
}

var _ rule.FenSummer = fenEnv{}

func (e fenEnv) SumFen(typ string, since time.Time) (int64, bool) {
	e.fenCalls.Add(1)
	if e.refuse {
		return 0, false
	}
	// Fen arithmetic without decimal arithmetic, so that this env does not
	// allocate (see TestEvalDoesNotAllocate).
	var fen int64
	for _, ev := range e.events[typ] {
		if ev.at.Before(since) {
			continue
		}
		f := ev.amount.Shift(2)
		if !f.IsInteger() {
			return 0, false
		}
		fen += f.IntPart()
	}
	return fen, true
}

// refNow is the instant most tests evaluate at: Saturday 15 June 2024,
// noon in Shanghai.
func refNow() time.Time { return time.Date(2024, 6, 15, 12, 0, 0, 0, scrm.DefaultLocation()) }

// daysAgo returns refNow minus n days.
func daysAgo(n float64) time.Time { return refNow().Add(-time.Duration(n * float64(24*time.Hour))) }

// decimalOf parses a decimal literal.
func decimalOf(s string) decimal.Decimal { return decimal.RequireFromString(s) }
