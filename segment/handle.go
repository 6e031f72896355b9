package segment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// compiled is a stored segment with its program and what it reads.
type compiled struct {
	seg   Segment
	prog  *rule.Program // nil for a static segment
	deps  rule.Deps
	order int // position in dependency order: segments read by others first
}

// tenantIndex is a tenant's segments compiled, with a dependency index from
// what an event can change (its type, the attributes, tags and segments it
// touches) to the dynamic segments that read it.
type tenantIndex struct {
	generation int64
	loc        *time.Location        // the tenant's zone the conditions were compiled in
	all        []*compiled           // every segment, in ID order
	dynamic    []*compiled           // dynamic segments in dependency order
	deps       rule.Index[*compiled] // dynamic segments by what they read
}

// index returns the tenant's compiled segments, rebuilding them when the
// Store's generation moved on (another Service instance, or this one,
// changed a definition). Each call costs one Store.Generation read.
func (s *Service) index(ctx context.Context, tenant scrm.TenantID) (*tenantIndex, error) {
	gen, err := s.store.Generation(ctx, tenant)
	if err != nil {
		return nil, err
	}
	// A zone changed since the index was built (the merchant moved it)
	// makes its time conditions stale.
	loc := s.opts.LocationOf(tenant)
	s.mu.Lock()
	idx := s.indexes[tenant]
	s.mu.Unlock()
	if idx != nil && idx.generation == gen && idx.loc == loc {
		return idx, nil
	}
	list, err := s.store.ListSegments(ctx, tenant)
	if err != nil {
		return nil, err
	}
	idx = s.buildIndex(ctx, tenant, list, loc)
	s.mu.Lock()
	if cur := s.indexes[tenant]; cur == nil || cur.generation < idx.generation || (cur.generation == idx.generation && cur.loc != loc) {
		s.indexes[tenant] = idx
	}
	s.mu.Unlock()
	return idx, nil
}

func (s *Service) buildIndex(ctx context.Context, tenant scrm.TenantID, list SegmentList, loc *time.Location) *tenantIndex {
	idx := &tenantIndex{
		generation: list.Generation,
		loc:        loc,
	}
	copts := &rule.CompileOptions{Location: loc, Schema: s.opts.Schema}
	byID := make(map[string]*compiled, len(list.Segments))
	for _, seg := range list.Segments {
		c := &compiled{seg: seg}
		// A segment being deleted is not evaluated: its members are
		// leaving and none may enter.
		if !seg.Static && !seg.Deleting {
			prog, err := seg.validate("segment.index", copts)
			if err != nil {
				// A stored condition that no longer compiles (the Schema
				// changed) cannot be evaluated; Refresh reports it.
				s.logger().WarnContext(ctx, "segment: stored condition does not compile", "segment", seg.String(), "error", err)
				continue
			}
			c.prog, c.deps = prog, prog.Deps()
		}
		idx.all = append(idx.all, c)
		byID[seg.ID] = c
	}
	// Dependency order: a segment after the segments it reads, so that
	// deciding them in this order in one profile update lets a segment see
	// the new membership of the segments it reads. Define rejects cycles,
	// atomically with its write (Store.SaveSegment); one stored otherwise
	// (a Store not keeping that promise) is broken arbitrarily.
	state := make(map[string]int8, len(byID))
	var visit func(c *compiled)
	visit = func(c *compiled) {
		if state[c.seg.ID] != 0 {
			return
		}
		state[c.seg.ID] = 1
		for _, dep := range c.deps.Segments {
			if d := byID[dep]; d != nil && d.prog != nil {
				visit(d)
			}
		}
		state[c.seg.ID] = 2
		c.order = len(idx.dynamic)
		idx.dynamic = append(idx.dynamic, c)
	}
	for _, c := range idx.all {
		if c.prog != nil {
			visit(c)
		}
	}
	for _, c := range idx.dynamic {
		idx.deps.Add(c.deps, c)
	}
	return idx
}

// affected returns the dynamic segments whose result e can change, in
// dependency order: those reading e's type as an event, and those reading
// the attributes (customer.attrs_set), tag (tag.applied / tag.removed) or
// segment (segment.entered / segment.exited) it changed.
func (idx *tenantIndex) affected(e scrm.Event) []*compiled {
	var out []*compiled
	idx.deps.Affected(e, func(c *compiled, _ bool) {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	})
	slices.SortFunc(out, func(a, b *compiled) int { return a.order - b.order })
	return out
}

// Handle implements scrm.Handler. It re-evaluates, for the event's customer
// only, the dynamic segments the event can change (found through a
// dependency index built from each condition's rule.Deps, so that the cost
// does not grow with segments the event cannot affect), and settles the
// ones whose result differs from the customer's profile or the Store: the
// profile and the Store are updated and segment.entered / segment.exited
// events published (source SourceEvent, Props "cause": the event's ID).
// Segments reading a segment the customer just entered or left follow when
// that event comes back through the Dispatcher.
//
// A customer.merged event moves the absorbed customer's memberships: it
// leaves every segment without an event (it no longer exists), the survivor
// enters the static segments the absorbed customer was in, and every dynamic
// segment is re-evaluated for the survivor.
//
// Segments whose conditions depend on time alone are not re-evaluated by
// events; Refresh them periodically. Segments being deleted
// (Segment.Deleting) are not re-evaluated, and take no survivor.
//
// Delivery: every membership change is announced at least once. The Store
// keeps each change as unreported, in the same step that records it, until
// its event is published (Store.ApplyMembership with Report). When the
// Publisher fails, Handle returns an error matching ErrUnavailable; the
// change stands and its event stays unreported. Before re-evaluating,
// Handle publishes the customer's unreported membership events again, so
// delivering the same event again (as the error asks) publishes the event
// that was lost, with the same ID and Props, even though the profile and
// the Store already agree; so does the next event of that customer any
// segment reads, and Refresh publishes a segment's unreported events again
// for every customer. Replaying an event that was fully handled changes and
// publishes nothing, unless time moved a condition the event triggers since
// (a birthday now past "within 30 days"): conditions are evaluated at the
// clock's now, so the replay then makes the move the next Refresh would
// make.
func (s *Service) Handle(ctx context.Context, e scrm.Event) error {
	const op = "segment.Handle"
	if err := e.Validate(); err != nil {
		return err
	}
	idx, err := s.index(ctx, e.Tenant)
	if err != nil {
		return scrm.Wrap(nil, op, err)
	}
	if len(idx.all) == 0 {
		return nil
	}
	if e.Type == scrm.EventCustomerMerged {
		return scrm.Wrap(nil, op, s.merge(ctx, idx, e))
	}
	affected := idx.affected(e)
	if len(affected) == 0 {
		return nil
	}
	return scrm.Wrap(nil, op, s.reevaluate(ctx, e.Tenant, e.Customer, affected, SourceEvent, e.ID))
}

