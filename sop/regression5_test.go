package sop_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/sop"
)

// openTaskSteps returns "<customer>/<step>" for each open task of staff
// member staff.
func openTaskSteps(t *testing.T, svc *sop.Service, staff string) []string {
	t.Helper()
	tasks, err := svc.Tasks(context.Background(), "t1", staff, sop.TaskOpen)
	require.NoError(t, err)
	var out []string
	for _, tk := range tasks {
		out = append(out, string(tk.Customer)+"/"+tk.Step)
	}
	return out
}

// Owner changes leave a customer's open staff tasks with the owner the
// staff store names (sop doc.go: changes count in the order they happened,
// so they end with the current owner; issue 10: pending tasks follow the
// customer). The staff store numbers each customer's changes 1, 2, 3
// (OwnerChange.Seq): that number is the order they happened in, and sop
// orders two numbered changes by it alone, whatever their times. The times
// need not follow the numbers: the first owner is assigned at the
// customer.added event's own Time (Team.Handle, AssignParams.At = e.Time),
// a later Transfer at the Team's clock. A customer.added event stamped by a
// host clock two minutes ahead (Profiles accepts up to FutureTolerance, five
// minutes) and a transfer one minute later give change 1 at 09:02 and
// change 2 at 09:01; delivered in order, change 2 still counts as the newer
// and li's task goes to wang.
func TestOwnerChangesFollowTheChangeNumber(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, scrm.DefaultLocation())
	clk := scrmtest.NewClock(start)
	store := sop.NewMemoryStore()
	profiles := scrm.NewMemoryProfileStore()
	svc := sop.New(store, profiles, &sop.Options{Options: scrm.Options{Clock: clk}})
	var d *scrm.Dispatcher
	team := scrm.NewTeam(scrm.NewMemoryStaffStore(), &scrm.Options{Clock: clk,
		Publisher: scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error { return d.Publish(ctx, e) })})
	d = scrm.NewDispatcher(scrm.NewProfiles(profiles, &scrm.Options{Clock: clk}), team, svc)
	for _, id := range []string{"li", "wang"} {
		require.NoError(t, team.PutStaff(ctx, scrm.Staff{Tenant: "t1", ID: id, Store: "s1", Active: true}))
	}
	_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: "t1", ID: "care", Steps: []sop.Step{
		{ID: "call", Action: sop.Action{Kind: sop.Task, Staff: "li", Template: "回访"}},
	}})
	require.NoError(t, err)

	// The customer adds li; the host's callback stamps the event 2 minutes
	// ahead of the Team's clock.
	require.NoError(t, d.Publish(ctx, scrm.Event{ID: "add1", Tenant: "t1", Customer: "c1", Type: scrm.EventCustomerAdded,
		Time: start.Add(2 * time.Minute), Props: map[string]any{"staff": "li"}}))
	_, err = svc.Enroll(ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "care", Customer: "c1"})
	require.NoError(t, err)
	_, err = svc.RunDue(ctx, sop.RunRequest{Worker: "w1"})
	require.NoError(t, err)
	require.Equal(t, []string{"c1/call"}, openTaskSteps(t, svc, "li"))

	// A minute later the operator hands c1 to wang.
	clk.Advance(time.Minute)
	_, err = team.Transfer(ctx, scrm.TransferRequest{Tenant: "t1", From: "li", To: "wang",
		Customers: []scrm.CustomerID{"c1"}, IdempotencyKey: "x1"})
	require.NoError(t, err)
	owner, err := team.Owner(ctx, "t1", "c1")
	require.NoError(t, err)
	require.Equal(t, "wang", owner)
	hist, err := team.History(ctx, "t1", "c1")
	require.NoError(t, err)
	require.Len(t, hist, 2)
	t.Logf("change 1 at %s, change 2 at %s", hist[0].At.Format(time.TimeOnly), hist[1].At.Format(time.TimeOnly))

	if got := openTaskSteps(t, svc, "wang"); len(got) != 1 {
		t.Fatalf("the open task should be with wang, c1's owner; wang has %v, li has %v", got, openTaskSteps(t, svc, "li"))
	}
}

