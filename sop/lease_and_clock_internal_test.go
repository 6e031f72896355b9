package sop

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// TestStoreLeaseCancelInvariants drives a MemoryStore with random
// Claim, Admit, Complete, Reschedule, EndEnrollments, Enroll (re-entry while
// an old job is still leased), pause and resume, and checks after every
// step: cap counters equal the slots held plus the slots of messages sent,
// slots are held only by leased jobs, leases and leased states agree, a
// final job never changes state, stats count each final job once, and an
// active enrollment's open count matches its jobs.
func TestStoreLeaseCancelInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runLeaseCancelSteps(t, seed) })
	}
}

func runLeaseCancelSteps(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	ctx := context.Background()
	s := NewMemoryStore().(*memoryStore)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	steps := []Step{{ID: "s1"}, {ID: "s2"}, {ID: "s3"}}
	modes := []ReentryMode{Always, AfterExit}
	res, err := s.PutPlaybook(ctx, PutPlaybookParams{At: now, Playbook: Playbook{Tenant: "t1", ID: "p", Steps: steps,
		Reentry: Reentry{Mode: modes[rng.IntN(2)]}}})
	require.NoError(t, err)
	version := res.Playbook.Version
	paused := false
	const capMax = 2
	customers := []scrm.CustomerID{"c1", "c2"}
	workers := []string{"w1", "w2", "w3"}
	type held struct {
		worker string
		until  time.Time
		cust   scrm.CustomerID
	}
	leases := map[string]held{} // what the workers believe they hold
	finals := map[string]uint8{}
	consumed := map[capSlot]int{}
	dayCap := func(at time.Time) []CapPeriod {
		st := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		return []CapPeriod{{Max: capMax, Per: Day, Start: st, End: st.Add(24 * time.Hour)}}
	}
	check := func(step int, what string) {
		t.Helper()
		tn := s.tenants["t1"]
		// Slots held only by leased jobs.
		heldBy := map[capSlot]int{}
		for id, sl := range s.slots {
			_, ok := s.leases[id]
			require.True(t, ok, "step %d (%s): job %s holds cap slots without a lease", step, what, id)
			for _, x := range sl {
				heldBy[x]++
			}
		}
		for cust, counts := range tn.caps {
			for _, c := range counts {
				k := capSlot{customer: cust, channel: c.channel, per: c.per, start: c.start}
				want := heldBy[k] + consumed[k]
				require.Equal(t, want, c.n, "step %d (%s): cap counter %s %s: held %d + sent %d", step, what, cust, fromNanos(c.start), heldBy[k], consumed[k])
				require.LessOrEqual(t, c.n, capMax, "step %d (%s)", step, what)
			}
		}
		pb := tn.playbooks["p"]
		var nFinal [7]int
		total := 0
		for _, c := range customers {
			for e := pb.members[c]; e != nil; e = s.prevOf(e) {
				open := 0
				for k := range e.jobs {
					j := &e.jobs[k]
					total++
					id := JobID("t1", "p", e.customer, int(e.seq), pb.names[j.step])
					l, leased := s.leases[id]
					require.Equal(t, j.state == stLeased, leased, "step %d (%s): job %s state %d, lease %v", step, what, id, j.state, leased)
					if leased {
						require.Equal(t, l.ref, ref(e, k), "step %d", step)
					}
					if j.state >= stDone {
						nFinal[j.state]++
						if prev, ok := finals[id]; ok {
							require.Equal(t, prev, j.state, "step %d (%s): final job %s changed state", step, what, id)
						}
						finals[id] = j.state
					} else {
						_, was := finals[id]
						require.False(t, was, "step %d (%s): final job %s is open again (state %d)", step, what, id, j.state)
						open++
					}
				}
				if e.state == enrActive {
					require.Equal(t, open, int(e.open), "step %d (%s): enrollment %s/%d open", step, what, e.customer, e.seq)
					require.Positive(t, open, "step %d (%s): an active enrollment with no open job", step, what)
				}
			}
		}
		var sum StepStats
		for _, st := range pb.stats {
			sum.Enrolled += st.Enrolled
			sum.Sent += st.Sent
			sum.Skipped += st.Skipped
			sum.Failed += st.Failed
			sum.Cancelled += st.Cancelled
		}
		require.Equal(t, int64(total), sum.Enrolled, "step %d (%s)", step, what)
		require.Equal(t, int64(nFinal[stDone]), sum.Sent, "step %d (%s): Sent", step, what)
		require.Equal(t, int64(nFinal[stSkipped]), sum.Skipped, "step %d (%s): Skipped", step, what)
		require.Equal(t, int64(nFinal[stFailed]), sum.Failed, "step %d (%s): Failed", step, what)
		require.Equal(t, int64(nFinal[stCancelled]), sum.Cancelled, "step %d (%s): Cancelled", step, what)
	}
	pick := func() (string, held, bool) {
		if len(leases) == 0 {
			return "", held{}, false
		}
		ids := make([]string, 0, len(leases))
		for id := range leases {
			ids = append(ids, id)
		}
		// map order is random; sort for reproducibility
		for i := 1; i < len(ids); i++ {
			for k := i; k > 0 && ids[k] < ids[k-1]; k-- {
				ids[k], ids[k-1] = ids[k-1], ids[k]
			}
		}
		id := ids[rng.IntN(len(ids))]
		return id, leases[id], true
	}
	for step := 0; step < 400; step++ {
		var what string
		switch op := rng.IntN(11); op {
		case 0, 1: // enroll
			c := customers[rng.IntN(len(customers))]
			what = "enroll " + string(c)
			jobs := make([]JobSpec, 0, 3)
			for _, st := range steps {
				jobs = append(jobs, JobSpec{Step: st.ID, Due: now.Add(time.Duration(rng.IntN(40)) * time.Minute)})
			}
			_, err := s.Enroll(ctx, EnrollParams{Tenant: "t1", Playbook: "p", Version: version, Customer: c, Anchor: now, At: now, Jobs: jobs})
			if err != nil {
				require.ErrorIs(t, err, scrm.ErrConflict)
			}
		case 2, 3: // claim
			w := workers[rng.IntN(len(workers))]
			what = "claim " + w
			got, err := s.Claim(ctx, ClaimParams{Worker: w, At: now, Limit: 1 + rng.IntN(3), Lease: 5 * time.Minute})
			require.NoError(t, err)
			for _, j := range got {
				leases[j.ID] = held{worker: w, until: j.LeaseUntil, cust: j.Customer}
			}
		case 4: // admit
			id, h, ok := pick()
			if !ok {
				continue
			}
			what = "admit " + id
			_, err := s.Admit(ctx, AdmitParams{Tenant: "t1", Job: id, Worker: h.worker, At: now, Customer: h.cust, Channel: "wecom", Caps: dayCap(now)})
			if err != nil {
				require.ErrorIs(t, err, scrm.ErrConflict)
				delete(leases, id)
			}
		case 5, 6: // complete
			id, h, ok := pick()
			if !ok {
				continue
			}
			states := []JobState{JobDone, JobDone, JobSkipped, JobFailed}
			state := states[rng.IntN(len(states))]
			var task *StaffTask
			if rng.IntN(5) == 0 {
				task = &StaffTask{ID: id, Staff: "staff1", Customer: h.cust, Playbook: "p"}
			}
			what = fmt.Sprintf("complete %s %s task=%v", id, state, task != nil)
			before := append([]capSlot(nil), s.slots[id]...)
			marked := s.leases[id].cancel
			j, err := s.Complete(ctx, CompleteParams{Tenant: "t1", Job: id, Worker: h.worker, At: now, State: state, Task: task, Touch: true, TouchKeep: time.Hour})
			delete(leases, id)
			if err != nil {
				require.ErrorIs(t, err, scrm.ErrConflict)
				break
			}
			if j.State == JobDone {
				for _, x := range before {
					consumed[x]++
				}
			}
			if marked && (state != JobDone || task != nil) {
				require.NotEqual(t, JobDone, j.State, "%s: completed %s, got done", what, state)
			}
		case 7: // reschedule
			id, h, ok := pick()
			if !ok {
				continue
			}
			what = "reschedule " + id
			_, err := s.Reschedule(ctx, RescheduleParams{Tenant: "t1", Job: id, Worker: h.worker, At: now,
				Due: now.Add(time.Duration(rng.IntN(20)) * time.Minute), Retry: rng.IntN(2) == 0})
			delete(leases, id)
			if err != nil {
				require.ErrorIs(t, err, scrm.ErrConflict)
			}
		case 8: // exit
			c := customers[rng.IntN(len(customers))]
			what = "exit " + string(c)
			_, err := s.EndEnrollments(ctx, EndEnrollmentsParams{Tenant: "t1", Playbook: "p", Customer: c, At: now, Reason: "x"})
			require.NoError(t, err)
		case 9: // pause / resume
			paused = !paused
			what = fmt.Sprintf("paused=%v", paused)
			r, err := s.SetPaused(ctx, SetPausedParams{Tenant: "t1", Playbook: "p", Paused: paused, At: now,
				SkipDueBefore: now.Add(-time.Duration(rng.IntN(30)) * time.Minute)})
			require.NoError(t, err)
			version = r.Playbook.Version
		case 10: // time passes
			d := time.Duration(1+rng.IntN(8*60)) * time.Minute / 8
			if rng.IntN(10) == 0 {
				d = 10 * time.Hour
			}
			now = now.Add(d)
			what = "advance " + d.String()
		}
		check(step, what)
	}
}

