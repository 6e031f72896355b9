package member_test

// Mutation tests of the conformance suite (membertest.RunStoreTests): each
// mutant is the memory store with one method broken the way a plausible
// host implementation would break it. TestSuiteMutants runs the suite
// against every mutant in a child process (TestSuiteMutantChild) and
// requires the suite to fail it, in the subtest named.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/member/membertest"
	"github.com/scrmkit/scrmkit/scrm"
)

// mutEnv names the mutant a child process runs the suite against.
const mutEnv = "SCRMKIT_SUITE_MUTANT"

var suiteMutants = []mutants.Store[member.Store]{
	// Gaps the suite had: each has its own conformance case now.
	{Name: "ReplayDropsGrantsAndHoldID", Run: "Idempotency/ReplayReturnsWholeOutcome", Want: "Idempotency/ReplayReturnsWholeOutcome",
		New: func() member.Store { return &mutReplayDropsExtras{Store: member.NewMemoryStore()} }},
	{Name: "JournalSharesCallerEntries", Run: "Journal/CallerMayReuseEntries", Want: "Journal/CallerMayReuseEntries",
		New: func() member.Store { return newMutSharedJournal() }},
	{Name: "OrdersKeyedByTenantOnly", Run: "Orders/PerCustomerInUpdate", Want: "Orders/PerCustomerInUpdate",
		New: func() member.Store { return newMutCrossCustomer() }},
	{Name: "PaymentsKeyedByTenantOnly", Run: "StoredValue/PaymentsPerCustomer", Want: "StoredValue/PaymentsPerCustomer",
		New: func() member.Store { return newMutCrossCustomer() }},
	{Name: "SavingsKeyedByTenantOnly", Run: "Plans/SavingsPerCustomer", Want: "Plans/SavingsPerCustomer",
		New: func() member.Store { return newMutCrossCustomer() }},
	{Name: "RecordsAcrossTenants", Run: "Holds/OtherTenantsHold", Want: "Holds/OtherTenantsHold",
		New: func() member.Store { return &mutCrossTenant{Store: member.NewMemoryStore()} }},
	{Name: "StoredValueRenumbersEntries", Run: "StoredValue/EntriesContinueJournal", Want: "StoredValue/EntriesContinueJournal",
		New: func() member.Store { return &mutSVRenumber{Store: member.NewMemoryStore()} }},
	{Name: "StoredValuePrincipalUnchecked", Run: "StoredValue/NegativeBalancesRefused", Want: "StoredValue/NegativeBalancesRefused",
		New: func() member.Store { return &mutSVPrincipal{Store: member.NewMemoryStore()} }},
	{Name: "ExchangesByKeyNotCharge", Run: "Mall/History/NewestFirstWhateverTheKeys", Want: "Mall/History/NewestFirstWhateverTheKeys",
		New: func() member.Store { return &mutExchangesByKey{Store: member.NewMemoryStore()} }},
	{Name: "HoldIDUnchecked", Run: "Accounts/InvalidParams", Want: "Accounts/InvalidParams",
		New: func() member.Store { return &mutHoldID{Store: member.NewMemoryStore()} }},
	{Name: "CheckInKeyCheckThenAct", Run: "CheckIn/ConcurrentSameKeyRunsOnce", Want: "CheckIn/ConcurrentSameKeyRunsOnce",
		New: func() member.Store { return newMutCheckInKeyRace() }},
	{Name: "CheckInStateDropsMakeUps", Run: "CheckIn/StateRoundTrip", Want: "CheckIn/StateRoundTrip",
		New: func() member.Store { return &mutCheckInStateDropsMakeUps{Store: member.NewMemoryStore()} }},
	{Name: "CheckInRuleVersionRace", Run: "CheckIn/RuleVersionsUnderConcurrentPuts", Want: "CheckIn/RuleVersionsUnderConcurrentPuts",
		New: func() member.Store { return &mutRuleVersionRace{Store: member.NewMemoryStore()} }},
	{Name: "TopUpRuleVersionRace", Run: "StoredValue/TopUpRuleVersionsUnderConcurrentPuts", Want: "StoredValue/TopUpRuleVersionsUnderConcurrentPuts",
		New: func() member.Store { return &mutTopUpVersionRace{Store: member.NewMemoryStore()} }},
	{Name: "PlansRevisionLostUpdate", Run: "Plans/RevisionCountsConcurrentPuts", Want: "Plans/RevisionCountsConcurrentPuts",
		New: func() member.Store { return &mutPlansRevisionLost{Store: member.NewMemoryStore()} }},
	{Name: "ProgramVersionCached", Run: "Programs/VersionFollowsPuts", Want: "Programs/VersionFollowsPuts",
		New: func() member.Store { return &mutProgramVersionCached{Store: member.NewMemoryStore()} }},
	{Name: "RefundNotJournaled", Run: "Mall/Settle/LedgerEntriesJournaled", Want: "Mall/Settle/LedgerEntriesJournaled",
		New: func() member.Store { return &mutRefundNoJournal{Store: member.NewMemoryStore()} }},
	{Name: "ChargeNotJournaled", Run: "Mall/Settle/LedgerEntriesJournaled", Want: "Mall/Settle/LedgerEntriesJournaled",
		New: func() member.Store { return &mutChargeNoJournal{Store: member.NewMemoryStore()} }},
	{Name: "CatalogVersionCheckThenAct", Run: "Mall/Catalog/ConcurrentPutsOneWins", Want: "Mall/Catalog/ConcurrentPutsOneWins",
		New: func() member.Store { return &mutCatalogCheckThenAct{Store: member.NewMemoryStore()} }},
	{Name: "StoredValueDropsSettled", Run: "StoredValue/AccountRoundTrip", Want: "StoredValue/AccountRoundTrip",
		New: func() member.Store { return &mutSVDropsSettled{Store: member.NewMemoryStore()} }},
	{Name: "StoredValueDropsWithdrawals", Run: "StoredValue/AccountRoundTrip", Want: "StoredValue/AccountRoundTrip",
		New: func() member.Store { return &mutSVDropsWithdrawals{Store: member.NewMemoryStore()} }},
	{Name: "MembershipDropsSettlement", Run: "Plans/MembershipRoundTrip", Want: "Plans/MembershipRoundTrip",
		New: func() member.Store { return &mutMembershipDropsSettlement{Store: member.NewMemoryStore()} }},
	{Name: "ExchangeDropsRewardCount", Run: "Mall/Charge/RewardRoundTrip", Want: "Mall/Charge/RewardRoundTrip",
		New: func() member.Store { return &mutExchangeDropsRewardCount{Store: member.NewMemoryStore()} }},
	{Name: "MembershipDropsBirthdayYear", Run: "Plans/MembershipRoundTrip", Want: "Plans/MembershipRoundTrip",
		New: func() member.Store { return &mutMembershipDropsBirthdayYear{Store: member.NewMemoryStore()} }},

	// Mutants the suite already caught.
	{Name: "AccountSharesSlices", Run: "Accounts/CopiesNotAliases", Want: "Accounts/CopiesNotAliases",
		New: func() member.Store { return &mutAccountCache{Store: member.NewMemoryStore()} }},
	{Name: "ErrorSavesAccount", Run: "Accounts/ErrorWritesNothing", Want: "Accounts/ErrorWritesNothing",
		New: func() member.Store { return &mutPartialWrite{Store: member.NewMemoryStore()} }},
	{Name: "UnlockedReadModifyWrite", Run: "Concurrency/SpendersNeverOverdraw", Want: "Concurrency/SpendersNeverOverdraw",
		New: func() member.Store { return &mutLostUpdate{Store: member.NewMemoryStore()} }},
	{Name: "KeyCheckThenAct", Run: "Idempotency/ConcurrentSameKeyRunsOnce", Want: "Idempotency/ConcurrentSameKeyRunsOnce",
		New: func() member.Store {
			return &mutKeyRace{Store: member.NewMemoryStore(), done: map[string]member.Outcome{}}
		}},
	{Name: "EntriesAfterInclusive", Run: "Journal/RoundTripAndPaging", Want: "Journal/RoundTripAndPaging",
		New: func() member.Store { return &mutEntriesInclusive{Store: member.NewMemoryStore()} }},
	{Name: "DueCursorTimeOnly", Run: "Due/OrderFilterAndPaging", Want: "Due/OrderFilterAndPaging",
		New: func() member.Store { return &mutDueCursor{Store: member.NewMemoryStore()} }},
	{Name: "ProgramVersionFromCaller", Run: "Programs/VersionsAndRoundTrip", Want: "Programs/VersionsAndRoundTrip",
		New: func() member.Store { return &mutProgramVersion{Store: member.NewMemoryStore()} }},
	{Name: "AccountIgnoresContext", Run: "Context", Want: "Context",
		New: func() member.Store { return &mutNoContext{Store: member.NewMemoryStore()} }},
	{Name: "CheckInsUnordered", Run: "CheckIn/Records", Want: "CheckIn/Records",
		New: func() member.Store { return &mutCheckInsUnordered{Store: member.NewMemoryStore()} }},
	{Name: "ChargeReplayAsCharged", Run: "Mall/ChargeReplay/SameKeySamePayload", Want: "Mall/ChargeReplay/SameKeySamePayload",
		New: func() member.Store {
			return &mutChargeReplay{Store: member.NewMemoryStore(), first: map[string]member.ExchangeRecord{}}
		}},
	{Name: "CompleteIgnoresAttempt", Run: "Mall/Settle/Complete", Want: "Mall/Settle/Complete",
		New: func() member.Store { return &mutComplete{Store: member.NewMemoryStore()} }},
	{Name: "ClaimIgnoresLease", Run: "Mall/Lease", Want: "Mall/Lease",
		New: func() member.Store { return &mutClaim{Store: member.NewMemoryStore()} }},
	{Name: "ExchangeByKeyAcrossTenants", Run: "Mall/Isolation", Want: "Mall/Isolation",
		New: func() member.Store { return &mutExchangeTenant{Store: member.NewMemoryStore()} }},
	{Name: "CheckInRuleVersionCached", Run: "CheckIn/Rules", Want: "CheckIn/Rules",
		New: func() member.Store { return &mutCheckInRuleVersionCached{Store: member.NewMemoryStore()} }},
	{Name: "CheckInsExclusiveTo", Run: "CheckIn/Records", Want: "CheckIn/Records",
		New: func() member.Store { return &mutCheckInsExclusiveTo{Store: member.NewMemoryStore()} }},
	{Name: "PlansRevisionCountsIDs", Run: "Plans/Plans", Want: "Plans/Plans",
		New: func() member.Store { return &mutPlansRevisionByID{Store: member.NewMemoryStore()} }},
	{Name: "PlanDueCursorTimeOnly", Run: "Plans/Due", Want: "Plans/Due",
		New: func() member.Store { return &mutPlanDueCursorTimeOnly{Store: member.NewMemoryStore()} }},
	{Name: "ExpiringCursorTimeOnly", Run: "Due/OrderFilterAndPaging", Want: "Due/OrderFilterAndPaging",
		New: func() member.Store { return &mutExpiringCursorTimeOnly{Store: member.NewMemoryStore()} }},
	{Name: "RefundIgnoresAttempt", Run: "Mall/Settle/RefundFailureWritesNothing", Want: "Mall/Settle/RefundFailureWritesNothing",
		New: func() member.Store { return &mutRefundIgnoresAttempt{Store: member.NewMemoryStore()} }},
	{Name: "RefundSavesOnError", Run: "Mall/Settle/RefundFailureWritesNothing", Want: "Mall/Settle/RefundFailureWritesNothing",
		New: func() member.Store { return &mutRefundSavesOnError{Store: member.NewMemoryStore()} }},
	{Name: "CatalogCursorInclusive", Run: "Mall/Catalog/List", Want: "Mall/Catalog/List",
		New: func() member.Store { return &mutCatalogCursorInclusive{Store: member.NewMemoryStore()} }},
	{Name: "PendingIncludesSettled", Run: "Mall/Lease/ListPending", Want: "Mall/Lease/ListPending",
		New: func() member.Store { return &mutPendingIncludesSettled{Store: member.NewMemoryStore()} }},
	{Name: "ValueEntriesAfterInclusive", Run: "StoredValue/Journal", Want: "StoredValue/Journal",
		New: func() member.Store { return &mutValueEntriesInclusive{Store: member.NewMemoryStore()} }},
	{Name: "PaymentDropsRefundSplit", Run: "StoredValue/RoundTrip", Want: "StoredValue/RoundTrip",
		New: func() member.Store { return &mutPaymentDropsRefundSplit{Store: member.NewMemoryStore()} }},
	{Name: "HoldSharesLots", Run: "Holds/CopiesNotAliases", Want: "Holds/CopiesNotAliases",
		New: func() member.Store { return &mutHoldCache{Store: member.NewMemoryStore()} }},
}