// A late (stale) owner change leaves the tasks of staff who never owned the
// customer where they are (ReassignTasksParams.ChangedAt: an older change
// moves only From's tasks, and with From empty, a first owner, nothing;
// sop's doc.go: "the customer's tasks of other staff stay (a playbook may
// assign a specialist)"). The customer got a first owner li (change 1,
// From empty), a playbook gave li a call and the store manager a review,
// then li handed the customer to wang (change 2). Change 1's event failed
// to publish and is republished later (as Team's doc tells hosts), after
// change 2 was handled: in order it would have moved nothing (no task
// existed yet), and delivered late it moves nothing either, so the manager
// keeps the review.
func TestLateFirstOwnerChangeLeavesOtherStaffTasks(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, scrm.DefaultLocation())
	clk := scrmtest.NewClock(start)
	svc := sop.New(sop.NewMemoryStore(), scrm.NewMemoryProfileStore(), &sop.Options{Options: scrm.Options{Clock: clk}})
	_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: "t1", ID: "care", Steps: []sop.Step{
		{ID: "call", Action: sop.Action{Kind: sop.Task, Staff: "li", Template: "回访"}},
		{ID: "review", Action: sop.Action{Kind: sop.Task, Staff: "manager", Template: "店长复核"}},
	}})
	require.NoError(t, err)
	c1 := scrm.OwnerChange{Tenant: "t1", Customer: "c1", Seq: 1, To: "li", At: start, Reason: scrm.OwnerReasonAdded}
	c2 := scrm.OwnerChange{Tenant: "t1", Customer: "c1", Seq: 2, From: "li", To: "wang", At: start.Add(time.Hour), Reason: "transfer"}

	clk.Set(start.Add(time.Minute))
	_, err = svc.Enroll(ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "care", Customer: "c1"})
	require.NoError(t, err)
	_, err = svc.RunDue(ctx, sop.RunRequest{Worker: "w1"})
	require.NoError(t, err)
	require.Equal(t, []string{"c1/review"}, openTaskSteps(t, svc, "manager"))

	clk.Set(start.Add(time.Hour))
	require.NoError(t, svc.Handle(ctx, c2.Event()))
	clk.Set(start.Add(2 * time.Hour))
	require.NoError(t, svc.Handle(ctx, c1.Event())) // republished late

	require.Contains(t, openTaskSteps(t, svc, "wang"), "c1/call")
	if got := openTaskSteps(t, svc, "manager"); len(got) != 1 {
		t.Fatalf("the manager's review should stay with the manager; manager has %v, wang has %v", got, openTaskSteps(t, svc, "wang"))
	}
}

// recordingTemplateService returns a Service with a recording channel.
func recordingTemplateService(t *testing.T) *sop.Service {
	t.Helper()
	clk := scrmtest.NewClock(time.Date(2026, 3, 10, 12, 0, 0, 0, scrm.DefaultLocation()))
	return sop.New(sop.NewMemoryStore(), scrm.NewMemoryProfileStore(), &sop.Options{
		Options: scrm.Options{Clock: clk},
		Channel: scrmtest.NewRecorder(),
	})
}

// printf in a body takes a constant format whose verbs have widths and
// precisions under 1000 (varWalker.printf parses the verbs as fmt does):
// digits and stars in the format's text are text, so ordinary copy is
// accepted: a hotline number, a year, an order number or stars around a
// word have no width at all, and "%%" is a literal percent.
func TestPrintfLiteralDigitsAreNotWidths(t *testing.T) {
	ctx := context.Background()
	svc := recordingTemplateService(t)
	for i, body := range []string{
		`{{printf "%s，您好！客服热线 4008123456" .Name}}`,
		`{{printf "2026 新春礼：%s" .Name}}`,
		`{{printf "*** %s 专享 ***" .Name}}`,
		`{{printf "100%% 正品 %s" .Name}}`,
	} {
		_, err := svc.PutTemplate(ctx, sop.Template{Tenant: "t1", ID: "p" + string(rune('a'+i)), Channel: scrm.ChannelWeCom,
			Body: body, Optional: []string{"Name"}})
		if err != nil {
			t.Errorf("%s: refused: %v", body, err)
		}
	}
	// The widths and precisions of the verbs themselves stay bounded,
	// wherever they sit.
	for _, body := range []string{
		`{{printf "热线 4008123456 %1000s" .Name}}`,
		`{{printf "%%%1000d" 1}}`,
		`{{printf "%-+#01000d" 1}}`,
		`{{printf "%[1]1000d" 1}}`,
		`{{printf "%5.[1]*f" 1.5}}`,
		`{{printf "%[2]*[1]d" 1 2}}`,
		`{{printf "%.0001000f" 1.5}}`,
	} {
		_, err := svc.PutTemplate(ctx, sop.Template{Tenant: "t1", ID: "bad", Channel: scrm.ChannelWeCom,
			Body: body, Optional: []string{"Name"}})
		if !errors.Is(err, scrm.ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", body, err)
		}
	}
	_, err := svc.PutTemplate(ctx, sop.Template{Tenant: "t1", ID: "ok", Channel: scrm.ChannelWeCom,
		Body: `{{printf "%[1]3d%%，%-999s" 5 "x"}}`})
	require.NoError(t, err, "widths up to 999, an argument index and %% are fine")
}

