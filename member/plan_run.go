package member

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// settleDelay is how long after a paid term's end RunPlans settles its
// break-even guarantee: RecordSaving accepts the term's savings until
// FutureTolerance after the end, and another FutureTolerance covers clocks
// of different machines, so the settlement sees the final savings.
const settleDelay = 2 * FutureTolerance

// maxClosedTerms is how many closed terms a membership keeps beside its open
// ones; older closed terms are dropped (nothing remains to do for them).
const maxClosedTerms = 12

// PlanRunResult counts what RunPlans did. Everything but Members and Failed
// counts only what this run recorded: a tranche, birthday, settlement or end
// that an overlapping run (or a Subscribe) recorded first is not counted
// again, even though this run may have delivered it too (under the same
// keys, which the Rewarder ignores).
type PlanRunResult struct {
	// Members is how many due memberships were visited.
	Members int
	// Tranches is the coupon-pack tranches released, Birthdays the
	// birthday rewards granted.
	Tranches  int
	Birthdays int
	// Settlements is the paid terms whose break-even was settled, and
	// Settled the stored value they granted in total.
	Settlements int
	Settled     decimal.Decimal
	// Ended is the memberships that ran out (member.plan_ended published).
	Ended int
	// Failed is how many due memberships could not be processed (see the
	// error); the next run retries them.
	Failed int
}

// planCounts is PlanRunResult as the run counts it, in fen.
type planCounts struct {
	members, tranches, birthdays, settlements, ended, failed int
	settled                                                  int64
}

func (c *planCounts) add(o planCounts) {
	c.members += o.members
	c.tranches += o.tranches
	c.birthdays += o.birthdays
	c.settlements += o.settlements
	c.settled += o.settled
	c.ended += o.ended
	c.failed += o.failed
}

func (c planCounts) result() PlanRunResult {
	return PlanRunResult{Members: c.members, Tranches: c.tranches, Birthdays: c.birthdays, Settlements: c.settlements,
		Settled: scrm.FromFen(c.settled), Ended: c.ended, Failed: c.failed}
}

