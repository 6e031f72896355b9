package tagging

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
)

// NewMemoryStore returns a Store that keeps everything in memory. It is safe
// for concurrent use, copies values in and out, keeps tenants apart with a
// lock each, and is built for the hot path: Revision is a read-locked
// lookup, Record touches only the customer's own entries and the tags that
// changed, Count is a counter. Customers lists from a sorted index that new
// members join lazily, so tagging a million customers costs one sort, not a
// million insertions. It keeps every history entry (and its ID, for
// deduplication), idempotency key and merge for as long as it lives.
func NewMemoryStore() Store {
	return &memoryStore{tenants: make(map[scrm.TenantID]*memTenant)}
}

type memoryStore struct {
	mu      sync.Mutex
	tenants map[scrm.TenantID]*memTenant
}

var _ Store = (*memoryStore)(nil)

type memTenant struct {
	mu     sync.RWMutex
	rev    int64
	groups map[string]Group
	tags   map[string]Tag
	rules  map[string]Rule

	seq     int64                               // orders entries recorded at the same At
	history map[scrm.CustomerID][]*memEntry     // ascending (At, seq)
	owner   map[string]scrm.CustomerID          // entry ID → customer holding it
	marks   map[scrm.CustomerID]*memCustomer    // index, customer side
	index   map[string]*memTagIndex             // index, tag side
	merged  map[scrm.CustomerID]scrm.CustomerID // absorbed customer → the customer that absorbed it
	keys    map[string]KeyRecord                // idempotency keys by KeyRecord.Key
}

type memEntry struct {
	HistoryEntry
	seq int64
}

func entryLess(a, b *memEntry) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	return a.seq < b.seq
}

type memCustomer struct {
	version int64
	tags    map[string]scrm.TagMark
}

// memTagIndex lists the customers carrying one tag. sorted holds customer
// IDs in order, possibly with tombstones (members no longer live); new
// members wait in pending until the next listing merges them in.
type memTagIndex struct {
	members map[scrm.CustomerID]*memMember
	sorted  []scrm.CustomerID
	pending []scrm.CustomerID
	live    int
	dead    int // tombstones in sorted
}

type memMember struct {
	mark     scrm.TagMark
	live     bool
	inSorted bool
}

func (s *memoryStore) tenant(t scrm.TenantID, create bool) *memTenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	mt := s.tenants[t]
	if mt == nil && create {
		mt = &memTenant{
			groups:  make(map[string]Group),
			tags:    make(map[string]Tag),
			rules:   make(map[string]Rule),
			history: make(map[scrm.CustomerID][]*memEntry),
			owner:   make(map[string]scrm.CustomerID),
			marks:   make(map[scrm.CustomerID]*memCustomer),
			index:   make(map[string]*memTagIndex),
			merged:  make(map[scrm.CustomerID]scrm.CustomerID),
			keys:    make(map[string]KeyRecord),
		}
		s.tenants[t] = mt
	}
	return mt
}

// begin checks ctx and the tenant, the preamble of every method.
func begin(ctx context.Context, op string, tenant scrm.TenantID) error {
	if err := scrm.CheckContext(ctx, op); err != nil {
		return err
	}
	return scrm.CheckID(op, "Tenant", string(tenant))
}

func (s *memoryStore) PutGroup(ctx context.Context, tenant scrm.TenantID, g Group) (Group, error) {
	const op = "tagging.MemoryStore.PutGroup"
	if err := begin(ctx, op, tenant); err != nil {
		return Group{}, err
	}
	if err := scrm.CheckID(op, "ID", g.ID); err != nil {
		return Group{}, err
	}
	mt := s.tenant(tenant, true)
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if err := scrm.CheckVersion(op, "group", g.ID, g.Version, mt.groups[g.ID].Version); err != nil {
		return Group{}, err
	}
	g.Version++
	mt.groups[g.ID] = g
	mt.rev++
	return g, nil
}

func (s *memoryStore) PutTag(ctx context.Context, tenant scrm.TenantID, t Tag) (Tag, error) {
	const op = "tagging.MemoryStore.PutTag"
	if err := begin(ctx, op, tenant); err != nil {
		return Tag{}, err
	}
	if err := checkTagID(op, "ID", t.ID); err != nil {
		return Tag{}, err
	}
	mt := s.tenant(tenant, true)
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if t.Group != "" {
		if _, ok := mt.groups[t.Group]; !ok {
			return Tag{}, scrm.Invalid(op, "Group", "unknown group %q", t.Group)
		}
	}
	if err := scrm.CheckVersion(op, "tag", t.ID, t.Version, mt.tags[t.ID].Version); err != nil {
		return Tag{}, err
	}
	t.Version++
	mt.tags[t.ID] = t
	mt.rev++
	return t, nil
}

