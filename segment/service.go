package segment

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// DefaultPageSize is how many profiles Refresh reads per ProfileStore.List
// call, and how many membership changes it writes per
// Store.ApplyMembership call.
const DefaultPageSize = 1000

// Options configures a Service. A nil *Options, and every zero field, means
// the default documented on the field.
type Options struct {
	scrm.Options

	// Schema declares attribute types for compiling segment conditions (see
	// rule.CompileOptions.Schema); nil means conditions are typed by their
	// operators and values alone. The compile Location is the tenant's
	// (scrm.Options.LocationOf).
	Schema map[string]rule.Type

	// PageSize is how many profiles Refresh reads per page; default
	// DefaultPageSize, at most 1000 (the ProfileStore's maximum).
	PageSize int
}

// Service manages segments: definitions, refreshes, incremental updates on
// events, static lists and membership queries. It implements scrm.Handler;
// register it on the Dispatcher after the scrm.Profiles, so that it reads
// profiles that already include the event.
//
// A Service is safe for concurrent use. It caches each tenant's compiled
// segments and refreshes the cache when the Store's generation for the
// tenant changes, so several Service instances may share one Store.
type Service struct {
	store    Store
	profiles scrm.ProfileStore
	opts     Options
	pageSize int

	mu      sync.Mutex
	indexes map[scrm.TenantID]*tenantIndex

	inflight inflight // membership events being published now
}

