package member

import (
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// TierChange is a change of a customer's tier caused by a request.
type TierChange struct {
	From string // "" for none
	To   string
}

// rewardMode says what an upgrade does about upgrade rewards.
type rewardMode int

const (
	rewardGrant rewardMode = iota // grant them (once per tier per period)
	rewardMark                    // record them as granted without granting (imports)
)

// tierGrowth is the growth value tiers are evaluated on: all of it, or under
// Rolling the part earned inside the window (the months kept in Rolling).
func (e *engine) tierGrowth() int64 {
	if e.c.policy() != Rolling {
		return e.a.Growth
	}
	var g int64
	for _, m := range e.a.Rolling {
		g += m.Growth
	}
	return g
}

// pruneRolling drops the months before lo from the Rolling window.
func (e *engine) pruneRolling(lo int32) {
	n := 0
	for n < len(e.a.Rolling) && e.a.Rolling[n].Month < lo {
		n++
	}
	if n > 0 {
		e.a.Rolling = append(e.a.Rolling[:0], e.a.Rolling[n:]...)
	}
}

// windowStart is the oldest month inside the Rolling window.
func (e *engine) windowStart() int32 {
	return monthKey(e.now, e.c.loc) - int32(e.c.p.TierPolicy.Months) + 1
}

// addGrowth credits growth earned at `at` and returns the Rolling month it
// counted in: 0 when it counted in none (no Rolling policy, or earned
// before the window), which removeGrowth is told with notInWindow.
func (e *engine) addGrowth(ent *Entry, g int64, at time.Time) int32 {
	if g <= 0 {
		return 0
	}
	e.a.Growth += g
	ent.Growth += g
	if e.c.policy() != Rolling {
		return 0
	}
	k := monthKey(at, e.c.loc)
	if k < e.windowStart() {
		return 0 // earned too long ago to count in the window
	}
	i := 0
	for i < len(e.a.Rolling) && e.a.Rolling[i].Month < k {
		i++
	}
	if i < len(e.a.Rolling) && e.a.Rolling[i].Month == k {
		e.a.Rolling[i].Growth += g
	} else {
		e.a.Rolling = append(e.a.Rolling, MonthGrowth{})
		copy(e.a.Rolling[i+1:], e.a.Rolling[i:])
		e.a.Rolling[i] = MonthGrowth{Month: k, Growth: g}
	}
	return k
}

// The month arguments of removeGrowth that are not months.
const (
	newestFirst int32 = 0  // growth not tied to a month: the newest months give first
	notInWindow int32 = -1 // growth that never counted in the Rolling window
)

// removeGrowth takes up to g growth back, never below zero, and returns
// what it took. Under Rolling it also takes it from the window:
//
//   - month newestFirst (operator corrections, Validity deductions): from
//     the newest months first;
//   - month notInWindow, or a month that has left the window (an order
//     earned before the window or before the policy became Rolling): from
//     no month, since that growth never counted in the window (or left it);
//   - a month in the window (the refund of an order that counted there):
//     from that month, and what that month no longer has (an earlier
//     correction took it) from the other months, newest first, so that
//     the order of a correction and a refund does not matter.
//
// Either way the window never holds more growth than the account: when it
// would, the excess leaves it, newest months first.
func (e *engine) removeGrowth(ent *Entry, g int64, month int32) int64 {
	g = min(g, e.a.Growth)
	if g <= 0 {
		return 0
	}
	e.a.Growth -= g
	ent.Growth -= g
	if len(e.a.Rolling) == 0 {
		return g
	}
	var left int64
	switch {
	case month == newestFirst:
		left = g
	case month > 0 && month >= e.windowStart():
		left = g
		for i := range e.a.Rolling {
			if m := &e.a.Rolling[i]; m.Month == month {
				t := min(m.Growth, left)
				m.Growth -= t
				left -= t
			}
		}
	}
	var window int64
	for _, m := range e.a.Rolling {
		window += m.Growth
	}
	left = max(left, window-e.a.Growth)
	for i := len(e.a.Rolling) - 1; i >= 0 && left > 0; i-- {
		m := &e.a.Rolling[i]
		t := min(m.Growth, left)
		m.Growth -= t
		left -= t
	}
	out := e.a.Rolling[:0]
	for _, m := range e.a.Rolling {
		if m.Growth > 0 {
			out = append(out, m)
		}
	}
	e.a.Rolling = out
	return g
}

// downMode says whether and how far an evaluation may downgrade.
type downMode int

const (
	// upOnly: an evaluation after a gain, which only upgrades.
	upOnly downMode = iota
	// byLoss: an evaluation after a loss of growth (a refund's clawback, a
	// negative Adjust), which goes straight to the qualifying tier under
	// every policy, so that a refunded order cannot buy a tier.
	byLoss
	// byTime: an evaluation caused by the passage of time (the end of a
	// Validity period, a month leaving the Rolling window, a tier removed
	// from the program), which falls by one tier under OneDown.
	byTime
)

// evaluate re-evaluates the tier. Gains only upgrade (upOnly); a loss of
// growth downgrades to the qualifying tier (byLoss); the passage of time
// downgrades by one tier (OneDown) or to the qualifying one (Recompute)
// (byTime).
func (e *engine) evaluate(at time.Time, down downMode, reason string, mode rewardMode) {
	if len(e.c.p.Tiers) == 0 {
		if e.a.Tier != "" {
			e.changeTier("", at, "program")
		}
		return
	}
	cur := e.c.tierIndex(e.a.Tier)
	q := e.c.qualifies(e.tierGrowth(), e.env, e.now)
	if e.a.Tier != "" && cur < 0 {
		// The tier was removed from the program: the customer takes the
		// tier they qualify for now, without rewards.
		e.changeTier(e.tierID(q), at, "program")
		return
	}
	switch {
	case q > cur:
		e.upgrade(cur, q, at, mode)
	case q < cur && down != upOnly:
		to := q
		if down == byTime && e.c.p.TierPolicy.Downgrade != Recompute {
			to = max(q, cur-1)
		}
		e.changeTier(e.tierID(to), at, reason)
	}
}

func (e *engine) tierID(i int) string {
	if i < 0 {
		return ""
	}
	return e.c.p.Tiers[i].ID
}

// upgrade moves the account from tier cur up to tier to, with the upgrade
// rewards of every tier it reaches (crossed tiers included, when their
// condition holds) that were not granted yet in the current period.
func (e *engine) upgrade(cur, to int, at time.Time, mode rewardMode) {
	seq := strconv.FormatInt(e.changeTier(e.tierID(to), at, "upgrade").Seq, 10)
	g := e.tierGrowth()
	for j := cur + 1; j <= to; j++ {
		t := &e.c.p.Tiers[j]
		if len(t.UpgradeRewards) == 0 || !e.c.eligible(j, g, e.env, e.now) {
			continue
		}
		if until, ok := e.a.Rewarded[t.ID]; ok && (until.IsZero() || at.Before(until)) {
			continue // already rewarded in this period
		}
		if e.a.Rewarded == nil {
			e.a.Rewarded = make(map[string]time.Time)
		}
		e.a.Rewarded[t.ID] = e.rewardPeriodEnd(at)
		if mode != rewardGrant {
			continue
		}
		for k, r := range t.UpgradeRewards {
			e.tx.Outcome.Grants = append(e.tx.Outcome.Grants, scrm.Grant{
				Tenant: e.a.Tenant, Customer: e.a.Customer, Reward: r,
				IdempotencyKey: deriveID("member.upgrade", string(e.a.Customer), t.ID, seq, strconv.Itoa(k)),
				Source:         "member:upgrade:" + t.ID,
			})
		}
	}
}

// rewardPeriodEnd is the end of the period an upgrade at `at` rewards: the
// Validity period it starts, the Rolling window it opens, or never
// (Cumulative: once per tier, ever).
func (e *engine) rewardPeriodEnd(at time.Time) time.Time {
	switch e.c.policy() {
	case Validity:
		return periodEnd(at, e.c.p.TierPolicy.Months, e.c.loc)
	case Rolling:
		return monthStart(monthKey(at, e.c.loc)+int32(e.c.p.TierPolicy.Months), e.c.loc)
	}
	return time.Time{}
}

// changeTier records a tier change; a tier with a Validity period starts a
// new one at `at`.
func (e *engine) changeTier(to string, at time.Time, reason string) *Entry {
	ent := e.entry(EntryTier)
	ent.At = at
	ent.From, ent.To, ent.Note = e.a.Tier, to, reason
	e.a.Tier = to
	e.a.TierSince = at
	if i := e.c.tierIndex(to); e.c.hasPeriod(i) {
		e.a.TierUntil = periodEnd(at, e.c.p.TierPolicy.Months, e.c.loc)
	} else {
		e.a.TierUntil = time.Time{}
	}
	return ent
}

// advanceTier closes every tier period that ended by now.
func (e *engine) advanceTier() {
	switch e.c.policy() {
	case Validity:
		for !e.a.TierUntil.IsZero() && !e.a.TierUntil.After(e.now) {
			at := e.a.TierUntil
			cur := e.c.tierIndex(e.a.Tier)
			if cur < 0 {
				e.a.TierUntil = time.Time{}
				e.evaluate(at, byTime, "program", rewardGrant)
				break
			}
			if d := e.c.p.Tiers[cur].Deduction; d > 0 && e.a.Growth > 0 {
				ent := e.entry(EntryDeduct)
				ent.At = at
				ent.Note = e.a.Tier
				e.removeGrowth(ent, d, 0)
			}
			before := e.a.Tier
			e.evaluate(at, byTime, "period_end", rewardGrant)
			if e.a.Tier == before { // kept: a new period starts
				if e.c.hasPeriod(cur) {
					e.a.TierUntil = periodEnd(at, e.c.p.TierPolicy.Months, e.c.loc)
				} else {
					e.a.TierUntil = time.Time{}
				}
			}
		}
	case Rolling:
		e.a.TierUntil = time.Time{}
		// One evaluation per month boundary passed, so that OneDown drops
		// one tier per month even when the account was not swept for long.
		for !e.a.TierDue.IsZero() && !e.a.TierDue.After(e.now) {
			at := e.a.TierDue
			e.pruneRolling(monthKey(at, e.c.loc) - int32(e.c.p.TierPolicy.Months) + 1)
			e.evaluate(at, byTime, "rolling", rewardGrant)
			e.a.TierDue = e.rollingDue(at)
		}
		e.pruneRolling(e.windowStart())
	default:
		e.a.TierUntil = time.Time{}
		e.a.Rolling = nil
	}
}

// setTierDue records when the tier must next be re-evaluated.
func (e *engine) setTierDue() {
	switch e.c.policy() {
	case Validity:
		if i := e.c.tierIndex(e.a.Tier); e.a.TierUntil.IsZero() && e.c.hasPeriod(i) {
			e.a.TierUntil = periodEnd(e.now, e.c.p.TierPolicy.Months, e.c.loc) // policy switched to Validity
		}
		e.a.TierDue = e.a.TierUntil
	case Rolling:
		e.a.TierDue = e.rollingDue(e.now)
	default:
		e.a.TierDue = time.Time{}
	}
}

// rollingDue is when a Rolling tier evaluated at `at` must be evaluated
// again: when the oldest month leaves the window, or at the next month
// boundary while the tier is still above what the window qualifies for
// (OneDown steps down once per month).
func (e *engine) rollingDue(at time.Time) time.Time {
	var due time.Time
	if len(e.a.Rolling) > 0 {
		due = monthStart(e.a.Rolling[0].Month+int32(e.c.p.TierPolicy.Months), e.c.loc)
	}
	if cur := e.c.tierIndex(e.a.Tier); cur >= 0 && cur > e.c.qualifies(e.tierGrowth(), e.env, e.now) {
		next := monthStart(monthKey(at, e.c.loc)+1, e.c.loc)
		if due.IsZero() || next.Before(due) {
			due = next
		}
	}
	return due
}
