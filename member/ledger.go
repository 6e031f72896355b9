package member

import (
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Lot is a batch of points that expire together. Points with the same
// expiry share one lot: an account has at most one lot per expiry instant,
// and the soonest-expiring lot is spent first (never-expiring points last).
// Lots are numbered per account. A lot emptied is removed; points a refund
// returns to it bring it back under its number, or join the lot that now
// has its expiry.
type Lot struct {
	ID int64 `json:"id"`
	// Points is everything ever credited to the lot, saturating at
	// math.MaxInt64.
	Points int64 `json:"points"`
	// Remaining is what is neither spent nor expired, held points included.
	Remaining int64 `json:"remaining"`
	// Held is the part of Remaining reserved by open holds. Held points do
	// not expire while the hold is open (see Service.Hold).
	Held int64 `json:"held,omitzero"`
	// Earned is when the lot was first credited and Expiry when its free
	// points expire (0: never), both in Unix nanoseconds, so that lots
	// hold no pointers: accounts of many lots are copied at every update
	// and scanned by every garbage collection. EarnedAt and ExpiresAt
	// return them as times.
	Earned int64 `json:"earned"`
	Expiry int64 `json:"expiry,omitzero"`
}

// Free returns the lot's spendable points: Remaining - Held.
func (l Lot) Free() int64 { return l.Remaining - l.Held }

// EarnedAt returns when the lot was first credited, in UTC.
func (l Lot) EarnedAt() time.Time { return fromNanos(l.Earned) }

// ExpiresAt returns when the lot's free points expire, in UTC; the zero
// time means never.
func (l Lot) ExpiresAt() time.Time { return fromNanos(l.Expiry) }

// nanos returns t in Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// MonthGrowth is the growth value earned in one calendar month of the
// tenant's zone, kept under the Rolling policy.
type MonthGrowth struct {
	// Month is year*12 + month-1 (January 2026 is 24312).
	Month  int32 `json:"month"`
	Growth int64 `json:"growth"`
}

// EventUsage counts the awards of one event rule to one customer.
type EventUsage struct {
	Day   int32 `json:"day"`   // local date of the latest counted event, yyyymmdd
	Today int64 `json:"today"` // awards on Day
	Total int64 `json:"total"` // awards ever
}

// AccountState is the stored form of one customer's account: what
// Store.Update locks, hands to the service and saves. Storage implementers
// keep it as they see fit (columns, or a JSON document: every field has a
// JSON name); the service computes every field.
type AccountState struct {
	Tenant   scrm.TenantID   `json:"tenant"`
	Customer scrm.CustomerID `json:"customer"`
	// Version is managed by the store: 0 for an account never saved, then
	// one more per saved Update.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`

	// Seq is the number of the account's last journal entry.
	Seq int64 `json:"seq"`
	// LastLot is the highest lot number issued.
	LastLot int64 `json:"lastLot"`

	Growth int64 `json:"growth"`
	// Debt is points owed after a clawback under AllowNegative; future
	// points repay it first. While Debt > 0 no lot has free points.
	Debt int64 `json:"debt,omitzero"`
	// Held is the total of open holds.
	Held int64 `json:"held,omitzero"`
	// Unclawed is points a clawback could not take because they were held
	// or spent (or had expired), and which TakeRemaining forgave rather
	// than record as Debt. Points that come back to the account without
	// being earned pay it off first, in the request that returns them:
	// points released by a Void, spent points given back to their lots
	// by a refund of the order they were spent on, the points of a mall
	// exchange whose reward was refused and of a paid make-up (补签) that
	// could not happen (an EntryClawback with Note "unclawed" takes
	// them), but only the parts of it (UnclawedParts) forgiven at or after
	// the points left the balance, which those clawbacks could have
	// missed: a voided hold created then (HoldRecord.CreatedAt), an
	// order's spent points when its latest spend was then
	// (OrderRecord.SpentAt), an exchange or a make-up charged then. New
	// points, and points held or spent after a clawback, never pay what
	// it forgave.
	Unclawed int64 `json:"unclawed,omitzero"`
	// UnclawedParts is Unclawed by when the clawbacks forgave it (the
	// service clock), oldest first, each part positive; their points add
	// up to Unclawed. Points that left the balance at t pay only the
	// parts at or after t, the latest first. The list is bounded
	// (maxUnclawedParts): past it the two oldest parts merge into one at
	// the older time, so that no point ever pays a part it could not pay
	// before (points that left between the two times no longer pay the
	// younger one: the customer keeps them).
	UnclawedParts []UnclawedPart `json:"unclawedParts,omitzero"`

	Tier      string    `json:"tier,omitzero"`
	TierSince time.Time `json:"tierSince,omitzero"`
	// TierUntil is the end of the current Validity period; zero when the
	// tier has none.
	TierUntil time.Time `json:"tierUntil,omitzero"`
	// TierDue is when the tier must next be re-evaluated (a Validity
	// period end, or the start of the month a Rolling window drops a
	// month); zero when never.
	TierDue time.Time `json:"tierDue,omitzero"`

	// Lots are the live lots (Remaining > 0) in spending order.
	Lots []Lot `json:"lots,omitzero"`
	// Rolling is the growth per month inside the Rolling window, oldest
	// first; empty under other policies.
	Rolling []MonthGrowth `json:"rolling,omitzero"`
	// Rewarded maps a tier to the end of the period in which its upgrade
	// rewards were granted; a zero time means the period never ends.
	Rewarded map[string]time.Time `json:"rewarded,omitzero"`
	// Events counts awards per event rule type.
	Events map[string]EventUsage `json:"events,omitzero"`
}

// UnclawedPart is a part of AccountState.Unclawed: Points forgiven by the
// clawbacks at At.
type UnclawedPart struct {
	At     time.Time `json:"at"`
	Points int64     `json:"points"`
}

// maxUnclawedParts bounds AccountState.UnclawedParts.
const maxUnclawedParts = 8

// addUnclawed adds points forgiven at t to Unclawed, to the latest part
// when it is at t, else as a new part; past maxUnclawedParts parts the two
// oldest merge at the older time (see AccountState.UnclawedParts). Unclawed
// saturates at maxBalancePoints.
func (a *AccountState) addUnclawed(points int64, t time.Time) {
	points = min(points, maxBalancePoints-a.Unclawed)
	if points <= 0 {
		return
	}
	a.Unclawed += points
	if n := len(a.UnclawedParts); n > 0 && !a.UnclawedParts[n-1].At.Before(t) {
		// At the latest part's time or, should the clock have run back,
		// before it: one part at t, the earlier time (never a later one,
		// see UnclawedParts).
		p := &a.UnclawedParts[n-1]
		p.Points += points
		p.At = t
		return
	}
	if len(a.UnclawedParts) == maxUnclawedParts {
		a.UnclawedParts[0].Points += a.UnclawedParts[1].Points
		a.UnclawedParts = append(a.UnclawedParts[:1], a.UnclawedParts[2:]...)
	}
	a.UnclawedParts = append(a.UnclawedParts, UnclawedPart{At: t, Points: points})
}

// unclawedSince returns the points of the parts of Unclawed forgiven at or
// after t: what points that left the balance at t may pay.
func (a *AccountState) unclawedSince(t time.Time) int64 {
	var n int64
	for i := len(a.UnclawedParts) - 1; i >= 0 && !a.UnclawedParts[i].At.Before(t); i-- {
		n += a.UnclawedParts[i].Points
	}
	return n
}

// payUnclawed takes points (at most unclawedSince(t)) off Unclawed, from
// the latest parts first, dropping the parts it empties.
func (a *AccountState) payUnclawed(points int64) {
	a.Unclawed -= points
	n := len(a.UnclawedParts)
	for points > 0 && n > 0 {
		p := &a.UnclawedParts[n-1]
		t := min(p.Points, points)
		p.Points -= t
		points -= t
		if p.Points > 0 {
			break
		}
		n--
	}
	clear(a.UnclawedParts[n:])
	a.UnclawedParts = a.UnclawedParts[:n]
	if n == 0 {
		a.UnclawedParts = nil
	}
}

// Points returns the spendable balance: the free points of the lots minus
// Debt (negative while in debt).
func (a *AccountState) Points() int64 {
	var n int64
	for i := range a.Lots {
		n += a.Lots[i].Free()
	}
	return n - a.Debt
}

// NextExpiry returns the earliest expiry of a lot that still has free
// points, or the zero time. Stores index accounts by it for
// Store.ListExpiring.
func (a *AccountState) NextExpiry() time.Time {
	for i := range a.Lots {
		l := &a.Lots[i]
		if l.Expiry == 0 {
			break // never-expiring lots sort last
		}
		if l.Free() > 0 {
			return fromNanos(l.Expiry)
		}
	}
	return time.Time{}
}

// DueAt returns when the account next needs a sweep: the earlier of
// NextExpiry and TierDue, or the zero time. Stores index accounts by it for
// Store.ListDue.
func (a *AccountState) DueAt() time.Time {
	e := a.NextExpiry()
	switch {
	case e.IsZero():
		return a.TierDue
	case a.TierDue.IsZero() || e.Before(a.TierDue):
		return e
	}
	return a.TierDue
}

// Clone returns a deep copy of a.
func (a *AccountState) Clone() *AccountState {
	c := *a
	if a.Lots != nil {
		c.Lots = append(make([]Lot, 0, len(a.Lots)+1), a.Lots...)
	}
	if a.Rolling != nil {
		c.Rolling = append([]MonthGrowth(nil), a.Rolling...)
	}
	if a.UnclawedParts != nil {
		c.UnclawedParts = append([]UnclawedPart(nil), a.UnclawedParts...)
	}
	if a.Rewarded != nil {
		c.Rewarded = maps.Clone(a.Rewarded)
	}
	if a.Events != nil {
		c.Events = maps.Clone(a.Events)
	}
	return &c
}

// copyInto makes dst a deep copy of a, reusing dst's slices and maps.
func (a *AccountState) copyInto(dst *AccountState) {
	lots, rolling, parts, rewarded, events := dst.Lots[:0], dst.Rolling[:0], dst.UnclawedParts[:0], dst.Rewarded, dst.Events
	*dst = *a
	dst.Lots = append(lots, a.Lots...)
	dst.Rolling, dst.UnclawedParts = nil, nil
	if a.Rolling != nil {
		dst.Rolling = append(rolling, a.Rolling...)
	}
	if a.UnclawedParts != nil {
		dst.UnclawedParts = append(parts, a.UnclawedParts...)
	}
	dst.Rewarded, dst.Events = nil, nil
	if a.Rewarded != nil {
		if rewarded == nil {
			rewarded = make(map[string]time.Time, len(a.Rewarded))
		}
		clear(rewarded)
		maps.Copy(rewarded, a.Rewarded)
		dst.Rewarded = rewarded
	}
	if a.Events != nil {
		if events == nil {
			events = make(map[string]EventUsage, len(a.Events))
		}
		clear(events)
		maps.Copy(events, a.Events)
		dst.Events = events
	}
}

// reset empties a, keeping the capacity of its slices for reuse.
func (a *AccountState) reset() {
	lots, rolling, parts := a.Lots[:0], a.Rolling[:0], a.UnclawedParts[:0]
	clear(a.Lots[:cap(a.Lots)])
	*a = AccountState{Lots: lots, Rolling: rolling, UnclawedParts: parts}
}

// balance summarizes a.
func (a *AccountState) balance() Balance {
	return Balance{Points: a.Points(), Held: a.Held, Debt: a.Debt, Growth: a.Growth, Tier: a.Tier}
}

// lotBefore orders lots for spending: soonest expiry first, never-expiring
// last. Expiries are unique within an account, so this is a total order.
func lotBefore(x, y *Lot) bool {
	switch {
	case x.Expiry == 0:
		return false
	case y.Expiry == 0:
		return true
	}
	return x.Expiry < y.Expiry
}

// lotByExpiry finds the lot expiring at exp by binary search (lots are
// ordered by expiry, never-expiring last), or returns -1.
func (a *AccountState) lotByExpiry(exp int64) int {
	probe := Lot{Expiry: exp}
	i := sort.Search(len(a.Lots), func(i int) bool { return !lotBefore(&a.Lots[i], &probe) })
	if i < len(a.Lots) && a.Lots[i].Expiry == exp {
		return i
	}
	return -1
}

func (a *AccountState) lotByID(id int64) int {
	for i := range a.Lots {
		if a.Lots[i].ID == id {
			return i
		}
	}
	return -1
}

func (a *AccountState) insertLot(l Lot) int {
	i := sort.Search(len(a.Lots), func(i int) bool { return lotBefore(&l, &a.Lots[i]) })
	a.Lots = append(a.Lots, Lot{})
	copy(a.Lots[i+1:], a.Lots[i:])
	a.Lots[i] = l
	return i
}

// lotCursor finds lots by ID for a list of moves in spending order, in one
// pass over the lots instead of a search per move.
type lotCursor struct {
	a *AccountState
	i int
}

func (c *lotCursor) find(id int64) int {
	n := len(c.a.Lots)
	for k := 0; k < n; k++ {
		j := (c.i + k) % n
		if c.a.Lots[j].ID == id {
			c.i = j
			return j
		}
	}
	return -1
}

// dropEmpty removes lots with nothing remaining.
func (a *AccountState) dropEmpty() {
	out := a.Lots[:0]
	for _, l := range a.Lots {
		if l.Remaining > 0 {
			out = append(out, l)
		}
	}
	clear(a.Lots[len(out):])
	a.Lots = out
}

// credit adds points to e's account: debt is repaid first, the rest goes to
// the lot expiring at exp (Unix nanoseconds, 0: never; created, under
// preferID when that number is free, if there is none). It returns the lot
// credited, or 0.
func credit(a *AccountState, e *Entry, points int64, exp, earned int64, preferID int64) int64 {
	if points <= 0 {
		return 0
	}
	e.Points += points
	if a.Debt > 0 {
		repay := min(points, a.Debt)
		a.Debt -= repay
		e.Debt -= repay
		points -= repay
		if points == 0 {
			return 0
		}
	}
	i := a.lotByExpiry(exp)
	if i < 0 {
		id := preferID
		if id <= 0 || id > a.LastLot || a.lotByID(id) >= 0 {
			a.LastLot++
			id = a.LastLot
		}
		i = a.insertLot(Lot{ID: id, Earned: earned, Expiry: exp})
	}
	l := &a.Lots[i]
	l.Points = min(l.Points, math.MaxInt64-points) + points // saturates: a lifetime total
	l.Remaining += points
	if earned < l.Earned {
		l.Earned = earned
	}
	e.Lots = append(e.Lots, LotMove{Lot: l.ID, Points: points, Expiry: l.Expiry})
	return l.ID
}

// lotPoints returns the points in a's lots, held ones included.
func (a *AccountState) lotPoints() int64 {
	var n int64
	for i := range a.Lots {
		n += a.Lots[i].Remaining
	}
	return n
}

// lotsOver returns how far crediting points (after repaying Debt) would
// take a's lots past maxBalancePoints; 0 when they fit.
func (a *AccountState) lotsOver(points int64) int64 {
	return max(points-a.Debt-(maxBalancePoints-a.lotPoints()), 0)
}

// checkRoom refuses new points and growth that would take the account past
// maxBalancePoints: ErrInvalid on pointsField or growthField. Run it before
// anything is written.
func checkRoom(op string, a *AccountState, pointsField string, points int64, growthField string, growth int64) error {
	if points > 0 && a.lotsOver(points) > 0 {
		return scrm.Invalid(op, pointsField, "%d points would take the account past the %d it can hold", points, maxBalancePoints)
	}
	if growth > 0 && growth > maxBalancePoints-a.Growth {
		return scrm.Invalid(op, growthField, "%d growth would take the account past the %d it can hold", growth, maxBalancePoints)
	}
	return nil
}

// creditReturn credits points a refund returns, as credit does, except the
// part that would take the lots past maxBalancePoints, which it forfeits
// and returns (see maxBalancePoints).
func creditReturn(a *AccountState, e *Entry, points int64, exp, earned int64, preferID int64) (forfeited int64) {
	forfeited = min(a.lotsOver(points), max(points, 0))
	credit(a, e, points-forfeited, exp, earned, preferID)
	return forfeited
}

// spend takes points from the free points of the lots in spending order,
// starting with lot first when it has free points. The caller checks that
// enough are free; spend returns what it could take.
func spend(a *AccountState, e *Entry, points int64, first int64) int64 {
	// Make room for exactly the moves the spend makes (lot first, then
	// the lots with free points up to the amount), so that a spend from one
	// lot fits the room entry leaves for one move.
	moves, left := 0, points
	if first > 0 {
		moves++
	}
	for i := 0; i < len(a.Lots) && left > 0; i++ {
		if f := a.Lots[i].Free(); f > 0 {
			moves++
			left -= f
		}
	}
	e.Lots = slices.Grow(e.Lots, moves)
	need := points
	take := func(l *Lot) {
		t := min(l.Free(), need)
		if t <= 0 {
			return
		}
		l.Remaining -= t
		need -= t
		e.Lots = append(e.Lots, LotMove{Lot: l.ID, Points: -t, Expiry: l.Expiry})
	}
	if first > 0 {
		if i := a.lotByID(first); i >= 0 {
			take(&a.Lots[i])
		}
	}
	for i := 0; i < len(a.Lots) && need > 0; i++ {
		take(&a.Lots[i])
	}
	a.dropEmpty()
	e.Points -= points - need
	return points - need
}

// hold reserves points in the lots in spending order; the caller checks that
// enough are free.
func hold(a *AccountState, e *Entry, points int64) []LotMove {
	need := points
	moves := make([]LotMove, 0, len(a.Lots))
	for i := 0; i < len(a.Lots) && need > 0; i++ {
		l := &a.Lots[i]
		t := min(l.Free(), need)
		if t <= 0 {
			continue
		}
		l.Held += t
		need -= t
		moves = append(moves, LotMove{Lot: l.ID, Held: t, Expiry: l.Expiry})
	}
	a.Held += points
	e.Points -= points
	e.Held += points
	e.Lots = append(e.Lots, moves...)
	return slices.Clip(moves)
}

// capture spends the held points of moves.
func capture(a *AccountState, e *Entry, moves []LotMove) {
	var total int64
	cur := lotCursor{a: a}
	e.Lots = slices.Grow(e.Lots, len(moves))
	for _, m := range moves {
		if i := cur.find(m.Lot); i >= 0 {
			l := &a.Lots[i]
			l.Held -= m.Held
			l.Remaining -= m.Held
			total += m.Held
			e.Lots = append(e.Lots, LotMove{Lot: m.Lot, Points: -m.Held, Held: -m.Held, Expiry: l.Expiry})
		}
	}
	a.Held -= total
	e.Held -= total
	a.dropEmpty()
}

// release frees the held points of moves, repaying debt first; points of
// lots that expired meanwhile are then expired by expireDue.
func release(a *AccountState, e *Entry, moves []LotMove) {
	var total int64
	cur := lotCursor{a: a}
	e.Lots = slices.Grow(e.Lots, len(moves))
	for _, m := range moves {
		if i := cur.find(m.Lot); i >= 0 {
			l := &a.Lots[i]
			l.Held -= m.Held
			total += m.Held
			e.Lots = append(e.Lots, LotMove{Lot: m.Lot, Held: -m.Held, Expiry: l.Expiry})
		}
	}
	a.Held -= total
	e.Held -= total
	e.Points += total
	if a.Debt > 0 {
		// Released points repay debt first, as new points would.
		repay := spend(a, e, min(a.Debt, total), 0)
		a.Debt -= repay
		e.Debt -= repay
		e.Points += repay
	}
}

// expireDue expires the free points of every lot whose expiry is at or
// before now. Held points stay in their lot until the hold is closed.
func expireDue(a *AccountState, e func() *Entry, now int64) int64 {
	var total int64
	var ent *Entry
	for i := range a.Lots {
		l := &a.Lots[i]
		if l.Expiry == 0 || l.Expiry > now {
			break
		}
		if f := l.Free(); f > 0 {
			if ent == nil {
				ent = e()
			}
			l.Remaining -= f
			total += f
			ent.Lots = append(ent.Lots, LotMove{Lot: l.ID, Points: -f, Expiry: l.Expiry})
		}
	}
	if ent != nil {
		ent.Points -= total
		a.dropEmpty()
	}
	return total
}
