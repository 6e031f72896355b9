package soptest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/sop"
)

// template returns a template with every optional part set, so that round
// trips exercise deep copies.
func template(tenant scrm.TenantID, id string) sop.Template {
	return sop.Template{
		Tenant: tenant, ID: id, Name: "券到期提醒", Channel: scrm.ChannelWeCom,
		Body: "{{.Name}}，您的{{yuan .CouponAmount}}元券明天到期",
		Variants: []sop.TemplateVariant{
			{When: rule.All(rule.HasTag("VIP"), rule.Attr("city").In("上海", "杭州")), Body: "尊敬的{{.Name}}会员"},
			{When: rule.InSegment("高价值"), Body: "{{.Name}}，别错过"},
		},
		Required: []string{"Name", "CouponAmount"},
		Optional: []string{"Nick"},
	}
}

func testTemplates(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("RoundTripAndVersions", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetTemplate(ctx, "t1", "tp")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		rev0, err := s.Revision(ctx, "t1")
		require.NoError(t, err)

		in := template("t1", "tp")
		v1, err := s.PutTemplate(ctx, sop.PutTemplateParams{Template: in, At: t0})
		require.NoError(t, err)
		assert.Equal(t, int64(1), v1.Version)
		assert.True(t, near(v1.UpdatedAt, t0))
		rev1, err := s.Revision(ctx, "t1")
		require.NoError(t, err)
		assert.Greater(t, rev1, rev0, "a template change moves the revision")

		got, err := s.GetTemplate(ctx, "t1", "tp")
		require.NoError(t, err)
		assertSameTemplate(t, in, got)
		assert.Equal(t, int64(1), got.Version)

		_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: in, At: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict, "Version 0 when one exists")
		stale := got
		stale.Version = 7
		_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: stale, At: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict, "a version that is not the stored one")
		missing := template("t1", "other")
		missing.Version = 1
		_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: missing, At: t0})
		assert.ErrorIs(t, err, scrm.ErrConflict, "replacing one that does not exist")

		got.Body = "{{.Name}}：{{yuan .CouponAmount}}元"
		got.Variants = got.Variants[:1]
		v2, err := s.PutTemplate(ctx, sop.PutTemplateParams{Template: got, At: t0.Add(time.Hour)})
		require.NoError(t, err)
		assert.Equal(t, int64(2), v2.Version)
		again, err := s.GetTemplate(ctx, "t1", "tp")
		require.NoError(t, err)
		assert.Equal(t, "{{.Name}}：{{yuan .CouponAmount}}元", again.Body, "replaced")
		assert.Len(t, again.Variants, 1)
		assert.True(t, near(again.UpdatedAt, t0.Add(time.Hour)))

		_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: template("t1", "a"), At: t0})
		require.NoError(t, err)
		list, err := s.ListTemplates(ctx, "t1")
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, "a", list[0].ID, "ID order")
		assert.Equal(t, "tp", list[1].ID)
		none, err := s.ListTemplates(ctx, "t2")
		require.NoError(t, err)
		assert.Empty(t, none)
		_, err = s.GetTemplate(ctx, "t2", "tp")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "tenants are isolated")

		_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: sop.Template{Tenant: "t1"}, At: t0})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no ID")
		_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: sop.Template{ID: "x"}, At: t0})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no tenant")
	})

	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		in := template("t1", "tp")
		out, err := s.PutTemplate(ctx, sop.PutTemplateParams{Template: in, At: t0})
		require.NoError(t, err)
		in.Required[0] = "changed"
		in.Variants[0].Body = "changed"
		in.Variants[0].When.All[1].Value.([]any)[0] = "changed"
		out.Optional[0] = "changed"
		out.Variants[1].When.Segment = "changed"
		got, err := s.GetTemplate(ctx, "t1", "tp")
		require.NoError(t, err)
		assertSameTemplate(t, template("t1", "tp"), got)
		got.Required[1] = "changed"
		list, err := s.ListTemplates(ctx, "t1")
		require.NoError(t, err)
		assertSameTemplate(t, template("t1", "tp"), list[0])
	})

	t.Run("ConcurrentCreatorsOneWins", func(t *testing.T) {
		s := newStore(t)
		const n = 16
		var won, conflicts atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tp := template("t1", "tp")
				tp.Name = fmt.Sprintf("writer %d", i)
				_, err := s.PutTemplate(ctx, sop.PutTemplateParams{Template: tp, At: t0})
				switch {
				case err == nil:
					won.Add(1)
				case assert.ErrorIs(t, err, scrm.ErrConflict):
					conflicts.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), won.Load())
		assert.Equal(t, int32(n-1), conflicts.Load())
		got, err := s.GetTemplate(ctx, "t1", "tp")
		require.NoError(t, err)
		assert.Equal(t, int64(1), got.Version)
	})

	// A put with CheckRevision writes only while the tenant's Revision is
	// the one given, so that a playbook checked against the templates (or
	// a template against the playbooks) cannot be stored after the other
	// changed.
	t.Run("ConditionalOnRevision", func(t *testing.T) {
		s := newStore(t)
		rev0, err := s.Revision(ctx, "t1")
		require.NoError(t, err)
		tpl, err := s.PutTemplate(ctx, sop.PutTemplateParams{Template: template("t1", "tp"), At: t0, CheckRevision: true, Revision: rev0})
		require.NoError(t, err, "the revision read: stored (also for a tenant with nothing yet)")
		rev1, err := s.Revision(ctx, "t1")
		require.NoError(t, err)

		_, err = s.PutPlaybook(ctx, sop.PutPlaybookParams{Playbook: playbook("t1", "p1", 1), At: t0, CheckRevision: true, Revision: rev0})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		assert.Equal(t, "Revision", conflictField(err), "the revision moved since it was read")
		_, err = s.GetPlaybook(ctx, "t1", "p1")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		again, err := s.Revision(ctx, "t1")
		require.NoError(t, err)
		assert.Equal(t, rev1, again, "a refused put does not move the revision")

		tpl.Body = "{{.Name}}"
		tpl.Required = []string{"Name"}
		_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: tpl, At: t0, CheckRevision: true, Revision: rev0})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		assert.Equal(t, "Revision", conflictField(err))
		got, err := s.GetTemplate(ctx, "t1", "tp")
		require.NoError(t, err)
		assert.Equal(t, int64(1), got.Version, "nothing written")

		pb, err := s.PutPlaybook(ctx, sop.PutPlaybookParams{Playbook: playbook("t1", "p1", 1), At: t0, CheckRevision: true, Revision: rev1})
		require.NoError(t, err, "the current revision")
		rev2, err := s.Revision(ctx, "t1")
		require.NoError(t, err)
		_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: tpl, At: t0, CheckRevision: true, Revision: rev1})
		assert.Equal(t, "Revision", conflictField(err), "a playbook stored since")
		_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: tpl, At: t0, CheckRevision: true, Revision: rev2})
		require.NoError(t, err)
		_, err = s.PutPlaybook(ctx, sop.PutPlaybookParams{Playbook: pb.Playbook, At: t0})
		require.NoError(t, err, "without CheckRevision the revision does not matter")
		_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: template("t2", "tp"), At: t0, CheckRevision: true, Revision: 0})
		require.NoError(t, err, "revisions are per tenant")
	})

	// Conditional puts read at one revision are atomic: of N concurrent
	// writers of different playbooks and templates, exactly one is stored.
	t.Run("ConcurrentConditionalWritersOneWins", func(t *testing.T) {
		s := newStore(t)
		_, err := s.PutTemplate(ctx, sop.PutTemplateParams{Template: template("t1", "base"), At: t0})
		require.NoError(t, err)
		rev, err := s.Revision(ctx, "t1")
		require.NoError(t, err)
		const n = 16
		var won, conflicts atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if i%2 == 0 {
					_, err = s.PutTemplate(ctx, sop.PutTemplateParams{Template: template("t1", fmt.Sprintf("tp%d", i)), At: t0, CheckRevision: true, Revision: rev})
				} else {
					_, err = s.PutPlaybook(ctx, sop.PutPlaybookParams{Playbook: playbook("t1", fmt.Sprintf("p%d", i), 1), At: t0, CheckRevision: true, Revision: rev})
				}
				switch {
				case err == nil:
					won.Add(1)
				case assert.Equal(t, "Revision", conflictField(err)):
					conflicts.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), won.Load())
		assert.Equal(t, int32(n-1), conflicts.Load())
		tpls, err := s.ListTemplates(ctx, "t1")
		require.NoError(t, err)
		pbs, err := s.ListPlaybooks(ctx, "t1")
		require.NoError(t, err)
		assert.Equal(t, 2, len(tpls)+len(pbs), "base and the one winner")
	})
}

