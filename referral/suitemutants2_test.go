package referral_test

// More mutants of the conformance suite (see suitemutants_test.go): the
// money ledger, lucky draws, bargains, group-buy teams and codes.

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

var rmMutants2 = []mutants.Store[referral.Store]{
	// Gaps the suite had: each has its own conformance case now.
	{Name: "QualifyRanksAcrossPrograms", Run: "Qualifications/RanksArePerInviterProgramAndTenant", Want: "Qualifications/RanksArePerInviterProgramAndTenant",
		New: func() referral.Store { return &rmRankAcross{Store: referral.NewMemoryStore()} }},
	{Name: "QualifyRanksAcrossTenants", Run: "Qualifications/RanksArePerInviterProgramAndTenant", Want: "Qualifications/RanksArePerInviterProgramAndTenant",
		New: func() referral.Store { return &rmRankAcross{Store: referral.NewMemoryStore(), tenants: true} }},
	{Name: "AddEntriesIDsAcrossTenants", Run: "Entries/TenantsAreIsolated", Want: "Entries/TenantsAreIsolated",
		New: func() referral.Store { return &rmEntryIDsAcrossTenants{Store: referral.NewMemoryStore()} }},
	{Name: "ReverseOrderAcrossTenants", Run: "Entries/TenantsAreIsolated", Want: "Entries/TenantsAreIsolated",
		New: func() referral.Store { return &rmReverseAcrossTenants{Store: referral.NewMemoryStore()} }},
	{Name: "StatsSettlingAsSettled", Run: "Stats/MoneyByEntryStatus", Want: "Stats/MoneyByEntryStatus",
		New: func() referral.Store { return &rmStatsSettlingAsSettled{Store: referral.NewMemoryStore()} }},
	{Name: "LeaderboardBindingsFirst", Run: "Stats/LeaderboardOrder", Want: "Stats/LeaderboardOrder",
		New: func() referral.Store { return &rmLeaderboardBoundFirst{Store: referral.NewMemoryStore()} }},
	{Name: "EnterLotteryReplayIgnoresLottery", Run: "LotteryDraws/Enter", Want: "LotteryDraws/Enter",
		New: func() referral.Store { return &rmReplayIgnoresLottery{Store: referral.NewMemoryStore()} }},
	{Name: "ClaimLotteryGrantNothingWon", Run: "LotteryDraws/MarkNothingWon", Want: "LotteryDraws/MarkNothingWon",
		New: func() referral.Store { return &rmClaimNothingWon{Store: referral.NewMemoryStore()} }},
	{Name: "CancelLotteryDrawAcrossTenants", Run: "LotteryDraws/KeysArePerTenant", Want: "LotteryDraws/KeysArePerTenant",
		New: func() referral.Store { return &rmDrawKeysAcrossTenants{Store: referral.NewMemoryStore(), cancel: true} }},
	{Name: "SettleLotteryDrawAcrossTenants", Run: "LotteryDraws/KeysArePerTenant", Want: "LotteryDraws/KeysArePerTenant",
		New: func() referral.Store { return &rmDrawKeysAcrossTenants{Store: referral.NewMemoryStore(), settle: true} }},
	{Name: "ListUnfinishedAcrossTenants", Run: "LotteryDraws/KeysArePerTenant", Want: "LotteryDraws/KeysArePerTenant",
		New: func() referral.Store { return &rmDrawKeysAcrossTenants{Store: referral.NewMemoryStore(), list: true} }},
	{Name: "ListUnfinishedCursorInclusive", Run: "LotteryDraws/UnfinishedPages", Want: "LotteryDraws/UnfinishedPages",
		New: func() referral.Store { return &rmUnfinishedCursorInclusive{Store: referral.NewMemoryStore()} }},
	{Name: "JoinTeamAcrossTenants", Run: "Teams/TenantsAreIsolated", Want: "Teams/TenantsAreIsolated",
		New: func() referral.Store { return &rmTeamsAcrossTenants{Store: referral.NewMemoryStore(), join: true} }},
	{Name: "ExpireTeamsAcrossTenants", Run: "Teams/TenantsAreIsolated", Want: "Teams/TenantsAreIsolated",
		New: func() referral.Store { return &rmTeamsAcrossTenants{Store: referral.NewMemoryStore(), expire: true} }},
	{Name: "ListTeamsAcrossTenants", Run: "Teams/TenantsAreIsolated", Want: "Teams/TenantsAreIsolated",
		New: func() referral.Store { return &rmTeamsAcrossTenants{Store: referral.NewMemoryStore(), list: true} }},
	{Name: "MarkTeamReportedAcrossTenants", Run: "Teams/TenantsAreIsolated", Want: "Teams/TenantsAreIsolated",
		New: func() referral.Store { return &rmTeamsAcrossTenants{Store: referral.NewMemoryStore(), mark: true} }},
	{Name: "OwnerCodeAnyTenant", Run: "Codes/TenantsAreIsolated", Want: "Codes/TenantsAreIsolated",
		New: func() referral.Store { return &rmCodesAnyTenant{Store: referral.NewMemoryStore()} }},
	{Name: "ExpireTeamsAtExpiresAtExclusive", Run: "Teams/ClosedAtItsExpiresAt", Want: "Teams/ClosedAtItsExpiresAt",
		New: func() referral.Store { return &rmExpireExclusive{Store: referral.NewMemoryStore()} }},
	{Name: "PutCodeOwnerAnyTenant", Run: "Codes/TenantsAreIsolated", Want: "Codes/TenantsAreIsolated",
		New: func() referral.Store { return &rmCodesAnyTenant{Store: referral.NewMemoryStore(), put: true} }},

	// Mutants the suite already caught.
	{Name: "QualifyReplayCreated", Run: "Qualifications/OnceAndRoundTrip", Want: "Qualifications/OnceAndRoundTrip",
		New: func() referral.Store { return &rmQualifyReplayCreated{Store: referral.NewMemoryStore()} }},
	{Name: "ListEntriesCursorSkips", Run: "Entries/AddIdempotentAndList", Want: "Entries/AddIdempotentAndList",
		New: func() referral.Store { return &rmListEntriesCursorSkips{Store: referral.NewMemoryStore()} }},
	{Name: "ListEntriesDueByExclusive", Run: "Entries/AddIdempotentAndList", Want: "Entries/AddIdempotentAndList",
		New: func() referral.Store { return &rmListEntriesDueByExclusive{Store: referral.NewMemoryStore()} }},
	{Name: "SetEntryStatusIgnoresDueAt", Run: "Entries/NotPaidBeforeItsDueAt", Want: "Entries/NotPaidBeforeItsDueAt",
		New: func() referral.Store { return &rmSetEntryIgnoresDue{Store: referral.NewMemoryStore()} }},
	{Name: "SetEntryStatusCheckThenAct", Run: "Entries/StatusCompareAndSet", Want: "Entries/StatusCompareAndSet",
		New: func() referral.Store { return &rmSetEntryCheckThenAct{Store: referral.NewMemoryStore()} }},
	{Name: "ReverseOrderReturnsOnlyNew", Run: "Entries/ReverseOrder", Want: "Entries/ReverseOrder",
		New: func() referral.Store { return &rmReverseOnlyNew{Store: referral.NewMemoryStore()} }},
	{Name: "ReverseOrderIgnoresRefundID", Run: "PartialRefunds/RedeliveredRefundChangesNothing", Want: "PartialRefunds/RedeliveredRefundChangesNothing",
		New: func() referral.Store { return &rmReverseIgnoresRefundID{Store: referral.NewMemoryStore()} }},
	{Name: "PutLotteryReturnsGivenSeed", Run: "Lotteries/ReplaceKeepsSeedAndCounts", Want: "Lotteries/ReplaceKeepsSeedAndCounts",
		New: func() referral.Store { return &rmPutLotteryGivenSeed{Store: referral.NewMemoryStore()} }},
	{Name: "FindLotteryEndInclusive", Run: "Lotteries/KeywordsAreUniqueAtATime", Want: "Lotteries/KeywordsAreUniqueAtATime",
		New: func() referral.Store { return &rmFindEndInclusive{Store: referral.NewMemoryStore()} }},
	{Name: "EnterLotteryReplayCreated", Run: "LotteryDraws/Enter", Want: "LotteryDraws/Enter",
		New: func() referral.Store { return &rmEnterReplayCreated{Store: referral.NewMemoryStore()} }},
	{Name: "ClaimLotteryGrantIgnoresClaims", Run: "LotteryDraws/GrantClaims", Want: "LotteryDraws/GrantClaims",
		New: func() referral.Store { return &rmClaimIgnoresClaims{Store: referral.NewMemoryStore()} }},
	{Name: "HelpCheckThenAct", Run: "Sessions/ConcurrentHelpsTakeOnePlaceEach", Want: "Sessions/ConcurrentHelpsTakeOnePlaceEach",
		New: func() referral.Store { return &rmHelpCheckThenAct{Store: referral.NewMemoryStore()} }},
	{Name: "MarkSessionReportedAcrossTenants", Run: "Sessions/CompletionReported", Want: "Sessions/CompletionReported",
		New: func() referral.Store { return &rmMarkSessionAcrossTenants{Store: referral.NewMemoryStore()} }},
	{Name: "FindLotteryAnyTenant", Run: "Lotteries/KeywordsAreUniqueAtATime", Want: "Lotteries/KeywordsAreUniqueAtATime",
		New: func() referral.Store { return &rmFindLotteryAnyTenant{Store: referral.NewMemoryStore()} }},
	{Name: "JoinTeamAtExpiresAt", Run: "Teams/ExpireListReport", Want: "Teams/ExpireListReport",
		New: func() referral.Store { return &rmJoinAtExpiry{Store: referral.NewMemoryStore()} }},
	{Name: "JoinTeamCheckThenAct", Run: "Teams/LastPlaceRace", Want: "Teams/LastPlaceRace",
		New: func() referral.Store { return &rmJoinCheckThenAct{Store: referral.NewMemoryStore()} }},
	{Name: "ListTeamsUnreportedIncludesOpen", Run: "Teams/ExpireListReport", Want: "Teams/ExpireListReport",
		New: func() referral.Store { return &rmListTeamsUnreportedOpen{Store: referral.NewMemoryStore()} }},
}

