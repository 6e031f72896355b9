package member_test

// More mutants of the conformance suite (see suitemutants_test.go, whose
// suiteMutants lists them): check-ins, the mall's refunds and catalog,
// stored value, paid plans and the versioned rules.

import (
	"context"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// mutCheckInKeyRace looks a make-up's key up, then records the check-in
// without it and remembers the key: two concurrent requests with one new
// key both run fn, and the second conflicts with the date the first took.
type mutCheckInKeyRace struct {
	member.Store
	mu   sync.Mutex
	done map[string]mutCheckInKey
}

type mutCheckInKey struct {
	customer scrm.CustomerID
	fp       string
	rec      member.CheckInRecord
}

func newMutCheckInKeyRace() *mutCheckInKeyRace {
	return &mutCheckInKeyRace{Store: member.NewMemoryStore(), done: map[string]mutCheckInKey{}}
}

func (m *mutCheckInKeyRace) UpdateCheckIn(ctx context.Context, p member.CheckInParams, fn func(tx *member.CheckInTx) error) (member.CheckInRecord, bool, error) {
	if p.IdempotencyKey == "" {
		return m.Store.UpdateCheckIn(ctx, p, fn)
	}
	k := string(p.Tenant) + "/" + p.IdempotencyKey
	m.mu.Lock()
	r, ok := m.done[k]
	m.mu.Unlock()
	if ok {
		if r.customer != p.Customer || r.fp != p.Fingerprint {
			return member.CheckInRecord{}, false, scrm.Errorf(scrm.ErrConflict, "mutant", "key %q reused", p.IdempotencyKey)
		}
		return r.rec.Clone(), true, nil
	}
	runtime.Gosched()
	q := p
	q.IdempotencyKey, q.Fingerprint = "", ""
	rec, _, err := m.Store.UpdateCheckIn(ctx, q, fn)
	if err == nil {
		m.mu.Lock()
		m.done[k] = mutCheckInKey{customer: p.Customer, fp: p.Fingerprint, rec: rec.Clone()}
		m.mu.Unlock()
	}
	return rec, false, err
}

// mutCheckInStateDropsMakeUps saves the check-in state without its make-up
// month and count (a schema without those columns): the monthly limit of
// make-ups is never reached.
type mutCheckInStateDropsMakeUps struct{ member.Store }

func (m *mutCheckInStateDropsMakeUps) UpdateCheckIn(ctx context.Context, p member.CheckInParams, fn func(tx *member.CheckInTx) error) (member.CheckInRecord, bool, error) {
	return m.Store.UpdateCheckIn(ctx, p, func(tx *member.CheckInTx) error {
		if err := fn(tx); err != nil {
			return err
		}
		tx.State.MakeUpMonth, tx.State.MakeUps = 0, 0
		return nil
	})
}

// mutRuleVersionRace numbers a check-in rule from the newest version it
// read before the write: concurrent puts are told the same version.
type mutRuleVersionRace struct {
	member.Store
	ov mutants.Overlap // widens the read-to-write window
}

func (m *mutRuleVersionRace) PutCheckInRule(ctx context.Context, r member.CheckInRule) (member.CheckInRule, error) {
	v, err := m.Store.CheckInRuleVersion(ctx, r.Tenant)
	if err != nil {
		return member.CheckInRule{}, err
	}
	m.ov.Wait() // the round trip between the read and the write
	got, err := m.Store.PutCheckInRule(ctx, r)
	if err == nil {
		got.Version = v + 1
	}
	return got, err
}

// mutTopUpVersionRace numbers a top-up rule from the newest version it read
// before the write.
type mutTopUpVersionRace struct {
	member.Store
	ov mutants.Overlap // widens the read-to-write window
}

func (m *mutTopUpVersionRace) PutTopUpRule(ctx context.Context, r member.TopUpRule) (member.TopUpRule, error) {
	var v int64
	if cur, err := m.Store.TopUpRule(ctx, r.Tenant, 0); err == nil {
		v = cur.Version
	}
	m.ov.Wait()
	got, err := m.Store.PutTopUpRule(ctx, r)
	if err == nil {
		got.Version = v + 1
	}
	return got, err
}

// mutPlansRevisionLost keeps PlansRevision in a counter of its own that a
// put reads, then writes back one more: concurrent puts lose increments.
type mutPlansRevisionLost struct {
	ov mutants.Overlap // widens the read-to-write window
	member.Store
	mu  sync.Mutex
	rev map[scrm.TenantID]int64
}

func (m *mutPlansRevisionLost) PutPlan(ctx context.Context, p member.Plan) (member.Plan, error) {
	m.mu.Lock()
	r := m.rev[p.Tenant]
	m.mu.Unlock()
	got, err := m.Store.PutPlan(ctx, p)
	m.ov.Wait()
	if err == nil {
		m.mu.Lock()
		if m.rev == nil {
			m.rev = map[scrm.TenantID]int64{}
		}
		m.rev[p.Tenant] = r + 1
		m.mu.Unlock()
	}
	return got, err
}

func (m *mutPlansRevisionLost) PlansRevision(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	if _, err := m.Store.PlansRevision(ctx, tenant); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev[tenant], nil
}

// mutPlansRevisionByID counts the tenant's plans instead of its puts.
type mutPlansRevisionByID struct{ member.Store }

func (m *mutPlansRevisionByID) PlansRevision(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	all, err := m.Store.Plans(ctx, tenant)
	if err != nil {
		return 0, err
	}
	ids := map[string]bool{}
	for _, p := range all {
		ids[p.ID] = true
	}
	return int64(len(ids)), nil
}

// mutProgramVersionCached answers ProgramVersion from a cache filled by
// the first call and never refreshed.
type mutProgramVersionCached struct {
	member.Store
	mu sync.Mutex
	vs map[scrm.TenantID]int64
}

func (m *mutProgramVersionCached) ProgramVersion(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	if err := ctx.Err(); err != nil {
		return m.Store.ProgramVersion(ctx, tenant)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.vs[tenant]; ok {
		return v, nil
	}
	v, err := m.Store.ProgramVersion(ctx, tenant)
	if err == nil {
		if m.vs == nil {
			m.vs = map[scrm.TenantID]int64{}
		}
		m.vs[tenant] = v
	}
	return v, err
}

// mutCheckInRuleVersionCached answers CheckInRuleVersion from a cache
// filled by the first call and never refreshed.
type mutCheckInRuleVersionCached struct {
	member.Store
	mu sync.Mutex
	vs map[scrm.TenantID]int64
}

func (m *mutCheckInRuleVersionCached) CheckInRuleVersion(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	if err := ctx.Err(); err != nil {
		return m.Store.CheckInRuleVersion(ctx, tenant)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.vs[tenant]; ok {
		return v, nil
	}
	v, err := m.Store.CheckInRuleVersion(ctx, tenant)
	if err == nil {
		if m.vs == nil {
			m.vs = map[scrm.TenantID]int64{}
		}
		m.vs[tenant] = v
	}
	return v, err
}

// mutRefundNoJournal saves a refund's account but not its ledger entries
// to the journal (it still returns them).
type mutRefundNoJournal struct{ member.Store }

func (m *mutRefundNoJournal) RefundExchange(ctx context.Context, p member.SettleExchangeParams, fn func(tx *member.ExchangeTx) error) (member.RefundExchangeResult, error) {
	var kept []member.Entry
	res, err := m.Store.RefundExchange(ctx, p, func(tx *member.ExchangeTx) error {
		if err := fn(tx); err != nil {
			return err
		}
		kept = slices.Clone(tx.Ledger.Outcome.Entries)
		tx.Ledger.Outcome.Entries = nil
		return nil
	})
	if err == nil && res.Changed {
		res.Outcome.Entries = kept
	}
	return res, err
}

// mutChargeNoJournal saves a charge's account but not its ledger entries
// to the journal (it still returns them).
type mutChargeNoJournal struct{ member.Store }

func (m *mutChargeNoJournal) ChargeExchange(ctx context.Context, p member.ChargeExchangeParams, fn func(tx *member.ExchangeTx) error) (member.ChargeExchangeResult, error) {
	var kept []member.Entry
	res, err := m.Store.ChargeExchange(ctx, p, func(tx *member.ExchangeTx) error {
		if err := fn(tx); err != nil {
			return err
		}
		kept = slices.Clone(tx.Ledger.Outcome.Entries)
		tx.Ledger.Outcome.Entries = nil
		return nil
	})
	if err == nil && !res.Replayed {
		res.Outcome.Entries = kept
	}
	return res, err
}

// mutRefundIgnoresAttempt refunds an exchange whatever the attempt.
type mutRefundIgnoresAttempt struct{ member.Store }

func (m *mutRefundIgnoresAttempt) RefundExchange(ctx context.Context, p member.SettleExchangeParams, fn func(tx *member.ExchangeTx) error) (member.RefundExchangeResult, error) {
	if r, err := m.Store.ExchangeByKey(ctx, p.Tenant, p.Key); err == nil {
		p.Attempt = r.Attempt
	}
	return m.Store.RefundExchange(ctx, p, fn)
}

// mutRefundSavesOnError saves the refund fn made even when fn fails.
type mutRefundSavesOnError struct{ member.Store }

func (m *mutRefundSavesOnError) RefundExchange(ctx context.Context, p member.SettleExchangeParams, fn func(tx *member.ExchangeTx) error) (member.RefundExchangeResult, error) {
	var fnErr error
	res, err := m.Store.RefundExchange(ctx, p, func(tx *member.ExchangeTx) error {
		fnErr = fn(tx)
		return nil
	})
	if err == nil && fnErr != nil {
		return member.RefundExchangeResult{}, fnErr
	}
	return res, err
}

// mutCatalogCheckThenAct checks an item's version, then writes it over
// whatever is stored by then (an UPDATE without the version in its WHERE).
type mutCatalogCheckThenAct struct {
	member.Store
	ov mutants.Overlap // widens the read-to-write window
}

func (m *mutCatalogCheckThenAct) PutCatalogItem(ctx context.Context, it member.CatalogItem) (member.CatalogItem, error) {
	var v int64
	if cur, err := m.Store.CatalogItem(ctx, it.Tenant, it.ID); err == nil {
		v = cur.Version
	}
	if it.Version != v {
		return member.CatalogItem{}, scrm.Errorf(scrm.ErrConflict, "mutant", "version %d, stored %d", it.Version, v)
	}
	m.ov.Wait()
	for range 100 {
		if cur, err := m.Store.CatalogItem(ctx, it.Tenant, it.ID); err == nil {
			it.Version = cur.Version
		}
		got, err := m.Store.PutCatalogItem(ctx, it)
		if err == nil || it.Tenant == "" || it.ID == "" || ctx.Err() != nil {
			return got, err
		}
	}
	return member.CatalogItem{}, scrm.Errorf(scrm.ErrUnavailable, "mutant", "busy")
}

// mutCatalogCursorInclusive pages the catalog from the cursor's item
// included, repeating the last item of each page.
type mutCatalogCursorInclusive struct{ member.Store }

func (m *mutCatalogCursorInclusive) ListCatalog(ctx context.Context, p member.ListCatalogParams) (member.CatalogPage, error) {
	if p.Cursor == "" {
		return m.Store.ListCatalog(ctx, p)
	}
	all, err := m.Store.ListCatalog(ctx, member.ListCatalogParams{Tenant: p.Tenant, Limit: 1000})
	if err != nil {
		return member.CatalogPage{}, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var page member.CatalogPage
	for _, it := range all.Items {
		if it.ID < p.Cursor {
			continue
		}
		if len(page.Items) == limit {
			page.Next = page.Items[limit-1].ID
			break
		}
		page.Items = append(page.Items, it)
	}
	return page, nil
}

// mutPendingIncludesSettled lists every exchange whose lease ran out,
// done and refunded ones included.
type mutPendingIncludesSettled struct {
	member.Store
	mu   sync.Mutex
	keys map[scrm.TenantID][]string
}

func (m *mutPendingIncludesSettled) ChargeExchange(ctx context.Context, p member.ChargeExchangeParams, fn func(tx *member.ExchangeTx) error) (member.ChargeExchangeResult, error) {
	res, err := m.Store.ChargeExchange(ctx, p, fn)
	if err == nil && !res.Replayed {
		m.mu.Lock()
		if m.keys == nil {
			m.keys = map[scrm.TenantID][]string{}
		}
		m.keys[p.Tenant] = append(m.keys[p.Tenant], p.Key)
		m.mu.Unlock()
	}
	return res, err
}

func (m *mutPendingIncludesSettled) ListPendingExchanges(ctx context.Context, p member.ListPendingExchangesParams) ([]member.ExchangeRecord, error) {
	if _, err := m.Store.ListPendingExchanges(ctx, p); err != nil {
		return nil, err
	}
	m.mu.Lock()
	keys := slices.Clone(m.keys[p.Tenant])
	m.mu.Unlock()
	var out []member.ExchangeRecord
	for _, k := range keys {
		if r, err := m.Store.ExchangeByKey(ctx, p.Tenant, k); err == nil && !r.LeaseUntil.After(p.Before) {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].LeaseUntil.Equal(out[j].LeaseUntil) {
			return out[i].LeaseUntil.Before(out[j].LeaseUntil)
		}
		return out[i].Key < out[j].Key
	})
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// mutSVDropsSettled saves a stored-value account without the cycle's
// settled amounts (a schema predating them).
type mutSVDropsSettled struct{ member.Store }

func (m *mutSVDropsSettled) UpdateStoredValue(ctx context.Context, p member.ValueParams, fn func(tx *member.ValueTx) error) (member.ValueOutcome, bool, error) {
	return m.Store.UpdateStoredValue(ctx, p, func(tx *member.ValueTx) error {
		if err := fn(tx); err != nil {
			return err
		}
		tx.Account.Cycle.SettledPrincipal, tx.Account.Cycle.SettledBonus = 0, 0
		return nil
	})
}

// mutSVDropsWithdrawals saves a stored-value account without its
// withdrawal counters.
type mutSVDropsWithdrawals struct{ member.Store }

func (m *mutSVDropsWithdrawals) UpdateStoredValue(ctx context.Context, p member.ValueParams, fn func(tx *member.ValueTx) error) (member.ValueOutcome, bool, error) {
	return m.Store.UpdateStoredValue(ctx, p, func(tx *member.ValueTx) error {
		if err := fn(tx); err != nil {
			return err
		}
		a := tx.Account
		a.Withdrawals, a.Withdrawn, a.Kept, a.Forfeited = 0, 0, 0, 0
		return nil
	})
}

// mutValueEntriesInclusive pages the stored-value journal from After
// included.
type mutValueEntriesInclusive struct{ member.Store }

func (m *mutValueEntriesInclusive) ValueEntries(ctx context.Context, p member.ListEntriesParams) (member.ValueEntryPage, error) {
	if p.After > 0 {
		p.After--
	}
	return m.Store.ValueEntries(ctx, p)
}

// mutPaymentDropsRefundSplit keeps a payment's refunded total but not how
// it went back to the principal and the bonus.
type mutPaymentDropsRefundSplit struct{ member.Store }

func (m *mutPaymentDropsRefundSplit) ValuePayment(ctx context.Context, tenant scrm.TenantID, c scrm.CustomerID, order string) (member.ValuePayment, error) {
	v, err := m.Store.ValuePayment(ctx, tenant, c, order)
	v.RefundedPrincipal, v.RefundedBonus = 0, 0
	return v, err
}

// mutMembershipDropsSettlement saves memberships without their terms'
// break-even settlement (Settled, Settlement).
type mutMembershipDropsSettlement struct{ member.Store }

func (m *mutMembershipDropsSettlement) UpdateMembership(ctx context.Context, p member.MembershipParams, fn func(tx *member.MembershipTx) error) (member.MembershipOutcome, bool, error) {
	return m.Store.UpdateMembership(ctx, p, func(tx *member.MembershipTx) error {
		if err := fn(tx); err != nil {
			return err
		}
		for i := range tx.State.Terms {
			tx.State.Terms[i].Settled, tx.State.Terms[i].Settlement = false, 0
		}
		return nil
	})
}

// mutMembershipDropsBirthdayYear saves memberships without the year of the
// last birthday reward.
type mutMembershipDropsBirthdayYear struct{ member.Store }

func (m *mutMembershipDropsBirthdayYear) UpdateMembership(ctx context.Context, p member.MembershipParams, fn func(tx *member.MembershipTx) error) (member.MembershipOutcome, bool, error) {
	return m.Store.UpdateMembership(ctx, p, func(tx *member.MembershipTx) error {
		if err := fn(tx); err != nil {
			return err
		}
		tx.State.BirthdayYear = 0
		return nil
	})
}

// mutPlanDueCursorTimeOnly pages ListPlanDue with the last DueAt as the
// cursor, skipping the memberships due at the same time after a page
// boundary.
type mutPlanDueCursorTimeOnly struct{ member.Store }

func (m *mutPlanDueCursorTimeOnly) ListPlanDue(ctx context.Context, p member.ListDueParams) (member.DuePage, error) {
	return mutTimeCursor(p, func(q member.ListDueParams) (member.DuePage, error) { return m.Store.ListPlanDue(ctx, q) })
}

// mutExpiringCursorTimeOnly pages ListExpiring with the last NextExpiry as
// the cursor.
type mutExpiringCursorTimeOnly struct{ member.Store }

func (m *mutExpiringCursorTimeOnly) ListExpiring(ctx context.Context, p member.ListDueParams) (member.DuePage, error) {
	return mutTimeCursor(p, func(q member.ListDueParams) (member.DuePage, error) { return m.Store.ListExpiring(ctx, q) })
}

// mutTimeCursor pages what list lists with the last time as the cursor.
func mutTimeCursor(p member.ListDueParams, list func(member.ListDueParams) (member.DuePage, error)) (member.DuePage, error) {
	var after time.Time
	if c, ok := strings.CutPrefix(p.Cursor, "at:"); ok {
		var err error
		if after, err = time.Parse(time.RFC3339Nano, c); err != nil {
			return member.DuePage{}, scrm.Invalid("mutant", "Cursor", "malformed")
		}
	} else if p.Cursor != "" {
		return member.DuePage{}, scrm.Invalid("mutant", "Cursor", "malformed")
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	all, err := list(member.ListDueParams{Tenant: p.Tenant, Before: p.Before, Limit: 1000})
	if err != nil {
		return member.DuePage{}, err
	}
	var page member.DuePage
	for _, a := range all.Accounts {
		if p.Cursor != "" && !a.At.After(after) {
			continue
		}
		if len(page.Accounts) == limit {
			page.Next = "at:" + page.Accounts[limit-1].At.Format(time.RFC3339Nano)
			break
		}
		page.Accounts = append(page.Accounts, a)
	}
	return page, nil
}

// mutHoldCache serves Hold from a read cache copied shallowly: the caller
// shares the cached Lots.
type mutHoldCache struct {
	member.Store
	mu    sync.Mutex
	cache map[string]*member.HoldRecord
}

func (m *mutHoldCache) Hold(ctx context.Context, tenant scrm.TenantID, id string) (member.HoldRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := string(tenant) + "/" + id
	if h, ok := m.cache[k]; ok && ctx.Err() == nil {
		return *h, nil
	}
	h, err := m.Store.Hold(ctx, tenant, id)
	if err != nil {
		return h, err
	}
	if m.cache == nil {
		m.cache = map[string]*member.HoldRecord{}
	}
	m.cache[k] = &h
	return h, nil
}

func (m *mutHoldCache) Update(ctx context.Context, p member.UpdateParams, fn func(tx *member.LedgerTx) error) (member.Outcome, bool, error) {
	m.mu.Lock()
	delete(m.cache, string(p.Tenant)+"/"+p.HoldID)
	m.mu.Unlock()
	return m.Store.Update(ctx, p, fn)
}

// mutCheckInsExclusiveTo lists check-ins up to To excluded.
type mutCheckInsExclusiveTo struct{ member.Store }

func (m *mutCheckInsExclusiveTo) CheckIns(ctx context.Context, p member.ListCheckInsParams) ([]member.CheckInRecord, error) {
	recs, err := m.Store.CheckIns(ctx, p)
	return slices.DeleteFunc(recs, func(r member.CheckInRecord) bool { return r.Date == p.To }), err
}

// mutExchangeDropsRewardCount saves an exchange record without its
// reward's count (a schema with the reward's other columns only).
type mutExchangeDropsRewardCount struct{ member.Store }

func (m *mutExchangeDropsRewardCount) ChargeExchange(ctx context.Context, p member.ChargeExchangeParams, fn func(tx *member.ExchangeTx) error) (member.ChargeExchangeResult, error) {
	return m.Store.ChargeExchange(ctx, p, func(tx *member.ExchangeTx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if tx.Exchange != nil {
			tx.Exchange.Reward.Count = 0
		}
		return nil
	})
}