func (s *memoryStore) PutRule(ctx context.Context, tenant scrm.TenantID, r Rule) (Rule, error) {
	const op = "tagging.MemoryStore.PutRule"
	if err := begin(ctx, op, tenant); err != nil {
		return Rule{}, err
	}
	if err := scrm.CheckID(op, "ID", r.ID); err != nil {
		return Rule{}, err
	}
	r = copyRule(r) // outside the lock
	mt := s.tenant(tenant, true)
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if _, ok := mt.tags[r.Tag]; !ok {
		return Rule{}, scrm.Invalid(op, "Tag", "unknown tag %q", r.Tag)
	}
	if err := scrm.CheckVersion(op, "rule", r.ID, r.Version, mt.rules[r.ID].Version); err != nil {
		return Rule{}, err
	}
	r.Version++
	mt.rules[r.ID] = r
	mt.rev++
	return copyRule(r), nil
}

func (s *memoryStore) DeleteRule(ctx context.Context, tenant scrm.TenantID, id string) error {
	const op = "tagging.MemoryStore.DeleteRule"
	if err := begin(ctx, op, tenant); err != nil {
		return err
	}
	mt := s.tenant(tenant, false)
	if mt == nil {
		return scrm.Errorf(scrm.ErrNotFound, op, "rule %q", id)
	}
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if _, ok := mt.rules[id]; !ok {
		return scrm.Errorf(scrm.ErrNotFound, op, "rule %q", id)
	}
	delete(mt.rules, id)
	mt.rev++
	return nil
}

func (s *memoryStore) Definitions(ctx context.Context, tenant scrm.TenantID) (Definitions, error) {
	const op = "tagging.MemoryStore.Definitions"
	if err := begin(ctx, op, tenant); err != nil {
		return Definitions{}, err
	}
	var d Definitions
	mt := s.tenant(tenant, false)
	if mt == nil {
		return d, nil
	}
	mt.mu.RLock()
	d.Revision = mt.rev
	for _, id := range slices.Sorted(maps.Keys(mt.groups)) {
		d.Groups = append(d.Groups, mt.groups[id])
	}
	for _, id := range slices.Sorted(maps.Keys(mt.tags)) {
		d.Tags = append(d.Tags, mt.tags[id])
	}
	for _, id := range slices.Sorted(maps.Keys(mt.rules)) {
		d.Rules = append(d.Rules, mt.rules[id])
	}
	mt.mu.RUnlock()
	for i := range d.Rules {
		d.Rules[i] = copyRule(d.Rules[i])
	}
	return d, nil
}