// reevaluate publishes the customer's unreported membership events again,
// then decides the given dynamic segments for the customer and settles those
// whose result differs from the profile or the Store.
func (s *Service) reevaluate(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, segs []*compiled, source, cause string) error {
	p, err := s.live(ctx, tenant, customer)
	if err != nil || p == nil {
		return err
	}
	var diff Diff
	failed, err := s.republish(ctx, ListUnreportedParams{Tenant: tenant, Customer: p.Customer}, &diff)
	if err != nil {
		return err
	}
	now := s.opts.Clock.Now()
	var items []settleItem
	for _, c := range segs {
		in := c.prog.Eval(p, now)
		member, err := s.store.Contains(ctx, tenant, c.seg.ID, p.Customer)
		if errors.Is(err, scrm.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
		if in == member && in == p.InSegment(c.seg.ID) {
			continue
		}
		prog := c.prog
		items = append(items, settleItem{segment: c.seg.ID, decide: func(p *scrm.Profile) bool { return prog.Eval(p, now) }})
	}
	more, err := s.settleAll(ctx, tenant, p.Customer, items, source, cause)
	if err != nil {
		return err
	}
	return publishErr(append(failed, more...))
}

// publishErr reports events the Publisher refused as one error matching
// ErrUnavailable; nil when there were none.
func publishErr(failed []error) error {
	if len(failed) == 0 {
		return nil
	}
	return &scrm.Error{Code: scrm.ErrUnavailable, Op: "segment.publish",
		Msg: fmt.Sprintf("%d membership events not published; the changes stand and their events are published again by the next Handle for the customer or Refresh of the segment", len(failed)),
		Err: errors.Join(failed...)}
}

// settleAll settles several segments of one customer in one profile update,
// then records and publishes each segment's decision. It returns the
// publishing failures apart from the other errors, which stop it.
func (s *Service) settleAll(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, items []settleItem, source, cause string) ([]error, error) {
	if len(items) == 0 {
		return nil, nil
	}
	decisions, err := s.settle(ctx, tenant, customer, items)
	if err != nil {
		return nil, err
	}
	var failed []error
	for i, d := range decisions {
		var diff Diff
		w := s.newWriter(tenant, items[i].segment, source, cause, &diff)
		w.add(d)
		err := w.flush(ctx)
		if errors.Is(err, scrm.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return failed, err
		}
		failed = append(failed, w.failed...)
	}
	return failed, nil
}

// live returns the customer's profile, following merges to the survivor;
// nil when there is none.
func (s *Service) live(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (*scrm.Profile, error) {
	p, err := scrm.LoadProfile(ctx, s.profiles, tenant, customer)
	if err != nil || p.Version == 0 {
		return nil, err
	}
	return p, nil
}

// merge handles customer.merged: see Handle.
func (s *Service) merge(ctx context.Context, idx *tenantIndex, e scrm.Event) error {
	from, into := scrm.CustomerID(e.Prop("from")), e.Customer
	if from == "" || from == into {
		return nil // scrm.Profiles rejects such an event
	}
	absorbed, err := s.profiles.Get(ctx, e.Tenant, from)
	var version int64
	switch {
	case errors.Is(err, scrm.ErrNotFound):
	case err != nil:
		return err
	default:
		version = absorbed.Version
	}
	// What the absorbed customer left unreported is announced still.
	var diff Diff
	failed, err := s.republish(ctx, ListUnreportedParams{Tenant: e.Tenant, Customer: from}, &diff)
	if err != nil {
		return err
	}
	var static []settleItem
	for _, c := range idx.all {
		in, err := s.store.Contains(ctx, e.Tenant, c.seg.ID, from)
		if errors.Is(err, scrm.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !in {
			continue
		}
		// Without Report: the absorbed customer leaves silently.
		if _, err := s.store.ApplyMembership(ctx, ApplyMembershipParams{Tenant: e.Tenant, Segment: c.seg.ID,
			Changes: []MembershipChange{{Customer: from, In: false, Version: version}}}); err != nil && !errors.Is(err, scrm.ErrNotFound) {
			return err
		}
		if c.seg.Static && !c.seg.Deleting {
			static = append(static, settleItem{segment: c.seg.ID, decide: func(*scrm.Profile) bool { return true }})
		}
	}
	more, err := s.settleAll(ctx, e.Tenant, into, static, SourceMerge, e.ID)
	if err != nil {
		return err
	}
	failed = append(failed, more...)
	return errors.Join(s.reevaluate(ctx, e.Tenant, into, idx.dynamic, SourceEvent, e.ID), publishErr(failed))
}
