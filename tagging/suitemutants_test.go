package tagging_test

// Mutation tests of the conformance suite (taggingtest.RunStoreTests):
// each mutant is the memory store with one method broken the way a
// plausible host implementation would break it. TestTMSuiteMutants runs
// the suite against every mutant in a child process
// (TestTMSuiteMutantChild) and requires the suite to fail it, in the
// subtest named.

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/tagging"
	"github.com/scrmkit/scrmkit/tagging/taggingtest"
)

// tmEnv names the mutant a child process runs the suite against.
const tmEnv = "SCRMKIT_TAGGING_MUTANT"

var tmMutants = []mutants.Store[tagging.Store]{
	// Gaps the suite had: each has its own conformance case now.
	{Name: "HistoryTiesByID", Run: "History/SameTimePagesInRecordedOrder", Want: "History/SameTimePagesInRecordedOrder",
		New: func() tagging.Store { return &tmHistoryByID{Store: tagging.NewMemoryStore()} }},
	{Name: "HistoryCursorTimeOnly", Run: "History/SameTimePagesInRecordedOrder", Want: "History/SameTimePagesInRecordedOrder",
		New: func() tagging.Store { return &tmHistoryTimeCursor{Store: tagging.NewMemoryStore()} }},
	// Caught before only by Concurrency/ConcurrentMergeAndRecord, when its
	// goroutines happen to record out of version order; now by a
	// deterministic case.
	{Name: "StaleMergeNotAbsorbed", Run: "Merge/StaleVersionStillAbsorbs", Want: "Merge/StaleVersionStillAbsorbs",
		New: func() tagging.Store {
			return &tmStaleMerge{Store: tagging.NewMemoryStore(), versions: map[string]int64{}}
		}},

	// Mutants the suite already caught.
	{Name: "PutKeyLastWins", Run: "Keys/FirstWins", Want: "Keys/FirstWins",
		New: func() tagging.Store { return &tmKeyLastWins{Store: tagging.NewMemoryStore()} }},
	{Name: "PutKeyPerCustomer", Run: "Keys/FirstWins", Want: "Keys/FirstWins",
		New: func() tagging.Store { return &tmKeyPerCustomer{Store: tagging.NewMemoryStore()} }},
	{Name: "PutKeyCheckThenPut", Run: "Keys/RaceOneWins", Want: "Keys/RaceOneWins",
		New: func() tagging.Store {
			return &tmKeyRace{Store: tagging.NewMemoryStore(), seen: map[string]tagging.KeyRecord{}}
		}},
	{Name: "RecordIgnoresVersion", Run: "Index/FollowsTags", Want: "Index/FollowsTags",
		New: func() tagging.Store { return &tmRecordAnyVersion{Store: tagging.NewMemoryStore()} }},
	{Name: "CustomersCursorInclusive", Run: "Index/CustomersPages", Want: "Index/CustomersPages",
		New: func() tagging.Store { return &tmCustomersInclusive{Store: tagging.NewMemoryStore()} }},
	{Name: "HistoryOldestFirst", Run: "History/RoundTripNewestFirst", Want: "History/RoundTripNewestFirst",
		New: func() tagging.Store { return &tmHistoryOldestFirst{Store: tagging.NewMemoryStore()} }},
	{Name: "HistoryIgnoresCause", Run: "History/PagesAndCause", Want: "History/PagesAndCause",
		New: func() tagging.Store { return &tmHistoryNoCause{Store: tagging.NewMemoryStore()} }},
	{Name: "PutGroupLastWriteWins", Run: "Definitions/Versions", Want: "Definitions/Versions",
		New: func() tagging.Store { return &tmGroupLWW{Store: tagging.NewMemoryStore()} }},
	{Name: "CountIgnoresContext", Run: "General/CancelledContext", Want: "General/CancelledContext",
		New: func() tagging.Store { return &tmNoContext{Store: tagging.NewMemoryStore()} }},
}

// tmMutantsList returns the mutants for package mutants.
func tmMutantsList() []mutants.Mutant {
	return mutants.Stores(taggingtest.RunStoreTests, tmMutants, tmMutants2)
}