// New returns a Service over store (nil means NewMemoryStore()) that reads
// and writes profiles in profiles, which is required: New panics when it is
// nil, a wiring mistake no request could recover from. A nil opts means the
// defaults.
func New(store Store, profiles scrm.ProfileStore, opts *Options) *Service {
	if profiles == nil {
		panic("segment.New: a scrm.ProfileStore is required")
	}
	if store == nil {
		store = NewMemoryStore()
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Options = o.Options.WithDefaults()
	return &Service{
		store:    store,
		profiles: profiles,
		opts:     o,
		pageSize: scrm.PageLimit(o.PageSize, DefaultPageSize, 1000),
		indexes:  make(map[scrm.TenantID]*tenantIndex),
	}
}

// Store returns the Store the Service keeps segments in.
func (s *Service) Store() Store { return s.store }

func (s *Service) compileOptions(tenant scrm.TenantID) *rule.CompileOptions {
	return &rule.CompileOptions{Location: s.opts.LocationOf(tenant), Schema: s.opts.Schema}
}

func (s *Service) logger() *slog.Logger { return s.opts.Logger }

// Define creates a segment (seg.Version 0) or replaces one (seg.Version the
// stored version), and returns it as stored. Name defaults to ID. Changing a
// segment's condition does not change its membership until the next Refresh.
//
// Errors: ErrInvalid naming the field for a missing tenant or ID, a
// dynamic segment without a condition, a static one with a condition, a
// condition that does not compile (Field "When.all[1].sum.gte"), or one that
// reads its own segment, directly or through other segments; ErrConflict when
// creating a segment that exists or replacing one whose version moved on;
// ErrNotFound when replacing a segment that does not exist. Nothing is
// written on error.
func (s *Service) Define(ctx context.Context, seg Segment) (Segment, error) {
	const op = "segment.Define"
	if _, err := seg.validate(op, s.compileOptions(seg.Tenant)); err != nil {
		return Segment{}, err
	}
	if seg.Name == "" {
		seg.Name = seg.ID
	}
	if !seg.Static {
		if err := s.checkCycle(ctx, op, seg); err != nil {
			return Segment{}, err
		}
	}
	now := s.opts.Clock.Now()
	seg.UpdatedAt = now
	var out Segment
	var err error
	if seg.Version == 0 {
		seg.CreatedAt = now
		out, err = s.store.CreateSegment(ctx, seg)
	} else {
		out, err = s.store.UpdateSegment(ctx, seg)
	}
	if err != nil {
		return Segment{}, scrm.Wrap(nil, op, err)
	}
	return out, nil
}

// checkCycle rejects a condition that reads seg itself through other
// segments (a → b → a), which would make refreshes and events chase each
// other.
func (s *Service) checkCycle(ctx context.Context, op string, seg Segment) error {
	list, err := s.store.ListSegments(ctx, seg.Tenant)
	if err != nil {
		return scrm.Wrap(nil, op, err)
	}
	reads := make(map[string][]string, len(list.Segments)+1)
	for _, other := range list.Segments {
		if other.Static || other.ID == seg.ID {
			continue
		}
		reads[other.ID] = segmentRefs(other.When)
	}
	reads[seg.ID] = segmentRefs(seg.When)
	// Depth-first search from seg.ID for a path back to it.
	var path []string
	seen := make(map[string]bool)
	var visit func(id string) bool
	visit = func(id string) bool {
		for _, next := range reads[id] {
			if next == seg.ID {
				path = append(path, next)
				return true
			}
			if seen[next] {
				continue
			}
			seen[next] = true
			path = append(path, next)
			if visit(next) {
				return true
			}
			path = path[:len(path)-1]
		}
		return false
	}
	if visit(seg.ID) {
		return scrm.Invalid(op, "When", "segments read each other in a cycle: %s → %s", seg.ID, strings.Join(path, " → "))
	}
	return nil
}

// segmentRefs lists the segments a condition reads.
func segmentRefs(c rule.Condition) []string {
	var out []string
	var walk func(c *rule.Condition)
	walk = func(c *rule.Condition) {
		if c.Segment != "" {
			out = append(out, c.Segment)
		}
		for i := range c.All {
			walk(&c.All[i])
		}
		for i := range c.Any {
			walk(&c.Any[i])
		}
		if c.Not != nil {
			walk(c.Not)
		}
	}
	walk(&c)
	return out
}

// Get returns a segment.
//
// Errors: ErrInvalid for a malformed tenant or id; ErrNotFound when the
// tenant has no such segment.
func (s *Service) Get(ctx context.Context, tenant scrm.TenantID, id string) (Segment, error) {
	const op = "segment.Get"
	if err := checkSegmentKey(op, tenant, id); err != nil {
		return Segment{}, err
	}
	seg, err := s.store.GetSegment(ctx, tenant, id)
	if err != nil {
		return Segment{}, scrm.Wrap(nil, op, err)
	}
	return seg, nil
}

// List returns every segment of the tenant in ID order.
//
// Errors: ErrInvalid for a malformed tenant.
func (s *Service) List(ctx context.Context, tenant scrm.TenantID) ([]Segment, error) {
	const op = "segment.List"
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return nil, err
	}
	list, err := s.store.ListSegments(ctx, tenant)
	if err != nil {
		return nil, scrm.Wrap(nil, op, err)
	}
	return list.Segments, nil
}

