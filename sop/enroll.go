package sop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// EnrollRequest asks to enroll a customer in a playbook directly, without
// its trigger.
type EnrollRequest struct {
	Tenant   scrm.TenantID
	Playbook string
	Customer scrm.CustomerID
	// Anchor is the instant the steps are timed from; zero means now. Steps
	// whose time is already past when enrolling are due at once. It must
	// lie in the years 1900 to 2200, as an event's Time (see
	// scrm.Event.Validate), so that every due time can be stored.
	Anchor time.Time
	// IdempotencyKey, optional, makes retries safe: a second Enroll with the
	// same key for the same customer and playbook returns the first
	// enrollment. The retry must be the same request as sent: both with no
	// Anchor (the default "now" is not part of the request, so a retry a
	// moment later replays), or both with the same Anchor; else ErrConflict
	// naming IdempotencyKey. Without a key, a retry is refused by re-entry
	// Once and AfterExit but enrolls again under Always.
	IdempotencyKey string
}

// Enroll enrolls a customer in a playbook, scheduling one job per step;
// it skips the trigger and its When condition but not the re-entry rule.
// Customers are enrolled in paused playbooks too (their jobs wait for the
// resume). A playbook changed while enrolling (Pause, Resume, PutPlaybook)
// is read again and the jobs computed from the stored version. Errors:
// ErrInvalid naming the field; ErrNotFound for an unknown playbook;
// ErrConflict when the re-entry rule refuses (already enrolled);
// ErrUnavailable when the playbook kept changing (try again).
func (s *Service) Enroll(ctx context.Context, req EnrollRequest) (Enrollment, error) {
	const op = "sop.Enroll"
	if err := scrm.CheckID(op, "Tenant", string(req.Tenant)); err != nil {
		return Enrollment{}, err
	}
	if err := scrm.CheckID(op, "Playbook", req.Playbook); err != nil {
		return Enrollment{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(req.Customer)); err != nil {
		return Enrollment{}, err
	}
	if req.IdempotencyKey != "" {
		if err := scrm.CheckID(op, "IdempotencyKey", req.IdempotencyKey); err != nil {
			return Enrollment{}, err
		}
	}
	if !req.Anchor.IsZero() {
		if y := req.Anchor.UTC().Year(); y < 1900 || y > 2200 {
			return Enrollment{}, scrm.Invalid(op, "Anchor", "year %d outside 1900–2200", y)
		}
	}
	tc, err := s.tenant(ctx, req.Tenant)
	if err != nil {
		return Enrollment{}, scrm.Wrap(nil, op, err)
	}
	cp := tc.playbooks[req.Playbook]
	if cp == nil {
		return Enrollment{}, scrm.Errorf(scrm.ErrNotFound, op, "playbook %q", req.Playbook)
	}
	now := s.now()
	anchor, defaulted := req.Anchor, req.Anchor.IsZero()
	if defaulted {
		anchor = now
	}
	return s.enroll(ctx, tc, cp, req.Customer, anchor, defaulted, now, req.IdempotencyKey)
}

// enroll computes the jobs of cp for a customer and stores the enrollment,
// recompiling when the playbook changed under it (the Store's ErrConflict
// naming "Version"), up to maxRevisionTries times. defaulted reports that
// anchor is now because the caller named none (see
// EnrollParams.AnchorDefaulted).
//
// An ErrConflict it returns is the Store's refusal of the enrollment itself
// (re-entry, or an idempotency key used with another anchor), never a
// version conflict: a playbook that kept changing is ErrUnavailable, and
// one this Service can no longer load ErrNotFound.
func (s *Service) enroll(ctx context.Context, tc *tenantCache, cp *compiledPlaybook, customer scrm.CustomerID, anchor time.Time, defaulted bool, now time.Time, key string) (Enrollment, error) {
	const op = "sop.Enroll"
	for try := 1; ; try++ {
		params := EnrollParams{
			Tenant: cp.pb.Tenant, Playbook: cp.pb.ID, Version: cp.pb.Version, Customer: customer,
			Anchor: anchor, AnchorDefaulted: defaulted, At: now, IdempotencyKey: key,
			Jobs: cp.jobs(customer, anchor, tc.loc),
		}
		res, err := s.store.Enroll(ctx, params)
		if err == nil {
			return res.Enrollment, nil
		}
		if !conflictOn(err, "Version") {
			return Enrollment{}, scrm.Wrap(nil, op, err)
		}
		if try >= maxRevisionTries {
			// Not wrapping the conflict: callers read ErrConflict as a
			// refusal.
			return Enrollment{}, scrm.Errorf(scrm.ErrUnavailable, op, "playbook %q changed %d times while enrolling; try again (%v)", cp.pb.ID, try, err)
		}
		// The playbook changed since it was compiled: recompute from the
		// stored version.
		tenant, id := cp.pb.Tenant, cp.pb.ID
		if tc, err = s.tenant(ctx, tenant); err != nil {
			return Enrollment{}, scrm.Wrap(nil, op, err)
		}
		if cp = tc.playbooks[id]; cp == nil {
			return Enrollment{}, scrm.Errorf(scrm.ErrNotFound, op, "playbook %q is no longer loadable", id)
		}
	}
}

// jobs returns the job of each step for one enrollment.
func (cp *compiledPlaybook) jobs(customer scrm.CustomerID, anchor time.Time, loc *time.Location) []JobSpec {
	out := make([]JobSpec, len(cp.steps))
	bucket := armBucket(cp.pb.Tenant, cp.pb.ID, customer)
	for i := range cp.steps {
		st := &cp.steps[i]
		out[i] = JobSpec{Step: st.id, Due: st.due(anchor, loc)}
		if len(st.arms) > 0 {
			out[i].Variant = st.arms[st.arm(bucket)].ID
		}
	}
	return out
}

// due returns when the step is due for an enrollment anchored at anchor.
func (st *compiledStep) due(anchor time.Time, loc *time.Location) time.Time {
	t := anchor.Add(st.after)
	if st.dayMode {
		la := anchor.In(loc)
		y, mo, d := la.Date()
		hh, mm, ss := la.Clock()
		if st.at >= 0 {
			hh, mm, ss = st.at/60, st.at%60, 0
		}
		t = localTime(y, mo, d+st.day, hh, mm, ss, loc)
		if t.Before(anchor) {
			t = anchor
		}
	}
	if n, ok := st.cons.next(t, loc); ok {
		return n
	}
	return t
}

// armBucket hashes (tenant, playbook, customer) to 64 bits: FNV-1a, then a
// splitmix64 finalizer so every bit depends on every input byte. It is
// stable across processes and versions, which makes arms stable.
func armBucket(tenant scrm.TenantID, playbook string, customer scrm.CustomerID) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
		h ^= 0xff // separator
		h *= prime
	}
	add(string(tenant))
	add(playbook)
	add(string(customer))
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// arm picks the variant of a bucket: the one whose share of the total
// weight holds bucket mod total.
func (st *compiledStep) arm(bucket uint64) int {
	x := bucket % st.cum[len(st.cum)-1]
	for i, c := range st.cum {
		if x < c {
			return i
		}
	}
	return len(st.cum) - 1
}

// Arm returns the variant a customer gets on a step of a playbook (its ID),
// or "" when the step has no variants. Errors: ErrNotFound for an unknown
// playbook or step.
func (s *Service) Arm(ctx context.Context, tenant scrm.TenantID, playbook, step string, customer scrm.CustomerID) (string, error) {
	const op = "sop.Arm"
	tc, err := s.tenant(ctx, tenant)
	if err != nil {
		return "", scrm.Wrap(nil, op, err)
	}
	cp := tc.playbooks[playbook]
	if cp == nil {
		return "", scrm.Errorf(scrm.ErrNotFound, op, "playbook %q", playbook)
	}
	i, ok := cp.byID[step]
	if !ok {
		return "", scrm.Errorf(scrm.ErrNotFound, op, "playbook %q has no step %q", playbook, step)
	}
	st := &cp.steps[i]
	if len(st.arms) == 0 {
		return "", nil
	}
	return st.arms[st.arm(armBucket(tenant, playbook, customer))].ID, nil
}

// Handle reacts to an event: it credits replies (message.replied) and
// conversions (order.paid) to the customer's recent touches (a reply whose
// Props "message_id" is a job ID to that message only), hands the
// customer's open staff tasks to the new owner (customer.owner_changed,
// see ReassignTasks: the tasks of Props "from", or all open ones when it is
// empty, go to Props "to", or to the newer owner when a later change was
// handled first, an older first owner moving nothing; ErrInvalid naming Props["to"] when it is missing), ends
// the customer's enrollments whose Exit now holds, and enrolls the customer
// in the playbooks the event triggers (by event type, by tag.applied with
// Props "tag", by segment.entered with Props "segment") whose When holds,
// anchored at the event's Time. Enrollments are keyed "event:<event ID>",
// so handling an event again enrolls no one twice. Re-entry refusals are
// not errors; a playbook that kept changing while the customer was being
// enrolled is (ErrUnavailable: handle the event again).
func (s *Service) Handle(ctx context.Context, e scrm.Event) error {
	const op = "sop.Handle"
	if err := e.Validate(); err != nil {
		return err
	}
	tc, err := s.tenant(ctx, e.Tenant)
	if err != nil {
		return scrm.Wrap(nil, op, err)
	}
	switch e.Type {
	case scrm.EventMessageReplied:
		// A message_id that is not one of our job IDs (a channel's own ID)
		// names no message we know: the reply counts for the window.
		var id string
		if m := e.Prop("message_id"); isJobID(m) {
			id = m
		}
		_, err = s.store.Attribute(ctx, AttributeParams{Tenant: e.Tenant, Customer: e.Customer, Kind: Replied,
			At: e.Time, Within: s.opts.ReplyWindow, MessageID: id, ReplyType: e.Prop("reply_type")})
	case scrm.EventOrderPaid:
		_, err = s.store.Attribute(ctx, AttributeParams{Tenant: e.Tenant, Customer: e.Customer, Kind: Converted,
			At: e.Time, Within: s.opts.ConversionWindow})
	case scrm.EventOwnerChanged:
		if err := s.ownerChanged(ctx, e); err != nil {
			return err // already a *scrm.Error of sop.Handle naming the field
		}
	}
	if err != nil {
		return scrm.Wrap(nil, op, err)
	}
	now := s.now()
	var prof *scrm.Profile
	profile := func() (*scrm.Profile, error) {
		if prof == nil {
			p, err := s.profile(ctx, e.Tenant, e.Customer)
			if err != nil {
				return nil, err
			}
			prof = p
		}
		return prof, nil
	}
	if err := s.checkExits(ctx, tc, e, now, profile); err != nil {
		return scrm.Wrap(nil, op, err)
	}
	var triggered []*compiledPlaybook
	triggered = append(triggered, tc.byEvent[e.Type]...)
	switch e.Type {
	case scrm.EventTagApplied:
		if refreshed, _ := e.Props["refreshed"].(bool); !refreshed {
			triggered = append(triggered, tc.byTag[e.Prop("tag")]...)
		}
	case scrm.EventSegmentEntered:
		triggered = append(triggered, tc.bySegment[e.Prop("segment")]...)
	}
	var errs []error
	for _, cp := range triggered {
		if cp.when != nil {
			p, err := profile()
			if err != nil {
				return scrm.Wrap(nil, op, err)
			}
			if !cp.when.Eval(p, now) {
				continue
			}
		}
		_, err := s.enroll(ctx, tc, cp, e.Customer, e.Time, false, now, "event:"+e.ID)
		// ErrConflict: a re-entry refusal; ErrNotFound: the playbook
		// changed into one this Service cannot load, which the event would
		// not have triggered.
		if err != nil && !errors.Is(err, scrm.ErrConflict) && !errors.Is(err, scrm.ErrNotFound) {
			errs = append(errs, fmt.Errorf("playbook %q: %w", cp.pb.ID, err))
		}
	}
	return errors.Join(errs...)
}

// checkExits ends the customer's active enrollments whose Exit holds, for
// playbooks whose exit condition the event can change.
func (s *Service) checkExits(ctx context.Context, tc *tenantCache, e scrm.Event, now time.Time, profile func() (*scrm.Profile, error)) error {
	affected := false
	for _, cp := range tc.exits {
		if exitReads(cp.deps, e) {
			affected = true
			break
		}
	}
	if !affected {
		return nil
	}
	active, err := s.store.Enrollments(ctx, ListEnrollmentsParams{Tenant: e.Tenant, Customer: e.Customer, ActiveOnly: true})
	if err != nil || len(active) == 0 {
		return err
	}
	for _, en := range active {
		cp := tc.playbooks[en.Playbook]
		if cp == nil || cp.exit == nil || !exitReads(cp.deps, e) {
			continue
		}
		p, err := profile()
		if err != nil {
			return err
		}
		if cp.exit.Eval(p, now) {
			if _, err := s.store.EndEnrollments(ctx, EndEnrollmentsParams{Tenant: e.Tenant, Playbook: en.Playbook,
				Customer: e.Customer, Seq: en.Seq, At: now, Reason: "exit condition (on " + e.Type + ")"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// exitReads reports whether event e can change an exit condition with deps.
func exitReads(d rule.Deps, e scrm.Event) bool {
	switch {
	case d.TimeBased, e.Type == scrm.EventCustomerMerged:
		return true
	case slices.Contains(d.Events, e.Type):
		return true
	case e.Type == scrm.EventTagApplied || e.Type == scrm.EventTagRemoved:
		return slices.Contains(d.Tags, e.Prop("tag"))
	case e.Type == scrm.EventSegmentEntered || e.Type == scrm.EventSegmentExited:
		return slices.Contains(d.Segments, e.Prop("segment"))
	case e.Type == scrm.EventAttrsSet:
		return len(d.Attrs) > 0
	}
	return false
}

// profile returns a customer's profile, following merges; an empty one when
// none is stored yet.
func (s *Service) profile(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (*scrm.Profile, error) {
	p, err := s.profiles.Get(ctx, tenant, customer)
	if errors.Is(err, scrm.ErrNotFound) {
		return scrm.NewProfile(tenant, customer), nil
	}
	return p, err
}

// ExitRequest asks to end a customer's enrollment in a playbook.
type ExitRequest struct {
	Tenant   scrm.TenantID
	Playbook string
	Customer scrm.CustomerID
	Reason   string // recorded on the enrollment; default "exited by host"
}

// Exit ends a customer's active enrollments in a playbook and cancels their
// remaining steps, as if the Exit condition held. A step a worker is
// running at that moment ends as the worker reports it: sent (counted,
// keeping its cap slot) if its message went out, else cancelled; a step a
// running batch claimed but has not started is cancelled, not run. It
// returns the enrollments it ended (none if none was active). Errors:
// ErrNotFound for an unknown playbook.
func (s *Service) Exit(ctx context.Context, req ExitRequest) ([]Enrollment, error) {
	const op = "sop.Exit"
	if err := scrm.CheckID(op, "Customer", string(req.Customer)); err != nil {
		return nil, err
	}
	if req.Reason == "" {
		req.Reason = "exited by host"
	}
	out, err := s.store.EndEnrollments(ctx, EndEnrollmentsParams{Tenant: req.Tenant, Playbook: req.Playbook,
		Customer: req.Customer, At: s.now(), Reason: req.Reason})
	return out, scrm.Wrap(nil, op, err)
}

// Enrollments returns a customer's enrollments in every playbook, in
// playbook ID then Seq order.
func (s *Service) Enrollments(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) ([]Enrollment, error) {
	return s.store.Enrollments(ctx, ListEnrollmentsParams{Tenant: tenant, Customer: customer})
}

// Jobs returns a customer's scheduled jobs, in due-time order.
func (s *Service) Jobs(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) ([]Job, error) {
	return s.store.Jobs(ctx, ListJobsParams{Tenant: tenant, Customer: customer})
}

// SweepResult reports what Sweep did.
type SweepResult struct {
	Scanned  int // profiles read
	Enrolled int // enrollments made
}

// Sweep enrolls the tenant's inactive customers in the playbooks with an
// Inactive trigger: those whose latest Inactive.Event (any event when it is
// empty) is at least Inactive.For before now, and whose When holds. The
// anchor is now. Each quiet spell enrolls a customer once, even under
// re-entry Always: the enrollment is keyed by the time of the last activity
// ("inactive:<unix nanoseconds>"). Call it periodically (daily, say); it
// reads every profile of the tenant. Re-entry refusals are not errors; a
// playbook that kept changing while a customer was being enrolled stops the
// sweep with ErrUnavailable (call it again: enrollments made are not
// repeated).
func (s *Service) Sweep(ctx context.Context, tenant scrm.TenantID) (SweepResult, error) {
	const op = "sop.Sweep"
	var res SweepResult
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return res, err
	}
	tc, err := s.tenant(ctx, tenant)
	if err != nil {
		return res, scrm.Wrap(nil, op, err)
	}
	if len(tc.inactive) == 0 {
		return res, nil
	}
	now := s.now()
	cursor := ""
	for {
		page, err := s.profiles.Store().List(ctx, scrm.ListProfilesParams{Tenant: tenant, Cursor: cursor, Limit: s.opts.SweepPage})
		if err != nil {
			return res, scrm.Wrap(nil, op, err)
		}
		for _, p := range page.Profiles {
			res.Scanned++
			for _, cp := range tc.inactive {
				in := cp.pb.Trigger.Inactive
				last, ok := lastActivity(p, in.Event)
				if !ok || now.Sub(last) < in.For {
					continue
				}
				if cp.when != nil && !cp.when.Eval(p, now) {
					continue
				}
				key := "inactive:" + strconv.FormatInt(last.UnixNano(), 10)
				// The anchor is part of the request here: a later sweep
				// of the same spell is refused (ErrConflict), not counted.
				_, err := s.enroll(ctx, tc, cp, p.Customer, now, false, now, key)
				switch {
				case err == nil:
					res.Enrolled++
				case !errors.Is(err, scrm.ErrConflict) && !errors.Is(err, scrm.ErrNotFound):
					return res, err // ErrUnavailable for a playbook that kept changing
				}
			}
		}
		if page.Next == "" {
			return res, nil
		}
		cursor = page.Next
	}
}

// lastActivity returns the time of the customer's latest event of the type,
// or of any type when eventType is empty.
func lastActivity(p *scrm.Profile, eventType string) (time.Time, bool) {
	if eventType != "" {
		return p.Last(eventType)
	}
	var last time.Time
	found := false
	for _, typ := range p.EventTypes() {
		if t, ok := p.Last(typ); ok && (!found || t.After(last)) {
			last, found = t, true
		}
	}
	return last, found
}
