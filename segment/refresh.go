package segment

import (
	"context"
	"errors"

	"github.com/scrmkit/scrmkit/scrm"
)

// Refresh evaluates a dynamic segment's condition over every profile of the
// tenant at the Clock's now, stores the membership, and returns the
// difference, publishing a segment.entered or segment.exited event (see
// MembershipEvent; source SourceRefresh) for each customer whose membership
// changed. Run it after defining or changing a segment, and periodically for
// segments whose condition depends on time passing (a window, "no purchase
// for 30 days"): events keep the other segments current through Handle.
//
// Refresh pages through the profiles in customer ID order, 1000 at a time
// (ProfileStore.List, or ProfileScanner without copies when the store has
// it), and walks the stored members alongside, so a customer costs one
// evaluation when nothing changed; only customers whose membership changed (or whose profile and the
// Store disagree) get a profile write and a Store write. Each decision is
// re-made on the latest profile inside scrm.UpdateProfile and recorded with
// that profile's version, so a Refresh racing with Handle or another
// Refresh cannot overwrite a newer decision with an older one. Stored
// members that no longer have a live profile (absorbed by a merge) exit
// without an event, as in Handle (the customer no longer exists): the Diff
// lists them in Exited, but no segment.exited is published for them.
//
// Refresh first publishes again the segment's membership events that
// earlier calls (Refresh, Handle, Add, Remove) could not publish, which the
// Store keeps as unreported until they are (see Store.ListUnreported), with
// their original IDs and Props; events published but not yet marked
// reported may be published twice, which handlers deduplicate by ID. Run
// periodically, it is what guarantees every membership change is announced
// eventually. A static segment has nothing to evaluate: Refresh publishes
// its unreported events and returns its Size.
//
// Errors: ErrInvalid for malformed IDs, or when the stored condition no
// longer compiles (for example after a Schema change); ErrNotFound when there
// is no such segment, or when it was deleted during the call (the flags of
// entries it could not record are taken off the profiles again);
// ErrConflict when it is being deleted (Segment.Deleting); ErrUnavailable
// when a store fails or ctx is done (the Diff then holds what was done so
// far; running Refresh again finishes the job) or when some events could not be published (the Diff lists them in
// Unpublished; the changes stand and the next Refresh publishes them
// again).
func (s *Service) Refresh(ctx context.Context, tenant scrm.TenantID, segmentID string) (Diff, error) {
	const op = "segment.Refresh"
	if err := checkSegmentKey(op, tenant, segmentID); err != nil {
		return Diff{}, err
	}
	seg, err := s.store.GetSegment(ctx, tenant, segmentID)
	if err != nil {
		return Diff{}, scrm.Wrap(nil, op, err)
	}
	if seg.Deleting {
		return Diff{Segment: segmentID}, scrm.Errorf(scrm.ErrConflict, op, "segment %s/%s is being deleted; call Delete again to finish", tenant, segmentID)
	}
	diff := Diff{Segment: segmentID}
	w := s.newWriter(tenant, segmentID, SourceRefresh, "", &diff)
	// What earlier calls could not announce goes first.
	if err := w.republishSegment(ctx); err != nil {
		return diff, scrm.Wrap(nil, op, err)
	}
	if !seg.Static {
		prog, err := seg.validate(op, s.compileOptions(tenant))
		if err != nil {
			return diff, err
		}
		now := s.opts.Clock.Now()
		if err := s.refresh(ctx, w, func(p *scrm.Profile) bool { return prog.Eval(p, now) }); err != nil {
			return diff, scrm.Wrap(nil, op, err)
		}
	}
	if err := w.err(op); err != nil {
		diff.Size, _ = s.store.Size(ctx, tenant, segmentID)
		return diff, err
	}
	n, err := s.store.Size(ctx, tenant, segmentID)
	if err != nil {
		return diff, scrm.Wrap(nil, op, err)
	}
	diff.Size = n
	return diff, nil
}

// RefreshAll refreshes every dynamic segment of the tenant, segments that
// other segments read first, and returns their diffs in that order; then it
// publishes again the unreported membership events of the static segments
// and of those being deleted (see Refresh and Segment.Deleting), whose diffs
// it does not return. It stops at the first error, returning the diffs done
// so far.
func (s *Service) RefreshAll(ctx context.Context, tenant scrm.TenantID) ([]Diff, error) {
	const op = "segment.RefreshAll"
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return nil, err
	}
	idx, err := s.index(ctx, tenant)
	if err != nil {
		return nil, scrm.Wrap(nil, op, err)
	}
	var diffs []Diff
	for _, c := range idx.dynamic {
		d, err := s.Refresh(ctx, tenant, c.seg.ID)
		diffs = append(diffs, d)
		if err != nil {
			return diffs, err
		}
	}
	for _, c := range idx.all {
		if !c.seg.Static && !c.seg.Deleting {
			continue
		}
		var d Diff
		w := s.newWriter(tenant, c.seg.ID, SourceRefresh, "", &d)
		err := w.republishSegment(ctx)
		if errors.Is(err, scrm.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return diffs, scrm.Wrap(nil, op, err)
		}
		if err := w.err(op); err != nil {
			return diffs, err
		}
	}
	return diffs, nil
}

