package referral

import (
	"context"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// EntryKind says what a ledger entry pays.
type EntryKind string

// The entry kinds.
const (
	EntryPercent    EntryKind = "percent"    // the inviter's Percent share of the qualifying order
	EntryCommission EntryKind = "commission" // distribution commission, Level 1 or 2
)

// EntryStatus is the state of a ledger entry.
type EntryStatus string

// The entry statuses. An entry moves Pending → Settling → Settled, or
// Pending → Reversed; nothing else.
const (
	EntryPending  EntryStatus = "pending"  // waiting for its DueAt (the return window)
	EntrySettling EntryStatus = "settling" // being paid; a refund no longer reverses it
	EntrySettled  EntryStatus = "settled"  // paid through the Rewarder
	EntryReversed EntryStatus = "reversed" // cancelled by a refund of its order
)

// Entry is money a qualification earns someone after the return window: a
// percent reward or a commission. Its ID is derived from the program, the
// kind and level, and the invitee, so each is recorded once.
//
// Refunds of its order before its DueAt reduce a pending entry in
// proportion (see Store.ReverseOrder): with R the refunds counted and B its
// Base, Amount is Gross − round_half_up(Gross × R ÷ B) in fen, computed
// from Gross each time (roundings never compound); it is reversed once R
// reaches B, or Amount would be 0. An entry without Base is reversed by any
// refund. Settle pays its Amount as it is then.
type Entry struct {
	Tenant      scrm.TenantID
	ID          string
	Program     string
	Kind        EntryKind
	Level       int // 1 or 2 for commission, 0 for percent
	Beneficiary scrm.CustomerID
	Invitee     scrm.CustomerID
	OrderID     string
	// Amount is what the entry pays now: Gross less what refunds took
	// off. A reversed entry keeps the Amount it had when it was reversed.
	Amount decimal.Decimal
	// Gross is the entry's amount before refunds. Store.AddEntries takes
	// a zero Gross as Amount.
	Gross decimal.Decimal
	// Base is the order amount the entry was computed from (the
	// qualifying event's Amount). Zero: unknown, and any refund of the
	// order reverses the entry.
	Base decimal.Decimal
	// Refunded is the part of the order's refunds counted in Amount:
	// those before DueAt, a refund of the whole order counting as Base,
	// at most Base. Zero while no refund is counted.
	Refunded   decimal.Decimal
	Status     EntryStatus
	CreatedAt  time.Time
	DueAt      time.Time // payable from then on
	SettledAt  time.Time
	ReversedAt time.Time
	// ReducedAt is the time of the latest refund that reduced Amount;
	// zero while none did.
	ReducedAt time.Time
}

// entryAdder is implemented by stores that keep amounts in fen (the memory
// store): the Service then hands them entries' amounts as fen, sparing the
// decimals (and their big.Int allocations) that AddEntries would convert
// back.
type entryAdder interface {
	// addEntriesFen is AddEntries, entries[i]'s amount being fens[i] (a
	// whole, non-negative number of fen) rather than its Amount.
	addEntriesFen(ctx context.Context, tenant scrm.TenantID, entries []Entry, fens []int64) (reversed []Entry, err error)
}

// SettleResult is what one Settle call paid.
type SettleResult struct {
	Settled int             // entries paid by this call
	Amount  decimal.Decimal // their total: what the grants paid (each entry's Amount when Settle took it)
	Failed  int             // entries whose grant failed; Settle retries them next time
}

// settlePage is how many entries Settle reads at a time.
const settlePage = 200

// Settle pays the tenant's entries that are due (DueAt at or before the
// Clock's now) through the Rewarder, commissions as Options.CommissionKind
// and percent rewards as Options.PercentKind, each with an idempotency key
// derived from the entry. It pays an entry's Amount as stored when it
// takes it (what partial refunds left of it; see Entry). It also finishes entries a crashed or failed
// earlier Settle left half-paid. Call it periodically (for example hourly);
// concurrent calls pay each entry once.
//
// A failed grant does not stop the others: Settle returns what it paid with
// an error matching the first failure's sentinel, and the next call retries.
func (s *Service) Settle(ctx context.Context, tenant scrm.TenantID) (SettleResult, error) {
	const op = "referral.Settle"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return SettleResult{}, err
	}
	res := SettleResult{Amount: decimal.Zero}
	var errs []error
	now := s.opts.Clock.Now()
	for _, status := range []EntryStatus{EntrySettling, EntryPending} {
		cursor := ""
		for {
			page, err := s.store.ListEntries(ctx, ListEntriesParams{Tenant: tenant, Status: status, DueBy: now, Cursor: cursor, Limit: settlePage})
			if err != nil {
				return res, joinErrs(op, append(errs, err))
			}
			for _, e := range page.Entries {
				got, paid, err := s.settleEntry(ctx, e)
				switch {
				case err != nil:
					res.Failed++
					errs = append(errs, err)
				case paid:
					res.Settled++
					res.Amount = res.Amount.Add(got.Amount) // what was paid: e may predate a refund
				}
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
	}
	return res, joinErrs(op, errs)
}

// settleEntry pays one pending or settling entry. paid is true when this
// call completed it; got is then the entry as paid (its Amount is what the
// grant paid, which a refund may have reduced since e was read).
//
// For a pending entry, only e's tenant and ID count: whether it is paid,
// and what, is decided by the entry as stored. The Store moves it to
// EntrySettling only when its stored DueAt is at or before now, and the
// grant pays the entry it returns. A caller's copy may be stale or built
// from the program as it is now (rewardQualification): an entry recorded
// under a longer SettleAfter keeps its own return window.
func (s *Service) settleEntry(ctx context.Context, e Entry) (got Entry, paid bool, err error) {
	if e.Status == EntryPending {
		e, err = s.store.SetEntryStatus(ctx, SetEntryStatusParams{Tenant: e.Tenant, ID: e.ID, From: EntryPending, To: EntrySettling, At: s.opts.Clock.Now()})
		if is(err, scrm.ErrConflict) {
			return e, false, nil // not due yet, reversed, or another Settle took it
		}
		if err != nil {
			return e, false, err
		}
	}
	kind := s.opts.CommissionKind
	if e.Kind == EntryPercent {
		kind = s.opts.PercentKind
	}
	done, err := s.grant(ctx, e.Program, []scrm.Grant{{
		Tenant: e.Tenant, Customer: e.Beneficiary,
		Reward:         scrm.Reward{Kind: kind, Amount: e.Amount, Note: noteOf(e)},
		IdempotencyKey: key("referral", e.ID, string(e.Beneficiary)),
		Source:         "referral:" + e.Program,
	}})
	if err != nil || !done {
		return e, false, err
	}
	_, err = s.store.SetEntryStatus(ctx, SetEntryStatusParams{Tenant: e.Tenant, ID: e.ID, From: EntrySettling, To: EntrySettled, At: s.opts.Clock.Now()})
	if is(err, scrm.ErrConflict) {
		return e, false, nil // another Settle finished it
	}
	return e, err == nil, err
}

func noteOf(e Entry) string {
	if e.Kind == EntryPercent {
		return "referral reward for " + string(e.Invitee) + "'s order"
	}
	return "level " + itoa(e.Level) + " commission on " + string(e.Invitee) + "'s order"
}
