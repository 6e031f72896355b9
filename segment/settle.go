package segment

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/scrmkit/scrmkit/scrm"
)

// errUnchanged aborts a profile update that would change nothing.
var errUnchanged = errors.New("segment membership unchanged")

// writer settles membership decisions for one segment: it writes each
// customer's profile, batches the decisions into Store.ApplyMembership calls,
// and publishes an event for every change that flipped membership, marking
// it reported once published.
type writer struct {
	s       *Service
	tenant  scrm.TenantID
	segment string
	source  string
	cause   string // the event that caused the changes, if any
	diff    *Diff
	batch   []MembershipChange
	at      map[scrm.CustomerID]int // index in batch
	// quiet are exits of customers absorbed by a merge: recorded without
	// an event, as Handle does on customer.merged (the customer no longer
	// exists, and scrm.Profiles would fold a segment.exited of its ID into
	// the survivor, who did not exit).
	quiet  []MembershipChange
	failed []error
	stuck  bool // a flush flipped nothing
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
// of its (final) profile, which is newer than any decision about it. The
// exit is recorded without an event (see quiet).
func (w *writer) absorbed(ctx context.Context, customer scrm.CustomerID) error {
	p, err := w.s.profiles.Get(ctx, w.tenant, customer)
	if err != nil {
		return err
	}
	w.addQuiet(MembershipChange{Customer: customer, In: false, Version: p.Version})
	return nil
}

// addQuiet queues the silent exit of an absorbed customer.
func (w *writer) addQuiet(c MembershipChange) {
	for i := range w.quiet {
		if w.quiet[i].Customer == c.Customer {
			if c.Version >= w.quiet[i].Version {
				w.quiet[i] = c
			}
			return
		}
	}
	w.quiet = append(w.quiet, c)
}

// flushQuiet records the queued exits of absorbed customers, without Report,
// and lists those that flipped membership in diff.Exited. It returns how
// many flipped.
func (w *writer) flushQuiet(ctx context.Context) (int, error) {
	if len(w.quiet) == 0 {
		return 0, nil
	}
	flipped, err := w.s.store.ApplyMembership(ctx, ApplyMembershipParams{Tenant: w.tenant, Segment: w.segment, Changes: w.quiet})
	if err != nil {
		return 0, err
	}
	w.quiet = w.quiet[:0]
	for _, c := range flipped {
		w.diff.Exited = append(w.diff.Exited, c.Customer)
	}
	return len(flipped), nil
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
// membership. The Store keeps each flip as unreported until its event is
// published (see Store.ApplyMembership), so an event the Publisher refuses,
// or one never published because the process died, is published again by
// republish.
func (w *writer) flush(ctx context.Context) error {
	exited := len(w.diff.Exited)
	quiet, err := w.flushQuiet(ctx)
	if err != nil {
		return err
	}
	if quiet > 0 {
		// Keep the exits of this flush in customer ID order.
		defer func() { slices.Sort(w.diff.Exited[exited:]) }()
	}
	if len(w.batch) == 0 {
		w.stuck = quiet == 0
		return nil
	}
	// Every change may flip: each is in flight from before the Store can
	// list it as unreported.
	for _, c := range w.batch {
		w.s.inflight.add(inflightKey{w.tenant, w.segment, c})
	}
	now := w.s.opts.Clock.Now()
	flipped, err := w.s.store.ApplyMembership(ctx, ApplyMembershipParams{Tenant: w.tenant, Segment: w.segment, Changes: w.batch,
		Report: true, Source: w.source, Cause: w.cause, At: now})
	// flipped is a subsequence of the batch (the Store keeps the order).
	j := 0
	for _, c := range w.batch {
		if err == nil && j < len(flipped) && flipped[j] == c {
			j++
			continue
		}
		w.s.inflight.done(inflightKey{w.tenant, w.segment, c})
	}
	if errors.Is(err, scrm.ErrNotFound) {
		w.retract(ctx)
	}
	if err != nil {
		return err
	}
	w.stuck = len(flipped) == 0 && quiet == 0
	w.batch = w.batch[:0]
	clear(w.at)
	if len(flipped) == 0 {
		return nil
	}
	for _, c := range flipped {
		if c.In {
			w.diff.Entered = append(w.diff.Entered, c.Customer)
		} else {
			w.diff.Exited = append(w.diff.Exited, c.Customer)
		}
	}
	us := make([]Unreported, len(flipped))
	for i, c := range flipped {
		us[i] = Unreported{Tenant: w.tenant, Segment: w.segment, MembershipChange: c, Source: w.source, Cause: w.cause, At: now}
	}
	w.failed = append(w.failed, w.s.report(ctx, w.tenant, w.segment, us, w.diff)...)
	return nil
}

// retract takes the segment's flag off the profiles of the batch's
// entries, which settle wrote before ApplyMembership found the segment
// deleted (a Delete finished in between, its members walked before these
// entries were recorded): no record holds them, so nothing else would ever
// clear them. A failure is logged; the flag then stays until the customer's
// profile is settled again.
func (w *writer) retract(ctx context.Context) {
	for _, c := range w.batch {
		if !c.In {
			continue
		}
		_, _, err := scrm.UpdateProfile(ctx, w.s.profiles, w.tenant, c.Customer, "", func(p *scrm.Profile) error {
			if !p.InSegment(w.segment) {
				return errUnchanged
			}
			p.SetSegment(w.segment, false)
			return nil
		})
		if err != nil && !errors.Is(err, errUnchanged) {
			w.s.logger().WarnContext(ctx, "segment: clearing the flag of a deleted segment failed",
				"tenant", w.tenant, "segment", w.segment, "customer", c.Customer, "error", err)
		}
	}
}

// report publishes the events of one segment's unreported changes, which the
// caller has registered in flight, then marks those published as reported
// (one Store call) and releases them. Every event is attempted: one the
// Publisher refuses is appended to diff.Unpublished and stays unreported,
// to be published again by a later republish. It returns the failures,
// marking failures included (those events were published and will be
// published again, with the same IDs).
func (s *Service) report(ctx context.Context, tenant scrm.TenantID, segment string, us []Unreported, diff *Diff) []error {
	defer func() {
		for i := range us {
			s.inflight.done(inflightKey{tenant, segment, us[i].MembershipChange})
		}
	}()
	var failed []error
	done := make([]MembershipChange, 0, len(us))
	for i := range us {
		e := us[i].Event()
		if err := s.opts.Publisher.Publish(ctx, e); err != nil {
			diff.Unpublished = append(diff.Unpublished, e)
			failed = append(failed, err)
			s.logger().WarnContext(ctx, "segment: publishing a membership event failed", "event", e.String(), "error", err)
			continue
		}
		done = append(done, us[i].MembershipChange)
	}
	if len(done) == 0 {
		return failed
	}
	err := s.store.MarkReported(ctx, MarkReportedParams{Tenant: tenant, Segment: segment, Changes: done})
	if err != nil && !errors.Is(err, scrm.ErrNotFound) { // a deleted segment keeps nothing
		failed = append(failed, err)
		s.logger().WarnContext(ctx, "segment: marking membership events reported failed", "segment", segment, "error", err)
	}
	return failed
}

// republish publishes again the membership events the Store keeps as
// unreported that match p (one segment's or one customer's), page by page,
// leaving alone those another call of this Service has in flight, and those
// such a call published and marked reported after the page was read (see
// stillUnreported). Events the Publisher refuses again are appended to
// diff.Unpublished and their errors returned in failed; err is a Store
// failure.
func (s *Service) republish(ctx context.Context, p ListUnreportedParams, diff *Diff) (failed []error, err error) {
	p.Limit = s.pageSize
	for {
		page, err := s.store.ListUnreported(ctx, p)
		if err != nil {
			return failed, err
		}
		for rest := page.Changes; len(rest) > 0; {
			seg := rest[0].Segment
			var mine []Unreported
			for len(rest) > 0 && rest[0].Segment == seg {
				if s.inflight.claim(inflightKey{p.Tenant, seg, rest[0].MembershipChange}) {
					mine = append(mine, rest[0])
				}
				rest = rest[1:]
			}
			mine, err := s.stillUnreported(ctx, p.Tenant, seg, mine)
			if err != nil {
				return failed, err
			}
			if len(mine) > 0 {
				failed = append(failed, s.report(ctx, p.Tenant, seg, mine, diff)...)
			}
		}
		if page.Next == "" {
			return failed, nil
		}
		p.Cursor = page.Next
	}
}

// stillUnreported keeps of us, one segment's changes that republish listed
// and has claimed, those the Store still keeps as unreported, releasing the
// others. The listing may predate the claim: a call that had a change in
// flight may have published it, marked it reported and released it in
// between, and publishing it again would announce the change twice. Once
// claimed, a change the Store still keeps is this call's alone to publish
// (a change flips membership once, so no later call registers it again).
// On error every claim is released.
func (s *Service) stillUnreported(ctx context.Context, tenant scrm.TenantID, segment string, us []Unreported) ([]Unreported, error) {
	keep := us[:0]
	for len(us) > 0 {
		customer := us[0].Customer
		n := 1
		for n < len(us) && us[n].Customer == customer {
			n++
		}
		kept, err := s.keptChanges(ctx, tenant, segment, customer)
		if err != nil {
			for _, u := range us {
				s.inflight.done(inflightKey{tenant, segment, u.MembershipChange})
			}
			for _, u := range keep {
				s.inflight.done(inflightKey{tenant, segment, u.MembershipChange})
			}
			return nil, err
		}
		for _, u := range us[:n] {
			if slices.Contains(kept, u.MembershipChange) {
				keep = append(keep, u)
			} else {
				s.inflight.done(inflightKey{tenant, segment, u.MembershipChange})
			}
		}
		us = us[n:]
	}
	return keep, nil
}

// keptChanges returns the changes of customer in segment that the Store
// keeps as unreported; none when the segment was deleted (its unreported
// changes went with it).
func (s *Service) keptChanges(ctx context.Context, tenant scrm.TenantID, segment string, customer scrm.CustomerID) ([]MembershipChange, error) {
	var kept []MembershipChange
	p := ListUnreportedParams{Tenant: tenant, Segment: segment, Customer: customer, Limit: s.pageSize}
	for {
		page, err := s.store.ListUnreported(ctx, p)
		if errors.Is(err, scrm.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, u := range page.Changes {
			kept = append(kept, u.MembershipChange)
		}
		if page.Next == "" {
			return kept, nil
		}
		p.Cursor = page.Next
	}
}

// err reports publishing failures as one error matching ErrUnavailable.
func (w *writer) err(op string) error {
	if len(w.failed) == 0 {
		return nil
	}
	return &scrm.Error{Code: scrm.ErrUnavailable, Op: op,
		Msg: fmt.Sprintf("%d membership events not published (see Diff.Unpublished); the changes stand and the events stay unreported until published again", len(w.failed)),
		Err: errors.Join(w.failed...)}
}

// republishSegment publishes again the segment's unreported membership
// events (see republish), recording failures in the writer.
func (w *writer) republishSegment(ctx context.Context) error {
	failed, err := w.s.republish(ctx, ListUnreportedParams{Tenant: w.tenant, Segment: w.segment}, w.diff)
	w.failed = append(w.failed, failed...)
	return err
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