// refresh is the merge join of the tenant's profiles with the segment's
// stored members, both in customer ID order. Each page of profiles is first
// summarised (customer, decision, flag on the profile), then joined: the
// summary is all the join needs, so that a ProfileScanner can hand out its
// profiles without copies.
func (s *Service) refresh(ctx context.Context, w *writer, decide func(*scrm.Profile) bool) error {
	members := &memberStream{s: s, tenant: w.tenant, segment: w.segment}
	var page []scannedProfile
	collect := func(p *scrm.Profile) error {
		page = append(page, scannedProfile{customer: p.Customer, in: decide(p), flag: p.InSegment(w.segment)})
		return nil
	}
	cursor := ""
	for {
		if err := scrm.CheckContext(ctx, "segment.Refresh"); err != nil {
			return err
		}
		page = page[:0]
		next, err := s.scanPage(ctx, scrm.ListProfilesParams{Tenant: w.tenant, Cursor: cursor, Limit: s.pageSize}, collect)
		if err != nil {
			return err
		}
		for _, sp := range page {
			was := false
			for {
				m, ok, err := members.peek(ctx)
				if err != nil {
					return err
				}
				if !ok || m > sp.customer {
					break
				}
				members.next()
				if m == sp.customer {
					was = true
					break
				}
				if err := s.stale(ctx, w, m, decide); err != nil {
					return err
				}
			}
			members.floor = sp.customer
			w.diff.Evaluated++
			if sp.in == was && sp.in == sp.flag {
				continue
			}
			if err := w.settle(ctx, sp.customer, decide); err != nil {
				return err
			}
		}
		if err := w.flush(ctx); err != nil {
			return err
		}
		if next == "" {
			break
		}
		cursor = next
	}
	// Members after the last profile have no live profile.
	for {
		m, ok, err := members.peek(ctx)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		members.next()
		if err := s.stale(ctx, w, m, decide); err != nil {
			return err
		}
		if len(w.batch) >= s.pageSize {
			if err := w.flush(ctx); err != nil {
				return err
			}
		}
	}
	return w.flush(ctx)
}

// scannedProfile is what the join needs of one profile.
type scannedProfile struct {
	customer scrm.CustomerID
	in       bool // the condition holds
	flag     bool // the profile says the customer is in the segment
}

// stale handles a stored member the profile listing did not return: a
// customer absorbed by a merge exits silently; a live profile the listing missed
// (created during the scan) is evaluated like any other.
func (s *Service) stale(ctx context.Context, w *writer, m scrm.CustomerID, decide func(*scrm.Profile) bool) error {
	p, err := s.profiles.Get(ctx, w.tenant, m)
	switch {
	case errors.Is(err, scrm.ErrNotFound):
		// Membership without any profile means the profile store lost
		// data; there is no version to decide at, so leave it and say so.
		s.logger().WarnContext(ctx, "segment: member without a profile", "tenant", w.tenant, "segment", w.segment, "customer", m)
		return nil
	case err != nil:
		return err
	case p.MergedInto != "":
		w.addQuiet(MembershipChange{Customer: m, In: false, Version: p.Version})
		return nil
	}
	w.diff.Evaluated++
	return w.settle(ctx, m, decide)
}

// memberStream reads a segment's members page by page for the merge join.
// floor is the last customer the join has decided: members at or below it
// that appear in later pages were added during the refresh (by the refresh
// itself or by Handle) and are skipped.
type memberStream struct {
	s       *Service
	tenant  scrm.TenantID
	segment string
	buf     []scrm.CustomerID
	i       int
	last    scrm.CustomerID // last member consumed
	floor   scrm.CustomerID
	done    bool
}

func (m *memberStream) peek(ctx context.Context) (scrm.CustomerID, bool, error) {
	for m.i == len(m.buf) {
		if m.done {
			return "", false, nil
		}
		cursor := max(m.last, m.floor)
		page, err := m.s.store.Members(ctx, ListMembersParams{Tenant: m.tenant, Segment: m.segment, Cursor: string(cursor), Limit: m.s.pageSize})
		if err != nil {
			return "", false, err
		}
		m.buf, m.i, m.done = page.Customers, 0, page.Next == ""
	}
	return m.buf[m.i], true, nil
}

func (m *memberStream) next() {
	m.last = m.buf[m.i]
	m.i++
}