// suiteMutantsList returns the mutants for package mutants.
func suiteMutantsList() []mutants.Mutant {
	return mutants.Stores(membertest.RunStoreTests, suiteMutants)
}

// TestSuiteMutantChild runs the suite against the mutant named by mutEnv;
// it is TestSuiteMutants' child process and skips otherwise.
func TestSuiteMutantChild(t *testing.T) { mutants.Child(t, mutEnv, suiteMutantsList()) }

// TestSuiteMutants proves that the conformance suite fails every mutant.
func TestSuiteMutants(t *testing.T) {
	mutants.Spawn(t, mutEnv, "TestSuiteMutantChild", suiteMutantsList())
}

// mutCustomers remembers the customers each tenant's updates named, for
// the mutants that look records up by tenant and order only.
type mutCustomers struct {
	mu   sync.Mutex
	seen map[scrm.TenantID][]scrm.CustomerID
}

func (c *mutCustomers) others(tenant scrm.TenantID, customer scrm.CustomerID) []scrm.CustomerID {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[scrm.TenantID][]scrm.CustomerID{}
	}
	if !slices.Contains(c.seen[tenant], customer) {
		c.seen[tenant] = append(c.seen[tenant], customer)
	}
	return slices.DeleteFunc(slices.Clone(c.seen[tenant]), func(o scrm.CustomerID) bool { return o == customer })
}