// conflictField returns the Field of the ErrConflict err is or wraps, ""
// when it names none, and "<no conflict>" when err is not an ErrConflict.
func conflictField(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if se, ok := e.(*scrm.Error); ok && se.Code == scrm.ErrConflict {
			return se.Field
		}
	}
	return "<no conflict>"
}

func assertSameTemplate(t *testing.T, want, got sop.Template) {
	t.Helper()
	assert.Equal(t, want.Tenant, got.Tenant)
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Channel, got.Channel)
	assert.Equal(t, want.Body, got.Body)
	assert.Equal(t, want.Required, got.Required)
	assert.Equal(t, want.Optional, got.Optional)
	require.Len(t, got.Variants, len(want.Variants))
	for i := range want.Variants {
		assert.Equal(t, want.Variants[i].Body, got.Variants[i].Body)
		assert.Equal(t, want.Variants[i].When.String(), got.Variants[i].When.String(), "Variants[%d].When", i)
	}
}

// openTasks creates one open task per step s1..sn of an enrollment of
// customer, held by staff, and returns their IDs.
func openTasks(t *testing.T, s sop.Store, p sop.Playbook, customer scrm.CustomerID, staff string, at time.Time) []string {
	t.Helper()
	dues := make([]time.Time, len(p.Steps))
	for i := range dues {
		dues[i] = at
	}
	enroll(t, s, p, customer, dues...)
	var ids []string
	for _, j := range claim(t, s, "w-"+string(customer), at, len(dues)) {
		_, err := s.Complete(ctx, sop.CompleteParams{Tenant: p.Tenant, Job: j.ID, Worker: "w-" + string(customer), At: at,
			State: sop.JobDone, Task: &sop.StaffTask{ID: j.ID, Staff: staff, Customer: customer, Playbook: p.ID,
				Step: j.Step, Template: "回访", Body: "王芳您好", CreatedAt: at, DueBy: at.Add(time.Hour)}})
		require.NoError(t, err)
		ids = append(ids, j.ID)
	}
	require.Len(t, ids, len(dues))
	return ids
}