// instantScanNext is constraints.next by brute force over real instants: the
// first whole-minute instant after t whose local time c allows (when t's
// weekday is allowed), else on the first later allowed date the first
// instant at or after t's time of day, or that date's first allowed one.
func instantScanNext(c constraints, t time.Time, loc *time.Location) (time.Time, bool) {
	lt := t.In(loc)
	if c.allows(lt) {
		return t, true
	}
	if c.onDay(lt.Weekday()) {
		u := t.Truncate(time.Minute).Add(time.Minute)
		for end := t.Add(17 * 24 * time.Hour); u.Before(end); u = u.Add(time.Minute) {
			if c.allows(u.In(loc)) {
				return u, true
			}
		}
		return time.Time{}, false
	}
	y, mo, d := lt.Date()
	tod := lt.Hour()*3600 + lt.Minute()*60 + lt.Second()
	for i := 1; i <= 15; i++ {
		dy, dm, dd := time.Date(y, mo, d+i, 12, 0, 0, 0, time.UTC).Date()
		if !c.onDay(time.Date(dy, dm, dd, 12, 0, 0, 0, time.UTC).Weekday()) {
			continue
		}
		var firstAny time.Time
		base := time.Date(dy, dm, dd, 0, 0, 0, 0, time.UTC).Add(-16 * time.Hour)
		for u := base; u.Before(base.Add(60 * time.Hour)); u = u.Add(time.Minute) {
			ul := u.In(loc)
			if y2, m2, d2 := ul.Date(); y2 != dy || m2 != dm || d2 != dd || !c.allows(ul) {
				continue
			}
			if firstAny.IsZero() {
				firstAny = u
			}
			ut := ul.Hour()*3600 + ul.Minute()*60
			if ut/60 == tod/60 {
				return u.Add(time.Duration(tod%60) * time.Second), true
			}
			if ut > tod {
				return u, true
			}
		}
		if !firstAny.IsZero() {
			return firstAny, true
		}
	}
	return time.Time{}, false
}

