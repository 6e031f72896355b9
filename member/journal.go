package member

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// EntryKind names what a journal entry records.
type EntryKind string

// The journal entry kinds.
const (
	EntryEarn     EntryKind = "earn"     // points and growth for an order, or points for an event rule
	EntryGrant    EntryKind = "grant"    // a reward granted through Service.Grant
	EntryImport   EntryKind = "import"   // a balance imported from another system
	EntryAdjust   EntryKind = "adjust"   // an operator correction
	EntryHold     EntryKind = "hold"     // points reserved for an order
	EntryCapture  EntryKind = "capture"  // held points spent
	EntryVoid     EntryKind = "void"     // held points released
	EntrySpend    EntryKind = "spend"    // points spent directly (Service.Redeem)
	EntryRefund   EntryKind = "refund"   // points spent on a refunded order returned to their lots
	EntryClawback EntryKind = "clawback" // points and growth of a refunded order taken back (Note "unclawed": see Entry.Forgiven)
	EntryExpire   EntryKind = "expire"   // free points of lots past their expiry
	EntryDeduct   EntryKind = "deduct"   // growth deducted at the end of a Validity period
	EntryTier     EntryKind = "tier"     // a tier change
)

// Entry is one line of an account's journal. Journals are append-only and
// explain every balance: summing the entries of an account gives its Points
// (Entry.Points), Held, Debt and Growth, and summing the LotMoves of a lot
// gives its Remaining (LotMove.Points) and Held.
type Entry struct {
	// Seq numbers the account's entries from 1 without gaps.
	Seq  int64     `json:"seq"`
	Kind EntryKind `json:"kind"`
	// At is when the ledger recorded the entry (the service clock).
	At time.Time `json:"at"`

	// Points is the change of the spendable balance (Account.Points).
	Points int64 `json:"points,omitzero"`
	Held   int64 `json:"held,omitzero"`
	Debt   int64 `json:"debt,omitzero"`
	Growth int64 `json:"growth,omitzero"`
	// Lots are the changes of the lots, in the order they were made.
	Lots []LotMove `json:"lots,omitzero"`
	// Forgiven is the part of a clawback the balance could not cover and
	// the TakeRemaining policy wrote off (or, under AllowNegative, that
	// would have taken Debt past the bound an account holds). What
	// TakeRemaining forgives is added to AccountState.Unclawed and may
	// still be collected, by a later clawback entry noted "unclawed", from
	// points that come back to the account (a Void, a refund of the order
	// they were spent on); Forgiven keeps what was not taken at the time.
	Forgiven int64 `json:"forgiven,omitzero"`
	// Forfeited is the part of a refund's returned points whose lot had
	// expired, or that would have taken the account past the bound it
	// holds: they are not returned.
	Forfeited int64 `json:"forfeited,omitzero"`

	// Key is the idempotency key of the request that wrote the entry
	// (empty for sweeps).
	Key     string `json:"key,omitzero"`
	OrderID string `json:"orderId,omitzero"`
	HoldID  string `json:"holdId,omitzero"`
	// From and To are the tiers of an EntryTier.
	From string `json:"from,omitzero"`
	To   string `json:"to,omitzero"`
	// Note says why: the event type of an event rule, the source of a
	// grant, the reason of an adjustment, the cause of a tier change
	// ("upgrade", "downgrade", "period_end", "rolling", "program"),
	// "unclawed" on a clawback that pays off AccountState.Unclawed,
	// "over-returned" on one that takes back the spent points a refund
	// delivered before order.paid gave back beyond the paid amount's share.
	Note     string `json:"note,omitzero"`
	Operator string `json:"operator,omitzero"`
	// Program is the program version the entry was computed under.
	Program int64 `json:"program,omitzero"`
}

// LotMove is the change an entry made to one lot.
type LotMove struct {
	Lot int64 `json:"lot"`
	// Points is the change of the lot's Remaining.
	Points int64 `json:"points,omitzero"`
	// Held is the change of the lot's Held.
	Held int64 `json:"held,omitzero"`
	// Expiry is the lot's expiry in Unix nanoseconds, 0 for never (see
	// Lot.Expiry); ExpiresAt returns it as a time.
	Expiry int64 `json:"expiry,omitzero"`
}

// ExpiresAt returns the lot's expiry in UTC; the zero time means never.
func (m LotMove) ExpiresAt() time.Time { return fromNanos(m.Expiry) }

func (e Entry) clone() Entry {
	if e.Lots != nil {
		e.Lots = append([]LotMove(nil), e.Lots...)
	}
	return e
}

// Balance is an account's balances after a request.
type Balance struct {
	Points int64  `json:"points"` // spendable; negative while in debt
	Held   int64  `json:"held,omitzero"`
	Debt   int64  `json:"debt,omitzero"`
	Growth int64  `json:"growth"`
	Tier   string `json:"tier,omitzero"`
}

// Outcome is what one Store.Update wrote, kept by the store under the
// request's idempotency key so that a replay returns it unchanged.
type Outcome struct {
	// Entries are the journal entries the update appended, in order.
	Entries []Entry `json:"entries,omitzero"`
	// Grants are the upgrade rewards the update earned; the service grants
	// them after the update is saved (and again, harmlessly, on a replay:
	// their idempotency keys are derived from the entries).
	Grants []scrm.Grant `json:"grants,omitzero"`
	// HoldID is the hold a Hold request placed.
	HoldID string `json:"holdId,omitzero"`
	// After is the account's balance once the update was applied.
	After Balance `json:"after"`
}

// Clone returns a deep copy of o.
func (o Outcome) Clone() Outcome {
	c := o
	if o.Entries != nil {
		c.Entries = make([]Entry, len(o.Entries))
		for i, e := range o.Entries {
			c.Entries[i] = e.clone()
		}
	}
	if o.Grants != nil {
		c.Grants = append([]scrm.Grant(nil), o.Grants...)
	}
	return c
}
