package member

import (
	"context"
	"slices"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// CheckInStore persists daily check-ins (签到) and the tenant's check-in
// rules. It is part of Store, under the same contract: every method honours
// ctx (a done context returns an error matching scrm.ErrUnavailable and
// writes nothing), reads and writes only the tenant it is given, and copies
// values in and out.
//
// The unit of atomicity is one customer's check-in state: UpdateCheckIn
// locks it, lets the service compute the day's record, and saves the state,
// the record and the idempotency record together. The store enforces the
// rule that matters most: at most one record per customer per local date.
type CheckInStore interface {
	// PutCheckInRule stores r as the tenant's newest check-in rule version
	// and returns it with Version set to one more than the previous newest
	// (1 for the first). Older versions are never changed. Errors:
	// ErrInvalid for a missing tenant.
	PutCheckInRule(ctx context.Context, r CheckInRule) (CheckInRule, error)

	// CheckInRule returns version v of the tenant's check-in rule, or the
	// newest when v is 0. Errors: ErrNotFound when there is no such
	// version.
	CheckInRule(ctx context.Context, tenant scrm.TenantID, v int64) (CheckInRule, error)

	// CheckInRuleVersion returns the tenant's newest check-in rule version,
	// 0 when it has none. It is cheap: the service calls it on every
	// check-in to keep its compiled rule current.
	CheckInRuleVersion(ctx context.Context, tenant scrm.TenantID) (int64, error)

	// UpdateCheckIn records one customer's check-in for params.Date. With a
	// non-empty IdempotencyKey already recorded for the tenant it does not
	// call fn: when the recorded fingerprint and customer equal the
	// params' it returns the record the key wrote with replayed true,
	// otherwise an error matching ErrConflict naming IdempotencyKey.
	// Concurrent updates with the same new key run one at a time.
	//
	// Otherwise it locks the customer's check-in state and calls fn with a
	// CheckInTx holding a copy of the state (a new one, Version 0, when
	// none is stored) and of the record of params.Date in Existing (nil
	// when there is none). fn sets tx.Record, whose Date must be
	// params.Date; when fn returns nil the store saves, in one atomic step,
	// the state with Version incremented, the record and, with a key, the
	// key, the fingerprint and the record's date, and returns a copy of the
	// record. When fn returns an error nothing is written and the error is
	// returned. fn runs while the state is locked: it must be quick, must
	// not call the store, and may be called again by implementations that
	// retry transactions. Once fn returns, tx and everything it points to
	// belong to the store.
	//
	// Errors: ErrInvalid for a missing tenant, customer or record, or a
	// record of another date; ErrConflict when the customer already has a
	// record for params.Date (whatever fn did, there is never a second
	// one) or for a reused key as above.
	UpdateCheckIn(ctx context.Context, params CheckInParams, fn func(tx *CheckInTx) error) (rec CheckInRecord, replayed bool, err error)

	// CheckInState returns a customer's check-in state. Errors:
	// ErrNotFound when UpdateCheckIn never saved one.
	CheckInState(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (CheckInState, error)

	// CheckIns returns a customer's records dated from params.From to
	// params.To, both included, in date order. An unknown customer has
	// none. Errors: ErrInvalid when the range is reversed or longer than
	// 400 days.
	CheckIns(ctx context.Context, params ListCheckInsParams) ([]CheckInRecord, error)
}

// CheckInParams are the inputs of CheckInStore.UpdateCheckIn.
type CheckInParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// Date is the local date checked in, as yyyymmdd.
	Date int32
	// IdempotencyKey, when set (make-ups, which cost points), makes the
	// update happen at most once per tenant; Fingerprint is the digest of
	// the request's payload.
	IdempotencyKey string
	Fingerprint    string
}

// CheckInTx is what UpdateCheckIn hands to the service's function.
type CheckInTx struct {
	// State is never nil; Version 0 means it is new.
	State *CheckInState
	// Existing is the record of the date, nil when there is none. It is
	// for reading: a date is recorded once.
	Existing *CheckInRecord
	// Record is the record to save; fn sets it.
	Record *CheckInRecord

	// record is room for the record fn creates (see newRecord), so that
	// doing so allocates nothing; it is the store's with the rest of tx.
	record CheckInRecord
}

// newRecord returns an empty record kept in tx.
func (tx *CheckInTx) newRecord() *CheckInRecord {
	tx.record = CheckInRecord{}
	return &tx.record
}

// ListCheckInsParams are the inputs of CheckInStore.CheckIns.
type ListCheckInsParams struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// From and To are local dates as yyyymmdd, both included.
	From, To int32
}

// maxCheckInRange bounds the dates one CheckIns call may span.
const maxCheckInRange = 400

// CheckInState is the stored form of one customer's check-ins: what
// UpdateCheckIn locks, hands to the service and saves.
type CheckInState struct {
	Tenant   scrm.TenantID   `json:"tenant"`
	Customer scrm.CustomerID `json:"customer"`
	// Version is managed by the store: 0 for a state never saved, then one
	// more per saved update.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Total is the number of days checked in, make-ups included.
	Total int64 `json:"total"`
	// Runs are the recent runs of consecutive dates checked in, oldest
	// first: the latest run, and every run a make-up or a late check-in
	// can still extend or join. Older runs are dropped; the records keep
	// the history.
	Runs []DayRun `json:"runs,omitzero"`
	// MakeUps is the number of make-ups in MakeUpMonth (year*12 +
	// month-1, local).
	MakeUpMonth int32 `json:"makeUpMonth,omitzero"`
	MakeUps     int32 `json:"makeUps,omitzero"`
}

// Clone returns a deep copy of s.
func (s CheckInState) Clone() CheckInState {
	s.Runs = slices.Clone(s.Runs)
	return s
}

// DayRun is a run of consecutive local dates checked in, as yyyymmdd.
type DayRun struct {
	First int32 `json:"first"`
	Last  int32 `json:"last"`
}

// CheckInRecord is one day's check-in.
type CheckInRecord struct {
	// Date is the local date checked in, as yyyymmdd.
	Date int32 `json:"date"`
	// At is when it was recorded (the service clock).
	At time.Time `json:"at"`
	// Streak is the date's position in its run of consecutive dates when
	// it was recorded (1 for a first day); CycleDay is Streak within the
	// rule's cycle, which chose the ladder step.
	Streak   int `json:"streak"`
	CycleDay int `json:"cycleDay"`
	// MakeUp tells a make-up check-in (补签) of a missed date; Cost is the
	// points it cost.
	MakeUp bool  `json:"makeUp,omitzero"`
	Cost   int64 `json:"cost,omitzero"`
	// Rewards are what the check-in granted through the Rewarder.
	Rewards []scrm.Reward `json:"rewards,omitzero"`
	// Rule is the version of the check-in rule it was computed under.
	Rule int64 `json:"rule"`
	// Key is the idempotency key of a make-up.
	Key string `json:"key,omitzero"`
}

// Clone returns a deep copy of r.
func (r CheckInRecord) Clone() CheckInRecord {
	r.Rewards = slices.Clone(r.Rewards)
	return r
}