// TestConstraintsNextAgainstInstantScan compares constraints.next with a scan of
// real instants in zones with half-hour offsets, a 30-minute DST shift and
// DST changes at midnight, around their transitions.
func TestConstraintsNextAgainstInstantScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(instantScanSeed, 99))
	clock := func() int {
		if rng.IntN(2) == 0 {
			return rng.IntN(4*60) / 15 * 15
		}
		if rng.IntN(4) == 0 {
			return 23*60 + rng.IntN(4)*15
		}
		return rng.IntN(24*60) / 30 * 30
	}
	bad := 0
	for _, name := range []string{"Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago", "America/New_York"} {
		loc := zone(t, name)
		// Transition instants in 2026 to center the start times on.
		var trans []time.Time
		for u := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); u.Year() == 2026; u = u.Add(time.Hour) {
			if _, a := u.In(loc).Zone(); true {
				if _, b := u.Add(time.Hour).In(loc).Zone(); a != b {
					trans = append(trans, u)
				}
			}
		}
		if len(trans) == 0 {
			trans = []time.Time{time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
		}
		for range int(instantScanN) {
			var c constraints
			if rng.IntN(2) == 0 {
				c.window = &window{clock(), clock()}
			}
			if rng.IntN(2) == 0 {
				c.quiet = &window{clock(), clock()}
			}
			if rng.IntN(2) == 0 {
				c.weekdays = uint8(rng.IntN(0x7f)) + 1
			}
			if (c.window != nil && c.window.start == c.window.end) || (c.quiet != nil && c.quiet.start == c.quiet.end) {
				continue
			}
			tr := trans[rng.IntN(len(trans))]
			from := tr.Add(time.Duration(rng.Int64N(int64(4*24*time.Hour))) - 3*24*time.Hour)
			if rng.IntN(4) == 0 {
				// Close to the transition, which is in the hour after tr:
				// in a gap, or either pass of an overlap.
				from = tr.Add(time.Duration(rng.Int64N(int64(3*time.Hour))) - time.Hour)
			}
			if rng.IntN(3) == 0 {
				from = from.Truncate(time.Minute)
			} else {
				from = from.Truncate(time.Second)
			}
			got, ok := c.next(from, loc)
			want, wantOK := instantScanNext(c, from, loc)
			if ok != wantOK || !got.Equal(want) {
				// The documented gap rule: a wall time the clock skips
				// moves forward by the gap, so a span opening inside a gap
				// opens later than the gap's end.
				_, o1 := want.Add(-time.Minute).In(loc).Zone()
				_, o2 := want.In(loc).Zone()
				_, o0 := want.Add(-2 * time.Hour).In(loc).Zone()
				gapEnd := wantOK && (o2 > o1 || o2 > o0)
				if ok && wantOK && gapEnd && got.After(want) && got.Sub(want) <= time.Hour {
					continue
				}
				bad++
				if bad <= 15 {
					t.Errorf("%s %s: next(%s %s) = %s %v; instant scan %s %v", name, describe(c), from.In(loc).Format("Mon 2006-01-02 15:04:05 -0700"), from.In(loc).Weekday(),
						got.In(loc).Format("Mon 2006-01-02 15:04:05 -0700"), ok, want.In(loc).Format("Mon 2006-01-02 15:04:05 -0700"), wantOK)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d mismatches", bad)
	}
}

var instantScanSeed, instantScanN uint64 = 66, 350

// TestConstraintsNextRepeatedHour checks that next counts the second pass
// of a clock-back overlap that t is in the first pass of. In Santiago the
// clock goes back from 24:00 (-03) to 23:00 (-04) on Saturday 4 April 2026;
// at 23:45 -03 a Saturday-only 23:00-23:30 window opens again 15 minutes
// later (23:00 -04), not the next Saturday. In New York, quiet hours
// 01:30-04:00 at 01:53 EDT on 1 November end 7 minutes later (01:00 EST),
// not at 04:00 EST.
func TestConstraintsNextRepeatedHour(t *testing.T) {
	scl := zone(t, "America/Santiago")
	c := constraints{weekdays: 1 << time.Saturday, window: &window{23 * 60, 23*60 + 30}}
	got, ok := c.next(time.Date(2026, 4, 4, 23, 45, 0, 0, scl), scl)
	require.True(t, ok)
	want := time.Date(2026, 4, 5, 3, 0, 0, 0, time.UTC) // Sat 23:00 -04
	require.True(t, got.Equal(want), "got %s, want %s", got.In(scl), want.In(scl))

	ny := zone(t, "America/New_York")
	c = constraints{quiet: &window{90, 240}}
	got, ok = c.next(time.Date(2026, 11, 1, 5, 53, 0, 0, time.UTC), ny) // 01:53 EDT
	require.True(t, ok)
	want = time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC) // 01:00 EST
	require.True(t, got.Equal(want), "got %s, want %s", got.In(ny), want.In(ny))
}