// Every rendering ends in bounded time (MaxRangeCount; issue text and
// TestTemplateRenderIsBounded: a template typed into an admin UI must not
// take the host down). MaxRender caps the bytes written, which does not
// bound a loop that writes nothing:
// `{{range 1000000000}}{{range 1000000000}}{{end}}{{end}}` (54 bytes)
// would spin for ever (10^18 empty iterations; one level of 10^9 takes
// about 45 s of CPU) in Render, a RunDue worker (whose lease would expire,
// so the next worker would take the job and hang too) and a Preview.
// PutTemplate refuses a range over an integer over MaxRangeCount, nested
// ranges of more than MaxRangeCount iterations in all, and a range over
// anything but a constant or a variable; a rendering whose ranged-over
// variable holds an integer over MaxRangeCount fails before it runs.
func TestRenderOfEmptyLoopIsBounded(t *testing.T) {
	ctx := context.Background()
	svc := recordingTemplateService(t)
	body := `{{range 1000000000}}{{range 1000000000}}{{end}}{{end}}`
	if _, err := svc.PutTemplate(ctx, sop.Template{Tenant: "t1", ID: "spin", Channel: scrm.ChannelWeCom, Body: body}); err == nil {
		done := make(chan error, 1)
		go func() {
			_, err := svc.Render(ctx, sop.RenderRequest{Tenant: "t1", Template: "spin"})
			done <- err
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("rendering the %d-byte body %s had not returned after 5 s", len(body), body)
		}
	}

	for _, body := range []string{
		`{{range 1000000000}}{{range 1000000000}}{{end}}{{end}}`,
		`{{range 1001}}{{end}}`,
		`{{range 1e9}}{{end}}`,
		`{{range 18446744073709551615}}{{end}}`,
		`{{range 100}}{{range 11}}{{end}}{{end}}`,
		`{{range 2}}{{range .N}}{{end}}{{end}}`,
		`{{range .N}}{{range $.N}}{{end}}{{end}}`,
		`{{range .N}}{{if .}}{{range 2}}{{end}}{{end}}{{end}}`,
		`{{$n := 1000000000}}{{range $n}}{{end}}`,
		`{{with .N}}{{range .}}{{end}}{{end}}`,
		`{{range (or .N 5)}}{{end}}`,
		`{{range .N | len}}{{end}}`,
	} {
		_, err := svc.PutTemplate(ctx, sop.Template{Tenant: "t1", ID: "loop", Channel: scrm.ChannelWeCom, Body: body,
			Optional: []string{"N"}})
		var se *scrm.Error
		if !errors.Is(err, scrm.ErrInvalid) || !errors.As(err, &se) || se.Field != "Body" {
			t.Errorf("%s: want ErrInvalid naming Body, got %v", body, err)
		}
	}

	// A range over a variable is accepted, and bounded when it renders.
	_, err := svc.PutTemplate(ctx, sop.Template{Tenant: "t1", ID: "n", Channel: scrm.ChannelWeCom,
		Body: `第{{range $i := .N}}{{end}}{{range 10}}{{range 100}}{{end}}{{end}}{{range 0}}{{range $.N}}{{end}}{{end}}天`, Required: []string{"N"}})
	require.NoError(t, err)
	prof := scrm.NewProfile("t1", "c1")
	prof.SetAttr("N", 1000000000000)
	start := time.Now()
	_, err = svc.Render(ctx, sop.RenderRequest{Tenant: "t1", Template: "n", Profile: prof})
	var se *scrm.Error
	if !errors.Is(err, scrm.ErrInvalid) || !errors.As(err, &se) || se.Field != "Vars.N" {
		t.Fatalf("want ErrInvalid naming Vars.N, got %v", err)
	}
	require.Less(t, time.Since(start), time.Second)
	prof.SetAttr("N", sop.MaxRangeCount)
	r, err := svc.Render(ctx, sop.RenderRequest{Tenant: "t1", Template: "n", Profile: prof})
	require.NoError(t, err)
	require.Equal(t, "第天", r.Body)

	// A list ranges as long as it is.
	_, err = svc.PutTemplate(ctx, sop.Template{Tenant: "t1", ID: "tags", Channel: scrm.ChannelWeCom,
		Body: `{{range $i, $t := .Tags}}{{if $i}}、{{end}}{{$t}}{{end}}`, Required: []string{"Tags"}})
	require.NoError(t, err)
	prof.SetAttr("Tags", []string{"a", "b", "c"})
	r, err = svc.Render(ctx, sop.RenderRequest{Tenant: "t1", Template: "tags", Profile: prof})
	require.NoError(t, err)
	require.Equal(t, "a、b、c", r.Body)
}