func (s *memoryStore) Revision(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	const op = "tagging.MemoryStore.Revision"
	if err := begin(ctx, op, tenant); err != nil {
		return 0, err
	}
	mt := s.tenant(tenant, false)
	if mt == nil {
		return 0, nil
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	return mt.rev, nil
}

func (s *memoryStore) Record(ctx context.Context, p RecordParams) error {
	const op = "tagging.MemoryStore.Record"
	if err := begin(ctx, op, p.Tenant); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return err
	}
	for i, e := range p.Entries {
		if err := checkEntry(op, i, e); err != nil {
			return err
		}
	}
	for i, a := range p.Absorbed {
		if err := scrm.CheckID(op, "Absorbed["+itoa(i)+"]", string(a)); err != nil {
			return err
		}
		if a == p.Customer {
			return scrm.Invalid(op, "Absorbed["+itoa(i)+"]", "a customer cannot absorb itself")
		}
	}
	tags := maps.Clone(p.Tags) // outside the lock
	mt := s.tenant(p.Tenant, true)
	mt.mu.Lock()
	defer mt.mu.Unlock()

	// A customer absorbed meanwhile (this Record raced the merge) must not
	// come back: its entries go to the survivor, whose index this Record
	// knows nothing about.
	survivor := mt.survivor(p.Customer)
	redirected := survivor != p.Customer
	p.Customer = survivor
	hist := mt.history[p.Customer]
	sorted := true
	for _, a := range p.Absorbed {
		if a == p.Customer {
			continue // p.Customer was absorbed by a: a replayed merge after a newer one
		}
		if _, ok := mt.merged[a]; !ok {
			mt.merged[a] = p.Customer // p.Customer is a root, so no cycle
		}
		moved := mt.history[a]
		for _, e := range moved {
			e.Customer = p.Customer
			mt.owner[e.ID] = p.Customer
			hist = append(hist, e)
		}
		if len(moved) > 0 {
			sorted = false
		}
		delete(mt.history, a)
		if c := mt.marks[a]; c != nil {
			for tag := range c.tags {
				mt.unindex(tag, a)
			}
			delete(mt.marks, a)
		}
	}
	for _, e := range p.Entries {
		if _, dup := mt.owner[e.ID]; dup {
			continue
		}
		mt.seq++
		e.Customer = p.Customer
		me := &memEntry{HistoryEntry: e, seq: mt.seq}
		if n := len(hist); n > 0 && entryLess(me, hist[n-1]) {
			sorted = false
		}
		hist = append(hist, me)
		mt.owner[e.ID] = p.Customer
	}
	if !sorted {
		sort.SliceStable(hist, func(i, j int) bool { return entryLess(hist[i], hist[j]) })
	}
	if len(hist) > 0 {
		mt.history[p.Customer] = hist
	}

	if redirected {
		return nil
	}
	c := mt.marks[p.Customer]
	if c != nil && p.Version < c.version {
		return nil // a newer profile version was recorded first
	}
	if c == nil {
		c = &memCustomer{}
		mt.marks[p.Customer] = c
	}
	for tag := range c.tags {
		if _, keep := tags[tag]; !keep {
			mt.unindex(tag, p.Customer)
		}
	}
	for tag, m := range tags {
		if old, ok := c.tags[tag]; !ok || old != m {
			mt.indexTag(tag, p.Customer, m)
		}
	}
	c.version, c.tags = p.Version, tags
	return nil
}

// survivor follows the merges recorded for c to the customer that has not
// been absorbed; merged never points at an absorbed customer when written,
// so the chain ends.
func (mt *memTenant) survivor(c scrm.CustomerID) scrm.CustomerID {
	for {
		into, ok := mt.merged[c]
		if !ok {
			return c
		}
		c = into
	}
}

