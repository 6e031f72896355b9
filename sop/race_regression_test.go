package sop_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/sop"
)

// pausingPutPlaybookStore wraps a sop.Store: the first PutPlaybook made
// while armed signals reached and waits for release before it reaches the
// store, opening the window between PutPlaybook's template check and its
// write.
type pausingPutPlaybookStore struct {
	sop.Store
	mu      sync.Mutex
	armed   bool
	reached chan struct{}
	release chan struct{}
}

func (s *pausingPutPlaybookStore) PutPlaybook(ctx context.Context, p sop.PutPlaybookParams) (sop.PutPlaybookResult, error) {
	s.mu.Lock()
	pause := s.armed
	s.armed = false
	s.mu.Unlock()
	if pause {
		close(s.reached)
		<-s.release
	}
	return s.Store.PutPlaybook(ctx, p)
}

// TestPutTemplateRacingPutPlaybookOneIsRefused: the package promises
// "Saving a playbook (or calendar) that sends a stored template on another
// channel than the template's is an error, and so is saving a template
// whose ID a stored playbook sends on another channel" (sop/doc.go;
// PutTemplate: "those sends would fail"), also for a playbook and a
// template saved at the same moment: each check and its write are one
// atomic step in the Store (a write conditional on the tenant's Revision
// read with the check). Forced interleaving: PutPlaybook(welcome sends
// template "hello" on wecom) checks (no template "hello") and pauses;
// PutTemplate(hello, Channel sms) checks (no playbook) and stores; the
// playbook's write then finds the revision moved, and PutPlaybook checks
// again. Expected: one of the two saves is refused with ErrInvalid, so no
// welcome message fails permanently when it runs ("is sms; the step sends
// on wecom").
func TestPutTemplateRacingPutPlaybookOneIsRefused(t *testing.T) {
	ctx := context.Background()
	const tenant scrm.TenantID = "t13"
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)) // 10:00 Shanghai
	rec := scrmtest.NewRecorder()
	store := &pausingPutPlaybookStore{Store: sop.NewMemoryStore(), reached: make(chan struct{}), release: make(chan struct{})}
	svc := sop.New(store, scrm.NewMemoryProfileStore(), &sop.Options{Options: scrm.Options{Clock: clock}, Channel: rec})

	store.mu.Lock()
	store.armed = true
	store.mu.Unlock()
	pbErr := make(chan error, 1)
	go func() {
		_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: tenant, ID: "welcome", Steps: []sop.Step{
			{ID: "hi", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "hello", Staff: "s1"}},
		}})
		pbErr <- err
	}()
	<-store.reached // PutPlaybook has checked the templates: none named hello
	_, tplErr := svc.PutTemplate(ctx, sop.Template{Tenant: tenant, ID: "hello", Channel: scrm.ChannelSMS, Body: "您好"})
	close(store.release)
	pErr := <-pbErr
	if pErr != nil || tplErr != nil {
		// One was refused: consistent. Here the template came first, so the
		// playbook is the one refused, naming the step's channel.
		require.NoError(t, tplErr)
		require.ErrorIs(t, pErr, scrm.ErrInvalid)
		require.ErrorContains(t, pErr, "Steps[0].Action.Channel")
		_, err := svc.Playbook(ctx, tenant, "welcome")
		require.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		return
	}
	t.Errorf("both saves succeeded: playbook welcome sends template hello on wecom, template hello is for sms")

	_, err := svc.Enroll(ctx, sop.EnrollRequest{Tenant: tenant, Playbook: "welcome", Customer: "c1"})
	require.NoError(t, err)
	res, err := svc.RunDue(ctx, sop.RunRequest{})
	require.NoError(t, err)
	t.Logf("the welcome message: sent %d, failed %d (%d messages reached the channel)", res.Sent, res.Failed, len(rec.Messages()))
}

