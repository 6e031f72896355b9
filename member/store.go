package member

import (
	"context"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Store persists programs, accounts, their journals, orders and holds. It is
// the interface storage implementers write; hosts use *Service.
//
// The unit of atomicity is one account: Update locks a customer's account
// (a SELECT ... FOR UPDATE in SQL), lets the service compute the change, and
// saves the account, the order and hold records it touched, the new journal
// entries and the idempotency record in one transaction. The service
// computes; the store enforces atomicity, idempotency-key uniqueness and
// tenant isolation.
//
// Every method honours ctx (a done context returns an error matching
// scrm.ErrUnavailable that wraps ctx.Err(), and writes nothing), reads and
// writes only the tenant it is given, and copies values in and out: callers
// may modify what they passed or got back.
//
// NewMemoryStore is the in-memory implementation; membertest.RunStoreTests
// is the conformance suite every implementation must pass.
type Store interface {
	// PutProgram stores p as the tenant's newest program version and
	// returns it with Version set to one more than the previous newest (1
	// for the first). Older versions are never changed. Errors: ErrInvalid
	// for a missing tenant.
	PutProgram(ctx context.Context, p Program) (Program, error)

	// Program returns version v of the tenant's program, or the newest
	// when v is 0. Errors: ErrNotFound when there is no such version.
	Program(ctx context.Context, tenant scrm.TenantID, v int64) (Program, error)

	// ProgramVersion returns the tenant's newest program version, 0 when
	// it has none. It is cheap: the service calls it on every request to
	// keep its compiled program current.
	ProgramVersion(ctx context.Context, tenant scrm.TenantID) (int64, error)

	// Account returns a customer's account. Errors: ErrNotFound when
	// Update never saved one.
	Account(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (AccountState, error)

	// Update is the ledger's atomic step. With a non-empty
	// IdempotencyKey already recorded for the tenant, it does not call fn:
	// when the recorded fingerprint equals params.Fingerprint (and the
	// customer matches) it returns the recorded Outcome with replayed true,
	// otherwise an error matching ErrConflict naming IdempotencyKey.
	// Concurrent updates with the same new key run one at a time, so fn
	// runs at most once per key.
	//
	// Otherwise Update locks the account, calls fn with a LedgerTx holding
	// copies of the account (a new one, Version 0, when none is stored),
	// of the order record params.OrderID (nil when none is stored or no
	// OrderID is given) and of the hold record params.HoldID (likewise),
	// and, when fn returns nil, saves in one atomic step: the account with
	// Version incremented, tx.Order and tx.Hold when non-nil, tx.Outcome's
	// entries appended to the journal, and, with a key, the key, the
	// fingerprint and tx.Outcome. It returns a copy of tx.Outcome. When fn
	// returns an error nothing is written and the error is returned. fn
	// runs while the account is locked: it must be quick, must not call the
	// store, and may be called again by implementations that retry
	// transactions. Once fn returns, tx and everything it points to belong
	// to the store, which may keep them without copying: fn must not retain
	// references to them (as io.Reader implementations must not retain p).
	// The one exception is tx.Outcome.Entries (with their Lots), which may
	// be storage of the caller's that it reuses once Update has returned
	// and it has read the outcome: a store that keeps entries past Update
	// copies or encodes them, as it writes them to the journal anyway.
	//
	// Errors: ErrInvalid for a missing tenant or customer, a tx.Order whose
	// OrderID is not params.OrderID or a tx.Hold whose ID or Customer does
	// not match the params; ErrConflict when params.HoldID names a hold of
	// another customer of the tenant, or for a reused key as above.
	Update(ctx context.Context, params UpdateParams, fn func(tx *LedgerTx) error) (out Outcome, replayed bool, err error)

	// Hold returns a hold record. Errors: ErrNotFound.
	Hold(ctx context.Context, tenant scrm.TenantID, holdID string) (HoldRecord, error)

	// Order returns a customer's order record. Errors: ErrNotFound.
	Order(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, orderID string) (OrderRecord, error)

	// Entries returns a page of a customer's journal in Seq order, after
	// params.After. An unknown customer has an empty journal.
	Entries(ctx context.Context, params ListEntriesParams) (EntryPage, error)

	// ListDue returns the tenant's accounts whose DueAt is set and at or
	// before params.Before, ordered by (DueAt, customer), starting after
	// params.Cursor. Errors: ErrInvalid for a malformed cursor.
	ListDue(ctx context.Context, params ListDueParams) (DuePage, error)

	// ListExpiring is ListDue by NextExpiry instead of DueAt.
	ListExpiring(ctx context.Context, params ListDueParams) (DuePage, error)

	// The stores of check-in, stored value, paid plans and the points
	// mall, each documented with its own interface.
	CheckInStore
	StoredValueStore
	PlanStore
	MallStore
}

// UpdateParams are the inputs of Store.Update.
type UpdateParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// IdempotencyKey, when set, makes the update happen at most once per
	// tenant; Fingerprint is the digest of the request's payload (see
	// scrm.Fingerprint).
	IdempotencyKey string
	Fingerprint    string
	// OrderID and HoldID name the order and hold records to load into the
	// LedgerTx; either may be empty.
	OrderID string
	HoldID  string
}

// LedgerTx is what Store.Update hands to the service's function: copies of
// the records it locked, to change in place, and the Outcome to fill.
type LedgerTx struct {
	// Account is never nil; Version 0 means it is new.
	Account *AccountState
	// Order is the order record named by UpdateParams.OrderID, nil when
	// none is stored; set it to create one.
	Order *OrderRecord
	// Hold is the hold record named by UpdateParams.HoldID, nil when none
	// is stored; set it to create one.
	Hold    *HoldRecord
	Outcome Outcome

	// order is room for the one order record an update creates or loads
	// (see newOrder), so that doing so allocates nothing; it is the
	// store's with the rest of tx.
	order OrderRecord
	// spare is an account state the memory store recycles with tx.
	spare *AccountState
}

// newOrder returns a new order record with the ID id, kept in tx.
func (tx *LedgerTx) newOrder(id string) *OrderRecord {
	tx.order = OrderRecord{OrderID: id}
	return &tx.order
}

// HoldState is the state of a hold.
type HoldState string

// The hold states. A hold is open until it is captured or voided, and then
// never changes again.
const (
	HoldOpen     HoldState = "open"
	HoldCaptured HoldState = "captured"
	HoldVoided   HoldState = "voided"
)

// HoldRecord is points reserved for an order at checkout.
type HoldRecord struct {
	ID       string          `json:"id"`
	Tenant   scrm.TenantID   `json:"tenant"`
	Customer scrm.CustomerID `json:"customer"`
	OrderID  string          `json:"orderId"`
	// Key is the idempotency key of the Hold request.
	Key    string `json:"key"`
	Points int64  `json:"points"`
	// Value is what the points pay, in yuan, under the program's redeem
	// rule at the time of the hold.
	Value       decimal.Decimal `json:"value"`
	OrderAmount decimal.Decimal `json:"orderAmount,omitzero"`
	State       HoldState       `json:"state"`
	// Lots are where the points are held (LotMove.Held).
	Lots      []LotMove `json:"lots"`
	Program   int64     `json:"program"`
	CreatedAt time.Time `json:"createdAt"`
	ClosedAt  time.Time `json:"closedAt,omitzero"`
}

// Clone returns a deep copy of h.
func (h HoldRecord) Clone() HoldRecord {
	if h.Lots != nil {
		h.Lots = append([]LotMove(nil), h.Lots...)
	}
	return h
}

// OrderRecord is what the ledger remembers of an order, for refunds: what it
// earned and what points paid for it.
type OrderRecord struct {
	OrderID string `json:"orderId"`
	// Earned tells whether Earn credited the order; Paid is the amount it
	// credited on, the base of refund proportions.
	Earned   bool            `json:"earned"`
	Paid     decimal.Decimal `json:"paid"`
	EarnedAt time.Time       `json:"earnedAt,omitzero"`
	Points   int64           `json:"points"`
	Growth   int64           `json:"growth"`
	// Lot is the lot the order's points went to (0 when none).
	Lot int64 `json:"lot,omitzero"`
	// Month is the Rolling month the order's growth counted in.
	Month int32 `json:"month,omitzero"`

	// OrderAmount is the order amount given with its latest hold or
	// redemption; the refund base of an order that earned nothing.
	OrderAmount decimal.Decimal `json:"orderAmount,omitzero"`
	// SpentValue is what the points captured or redeemed for the order
	// paid, in yuan, each at the redeem rule they were held or redeemed
	// under (HoldRecord.Value); the refund base of an order that earned
	// nothing and was given no OrderAmount (a point-of-sale order paid
	// entirely with points).
	SpentValue decimal.Decimal `json:"spentValue,omitzero"`
	// SpentAt is when the latest of the points captured or redeemed for
	// the order left the balance: the redemption, or the creation of the
	// captured hold (HoldRecord.CreatedAt); zero when none were. Their
	// return by a refund pays off only the parts of AccountState.Unclawed
	// forgiven at or after SpentAt (AccountState.UnclawedParts).
	SpentAt time.Time `json:"spentAt,omitzero"`
	// Held is the points in open holds for the order, Spent the points
	// captured or redeemed for it.
	Held  int64 `json:"held,omitzero"`
	Spent int64 `json:"spent,omitzero"`
	// SpentLots are the lot moves that spent the order's points and are not
	// yet given back, in spending order, as the journal recorded them
	// (Points negative: -Points is what was spent from the lot).
	SpentLots []LotMove `json:"spentLots,omitzero"`

	Refunded     decimal.Decimal `json:"refunded"`
	PointsClawed int64           `json:"pointsClawed,omitzero"`
	GrowthClawed int64           `json:"growthClawed,omitzero"`
	// Returned is the spent points given back by refunds, forfeited ones
	// included.
	Returned int64 `json:"returned,omitzero"`
}

// Clone returns a deep copy of o.
func (o OrderRecord) Clone() OrderRecord {
	if o.SpentLots != nil {
		o.SpentLots = append([]LotMove(nil), o.SpentLots...)
	}
	return o
}

// ListEntriesParams are the inputs of Store.Entries.
type ListEntriesParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// After is the Seq to start after; 0 for the start.
	After int64
	// Limit is the page size; 0 means 100 and more than 1000 means 1000.
	Limit int
}

// EntryPage is one page of a journal.
type EntryPage struct {
	Entries []Entry
	// Next is the After of the following page; 0 after the last page.
	Next int64
}

// ListDueParams are the inputs of Store.ListDue and Store.ListExpiring.
type ListDueParams struct {
	Tenant scrm.TenantID
	// Before is the latest time listed, included.
	Before time.Time
	// Cursor is the Next of the previous page; empty for the first.
	Cursor string
	// Limit is the page size; 0 means 100 and more than 1000 means 1000.
	Limit int
}

// DueAccount is one account of a DuePage.
type DueAccount struct {
	Customer scrm.CustomerID
	At       time.Time // its DueAt or NextExpiry
}

// DuePage is one page of Store.ListDue or Store.ListExpiring.
type DuePage struct {
	Accounts []DueAccount
	// Next is the cursor of the following page; empty after the last.
	Next string
}
