package member

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// compiled is a validated Program ready for evaluation in one tenant's zone.
// It is immutable and shared between requests.
type compiled struct {
	p    Program
	loc  *time.Location
	when []*rule.Program // per tier; nil when the tier has no condition
	// hasWhen tells whether evaluating tiers needs the customer's profile.
	hasWhen bool
	mult    []decimal.Decimal // per tier points multiplier, zero replaced by 1
	day     [7]decimal.Decimal
	hasDay  [7]bool
	// The same multipliers in millionths (they have at most 6 decimal
	// places), for the integer fast path of orderPoints.
	multMicro []uint64
	dayMicro  [7]uint64
	events    map[string]EventRule
	// rateFen is Earn.PointsPerYuan as an integer when it is one, so that
	// the common case floors fen × rate / 100 without decimals; -1 otherwise.
	rateInt   int64
	growthInt int64

	// today is the tenant-zone day most recently asked of (see dayOf):
	// requests come in time order, so nearly all of a day's requests find
	// it here instead of computing dates in the zone.
	today atomic.Pointer[calendarDay]
}

// calendarDay is what a program needs of one day in its tenant's zone.
type calendarDay struct {
	start, end int64 // its first second and the next day's, Unix seconds
	weekday    time.Weekday
	// expires is when points earned that day expire (Program.Expiry), in
	// Unix nanoseconds; 0 for never.
	expires int64
}

// dayOf returns the calendar day of t in the program's zone. Day bounds
// are whole seconds (zone offsets are), so t.Unix(), its second rounded
// down, falls inside a day's bounds exactly when t does.
func (c *compiled) dayOf(t time.Time) *calendarDay {
	sec := t.Unix()
	if d := c.today.Load(); d != nil && sec >= d.start && sec < d.end {
		return d
	}
	y, m, dd := t.In(c.loc).Date()
	start := dayStart(y, m, dd, c.loc)
	d := &calendarDay{start: start.Unix(), end: dayStart(y, m, dd+1, c.loc).Unix(), weekday: start.Weekday(),
		expires: nanos(c.p.Expiry.ExpiresAt(t, c.loc))}
	c.today.Store(d)
	return d
}

// expiry returns when points earned at t expire, in Unix nanoseconds; 0
// for never.
func (c *compiled) expiry(t time.Time) int64 { return c.dayOf(t).expires }

func compileProgram(p Program, loc *time.Location) (*compiled, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	c := &compiled{p: p.Clone(), loc: loc, rateInt: -1, growthInt: -1}
	c.when = make([]*rule.Program, len(p.Tiers))
	c.mult = make([]decimal.Decimal, len(p.Tiers))
	c.multMicro = make([]uint64, len(p.Tiers))
	for i, t := range p.Tiers {
		c.mult[i] = t.PointsMultiplier
		if c.mult[i].IsZero() {
			c.mult[i] = decimal.NewFromInt(1)
		}
		c.multMicro[i] = uint64(c.mult[i].Shift(6).IntPart())
		if isZeroCondition(t.When) {
			continue
		}
		prog, err := rule.Compile(t.When, &rule.CompileOptions{Location: loc})
		if err != nil {
			var se *scrm.Error
			field := fmt.Sprintf("Tiers[%d].When", i)
			if asError(err, &se) && se.Field != "" {
				field += "." + se.Field
			}
			return nil, &scrm.Error{Code: scrm.ErrInvalid, Op: "member.Program", Field: field, Msg: "does not compile", Err: err}
		}
		c.when[i] = prog
		c.hasWhen = true
	}
	for _, d := range p.Earn.MemberDays {
		c.day[d.Weekday] = d.Multiplier
		c.hasDay[d.Weekday] = true
		c.dayMicro[d.Weekday] = uint64(d.Multiplier.Shift(6).IntPart())
	}
	if len(p.Earn.Events) > 0 {
		c.events = make(map[string]EventRule, len(p.Earn.Events))
		for _, r := range p.Earn.Events {
			c.events[r.Type] = r
		}
	}
	if p.Earn.PointsPerYuan.IsInteger() {
		c.rateInt = p.Earn.PointsPerYuan.IntPart()
	}
	if p.Growth.PerYuan.IsInteger() {
		c.growthInt = p.Growth.PerYuan.IntPart()
	}
	return c, nil
}

// tierIndex returns the position of tier id in the program, or -1.
func (c *compiled) tierIndex(id string) int {
	if id == "" {
		return -1
	}
	for i := range c.p.Tiers {
		if c.p.Tiers[i].ID == id {
			return i
		}
	}
	return -1
}

// eligible reports whether tier i's threshold and condition hold.
func (c *compiled) eligible(i int, growth int64, env rule.Env, now time.Time) bool {
	if growth < c.p.Tiers[i].Threshold {
		return false
	}
	if w := c.when[i]; w != nil {
		if env == nil {
			return false
		}
		return w.Eval(env, now)
	}
	return true
}

// qualifies returns the highest tier the growth value and profile qualify
// for, or -1.
func (c *compiled) qualifies(growth int64, env rule.Env, now time.Time) int {
	for i := len(c.p.Tiers) - 1; i >= 0; i-- {
		if c.eligible(i, growth, env, now) {
			return i
		}
	}
	return -1
}

// hasPeriod reports whether tier i has a Validity period: every tier but a
// lowest one with threshold 0 and no deduction, which could never change.
func (c *compiled) hasPeriod(i int) bool {
	if c.p.TierPolicy.Kind != Validity || i < 0 {
		return false
	}
	t := c.p.Tiers[i]
	return !(i == 0 && t.Threshold == 0 && t.Deduction == 0)
}

func (c *compiled) policy() TierPolicyKind {
	if c.p.TierPolicy.Kind == "" {
		return Cumulative
	}
	return c.p.TierPolicy.Kind
}

func (c *compiled) debt() DebtPolicy {
	if c.p.Debt == "" {
		return TakeRemaining
	}
	return c.p.Debt
}