// TestTMSuiteMutantChild runs the suite against the mutant named by tmEnv;
// it is TestTMSuiteMutants' child process and skips otherwise.
func TestTMSuiteMutantChild(t *testing.T) { mutants.Child(t, tmEnv, tmMutantsList()) }

// TestTMSuiteMutants proves that the conformance suite fails every mutant.
func TestTMSuiteMutants(t *testing.T) {
	mutants.Spawn(t, tmEnv, "TestTMSuiteMutantChild", tmMutantsList())
}

// tmAllHistory reads every entry of a customer (of one cause, if set),
// newest first, through the memory store.
func tmAllHistory(ctx context.Context, s tagging.Store, p tagging.ListHistoryParams) ([]tagging.HistoryEntry, error) {
	var all []tagging.HistoryEntry
	q := tagging.ListHistoryParams{Tenant: p.Tenant, Customer: p.Customer, Cause: p.Cause, Limit: 1000}
	for {
		page, err := s.ListHistory(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Entries...)
		if page.Next == "" {
			return all, nil
		}
		q.Cursor = page.Next
	}
}

func tmLimit(l int) int {
	if l <= 0 {
		return 100
	}
	return min(l, 1000)
}

// tmHistoryByID orders history by At, then ID, both descending (an
// ORDER BY at DESC, id DESC), instead of the recorded order, paging by
// entry ID.
type tmHistoryByID struct{ tagging.Store }

func (m *tmHistoryByID) ListHistory(ctx context.Context, p tagging.ListHistoryParams) (tagging.HistoryPage, error) {
	if p.Cursor != "" {
		// The memory store validates the cursor.
		if _, err := m.Store.ListHistory(ctx, tagging.ListHistoryParams{Tenant: p.Tenant, Customer: p.Customer, Cursor: p.Cursor, Limit: 1}); err != nil {
			return tagging.HistoryPage{}, err
		}
	}
	all, err := tmAllHistory(ctx, m.Store, p)
	if err != nil {
		return tagging.HistoryPage{}, err
	}
	slices.SortStableFunc(all, func(a, b tagging.HistoryEntry) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if p.Cursor != "" {
		k := slices.IndexFunc(all, func(e tagging.HistoryEntry) bool { return e.ID == p.Cursor })
		all = all[k+1:]
	}
	var page tagging.HistoryPage
	if limit := tmLimit(p.Limit); len(all) > limit {
		all = all[:limit]
		page.Next = all[limit-1].ID
	}
	page.Entries = all
	return page, nil
}

// tmHistoryTimeCursor pages history with the last entry's At as the
// cursor, skipping the entries of the same At after a page boundary.
type tmHistoryTimeCursor struct{ tagging.Store }

func (m *tmHistoryTimeCursor) ListHistory(ctx context.Context, p tagging.ListHistoryParams) (tagging.HistoryPage, error) {
	var before time.Time
	if p.Cursor != "" {
		var err error
		if before, err = time.Parse(time.RFC3339Nano, p.Cursor); err != nil {
			return tagging.HistoryPage{}, scrm.Invalid("mutant", "Cursor", "malformed")
		}
	}
	all, err := tmAllHistory(ctx, m.Store, p)
	if err != nil {
		return tagging.HistoryPage{}, err
	}
	var page tagging.HistoryPage
	limit := tmLimit(p.Limit)
	for _, e := range all {
		if p.Cursor != "" && !e.At.Before(before) {
			continue
		}
		if len(page.Entries) == limit {
			page.Next = page.Entries[limit-1].At.Format(time.RFC3339Nano)
			break
		}
		page.Entries = append(page.Entries, e)
	}
	return page, nil
}

// tmStaleMerge returns early from a Record whose profile version is older
// than the survivor's recorded one, after appending its entries: the
// merge it carries is lost.
type tmStaleMerge struct {
	tagging.Store
	mu       sync.Mutex
	versions map[string]int64
}

func (m *tmStaleMerge) Record(ctx context.Context, p tagging.RecordParams) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := string(p.Tenant) + "/" + string(p.Customer)
	v, ok := m.versions[k]
	if ok && p.Version < v {
		p.Absorbed = nil
	}
	err := m.Store.Record(ctx, p)
	if err == nil && (!ok || p.Version > v) {
		m.versions[k] = p.Version
	}
	return err
}

