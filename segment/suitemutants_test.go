package segment_test

// Mutation tests of the conformance suite (segmenttest.RunStoreTests): each
// mutant is the memory store with one method broken the way a plausible
// host implementation would break it. TestSuiteMutants runs the suite
// against every mutant in a child process (TestSuiteMutantChild) and
// requires the suite to fail it, in the subtest named.

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/segment"
	"github.com/scrmkit/scrmkit/segment/segmenttest"
)

// gmEnv names the mutant a child process runs the suite against.
const gmEnv = "SCRMKIT_SEGMENT_MUTANT"

var gmMutants = []mutants.Store[segment.Store]{
	// Gaps the suite had: each has its own conformance case now.
	{Name: "GenerationAcrossTenants", Run: "GenerationIsPerTenant", Want: "GenerationIsPerTenant",
		New: func() segment.Store { return &gmGlobalGeneration{Store: segment.NewMemoryStore()} }},
	{Name: "ContainsAnyTenant", Run: "MembershipReadsArePerTenant", Want: "MembershipReadsArePerTenant",
		New: func() segment.Store { return &gmContainsAnyTenant{newGMTenants()} }},
	{Name: "MembersCollated", Run: "MembersInByteOrder", Want: "MembersInByteOrder",
		New: func() segment.Store { return &gmMembers{Store: segment.NewMemoryStore(), cmp: gmCollate} }},
	{Name: "UnreportedCursorWithoutIn", Run: "UnreportedPagesSplitExitAndEntryAtOneVersion", Want: "UnreportedPagesSplitExitAndEntryAtOneVersion",
		New: func() segment.Store { return &gmUnreportedCursorNoIn{Store: segment.NewMemoryStore()} }},

	// Mutants the suite already caught.
	{Name: "SaveSegmentIgnoresGeneration", Run: "SaveSegmentAtGeneration", Want: "SaveSegmentAtGeneration",
		New: func() segment.Store { return &gmSaveIgnoresGeneration{Store: segment.NewMemoryStore()} }},
	{Name: "EqualVersionIgnored", Run: "Membership", Want: "Membership",
		New: func() segment.Store { return &gmEqualVersionIgnored{Store: segment.NewMemoryStore()} }},
	{Name: "MarkReportedByCustomer", Run: "Unreported", Want: "Unreported",
		New: func() segment.Store { return &gmMarkByCustomer{Store: segment.NewMemoryStore()} }},
	{Name: "MembersCursorInclusive", Run: "MembersPages", Want: "MembersPages",
		New: func() segment.Store {
			return &gmMembers{Store: segment.NewMemoryStore(), cmp: strings.Compare, inclusive: true}
		}},
	{Name: "SizeAnyTenant", Run: "TenantIsolation", Want: "TenantIsolation",
		New: func() segment.Store { return &gmSizeAnyTenant{newGMTenants()} }},
	{Name: "GetSegmentAnyTenant", Run: "TenantIsolation", Want: "TenantIsolation",
		New: func() segment.Store { return &gmGetSegmentAnyTenant{newGMTenants()} }},
}

// gmMutantsList returns the mutants for package mutants.
func gmMutantsList() []mutants.Mutant {
	return mutants.Stores(segmenttest.RunStoreTests, gmMutants)
}

// TestSuiteMutantChild runs the suite against the mutant named by gmEnv;
// it is TestSuiteMutants' child process and skips otherwise.
func TestSuiteMutantChild(t *testing.T) { mutants.Child(t, gmEnv, gmMutantsList()) }

// TestSuiteMutants proves that the conformance suite fails every mutant.
func TestSuiteMutants(t *testing.T) { mutants.Spawn(t, gmEnv, "TestSuiteMutantChild", gmMutantsList()) }

// gmGlobalGeneration numbers definition writes with one sequence for all
// tenants (a shared database sequence), so another tenant's writes move a
// tenant's generation.
type gmGlobalGeneration struct {
	segment.Store
	mu     sync.Mutex
	writes map[scrm.TenantID]int64
	total  int64
}