// A Reward step whose Rewarder reports a retryable failure is retried
// (RunDue's doc: "A retryable failure is retried after an exponential
// backoff up to Options.MaxAttempts"). member's Grant reports the steps
// after its commit with scrm.Join, whose Code is ErrUnavailable "when any
// of the errors is retryable ... So a host that retries on ErrUnavailable
// retries what can still succeed" (scrm/errors.go). A grant whose event
// publish failed (retryable) and whose tier-upgrade coupon ran out joins to
// Code ErrUnavailable, and sop retries the job: runner.failed (sop/run.go)
// decides with scrm.CodeOf, which returns the Join's Code.
func TestRewardJoinedRetryableFailureIsRetried(t *testing.T) {
	ctx := context.Background()
	clk := scrmtest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, scrm.DefaultLocation()))
	calls := 0
	svc := sop.New(sop.NewMemoryStore(), scrm.NewMemoryProfileStore(), &sop.Options{Options: scrm.Options{Clock: clk},
		Rewarder: scrm.RewarderFunc(func(context.Context, scrm.Grant) error {
			calls++
			if calls > 1 {
				return nil
			}
			return scrm.Join("member.Grant",
				scrm.Errorf(scrm.ErrUnavailable, "scrm.Dispatcher", "publishing member.points_changed failed"),
				scrm.Errorf(scrm.ErrExhausted, "coupon.Grant", "template upgrade-gift ran out"))
		})})
	_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: "t1", ID: "p", Steps: []sop.Step{
		{ID: "gift", Action: sop.Action{Kind: sop.Reward, Reward: scrm.Reward{Kind: scrm.RewardPoints, Points: 100}}},
	}})
	require.NoError(t, err)
	_, err = svc.Enroll(ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	r, err := svc.RunDue(ctx, sop.RunRequest{Worker: "w1"})
	require.NoError(t, err)
	if r.Retried != 1 || r.Failed != 0 {
		t.Fatalf("RunDue = %+v: the joined ErrUnavailable should be retried, not failed", r)
	}
}

// renderAlloc saves body as a WeCom template (declaring the optional
// variables) and renders it, returning the save error, the render error and
// the bytes the rendering allocated.
func renderAlloc(t *testing.T, body string, vars map[string]string, optional ...string) (putErr, renderErr error, alloc uint64) {
	t.Helper()
	ctx := context.Background()
	svc := configService(t)
	_, putErr = svc.PutTemplate(ctx, sop.Template{Tenant: "t1", ID: "r8s", Channel: scrm.ChannelWeCom, Body: body, Optional: optional})
	if putErr != nil {
		return putErr, nil, 0
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, renderErr = svc.Render(ctx, sop.RenderRequest{Tenant: "t1", Template: "r8s", Vars: vars})
	runtime.ReadMemStats(&after)
	return nil, renderErr, after.TotalAlloc - before.TotalAlloc
}

// A value a body builds is bounded too, not only what it writes: a body
// that doubles a variable ({{$x = print $x $x}}) without writing anything
// built 32 MiB from 63 bytes (an exabyte with {{range 60}}); print, printf,
// println, html, js and urlquery now refuse results over MaxRender.
func TestVariableDoublingIsBounded(t *testing.T) {
	for _, body := range []string{
		`{{$x := "ab"}}{{range 24}}{{$x = print $x $x}}{{end}}{{len $x}}`,
		`{{$x := "ab"}}{{range 24}}{{$x = printf "%s%s" $x $x}}{{end}}{{len $x}}`,
		`{{$x := "<>"}}{{range 24}}{{$x = html $x $x}}{{end}}{{len $x}}`,
	} {
		testBoundedRender(t, body)
	}
}

func testBoundedRender(t *testing.T, body string) {
	putErr, err, alloc := renderAlloc(t, body, nil)
	if putErr != nil {
		t.Logf("PutTemplate refused the body: %v", putErr)
		return // refusing it is a fine fix
	}
	t.Logf("Render: %v; allocated %d bytes", err, alloc)
	if err == nil {
		t.Errorf("%s: rendered, want a rendering failure", body)
	}
	if alloc > 4<<20 {
		t.Fatalf("rendering a %d-byte body allocated %d MB (MaxRender is %d bytes)", len(body), alloc>>20, sop.MaxRender)
	}
}