// rmTenants records the tenants a mutant has seen, for mutants whose
// statements lack the tenant in their WHERE.
type rmTenants struct {
	mu sync.Mutex
	ts []scrm.TenantID
}

func (k *rmTenants) add(t scrm.TenantID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !slices.Contains(k.ts, t) {
		k.ts = append(k.ts, t)
	}
}

func (k *rmTenants) others(t scrm.TenantID) []scrm.TenantID {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []scrm.TenantID
	for _, o := range k.ts {
		if o != t {
			out = append(out, o)
		}
	}
	return out
}

// rmRankAcross ranks a qualification among the inviter's active
// qualifications of every program of the tenant (or, with tenants, of the
// program in every tenant): a count without the program (tenant) in its
// WHERE. Later inviters' rewards are withheld past MaxPerInviter.
type rmRankAcross struct {
	referral.Store
	tenants bool
	mu      sync.Mutex
	active  map[[3]string]int // tenant, program, inviter → active qualifications
}

func (m *rmRankAcross) Qualify(ctx context.Context, p referral.QualifyParams) (referral.Qualification, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, created, err := m.Store.Qualify(ctx, p)
	if err != nil || !created || q.Status != referral.StatusActive || q.Inviter == "" {
		return q, created, err
	}
	if m.active == nil {
		m.active = map[[3]string]int{}
	}
	for k, n := range m.active {
		sameTenant, sameProgram := k[0] == string(q.Tenant), k[1] == q.Program
		if k[2] == string(q.Inviter) && (m.tenants && !sameTenant && sameProgram || !m.tenants && sameTenant && !sameProgram) {
			q.Rank += n
		}
	}
	m.active[[3]string{string(q.Tenant), q.Program, string(q.Inviter)}]++
	q.Rewarded = p.MaxPerInviter == 0 || q.Rank <= p.MaxPerInviter
	return q, created, err
}

