package segment

import (
	"context"
	"errors"
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

// catalogAttempts bounds how many times Define and Delete read the tenant's
// segments, check their write against them and try it, when other
// definitions keep changing in between (Store.SaveSegment refuses a write
// checked against a stale list).
const catalogAttempts = 5

// Define creates a segment (seg.Version 0) or replaces one (seg.Version the
// stored version), and returns it as stored. Name defaults to ID; Deleting is
// ignored. Changing a segment's condition does not change its membership
// until the next Refresh.
//
// The checks against the other segments (a cycle, a segment being deleted)
// and the write are one atomic step of the Store (Store.SaveSegment), so
// concurrent Defines and Deletes, on one Service or several sharing a Store,
// cannot together store a cycle or a segment reading a deleted one.
//
// Errors: ErrInvalid naming the field for a missing tenant or ID, a
// dynamic segment without a condition, a static one with a condition, a
// condition that does not compile (Field "When.all[1].sum.gte"), or one that
// reads its own segment, directly or through other segments; ErrConflict when
// creating a segment that exists, replacing one whose version moved on or
// that is being deleted (see Delete), when the condition reads a segment
// being deleted, or when other definitions kept changing during the call
// (try again); ErrNotFound when replacing a segment that does not exist.
// Nothing is written on error.
func (s *Service) Define(ctx context.Context, seg Segment) (Segment, error) {
	const op = "segment.Define"
	if _, err := seg.validate(op, s.compileOptions(seg.Tenant)); err != nil {
		return Segment{}, err
	}
	if seg.Name == "" {
		seg.Name = seg.ID
	}
	seg.Deleting = false
	now := s.opts.Clock.Now()
	seg.UpdatedAt = now
	if seg.Version == 0 {
		seg.CreatedAt = now
	}
	for attempt := 1; ; attempt++ {
		list, err := s.store.ListSegments(ctx, seg.Tenant)
		if err != nil {
			return Segment{}, scrm.Wrap(nil, op, err)
		}
		if err := checkDefine(op, seg, list.Segments); err != nil {
			return Segment{}, err
		}
		out, err := s.store.SaveSegment(ctx, seg, list.Generation)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, scrm.ErrConflict) || attempt == catalogAttempts {
			return Segment{}, scrm.Wrap(nil, op, err)
		}
		// A definition changed since the list was read: check again.
	}
}

// checkDefine checks seg against the tenant's stored segments: that a
// condition does not read seg itself through other segments (see
// checkCycle), that a new segment does not exist yet and a replaced one is
// at seg.Version and not being deleted, and that a condition reads no
// segment being deleted.
func checkDefine(op string, seg Segment, stored []Segment) error {
	if !seg.Static {
		if err := checkCycle(op, seg, stored); err != nil {
			return err
		}
	}
	i, found := slices.BinarySearchFunc(stored, seg.ID, func(s Segment, id string) int { return strings.Compare(s.ID, id) })
	switch {
	case seg.Version == 0 && found:
		return scrm.Errorf(scrm.ErrConflict, op, "segment %s/%s already exists", seg.Tenant, seg.ID)
	case seg.Version == 0:
	case !found:
		return notFound(op, seg.Tenant, seg.ID)
	case stored[i].Version != seg.Version:
		return scrm.Errorf(scrm.ErrConflict, op, "segment %s/%s: version %d, stored %d", seg.Tenant, seg.ID, seg.Version, stored[i].Version)
	case stored[i].Deleting:
		return scrm.Errorf(scrm.ErrConflict, op, "segment %s/%s is being deleted; call Delete again to finish", seg.Tenant, seg.ID)
	}
	if seg.Static {
		return nil
	}
	refs := segmentRefs(seg.When)
	for _, other := range stored {
		if other.Deleting && slices.Contains(refs, other.ID) {
			return scrm.Errorf(scrm.ErrConflict, op, "segment %s/%s reads segment %s, which is being deleted", seg.Tenant, seg.ID, other.ID)
		}
	}
	return nil
}