// offset is the number of other tenants' writes.
func (m *gmGlobalGeneration) offset(tenant scrm.TenantID) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total - m.writes[tenant]
}

func (m *gmGlobalGeneration) bump(tenant scrm.TenantID, err error) {
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.writes == nil {
		m.writes = map[scrm.TenantID]int64{}
	}
	m.writes[tenant]++
	m.total++
}

func (m *gmGlobalGeneration) CreateSegment(ctx context.Context, seg segment.Segment) (segment.Segment, error) {
	got, err := m.Store.CreateSegment(ctx, seg)
	m.bump(seg.Tenant, err)
	return got, err
}

func (m *gmGlobalGeneration) UpdateSegment(ctx context.Context, seg segment.Segment) (segment.Segment, error) {
	got, err := m.Store.UpdateSegment(ctx, seg)
	m.bump(seg.Tenant, err)
	return got, err
}

func (m *gmGlobalGeneration) SaveSegment(ctx context.Context, seg segment.Segment, generation int64) (segment.Segment, error) {
	got, err := m.Store.SaveSegment(ctx, seg, generation-m.offset(seg.Tenant))
	m.bump(seg.Tenant, err)
	return got, err
}

func (m *gmGlobalGeneration) DeleteSegment(ctx context.Context, tenant scrm.TenantID, id string) error {
	err := m.Store.DeleteSegment(ctx, tenant, id)
	m.bump(tenant, err)
	return err
}

func (m *gmGlobalGeneration) Generation(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	g, err := m.Store.Generation(ctx, tenant)
	return g + m.offset(tenant), err
}

func (m *gmGlobalGeneration) ListSegments(ctx context.Context, tenant scrm.TenantID) (segment.SegmentList, error) {
	list, err := m.Store.ListSegments(ctx, tenant)
	list.Generation += m.offset(tenant)
	return list, err
}

// gmSaveIgnoresGeneration creates or updates whatever the generation.
type gmSaveIgnoresGeneration struct{ segment.Store }

func (m *gmSaveIgnoresGeneration) SaveSegment(ctx context.Context, seg segment.Segment, _ int64) (segment.Segment, error) {
	if seg.Version == 0 {
		return m.Store.CreateSegment(ctx, seg)
	}
	return m.Store.UpdateSegment(ctx, seg)
}

// gmEqualVersionIgnored applies a change only over a strictly older record
// (WHERE stored.version < new.version): at equal versions the earlier call
// wins.
type gmEqualVersionIgnored struct {
	segment.Store
	mu   sync.Mutex
	last map[string]int64 // tenant, segment, customer → version applied
}

func (m *gmEqualVersionIgnored) ApplyMembership(ctx context.Context, p segment.ApplyMembershipParams) ([]segment.MembershipChange, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[string]int64{}
	}
	key := func(c segment.MembershipChange) string {
		return string(p.Tenant) + "\x00" + p.Segment + "\x00" + string(c.Customer)
	}
	var kept []segment.MembershipChange
	for _, c := range p.Changes {
		if v, ok := m.last[key(c)]; !ok || c.Version > v {
			kept = append(kept, c)
		}
	}
	p.Changes = kept
	flipped, err := m.Store.ApplyMembership(ctx, p)
	if err == nil {
		for _, c := range kept {
			m.last[key(c)] = c.Version
		}
	}
	return flipped, err
}

// gmMarkByCustomer clears every unreported change of a customer named,
// whatever its In and Version.
type gmMarkByCustomer struct{ segment.Store }

func (m *gmMarkByCustomer) MarkReported(ctx context.Context, p segment.MarkReportedParams) error {
	var all []segment.MembershipChange
	for _, c := range p.Changes {
		page, err := m.Store.ListUnreported(ctx, segment.ListUnreportedParams{Tenant: p.Tenant, Segment: p.Segment, Customer: c.Customer, Limit: 1000})
		if err != nil {
			return m.Store.MarkReported(ctx, p)
		}
		for _, u := range page.Changes {
			all = append(all, u.MembershipChange)
		}
	}
	p.Changes = append(p.Changes, all...)
	return m.Store.MarkReported(ctx, p)
}