func (s *memoryStore) PutKey(ctx context.Context, k KeyRecord) (KeyRecord, error) {
	const op = "tagging.MemoryStore.PutKey"
	if err := begin(ctx, op, k.Tenant); err != nil {
		return KeyRecord{}, err
	}
	if err := scrm.CheckID(op, "Key", k.Key); err != nil {
		return KeyRecord{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(k.Customer)); err != nil {
		return KeyRecord{}, err
	}
	mt := s.tenant(k.Tenant, true)
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if prior, ok := mt.keys[k.Key]; ok {
		return prior, nil
	}
	mt.keys[k.Key] = k
	return k, nil
}

func checkEntry(op string, i int, e HistoryEntry) error {
	field := func(f string) string { return "Entries[" + itoa(i) + "]." + f }
	if err := scrm.CheckID(op, field("ID"), e.ID); err != nil {
		return err
	}
	if err := scrm.CheckID(op, field("Tag"), e.Tag); err != nil {
		return err
	}
	switch e.Action {
	case ActionApplied, ActionRefreshed, ActionRemoved:
	default:
		return scrm.Invalid(op, field("Action"), "want applied, refreshed or removed, got %q", e.Action)
	}
	return nil
}

func (mt *memTenant) indexTag(tag string, c scrm.CustomerID, m scrm.TagMark) {
	ix := mt.index[tag]
	if ix == nil {
		ix = &memTagIndex{members: make(map[scrm.CustomerID]*memMember)}
		mt.index[tag] = ix
	}
	mem := ix.members[c]
	switch {
	case mem == nil:
		ix.members[c] = &memMember{mark: m, live: true}
		ix.pending = append(ix.pending, c)
		ix.live++
	case !mem.live:
		mem.live = true
		ix.live++
		if mem.inSorted {
			ix.dead--
		} else {
			ix.pending = append(ix.pending, c)
		}
	}
	if mem != nil {
		mem.mark = m
	}
}

func (mt *memTenant) unindex(tag string, c scrm.CustomerID) {
	ix := mt.index[tag]
	if ix == nil {
		return
	}
	mem := ix.members[c]
	if mem == nil || !mem.live {
		return
	}
	ix.live--
	if mem.inSorted {
		mem.live = false
		ix.dead++
	} else {
		delete(ix.members, c) // its pending entry is skipped at merge
	}
}

// tidy merges pending members into sorted and drops tombstones when they
// outnumber the live members; called with the tenant locked for writing.
func (ix *memTagIndex) tidy() {
	if len(ix.pending) > 0 {
		slices.Sort(ix.pending)
		add := ix.pending[:0]
		for i, c := range ix.pending {
			if i > 0 && ix.pending[i-1] == c {
				continue
			}
			if m := ix.members[c]; m != nil && m.live && !m.inSorted {
				m.inSorted = true
				add = append(add, c)
			}
		}
		merged := make([]scrm.CustomerID, 0, len(ix.sorted)+len(add))
		i, j := 0, 0
		for i < len(ix.sorted) || j < len(add) {
			if j == len(add) || (i < len(ix.sorted) && ix.sorted[i] < add[j]) {
				merged = append(merged, ix.sorted[i])
				i++
			} else {
				merged = append(merged, add[j])
				j++
			}
		}
		ix.sorted, ix.pending = merged, nil
	}
	if ix.dead > 64 && ix.dead > ix.live {
		kept := ix.sorted[:0]
		for _, c := range ix.sorted {
			if m := ix.members[c]; m != nil && m.live {
				kept = append(kept, c)
			} else {
				delete(ix.members, c)
			}
		}
		clear(ix.sorted[len(kept):])
		ix.sorted, ix.dead = kept, 0
	}
}

func (s *memoryStore) ListHistory(ctx context.Context, p ListHistoryParams) (HistoryPage, error) {
	const op = "tagging.MemoryStore.ListHistory"
	if err := begin(ctx, op, p.Tenant); err != nil {
		return HistoryPage{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return HistoryPage{}, err
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	mt := s.tenant(p.Tenant, false)
	if mt == nil {
		if p.Cursor != "" {
			return HistoryPage{}, scrm.Invalid(op, "Cursor", "unknown cursor")
		}
		return HistoryPage{}, nil
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	hist := mt.history[p.Customer]
	i := len(hist) - 1
	if p.Cursor != "" {
		i = -2
		if mt.owner[p.Cursor] == p.Customer {
			for k := len(hist) - 1; k >= 0; k-- {
				if hist[k].ID == p.Cursor {
					i = k - 1
					break
				}
			}
		}
		if i == -2 {
			return HistoryPage{}, scrm.Invalid(op, "Cursor", "unknown cursor %q", p.Cursor)
		}
	}
	var page HistoryPage
	for ; i >= 0; i-- {
		e := hist[i]
		if p.Cause != "" && e.Cause != p.Cause {
			continue
		}
		if len(page.Entries) == limit {
			page.Next = page.Entries[limit-1].ID
			break
		}
		page.Entries = append(page.Entries, e.HistoryEntry)
	}
	return page, nil
}

func (s *memoryStore) Count(ctx context.Context, tenant scrm.TenantID, tag string) (int, error) {
	const op = "tagging.MemoryStore.Count"
	if err := begin(ctx, op, tenant); err != nil {
		return 0, err
	}
	if err := scrm.CheckID(op, "Tag", tag); err != nil {
		return 0, err
	}
	mt := s.tenant(tenant, false)
	if mt == nil {
		return 0, nil
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	if ix := mt.index[tag]; ix != nil {
		return ix.live, nil
	}
	return 0, nil
}

func (s *memoryStore) Customers(ctx context.Context, p ListCustomersParams) (CustomerPage, error) {
	const op = "tagging.MemoryStore.Customers"
	if err := begin(ctx, op, p.Tenant); err != nil {
		return CustomerPage{}, err
	}
	if err := scrm.CheckID(op, "Tag", p.Tag); err != nil {
		return CustomerPage{}, err
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	mt := s.tenant(p.Tenant, false)
	if mt == nil {
		return CustomerPage{}, nil
	}
	mt.mu.Lock()
	defer mt.mu.Unlock()
	ix := mt.index[p.Tag]
	if ix == nil {
		return CustomerPage{}, nil
	}
	ix.tidy()
	var page CustomerPage
	i := sort.Search(len(ix.sorted), func(i int) bool { return string(ix.sorted[i]) > p.Cursor })
	for ; i < len(ix.sorted); i++ {
		m := ix.members[ix.sorted[i]]
		if m == nil || !m.live {
			continue
		}
		if len(page.Customers) == limit {
			page.Next = string(page.Customers[limit-1].Customer)
			break
		}
		page.Customers = append(page.Customers, TaggedCustomer{Customer: ix.sorted[i], Mark: m.mark})
	}
	return page, nil
}

func itoa(i int) string { return strconv.Itoa(i) }
