package referral

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scrmkit/scrmkit/scrm"
)

// Lottery is a lottery of one of two kinds, which share the name:
//
//   - A lucky draw (抽奖), stored with Service.SaveLottery: a customer draws
//     (Service.Draw, or by replying Keyword to the official account or a
//     WeCom staff member, see Service.Handle) and wins one of Prizes or
//     nothing, by weight, never beyond a prize's Stock. It uses every field
//     but Winners and Consolation; Lottery.Validate checks it.
//   - The lottery of a group buy (抽奖团, GroupBuy.Lottery): Winners of the
//     members of the successful teams win, the others get Consolation; see
//     Service.DrawGroupBuy. It uses only Winners and Consolation, and
//     GroupBuy.Validate checks it.
//
// Each validation refuses the fields of the other kind, so a value is
// always clearly one or the other.
//
// The odds of a lucky draw: with W the sum of NoPrizeWeight and the Weight
// of every prize that has stock left, a draw wins prize p with probability
// p.Weight / W and nothing with NoPrizeWeight / W. A prize out of stock
// drops out of the pick, so the odds of the others, and of nothing, rise
// in proportion; once no prize with a positive Weight has stock left, the
// lottery is sold out and Draw refuses (ErrExhausted carrying
// ReasonSoldOut) rather than let a customer pay for a draw that cannot win.
// (The one exception is a draw whose entry was charged before a concurrent
// request cancelled it: see Service.Draw.)
type Lottery struct {
	// Winners and Consolation make a group buy's lottery (see GroupBuy):
	// Winners is the number of prizes across all teams, Consolation what
	// every member of a successful team who did not win gets. Zero in a
	// lucky draw.
	Winners     int
	Consolation []scrm.Reward

	// The fields below make a lucky draw; zero in a group buy's lottery.

	Tenant scrm.TenantID
	ID     string
	Name   string // shown to customers; optional
	// Prizes are the prizes to win, at least one and at most 100, with IDs
	// unique within the lottery. Their order is the order of the weighted
	// pick (see PickPrize), so keep it stable while the lottery runs.
	Prizes []Prize
	// NoPrizeWeight is the weight of winning nothing (谢谢参与), against
	// the prizes' weights; zero: every draw wins while stock lasts.
	NoPrizeWeight int
	// EntryCostPoints is what one draw costs in member points, charged
	// through Options.PointsSpender (see Service.Draw); zero: free.
	EntryCostPoints int64
	// PerCustomerPerDay limits each customer's draws per calendar day in
	// the tenant's time zone (Options.LocationOf); zero: no limit. A draw
	// already paid for is made even past it (see Service.Draw).
	PerCustomerPerDay int
	// Keyword, when set, enters a customer who replies exactly this text
	// (surrounding white space ignored) while the lottery runs: see
	// Service.Handle. Two lotteries of a tenant whose Start–End windows
	// overlap cannot share a keyword.
	Keyword string
	// Start and End bound when customers may draw: Start ≤ t < End. End is
	// required; a zero Start means from the beginning.
	Start, End time.Time
	// Seed is the lottery's random seed: every draw's outcome is
	// PickPrize(Seed, its Seq, its odds), recorded with the draw for
	// audits. SaveLottery sets it (Options.Seed) when the lottery is first
	// stored and keeps it when the lottery is replaced; a value passed in
	// is ignored.
	Seed uint64
}

// Prize is one prize of a lucky draw.
type Prize struct {
	ID     string
	Reward scrm.Reward // granted through Options.Rewarder to the winner
	// Stock is how many draws can win it over the lottery's life, counted
	// by the Store from the draws that won it; at least 1. Lowering it
	// below what was already won leaves none.
	Stock int
	// Weight is the prize's relative odds (see Lottery); zero takes it out
	// of the pick.
	Weight int
}

// The bounds of a lucky draw's numbers, so that sums of weights cannot
// overflow and typos (an extra three zeros) stand out.
const (
	maxPrizes     = 100
	maxWeight     = 1_000_000_000
	maxPrizeStock = 1_000_000_000
	maxEntryCost  = 1_000_000_000
	maxKeyword    = 64 // bytes
)

