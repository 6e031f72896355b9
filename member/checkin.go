package member

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// EventCheckedIn is the event type CheckIn and MakeUp publish for a new
// check-in. Props: "date" (the local date, "2006-01-02"), "streak" (int),
// "make_up" (bool). Its ID is "member.checked_in:<customer>:<yyyymmdd>", so
// republishing it is harmless.
const EventCheckedIn = "member.checked_in"

// CheckInRule is a tenant's daily check-in (签到) configuration: a reward
// ladder by streak day, an optional cycle after which the ladder restarts,
// and make-up check-ins (补签).
//
// Check-in rules are versioned like programs: a new version applies to
// check-ins from then on, and each record keeps the version it was computed
// under.
type CheckInRule struct {
	Tenant scrm.TenantID `json:"tenant"`
	// Version is assigned by PutCheckInRule.
	Version   int64     `json:"version,omitzero"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	// Ladder gives the rewards of each day of a streak: the step with the
	// largest Day at or below the streak's day (within the cycle) applies,
	// so {Day 1: 5 points}, {Day 7: 50 points and a coupon} with Cycle 7
	// pays 5 points on days 1–6 and the big reward on day 7, then starts
	// over. Days before the first step earn nothing. Steps are ordered by
	// strictly increasing Day.
	Ladder []CheckInStep `json:"ladder,omitzero"`
	// Cycle is the streak length after which the ladder restarts (day
	// Cycle+1 of a streak is day 1 of the ladder again); zero means never:
	// the last step then applies to every later day.
	Cycle int `json:"cycle,omitzero"`
	// MakeUpPerMonth is how many make-up check-ins a customer may use per
	// local calendar month; zero disables them.
	MakeUpPerMonth int `json:"makeUpPerMonth,omitzero"`
	// MakeUpCost is the points a make-up costs, spent from the points
	// ledger; zero means free.
	MakeUpCost int64 `json:"makeUpCost,omitzero"`
}

// CheckInStep is one step of a check-in ladder.
type CheckInStep struct {
	// Day is the streak day (within the cycle) from which the step applies,
	// 1 for the first day.
	Day int `json:"day"`
	// Rewards are granted through Options.Rewarder on each such day.
	Rewards []scrm.Reward `json:"rewards,omitzero"`
}

// Clone returns a deep copy of r.
func (r CheckInRule) Clone() CheckInRule {
	if r.Ladder != nil {
		l := make([]CheckInStep, len(r.Ladder))
		for i, st := range r.Ladder {
			l[i] = CheckInStep{Day: st.Day, Rewards: append([]scrm.Reward(nil), st.Rewards...)}
			if st.Rewards == nil {
				l[i].Rewards = nil
			}
		}
		r.Ladder = l
	}
	return r
}

// maxCheckInDays bounds a ladder's days and cycle (ten years of streak).
const maxCheckInDays = 3660

// Validate reports the first malformed field of r as an ErrInvalid error
// naming it ("Ladder[1].Day").
func (r CheckInRule) Validate() error {
	const op = "member.CheckInRule"
	if err := scrm.CheckID(op, "Tenant", string(r.Tenant)); err != nil {
		return err
	}
	for i, st := range r.Ladder {
		f := "Ladder[" + strconv.Itoa(i) + "]"
		if st.Day < 1 || st.Day > maxCheckInDays {
			return scrm.Invalid(op, f+".Day", "must be in [1, %d], got %d", maxCheckInDays, st.Day)
		}
		if i > 0 && st.Day <= r.Ladder[i-1].Day {
			return scrm.Invalid(op, f+".Day", "steps must have strictly increasing days, got %d after %d", st.Day, r.Ladder[i-1].Day)
		}
		if err := checkRewards(op, f+".Rewards", st.Rewards); err != nil {
			return err
		}
	}
	switch {
	case r.Cycle < 0 || r.Cycle > maxCheckInDays:
		return scrm.Invalid(op, "Cycle", "must be in [0, %d], got %d", maxCheckInDays, r.Cycle)
	case r.Cycle > 0 && len(r.Ladder) > 0 && r.Ladder[len(r.Ladder)-1].Day > r.Cycle:
		return scrm.Invalid(op, "Cycle", "a cycle of %d days never reaches the step of day %d", r.Cycle, r.Ladder[len(r.Ladder)-1].Day)
	case r.MakeUpPerMonth < 0 || r.MakeUpPerMonth > 31:
		return scrm.Invalid(op, "MakeUpPerMonth", "must be in [0, 31], got %d", r.MakeUpPerMonth)
	case r.MakeUpCost < 0 || r.MakeUpCost > maxPoints:
		return scrm.Invalid(op, "MakeUpCost", "must not be negative, got %d", r.MakeUpCost)
	}
	return nil
}

// checkRewards validates rewards a rule grants, naming the field
// ("Ladder[0].Rewards[1].Points"): scrm.Reward.Validate (a kind, no
// negative values, and the value a standard kind grants), plus member's
// own bounds on points and stored value.
func checkRewards(op, field string, rs []scrm.Reward) error {
	for j, r := range rs {
		f := field + "[" + strconv.Itoa(j) + "]"
		if err := r.Validate(); err != nil {
			var se *scrm.Error
			if asError(err, &se) {
				return scrm.Invalid(op, f+"."+se.Field, "%s", se.Msg)
			}
			return scrm.Invalid(op, f, "%v", err)
		}
		switch r.Kind {
		case scrm.RewardPoints, scrm.RewardGrowth:
			if r.Points > maxPoints {
				return scrm.Invalid(op, f+".Points", "must be at most %d, got %d", maxPoints, r.Points)
			}
		case scrm.RewardStoredValue:
			if err := checkAmount(op, f+".Amount", r.Amount); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkHeld rejects rewards of kinds the service's own Grant does not hold
// when no Options.Rewarder is configured.
func (s *Service) checkHeld(op, field string, rs []scrm.Reward) error {
	if s.rewarder != scrm.Rewarder(s) {
		return nil
	}
	for j, r := range rs {
		if !s.holds(r.Kind) {
			return scrm.Invalid(op, field+"["+strconv.Itoa(j)+"].Kind",
				"kind %q needs Options.Rewarder (the service itself holds only points, growth and stored_value)", r.Kind)
		}
	}
	return nil
}

// ladder returns the cycle day of a streak day and the rewards of that day.
func (r *CheckInRule) ladder(streak int) (int, []scrm.Reward) {
	day := streak
	if r.Cycle > 0 {
		day = (streak-1)%r.Cycle + 1
	}
	for i := len(r.Ladder) - 1; i >= 0; i-- {
		if r.Ladder[i].Day <= day {
			return day, r.Ladder[i].Rewards
		}
	}
	return day, nil
}

// PutCheckInRule validates r, stores it as the tenant's newest check-in rule
// and returns it with Version and CreatedAt set.
//
// Errors: ErrInvalid naming the field, e.g. "Ladder[1].Day" for steps out of
// order, or "Ladder[0].Rewards[1].Kind" for a coupon reward when the service
// has no Options.Rewarder.
func (s *Service) PutCheckInRule(ctx context.Context, r CheckInRule) (CheckInRule, error) {
	const op = "member.PutCheckInRule"
	if err := r.Validate(); err != nil {
		return CheckInRule{}, err
	}
	for i, st := range r.Ladder {
		if err := s.checkHeld(op, "Ladder["+strconv.Itoa(i)+"].Rewards", st.Rewards); err != nil {
			return CheckInRule{}, err
		}
	}
	r.Version = 0
	r.CreatedAt = s.clock.Now()
	out, err := s.store.PutCheckInRule(ctx, r)
	return out, wrap(op, err)
}

// CheckInRule returns the tenant's newest check-in rule. Errors:
// ErrNotFound.
func (s *Service) CheckInRule(ctx context.Context, tenant scrm.TenantID) (CheckInRule, error) {
	r, err := s.store.CheckInRule(ctx, tenant, 0)
	return r, wrap("member.CheckInRule", err)
}

// checkInRule returns the tenant's current check-in rule from the cache,
// reloading it when the store has a newer version. The rule returned is
// shared: callers must not change it.
func (s *Service) checkInRule(ctx context.Context, op string, tenant scrm.TenantID) (*CheckInRule, error) {
	v, err := s.store.CheckInRuleVersion(ctx, tenant)
	if err != nil {
		return nil, wrap(op, err)
	}
	if v == 0 {
		return nil, scrm.Errorf(scrm.ErrNotFound, op, "tenant %q has no check-in rule", tenant)
	}
	if r := s.cache.checkIns.get(tenant); r != nil && r.Version == v {
		return r, nil
	}
	r, err := s.store.CheckInRule(ctx, tenant, v)
	if err != nil {
		return nil, wrap(op, err)
	}
	s.cache.checkIns.put(tenant, &r, func(r *CheckInRule) int64 { return r.Version })
	return &r, nil
}

// CheckInRequest checks a customer in for the day.
type CheckInRequest struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// At is when the customer checked in; zero means now. Its local date in
	// the tenant's zone is the day checked in, but never a date after the
	// clock's: At may be at most FutureTolerance after the clock (a device
	// clock a little fast), and when that puts it on the next date, today
	// is checked in, as a day that has not begun cannot be. At may be on an
	// earlier date than today only by FutureTolerance (a tap just before
	// midnight that arrives just after): past days are filled with MakeUp.
	At time.Time
}

// CheckInResult is a day's check-in.
type CheckInResult struct {
	// Date is the first instant of the local date checked in.
	Date time.Time
	// Streak is the date's position in its run of consecutive days when it
	// was checked in; CycleDay the same within the rule's cycle.
	Streak   int
	CycleDay int
	// Rewards are what the day granted through Options.Rewarder.
	Rewards []scrm.Reward
	// MakeUp tells a make-up check-in, Cost the points it cost.
	MakeUp bool
	Cost   int64
	// Replayed tells that the date was already checked in (or the make-up
	// key already used): this is the original result and nothing changed.
	Replayed bool
}

// errCheckedIn tells CheckIn that the date already has a record.
var errCheckedIn = errors.New("member: already checked in")

// CheckIn checks a customer in for the local date of req.At in the tenant's
// zone, or for today when req.At is ahead of the clock on a later date (see
// CheckInRequest). The first check-in of a date extends the streak when the
// previous date was checked in (a missed date starts a new streak at 1),
// picks the ladder step of the streak's day within the cycle and grants its
// rewards through Options.Rewarder with keys
// "checkin:<customer>:<yyyymmdd>:<i>" and Source "checkin" (replays grant
// again under the same keys, completing a grant that failed).
// Any later check-in of the same date returns the first one's result with
// Replayed set and changes nothing: concurrent check-ins of a date record
// exactly one.
//
// If a grant fails the check-in stands and the result is returned with an
// error, matching ErrUnavailable unless the Rewarder refused for good (see
// Service).
//
// Errors: ErrInvalid for a malformed request or an At beyond
// FutureTolerance after the clock or on an earlier date (see
// CheckInRequest); ErrNotFound when the tenant has no
// check-in rule.
func (s *Service) CheckIn(ctx context.Context, req CheckInRequest) (CheckInResult, error) {
	const op = "member.CheckIn"
	if err := scrm.CheckID(op, "Tenant", string(req.Tenant)); err != nil {
		return CheckInResult{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(req.Customer)); err != nil {
		return CheckInResult{}, err
	}
	now := s.clock.Now()
	at, err := checkAt(op, req.At, now)
	if err != nil {
		return CheckInResult{}, err
	}
	loc := s.opts.LocationOf(req.Tenant)
	today := dayKey(now, loc)
	date := today
	if !at.Equal(now) {
		// A date after today (At ahead of the clock, within the tolerance)
		// has not begun: the day checked in is today.
		date = min(dayKey(at, loc), today)
	}
	if date != today && at.Before(now.Add(-FutureTolerance)) {
		return CheckInResult{}, scrm.Invalid(op, "At", "%s is on an earlier day than today: past days are filled with MakeUp", at.Format(time.RFC3339))
	}
	rule, err := s.checkInRule(ctx, op, req.Tenant)
	if err != nil {
		return CheckInResult{}, err
	}
	o, _ := s.ciOps.Get().(*checkInOp)
	if o == nil {
		o = &checkInOp{}
		o.fn = o.run
	}
	o.rule, o.date, o.today, o.now = rule, date, today, now
	rec, _, err := s.store.UpdateCheckIn(ctx, CheckInParams{Tenant: req.Tenant, Customer: req.Customer, Date: date}, o.fn)
	replayed := false
	if err == errCheckedIn {
		rec, replayed, err = o.existing, true, nil
	}
	*o = checkInOp{fn: o.fn} // the store keeps no reference to fn once UpdateCheckIn returns
	s.ciOps.Put(o)
	if err != nil {
		return CheckInResult{}, wrap(op, err)
	}
	return s.checkInEffects(ctx, req.Tenant, req.Customer, rec, replayed, loc)
}

// checkInOp is CheckIn's step for Store.UpdateCheckIn. It is recycled, with
// fn bound to run once, so that a check-in allocates neither a closure nor
// the variables it would capture.
type checkInOp struct {
	rule        *CheckInRule
	date, today int32
	now         time.Time
	// existing is the date's record when it was already checked in.
	existing CheckInRecord
	fn       func(tx *CheckInTx) error
}

func (o *checkInOp) run(tx *CheckInTx) error {
	if tx.Existing != nil {
		o.existing = tx.Existing.Clone() // tx is the store's once fn returns
		return errCheckedIn
	}
	tx.Record = checkInDay(tx.newRecord(), o.rule, tx.State, o.date, o.today, o.now, false)
	return nil
}

// checkInGrantKey returns the idempotency key of the i-th reward of a
// check-in, deriveID("checkin", customer, date, i), built in one allocation.
func checkInGrantKey(customer scrm.CustomerID, date int32, i int) string {
	var arr [scrm.MaxIDLength]byte
	b := append(arr[:0], "checkin:"...)
	b = append(b, customer...)
	b = append(b, ':')
	if date >= 10000101 && date <= 99991231 { // 8 digits, written directly
		d := uint32(date)
		var dig [8]byte
		for k := 7; k >= 0; k-- {
			dig[k] = byte('0' + d%10)
			d /= 10
		}
		b = append(b, dig[:]...)
	} else {
		b = strconv.AppendInt(b, int64(date), 10)
	}
	b = append(b, ':')
	if i >= 0 && i < 10 {
		b = append(b, byte('0'+i))
	} else {
		b = strconv.AppendInt(b, int64(i), 10)
	}
	if len(b) > scrm.MaxIDLength {
		return deriveID("checkin", string(customer), strconv.Itoa(int(date)), strconv.Itoa(i))
	}
	return string(b)
}

// checkInDay records date in state under rule and returns its record,
// filled in at rec.
func checkInDay(rec *CheckInRecord, rule *CheckInRule, st *CheckInState, date, today int32, now time.Time, makeUp bool) *CheckInRecord {
	var pos int
	st.Runs, pos = runsInsert(st.Runs, date)
	st.Runs = runsPrune(st.Runs, today)
	st.Total++
	if st.Version == 0 && st.CreatedAt.IsZero() {
		st.CreatedAt = now
	}
	st.UpdatedAt = now
	*rec = CheckInRecord{Date: date, At: now, Streak: pos, MakeUp: makeUp, Rule: rule.Version}
	day, rewards := rule.ladder(pos)
	rec.CycleDay = day
	if !makeUp {
		rec.Rewards = rewards
	}
	return rec
}

// checkInEffects grants a check-in's rewards and publishes its event, both
// under IDs derived from the customer and the date.
func (s *Service) checkInEffects(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, rec CheckInRecord, replayed bool, loc *time.Location) (CheckInResult, error) {
	r := CheckInResult{Date: dateStart(rec.Date, loc), Streak: rec.Streak, CycleDay: rec.CycleDay, Rewards: rec.Rewards,
		MakeUp: rec.MakeUp, Cost: rec.Cost, Replayed: replayed}
	var errs []error
	if len(rec.Rewards) > 0 {
		for i, rw := range rec.Rewards {
			g := scrm.Grant{Tenant: tenant, Customer: customer, Reward: rw,
				IdempotencyKey: checkInGrantKey(customer, rec.Date, i), Source: "checkin"}
			if err := s.rewarder.Grant(ctx, g); err != nil {
				s.log.WarnContext(ctx, "member: check-in reward failed", "key", g.IdempotencyKey, "err", err)
				errs = append(errs, err)
			}
		}
	}
	if !s.cache.noEvents {
		date := strconv.Itoa(int(rec.Date))
		ev := scrm.Event{ID: deriveID(EventCheckedIn, string(customer), date), Tenant: tenant, Customer: customer,
			Type: EventCheckedIn, Time: rec.At,
			Props: map[string]any{"date": dateString(rec.Date), "streak": rec.Streak, "make_up": rec.MakeUp}}
		if err := s.pub.Publish(ctx, ev); err != nil {
			s.log.WarnContext(ctx, "member: publish failed", "event", ev.String(), "err", err)
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return r, scrm.Join("member: after commit", errs...)
	}
	return r, nil
}

// MakeUpRequest fills a missed date with a make-up check-in (补签).
type MakeUpRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	IdempotencyKey string
	// Date is any instant of the missed local date; it must be in the
	// current local month and before today.
	Date time.Time
}

// MakeUp fills a missed date of the current month with a make-up check-in,
// which joins the runs on either side into one streak: a customer who missed
// yesterday and makes it up keeps the streak going today. A make-up earns no
// ladder reward (the ladder pays for showing up); it counts against the
// rule's MakeUpPerMonth and costs its MakeUpCost in points, spent from the
// points ledger (an EntrySpend noted "checkin.makeup:<date>", keyed
// "checkin.makeup:" + IdempotencyKey).
//
// The points are spent first; should the make-up then fail (the date got
// checked in meanwhile, or the month's make-ups ran out), they are returned
// to the lots they came from (an EntryRefund keyed
// "checkin.makeup.refund:" + IdempotencyKey) and the error returned.
// Replaying the key returns the original result.
//
// A failed make-up frees its key, and a retry with it must be charged
// again, not replay the spend that was returned. So the spends of a key
// are numbered attempts g = 0, 1, 2…: attempt 0 is keyed as above,
// attempt g ≥ 1 "checkin.makeup.<g>:" + IdempotencyKey, its refund
// "checkin.makeup.refund.<g>:" + IdempotencyKey (a form no key of attempt
// 0 can take, whatever the IdempotencyKey holds). For g = 0, 1, … MakeUp
// runs attempt g's spend:
//
//   - a spend done now is a fresh charge: the make-up goes on with it;
//   - a spend replayed whose date is already recorded as made up under
//     this key (the make-up succeeded earlier) goes on with it too: the
//     check-in update replays;
//   - otherwise the replayed spend belongs to an attempt that failed, or
//     crashed before recording: MakeUp makes sure it is returned by running
//     attempt g's refund (which replays an earlier refund or refunds now)
//     and tries attempt g+1.
//
// After 32 attempts it gives up with ErrConflict naming IdempotencyKey:
// the caller retries with a new key. Of concurrent requests with one key,
// each attempt's spend is charged at most once, and attempt g+1 only after
// attempt g was returned, so at most one charge is outstanding at a time.
// A request that finds the spend of an attempt another request is still
// recording returns it and charges the next attempt itself; the requests
// that succeed all get the one make-up recorded under the key, paid by the
// latest attempt's charge, and when the make-up fails every charge is
// returned.
//
// Errors: ErrInvalid for a malformed request or a Date not before today in
// the current month; ErrForbidden when the rule allows no make-ups;
// ErrConflict when the date is already checked in or for a reused key;
// ErrExhausted when the month's make-ups are used up or the points are short;
// ErrNotFound when the tenant has no check-in rule (or, for a make-up that
// costs points, no program).
func (s *Service) MakeUp(ctx context.Context, req MakeUpRequest) (CheckInResult, error) {
	const op = "member.MakeUp"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return CheckInResult{}, err
	}
	if req.Date.IsZero() {
		return CheckInResult{}, scrm.Invalid(op, "Date", "required")
	}
	now := s.clock.Now()
	loc := s.opts.LocationOf(req.Tenant)
	date, today := dayKey(req.Date, loc), dayKey(now, loc)
	if date >= today || date/100 != today/100 {
		return CheckInResult{}, scrm.Invalid(op, "Date", "%s is not a past day of the current month", dateString(date))
	}
	rule, err := s.checkInRule(ctx, op, req.Tenant)
	if err != nil {
		return CheckInResult{}, err
	}
	if rule.MakeUpPerMonth == 0 {
		return CheckInResult{}, scrm.Errorf(scrm.ErrForbidden, op, "the check-in rule allows no make-ups")
	}
	month := monthKey(now, loc)
	fp := s.newFingerprint(op).str(string(req.Customer)).int(int64(date)).sum()

	// Check before spending anything (the update checks again, under the
	// lock); a date made up under this very key is a replay.
	st, err := s.store.CheckInState(ctx, req.Tenant, req.Customer)
	if err != nil && !errors.Is(err, scrm.ErrNotFound) {
		return CheckInResult{}, wrap(op, err)
	}
	if runsHave(st.Runs, date) {
		recs, err := s.store.CheckIns(ctx, ListCheckInsParams{Tenant: req.Tenant, Customer: req.Customer, From: date, To: date})
		if err != nil {
			return CheckInResult{}, wrap(op, err)
		}
		if len(recs) == 0 || recs[0].Key != req.IdempotencyKey {
			return CheckInResult{}, scrm.Errorf(scrm.ErrConflict, op, "%s is already checked in", dateString(date))
		}
	} else if st.MakeUpMonth == month && int(st.MakeUps) >= rule.MakeUpPerMonth {
		return CheckInResult{}, scrm.Errorf(scrm.ErrExhausted, op, "the %d make-ups of the month are used", rule.MakeUpPerMonth)
	}

	cost := rule.MakeUpCost
	var (
		spent   Outcome
		attempt int
		// recorded tells that the spend pays for a make-up already
		// recorded under the key: it is never returned.
		recorded bool
	)
	if cost > 0 {
		spent, attempt, recorded, err = s.spendMakeUp(ctx, req, date, cost, fp)
		if err != nil {
			return CheckInResult{}, err
		}
	}

	rec, replayed, err := s.store.UpdateCheckIn(ctx, CheckInParams{Tenant: req.Tenant, Customer: req.Customer, Date: date,
		IdempotencyKey: req.IdempotencyKey, Fingerprint: fp}, func(tx *CheckInTx) error {
		if tx.Existing != nil {
			return scrm.Errorf(scrm.ErrConflict, op, "%s is already checked in", dateString(date))
		}
		st := tx.State
		if st.MakeUpMonth != month {
			st.MakeUpMonth, st.MakeUps = month, 0
		}
		if int(st.MakeUps) >= rule.MakeUpPerMonth {
			return scrm.Errorf(scrm.ErrExhausted, op, "the %d make-ups of the month are used", rule.MakeUpPerMonth)
		}
		st.MakeUps++
		r := checkInDay(tx.newRecord(), rule, st, date, today, now, true)
		r.Cost, r.Key = cost, req.IdempotencyKey
		tx.Record = r
		return nil
	})
	if err != nil {
		if cost > 0 && !recorded && !errors.Is(err, scrm.ErrUnavailable) {
			// The make-up cannot happen: return the points.
			if rerr := s.returnMakeUpPoints(ctx, req, spent, attempt); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return CheckInResult{}, wrap(op, err)
	}
	return s.checkInEffects(ctx, req.Tenant, req.Customer, rec, replayed, loc)
}

// maxMakeUpAttempts bounds the spends of one make-up key (see MakeUp).
const maxMakeUpAttempts = 32

// makeUpKey returns the ledger key of attempt g of a make-up's spend (kind
// "checkin.makeup") or refund ("checkin.makeup.refund"); see MakeUp.
func makeUpKey(kind, key string, g int) string {
	if g == 0 {
		return deriveID(kind, key)
	}
	return deriveID(kind+"."+strconv.Itoa(g), key)
}

// spendMakeUp charges a make-up's cost under the first attempt whose spend
// is fresh, or replays the spend of a make-up already recorded under the
// key, returning attempts that failed (see MakeUp). It returns the spend's
// outcome, its attempt and whether the make-up is already recorded.
func (s *Service) spendMakeUp(ctx context.Context, req MakeUpRequest, date int32, cost int64, fp string) (Outcome, int, bool, error) {
	const op = "member.MakeUp"
	note := "checkin.makeup:" + dateString(date)
	step := func(e *engine) error {
		if e.a.Points() < cost {
			return &scrm.Error{Code: scrm.ErrExhausted, Op: op, Msg: "a make-up costs " + strconv.FormatInt(cost, 10) +
				" points, " + strconv.FormatInt(max(e.a.Points(), 0), 10) + " spendable"}
		}
		ent := e.entry(EntrySpend)
		ent.Note = note
		spend(e.a, ent, cost, 0)
		return nil
	}
	// An attempt found charged but not recorded is returned only once the
	// next attempt is charged: another request with the key may be
	// recording the make-up on that charge right now, and must not be left
	// with a make-up nobody paid for should the next charge fail.
	var prev Outcome
	prevG := -1
	for g := range maxMakeUpAttempts {
		spent, replayed, err := s.update(ctx, op, UpdateParams{Tenant: req.Tenant, Customer: req.Customer,
			IdempotencyKey: makeUpKey("checkin.makeup", req.IdempotencyKey, g), Fingerprint: fp}, step)
		if err != nil && spent.Entries == nil {
			return Outcome{}, 0, false, err
		}
		// An error with entries is an effect that failed after the spend
		// was saved: the spend stands.
		if prevG >= 0 {
			if err := s.returnMakeUpPoints(ctx, req, prev, prevG); err != nil {
				return Outcome{}, 0, false, err
			}
			prevG = -1
		}
		if !replayed {
			return spent, g, false, nil
		}
		recs, err := s.store.CheckIns(ctx, ListCheckInsParams{Tenant: req.Tenant, Customer: req.Customer, From: date, To: date})
		if err != nil {
			return Outcome{}, 0, false, wrap(op, err)
		}
		if len(recs) > 0 && recs[0].MakeUp && recs[0].Key == req.IdempotencyKey {
			return spent, g, true, nil
		}
		prev, prevG = spent, g
	}
	return Outcome{}, 0, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
		Msg: "make-up key " + strconv.Quote(req.IdempotencyKey) + " failed " + strconv.Itoa(maxMakeUpAttempts) + " times; retry with a new key"}
}

// returnMakeUpPoints credits the points attempt g of a make-up spent back
// to the lots they came from, with their expiry (lots expired meanwhile
// expire them again at once), under the attempt's refund key: running it
// again replays.
func (s *Service) returnMakeUpPoints(ctx context.Context, req MakeUpRequest, spent Outcome, g int) error {
	const op = "member.MakeUp"
	var moves []LotMove
	var charged time.Time // when the points were spent
	for _, e := range spent.Entries {
		if e.Kind == EntrySpend {
			moves = append(moves, e.Lots...)
			charged = later(charged, e.At)
		}
	}
	fp := s.newFingerprint(op + ".refund").str(string(req.Customer)).str(req.IdempotencyKey).sum()
	_, _, err := s.update(ctx, op, UpdateParams{Tenant: req.Tenant, Customer: req.Customer,
		IdempotencyKey: makeUpKey("checkin.makeup.refund", req.IdempotencyKey, g), Fingerprint: fp}, func(e *engine) error {
		before := e.a.Points()
		ent := e.entry(EntryRefund)
		ent.Note = "checkin.makeup refund"
		for _, m := range moves {
			ent.Forfeited += creditReturn(e.a, ent, -m.Points, m.Expiry, e.now.UnixNano(), m.Lot)
		}
		// Points coming back pay off first what refunds could not claw
		// back (AccountState.Unclawed), as of when they were spent.
		e.takeUnclawed("", "", e.a.Points()-before, charged)
		return nil
	})
	return err
}