// enrollHookStore wraps a sop.Store: each of the first len(hooks) Enroll
// calls runs its hook (in the calling goroutine) before reaching the
// store, standing for operator actions that land between the Service
// compiling the playbook and the Store enrolling.
type enrollHookStore struct {
	sop.Store
	mu    sync.Mutex
	calls int
	hooks []func()
}

func (s *enrollHookStore) Enroll(ctx context.Context, p sop.EnrollParams) (sop.EnrollResult, error) {
	s.mu.Lock()
	var hook func()
	if s.calls < len(s.hooks) {
		hook = s.hooks[s.calls]
	}
	s.calls++
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return s.Store.Enroll(ctx, p)
}

// TestHandleEnrollsWhenPlaybookChangesTwiceMidEnroll: Handle "enrolls the
// customer in the playbooks the event triggers ... Re-entry refusals are
// not errors" (sop/enroll.go, Handle). The Store tells a version conflict
// (ErrConflict naming "Version") from a re-entry refusal, and enroll
// recomputes the jobs from the stored version on every version conflict
// (bounded), so a playbook changing several times during the enrollment
// does not drop it as if it were a refusal. Interleaving: customer.added
// for c1 (a first-time customer, Reentry Once) is handled while the
// operator pauses the welcome playbook (lands before the first
// Store.Enroll) and resumes it (lands before the retry). Expected: c1 is
// enrolled in welcome (or Handle returns an error so that the event is
// delivered again), never a nil Handle with no enrollment.
func TestHandleEnrollsWhenPlaybookChangesTwiceMidEnroll(t *testing.T) {
	ctx := context.Background()
	const tenant scrm.TenantID = "t13"
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))
	store := &enrollHookStore{Store: sop.NewMemoryStore()}
	svc := sop.New(store, scrm.NewMemoryProfileStore(), &sop.Options{Options: scrm.Options{Clock: clock}, Channel: scrmtest.NewRecorder()})
	_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: tenant, ID: "welcome", Trigger: sop.Trigger{Event: scrm.EventCustomerAdded},
		Steps: []sop.Step{{ID: "hi", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "TMPL_hi", Staff: "s1"}}}})
	require.NoError(t, err)

	// The operator's two clicks, each run while Handle waits in the store.
	var opErrs []error
	store.hooks = []func(){
		func() { _, err := svc.Pause(ctx, tenant, "welcome"); opErrs = append(opErrs, err) },
		func() { _, err := svc.Resume(ctx, tenant, "welcome"); opErrs = append(opErrs, err) },
	}
	herr := svc.Handle(ctx, scrm.Event{ID: "added-c1", Tenant: tenant, Customer: "c1", Type: scrm.EventCustomerAdded, Time: clock.Now()})
	for _, err := range opErrs {
		require.NoError(t, err)
	}
	ens, err := svc.Enrollments(ctx, tenant, "c1")
	require.NoError(t, err)
	if herr == nil && len(ens) == 0 {
		t.Errorf("customer.added for a first-time customer: Handle returned nil but c1 is not enrolled in welcome")
	}
	require.NoError(t, herr)
	require.Len(t, ens, 1, "enrolled from the version stored after the resume")

	// The public Enroll keeps ErrConflict for "already enrolled".
	_, err = svc.Enroll(ctx, sop.EnrollRequest{Tenant: tenant, Playbook: "welcome", Customer: "c1"})
	require.ErrorIs(t, err, scrm.ErrConflict)
}