// Validate reports the first malformed field of a lucky draw as an error
// matching scrm.ErrInvalid and naming it (`Prizes[1].Weight`). It does not
// check the Seed, which SaveLottery sets.
func (l Lottery) Validate() error {
	const op = "referral lottery"
	if err := scrm.CheckID(op, "Tenant", string(l.Tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "ID", l.ID); err != nil {
		return err
	}
	bad := func(field, format string, args ...any) error {
		return at(op, l.ID, field, fmt.Errorf(format, args...))
	}
	switch {
	case l.Winners != 0:
		return bad("Winners", "only for the lottery of a group buy; a lucky draw's winners are drawn from its Prizes")
	case len(l.Consolation) > 0:
		return bad("Consolation", "only for the lottery of a group buy; give a lucky draw a prize of high Weight instead")
	case len(l.Name) > 256 || !utf8.ValidString(l.Name):
		return bad("Name", "must be valid UTF-8 of at most 256 bytes")
	case len(l.Prizes) == 0:
		return bad("Prizes", "at least one prize is required")
	case len(l.Prizes) > maxPrizes:
		return bad("Prizes", "at most %d prizes, got %d", maxPrizes, len(l.Prizes))
	case l.NoPrizeWeight < 0 || l.NoPrizeWeight > maxWeight:
		return bad("NoPrizeWeight", "must be in [0, %d], got %d", maxWeight, l.NoPrizeWeight)
	case l.EntryCostPoints < 0 || l.EntryCostPoints > maxEntryCost:
		return bad("EntryCostPoints", "must be in [0, %d], got %d", maxEntryCost, l.EntryCostPoints)
	case l.PerCustomerPerDay < 0:
		return bad("PerCustomerPerDay", "must not be negative, got %d", l.PerCustomerPerDay)
	case l.End.IsZero():
		return bad("End", "required: a lottery must end")
	case !l.End.After(l.Start):
		return bad("End", "must be after Start")
	}
	if k := l.Keyword; k != "" {
		switch {
		case !utf8.ValidString(k) || len(k) > maxKeyword:
			return bad("Keyword", "must be valid UTF-8 of at most %d bytes", maxKeyword)
		case strings.TrimSpace(k) != k:
			return bad("Keyword", "must not begin or end with white space, got %q", k)
		}
	}
	seen := make(map[string]int, len(l.Prizes))
	weights := 0
	for i, p := range l.Prizes {
		f := fmt.Sprintf("Prizes[%d]", i)
		if err := scrm.CheckID(fmt.Sprintf("%s %q", op, l.ID), f+".ID", p.ID); err != nil {
			return err
		}
		if j, dup := seen[p.ID]; dup {
			return bad(f+".ID", "%q is the ID of Prizes[%d] too", p.ID, j)
		}
		seen[p.ID] = i
		switch {
		case p.Stock < 1 || p.Stock > maxPrizeStock:
			return bad(f+".Stock", "must be in [1, %d], got %d", maxPrizeStock, p.Stock)
		case p.Weight < 0 || p.Weight > maxWeight:
			return bad(f+".Weight", "must be in [0, %d], got %d", maxWeight, p.Weight)
		}
		if err := checkRewards(op, l.ID, f+".Reward", []scrm.Reward{p.Reward}); err != nil {
			// checkRewards names the field "<f>.Reward[0]...": name it
			// without the index.
			e := err.(*scrm.Error)
			e.Field = f + ".Reward" + strings.TrimPrefix(e.Field, f+".Reward[0]")
			return e
		}
		weights += p.Weight
	}
	if weights == 0 {
		return bad("Prizes", "at least one prize needs a positive Weight, or nobody could ever win")
	}
	return nil
}

// luckyDrawField returns the name of the first lucky-draw field set in l,
// or "": GroupBuy.Validate refuses them.
func (l *Lottery) luckyDrawField() string {
	switch {
	case l.Tenant != "":
		return "Tenant"
	case l.ID != "":
		return "ID"
	case l.Name != "":
		return "Name"
	case len(l.Prizes) > 0:
		return "Prizes"
	case l.NoPrizeWeight != 0:
		return "NoPrizeWeight"
	case l.EntryCostPoints != 0:
		return "EntryCostPoints"
	case l.PerCustomerPerDay != 0:
		return "PerCustomerPerDay"
	case l.Keyword != "":
		return "Keyword"
	case !l.Start.IsZero():
		return "Start"
	case !l.End.IsZero():
		return "End"
	case l.Seed != 0:
		return "Seed"
	}
	return ""
}

func (l Lottery) clone() Lottery {
	l.Consolation = cloneRewards(l.Consolation)
	if l.Prizes != nil {
		l.Prizes = append([]Prize(nil), l.Prizes...)
	}
	return l
}

// running reports whether customers may draw at t.
func (l *Lottery) running(t time.Time) bool {
	return !t.Before(l.Start) && t.Before(l.End)
}

// overlaps reports whether the Start–End windows of l and o overlap.
func (l *Lottery) overlaps(o *Lottery) bool {
	return l.Start.Before(o.End) && o.Start.Before(l.End)
}

// PrizeOdds is one prize's part in a draw: its Weight, and the stock it
// had Left just before the draw. A prize with nothing left is not picked.
type PrizeOdds struct {
	Prize  string
	Weight int
	Left   int
}

// streamLuckyDraw sets lucky draws' PCG streams apart from the group-buy
// lottery's and the bargains'.
const streamLuckyDraw = 0x6c75636b79 // "lucky"

// PickPrize returns the index in odds of the prize a draw wins, or -1 for
// nothing, reproducibly: with W the sum of noPrizeWeight and the Weight of
// every prize whose Left is positive, it takes x = uniform(W) (see
// uniform) from a PCG seeded with (seed XOR "lucky", seq), then walks odds
// in order, skipping prizes with nothing left, and returns the first prize
// whose Weight exceeds what is left of x after subtracting the weights
// before it; an x beyond every prize's share, in the last noPrizeWeight,
// wins nothing. The same arguments always give the same answer. W = 0
// gives -1.
//
// A draw's record holds every argument (DrawResult.Seed, Seq, Odds and
// NoPrizeWeight), so anyone can recompute it: see DrawResult.Audit.
func PickPrize(seed uint64, seq int64, odds []PrizeOdds, noPrizeWeight int) int {
	total := uint64(max(noPrizeWeight, 0))
	for _, o := range odds {
		if o.Left > 0 && o.Weight > 0 {
			total += uint64(o.Weight)
		}
	}
	if total == 0 {
		return -1
	}
	var p rand.PCG
	p.Seed(seed^streamLuckyDraw, uint64(seq))
	x := uniform(&p, total)
	for i, o := range odds {
		if o.Left <= 0 || o.Weight <= 0 {
			continue
		}
		if x < uint64(o.Weight) {
			return i
		}
		x -= uint64(o.Weight)
	}
	return -1
}

// soldOut reports whether no prize can be won any more.
func soldOut(odds []PrizeOdds) bool {
	for _, o := range odds {
		if o.Left > 0 && o.Weight > 0 {
			return false
		}
	}
	return true
}

// DrawStatus is the state of a lucky draw.
type DrawStatus string

// The draw statuses.
const (
	// DrawPending: the draw holds its outcome (its prize's stock and the
	// customer's place in the daily limit) while its entry cost is being
	// charged. It is not a result yet: Results and Winners leave it out.
	DrawPending DrawStatus = "pending"
	// DrawSettled: the entry is paid (or free) and the outcome stands.
	DrawSettled DrawStatus = "settled"
)

// DrawRequest asks for one lucky draw.
type DrawRequest struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	Lottery  string
	// IdempotencyKey identifies the draw within the tenant: the same key
	// returns the same draw and charges and grants nothing again; with
	// another customer or lottery it is refused with ErrConflict. A
	// keyword reply draws with the event's ID as its key.
	IdempotencyKey string
}

