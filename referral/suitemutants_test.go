package referral_test

// Mutation tests of the conformance suite (referraltest.RunStoreTests):
// each mutant is the memory store with one method broken the way a
// plausible host implementation would break it. TestSuiteMutants runs the
// suite against every mutant in a child process (TestSuiteMutantChild) and
// requires the suite to fail it, in the subtest named.

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/referral/referraltest"
	"github.com/scrmkit/scrmkit/scrm"
)

// rmEnv names the mutant a child process runs the suite against.
const rmEnv = "SCRMKIT_REFERRAL_MUTANT"

var rmMutants = []mutants.Store[referral.Store]{
	// Gaps the suite had: each has its own conformance case now.
	{Name: "PutGroupBuyCountsOtherTenants", Run: "GroupBuys/OtherTenantsTeamsAndDrawDoNotCount", Want: "GroupBuys/OtherTenantsTeamsAndDrawDoNotCount",
		New: func() referral.Store { return newRmCrossTenantKinds() }},
	{Name: "LimitsCountActiveOnly", Run: "Bindings/LimitsCountEveryStatus", Want: "Bindings/LimitsCountEveryStatus",
		New: func() referral.Store { return &rmLimitsActiveOnly{Store: referral.NewMemoryStore()} }},
	{Name: "ReleaseGrantsAcrossTenants", Run: "Grants/CompleteAndReleaseArePerTenant", Want: "Grants/CompleteAndReleaseArePerTenant",
		New: func() referral.Store { return &rmGrantsByKey{Store: referral.NewMemoryStore(), release: true} }},
	{Name: "CompleteGrantsAcrossTenants", Run: "Grants/CompleteAndReleaseArePerTenant", Want: "Grants/CompleteAndReleaseArePerTenant",
		New: func() referral.Store { return &rmGrantsByKey{Store: referral.NewMemoryStore()} }},

	// Mutants the suite already caught.
	{Name: "PutGroupBuyIgnoresTeams", Run: "GroupBuys/PutIsConditional", Want: "GroupBuys/PutIsConditional",
		New: func() referral.Store { return &rmPutIgnoresTeams{Store: referral.NewMemoryStore()} }},
	{Name: "PutGroupBuyCheckThenAct", Run: "GroupBuys/ConcurrentPutsOneWins", Want: "GroupBuys/ConcurrentPutsOneWins",
		New: func() referral.Store { return &rmPutCheckThenAct{Store: referral.NewMemoryStore()} }},
	{Name: "OpenTeamIgnoresRevision", Run: "GroupBuys/OpenTeamChecksTheGroupBuy", Want: "GroupBuys/OpenTeamChecksTheGroupBuy",
		New: func() referral.Store { return &rmOpenIgnoresRevision{Store: referral.NewMemoryStore()} }},
	{Name: "SaveDrawIgnoresRevision", Run: "GroupBuys/SaveDrawChecksTheGroupBuy", Want: "GroupBuys/SaveDrawChecksTheGroupBuy",
		New: func() referral.Store { return &rmDrawIgnoresRevision{Store: referral.NewMemoryStore()} }},
}

// rmMutantsList returns the mutants for package mutants.
func rmMutantsList() []mutants.Mutant {
	return mutants.Stores(referraltest.RunStoreTests, rmMutants, rmMutants2)
}

// TestSuiteMutantChild runs the suite against the mutant named by rmEnv;
// it is TestSuiteMutants' child process and skips otherwise.
func TestSuiteMutantChild(t *testing.T) { mutants.Child(t, rmEnv, rmMutantsList()) }

// TestSuiteMutants proves that the conformance suite fails every mutant.
func TestSuiteMutants(t *testing.T) { mutants.Spawn(t, rmEnv, "TestSuiteMutantChild", rmMutantsList()) }

func rmConflict(field string) error {
	return &scrm.Error{Code: scrm.ErrConflict, Op: "mutant.PutGroupBuy", Field: field, Msg: "mutant"}
}

// rmCrossTenantKinds looks up a group buy's teams and draw by its ID only
// (a query without the tenant), so another tenant's teams and draw of a
// group buy with the same ID block a conditional put.
type rmCrossTenantKinds struct {
	referral.Store
	mu      sync.Mutex
	lottery map[string]bool // group buy ID → has a lottery team, in any tenant
	regular map[string]bool
	drawn   map[string]bool
}

func newRmCrossTenantKinds() *rmCrossTenantKinds {
	return &rmCrossTenantKinds{Store: referral.NewMemoryStore(),
		lottery: map[string]bool{}, regular: map[string]bool{}, drawn: map[string]bool{}}
}

func (m *rmCrossTenantKinds) OpenTeam(ctx context.Context, p referral.OpenTeamParams) (referral.Team, bool, error) {
	t, created, err := m.Store.OpenTeam(ctx, p)
	if err == nil && created {
		m.mu.Lock()
		if t.Lottery {
			m.lottery[t.GroupBuy] = true
		} else {
			m.regular[t.GroupBuy] = true
		}
		m.mu.Unlock()
	}
	return t, created, err
}

func (m *rmCrossTenantKinds) SaveDraw(ctx context.Context, d referral.Draw) (referral.Draw, bool, error) {
	got, created, err := m.Store.SaveDraw(ctx, d)
	if err == nil && created {
		m.mu.Lock()
		m.drawn[d.GroupBuy] = true
		m.mu.Unlock()
	}
	return got, created, err
}