func taskIDs(t *testing.T, s sop.Store, tenant scrm.TenantID, staff string, state sop.TaskState) []string {
	t.Helper()
	tasks, err := s.Tasks(ctx, sop.ListTasksParams{Tenant: tenant, Staff: staff, State: state})
	require.NoError(t, err)
	var out []string
	for _, tk := range tasks {
		out = append(out, tk.ID)
	}
	return out
}

func testReassign(t *testing.T, newStore func(t *testing.T) sop.Store) {
	t.Run("OpenTasksMoveDoneTasksStay", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 3))
		c1 := openTasks(t, s, p, "c1", "li", t0)
		c2 := openTasks(t, s, p, "c2", "li", t0)
		_, err := s.CompleteTask(ctx, sop.CompleteTaskParams{Tenant: "t1", ID: c1[0], At: t0.Add(time.Minute)})
		require.NoError(t, err)

		at := t0.Add(time.Hour)
		res, err := s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", From: "li", To: "wang", At: at})
		require.NoError(t, err)
		assert.Equal(t, sortedCopy(c1[1:]), res.Moved, "the open ones, in ID order")
		assert.False(t, res.Replayed)
		assert.ElementsMatch(t, c1[1:], taskIDs(t, s, "t1", "wang", sop.TaskOpen))
		assert.Equal(t, []string{c1[0]}, taskIDs(t, s, "t1", "li", sop.TaskDone), "a done task keeps its staff")
		assert.ElementsMatch(t, c2, taskIDs(t, s, "t1", "li", sop.TaskOpen), "another customer's tasks stay")

		tasks, err := s.Tasks(ctx, sop.ListTasksParams{Tenant: "t1", Staff: "wang"})
		require.NoError(t, err)
		for _, tk := range tasks {
			assert.Equal(t, "wang", tk.Staff)
			assert.Equal(t, "li", tk.MovedFrom)
			assert.True(t, near(tk.MovedAt, at))
			assert.Equal(t, "王芳您好", tk.Body, "round trip of the rendered text")
			assert.Equal(t, sop.TaskOpen, tk.State)
		}

		// Moving tasks already moved moves nothing; From filters.
		res, err = s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", From: "li", To: "wang", At: at})
		require.NoError(t, err)
		assert.Empty(t, res.Moved)
		res, err = s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", From: "zhao", To: "li", At: at})
		require.NoError(t, err)
		assert.Empty(t, res.Moved, "zhao holds none of c1's tasks")
		// Without From, every open task of the customer moves.
		res, err = s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "c2", To: "zhao", At: at})
		require.NoError(t, err)
		assert.Equal(t, sortedCopy(c2), res.Moved)
		assert.Empty(t, taskIDs(t, s, "t1", "li", sop.TaskOpen))

		// The moved task completes under its new staff member and counts.
		done, err := s.CompleteTask(ctx, sop.CompleteTaskParams{Tenant: "t1", ID: c1[1], At: at})
		require.NoError(t, err)
		assert.Equal(t, "wang", done.Staff)
		assert.Equal(t, []string{c1[1]}, taskIDs(t, s, "t1", "wang", sop.TaskDone))

		res, err = s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "nobody", To: "x", At: at})
		require.NoError(t, err)
		assert.Empty(t, res.Moved)
		_, err = s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", At: at})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no To")
		_, err = s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", To: "x", At: at})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "no Customer")
	})

	t.Run("IdempotencyKey", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 2))
		ids := openTasks(t, s, p, "c1", "li", t0)
		params := sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", From: "li", To: "wang", At: t0, IdempotencyKey: "event:e1"}
		first, err := s.ReassignTasks(ctx, params)
		require.NoError(t, err)
		assert.Equal(t, sortedCopy(ids), first.Moved)
		// The tasks move on; a replay of the first move must not undo that.
		_, err = s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", From: "wang", To: "li", At: t0, IdempotencyKey: "event:e2"})
		require.NoError(t, err)
		replay, err := s.ReassignTasks(ctx, params)
		require.NoError(t, err)
		assert.True(t, replay.Replayed)
		assert.Equal(t, first.Moved, replay.Moved, "the original result")
		assert.ElementsMatch(t, ids, taskIDs(t, s, "t1", "li", sop.TaskOpen), "nothing changed")
		for name, other := range map[string]func(p *sop.ReassignTasksParams){
			"To":       func(p *sop.ReassignTasksParams) { p.To = "zhao" },
			"From":     func(p *sop.ReassignTasksParams) { p.From = "zhao" },
			"Customer": func(p *sop.ReassignTasksParams) { p.Customer = "c2" },
		} {
			changed := params
			other(&changed)
			_, err = s.ReassignTasks(ctx, changed)
			assert.ErrorIs(t, err, scrm.ErrConflict, "the key with another %s", name)
			assert.Equal(t, "IdempotencyKey", conflictField(err), "the key with another %s", name)
		}
		_, err = s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t2", Customer: "c1", From: "li", To: "zhao", At: t0, IdempotencyKey: "event:e1"})
		assert.NoError(t, err, "keys are per tenant")
	})

	t.Run("ConcurrentMovesEachTaskOnce", func(t *testing.T) {
		s := newStore(t)
		p := put(t, s, playbook("t1", "p1", 8))
		ids := openTasks(t, s, p, "c1", "li", t0)
		const n = 16
		var wg sync.WaitGroup
		var total atomic.Int32
		moved := make([][]string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", From: "li",
					To: fmt.Sprintf("s%d", i), At: t0})
				if assert.NoError(t, err) {
					moved[i] = res.Moved
					total.Add(int32(len(res.Moved)))
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(len(ids)), total.Load(), "every task moved exactly once")
		assert.Empty(t, taskIDs(t, s, "t1", "li", sop.TaskOpen))
		for i := range n {
			assert.ElementsMatch(t, moved[i], taskIDs(t, s, "t1", fmt.Sprintf("s%d", i), sop.TaskOpen), "s%d holds what it moved", i)
		}

		// One key raced by many: one move, the rest replays of it.
		var replays atomic.Int32
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", To: "wang", At: t0, IdempotencyKey: "k"})
				if assert.NoError(t, err) && res.Replayed {
					replays.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(n-1), replays.Load())
		assert.ElementsMatch(t, ids, taskIDs(t, s, "t1", "wang", sop.TaskOpen))
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		s := newStore(t)
		a := put(t, s, playbook("t1", "p", 1))
		b := put(t, s, playbook("t2", "p", 1))
		openTasks(t, s, a, "c1", "li", t0)
		idsB := openTasks(t, s, b, "c1", "li", t0)
		res, err := s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", From: "li", To: "wang", At: t0})
		require.NoError(t, err)
		assert.Len(t, res.Moved, 1)
		assert.Equal(t, idsB, taskIDs(t, s, "t2", "li", sop.TaskOpen), "t2's task is untouched")
		assert.Empty(t, taskIDs(t, s, "t2", "wang", ""))
	})

	t.Run("OrderedChangesEndWithNewestOwner", func(t *testing.T) {
		s := newStore(t)
		ids := openTasks(t, s, put(t, s, playbook("t1", "p1", 2)), "c1", "li", t0)
		spec := openTasks(t, s, put(t, s, playbook("t1", "p2", 1)), "c1", "spec", t0)
		change := func(seq int64, from, to string, at time.Time) sop.ReassignTasksParams {
			id := fmt.Sprintf("owner:c1:%d", seq)
			return sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", From: from, To: to, At: t0.Add(3 * time.Hour),
				IdempotencyKey: "event:" + id, ChangedAt: at, ChangeSeq: seq, ChangeID: id}
		}
		// li → wang (2) then wang → zhao (3), delivered 3 first.
		c2 := change(2, "li", "wang", t0.Add(time.Hour))
		c3 := change(3, "wang", "zhao", t0.Add(2*time.Hour))
		res, err := s.ReassignTasks(ctx, c3)
		require.NoError(t, err)
		assert.Empty(t, res.Moved, "wang holds nothing yet")
		assert.False(t, res.Stale)
		res, err = s.ReassignTasks(ctx, c2)
		require.NoError(t, err)
		assert.True(t, res.Stale, "older than change 3")
		assert.Equal(t, sortedCopy(ids), res.Moved)
		assert.ElementsMatch(t, ids, taskIDs(t, s, "t1", "zhao", sop.TaskOpen), "the newest change's owner")
		assert.Empty(t, taskIDs(t, s, "t1", "wang", ""))
		assert.Equal(t, spec, taskIDs(t, s, "t1", "spec", sop.TaskOpen), "staff who never owned the customer keep theirs")
		replay, err := s.ReassignTasks(ctx, c2)
		require.NoError(t, err)
		assert.True(t, replay.Replayed && replay.Stale, "the first result")

		// Same time: the change number decides; then the ID.
		c4 := change(4, "zhao", "qian", t0.Add(4*time.Hour))
		c5 := change(5, "qian", "sun", t0.Add(4*time.Hour))
		res, err = s.ReassignTasks(ctx, c5)
		require.NoError(t, err)
		assert.False(t, res.Stale)
		res, err = s.ReassignTasks(ctx, c4)
		require.NoError(t, err)
		assert.True(t, res.Stale)
		assert.ElementsMatch(t, ids, taskIDs(t, s, "t1", "sun", sop.TaskOpen))
		hashed := func(id, from, to string) sop.ReassignTasksParams {
			return sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", From: from, To: to, At: t0,
				ChangedAt: t0.Add(5 * time.Hour), ChangeID: id}
		}
		res, err = s.ReassignTasks(ctx, hashed("owner:b", "sun", "zhou"))
		require.NoError(t, err)
		assert.False(t, res.Stale)
		res, err = s.ReassignTasks(ctx, hashed("owner:a", "sun", "wu"))
		require.NoError(t, err)
		assert.True(t, res.Stale, `"owner:a" orders before "owner:b"`)
		assert.ElementsMatch(t, ids, taskIDs(t, s, "t1", "zhou", sop.TaskOpen))

		// Unordered moves apply at once and leave the order as it is.
		res, err = s.ReassignTasks(ctx, sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", From: "zhou", To: "he", At: t0})
		require.NoError(t, err)
		assert.False(t, res.Stale)
		assert.Equal(t, sortedCopy(ids), res.Moved)
		res, err = s.ReassignTasks(ctx, change(1, "", "li", t0))
		require.NoError(t, err)
		assert.True(t, res.Stale, "a late first owner")
		assert.Empty(t, res.Moved, "a late first owner moves nothing")
		assert.ElementsMatch(t, ids, taskIDs(t, s, "t1", "he", sop.TaskOpen))
		assert.Equal(t, spec, taskIDs(t, s, "t1", "spec", sop.TaskOpen), "staff who never owned the customer keep theirs")
		assert.Empty(t, taskIDs(t, s, "t1", "zhou", sop.TaskOpen))
	})

	t.Run("ChangeNumbersOrderOverTimes", func(t *testing.T) {
		s := newStore(t)
		ids := openTasks(t, s, put(t, s, playbook("t1", "p1", 2)), "c1", "li", t0)
		spec := openTasks(t, s, put(t, s, playbook("t1", "p2", 1)), "c1", "spec", t0)
		change := func(seq int64, from, to string, at time.Time) sop.ReassignTasksParams {
			id := fmt.Sprintf("owner:c1:%d", seq)
			return sop.ReassignTasksParams{Tenant: "t1", Customer: "c1", From: from, To: to, At: t0.Add(3 * time.Hour),
				IdempotencyKey: "event:" + id, ChangedAt: at, ChangeSeq: seq, ChangeID: id}
		}
		// Change 1 (first owner li) carries a later time than change 2
		// (li → wang): the numbers decide, so 2 is the newer.
		res, err := s.ReassignTasks(ctx, change(1, "", "li", t0.Add(2*time.Minute)))
		require.NoError(t, err)
		assert.False(t, res.Stale)
		assert.Equal(t, sortedCopy(spec), res.Moved, "in order, a first owner takes every open task")
		res, err = s.ReassignTasks(ctx, change(2, "li", "wang", t0.Add(time.Minute)))
		require.NoError(t, err)
		assert.False(t, res.Stale, "change 2 follows change 1 whatever their times")
		assert.ElementsMatch(t, append(slices.Clone(ids), spec...), taskIDs(t, s, "t1", "wang", sop.TaskOpen))

		// Delivered the other way round: change 1 is stale and, a first
		// owner, moves nothing; change 3 then orders after 2 though earlier.
		s = newStore(t)
		ids = openTasks(t, s, put(t, s, playbook("t1", "p1", 2)), "c1", "li", t0)
		spec = openTasks(t, s, put(t, s, playbook("t1", "p2", 1)), "c1", "spec", t0)
		res, err = s.ReassignTasks(ctx, change(2, "li", "wang", t0.Add(time.Minute)))
		require.NoError(t, err)
		assert.False(t, res.Stale)
		assert.Equal(t, sortedCopy(ids), res.Moved)
		res, err = s.ReassignTasks(ctx, change(1, "", "li", t0.Add(2*time.Minute)))
		require.NoError(t, err)
		assert.True(t, res.Stale, "change 1 is older than change 2 though later in time")
		assert.Empty(t, res.Moved)
		assert.ElementsMatch(t, ids, taskIDs(t, s, "t1", "wang", sop.TaskOpen))
		assert.Equal(t, spec, taskIDs(t, s, "t1", "spec", sop.TaskOpen), "staff who never owned the customer keep theirs")
		res, err = s.ReassignTasks(ctx, change(3, "wang", "zhao", t0))
		require.NoError(t, err)
		assert.False(t, res.Stale)
		assert.ElementsMatch(t, ids, taskIDs(t, s, "t1", "zhao", sop.TaskOpen))
	})
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }
