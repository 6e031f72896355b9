package segment

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
)

// NewMemoryStore returns an in-memory Store, safe for concurrent use. It
// copies segments and pages in and out, keeps tenants apart with a lock each,
// and keeps each segment's members in an ordered index, so that Contains is a
// map lookup, Members a binary search and a copy, and ApplyMembership costs
// a lookup and an ordered insert or delete per change.
func NewMemoryStore() Store {
	return &memoryStore{tenants: make(map[scrm.TenantID]*memoryTenant)}
}

type memoryStore struct {
	mu      sync.Mutex
	tenants map[scrm.TenantID]*memoryTenant
}

type memoryTenant struct {
	mu         sync.RWMutex
	generation int64
	segments   map[string]*memorySegment
	unreported int // unreported changes in all segments: none is the common case
}

type memorySegment struct {
	seg     Segment
	records map[scrm.CustomerID]memberRecord
	members idSet
	// unreported holds each customer's unreported changes in
	// (Version, In) order; pending lists those customers in order.
	unreported map[scrm.CustomerID][]Unreported
	pending    idSet
}

type memberRecord struct {
	version int64
	in      bool
}

var _ Store = (*memoryStore)(nil)

func (s *memoryStore) tenant(t scrm.TenantID, create bool) *memoryTenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	mt := s.tenants[t]
	if mt == nil && create {
		mt = &memoryTenant{segments: make(map[string]*memorySegment)}
		s.tenants[t] = mt
	}
	return mt
}

func notFound(op string, tenant scrm.TenantID, id string) error {
	return scrm.Errorf(scrm.ErrNotFound, op, "segment %s/%s", tenant, id)
}

func (s *memoryStore) CreateSegment(ctx context.Context, seg Segment) (Segment, error) {
	const op = "segment.MemoryStore.CreateSegment"
	if err := checkKey(ctx, op, seg.Tenant, seg.ID); err != nil {
		return Segment{}, err
	}
	mt := s.tenant(seg.Tenant, true)
	mt.mu.Lock()
	defer mt.mu.Unlock()
	return mt.create(op, seg)
}

func (s *memoryStore) UpdateSegment(ctx context.Context, seg Segment) (Segment, error) {
	const op = "segment.MemoryStore.UpdateSegment"
	if err := checkKey(ctx, op, seg.Tenant, seg.ID); err != nil {
		return Segment{}, err
	}
	mt := s.tenant(seg.Tenant, false)
	if mt == nil {
		return Segment{}, notFound(op, seg.Tenant, seg.ID)
	}
	mt.mu.Lock()
	defer mt.mu.Unlock()
	return mt.update(op, seg)
}

func (s *memoryStore) SaveSegment(ctx context.Context, seg Segment, generation int64) (Segment, error) {
	const op = "segment.MemoryStore.SaveSegment"
	if err := checkKey(ctx, op, seg.Tenant, seg.ID); err != nil {
		return Segment{}, err
	}
	mt := s.tenant(seg.Tenant, seg.Version == 0)
	if mt == nil {
		if generation != 0 {
			return Segment{}, scrm.Errorf(scrm.ErrConflict, op, "tenant %s: generation 0, not %d", seg.Tenant, generation)
		}
		return Segment{}, notFound(op, seg.Tenant, seg.ID)
	}
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if mt.generation != generation {
		return Segment{}, scrm.Errorf(scrm.ErrConflict, op, "tenant %s: generation %d, not %d: segments changed", seg.Tenant, mt.generation, generation)
	}
	if seg.Version == 0 {
		return mt.create(op, seg)
	}
	return mt.update(op, seg)
}

// create stores a new segment; the caller holds mt's write lock.
func (mt *memoryTenant) create(op string, seg Segment) (Segment, error) {
	if mt.segments[seg.ID] != nil {
		return Segment{}, scrm.Errorf(scrm.ErrConflict, op, "segment %s/%s already exists", seg.Tenant, seg.ID)
	}
	c := copySegment(seg)
	c.Version = 1
	mt.segments[seg.ID] = &memorySegment{seg: c, records: make(map[scrm.CustomerID]memberRecord)}
	mt.generation++
	return copySegment(c), nil
}

// update replaces a stored segment at seg.Version; the caller holds mt's
// write lock.
func (mt *memoryTenant) update(op string, seg Segment) (Segment, error) {
	ms := mt.segments[seg.ID]
	if ms == nil {
		return Segment{}, notFound(op, seg.Tenant, seg.ID)
	}
	if ms.seg.Version != seg.Version {
		return Segment{}, scrm.Errorf(scrm.ErrConflict, op, "segment %s/%s: version %d, stored %d", seg.Tenant, seg.ID, seg.Version, ms.seg.Version)
	}
	c := copySegment(seg)
	c.Version = ms.seg.Version + 1
	c.CreatedAt = ms.seg.CreatedAt
	ms.seg = c
	mt.generation++
	return copySegment(c), nil
}

func (s *memoryStore) GetSegment(ctx context.Context, tenant scrm.TenantID, id string) (Segment, error) {
	const op = "segment.MemoryStore.GetSegment"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Segment{}, err
	}
	mt := s.tenant(tenant, false)
	if mt == nil {
		return Segment{}, notFound(op, tenant, id)
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	ms := mt.segments[id]
	if ms == nil {
		return Segment{}, notFound(op, tenant, id)
	}
	return copySegment(ms.seg), nil
}

func (s *memoryStore) ListSegments(ctx context.Context, tenant scrm.TenantID) (SegmentList, error) {
	const op = "segment.MemoryStore.ListSegments"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return SegmentList{}, err
	}
	mt := s.tenant(tenant, false)
	if mt == nil {
		return SegmentList{}, nil
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	out := SegmentList{Generation: mt.generation, Segments: make([]Segment, 0, len(mt.segments))}
	for _, ms := range mt.segments {
		out.Segments = append(out.Segments, copySegment(ms.seg))
	}
	slices.SortFunc(out.Segments, func(a, b Segment) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *memoryStore) DeleteSegment(ctx context.Context, tenant scrm.TenantID, id string) error {
	const op = "segment.MemoryStore.DeleteSegment"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return err
	}
	mt := s.tenant(tenant, false)
	if mt == nil {
		return notFound(op, tenant, id)
	}
	mt.mu.Lock()
	defer mt.mu.Unlock()
	ms := mt.segments[id]
	if ms == nil {
		return notFound(op, tenant, id)
	}
	if ms.members.n > 0 {
		return scrm.Errorf(scrm.ErrConflict, op, "segment %s/%s has %d members; they exit first", tenant, id, ms.members.n)
	}
	for _, us := range ms.unreported {
		mt.unreported -= len(us)
	}
	delete(mt.segments, id)
	mt.generation++
	return nil
}

func (s *memoryStore) Generation(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	if err := scrm.CheckContext(ctx, "segment.MemoryStore.Generation"); err != nil {
		return 0, err
	}
	mt := s.tenant(tenant, false)
	if mt == nil {
		return 0, nil
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	return mt.generation, nil
}

func (s *memoryStore) ApplyMembership(ctx context.Context, p ApplyMembershipParams) ([]MembershipChange, error) {
	const op = "segment.MemoryStore.ApplyMembership"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return nil, err
	}
	if err := checkChanges(op, p.Changes); err != nil {
		return nil, err
	}
	mt := s.tenant(p.Tenant, false)
	if mt == nil {
		return nil, notFound(op, p.Tenant, p.Segment)
	}
	mt.mu.Lock()
	defer mt.mu.Unlock()
	ms := mt.segments[p.Segment]
	if ms == nil {
		return nil, notFound(op, p.Tenant, p.Segment)
	}
	var flipped []MembershipChange
	for _, c := range p.Changes {
		rec, ok := ms.records[c.Customer]
		if ok && rec.version > c.Version {
			continue // decided from a newer profile already
		}
		ms.records[c.Customer] = memberRecord{version: c.Version, in: c.In}
		if rec.in == c.In {
			continue
		}
		if c.In {
			ms.members.insert(c.Customer)
		} else {
			ms.members.remove(c.Customer)
		}
		flipped = append(flipped, c)
		if p.Report {
			mt.keepUnreported(ms, Unreported{Tenant: p.Tenant, Segment: p.Segment, MembershipChange: c,
				Source: p.Source, Cause: p.Cause, At: p.At})
		}
	}
	return flipped, nil
}

// checkChanges validates ApplyMembership's input before anything is written.
func checkChanges(op string, changes []MembershipChange) error {
	var seen map[scrm.CustomerID]struct{}
	if len(changes) > 1 {
		seen = make(map[scrm.CustomerID]struct{}, len(changes))
	}
	for i, c := range changes {
		field := "Changes[" + strconv.Itoa(i) + "]"
		if err := scrm.CheckID(op, field+".Customer", string(c.Customer)); err != nil {
			return err
		}
		if c.Version < 0 {
			return scrm.Invalid(op, field+".Version", "must not be negative, got %d", c.Version)
		}
		if seen != nil {
			if _, dup := seen[c.Customer]; dup {
				return scrm.Invalid(op, field+".Customer", "customer %s appears twice", c.Customer)
			}
			seen[c.Customer] = struct{}{}
		}
	}
	return nil
}

func (s *memoryStore) Contains(ctx context.Context, tenant scrm.TenantID, segment string, customer scrm.CustomerID) (bool, error) {
	const op = "segment.MemoryStore.Contains"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return false, err
	}
	mt := s.tenant(tenant, false)
	if mt == nil {
		return false, notFound(op, tenant, segment)
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	ms := mt.segments[segment]
	if ms == nil {
		return false, notFound(op, tenant, segment)
	}
	return ms.records[customer].in, nil
}

func (s *memoryStore) Members(ctx context.Context, p ListMembersParams) (MemberPage, error) {
	const op = "segment.MemoryStore.Members"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return MemberPage{}, err
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	mt := s.tenant(p.Tenant, false)
	if mt == nil {
		return MemberPage{}, notFound(op, p.Tenant, p.Segment)
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	ms := mt.segments[p.Segment]
	if ms == nil {
		return MemberPage{}, notFound(op, p.Tenant, p.Segment)
	}
	ids, more := ms.members.after(p.Cursor, limit, make([]scrm.CustomerID, 0, min(limit, ms.members.n)))
	page := MemberPage{Customers: ids}
	if more {
		page.Next = string(ids[len(ids)-1])
	}
	return page, nil
}

func (s *memoryStore) Size(ctx context.Context, tenant scrm.TenantID, segment string) (int, error) {
	const op = "segment.MemoryStore.Size"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return 0, err
	}
	mt := s.tenant(tenant, false)
	if mt == nil {
		return 0, notFound(op, tenant, segment)
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	ms := mt.segments[segment]
	if ms == nil {
		return 0, notFound(op, tenant, segment)
	}
	return ms.members.n, nil
}

func checkKey(ctx context.Context, op string, tenant scrm.TenantID, id string) error {
	if err := scrm.CheckContext(ctx, op); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return err
	}
	return scrm.CheckID(op, "ID", id)
}

// copySegment returns a deep copy of seg, so that neither the caller nor the
// store shares the condition's lists and pointers with the other.
func copySegment(seg Segment) Segment {
	seg.When = seg.When.Clone()
	return seg
}
