package member

import (
	"context"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// MallStore persists the points mall (积分商城): the catalog, each item's
// sold count and each customer's count per item, and the exchange records.
// It is part of Store.
//
// An exchange moves through three states (see ExchangeState): ChargeExchange
// takes the points and the stock in one atomic step and records the exchange
// as pending; then the service grants the reward and either CompleteExchange
// marks it done or RefundExchange gives the points, the stock and the
// customer's count back in one atomic step. Every transition is a
// compare-and-set on the record's state, so each step can be repeated: a
// crash between steps leaves a pending record that the next call with the
// same key resumes.
//
// The unit of atomicity of ChargeExchange and RefundExchange is one item and
// one account: in SQL, one transaction that locks the item row (SELECT ...
// FOR UPDATE), checks and updates its counts, does what Store.Update does for
// the account, and writes the exchange record. Lock the item before the
// account, as the memory store does, so that no two steps deadlock.
//
// Like every Store method, these honour ctx (a done context returns an error
// matching scrm.ErrUnavailable and writes nothing), read and write only the
// tenant they are given, copy values in and out, and write nothing when they
// return an error.
type MallStore interface {
	// PutCatalogItem stores a copy of item if item.Version equals the
	// stored version (0 when none is stored) and returns it as stored:
	// Version one more, Sold and CreatedAt kept from the stored item (Sold
	// 0 and CreatedAt item.CreatedAt for a new one). Errors: ErrConflict
	// when the version does not match; ErrInvalid for a missing Tenant or
	// ID.
	PutCatalogItem(ctx context.Context, item CatalogItem) (CatalogItem, error)

	// CatalogItem returns a copy of an item with its Version and Sold.
	// Errors: ErrNotFound.
	CatalogItem(ctx context.Context, tenant scrm.TenantID, id string) (CatalogItem, error)

	// ListCatalog returns the tenant's items in ID order, starting after
	// params.Cursor, at most params.Limit (0 means 100, more than 1000
	// means 1000); Next is the cursor of the following page, empty after
	// the last.
	ListCatalog(ctx context.Context, params ListCatalogParams) (CatalogPage, error)

	// ChargeExchange is the mall's atomic charge. With params.Key already
	// recorded for the tenant's mall it does not call fn: when the record's
	// Fingerprint equals params.Fingerprint and its Customer params.Customer,
	// it returns the record as it stands now with Replayed set; otherwise an
	// error matching ErrConflict naming IdempotencyKey. Concurrent calls
	// with the same new key run one at a time, so fn runs at most once per
	// key.
	//
	// Otherwise it locks the item params.Item (ErrNotFound when there is
	// none) and checks, against the counts stored now, that the item's Sold
	// is below its Stock (0 = unlimited) and the customer's count of the
	// item below its PerCustomer (0 = unlimited); when not, it returns an
	// error matching ErrExhausted whose Field is "Stock" or "PerCustomer"
	// and does not call fn. Then it does what Store.Update does with
	// UpdateParams{Tenant, Customer} (no ledger key: the mall's record is
	// the idempotency record), calling fn with an ExchangeTx holding a
	// copy of the item, the customer's count, the ledger's LedgerTx and a
	// zero record in tx.Exchange. fn fills that record (or points
	// tx.Exchange to another) with the new exchange: State ExchangePending
	// and the params' Tenant, Key, Customer and Item (ErrInvalid
	// otherwise). When fn returns nil the store saves, in one atomic step,
	// what Update saves, the record (with Fingerprint set to
	// params.Fingerprint and Attempt to 1), the item's Sold plus one and
	// the customer's count plus one. When fn returns an error nothing is
	// written, the key stays free and the error is returned.
	ChargeExchange(ctx context.Context, params ChargeExchangeParams, fn func(tx *ExchangeTx) error) (ChargeExchangeResult, error)

	// ClaimExchange takes over a pending exchange whose lease has run out
	// (LeaseUntil at or before params.Now): it adds one to its Attempt, sets
	// LeaseUntil to params.Until and returns it. A done or refunded
	// exchange is returned unchanged. Errors: ErrNotFound; ErrConflict
	// naming LeaseUntil when the lease is still held.
	ClaimExchange(ctx context.Context, params ClaimExchangeParams) (ExchangeRecord, error)

	// CompleteExchange moves a pending exchange whose Attempt equals
	// params.Attempt to done (SettledAt = params.At) and returns it. A done
	// exchange is returned unchanged. Errors: ErrNotFound; ErrConflict for a
	// refunded exchange or another Attempt (the lease was taken over).
	CompleteExchange(ctx context.Context, params SettleExchangeParams) (ExchangeRecord, error)

	// RefundExchange undoes a pending exchange whose Attempt equals
	// params.Attempt: it locks the item and does what Store.Update does
	// with UpdateParams{Tenant, Customer: the exchange's customer} (no
	// key), calling fn with an ExchangeTx holding copies of the item, the
	// customer's count, the exchange record and the ledger's LedgerTx; fn
	// returns the points and may fill the record's Returned, Forfeited and
	// Balance. When fn returns nil the store saves, in one atomic step,
	// what Update saves, the record as fn left it with State
	// ExchangeRefunded, SettledAt params.At and Reason params.Reason, the
	// item's Sold minus one and the customer's count minus one. A refunded
	// exchange is returned unchanged without calling fn (Changed false).
	// Errors: ErrNotFound; ErrConflict for a done exchange or another
	// Attempt; ErrInvalid when fn changed the record's Key, Customer or
	// Item; fn's error, with nothing written.
	RefundExchange(ctx context.Context, params SettleExchangeParams, fn func(tx *ExchangeTx) error) (RefundExchangeResult, error)

	// ExchangeByKey returns the exchange recorded under an idempotency key.
	// Errors: ErrNotFound.
	ExchangeByKey(ctx context.Context, tenant scrm.TenantID, key string) (ExchangeRecord, error)

	// ListExchanges returns a customer's exchanges, newest first, in every
	// state, starting after params.Cursor, at most params.Limit (0 means
	// 100, more than 1000 means 1000); Next is the cursor of the following
	// page, empty after the last. Errors: ErrInvalid for a malformed cursor.
	ListExchanges(ctx context.Context, params ListExchangesParams) (ExchangePage, error)

	// ListPendingExchanges returns the tenant's pending exchanges whose
	// lease ran out at or before params.Before, by LeaseUntil then Key, at
	// most params.Limit (0 means 100, more than 1000 means 1000).
	ListPendingExchanges(ctx context.Context, params ListPendingExchangesParams) ([]ExchangeRecord, error)
}

// CatalogItem is what customers can exchange points for in the points mall
// (积分商城): a reward (points, growth, a coupon, stored value, or a kind the
// host defines), its price in points, and who may have it and how many.
//
// Items are versioned for optimistic concurrency: Service.PutCatalogItem
// with Version 0 creates an item, with the stored Version updates it, and
// with any other Version fails with ErrConflict, so two operators editing one
// item cannot overwrite each other. An update changes what later exchanges
// get; exchanges made before keep what they were charged and granted (their
// record has a copy of the reward and the price). Items are never deleted:
// to take one off sale, set its End (or lower its Stock to Sold).
type CatalogItem struct {
	Tenant scrm.TenantID `json:"tenant"`
	ID     string        `json:"id"`
	// Name is shown to customers and recorded on exchanges.
	Name string `json:"name"`
	// Points is the price.
	Points int64 `json:"points"`
	// Reward is what an exchange grants, through Options.Rewarder.
	Reward scrm.Reward `json:"reward"`
	// Stock is how many exchanges the item allows in all; 0 means
	// unlimited. Lowering it below Sold makes the item sold out without
	// taking anything back.
	Stock int64 `json:"stock,omitzero"`
	// PerCustomer is how many exchanges of the item one customer may have
	// in all; 0 means unlimited. Refunded exchanges do not count.
	PerCustomer int64 `json:"perCustomer,omitzero"`
	// Tiers are the IDs of the tiers whose members may exchange the item;
	// empty means everyone, members without a tier included.
	Tiers []string `json:"tiers,omitzero"`
	// Start and End bound when the item can be exchanged: from Start
	// (included) until End (excluded); a zero time means no bound.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`

	// Version is managed by the store: 0 for an item never stored, then one
	// more per stored change.
	Version int64 `json:"version,omitzero"`
	// Sold is managed by the store: the exchanges of the item that are
	// pending or done (refunded ones are given back).
	Sold      int64     `json:"sold,omitzero"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Clone returns a deep copy of c.
func (c CatalogItem) Clone() CatalogItem {
	if c.Tiers != nil {
		c.Tiers = append([]string(nil), c.Tiers...)
	}
	return c
}

// Left returns how many exchanges the item's stock still allows, and false
// when the stock is unlimited.
func (c CatalogItem) Left() (int64, bool) {
	if c.Stock == 0 {
		return 0, false
	}
	return max(c.Stock-c.Sold, 0), true
}

// ExchangeState is the state of an exchange.
type ExchangeState string

// The exchange states. An exchange is pending from the moment its points and
// stock are taken until its reward is granted (done) or refused (refunded);
// done and refunded exchanges never change again.
const (
	// ExchangePending: the points and the stock are taken; the reward is
	// being granted, or was interrupted and is resumed by a retry with the
	// same key (or Service.ResumeExchanges).
	ExchangePending ExchangeState = "pending"
	// ExchangeDone: the reward was granted.
	ExchangeDone ExchangeState = "done"
	// ExchangeRefunded: the Rewarder refused the grant; the points, the
	// stock and the customer's count were given back.
	ExchangeRefunded ExchangeState = "refunded"
)

// ExchangeRecord is one exchange of points for a catalog item, kept under
// the request's idempotency key.
type ExchangeRecord struct {
	Tenant scrm.TenantID `json:"tenant"`
	// Key is the idempotency key of the Exchange request; Fingerprint the
	// digest of its payload (managed by the store).
	Key         string          `json:"key"`
	Fingerprint string          `json:"fingerprint"`
	Customer    scrm.CustomerID `json:"customer"`
	Item        string          `json:"item"`
	// ItemName, ItemVersion, Points and Reward are the item's as charged.
	ItemName    string        `json:"itemName"`
	ItemVersion int64         `json:"itemVersion"`
	Points      int64         `json:"points"`
	Reward      scrm.Reward   `json:"reward"`
	State       ExchangeState `json:"state"`
	// Lots are where the points came from, as the journal's spend entry
	// recorded them (Points negative), soonest-expiring first.
	Lots []LotMove `json:"lots"`
	// Balance is the customer's balance after the charge, or after the
	// refund for a refunded exchange.
	Balance Balance `json:"balance"`
	// Returned is the points a refund gave back to their lots; Forfeited
	// the points it could not, their lot having expired since.
	Returned  int64 `json:"returned,omitzero"`
	Forfeited int64 `json:"forfeited,omitzero"`
	// Unclawed is the part of Returned taken straight back to pay off what
	// refunds could not claw back (AccountState.Unclawed).
	Unclawed int64 `json:"unclawed,omitzero"`
	// Reason is why the exchange was refunded (the Rewarder's error).
	Reason string `json:"reason,omitzero"`
	// Attempt is a fencing token, managed by the store: 1 at the charge,
	// one more each time ClaimExchange takes over a pending exchange whose
	// lease ran out. Only the holder of the current Attempt may complete
	// or refund it. LeaseUntil is when the current holder's lease runs out.
	Attempt    int64     `json:"attempt"`
	LeaseUntil time.Time `json:"leaseUntil"`
	// CreatedAt is when the exchange was charged: a refund's returned
	// points pay off only the parts of AccountState.Unclawed forgiven at
	// or after it (AccountState.UnclawedParts).
	CreatedAt time.Time `json:"createdAt"`
	// SettledAt is when the exchange became done or refunded.
	SettledAt time.Time `json:"settledAt,omitzero"`
}

// Clone returns a deep copy of r.
func (r ExchangeRecord) Clone() ExchangeRecord {
	if r.Lots != nil {
		r.Lots = append([]LotMove(nil), r.Lots...)
	}
	return r
}

// ExchangeTx is what ChargeExchange and RefundExchange hand to the service's
// function: copies of what they locked.
type ExchangeTx struct {
	// Item is the catalog item as stored now.
	Item CatalogItem
	// Bought is the customer's count of the item before this step.
	Bought int64
	// Exchange is a zero record for ChargeExchange, for fn to fill in,
	// and a copy of the stored record for RefundExchange. Once fn returns,
	// the record belongs to the store (fn must not keep it).
	Exchange *ExchangeRecord
	// Ledger is the customer's account, as Store.Update hands it.
	Ledger *LedgerTx
}

// ChargeExchangeParams are the inputs of MallStore.ChargeExchange.
type ChargeExchangeParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	Item     string
	// Key is the request's idempotency key (required) and Fingerprint the
	// digest of its payload.
	Key         string
	Fingerprint string
}

// ChargeExchangeResult is what MallStore.ChargeExchange did.
type ChargeExchangeResult struct {
	// Exchange is the record saved, or the one stored under the key.
	Exchange ExchangeRecord
	// Outcome is what the ledger update wrote; empty on a replay.
	Outcome Outcome
	// Replayed tells that the key was recorded before: nothing was written.
	Replayed bool
}

// ClaimExchangeParams are the inputs of MallStore.ClaimExchange.
type ClaimExchangeParams struct {
	Tenant scrm.TenantID
	Key    string
	// Now is the service's time; Until the end of the new lease.
	Now, Until time.Time
}

// SettleExchangeParams are the inputs of MallStore.CompleteExchange and
// MallStore.RefundExchange.
type SettleExchangeParams struct {
	Tenant scrm.TenantID
	Key    string
	// Attempt is the caller's fencing token (ExchangeRecord.Attempt).
	Attempt int64
	At      time.Time
	// Reason is recorded by RefundExchange.
	Reason string
}

// RefundExchangeResult is what MallStore.RefundExchange did.
type RefundExchangeResult struct {
	Exchange ExchangeRecord
	// Outcome is what the ledger update wrote; empty when nothing changed.
	Outcome Outcome
	// Changed is false when the exchange was already refunded.
	Changed bool
}

// ListCatalogParams are the inputs of MallStore.ListCatalog.
type ListCatalogParams struct {
	Tenant scrm.TenantID
	// Cursor is the Next of the previous page; empty for the first.
	Cursor string
	// Limit is the page size; 0 means 100 and more than 1000 means 1000.
	Limit int
}

// CatalogPage is one page of a tenant's catalog.
type CatalogPage struct {
	Items []CatalogItem
	// Next is the cursor of the following page; empty after the last.
	Next string
}

// ListExchangesParams are the inputs of MallStore.ListExchanges.
type ListExchangesParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// Cursor is the Next of the previous page; empty for the first.
	Cursor string
	// Limit is the page size; 0 means 100 and more than 1000 means 1000.
	Limit int
}

// ExchangePage is one page of a customer's exchanges, newest first.
type ExchangePage struct {
	Exchanges []ExchangeRecord
	// Next is the cursor of the following page; empty after the last.
	Next string
}

// ListPendingExchangesParams are the inputs of
// MallStore.ListPendingExchanges.
type ListPendingExchangesParams struct {
	Tenant scrm.TenantID
	// Before is the latest LeaseUntil listed, included.
	Before time.Time
	// Limit is the page size; 0 means 100 and more than 1000 means 1000.
	Limit int
}