// rmEntryIDsAcrossTenants leaves out an entry whose ID another tenant has:
// a primary key on the ID alone, with ON CONFLICT DO NOTHING.
type rmEntryIDsAcrossTenants struct {
	referral.Store
	mu  sync.Mutex
	ids map[string]scrm.TenantID
}

func (m *rmEntryIDsAcrossTenants) AddEntries(ctx context.Context, tenant scrm.TenantID, entries []referral.Entry) ([]referral.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = map[string]scrm.TenantID{}
	}
	var keep []referral.Entry
	for _, e := range entries {
		if t, ok := m.ids[e.ID]; !ok || t == tenant {
			keep = append(keep, e)
		}
	}
	changed, err := m.Store.AddEntries(ctx, tenant, keep)
	if err == nil {
		for _, e := range keep {
			m.ids[e.ID] = tenant
		}
	}
	return changed, err
}

// rmReverseAcrossTenants applies a refund to the order's entries in every
// tenant (an UPDATE by invitee and order without the tenant).
type rmReverseAcrossTenants struct {
	referral.Store
	tenants rmTenants
}

func (m *rmReverseAcrossTenants) AddEntries(ctx context.Context, tenant scrm.TenantID, entries []referral.Entry) ([]referral.Entry, error) {
	m.tenants.add(tenant)
	return m.Store.AddEntries(ctx, tenant, entries)
}

func (m *rmReverseAcrossTenants) ReverseOrder(ctx context.Context, p referral.ReverseParams) ([]referral.Entry, error) {
	out, err := m.Store.ReverseOrder(ctx, p)
	if err != nil {
		return out, err
	}
	for _, o := range m.tenants.others(p.Tenant) {
		q := p
		q.Tenant = o
		_, _ = m.Store.ReverseOrder(ctx, q)
	}
	return out, nil
}

// rmStatsSettlingAsSettled counts settling entries as paid (a sum by
// "status <> 'pending'"), so an inviter sees money as paid that is not.
type rmStatsSettlingAsSettled struct{ referral.Store }

