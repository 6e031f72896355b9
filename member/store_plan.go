package member

import (
	"context"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// PlanStore persists paid membership plans (付费会员) and customers'
// memberships. It is part of Store, under the same contract: every method
// honours ctx (a done context returns an error matching scrm.ErrUnavailable
// and writes nothing), reads and writes only the tenant it is given, and
// copies values in and out.
//
// The unit of atomicity is one customer's membership: UpdateMembership locks
// it, lets the service compute the change, and saves the membership, the
// saving record it touched and the idempotency record together. The store
// also indexes memberships by DueAt, so that RunPlans visits only those with
// something to do.
type PlanStore interface {
	// PutPlan stores p as the newest version of its ID and returns it with
	// Version set to one more than that ID's previous newest (1 for the
	// first). Older versions are never changed. Every PutPlan moves the
	// tenant's PlansRevision. Errors: ErrInvalid for a missing tenant or
	// ID.
	PutPlan(ctx context.Context, p Plan) (Plan, error)

	// Plan returns version v of a plan, or the newest when v is 0.
	// Errors: ErrNotFound when there is no such version.
	Plan(ctx context.Context, tenant scrm.TenantID, id string, v int64) (Plan, error)

	// Plans returns every version of every plan of the tenant, ordered by
	// ID and then Version.
	Plans(ctx context.Context, tenant scrm.TenantID) ([]Plan, error)

	// PlansRevision returns the number of PutPlan calls the tenant has
	// had, 0 for none. It is cheap: the service calls it on every request
	// that reads plans (Earn included) to keep its cached plans current.
	PlansRevision(ctx context.Context, tenant scrm.TenantID) (int64, error)

	// UpdateMembership is the membership's atomic step. With a non-empty
	// IdempotencyKey already recorded for the tenant it does not call fn:
	// when the recorded fingerprint and customer equal the params' it
	// returns the recorded outcome with replayed true, otherwise an error
	// matching ErrConflict naming IdempotencyKey. Concurrent updates with
	// the same new key run one at a time, so fn runs at most once per key.
	//
	// Otherwise it locks the membership and calls fn with a MembershipTx
	// holding a copy of it (a new one, Version 0, when none is stored) and
	// of the saving record params.OrderID (nil when none is stored or no
	// OrderID is given). When fn returns nil it saves in one atomic step:
	// the membership with Version incremented (and reindexed by its
	// DueAt), tx.Saving when non-nil and, with a key, the key, the
	// fingerprint and tx.Outcome; and returns a copy of tx.Outcome. When fn
	// returns an error nothing is written and the error is returned. fn
	// runs while the membership is locked: it must be quick, must not call
	// the store, and may be called again by implementations that retry
	// transactions. Once fn returns, tx and everything it points to belong
	// to the store.
	//
	// Errors: ErrInvalid for a missing tenant or customer, or a tx.Saving
	// of another order; ErrConflict for a reused key as above.
	UpdateMembership(ctx context.Context, params MembershipParams, fn func(tx *MembershipTx) error) (out MembershipOutcome, replayed bool, err error)

	// Membership returns a customer's membership. Errors: ErrNotFound when
	// UpdateMembership never saved one.
	Membership(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (MembershipState, error)

	// Saving returns the saving a customer's order recorded. Errors:
	// ErrNotFound.
	Saving(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, orderID string) (SavingRecord, error)

	// ListPlanDue returns the tenant's memberships whose DueAt is set and
	// at or before params.Before, ordered by (DueAt, customer), starting
	// after params.Cursor. Errors: ErrInvalid for a malformed cursor.
	ListPlanDue(ctx context.Context, params ListDueParams) (DuePage, error)

	// ListDueMemberships is ListPlanDue returning copies of the memberships
	// themselves, which is what RunPlans reads: it sets page to the page
	// of the tenant's memberships whose DueAt is set and at or before
	// params.Before, ordered by (DueAt, customer), starting after
	// params.Cursor, and its Next to the cursor of the following page
	// (ListPlanDue's cursors: either method continues the other's pages).
	// Each membership is copied as it is when copied, after the
	// membership's lock; one whose DueAt a concurrent update moved past
	// params.Before in between is left out. The store may reuse the
	// capacity of page.Memberships and of their Terms and Trials, so that
	// a caller paging through many passes the same page each time; it
	// keeps no reference to page. Errors: ErrInvalid for a malformed
	// cursor.
	ListDueMemberships(ctx context.Context, params ListDueParams, page *DueMemberships) error
}

// DueMemberships is one page of PlanStore.ListDueMemberships.
type DueMemberships struct {
	// Memberships are copies of the due memberships, in order.
	Memberships []MembershipState
	// Next is the cursor of the following page; empty after the last.
	Next string

	// hints are the memory store's records of Memberships, index for
	// index, passed back in MembershipParams.hint; empty for other stores.
	hints []*plMember
}

// copyStateInto sets *dst to a copy of src, reusing the capacity of dst's
// Terms and Trials.
func copyStateInto(dst *MembershipState, src *MembershipState) {
	terms, trials := dst.Terms, dst.Trials
	*dst = *src
	dst.Terms, dst.Trials = nil, nil
	if src.Terms != nil {
		dst.Terms = append(terms[:0], src.Terms...)
	}
	if src.Trials != nil {
		dst.Trials = append(trials[:0], src.Trials...)
	}
}

// MembershipParams are the inputs of PlanStore.UpdateMembership.
type MembershipParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// IdempotencyKey, when set, makes the update happen at most once per
	// tenant; Fingerprint is the digest of the request's payload.
	IdempotencyKey string
	Fingerprint    string
	// OrderID names the saving record to load into the MembershipTx; may
	// be empty.
	OrderID string

	// hint is the memory store's record of the membership when the
	// caller got it from DueMemberships.hints (other stores ignore it;
	// the memory store checks that it is the tenant's record of Customer).
	hint *plMember
}

// MembershipTx is what UpdateMembership hands to the service's function.
type MembershipTx struct {
	// State is never nil; Version 0 means it is new.
	State *MembershipState
	// Saving is the saving record of MembershipParams.OrderID, nil when
	// none is stored; set it to create one.
	Saving  *SavingRecord
	Outcome MembershipOutcome
}

// MembershipOutcome is what one UpdateMembership did, kept under the
// request's idempotency key so that a replay returns it unchanged.
type MembershipOutcome struct {
	// Terms are copies of the terms the update created or changed, as the
	// update left them.
	Terms []PlanTerm `json:"terms,omitzero"`
	// Refund is the money a cancellation returns, in fen.
	Refund int64 `json:"refund,omitzero"`
}

// Clone returns a deep copy of o.
func (o MembershipOutcome) Clone() MembershipOutcome {
	if o.Terms != nil {
		o.Terms = append([]PlanTerm(nil), o.Terms...)
	}
	return o
}

// MembershipState is the stored form of one customer's paid membership:
// the terms bought and tried, oldest first. The service computes every
// field; the store indexes DueAt.
type MembershipState struct {
	Tenant   scrm.TenantID   `json:"tenant"`
	Customer scrm.CustomerID `json:"customer"`
	// Version is managed by the store: 0 for a membership never saved,
	// then one more per saved update.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Terms are the open terms and the latest closed ones, in order of
	// Seq (and of time: terms never overlap).
	Terms []PlanTerm `json:"terms,omitzero"`
	// LastTerm is the highest term Seq issued.
	LastTerm int64 `json:"lastTerm"`
	// Trials are the plans whose trial the customer used.
	Trials []string `json:"trials,omitzero"`
	// BirthMonth and BirthDay are the member's birthday (0 when unknown);
	// BirthdayYear is the last year a birthday reward was granted.
	BirthMonth   int `json:"birthMonth,omitzero"`
	BirthDay     int `json:"birthDay,omitzero"`
	BirthdayYear int `json:"birthdayYear,omitzero"`
	// DueAt is when RunPlans must next look at the membership (a tranche,
	// a birthday, a term's end or settlement); zero for never.
	DueAt time.Time `json:"dueAt,omitzero"`
}

// Clone returns a deep copy of m.
func (m MembershipState) Clone() MembershipState {
	if m.Terms != nil {
		m.Terms = append([]PlanTerm(nil), m.Terms...)
	}
	if m.Trials != nil {
		m.Trials = append([]string(nil), m.Trials...)
	}
	return m
}

// PlanTerm is one term of a membership: a trial or a paid period of a plan.
// Amounts are in fen; the service keeps times in UTC.
type PlanTerm struct {
	// Seq numbers the customer's terms from 1.
	Seq         int64  `json:"seq"`
	Plan        string `json:"plan"`
	PlanVersion int64  `json:"planVersion"`
	Trial       bool   `json:"trial,omitzero"`
	// Start and End bound the term: it covers [Start, End). A cancelled or
	// converted term ends when that happened.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Paid is the price paid for a paid term; Saved what RecordSaving
	// reported the membership saved during the term.
	Paid  int64 `json:"paid,omitzero"`
	Saved int64 `json:"saved,omitzero"`
	// Key is the idempotency key of the request that created the term.
	Key string `json:"key,omitzero"`
	// Cancelled is when Cancel ended the term (zero when not); Refund is
	// what the cancellation returned for it.
	Cancelled time.Time `json:"cancelled,omitzero"`
	Refund    int64     `json:"refund,omitzero"`
	// Converted tells a trial ended early by a paid subscription.
	Converted bool `json:"converted,omitzero"`
	// Released is the number of coupon-pack tranches released.
	Released int32 `json:"released,omitzero"`
	// Settled tells that the break-even guarantee was settled, with
	// Settlement granted as stored value (possibly 0).
	Settled    bool  `json:"settled,omitzero"`
	Settlement int64 `json:"settlement,omitzero"`
	// Closed tells that nothing remains to be done for the term.
	Closed bool `json:"closed,omitzero"`
}

// SavingRecord is a saving RecordSaving recorded for an order.
type SavingRecord struct {
	OrderID string `json:"orderId"`
	// Saved is in fen; Term is the Seq of the term it counted in.
	Saved int64     `json:"saved"`
	Term  int64     `json:"term"`
	At    time.Time `json:"at"`
}
