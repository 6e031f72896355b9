package segment

import (
	"context"
	"slices"
	"strconv"

	"github.com/scrmkit/scrmkit/scrm"
)

// Add puts customers into a static segment: each one's profile records the
// membership (a customer without a profile gets one, so that conditions
// reading the segment see it), the Store records it, and a segment.entered
// event (source SourceAdd) is published for each customer that was not a
// member yet. Customers already in the segment, and repeats in the list, are
// skipped, so adding the same list again changes nothing. A customer absorbed
// by a merge is replaced by its survivor. The Diff lists who entered.
// Customers added to a segment being deleted (Segment.Deleting) exit again,
// with their events, when the Delete finishes (see Delete).
//
// Add first publishes again the segment's events that earlier calls could
// not publish (see Refresh), so when some of its events are not published
// (ErrUnavailable, the Diff listing them in Unpublished; the changes stand)
// calling Add again with the same list publishes them.
//
// Errors: ErrInvalid naming the field for a malformed tenant, segment or
// customer ("customers[3]"), or when the segment is dynamic (its members
// come from its condition); ErrNotFound when there is no such segment.
// Nothing is written when the input is invalid.
func (s *Service) Add(ctx context.Context, tenant scrm.TenantID, segment string, customers ...scrm.CustomerID) (Diff, error) {
	return s.setStatic(ctx, "segment.Add", tenant, segment, customers, true)
}

// Remove takes customers out of a static segment, the mirror of Add: a
// segment.exited event (source SourceRemove) is published for each customer
// that was a member. Customers not in the segment are skipped.
//
// Errors: as Add.
func (s *Service) Remove(ctx context.Context, tenant scrm.TenantID, segment string, customers ...scrm.CustomerID) (Diff, error) {
	return s.setStatic(ctx, "segment.Remove", tenant, segment, customers, false)
}

func (s *Service) setStatic(ctx context.Context, op string, tenant scrm.TenantID, segment string, customers []scrm.CustomerID, in bool) (Diff, error) {
	if err := checkSegmentKey(op, tenant, segment); err != nil {
		return Diff{}, err
	}
	for i, c := range customers {
		if err := scrm.CheckID(op, "customers["+strconv.Itoa(i)+"]", string(c)); err != nil {
			return Diff{}, err
		}
	}
	seg, err := s.store.GetSegment(ctx, tenant, segment)
	if err != nil {
		return Diff{}, scrm.Wrap(nil, op, err)
	}
	if !seg.Static {
		return Diff{}, scrm.Invalid(op, "segment", "segment %q is dynamic: its members come from its condition", segment)
	}
	ids := slices.Clone(customers)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	source := SourceAdd
	if !in {
		source = SourceRemove
	}
	diff := Diff{Segment: segment}
	w := s.newWriter(tenant, segment, source, "", &diff)
	if err := w.republishSegment(ctx); err != nil {
		return diff, scrm.Wrap(nil, op, err)
	}
	decide := func(*scrm.Profile) bool { return in }
	for _, c := range ids {
		member, err := s.store.Contains(ctx, tenant, segment, c)
		if err != nil {
			return diff, scrm.Wrap(nil, op, err)
		}
		if member == in {
			// The Store agrees; write the profile only if it does not.
			p, err := s.profiles.Get(ctx, tenant, c)
			if err == nil && p.MergedInto == "" && p.InSegment(segment) == in {
				continue
			}
		}
		if err := w.settle(ctx, c, decide); err != nil {
			return diff, scrm.Wrap(nil, op, err)
		}
		if len(w.batch) >= s.pageSize {
			if err := w.flush(ctx); err != nil {
				return diff, scrm.Wrap(nil, op, err)
			}
		}
	}
	if err := w.flush(ctx); err != nil {
		return diff, scrm.Wrap(nil, op, err)
	}
	slices.Sort(diff.Entered)
	slices.Sort(diff.Exited)
	n, err := s.store.Size(ctx, tenant, segment)
	if err != nil {
		return diff, scrm.Wrap(nil, op, err)
	}
	diff.Size = n
	return diff, w.err(op)
}