// mutReplayDropsExtras persists a keyed outcome's entries and balance but
// not its Grants and HoldID, so that a replay returns neither.
type mutReplayDropsExtras struct{ member.Store }

func (m *mutReplayDropsExtras) Update(ctx context.Context, p member.UpdateParams, fn func(tx *member.LedgerTx) error) (member.Outcome, bool, error) {
	out, replayed, err := m.Store.Update(ctx, p, fn)
	if replayed {
		out.Grants, out.HoldID = nil, ""
	}
	return out, replayed, err
}

// mutSharedJournal keeps the journal entries fn left in tx.Outcome with
// an append of the structs, sharing their Lots with the caller (and returns
// a deep copy of the outcome).
type mutSharedJournal struct {
	member.Store
	mu sync.Mutex
	j  map[string][]member.Entry
}

func newMutSharedJournal() *mutSharedJournal {
	return &mutSharedJournal{Store: member.NewMemoryStore(), j: map[string][]member.Entry{}}
}

func (m *mutSharedJournal) Update(ctx context.Context, p member.UpdateParams, fn func(tx *member.LedgerTx) error) (member.Outcome, bool, error) {
	var kept []member.Entry
	out, replayed, err := m.Store.Update(ctx, p, func(tx *member.LedgerTx) error {
		err := fn(tx)
		kept = tx.Outcome.Entries
		return err
	})
	if err == nil && !replayed {
		m.mu.Lock()
		k := string(p.Tenant) + "/" + string(p.Customer)
		m.j[k] = append(m.j[k], kept...)
		m.mu.Unlock()
	}
	return out.Clone(), replayed, err
}

