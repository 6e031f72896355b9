package segment

import (
	"context"
	"errors"
	"fmt"

	"github.com/scrmkit/scrmkit/scrm"
)

// errUnchanged aborts a profile update that would change nothing.
var errUnchanged = errors.New("segment membership unchanged")

// writer settles membership decisions for one segment: it writes each
// customer's profile, batches the decisions into Store.ApplyMembership calls,
// and publishes an event for every change that flipped membership.
type writer struct {
	s       *Service
	tenant  scrm.TenantID
	segment string
	source  string
	cause   string // the event that caused the changes, if any
	diff    *Diff
	batch   []MembershipChange
	at      map[scrm.CustomerID]int // index in batch
	failed  []error
	stuck   bool // a flush flipped nothing
}

func (s *Service) newWriter(tenant scrm.TenantID, segment, source, cause string, diff *Diff) *writer {
	return &writer{s: s, tenant: tenant, segment: segment, source: source, cause: cause, diff: diff,
		at: make(map[scrm.CustomerID]int)}
}

// settle decides customer's membership with decide, evaluated on the
// profile as it is under the profile store's lock, writes it into the
// profile when it differs, and queues the decision for the Store.
func (w *writer) settle(ctx context.Context, customer scrm.CustomerID, decide func(*scrm.Profile) bool) error {
	d, err := w.s.settle(ctx, w.tenant, customer, []settleItem{{segment: w.segment, decide: decide}})
	if err != nil {
		return err
	}
	w.add(d[0])
	if d[0].Customer != customer {
		// customer was absorbed by a merge and the decision went to its
		// survivor; the absorbed customer leaves the segment.
		return w.absorbed(ctx, customer)
	}
	return nil
}

// absorbed queues the exit of a customer absorbed by a merge, at the version
// of its (final) profile, which is newer than any decision about it.
func (w *writer) absorbed(ctx context.Context, customer scrm.CustomerID) error {
	p, err := w.s.profiles.Get(ctx, w.tenant, customer)
	if err != nil {
		return err
	}
	w.add(MembershipChange{Customer: customer, In: false, Version: p.Version})
	return nil
}

func (w *writer) add(c MembershipChange) {
	if i, ok := w.at[c.Customer]; ok {
		if c.Version >= w.batch[i].Version {
			w.batch[i] = c
		}
		return
	}
	w.at[c.Customer] = len(w.batch)
	w.batch = append(w.batch, c)
}

// flush records the queued decisions and publishes the changes that flipped
// membership.
func (w *writer) flush(ctx context.Context) error {
	if len(w.batch) == 0 {
		w.stuck = true
		return nil
	}
	flipped, err := w.s.store.ApplyMembership(ctx, ApplyMembershipParams{Tenant: w.tenant, Segment: w.segment, Changes: w.batch})
	if err != nil {
		return err
	}
	w.stuck = len(flipped) == 0
	w.batch = w.batch[:0]
	clear(w.at)
	now := w.s.opts.Clock.Now()
	for _, c := range flipped {
		if c.In {
			w.diff.Entered = append(w.diff.Entered, c.Customer)
		} else {
			w.diff.Exited = append(w.diff.Exited, c.Customer)
		}
		e := MembershipEvent(w.tenant, w.segment, c.Customer, c.In, c.Version, w.source, now)
		if w.cause != "" {
			e.Props["cause"] = w.cause
		}
		if err := w.s.opts.Publisher.Publish(ctx, e); err != nil {
			w.diff.Unpublished = append(w.diff.Unpublished, e)
			w.failed = append(w.failed, err)
			w.s.logger().WarnContext(ctx, "segment: publishing a membership event failed", "event", e.String(), "error", err)
		}
	}
	return nil
}

// err reports publishing failures as one error matching ErrUnavailable.
func (w *writer) err(op string) error {
	if len(w.failed) == 0 {
		return nil
	}
	return &scrm.Error{Code: scrm.ErrUnavailable, Op: op,
		Msg: fmt.Sprintf("%d membership events not published (see Diff.Unpublished)", len(w.failed)),
		Err: errors.Join(w.failed...)}
}

type settleItem struct {
	segment string
	decide  func(*scrm.Profile) bool
}

// settle evaluates items on customer's profile inside scrm.UpdateProfile, so
// that each decision is made on the latest profile while no other writer
// can change it, and writes the changed flags (scrm.Profile.SetSegment) in
// the same step. Items are decided in order, so a segment reading another
// segment decided earlier in the list sees its new flag.
//
// It returns one MembershipChange per item, carrying the profile version the
// decision belongs to: the saved version when the profile changed, else the
// version read. UpdateProfile follows merges, so Customer is the survivor's
// ID when customer was absorbed.
func (s *Service) settle(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, items []settleItem) ([]MembershipChange, error) {
	out := make([]MembershipChange, len(items))
	_, _, err := scrm.UpdateProfile(ctx, s.profiles, tenant, customer, "", func(p *scrm.Profile) error {
		changed := false
		for i, it := range items {
			in := it.decide(p)
			if p.InSegment(it.segment) != in {
				p.SetSegment(it.segment, in)
				changed = true
			}
			out[i] = MembershipChange{Customer: p.Customer, In: in}
		}
		v := p.Version
		if changed {
			v++ // the version UpdateProfile saves
		}
		for i := range out {
			out[i].Version = v
		}
		if !changed {
			return errUnchanged
		}
		return nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		return nil, err
	}
	return out, nil
}