// checkCycle rejects a condition that reads seg itself through other
// segments (a → b → a), which would make refreshes and events chase each
// other.
func checkCycle(op string, seg Segment, stored []Segment) error {
	reads := make(map[string][]string, len(stored)+1)
	for _, other := range stored {
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

// deleteAttempts bounds how many times Delete makes the members exit when
// customers keep entering the segment after it made them exit.
const deleteAttempts = 3

// Delete removes a segment. It first marks the segment Deleting, in one
// atomic step of the Store with the check that no other segment reads it:
// from then on no segment can start reading it, and Handle and Refresh no
// longer evaluate it. Then its members exit, exactly as if they had been
// removed one by one (their profiles no longer say they are in it, and
// segment.exited events are published with source SourceRemove), and the
// definition and its membership records are deleted, in one atomic step of
// the Store with the check that no member is left: a customer who entered
// meanwhile (an Add, or a Handle or Refresh already under way) exits too,
// with its event. The returned Diff lists the members that exited.
//
// Errors: ErrInvalid for a malformed tenant or id; ErrNotFound when there is
// no such segment; ErrConflict, with nothing changed, when other segments'
// conditions read this one (change them first), or when definitions kept
// changing during the call; ErrConflict too when customers kept entering
// the segment while their exits were recorded (try again); ErrUnavailable
// when a store fails, or when some of the segment's membership events (these
// exits, or ones earlier calls left unreported) could not be published. After
// such an error, once the segment is marked, the exits stand and the segment
// is kept, marked Deleting, with the events it owes, until Delete is called
// again and finishes the job.
func (s *Service) Delete(ctx context.Context, tenant scrm.TenantID, id string) (Diff, error) {
	const op = "segment.Delete"
	if err := checkSegmentKey(op, tenant, id); err != nil {
		return Diff{}, err
	}
	if err := s.markDeleting(ctx, op, tenant, id); err != nil {
		return Diff{}, err
	}
	diff := Diff{Segment: id}
	w := s.newWriter(tenant, id, SourceRemove, "", &diff)
	if err := w.republishSegment(ctx); err != nil {
		return diff, scrm.Wrap(nil, op, err)
	}
	for attempt := 1; ; attempt++ {
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
		err := s.store.DeleteSegment(ctx, tenant, id)
		if err == nil {
			return diff, nil
		}
		if !errors.Is(err, scrm.ErrConflict) || attempt == deleteAttempts {
			return diff, scrm.Wrap(nil, op, err)
		}
		// Customers entered after the walk: they exit too.
	}
}

// markDeleting marks the segment Deleting (see Segment.Deleting) unless it
// already is, after checking that no other segment reads it, in one atomic
// step (Store.SaveSegment at the generation of the list checked).
func (s *Service) markDeleting(ctx context.Context, op string, tenant scrm.TenantID, id string) error {
	for attempt := 1; ; attempt++ {
		list, err := s.store.ListSegments(ctx, tenant)
		if err != nil {
			return scrm.Wrap(nil, op, err)
		}
		var seg *Segment
		var readers []string
		for i, other := range list.Segments {
			if other.ID == id {
				seg = &list.Segments[i]
				continue
			}
			if slices.Contains(segmentRefs(other.When), id) {
				readers = append(readers, other.ID)
			}
		}
		if seg == nil {
			return notFound(op, tenant, id)
		}
		if len(readers) > 0 {
			return scrm.Errorf(scrm.ErrConflict, op, "segment %s/%s is read by %s", tenant, id, strings.Join(readers, ", "))
		}
		if seg.Deleting {
			return nil // a Delete that did not finish marked it
		}
		seg.Deleting = true
		seg.UpdatedAt = s.opts.Clock.Now()
		_, err = s.store.SaveSegment(ctx, *seg, list.Generation)
		if err == nil {
			return nil
		}
		if !errors.Is(err, scrm.ErrConflict) || attempt == catalogAttempts {
			return scrm.Wrap(nil, op, err)
		}
		// A definition changed since the list was read: check again.
	}
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
