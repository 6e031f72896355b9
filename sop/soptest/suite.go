// Package soptest is the conformance suite for sop.Store implementations.
// Call RunStoreTests from a test of your implementation:
//
//	func TestMyStore(t *testing.T) {
//		soptest.RunStoreTests(t, func(t *testing.T) sop.Store { return newEmptyStore(t) })
//	}
package soptest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/sop"
)

// RunStoreTests is the conformance suite every sop.Store must pass. newStore
// is called once per subtest and must return an empty store. It covers
// not-found errors, round trips, version conflicts, re-entry and idempotent
// enrollment (a replay with a defaulted anchor, or of an earlier
// enrollment, included), due-time ordering, lease exclusivity under 8
// concurrent workers, lease expiry (Admit, Reschedule and Complete act for
// the live lease holder only), an
// exit while a job is leased (its worker's outcome decides: sent keeps its
// cap slot), cap counting under concurrency, pause and resume (an expired
// lease counts as pending at its due time), starting a leased job (a pause
// gives it back for the resume, an exit cancels it, a cap slot is given
// back), an exit that ends that customer in that playbook only, staff
// tasks (8 concurrent completions of one task: counted once) and their
// reassignment (16 concurrent movers: each task moves once), attribution
// (a named message credits no other), stats, content templates (versions,
// 16 concurrent creators: one wins), puts conditional on the tenant's
// Revision (16 concurrent writers: one wins), version conflicts told from
// re-entry refusals, a Revision that moves on every change (pause, policy
// and calendar included), tasks in CreatedAt then ID order, tenant
// isolation (lists and task completion included), cancelled contexts and
// copies-not-aliases.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Helper()
	t.Run("Playbooks", func(t *testing.T) { testPlaybooks(t, newStore) })
	t.Run("Calendars", func(t *testing.T) { testCalendars(t, newStore) })
	t.Run("Policy", func(t *testing.T) { testPolicy(t, newStore) })
	t.Run("Enroll", func(t *testing.T) { testEnroll(t, newStore) })
	t.Run("Claim", func(t *testing.T) { testClaim(t, newStore) })
	t.Run("Transitions", func(t *testing.T) { testTransitions(t, newStore) })
	t.Run("Caps", func(t *testing.T) { testCaps(t, newStore) })
	t.Run("Pause", func(t *testing.T) { testPause(t, newStore) })
	t.Run("Start", func(t *testing.T) { testStart(t, newStore) })
	t.Run("Tasks", func(t *testing.T) { testTasks(t, newStore) })
	t.Run("Attribution", func(t *testing.T) { testAttribution(t, newStore) })
	t.Run("Templates", func(t *testing.T) { testTemplates(t, newStore) })
	t.Run("ReassignTasks", func(t *testing.T) { testReassign(t, newStore) })
	t.Run("TenantIsolation", func(t *testing.T) { testTenantIsolation(t, newStore) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelledContext(t, newStore) })
}

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

const lease = time.Minute

// playbook returns a playbook with steps s1..sn and every optional part set,
// so that round trips exercise deep copies.
func playbook(tenant scrm.TenantID, id string, n int) sop.Playbook {
	exit := rule.All(rule.Event(scrm.EventOrderPaid).Happened(), rule.Attr("city").In("上海", "杭州"))
	when := rule.HasTag("新客")
	p := sop.Playbook{
		Tenant: tenant, ID: id, Name: "新客培育",
		Trigger: sop.Trigger{Tag: "新客", When: &when},
		Exit:    &exit,
	}
	for i := 1; i <= n; i++ {
		p.Steps = append(p.Steps, sop.Step{
			ID: fmt.Sprintf("s%d", i), Day: i, At: "10:00",
			Window:   &sop.Window{Start: "09:00", End: "21:00"},
			Weekdays: []time.Weekday{time.Monday, time.Tuesday},
			Action:   sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "t", Vars: map[string]string{"k": "v"}},
		})
	}
	return p
}

func put(t *testing.T, s sop.Store, p sop.Playbook) sop.Playbook {
	t.Helper()
	res, err := s.PutPlaybook(ctx, sop.PutPlaybookParams{Playbook: p, At: t0})
	require.NoError(t, err)
	return res.Playbook
}

// enroll enrolls customer with one job per due time, for steps s1, s2, ...
func enroll(t *testing.T, s sop.Store, p sop.Playbook, customer scrm.CustomerID, dues ...time.Time) sop.Enrollment {
	t.Helper()
	res, err := s.Enroll(ctx, enrollParams(p, customer, dues...))
	require.NoError(t, err)
	require.False(t, res.Replayed)
	return res.Enrollment
}

func enrollParams(p sop.Playbook, customer scrm.CustomerID, dues ...time.Time) sop.EnrollParams {
	params := sop.EnrollParams{Tenant: p.Tenant, Playbook: p.ID, Version: p.Version, Customer: customer, Anchor: t0, At: t0}
	for i, d := range dues {
		params.Jobs = append(params.Jobs, sop.JobSpec{Step: fmt.Sprintf("s%d", i+1), Due: d})
	}
	return params
}

func claim(t *testing.T, s sop.Store, worker string, at time.Time, limit int) []sop.Job {
	t.Helper()
	jobs, err := s.Claim(ctx, sop.ClaimParams{Worker: worker, At: at, Limit: limit, Lease: lease})
	require.NoError(t, err)
	return jobs
}

func complete(s sop.Store, j sop.Job, worker string, at time.Time, state sop.JobState) (sop.Job, error) {
	return s.Complete(ctx, sop.CompleteParams{Tenant: j.Tenant, Job: j.ID, Worker: worker, At: at, State: state})
}

func stats(t *testing.T, s sop.Store, tenant scrm.TenantID, playbook string) map[string]sop.StepStats {
	t.Helper()
	rows, err := s.Stats(ctx, tenant, playbook)
	require.NoError(t, err)
	out := make(map[string]sop.StepStats, len(rows))
	for _, r := range rows {
		k := r.Step
		if r.Variant != "" {
			k += "/" + r.Variant
		}
		out[k] = r
	}
	return out
}

// near reports whether two instants are within a millisecond: stores may
// keep times at lower precision than Go.
func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d < time.Millisecond && d > -time.Millisecond
}