// TestEnrollPlaybookChangingWithoutEndIsUnavailable: enroll's retries on
// version conflicts are bounded; a playbook that changes before every
// Store.Enroll makes Enroll and Handle fail with ErrUnavailable (try, or
// deliver the event, again), never ErrConflict, which Enroll keeps for
// "already enrolled" and Handle ignores as a re-entry refusal.
func TestEnrollPlaybookChangingWithoutEndIsUnavailable(t *testing.T) {
	ctx := context.Background()
	const tenant scrm.TenantID = "t13"
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))
	store := &enrollHookStore{Store: sop.NewMemoryStore()}
	svc := sop.New(store, scrm.NewMemoryProfileStore(), &sop.Options{Options: scrm.Options{Clock: clock}, Channel: scrmtest.NewRecorder()})
	_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: tenant, ID: "welcome", Trigger: sop.Trigger{Event: scrm.EventCustomerAdded},
		Steps: []sop.Step{{ID: "hi", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "TMPL_hi", Staff: "s1"}}}})
	require.NoError(t, err)
	toggle := func() {
		pb, err := svc.Playbook(ctx, tenant, "welcome")
		require.NoError(t, err)
		if pb.Paused {
			_, err = svc.Resume(ctx, tenant, "welcome")
		} else {
			_, err = svc.Pause(ctx, tenant, "welcome")
		}
		require.NoError(t, err)
	}
	for range 100 {
		store.hooks = append(store.hooks, toggle)
	}

	_, err = svc.Enroll(ctx, sop.EnrollRequest{Tenant: tenant, Playbook: "welcome", Customer: "c1"})
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	require.NotErrorIs(t, err, scrm.ErrConflict)
	err = svc.Handle(ctx, scrm.Event{ID: "added-c2", Tenant: tenant, Customer: "c2", Type: scrm.EventCustomerAdded, Time: clock.Now()})
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	for _, c := range []scrm.CustomerID{"c1", "c2"} {
		ens, err := svc.Enrollments(ctx, tenant, c)
		require.NoError(t, err)
		require.Empty(t, ens)
	}
}

// policyChurnStore wraps a sop.Store: before every PutPlaybook and
// PutTemplate it stores the tenant's policy again, moving the tenant's
// Revision between the Service's check and its write.
type policyChurnStore struct{ sop.Store }

func (s policyChurnStore) PutPlaybook(ctx context.Context, p sop.PutPlaybookParams) (sop.PutPlaybookResult, error) {
	if _, err := s.Store.PutPolicy(ctx, p.Playbook.Tenant, sop.Policy{}); err != nil {
		return sop.PutPlaybookResult{}, err
	}
	return s.Store.PutPlaybook(ctx, p)
}

func (s policyChurnStore) PutTemplate(ctx context.Context, p sop.PutTemplateParams) (sop.Template, error) {
	if _, err := s.Store.PutPolicy(ctx, p.Template.Tenant, sop.Policy{}); err != nil {
		return sop.Template{}, err
	}
	return s.Store.PutTemplate(ctx, p)
}

// TestPutUnderEndlessChangeIsUnavailable: PutPlaybook and PutTemplate
// check again a bounded number of times when the tenant's definitions
// moved under the check; then they fail with ErrUnavailable (try again),
// not ErrConflict, which they keep for a version mismatch, and write
// nothing.
func TestPutUnderEndlessChangeIsUnavailable(t *testing.T) {
	ctx := context.Background()
	const tenant scrm.TenantID = "t13"
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC))
	store := policyChurnStore{sop.NewMemoryStore()}
	svc := sop.New(store, scrm.NewMemoryProfileStore(), &sop.Options{Options: scrm.Options{Clock: clock}, Channel: scrmtest.NewRecorder()})
	_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: tenant, ID: "welcome",
		Steps: []sop.Step{{ID: "hi", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "TMPL_hi", Staff: "s1"}}}})
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	require.NotErrorIs(t, err, scrm.ErrConflict)
	_, err = svc.PutTemplate(ctx, sop.Template{Tenant: tenant, ID: "hello", Channel: scrm.ChannelSMS, Body: "您好"})
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	require.NotErrorIs(t, err, scrm.ErrConflict)
	pbs, err := svc.Playbooks(ctx, tenant)
	require.NoError(t, err)
	require.Empty(t, pbs)
	tpls, err := svc.Templates(ctx, tenant)
	require.NoError(t, err)
	require.Empty(t, tpls)
}
