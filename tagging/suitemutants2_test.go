package tagging_test

// More mutants of the conformance suite (see suitemutants_test.go): the
// definitions revision a Service reloads its rules by.

import (
	"context"
	"slices"
	"sync"

	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/tagging"
)

// tmMutants2 extends tmMutants; tmMutantsList runs both.
var tmMutants2 = []mutants.Store[tagging.Store]{
	// Gaps the suite had: each has its own conformance case now.
	{Name: "RuleUpdateKeepsRevision", Run: "Definitions/EveryChangeMovesRevision", Want: "Definitions/EveryChangeMovesRevision",
		New: func() tagging.Store {
			return &tmUpdateKeepsRevision{Store: tagging.NewMemoryStore(), rules: true, lag: map[scrm.TenantID]int64{}}
		}},
	{Name: "TagUpdateKeepsRevision", Run: "Definitions/EveryChangeMovesRevision", Want: "Definitions/EveryChangeMovesRevision",
		New: func() tagging.Store {
			return &tmUpdateKeepsRevision{Store: tagging.NewMemoryStore(), lag: map[scrm.TenantID]int64{}}
		}},
	{Name: "RevisionCached", Run: "Definitions/EveryChangeMovesRevision", Want: "Definitions/EveryChangeMovesRevision",
		New: func() tagging.Store {
			return &tmRevisionCached{Store: tagging.NewMemoryStore(), seen: map[scrm.TenantID]int64{}}
		}},
	{Name: "RevisionReadModifyWrite", Run: "Concurrency/ConcurrentPutsEachMoveRevision", Want: "Concurrency/ConcurrentPutsEachMoveRevision",
		New: func() tagging.Store {
			return &tmRevisionRMW{Store: tagging.NewMemoryStore(), lag: map[scrm.TenantID]int64{}}
		}},
	{Name: "TagsInCreationOrder", Run: "Definitions/SortedByID", Want: "Definitions/SortedByID",
		New: func() tagging.Store { return &tmTagsCreationOrder{Store: tagging.NewMemoryStore()} }},

	// Mutants the suite already caught.
	{Name: "DeleteRuleKeepsRevision", Run: "Definitions/DeleteRule", Want: "Definitions/DeleteRule",
		New: func() tagging.Store {
			return &tmUpdateKeepsRevision{Store: tagging.NewMemoryStore(), deletes: true, lag: map[scrm.TenantID]int64{}}
		}},
}

// tmUpdateKeepsRevision leaves the tenant's revision alone on updates of
// tags (or of rules, with rules; or on DeleteRule, with deletes): only
// creations move it (a revision bumped by an INSERT trigger alone).
type tmUpdateKeepsRevision struct {
	tagging.Store
	rules, deletes bool
	mu             sync.Mutex
	lag            map[scrm.TenantID]int64 // revisions the real store moved that the mutant hides
}

func (m *tmUpdateKeepsRevision) hide(tenant scrm.TenantID) {
	m.mu.Lock()
	m.lag[tenant]++
	m.mu.Unlock()
}

func (m *tmUpdateKeepsRevision) PutTag(ctx context.Context, tenant scrm.TenantID, t tagging.Tag) (tagging.Tag, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	got, err := m.Store.PutTag(ctx, tenant, t)
	if err == nil && t.Version > 0 && !m.rules && !m.deletes {
		m.lag[tenant]++
	}
	return got, err
}

func (m *tmUpdateKeepsRevision) PutRule(ctx context.Context, tenant scrm.TenantID, r tagging.Rule) (tagging.Rule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	got, err := m.Store.PutRule(ctx, tenant, r)
	if err == nil && r.Version > 0 && m.rules {
		m.lag[tenant]++
	}
	return got, err
}

func (m *tmUpdateKeepsRevision) DeleteRule(ctx context.Context, tenant scrm.TenantID, id string) error {
	err := m.Store.DeleteRule(ctx, tenant, id)
	if err == nil && m.deletes {
		m.hide(tenant)
	}
	return err
}

func (m *tmUpdateKeepsRevision) Revision(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rev, err := m.Store.Revision(ctx, tenant)
	return rev - m.lag[tenant], err
}

func (m *tmUpdateKeepsRevision) Definitions(ctx context.Context, tenant scrm.TenantID) (tagging.Definitions, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.Store.Definitions(ctx, tenant)
	d.Revision -= m.lag[tenant]
	return d, err
}

// tmRevisionCached answers Revision from a cache filled on the first read
// of each tenant's revision and never invalidated ("it must be cheap").
type tmRevisionCached struct {
	tagging.Store
	mu   sync.Mutex
	seen map[scrm.TenantID]int64
}

func (m *tmRevisionCached) Revision(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	rev, err := m.Store.Revision(ctx, tenant)
	if err != nil {
		return rev, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cached, ok := m.seen[tenant]; ok {
		return cached, nil
	}
	m.seen[tenant] = rev
	return rev, nil
}

// tmTagsCreationOrder lists the tenant's tags in the order they were
// created (ORDER BY created_at), not by ID.
type tmTagsCreationOrder struct {
	tagging.Store
	mu    sync.Mutex
	order []string // tenant + "\x00" + tag ID, in creation order
}

func (m *tmTagsCreationOrder) PutTag(ctx context.Context, tenant scrm.TenantID, t tagging.Tag) (tagging.Tag, error) {
	got, err := m.Store.PutTag(ctx, tenant, t)
	if err == nil && t.Version == 0 {
		m.mu.Lock()
		m.order = append(m.order, string(tenant)+"\x00"+t.ID)
		m.mu.Unlock()
	}
	return got, err
}

func (m *tmTagsCreationOrder) Definitions(ctx context.Context, tenant scrm.TenantID) (tagging.Definitions, error) {
	d, err := m.Store.Definitions(ctx, tenant)
	m.mu.Lock()
	defer m.mu.Unlock()
	rank := func(id string) int { return slices.Index(m.order, string(tenant)+"\x00"+id) }
	slices.SortStableFunc(d.Tags, func(a, b tagging.Tag) int { return rank(a.ID) - rank(b.ID) })
	return d, err
}

// tmRevisionRMW increments the tenant's revision by a read-modify-write
// outside the Put's transaction (SELECT rev; ...; UPDATE SET rev = $1+1),
// so that concurrent Puts share one revision.
type tmRevisionRMW struct {
	tagging.Store
	ov  mutants.Overlap // widens the read-to-write window
	mu  sync.Mutex
	lag map[scrm.TenantID]int64 // increments the real store made that were lost
}

func (m *tmRevisionRMW) PutTag(ctx context.Context, tenant scrm.TenantID, t tagging.Tag) (tagging.Tag, error) {
	read, err := m.Revision(ctx, tenant)
	if err != nil {
		return tagging.Tag{}, err
	}
	m.ov.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	got, err := m.Store.PutTag(ctx, tenant, t)
	if err != nil {
		return got, err
	}
	real, err := m.Store.Revision(ctx, tenant)
	if err != nil {
		return got, err
	}
	m.lag[tenant] = max(m.lag[tenant], real-(read+1))
	return got, nil
}

func (m *tmRevisionRMW) Revision(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rev, err := m.Store.Revision(ctx, tenant)
	return rev - m.lag[tenant], err
}

func (m *tmRevisionRMW) Definitions(ctx context.Context, tenant scrm.TenantID) (tagging.Definitions, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.Store.Definitions(ctx, tenant)
	d.Revision -= m.lag[tenant]
	return d, err
}
