package member

import (
	"context"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// StoredValueStore persists stored-value accounts (储值) and the tenant's
// top-up rules. It is part of Store, under the same contract: every method
// honours ctx (a done context returns an error matching scrm.ErrUnavailable
// and writes nothing), reads and writes only the tenant it is given, and
// copies values in and out.
//
// The unit of atomicity is one customer's stored-value account:
// UpdateStoredValue locks it, lets the service compute the change, and saves
// the account, the payment record it touched, the journal entries and the
// idempotency record in one transaction. Amounts are kept in fen (int64), so
// that a SQL implementation stores them as BIGINT and sums them exactly.
type StoredValueStore interface {
	// PutTopUpRule stores r as the tenant's newest top-up rule version and
	// returns it with Version set to one more than the previous newest (1
	// for the first). Older versions are never changed. Errors: ErrInvalid
	// for a missing tenant.
	PutTopUpRule(ctx context.Context, r TopUpRule) (TopUpRule, error)

	// TopUpRule returns version v of the tenant's top-up rule, or the
	// newest when v is 0. Errors: ErrNotFound when there is no such
	// version.
	TopUpRule(ctx context.Context, tenant scrm.TenantID, v int64) (TopUpRule, error)

	// UpdateStoredValue is the stored-value ledger's atomic step. With a
	// non-empty IdempotencyKey already recorded for the tenant it does not
	// call fn: when the recorded fingerprint and customer equal the
	// params' it returns the recorded outcome with replayed true,
	// otherwise an error matching ErrConflict naming IdempotencyKey.
	// Concurrent updates with the same new key run one at a time, so fn
	// runs at most once per key.
	//
	// Otherwise it locks the account and calls fn with a ValueTx holding
	// copies of the account (a new one, Version 0, when none is stored) and
	// of the payment record params.OrderID (nil when none is stored or no
	// OrderID is given). When fn returns nil it saves in one atomic step:
	// the account with Version incremented, tx.Payment when non-nil, the
	// outcome's entries appended to the journal and, with a key, the key,
	// the fingerprint and the outcome. When fn returns an error nothing is
	// written and the error is returned. fn runs while the account is
	// locked: it must be quick, must not call the store, and may be called
	// again by implementations that retry transactions. The store saves
	// copies: it keeps no reference to tx or anything it points to once
	// UpdateStoredValue returns, so fn may point tx.Payment at memory of
	// its own, which it may reuse then; fn must not retain references to
	// the records the store put in tx. The returned outcome is the
	// caller's.
	//
	// The store also checks what it saves: the account's balances may not
	// be negative, tx.Payment's OrderID must be params.OrderID, and the
	// outcome's entries must continue the journal (Seq one more than the
	// last saved entry's, then consecutive).
	//
	// Errors: ErrInvalid for a missing tenant or customer, a negative
	// balance, a payment of another order or entries out of sequence
	// (nothing written); ErrConflict for a reused key as above.
	UpdateStoredValue(ctx context.Context, params ValueParams, fn func(tx *ValueTx) error) (out ValueOutcome, replayed bool, err error)

	// ValueAccount returns a customer's stored-value account. Errors:
	// ErrNotFound when UpdateStoredValue never saved one.
	ValueAccount(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (ValueAccount, error)

	// ValuePayment returns the record of a stored-value payment for an
	// order. Errors: ErrNotFound.
	ValuePayment(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, orderID string) (ValuePayment, error)

	// ValueEntries returns a page of a customer's stored-value journal in
	// Seq order, after params.After. An unknown customer has an empty
	// journal.
	ValueEntries(ctx context.Context, params ListEntriesParams) (ValueEntryPage, error)
}

// ValueParams are the inputs of StoredValueStore.UpdateStoredValue.
type ValueParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// IdempotencyKey, when set, makes the update happen at most once per
	// tenant; Fingerprint is the digest of the request's payload.
	IdempotencyKey string
	Fingerprint    string
	// OrderID names the payment record to load into the ValueTx; may be
	// empty.
	OrderID string
}

// ValueTx is what UpdateStoredValue hands to the service's function: copies
// of the records it locked, to change in place, and the outcome to fill.
type ValueTx struct {
	// Account is never nil; Version 0 means it is new.
	Account *ValueAccount
	// Payment is the payment record named by ValueParams.OrderID, nil when
	// none is stored; set it to create one.
	Payment *ValuePayment
	Outcome ValueOutcome
}

// ValueAccount is the stored form of one customer's stored-value account.
// Every amount is in fen. The balances are never negative, and the journal
// explains them: summing the entries' Principal and Bonus gives Principal
// and Bonus.
//
// The Cycle counters cover the time since the account was opened or last
// withdrawn (see Service.Withdraw): they are what the withdrawal formula
// reads, and they always satisfy
//
//	Cycle.PrincipalIn = Principal + Cycle.PrincipalUsed
//	Cycle.BonusIn     = Bonus + Cycle.BonusUsed
type ValueAccount struct {
	Tenant   scrm.TenantID   `json:"tenant"`
	Customer scrm.CustomerID `json:"customer"`
	// Version is managed by the store: 0 for an account never saved, then
	// one more per saved update.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Seq is the number of the account's last journal entry.
	Seq int64 `json:"seq"`

	// Principal is the money the customer paid in and has not spent
	// (本金); Bonus the value given on top (赠送金). In fen.
	Principal int64 `json:"principal"`
	Bonus     int64 `json:"bonus"`
	// Cycle counts what went in and out since the last withdrawal.
	Cycle ValueCycle `json:"cycle"`
	// Withdrawals is how many times the account was withdrawn; payments
	// remember it to tell which cycle they were made in.
	Withdrawals int64 `json:"withdrawals,omitzero"`
	// Withdrawn is the principal paid out by withdrawals, Kept the
	// principal withdrawals kept for bonus used beyond proportion, and
	// Forfeited the bonus withdrawals gave up, over the account's life.
	Withdrawn int64 `json:"withdrawn,omitzero"`
	Kept      int64 `json:"kept,omitzero"`
	Forfeited int64 `json:"forfeited,omitzero"`
}

// ValueCycle is what went into and out of a stored-value account since it
// was opened or last withdrawn, in fen. Used amounts are net of refunds.
type ValueCycle struct {
	PrincipalIn   int64 `json:"principalIn"`
	BonusIn       int64 `json:"bonusIn"`
	PrincipalUsed int64 `json:"principalUsed"`
	BonusUsed     int64 `json:"bonusUsed"`
	// SettledPrincipal and SettledBonus are the part of the Used counters
	// settled when value was last credited: all the use when the principal
	// was used up, or, when the credit changed the mix, use that held no
	// excess, up to the floor of its bonus share (see Withdraw). Payments
	// keep, and Withdraw charges for, the proportion of the rest only,
	// against the In counters less the settled amounts. A refund that would
	// take the use below the settled part clears them (see Withdraw).
	// 0 ≤ Settled ≤ Used for both balances.
	SettledPrincipal int64 `json:"settledPrincipal,omitzero"`
	SettledBonus     int64 `json:"settledBonus,omitzero"`
}

// ValuePayment is what the stored-value ledger remembers of an order paid
// with stored value, for refunds. Amounts in fen.
type ValuePayment struct {
	OrderID string `json:"orderId"`
	// Key is the idempotency key of the Pay request.
	Key    string    `json:"key"`
	At     time.Time `json:"at"`
	Amount int64     `json:"amount"`
	// Principal and Bonus are how the payment drew on the balances
	// (Principal + Bonus = Amount).
	Principal int64 `json:"principal"`
	Bonus     int64 `json:"bonus"`
	// Refunded is the total refunded so far, of which RefundedPrincipal
	// went back to the principal and RefundedBonus to the bonus.
	Refunded          int64 `json:"refunded,omitzero"`
	RefundedPrincipal int64 `json:"refundedPrincipal,omitzero"`
	RefundedBonus     int64 `json:"refundedBonus,omitzero"`
	// Cycle is the account's Withdrawals when the payment was made.
	Cycle int64 `json:"cycle,omitzero"`
}

// ValueEntryKind names what a stored-value journal entry records.
type ValueEntryKind string

// The stored-value journal entry kinds.
const (
	ValueTopUp    ValueEntryKind = "topup"    // principal paid in, with the top-up rule's bonus
	ValueGrant    ValueEntryKind = "grant"    // bonus granted through Service.Grant (kind stored_value)
	ValuePay      ValueEntryKind = "pay"      // an order paid
	ValueRefund   ValueEntryKind = "refund"   // a payment refunded to the balances
	ValueWithdraw ValueEntryKind = "withdraw" // the account withdrawn (退卡): balances to zero
)

// ValueEntry is one line of a stored-value journal. Principal and Bonus are
// the signed changes of the balances, in fen.
type ValueEntry struct {
	// Seq numbers the account's entries from 1 without gaps.
	Seq       int64          `json:"seq"`
	Kind      ValueEntryKind `json:"kind"`
	At        time.Time      `json:"at"`
	Principal int64          `json:"principal,omitzero"`
	Bonus     int64          `json:"bonus,omitzero"`
	// BonusPoints are the points a top-up rule gave (granted through the
	// Rewarder, not held here).
	BonusPoints int64 `json:"bonusPoints,omitzero"`
	// Paid is the money that left the ledger: the principal a withdrawal
	// paid out.
	Paid int64 `json:"paid,omitzero"`
	// Kept is the principal a withdrawal kept for bonus used beyond
	// proportion; Forfeited the bonus it gave up.
	Kept      int64  `json:"kept,omitzero"`
	Forfeited int64  `json:"forfeited,omitzero"`
	Key       string `json:"key,omitzero"`
	OrderID   string `json:"orderId,omitzero"`
	// Note says why: the source of a grant, the note of a top-up.
	Note string `json:"note,omitzero"`
}

// ValueOutcome is what one UpdateStoredValue wrote, kept by the store under
// the request's idempotency key so that a replay returns it unchanged.
type ValueOutcome struct {
	Entries []ValueEntry `json:"entries,omitzero"`
	// Grants are the rewards the update earned (a top-up's bonus points);
	// the service grants them after the update is saved, and again,
	// harmlessly, on a replay.
	Grants []scrm.Grant `json:"grants,omitzero"`
	// Principal and Bonus are the balances after the update, in fen.
	Principal int64 `json:"principal"`
	Bonus     int64 `json:"bonus"`
}

// Clone returns a deep copy of o.
func (o ValueOutcome) Clone() ValueOutcome {
	if o.Entries != nil {
		o.Entries = append([]ValueEntry(nil), o.Entries...)
	}
	if o.Grants != nil {
		o.Grants = append([]scrm.Grant(nil), o.Grants...)
	}
	return o
}

// ValueEntryPage is one page of a stored-value journal.
type ValueEntryPage struct {
	Entries []ValueEntry
	// Next is the After of the following page; 0 after the last page.
	Next int64
}