// DrawResult is the record of one lucky draw, as the Store keeps it. It
// holds everything needed to audit it: Audit recomputes Prize from Seed,
// Seq, Odds and NoPrizeWeight.
type DrawResult struct {
	Tenant         scrm.TenantID
	ID             string // "lottery:<lottery>:<idempotency key>" (see Service.Draw)
	Lottery        string
	Customer       scrm.CustomerID
	IdempotencyKey string
	// Seq numbers the lottery's draws 1, 2, 3, ... in the order they were
	// drawn; a draw cancelled because its entry could not be paid leaves
	// a gap.
	Seq  int64
	Seed uint64 // the lottery's seed
	// Odds are the lottery's prizes, in its order, with their weights and
	// the stock they had left just before this draw.
	Odds          []PrizeOdds
	NoPrizeWeight int
	Prize         string      // the prize won; empty for nothing
	Reward        scrm.Reward // the prize's reward; zero for nothing
	Cost          int64       // the entry cost in points (EntryCostPoints at the draw)
	Day           string      // the customer's calendar day of the draw in the tenant's zone, "2006-01-02"
	At            time.Time   // when it was drawn
	Status        DrawStatus
	SettledAt     time.Time // when the entry was paid (At for a free draw)
	GrantedAt     time.Time // when the prize's grant completed; zero for nothing, or until then
}

// Won reports whether the draw won a prize.
func (r DrawResult) Won() bool { return r.Prize != "" }

// Recompute returns the prize the draw's recorded randomness and odds give
// (PickPrize), empty for nothing, whatever the record says it won.
func (r DrawResult) Recompute() string {
	if i := PickPrize(r.Seed, r.Seq, r.Odds, r.NoPrizeWeight); i >= 0 {
		return r.Odds[i].Prize
	}
	return ""
}

// Audit checks a recorded draw: its recorded Prize must be what Recompute
// gives. Errors: ErrConflict when it is not.
func (r DrawResult) Audit() error {
	if got := r.Recompute(); got != r.Prize {
		return scrm.Errorf(scrm.ErrConflict, "referral.DrawResult.Audit",
			"draw %s (seq %d) records prize %q, but its seed and odds give %q", r.ID, r.Seq, r.Prize, got)
	}
	return nil
}

// DrawResultPage is one page of draws.
type DrawResultPage struct {
	Results []DrawResult
	Next    string // cursor of the next page; empty after the last
}