// Delete removes a segment. Its members exit first, exactly as if they had
// been removed one by one (their profiles no longer say they are in it,
// and segment.exited events are published with source SourceRemove), then
// the definition and its membership records are deleted. The returned Diff
// lists the members that exited.
//
// Errors: ErrInvalid for a malformed tenant or id; ErrNotFound when there is
// no such segment; ErrConflict, with nothing changed, when other segments'
// conditions read this one (change them first); ErrUnavailable when a store
// fails, or when some of the segment's membership events (these exits, or
// ones earlier calls left unreported) could not be published: the exits
// stand, but the segment is kept, with the events it owes, until Delete is
// called again and publishes them.
func (s *Service) Delete(ctx context.Context, tenant scrm.TenantID, id string) (Diff, error) {
	const op = "segment.Delete"
	if err := checkSegmentKey(op, tenant, id); err != nil {
		return Diff{}, err
	}
	list, err := s.store.ListSegments(ctx, tenant)
	if err != nil {
		return Diff{}, scrm.Wrap(nil, op, err)
	}
	found := false
	var readers []string
	for _, other := range list.Segments {
		if other.ID == id {
			found = true
			continue
		}
		if slices.Contains(segmentRefs(other.When), id) {
			readers = append(readers, other.ID)
		}
	}
	if !found {
		return Diff{}, notFound(op, tenant, id)
	}
	if len(readers) > 0 {
		return Diff{}, scrm.Errorf(scrm.ErrConflict, op, "segment %s/%s is read by %s", tenant, id, strings.Join(readers, ", "))
	}
	diff := Diff{Segment: id}
	w := s.newWriter(tenant, id, SourceRemove, "", &diff)
	if err := w.republishSegment(ctx); err != nil {
		return diff, scrm.Wrap(nil, op, err)
	}
	for {
		// Always read the first page: the members it lists are removed
		// before the next read.
		page, err := s.store.Members(ctx, ListMembersParams{Tenant: tenant, Segment: id, Limit: s.pageSize})
		if err != nil {
			return diff, scrm.Wrap(nil, op, err)
		}
		if len(page.Customers) == 0 {
			break
		}
		for _, c := range page.Customers {
			if err := w.settle(ctx, c, func(*scrm.Profile) bool { return false }); err != nil {
				return diff, scrm.Wrap(nil, op, err)
			}
		}
		if err := w.flush(ctx); err != nil {
			return diff, scrm.Wrap(nil, op, err)
		}
		if w.stuck {
			// A member whose record did not change (a newer decision
			// kept it in) would be listed forever; stop and report.
			return diff, scrm.Errorf(scrm.ErrConflict, op, "segment %s/%s: members changed during Delete; try again", tenant, id)
		}
	}
	if err := w.err(op); err != nil {
		// Deleting the segment would drop the events it still owes.
		return diff, err
	}
	if err := s.store.DeleteSegment(ctx, tenant, id); err != nil {
		return diff, scrm.Wrap(nil, op, err)
	}
	return diff, nil
}

// Contains reports whether customer is a member of the segment.
//
// Errors: ErrInvalid for malformed IDs; ErrNotFound when there is no such
// segment.
func (s *Service) Contains(ctx context.Context, tenant scrm.TenantID, segment string, customer scrm.CustomerID) (bool, error) {
	const op = "segment.Contains"
	if err := checkSegmentKey(op, tenant, segment); err != nil {
		return false, err
	}
	if err := scrm.CheckID(op, "customer", string(customer)); err != nil {
		return false, err
	}
	in, err := s.store.Contains(ctx, tenant, segment, customer)
	return in, scrm.Wrap(nil, op, err)
}

// Members returns a page of the segment's members in customer ID order,
// starting after cursor (empty for the first page); pass the page's Next as
// the cursor of the following one. limit 0 means 100; more than 1000 means
// 1000.
//
// Errors: ErrInvalid for malformed IDs; ErrNotFound when there is no such
// segment.
func (s *Service) Members(ctx context.Context, tenant scrm.TenantID, segment, cursor string, limit int) (MemberPage, error) {
	const op = "segment.Members"
	if err := checkSegmentKey(op, tenant, segment); err != nil {
		return MemberPage{}, err
	}
	page, err := s.store.Members(ctx, ListMembersParams{Tenant: tenant, Segment: segment, Cursor: cursor, Limit: limit})
	if err != nil {
		return MemberPage{}, scrm.Wrap(nil, op, err)
	}
	return page, nil
}

// Size returns the number of members of the segment.
//
// Errors: ErrInvalid for malformed IDs; ErrNotFound when there is no such
// segment.
func (s *Service) Size(ctx context.Context, tenant scrm.TenantID, segment string) (int, error) {
	const op = "segment.Size"
	if err := checkSegmentKey(op, tenant, segment); err != nil {
		return 0, err
	}
	n, err := s.store.Size(ctx, tenant, segment)
	return n, scrm.Wrap(nil, op, err)
}

func checkSegmentKey(op string, tenant scrm.TenantID, id string) error {
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return err
	}
	return scrm.CheckID(op, "segment", id)
}