func (m *mutSharedJournal) Entries(ctx context.Context, p member.ListEntriesParams) (member.EntryPage, error) {
	if _, err := m.Store.Entries(ctx, p); err != nil {
		return member.EntryPage{}, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var page member.EntryPage
	for _, e := range m.j[string(p.Tenant)+"/"+string(p.Customer)] {
		if e.Seq <= p.After {
			continue
		}
		if len(page.Entries) == limit {
			page.Next = page.Entries[limit-1].Seq
			break
		}
		e.Lots = slices.Clone(e.Lots)
		page.Entries = append(page.Entries, e)
	}
	return page, nil
}

// mutCrossCustomer keys order, payment and saving records by tenant and
// order only when an update loads them: an update of one customer is
// handed another customer's record of the same order ID.
type mutCrossCustomer struct {
	member.Store
	cs mutCustomers
}

func newMutCrossCustomer() *mutCrossCustomer {
	return &mutCrossCustomer{Store: member.NewMemoryStore()}
}

func (m *mutCrossCustomer) Update(ctx context.Context, p member.UpdateParams, fn func(tx *member.LedgerTx) error) (member.Outcome, bool, error) {
	var other *member.OrderRecord
	for _, c := range m.cs.others(p.Tenant, p.Customer) {
		if o, err := m.Store.Order(ctx, p.Tenant, c, p.OrderID); p.OrderID != "" && err == nil {
			other = &o
			break
		}
	}
	return m.Store.Update(ctx, p, func(tx *member.LedgerTx) error {
		if tx.Order == nil && other != nil {
			o := other.Clone()
			tx.Order = &o
		}
		return fn(tx)
	})
}

func (m *mutCrossCustomer) UpdateStoredValue(ctx context.Context, p member.ValueParams, fn func(tx *member.ValueTx) error) (member.ValueOutcome, bool, error) {
	var other *member.ValuePayment
	for _, c := range m.cs.others(p.Tenant, p.Customer) {
		if v, err := m.Store.ValuePayment(ctx, p.Tenant, c, p.OrderID); p.OrderID != "" && err == nil {
			other = &v
			break
		}
	}
	return m.Store.UpdateStoredValue(ctx, p, func(tx *member.ValueTx) error {
		if tx.Payment == nil && other != nil {
			v := *other
			tx.Payment = &v
		}
		return fn(tx)
	})
}

func (m *mutCrossCustomer) UpdateMembership(ctx context.Context, p member.MembershipParams, fn func(tx *member.MembershipTx) error) (member.MembershipOutcome, bool, error) {
	var other *member.SavingRecord
	for _, c := range m.cs.others(p.Tenant, p.Customer) {
		if v, err := m.Store.Saving(ctx, p.Tenant, c, p.OrderID); p.OrderID != "" && err == nil {
			other = &v
			break
		}
	}
	return m.Store.UpdateMembership(ctx, p, func(tx *member.MembershipTx) error {
		if tx.Saving == nil && other != nil {
			v := *other
			tx.Saving = &v
		}
		return fn(tx)
	})
}

// mutCrossTenant keys holds by ID and orders by customer and ID across
// tenants when an update loads them: an update is handed another tenant's
// hold or order of the same ID.
type mutCrossTenant struct {
	member.Store
	mu      sync.Mutex
	tenants []scrm.TenantID
}

func (m *mutCrossTenant) Update(ctx context.Context, p member.UpdateParams, fn func(tx *member.LedgerTx) error) (member.Outcome, bool, error) {
	m.mu.Lock()
	if !slices.Contains(m.tenants, p.Tenant) {
		m.tenants = append(m.tenants, p.Tenant)
	}
	ts := slices.Clone(m.tenants)
	m.mu.Unlock()
	var hold *member.HoldRecord
	var order *member.OrderRecord
	for _, t := range ts {
		if t == p.Tenant {
			continue
		}
		if h, err := m.Store.Hold(ctx, t, p.HoldID); p.HoldID != "" && err == nil && hold == nil {
			hold = &h
		}
		if o, err := m.Store.Order(ctx, t, p.Customer, p.OrderID); p.OrderID != "" && err == nil && order == nil {
			order = &o
		}
	}
	return m.Store.Update(ctx, p, func(tx *member.LedgerTx) error {
		if tx.Hold == nil && hold != nil {
			h := hold.Clone()
			tx.Hold = &h
		}
		if tx.Order == nil && order != nil {
			o := order.Clone()
			tx.Order = &o
		}
		return fn(tx)
	})
}

// mutSVRenumber numbers the stored-value entries itself, after the last
// saved one, instead of refusing entries that do not continue the journal.
type mutSVRenumber struct{ member.Store }

func (m *mutSVRenumber) UpdateStoredValue(ctx context.Context, p member.ValueParams, fn func(tx *member.ValueTx) error) (member.ValueOutcome, bool, error) {
	return m.Store.UpdateStoredValue(ctx, p, func(tx *member.ValueTx) error {
		last := tx.Account.Seq
		if err := fn(tx); err != nil {
			return err
		}
		for i := range tx.Outcome.Entries {
			tx.Outcome.Entries[i].Seq = last + int64(i) + 1
		}
		tx.Account.Seq = max(tx.Account.Seq, last+int64(len(tx.Outcome.Entries)))
		return nil
	})
}

// mutSVPrincipal checks that the bonus is not negative but lets a negative
// principal through (stored as zero: the memory store cannot hold it).
type mutSVPrincipal struct{ member.Store }

func (m *mutSVPrincipal) UpdateStoredValue(ctx context.Context, p member.ValueParams, fn func(tx *member.ValueTx) error) (member.ValueOutcome, bool, error) {
	return m.Store.UpdateStoredValue(ctx, p, func(tx *member.ValueTx) error {
		if err := fn(tx); err != nil {
			return err
		}
		tx.Account.Principal = max(tx.Account.Principal, 0)
		return nil
	})
}

// mutExchangesByKey lists a customer's exchanges by key, descending, with
// the last key as the cursor, instead of newest first.
type mutExchangesByKey struct{ member.Store }

func (m *mutExchangesByKey) ListExchanges(ctx context.Context, p member.ListExchangesParams) (member.ExchangePage, error) {
	after, ok := strings.CutPrefix(p.Cursor, "key:")
	if p.Cursor != "" && !ok {
		return member.ExchangePage{}, scrm.Invalid("mutant", "Cursor", "malformed")
	}
	var all []member.ExchangeRecord
	cursor := ""
	for {
		page, err := m.Store.ListExchanges(ctx, member.ListExchangesParams{Tenant: p.Tenant, Customer: p.Customer, Cursor: cursor, Limit: 1000})
		if err != nil {
			return member.ExchangePage{}, err
		}
		all = append(all, page.Exchanges...)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	slices.SortFunc(all, func(a, b member.ExchangeRecord) int { return cmp.Compare(b.Key, a.Key) })
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var page member.ExchangePage
	for _, r := range all {
		if p.Cursor != "" && r.Key >= after {
			continue
		}
		if len(page.Exchanges) == limit {
			page.Next = "key:" + page.Exchanges[limit-1].Key
			break
		}
		page.Exchanges = append(page.Exchanges, r)
	}
	return page, nil
}

// mutHoldID checks the customer of the hold fn left but not its ID: the
// hold is saved under the params' HoldID.
type mutHoldID struct{ member.Store }

func (m *mutHoldID) Update(ctx context.Context, p member.UpdateParams, fn func(tx *member.LedgerTx) error) (member.Outcome, bool, error) {
	return m.Store.Update(ctx, p, func(tx *member.LedgerTx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if tx.Hold != nil && p.HoldID != "" {
			tx.Hold.ID = p.HoldID
		}
		return nil
	})
}

// mutAccountCache serves Account from a read cache that is copied
// shallowly: the caller shares the cached Lots, Rolling and maps.
type mutAccountCache struct {
	member.Store
	mu    sync.Mutex
	cache map[string]*member.AccountState
}

func (m *mutAccountCache) Account(ctx context.Context, tenant scrm.TenantID, c scrm.CustomerID) (member.AccountState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := string(tenant) + "/" + string(c)
	if a, ok := m.cache[k]; ok && ctx.Err() == nil {
		return *a, nil
	}
	a, err := m.Store.Account(ctx, tenant, c)
	if err != nil {
		return a, err
	}
	if m.cache == nil {
		m.cache = map[string]*member.AccountState{}
	}
	m.cache[k] = &a
	return a, nil
}

func (m *mutAccountCache) Update(ctx context.Context, p member.UpdateParams, fn func(tx *member.LedgerTx) error) (member.Outcome, bool, error) {
	m.mu.Lock()
	delete(m.cache, string(p.Tenant)+"/"+string(p.Customer))
	m.mu.Unlock()
	return m.Store.Update(ctx, p, fn)
}

// mutPartialWrite saves the account fn changed even when fn fails (the
// order, hold and entries are dropped).
type mutPartialWrite struct{ member.Store }

func (m *mutPartialWrite) Update(ctx context.Context, p member.UpdateParams, fn func(tx *member.LedgerTx) error) (member.Outcome, bool, error) {
	var fnErr error
	out, replayed, err := m.Store.Update(ctx, p, func(tx *member.LedgerTx) error {
		if fnErr = fn(tx); fnErr != nil {
			tx.Order, tx.Hold, tx.Outcome = nil, nil, member.Outcome{}
		}
		return nil
	})
	if err == nil && fnErr != nil {
		return member.Outcome{}, false, fnErr
	}
	return out, replayed, err
}

// mutLostUpdate computes the change on an account read without the lock,
// then saves the result over whatever is stored.
type mutLostUpdate struct{ member.Store }

func (m *mutLostUpdate) Update(ctx context.Context, p member.UpdateParams, fn func(tx *member.LedgerTx) error) (member.Outcome, bool, error) {
	read, err := m.Store.Account(ctx, p.Tenant, p.Customer)
	if err != nil && !errors.Is(err, scrm.ErrNotFound) {
		return member.Outcome{}, false, err
	}
	runtime.Gosched()
	return m.Store.Update(ctx, p, func(tx *member.LedgerTx) error {
		if read.Version != 0 {
			v := tx.Account.Version
			*tx.Account = *read.Clone()
			tx.Account.Version = v
		}
		return fn(tx)
	})
}

// mutKeyRace looks the key up, then runs the update without it and records
// the outcome: two concurrent requests with one new key both run.
type mutKeyRace struct {
	member.Store
	mu   sync.Mutex
	done map[string]member.Outcome
}

func (m *mutKeyRace) Update(ctx context.Context, p member.UpdateParams, fn func(tx *member.LedgerTx) error) (member.Outcome, bool, error) {
	if p.IdempotencyKey == "" {
		return m.Store.Update(ctx, p, fn)
	}
	k := string(p.Tenant) + "/" + p.IdempotencyKey
	m.mu.Lock()
	out, ok := m.done[k]
	m.mu.Unlock()
	if ok {
		return out.Clone(), true, nil
	}
	out, _, err := m.Store.Update(ctx, p, fn)
	if err == nil {
		m.mu.Lock()
		m.done[k] = out.Clone()
		m.mu.Unlock()
	}
	return out, false, err
}

// mutEntriesInclusive pages the journal from After included, so that each
// page repeats the last entry of the one before.
type mutEntriesInclusive struct{ member.Store }

func (m *mutEntriesInclusive) Entries(ctx context.Context, p member.ListEntriesParams) (member.EntryPage, error) {
	if p.After > 0 {
		p.After--
	}
	return m.Store.Entries(ctx, p)
}

// mutDueCursor pages ListDue with the last DueAt as the cursor, skipping
// the accounts due at the same time after a page boundary.
type mutDueCursor struct{ member.Store }

func (m *mutDueCursor) ListDue(ctx context.Context, p member.ListDueParams) (member.DuePage, error) {
	var after time.Time
	if p.Cursor != "" {
		var err error
		if after, err = time.Parse(time.RFC3339Nano, p.Cursor); err != nil {
			return member.DuePage{}, scrm.Invalid("mutant", "Cursor", "malformed")
		}
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	all, err := m.Store.ListDue(ctx, member.ListDueParams{Tenant: p.Tenant, Before: p.Before, Limit: 1000})
	if err != nil {
		return member.DuePage{}, err
	}
	var page member.DuePage
	for _, a := range all.Accounts {
		if p.Cursor != "" && !a.At.After(after) {
			continue
		}
		if len(page.Accounts) == limit {
			page.Next = page.Accounts[limit-1].At.Format(time.RFC3339Nano)
			break
		}
		page.Accounts = append(page.Accounts, a)
	}
	return page, nil
}

// mutProgramVersion keeps a version the caller gave.
type mutProgramVersion struct{ member.Store }

func (m *mutProgramVersion) PutProgram(ctx context.Context, p member.Program) (member.Program, error) {
	v := p.Version
	got, err := m.Store.PutProgram(ctx, p)
	if err == nil && v != 0 {
		got.Version = v
	}
	return got, err
}

// mutNoContext reads accounts whatever the context.
type mutNoContext struct{ member.Store }

func (m *mutNoContext) Account(_ context.Context, tenant scrm.TenantID, c scrm.CustomerID) (member.AccountState, error) {
	return m.Store.Account(context.Background(), tenant, c)
}

// mutCheckInsUnordered lists check-ins newest first.
type mutCheckInsUnordered struct{ member.Store }

func (m *mutCheckInsUnordered) CheckIns(ctx context.Context, p member.ListCheckInsParams) ([]member.CheckInRecord, error) {
	recs, err := m.Store.CheckIns(ctx, p)
	slices.Reverse(recs)
	return recs, err
}

// mutChargeReplay returns the exchange as first charged on a replay.
type mutChargeReplay struct {
	member.Store
	mu    sync.Mutex
	first map[string]member.ExchangeRecord
}

func (m *mutChargeReplay) ChargeExchange(ctx context.Context, p member.ChargeExchangeParams, fn func(tx *member.ExchangeTx) error) (member.ChargeExchangeResult, error) {
	res, err := m.Store.ChargeExchange(ctx, p, fn)
	if err != nil {
		return res, err
	}
	k := string(p.Tenant) + "/" + p.Key
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.first[k]; ok && res.Replayed {
		res.Exchange = r.Clone()
	} else if !res.Replayed {
		m.first[k] = res.Exchange.Clone()
	}
	return res, nil
}

// mutComplete completes an exchange whatever the attempt.
type mutComplete struct{ member.Store }

func (m *mutComplete) CompleteExchange(ctx context.Context, p member.SettleExchangeParams) (member.ExchangeRecord, error) {
	if r, err := m.Store.ExchangeByKey(ctx, p.Tenant, p.Key); err == nil {
		p.Attempt = r.Attempt
	}
	return m.Store.CompleteExchange(ctx, p)
}

// mutClaim takes an exchange over whether its lease ran out or not.
type mutClaim struct{ member.Store }

func (m *mutClaim) ClaimExchange(ctx context.Context, p member.ClaimExchangeParams) (member.ExchangeRecord, error) {
	if r, err := m.Store.ExchangeByKey(ctx, p.Tenant, p.Key); err == nil && r.LeaseUntil.After(p.Now) {
		p.Now = r.LeaseUntil
	}
	return m.Store.ClaimExchange(ctx, p)
}

// mutExchangeTenant finds an exchange by key in any tenant it was charged
// in.
type mutExchangeTenant struct {
	member.Store
	mu      sync.Mutex
	tenants []scrm.TenantID
}

func (m *mutExchangeTenant) ChargeExchange(ctx context.Context, p member.ChargeExchangeParams, fn func(tx *member.ExchangeTx) error) (member.ChargeExchangeResult, error) {
	m.mu.Lock()
	if !slices.Contains(m.tenants, p.Tenant) {
		m.tenants = append(m.tenants, p.Tenant)
	}
	m.mu.Unlock()
	return m.Store.ChargeExchange(ctx, p, fn)
}

func (m *mutExchangeTenant) ExchangeByKey(ctx context.Context, tenant scrm.TenantID, key string) (member.ExchangeRecord, error) {
	r, err := m.Store.ExchangeByKey(ctx, tenant, key)
	if !errors.Is(err, scrm.ErrNotFound) {
		return r, err
	}
	m.mu.Lock()
	ts := slices.Clone(m.tenants)
	m.mu.Unlock()
	for _, t := range ts {
		if r, err2 := m.Store.ExchangeByKey(ctx, t, key); err2 == nil {
			return r, nil
		}
	}
	return r, fmt.Errorf("mutant: %w", err)
}