func (m *rmStatsSettlingAsSettled) Stats(ctx context.Context, p referral.StatsParams) (referral.Stats, error) {
	st, err := m.Store.Stats(ctx, p)
	if err != nil || p.Staff != "" {
		return st, err
	}
	sum := decimal.Zero
	for cursor := ""; ; {
		page, err := m.Store.ListEntries(ctx, referral.ListEntriesParams{Tenant: p.Tenant, Status: referral.EntrySettling, Cursor: cursor, Limit: 1000})
		if err != nil {
			return st, err
		}
		for _, e := range page.Entries {
			if e.Program == p.Program && (p.Inviter == "" || e.Beneficiary == p.Inviter) {
				sum = sum.Add(e.Amount)
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	st.Pending, st.Settled = st.Pending.Sub(sum), st.Settled.Add(sum)
	return st, nil
}

// rmLeaderboardBoundFirst ranks by bindings before qualifications.
type rmLeaderboardBoundFirst struct{ referral.Store }

func (m *rmLeaderboardBoundFirst) Leaderboard(ctx context.Context, p referral.LeaderboardParams) ([]referral.Standing, error) {
	all := p
	all.Limit = 1000
	out, err := m.Store.Leaderboard(ctx, all)
	if err != nil {
		return out, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Bound != b.Bound {
			return a.Bound > b.Bound
		}
		if a.Qualified != b.Qualified {
			return a.Qualified > b.Qualified
		}
		return a.Inviter < b.Inviter || a.Inviter == b.Inviter && a.Staff < b.Staff
	})
	if n := scrm.PageLimit(p.Limit, 10, 1000); len(out) > n {
		out = out[:n]
	}
	for i := range out {
		out[i].Rank = i + 1
	}
	return out, nil
}

// rmFindLotteryAnyTenant finds a lottery by keyword in any tenant.
type rmFindLotteryAnyTenant struct {
	referral.Store
	tenants rmTenants
}

func (m *rmFindLotteryAnyTenant) PutLottery(ctx context.Context, l referral.Lottery) (referral.Lottery, error) {
	m.tenants.add(l.Tenant)
	return m.Store.PutLottery(ctx, l)
}

func (m *rmFindLotteryAnyTenant) FindLottery(ctx context.Context, tenant scrm.TenantID, keyword string, at time.Time) (referral.Lottery, error) {
	l, err := m.Store.FindLottery(ctx, tenant, keyword, at)
	if !errors.Is(err, scrm.ErrNotFound) {
		return l, err
	}
	for _, o := range m.tenants.others(tenant) {
		if l, oerr := m.Store.FindLottery(ctx, o, keyword, at); oerr == nil {
			return l, nil
		}
	}
	return l, err
}

// rmReplayIgnoresLottery replays a key's draw whatever lottery it was
// drawn in (it compares the customer only).
type rmReplayIgnoresLottery struct{ referral.Store }

func (m *rmReplayIgnoresLottery) EnterLottery(ctx context.Context, p referral.EnterLotteryParams) (referral.DrawResult, bool, error) {
	if d, err := m.Store.GetLotteryDraw(ctx, p.Tenant, p.IdempotencyKey); err == nil && d.Customer == p.Customer && p.Paid == 0 {
		return d, false, nil
	}
	return m.Store.EnterLottery(ctx, p)
}

// rmClaimNothingWon claims the grant of a settled draw that won nothing.
type rmClaimNothingWon struct{ referral.Store }

func (m *rmClaimNothingWon) ClaimLotteryGrant(ctx context.Context, p referral.ClaimLotteryGrantParams) (bool, error) {
	ok, err := m.Store.ClaimLotteryGrant(ctx, p)
	if err == nil && !ok {
		if d, gerr := m.Store.GetLotteryDraw(ctx, p.Tenant, p.Key); gerr == nil && !d.Won() {
			return true, nil
		}
	}
	return ok, err
}

// rmDrawKeysAcrossTenants cancels, settles or lists draws by key in every
// tenant.
type rmDrawKeysAcrossTenants struct {
	referral.Store
	cancel, settle, list bool
	tenants              rmTenants
}

func (m *rmDrawKeysAcrossTenants) PutLottery(ctx context.Context, l referral.Lottery) (referral.Lottery, error) {
	m.tenants.add(l.Tenant)
	return m.Store.PutLottery(ctx, l)
}

func (m *rmDrawKeysAcrossTenants) CancelLotteryDraw(ctx context.Context, tenant scrm.TenantID, key string) error {
	err := m.Store.CancelLotteryDraw(ctx, tenant, key)
	if err == nil && m.cancel {
		for _, o := range m.tenants.others(tenant) {
			_ = m.Store.CancelLotteryDraw(ctx, o, key)
		}
	}
	return err
}

func (m *rmDrawKeysAcrossTenants) SettleLotteryDraw(ctx context.Context, p referral.SettleLotteryDrawParams) (time.Time, bool, error) {
	at, claimed, err := m.Store.SettleLotteryDraw(ctx, p)
	if err == nil && m.settle {
		for _, o := range m.tenants.others(p.Tenant) {
			q := p
			q.Tenant = o
			_, _, _ = m.Store.SettleLotteryDraw(ctx, q)
		}
	}
	return at, claimed, err
}

func (m *rmDrawKeysAcrossTenants) ListUnfinishedLotteryDraws(ctx context.Context, p referral.ListUnfinishedParams) (referral.DrawResultPage, error) {
	page, err := m.Store.ListUnfinishedLotteryDraws(ctx, p)
	if err == nil && m.list {
		for _, o := range m.tenants.others(p.Tenant) {
			q := p
			q.Tenant = o
			if theirs, oerr := m.Store.ListUnfinishedLotteryDraws(ctx, q); oerr == nil {
				page.Results = append(page.Results, theirs.Results...)
			}
		}
	}
	return page, err
}

// rmUnfinishedCursorInclusive lists from the cursor's key inclusive
// (">=" for ">"): every page repeats the last draw of the one before.
type rmUnfinishedCursorInclusive struct{ referral.Store }

func (m *rmUnfinishedCursorInclusive) ListUnfinishedLotteryDraws(ctx context.Context, p referral.ListUnfinishedParams) (referral.DrawResultPage, error) {
	page, err := m.Store.ListUnfinishedLotteryDraws(ctx, p)
	if err != nil || p.Cursor == "" {
		return page, err
	}
	d, gerr := m.Store.GetLotteryDraw(ctx, p.Tenant, p.Cursor)
	if gerr != nil || !(d.Status == referral.DrawPending || d.Won() && d.GrantedAt.IsZero()) || d.At.After(p.Before) {
		return page, nil
	}
	page.Results = append([]referral.DrawResult{d}, page.Results...)
	if limit := scrm.PageLimit(p.Limit, 100, 1000); len(page.Results) > limit {
		page.Results = page.Results[:limit]
		page.Next = page.Results[limit-1].IdempotencyKey
	}
	return page, nil
}

// rmJoinAtExpiry lets a customer join a team at its ExpiresAt ("now >
// expires_at" for "now >= expires_at").
type rmJoinAtExpiry struct{ referral.Store }

func (m *rmJoinAtExpiry) JoinTeam(ctx context.Context, p referral.JoinTeamParams) (referral.Team, error) {
	if tm, err := m.Store.GetTeam(ctx, p.Tenant, p.Team); err == nil && tm.ExpiresAt.Equal(p.Now) {
		p.Now = p.Now.Add(-time.Nanosecond)
	}
	return m.Store.JoinTeam(ctx, p)
}

// rmExpireExclusive fails only the teams whose ExpiresAt is before Now
// ("expires_at < now" for "<="), leaving a team open, yet closed to
// joining, at its ExpiresAt.
type rmExpireExclusive struct{ referral.Store }

func (m *rmExpireExclusive) ExpireTeams(ctx context.Context, p referral.ExpireTeamsParams) ([]referral.Team, error) {
	p.Now = p.Now.Add(-time.Nanosecond)
	return m.Store.ExpireTeams(ctx, p)
}

// rmTeamsAcrossTenants joins, fails, lists or marks teams by ID (or by
// time) in every tenant.
type rmTeamsAcrossTenants struct {
	referral.Store
	join, expire, list, mark bool
	tenants                  rmTenants
}

func (m *rmTeamsAcrossTenants) OpenTeam(ctx context.Context, p referral.OpenTeamParams) (referral.Team, bool, error) {
	m.tenants.add(p.Team.Tenant)
	return m.Store.OpenTeam(ctx, p)
}

func (m *rmTeamsAcrossTenants) JoinTeam(ctx context.Context, p referral.JoinTeamParams) (referral.Team, error) {
	t, err := m.Store.JoinTeam(ctx, p)
	if err == nil && m.join {
		for _, o := range m.tenants.others(p.Tenant) {
			q := p
			q.Tenant = o
			_, _ = m.Store.JoinTeam(ctx, q)
		}
	}
	return t, err
}

func (m *rmTeamsAcrossTenants) ExpireTeams(ctx context.Context, p referral.ExpireTeamsParams) ([]referral.Team, error) {
	out, err := m.Store.ExpireTeams(ctx, p)
	if err == nil && m.expire {
		for _, o := range m.tenants.others(p.Tenant) {
			q := p
			q.Tenant = o
			theirs, _ := m.Store.ExpireTeams(ctx, q)
			out = append(out, theirs...)
		}
	}
	return out, err
}

func (m *rmTeamsAcrossTenants) ListTeams(ctx context.Context, p referral.ListTeamsParams) (referral.TeamPage, error) {
	page, err := m.Store.ListTeams(ctx, p)
	if err == nil && m.list {
		for _, o := range m.tenants.others(p.Tenant) {
			q := p
			q.Tenant = o
			if theirs, oerr := m.Store.ListTeams(ctx, q); oerr == nil {
				page.Teams = append(page.Teams, theirs.Teams...)
			}
		}
	}
	return page, err
}

func (m *rmTeamsAcrossTenants) MarkTeamReported(ctx context.Context, tenant scrm.TenantID, id string) error {
	err := m.Store.MarkTeamReported(ctx, tenant, id)
	if err == nil && m.mark {
		for _, o := range m.tenants.others(tenant) {
			_ = m.Store.MarkTeamReported(ctx, o, id)
		}
	}
	return err
}

// rmCodesAnyTenant finds an owner's code in any tenant: in OwnerCode, or,
// with put, in PutCode's check for the owner's existing code.
type rmCodesAnyTenant struct {
	referral.Store
	put     bool
	tenants rmTenants
}

func (m *rmCodesAnyTenant) PutCode(ctx context.Context, c referral.CodeRecord) (referral.CodeRecord, error) {
	if m.put {
		for _, o := range m.tenants.others(c.Tenant) {
			if rec, err := m.Store.OwnerCode(ctx, o, c.Owner); err == nil {
				return rec, nil
			}
		}
	}
	rec, err := m.Store.PutCode(ctx, c)
	if err == nil {
		m.tenants.add(c.Tenant)
	}
	return rec, err
}

func (m *rmCodesAnyTenant) OwnerCode(ctx context.Context, tenant scrm.TenantID, owner referral.Owner) (referral.CodeRecord, error) {
	rec, err := m.Store.OwnerCode(ctx, tenant, owner)
	if m.put || !errors.Is(err, scrm.ErrNotFound) {
		return rec, err
	}
	for _, o := range m.tenants.others(tenant) {
		if rec, oerr := m.Store.OwnerCode(ctx, o, owner); oerr == nil {
			return rec, nil
		}
	}
	return rec, err
}

// rmQualifyReplayCreated reports a replayed qualification as created.
type rmQualifyReplayCreated struct{ referral.Store }

func (m *rmQualifyReplayCreated) Qualify(ctx context.Context, p referral.QualifyParams) (referral.Qualification, bool, error) {
	q, _, err := m.Store.Qualify(ctx, p)
	return q, err == nil, err
}

// rmListEntriesCursorSkips returns as the cursor the first ID of the next
// page, which the next call then skips.
type rmListEntriesCursorSkips struct{ referral.Store }

func (m *rmListEntriesCursorSkips) ListEntries(ctx context.Context, p referral.ListEntriesParams) (referral.EntryPage, error) {
	page, err := m.Store.ListEntries(ctx, p)
	if err != nil || page.Next == "" {
		return page, err
	}
	q := p
	q.Cursor, q.Limit = page.Next, 1
	if next, err := m.Store.ListEntries(ctx, q); err == nil && len(next.Entries) == 1 {
		page.Next = next.Entries[0].ID
	}
	return page, nil
}

// rmListEntriesDueByExclusive lists entries due before DueBy, not at it.
type rmListEntriesDueByExclusive struct{ referral.Store }

func (m *rmListEntriesDueByExclusive) ListEntries(ctx context.Context, p referral.ListEntriesParams) (referral.EntryPage, error) {
	if !p.DueBy.IsZero() {
		p.DueBy = p.DueBy.Add(-time.Nanosecond)
	}
	return m.Store.ListEntries(ctx, p)
}

// rmSetEntryIgnoresDue pays an entry whatever its DueAt.
type rmSetEntryIgnoresDue struct{ referral.Store }

func (m *rmSetEntryIgnoresDue) SetEntryStatus(ctx context.Context, p referral.SetEntryStatusParams) (referral.Entry, error) {
	if p.From == referral.EntryPending && (p.To == referral.EntrySettling || p.To == referral.EntrySettled) {
		p.At = p.At.AddDate(100, 0, 0)
	}
	return m.Store.SetEntryStatus(ctx, p)
}

// rmSetEntryCheckThenAct checks the entry's status, then writes the new
// one in a separate step, unconditionally.
type rmSetEntryCheckThenAct struct {
	referral.Store
	ov mutants.Overlap // widens the read-to-write window
}

func (m *rmSetEntryCheckThenAct) status(ctx context.Context, tenant scrm.TenantID, id string) referral.EntryStatus {
	for _, st := range []referral.EntryStatus{referral.EntryPending, referral.EntrySettling, referral.EntrySettled, referral.EntryReversed} {
		for cursor := ""; ; {
			page, err := m.Store.ListEntries(ctx, referral.ListEntriesParams{Tenant: tenant, Status: st, Cursor: cursor, Limit: 1000})
			if err != nil {
				return ""
			}
			for _, e := range page.Entries {
				if e.ID == id {
					return st
				}
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
	}
	return ""
}

func (m *rmSetEntryCheckThenAct) SetEntryStatus(ctx context.Context, p referral.SetEntryStatusParams) (referral.Entry, error) {
	if m.status(ctx, p.Tenant, p.ID) != p.From {
		return m.Store.SetEntryStatus(ctx, p)
	}
	runtime.Gosched()
	m.ov.Wait()
	if st := m.status(ctx, p.Tenant, p.ID); st != "" {
		p.From = st
	}
	return m.Store.SetEntryStatus(ctx, p)
}

// rmReverseOnlyNew returns only the entries this call reversed, so a
// redelivered refund cannot publish again an event whose publish failed.
type rmReverseOnlyNew struct{ referral.Store }

func (m *rmReverseOnlyNew) ReverseOrder(ctx context.Context, p referral.ReverseParams) ([]referral.Entry, error) {
	before := map[string]bool{}
	for cursor := ""; ; {
		page, err := m.Store.ListEntries(ctx, referral.ListEntriesParams{Tenant: p.Tenant, Status: referral.EntryReversed, Cursor: cursor, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, e := range page.Entries {
			before[e.ID] = true
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	out, err := m.Store.ReverseOrder(ctx, p)
	return slices.DeleteFunc(out, func(e referral.Entry) bool { return before[e.ID] }), err
}

// rmReverseIgnoresRefundID counts every delivery of a refund.
type rmReverseIgnoresRefundID struct{ referral.Store }

func (m *rmReverseIgnoresRefundID) ReverseOrder(ctx context.Context, p referral.ReverseParams) ([]referral.Entry, error) {
	p.RefundID = ""
	return m.Store.ReverseOrder(ctx, p)
}

// rmPutLotteryGivenSeed returns the lottery as given, not as stored (whose
// Seed is the first one's).
type rmPutLotteryGivenSeed struct{ referral.Store }

func (m *rmPutLotteryGivenSeed) PutLottery(ctx context.Context, l referral.Lottery) (referral.Lottery, error) {
	got, err := m.Store.PutLottery(ctx, l)
	got.Seed = l.Seed
	return got, err
}

// rmFindEndInclusive finds a lottery running at its End too
// ("at <= end").
type rmFindEndInclusive struct{ referral.Store }

func (m *rmFindEndInclusive) FindLottery(ctx context.Context, tenant scrm.TenantID, keyword string, at time.Time) (referral.Lottery, error) {
	if l, err := m.Store.FindLottery(ctx, tenant, keyword, at.Add(-time.Nanosecond)); err == nil && l.End.Equal(at) {
		return l, nil
	}
	return m.Store.FindLottery(ctx, tenant, keyword, at)
}

// rmEnterReplayCreated reports a replayed draw as created.
type rmEnterReplayCreated struct{ referral.Store }

func (m *rmEnterReplayCreated) EnterLottery(ctx context.Context, p referral.EnterLotteryParams) (referral.DrawResult, bool, error) {
	d, _, err := m.Store.EnterLottery(ctx, p)
	return d, err == nil, err
}

// rmClaimIgnoresClaims claims a grant whoever holds the claim.
type rmClaimIgnoresClaims struct{ referral.Store }

func (m *rmClaimIgnoresClaims) ClaimLotteryGrant(ctx context.Context, p referral.ClaimLotteryGrantParams) (bool, error) {
	if d, err := m.Store.GetLotteryDraw(ctx, p.Tenant, p.Key); err == nil && d.Status == referral.DrawSettled && d.Won() && d.GrantedAt.IsZero() {
		_ = m.Store.ReleaseLotteryGrant(ctx, p.Tenant, p.Key)
	}
	return m.Store.ClaimLotteryGrant(ctx, p)
}

// rmHelpCheckThenAct checks the help's number against the session read,
// then appends it in a separate step at whatever number and price the
// session has then: concurrent helps all go in.
type rmHelpCheckThenAct struct {
	referral.Store
	ov mutants.Overlap // widens the read-to-write window
}

func (m *rmHelpCheckThenAct) Help(ctx context.Context, p referral.HelpParams) (referral.Session, error) {
	s0, err := m.Store.GetSession(ctx, p.Tenant, p.Session)
	if err != nil || p.Cut.Index != len(s0.Cuts)+1 {
		return m.Store.Help(ctx, p)
	}
	runtime.Gosched()
	m.ov.Wait()
	if s1, err := m.Store.GetSession(ctx, p.Tenant, p.Session); err == nil {
		p.Cut.Index = len(s1.Cuts) + 1
		p.Cut.Price = s1.Price.Sub(p.Cut.Amount)
	}
	return m.Store.Help(ctx, p)
}

// rmMarkSessionAcrossTenants marks a session reported by ID in every
// tenant.
type rmMarkSessionAcrossTenants struct {
	referral.Store
	tenants rmTenants
}

func (m *rmMarkSessionAcrossTenants) StartSession(ctx context.Context, p referral.StartSessionParams) (referral.Session, bool, error) {
	m.tenants.add(p.Session.Tenant)
	return m.Store.StartSession(ctx, p)
}

func (m *rmMarkSessionAcrossTenants) MarkSessionReported(ctx context.Context, tenant scrm.TenantID, id string) error {
	err := m.Store.MarkSessionReported(ctx, tenant, id)
	for _, o := range m.tenants.others(tenant) {
		if oerr := m.Store.MarkSessionReported(ctx, o, id); oerr == nil {
			err = nil
		}
	}
	return err
}

// rmListTeamsUnreportedOpen lists every team not marked reported as
// unreported, open ones included.
type rmListTeamsUnreportedOpen struct{ referral.Store }

func (m *rmListTeamsUnreportedOpen) ListTeams(ctx context.Context, p referral.ListTeamsParams) (referral.TeamPage, error) {
	if !p.Unreported {
		return m.Store.ListTeams(ctx, p)
	}
	p.Unreported = false
	page, err := m.Store.ListTeams(ctx, p)
	page.Teams = slices.DeleteFunc(page.Teams, func(t referral.Team) bool { return t.Reported })
	return page, err
}

// rmJoinCheckThenAct keeps its own teams and joins by reading a team,
// checking it, then writing it back with the member appended in a
// separate step (no row lock): concurrent joins all pass the size check.
type rmJoinCheckThenAct struct {
	ov mutants.Overlap // widens the read-to-write window
	referral.Store
	mu    sync.Mutex
	teams map[[2]string]referral.Team
}

func (m *rmJoinCheckThenAct) OpenTeam(ctx context.Context, p referral.OpenTeamParams) (referral.Team, bool, error) {
	t, created, err := m.Store.OpenTeam(ctx, p)
	if err == nil && created {
		m.mu.Lock()
		if m.teams == nil {
			m.teams = map[[2]string]referral.Team{}
		}
		t.Members = slices.Clone(t.Members)
		m.teams[[2]string{string(t.Tenant), t.ID}] = t
		m.mu.Unlock()
	}
	return t, created, err
}

func (m *rmJoinCheckThenAct) read(tenant scrm.TenantID, id string) (referral.Team, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.teams[[2]string{string(tenant), id}]
	t.Members = slices.Clone(t.Members)
	return t, ok
}

func (m *rmJoinCheckThenAct) GetTeam(ctx context.Context, tenant scrm.TenantID, id string) (referral.Team, error) {
	if t, ok := m.read(tenant, id); ok {
		return t, nil
	}
	return m.Store.GetTeam(ctx, tenant, id)
}

func (m *rmJoinCheckThenAct) JoinTeam(ctx context.Context, p referral.JoinTeamParams) (referral.Team, error) {
	t, ok := m.read(p.Tenant, p.Team)
	if !ok {
		return m.Store.JoinTeam(ctx, p)
	}
	const op = "mutant.JoinTeam"
	switch {
	case t.Status == referral.TeamFailed || t.Status == referral.TeamOpen && !p.Now.Before(t.ExpiresAt):
		return referral.Team{}, &scrm.Error{Code: scrm.ErrExpired, Op: op, Err: referral.ReasonTeamClosed}
	case slices.ContainsFunc(t.Members, func(mb referral.Member) bool { return mb.Customer == p.Customer }):
		return referral.Team{}, &scrm.Error{Code: scrm.ErrConflict, Op: op, Err: referral.ReasonAlreadyJoined}
	case t.Status == referral.TeamSucceeded || len(t.Members) >= t.Size:
		return referral.Team{}, &scrm.Error{Code: scrm.ErrExhausted, Op: op, Err: referral.ReasonTeamFull}
	}
	runtime.Gosched()
	m.ov.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.teams[[2]string{string(t.Tenant), t.ID}]
	cur.Members = append(slices.Clone(cur.Members), referral.Member{Customer: p.Customer, JoinedAt: p.Now})
	if len(cur.Members) >= cur.Size {
		cur.Status, cur.ClosedAt = referral.TeamSucceeded, p.Now
	}
	m.teams[[2]string{string(t.Tenant), t.ID}] = cur
	cur.Members = slices.Clone(cur.Members)
	return cur, nil
}