// tmKeyLastWins returns the request as the key's record (an upsert that
// returns the new row), not the record first stored.
type tmKeyLastWins struct{ tagging.Store }

func (m *tmKeyLastWins) PutKey(ctx context.Context, k tagging.KeyRecord) (tagging.KeyRecord, error) {
	if _, err := m.Store.PutKey(ctx, k); err != nil {
		return tagging.KeyRecord{}, err
	}
	return k, nil
}

// tmKeyPerCustomer keys idempotency records by customer and key.
type tmKeyPerCustomer struct{ tagging.Store }

func (m *tmKeyPerCustomer) PutKey(ctx context.Context, k tagging.KeyRecord) (tagging.KeyRecord, error) {
	c := k
	c.Key = string(k.Customer) + "\x00" + k.Key
	got, err := m.Store.PutKey(ctx, c)
	got.Key = k.Key
	return got, err
}

// tmKeyRace looks a key up, then stores it unconditionally: two new
// requests racing with one key both win.
type tmKeyRace struct {
	ov mutants.Overlap // widens the read-to-write window
	tagging.Store
	mu   sync.Mutex
	seen map[string]tagging.KeyRecord
}

func (m *tmKeyRace) PutKey(ctx context.Context, k tagging.KeyRecord) (tagging.KeyRecord, error) {
	if _, err := m.Store.PutKey(ctx, tagging.KeyRecord{Tenant: k.Tenant, Key: "probe", Customer: k.Customer}); err != nil {
		return tagging.KeyRecord{}, err
	}
	id := string(k.Tenant) + "/" + k.Key
	m.mu.Lock()
	r, ok := m.seen[id]
	m.mu.Unlock()
	if ok {
		return r, nil
	}
	m.ov.Wait()
	m.mu.Lock()
	m.seen[id] = k
	m.mu.Unlock()
	return k, nil
}

// tmRecordAnyVersion makes the index follow the last Record, whatever its
// profile version.
type tmRecordAnyVersion struct {
	tagging.Store
	mu sync.Mutex
	v  int64
}

func (m *tmRecordAnyVersion) Record(ctx context.Context, p tagging.RecordParams) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.v++
	p.Version = m.v
	return m.Store.Record(ctx, p)
}

// tmCustomersInclusive pages from the cursor included.
type tmCustomersInclusive struct{ tagging.Store }

func (m *tmCustomersInclusive) Customers(ctx context.Context, p tagging.ListCustomersParams) (tagging.CustomerPage, error) {
	if p.Cursor != "" {
		p.Cursor = p.Cursor[:len(p.Cursor)-1]
	}
	return m.Store.Customers(ctx, p)
}

// tmHistoryOldestFirst lists each page oldest first.
type tmHistoryOldestFirst struct{ tagging.Store }

func (m *tmHistoryOldestFirst) ListHistory(ctx context.Context, p tagging.ListHistoryParams) (tagging.HistoryPage, error) {
	page, err := m.Store.ListHistory(ctx, p)
	slices.Reverse(page.Entries)
	return page, err
}

// tmHistoryNoCause ignores the Cause filter.
type tmHistoryNoCause struct{ tagging.Store }

func (m *tmHistoryNoCause) ListHistory(ctx context.Context, p tagging.ListHistoryParams) (tagging.HistoryPage, error) {
	p.Cause = ""
	return m.Store.ListHistory(ctx, p)
}

// tmGroupLWW stores a group whatever version the caller read.
type tmGroupLWW struct{ tagging.Store }

func (m *tmGroupLWW) PutGroup(ctx context.Context, tenant scrm.TenantID, g tagging.Group) (tagging.Group, error) {
	if d, err := m.Store.Definitions(ctx, tenant); err == nil {
		for _, cur := range d.Groups {
			if cur.ID == g.ID {
				g.Version = cur.Version
			}
		}
	}
	return m.Store.PutGroup(ctx, tenant, g)
}

// tmNoContext counts whatever the context.
type tmNoContext struct{ tagging.Store }

func (m *tmNoContext) Count(_ context.Context, tenant scrm.TenantID, tag string) (int, error) {
	return m.Store.Count(context.Background(), tenant, tag)
}