// RunPlans does what paid memberships need done over time, for every
// membership of the tenant that is due (found through Store.ListDueMemberships,
// not by scanning): it releases coupon-pack tranches that came due, grants
// birthday rewards, settles the break-even guarantee of paid terms that
// ended (granting Paid − Saved as stored value when positive), and closes
// terms that ended, publishing member.plan_ended when a membership (a trial
// included) runs out.
//
// Each of these happens exactly once. Grants go through Options.Rewarder
// with keys derived from the customer, the plan, the term and the tranche
// ("plan.tranche:<customer>:<plan>:<term>:<tranche>:<reward>",
// "plan.birthday:<customer>:<year>:<reward>",
// "plan.breakeven:<customer>:<plan>:<term>"), before the membership records
// them as done: a run that fails in between grants again under the same keys,
// which the Rewarder ignores.
//
// A run judges every membership at one time, the clock's reading when the run
// starts, taken before any membership is read: what fell due by then is
// delivered, what falls due during the run is left to the next run. So what a
// run grants was due before any change a request makes while the run is under
// way: a Cancel cuts a term at its own now, later, so a tranche due after the
// cancellation, or the break-even settlement of the cancelled term, is never
// granted, and a renewal saved before the old term's end is seen as the
// successor it is (no member.plan_ended). The membership is recorded only if
// it is still the version the grants were computed from; when a request (or
// another run) changed it in between, nothing is recorded: what is due is
// computed again from the membership as stored, at the same time, delivered
// (again, under the same keys) and recorded, a few times at most, after
// which the membership fails with ErrUnavailable and stays due.
//
// The plans are loaded once per run, and reloaded when a membership has an
// open term of a version published since (a concurrent PutPlan and
// Subscribe), so that its next due time counts that term; a term of a
// version the store no longer has makes its membership due at once, so
// that every run retries it rather than leaving a paid term unvisited.
//
// RunPlans carries on past a membership that fails and returns the failures
// joined by scrm.Join: the error matches ErrUnavailable when running again
// can help (a Rewarder or store that was down), and otherwise carries the
// refusal's code (say ErrExhausted for a coupon template that ran out; the
// membership stays due, and each run tries it again). Running it again at
// the same time does nothing more. Hosts run it
// from a scheduler (hourly, or a few minutes after local midnight, when
// tranches and birthdays fall due); it is separate from Sweep, which keeps
// the points ledger.
func (s *Service) RunPlans(ctx context.Context, tenant scrm.TenantID) (PlanRunResult, error) {
	const op = "member.RunPlans"
	var res planCounts
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return res.result(), err
	}
	ps, err := s.plans(ctx, op, tenant)
	if err != nil {
		return res.result(), err
	}
	pr := &planRun{ps: ps}
	now := s.clock.Now()
	var errs []error
	// One page and one work for the whole run, reused from membership to
	// membership: the store copies each page into the same buffers.
	page := new(DueMemberships)
	w := s.newPlanWork()
	cursor := ""
	for {
		err := s.store.ListDueMemberships(ctx, ListDueParams{Tenant: tenant, Before: now, Cursor: cursor, Limit: sweepPage}, page)
		if err != nil {
			errs = append(errs, wrap(op, err))
			break
		}
		for i := range page.Memberships {
			var hint *plMember
			if i < len(page.hints) {
				hint = page.hints[i]
			}
			r, err := s.runState(ctx, w, tenant, &page.Memberships[i], hint, pr, now)
			res.add(r)
			if err != nil {
				errs = append(errs, err)
				if ctx.Err() != nil {
					return res.result(), scrm.Join(op, errs...)
				}
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	return res.result(), scrm.Join(op, errs...)
}

// planVersion names a version of a plan.
type planVersion struct {
	id string
	v  int64
}

// errStalePlans tells that a membership has an open term of a plan version
// the plan set in hand does not know: a version published after the set
// was loaded (a concurrent PutPlan and Subscribe). Nothing is written; the
// caller reloads the plans and tries again.
var errStalePlans = errors.New("member: the plans loaded miss a version a membership's term is of")

// missing returns the plan version of an open term of st that ps does not
// know and lost does not list.
func (ps *planSet) missing(st *MembershipState, lost map[planVersion]bool) (planVersion, bool) {
	for i := range st.Terms {
		t := &st.Terms[i]
		if t.Closed || ps.version(t.Plan, t.PlanVersion) != nil {
			continue
		}
		if pv := (planVersion{t.Plan, t.PlanVersion}); !lost[pv] {
			return pv, true
		}
	}
	return planVersion{}, false
}

// planRun is the plans a run computes with. The set is loaded once, and
// again only when a membership has an open term of a version it does not
// know (a version published after the set was loaded: a concurrent PutPlan
// and Subscribe; see know): so once per miss, not per membership. A version
// still unknown after the reload is one the store lost; lost lists it, so
// that it causes no more reloads, and planDue makes its membership due at
// once, so that every run retries it rather than forgetting a paid term.
type planRun struct {
	ps   *planSet
	lost map[planVersion]bool
}

// reload replaces the plans with the store's current ones and lists pv as
// lost when they do not know it either.
func (pr *planRun) reload(ctx context.Context, s *Service, op string, tenant scrm.TenantID, pv planVersion) error {
	ps, err := s.plans(ctx, op, tenant)
	if err != nil {
		return err
	}
	pr.ps = ps
	if ps.version(pv.id, pv.v) == nil {
		pr.lose(pv)
	}
	return nil
}

func (pr *planRun) lose(pv planVersion) {
	if pr.lost == nil {
		pr.lost = make(map[planVersion]bool)
	}
	pr.lost[pv] = true
}

// know makes sure the plans know the version of every open term of st (or
// list it as lost), reloading them when one is missing.
func (pr *planRun) know(ctx context.Context, s *Service, op string, tenant scrm.TenantID, st *MembershipState) error {
	pv, ok := pr.ps.missing(st, pr.lost)
	if !ok {
		return nil
	}
	if err := pr.reload(ctx, s, op, tenant, pv); err != nil {
		return err
	}
	for {
		pv, ok := pr.ps.missing(st, pr.lost)
		if !ok {
			return nil
		}
		pr.lose(pv) // the reload did not bring it either
	}
}

// termMark is what a run did for one term.
type termMark struct {
	seq        int64
	released   int32
	settle     bool
	settlement int64
	close      bool
}

// planWork is what is due for a membership: the grants and events to
// deliver, then the marks to record.
type planWork struct {
	marks        []termMark
	birthdayYear int
	grants       []scrm.Grant
	events       []scrm.Event
	counts       planCounts
	// Room for the usual case: one term, one grant.
	markBuf  [2]termMark
	grantBuf [2]scrm.Grant

	// What the update needs: the membership as it will be saved when its
	// Version is still read. update is w.record, bound once per work so
	// that passing it to the store allocates nothing.
	s      *Service
	next   *MembershipState
	read   int64
	update func(tx *MembershipTx) error
}

// maxRunTries is how many times runState computes, delivers and tries to
// record what a membership is due before giving up (see errMembershipMoved).
const maxRunTries = 4

// errMembershipMoved tells that the membership changed since runState read
// it: record wrote nothing and copied the stored membership into the work's
// state, from which runState computes again.
var errMembershipMoved = errors.New("member: the membership changed since it was read")

// newPlanWork returns a work for runState.
func (s *Service) newPlanWork() *planWork {
	w := &planWork{s: s}
	w.update = w.record
	return w
}

// record is the UpdateMembership function of runState: it saves the next
// state as computed on the copy read when the membership is still that
// version; otherwise it writes nothing, copies the membership as stored
// into w.next and returns errMembershipMoved, so that what is recorded is
// always what was computed from the membership it replaces.
func (w *planWork) record(tx *MembershipTx) error {
	if tx.State.Version != w.read {
		copyStateInto(w.next, tx.State)
		return errMembershipMoved
	}
	copyStateInto(tx.State, w.next)
	touchMembership(tx.State, w.s.clock.Now())
	return nil
}

// runMember delivers what is due for one membership and records it.
func (s *Service) runMember(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, ps *planSet) (planCounts, error) {
	const op = "member.RunPlans"
	// The time is taken before the read (see runState).
	now := s.clock.Now()
	st, err := s.store.Membership(ctx, tenant, customer)
	if errors.Is(err, scrm.ErrNotFound) {
		return planCounts{}, nil
	} else if err != nil {
		return planCounts{failed: 1}, wrap(op, err)
	}
	w, _ := s.cache.works.Get().(*planWork)
	if w == nil {
		w = s.newPlanWork()
	}
	// The store keeps no reference to the update's fn once it returns, and
	// the Rewarder got the grants by value: w can be recycled then.
	defer s.cache.works.Put(w)
	return s.runState(ctx, w, tenant, &st, nil, &planRun{ps: ps}, now)
}

// runState delivers what is due at now for the membership st, a copy the
// caller owns, and records it; it changes st. hint is the memory store's
// record of it, when listed by the memory store.
//
// now must have been taken before st was read. Requests change a membership
// only from their own now on (Cancel cuts a term's End to it, Subscribe
// starts a term at it or later, RecordSaving is closed before a settlement
// is due), so what is due at now on st is still due on any later version:
// the grants stand whatever happens before the record. The record itself
// only replaces the version st is (see record); when the membership moved,
// runState computes again from it as stored, at the same now.
func (s *Service) runState(ctx context.Context, w *planWork, tenant scrm.TenantID, st *MembershipState, hint *plMember, pr *planRun, now time.Time) (planCounts, error) {
	const op = "member.RunPlans"
	customer := st.Customer
	loc := s.opts.LocationOf(tenant)
	defer func() { w.next = nil }()
	for try := 1; ; try++ {
		*w = planWork{s: w.s, update: w.update}
		if err := pr.know(ctx, s, op, tenant, st); err != nil {
			return planCounts{members: 1, failed: 1}, err
		}
		ps := pr.ps
		s.planWork(w, tenant, customer, st, ps, loc, now)
		w.counts.members = 1
		// Deliver first, record after: the keys make a second delivery
		// harmless, so a failure in between never loses one.
		for _, g := range w.grants {
			if err := s.rewarder.Grant(ctx, g); err != nil {
				s.log.WarnContext(ctx, "member: plan benefit failed", "key", g.IdempotencyKey, "err", err)
				// A refusal (a coupon template that ran out) is not made
				// retryable: scrm.Join keeps its code.
				return planCounts{members: 1, failed: 1}, scrm.Join(op, err)
			}
		}
		if !s.cache.noEvents {
			for _, ev := range w.events {
				if err := s.pub.Publish(ctx, ev); err != nil {
					return planCounts{members: 1, failed: 1}, scrm.Join(op, err)
				}
			}
		}
		// The next state, computed on the copy read; the update saves it
		// if the membership is still that version.
		w.read, w.next = st.Version, st
		oldDue := st.DueAt
		changed := w.apply(st)
		st.DueAt = s.planDue(st, ps, loc, now)
		if !changed && st.DueAt.Equal(oldDue) {
			return w.counts, nil
		}
		_, _, err := s.store.UpdateMembership(ctx, MembershipParams{Tenant: tenant, Customer: customer, hint: hint}, w.update)
		if errors.Is(err, errMembershipMoved) {
			// st is now the membership as stored.
			if try < maxRunTries {
				continue
			}
			return planCounts{members: 1, failed: 1}, scrm.Errorf(scrm.ErrUnavailable, op,
				"customer %q: the membership kept changing while its plan benefits were recorded (%d tries)", customer, try)
		}
		if err != nil {
			return planCounts{members: 1, failed: 1}, wrap(op, err)
		}
		return w.counts, nil
	}
}

// apply records the work's marks in st and reports whether anything
// changed.
func (w *planWork) apply(st *MembershipState) bool {
	changed := false
	for _, m := range w.marks {
		for i := range st.Terms {
			t := &st.Terms[i]
			if t.Seq != m.seq {
				continue
			}
			if m.released > t.Released {
				t.Released, changed = m.released, true
			}
			if m.settle && !t.Settled {
				t.Settled, t.Settlement, changed = true, m.settlement, true
			}
			if m.close && !t.Closed {
				t.Closed, changed = true, true
			}
		}
	}
	if w.birthdayYear > st.BirthdayYear {
		st.BirthdayYear, changed = w.birthdayYear, true
	}
	if changed {
		pruneTerms(st)
	}
	return changed
}

// pruneTerms drops the oldest closed terms beyond maxClosedTerms.
func pruneTerms(st *MembershipState) {
	closed := 0
	for _, t := range st.Terms {
		if t.Closed {
			closed++
		}
	}
	if closed <= maxClosedTerms {
		return
	}
	drop := closed - maxClosedTerms
	out := st.Terms[:0]
	for _, t := range st.Terms {
		if t.Closed && drop > 0 {
			drop--
			continue
		}
		out = append(out, t)
	}
	st.Terms = out
}

// planWork computes what is due for a membership at now.
func (s *Service) planWork(w *planWork, tenant scrm.TenantID, customer scrm.CustomerID, st *MembershipState, ps *planSet, loc *time.Location, now time.Time) {
	w.birthdayYear = st.BirthdayYear
	w.marks, w.grants, w.events = w.markBuf[:0], w.grantBuf[:0], nil
	grant := func(r scrm.Reward, key, source string) {
		w.grants = append(w.grants, scrm.Grant{Tenant: tenant, Customer: customer, Reward: r, IdempotencyKey: key, Source: source})
	}
	for {
		due, year, p, ok := nextBirthday(st, w.birthdayYear, ps, loc)
		if !ok || due.After(now) {
			break
		}
		y := strconv.Itoa(year)
		for j, r := range p.Benefits.Birthday {
			grant(r, deriveID("plan.birthday", string(customer), y, strconv.Itoa(j)), ps.source(p.ID, "birthday"))
		}
		w.birthdayYear = year
		w.counts.birthdays++
	}
	for i := range st.Terms {
		t := &st.Terms[i]
		if t.Closed {
			continue
		}
		p := ps.version(t.Plan, t.PlanVersion)
		if p == nil {
			continue // a plan version the store lost: nothing can be done
		}
		seq := strconv.FormatInt(t.Seq, 10)
		m := termMark{seq: t.Seq, released: t.Released}
		pack := p.Benefits.CouponPack
		for {
			due, ok := trancheDue(t, p, m.released, loc)
			if !ok || due.After(now) {
				break
			}
			n := strconv.Itoa(int(m.released))
			for j, r := range pack[int(m.released)%len(pack)].Rewards {
				grant(r, deriveID("plan.tranche", string(customer), t.Plan, seq, n, strconv.Itoa(j)), ps.source(p.ID, "coupon_pack"))
			}
			m.released++
			w.counts.tranches++
		}
		if t.End.After(now) {
			if m.released != t.Released {
				w.marks = append(w.marks, m)
			}
			continue
		}
		if needsSettlement(t, p) {
			if now.Before(t.End.Add(settleDelay)) {
				if m.released != t.Released {
					w.marks = append(w.marks, m)
				}
				continue
			}
			amount := max(0, t.Paid-t.Saved)
			if amount > 0 {
				grant(scrm.Reward{Kind: scrm.RewardStoredValue, Amount: scrm.FromFen(amount), Note: "开卡保本"},
					deriveID("plan.breakeven", string(customer), t.Plan, seq), ps.source(p.ID, "break_even"))
			}
			m.settle, m.settlement = true, amount
			w.counts.settled += amount
			w.counts.settlements++
		}
		m.close = true
		if t.Cancelled.IsZero() && !t.Converted && !hasSuccessor(st, t) {
			w.events = append(w.events, scrm.Event{ID: deriveID(EventPlanEnded, string(customer), seq), Tenant: tenant,
				Customer: customer, Type: EventPlanEnded, Time: t.End,
				Props: map[string]any{"plan": t.Plan, "trial": t.Trial, "term": t.Seq, "reason": "expired"}})
			w.counts.ended++
		}
		w.marks = append(w.marks, m)
	}
}

// needsSettlement tells whether a term's break-even is still to settle.
func needsSettlement(t *PlanTerm, p *Plan) bool {
	return !t.Trial && t.Cancelled.IsZero() && p.Benefits.BreakEven && !t.Settled
}

// hasSuccessor tells whether a term not cancelled starts exactly when t
// ends, as a renewal does: the membership runs on without a gap. A term
// bought after a lapse starts later and is no successor, so the lapse gets
// its member.plan_ended whether RunPlans ran before that purchase or not.
func hasSuccessor(st *MembershipState, t *PlanTerm) bool {
	for i := range st.Terms {
		u := &st.Terms[i]
		if u.Seq != t.Seq && u.Cancelled.IsZero() && u.Start.Equal(t.End) {
			return true
		}
	}
	return false
}

// trancheDue returns when the coupon-pack tranche numbered n (in release
// order, from 0) of a paid term is due: the local midnight of its Day in
// its membership month, but not before the month starts (membership month k
// starts k months after the term's start, at the same time of day, so a
// Day 0 tranche comes with the month); false when the term has no such
// tranche (a trial, no pack, or a time at or after the term's end).
func trancheDue(t *PlanTerm, p *Plan, n int32, loc *time.Location) (time.Time, bool) {
	pack := p.Benefits.CouponPack
	if t.Trial || len(pack) == 0 {
		return time.Time{}, false
	}
	k, i := int(n)/len(pack), int(n)%len(pack)
	month := addLocal(t.Start, k, 0, loc)
	y, m, d := month.Date()
	due := dayStart(y, m, d+pack[i].Day, loc)
	if due.Before(month) {
		due = month
	}
	if !due.Before(t.End) {
		return time.Time{}, false
	}
	return due, true
}

// nextBirthday returns when the member's next birthday reward is due: the
// first birthday in a year after afterYear whose local date overlaps a paid
// term with birthday rewards, due at that date's midnight or the term's
// start, whichever is later; with its year and the term's plan.
func nextBirthday(st *MembershipState, afterYear int, ps *planSet, loc *time.Location) (time.Time, int, *Plan, bool) {
	if st.BirthMonth == 0 {
		return time.Time{}, 0, nil, false
	}
	for i := range st.Terms {
		t := &st.Terms[i]
		if t.Trial || !t.End.After(t.Start) {
			continue
		}
		p := ps.version(t.Plan, t.PlanVersion)
		if p == nil || len(p.Benefits.Birthday) == 0 {
			continue
		}
		for y := max(afterYear+1, t.Start.In(loc).Year()); y <= t.End.In(loc).Year(); y++ {
			m, d := time.Month(st.BirthMonth), st.BirthDay
			if m == time.February && d == 29 && !isLeapYear(y) {
				d = 28
			}
			from, to := dayStart(y, m, d, loc), dayStart(y, m, d+1, loc)
			if from.Before(t.End) && to.After(t.Start) {
				if from.Before(t.Start) {
					from = t.Start
				}
				return from, y, p, true
			}
		}
	}
	return time.Time{}, 0, nil, false
}

func isLeapYear(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// planDue returns when a membership next needs RunPlans: the soonest of its
// next birthday reward, and for each open term its next tranche and its end
// (or, for a term with a break-even guarantee, its settlement); zero when
// nothing is left. An open term of a plan version ps does not know is due
// now: whatever it still owes cannot be computed, and a zero or later due
// time would leave a paid term unvisited; the next run, with the plans
// reloaded, retries it.
func (s *Service) planDue(st *MembershipState, ps *planSet, loc *time.Location, now time.Time) time.Time {
	var due time.Time
	soonest := func(t time.Time) {
		if due.IsZero() || t.Before(due) {
			due = t
		}
	}
	if t, _, _, ok := nextBirthday(st, st.BirthdayYear, ps, loc); ok {
		soonest(t)
	}
	for i := range st.Terms {
		t := &st.Terms[i]
		if t.Closed {
			continue
		}
		p := ps.version(t.Plan, t.PlanVersion)
		if p == nil {
			soonest(now)
			continue
		}
		if d, ok := trancheDue(t, p, t.Released, loc); ok {
			soonest(d)
		}
		if needsSettlement(t, p) {
			soonest(t.End.Add(settleDelay))
		} else {
			soonest(t.End)
		}
	}
	return storedTime(due)
}