func (m *rmCrossTenantKinds) PutGroupBuy(ctx context.Context, p referral.PutGroupBuyParams) error {
	id := p.GroupBuy.ID
	m.mu.Lock()
	lottery, regular, drawn := m.lottery[id], m.regular[id], m.drawn[id]
	m.mu.Unlock()
	switch {
	case p.NoLotteryTeams && lottery:
		return rmConflict("NoLotteryTeams")
	case p.NoRegularTeams && regular:
		return rmConflict("NoRegularTeams")
	case p.NotDrawn && drawn:
		return rmConflict("NotDrawn")
	}
	return m.Store.PutGroupBuy(ctx, p)
}

// rmPutIgnoresTeams checks the revision but not the teams found.
type rmPutIgnoresTeams struct{ referral.Store }

func (m *rmPutIgnoresTeams) PutGroupBuy(ctx context.Context, p referral.PutGroupBuyParams) error {
	p.NoLotteryTeams, p.NoRegularTeams = false, false
	return m.Store.PutGroupBuy(ctx, p)
}

// rmPutCheckThenAct reads the revision, checks it, then writes in a
// separate step (no row lock, no conditional update): concurrent puts over
// one revision all win.
type rmPutCheckThenAct struct {
	referral.Store
	ov mutants.Overlap // widens the read-to-write window
}

func (m *rmPutCheckThenAct) PutGroupBuy(ctx context.Context, p referral.PutGroupBuyParams) error {
	stored := func() int64 {
		g, err := m.Store.GetGroupBuy(ctx, p.GroupBuy.Tenant, p.GroupBuy.ID)
		if err != nil {
			return 0
		}
		return g.Revision
	}
	if stored() != p.Revision {
		return rmConflict("Revision")
	}
	runtime.Gosched()
	m.ov.Wait()
	p.Revision = stored()
	return m.Store.PutGroupBuy(ctx, p)
}

// rmOpenIgnoresRevision opens teams whatever the group buy's revision.
type rmOpenIgnoresRevision struct{ referral.Store }

func (m *rmOpenIgnoresRevision) OpenTeam(ctx context.Context, p referral.OpenTeamParams) (referral.Team, bool, error) {
	p.GroupBuyRevision = 0
	return m.Store.OpenTeam(ctx, p)
}

// rmDrawIgnoresRevision saves draws whatever the group buy's revision.
type rmDrawIgnoresRevision struct{ referral.Store }

func (m *rmDrawIgnoresRevision) SaveDraw(ctx context.Context, d referral.Draw) (referral.Draw, bool, error) {
	d.GroupBuyRevision = 0
	return m.Store.SaveDraw(ctx, d)
}

// rmGrantsByKey completes (or, with release, releases) grants by key in
// every tenant, as a statement without the tenant in its WHERE would.
type rmGrantsByKey struct {
	referral.Store
	release bool
	mu      sync.Mutex
	tenants []scrm.TenantID
}

func (m *rmGrantsByKey) ClaimGrants(ctx context.Context, p referral.ClaimGrantsParams) ([]referral.GrantClaim, error) {
	m.mu.Lock()
	if !slices.Contains(m.tenants, p.Tenant) {
		m.tenants = append(m.tenants, p.Tenant)
	}
	m.mu.Unlock()
	return m.Store.ClaimGrants(ctx, p)
}

func (m *rmGrantsByKey) others(tenant scrm.TenantID) []scrm.TenantID {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []scrm.TenantID
	for _, t := range m.tenants {
		if t != tenant {
			out = append(out, t)
		}
	}
	return out
}

func (m *rmGrantsByKey) CompleteGrants(ctx context.Context, tenant scrm.TenantID, keys []string, at time.Time) error {
	if err := m.Store.CompleteGrants(ctx, tenant, keys, at); err != nil || m.release {
		return err
	}
	for _, o := range m.others(tenant) {
		for _, k := range keys {
			_ = m.Store.CompleteGrants(ctx, o, []string{k}, at)
		}
	}
	return nil
}

func (m *rmGrantsByKey) ReleaseGrants(ctx context.Context, tenant scrm.TenantID, keys []string) error {
	if err := m.Store.ReleaseGrants(ctx, tenant, keys); err != nil || !m.release {
		return err
	}
	for _, o := range m.others(tenant) {
		_ = m.Store.ReleaseGrants(ctx, o, keys)
	}
	return nil
}

// rmLimitsActiveOnly counts only active bindings towards a Bind limit (a
// count with "status = 'active'"), so bindings held for review or
// rejected free places.
type rmLimitsActiveOnly struct {
	referral.Store
	mu   sync.Mutex
	held []referral.Binding // bindings stored under review or rejected
}

func (m *rmLimitsActiveOnly) Bind(ctx context.Context, p referral.BindParams) (referral.Binding, error) {
	m.mu.Lock()
	limits := slices.Clone(p.Limits)
	for i, l := range limits {
		for _, b := range m.held {
			v := map[referral.LimitBy]string{referral.LimitByInviter: string(b.Inviter),
				referral.LimitByDevice: b.Signals.Device, referral.LimitByIP: b.Signals.IP}[l.By]
			if b.Tenant == p.Binding.Tenant && v == l.Value && !b.At.Before(l.Since) {
				limits[i].Max++
			}
		}
	}
	m.mu.Unlock()
	p.Limits = limits
	b, err := m.Store.Bind(ctx, p)
	if err == nil && b.Status == referral.StatusReview {
		m.mu.Lock()
		m.held = append(m.held, b)
		m.mu.Unlock()
	}
	return b, err
}

func (m *rmLimitsActiveOnly) Review(ctx context.Context, p referral.ReviewParams) (referral.ReviewResult, error) {
	res, err := m.Store.Review(ctx, p)
	if err == nil && p.Approve {
		m.mu.Lock()
		m.held = slices.DeleteFunc(m.held, func(b referral.Binding) bool {
			return b.Tenant == p.Tenant && b.Invitee == p.Invitee
		})
		m.mu.Unlock()
	}
	return res, err
}
