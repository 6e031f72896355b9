package sop_test

// Mutation tests of the conformance suite (soptest.RunStoreTests): each
// mutant is the memory store with one method broken the way a plausible
// host implementation would break it. TestSMSuiteMutants runs the suite
// against every mutant in a child process (TestSMSuiteMutantChild) and
// requires the suite to fail it, in the subtest named.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
	"github.com/scrmkit/scrmkit/sop/soptest"
)

// smEnv names the mutant a child process runs the suite against.
const smEnv = "SCRMKIT_SOP_MUTANT"

var smMutants = []mutants.Store[sop.Store]{
	// Gaps the suite had: each has its own conformance case now.
	{Name: "RevisionIgnoresPolicy", Run: "Playbooks/RevisionMovesOnEveryChange", Want: "Playbooks/RevisionMovesOnEveryChange",
		New: func() sop.Store { return newSMRevision("policy") }},
	{Name: "RevisionIgnoresPause", Run: "Playbooks/RevisionMovesOnEveryChange", Want: "Playbooks/RevisionMovesOnEveryChange",
		New: func() sop.Store { return newSMRevision("pause") }},
	{Name: "RevisionIgnoresCalendar", Run: "Playbooks/RevisionMovesOnEveryChange", Want: "Playbooks/RevisionMovesOnEveryChange",
		New: func() sop.Store { return newSMRevision("calendar") }},
	{Name: "EnrollKeyOfLatestOnly", Run: "Enroll/IdempotentReplayOfEarlierEnrollment", Want: "Enroll/IdempotentReplayOfEarlierEnrollment",
		New: func() sop.Store { return &smLatestKey{Store: sop.NewMemoryStore(), latest: map[string]smKeyRec{}} }},
	{Name: "AdmitIgnoresLeaseExpiry", Run: "Transitions/OnlyTheLeaseHolder", Want: "Transitions/OnlyTheLeaseHolder",
		New: func() sop.Store { return &smAdmitExpired{smLeases: newSMLeases()} }},
	{Name: "RescheduleAnyWorker", Run: "Transitions/OnlyTheLeaseHolder", Want: "Transitions/OnlyTheLeaseHolder",
		New: func() sop.Store { return &smRescheduleAnyWorker{smLeases: newSMLeases()} }},
	{Name: "RescheduleIgnoresLeaseExpiry", Run: "Transitions/OnlyTheLeaseHolder", Want: "Transitions/OnlyTheLeaseHolder",
		New: func() sop.Store { return &smRescheduleExpired{smLeases: newSMLeases()} }},
	{Name: "TasksInIDOrder", Run: "Tasks/CreatedAtThenIDOrder", Want: "Tasks/CreatedAtThenIDOrder",
		New: func() sop.Store { return &smTasksByID{Store: sop.NewMemoryStore()} }},
	{Name: "ReassignKeyIgnoresFrom", Run: "ReassignTasks/IdempotencyKey", Want: "ReassignTasks/IdempotencyKey",
		New: func() sop.Store { return &smReassignFrom{Store: sop.NewMemoryStore(), first: map[string]string{}} }},
	{Name: "CompleteTaskCountsNonAtomically", Run: "Tasks/ConcurrentCompletionsCountOnce", Want: "Tasks/ConcurrentCompletionsCountOnce",
		New: func() sop.Store { return newSMTaskCount(true) }},
	{Name: "ListPlaybooksAnyTenant", Run: "TenantIsolation/ListsAndTaskCompletionStayInTheTenant", Want: "TenantIsolation/ListsAndTaskCompletionStayInTheTenant",
		New: func() sop.Store { return &smListPlaybooksAnyTenant{newSMTenants()} }},
	{Name: "CompleteTaskAnyTenant", Run: "TenantIsolation/ListsAndTaskCompletionStayInTheTenant", Want: "TenantIsolation/ListsAndTaskCompletionStayInTheTenant",
		New: func() sop.Store { return &smCompleteTaskAnyTenant{newSMTenants()} }},

	// Mutants the suite already caught.
	{Name: "PutPlaybookLastWriteWins", Run: "Playbooks/VersionConflict", Want: "Playbooks/VersionConflict",
		New: func() sop.Store { return &smPlaybookLWW{Store: sop.NewMemoryStore()} }},
	{Name: "PutTemplateLastWriteWins", Run: "Templates/ConcurrentCreatorsOneWins", Want: "Templates/ConcurrentCreatorsOneWins",
		New: func() sop.Store { return &smTemplateLWW{Store: sop.NewMemoryStore()} }},
	{Name: "CheckRevisionThenPut", Run: "Templates/ConcurrentConditionalWritersOneWins", Want: "Templates/ConcurrentConditionalWritersOneWins",
		New: func() sop.Store { return &smRevisionRace{Store: sop.NewMemoryStore()} }},
	{Name: "EnrollIgnoresVersion", Run: "Enroll/VersionConflictToldFromReentryRefusal", Want: "Enroll/VersionConflictToldFromReentryRefusal",
		New: func() sop.Store { return &smEnrollVersion{Store: sop.NewMemoryStore()} }},
	{Name: "EnrollReplayNotFlagged", Run: "Enroll/IdempotentReplay", Want: "Enroll/IdempotentReplay",
		New: func() sop.Store { return &smReplayUnflagged{Store: sop.NewMemoryStore()} }},
	{Name: "JobsNewestFirst", Run: "Enroll/CreatesJobs", Want: "Enroll/CreatesJobs",
		New: func() sop.Store { return &smJobsReversed{Store: sop.NewMemoryStore()} }},
	{Name: "ClaimLatestDueFirst", Run: "Claim/DueTimeOrdering", Want: "Claim/DueTimeOrdering",
		New: func() sop.Store { return &smClaimReversed{Store: sop.NewMemoryStore()} }},
	{Name: "CompleteAnyWorker", Run: "Transitions/CompleteStates", Want: "Transitions/CompleteStates",
		New: func() sop.Store { return &smCompleteAnyWorker{smLeases: newSMLeases()} }},
	{Name: "CompleteIgnoresLeaseExpiry", Run: "Claim/LeaseExpiry", Want: "Claim/LeaseExpiry",
		New: func() sop.Store { return &smCompleteExpired{smLeases: newSMLeases()} }},
	{Name: "AttributeUnknownMessageToAny", Run: "Attribution/MessageIDCreditsThatTouchOnly", Want: "Attribution/MessageIDCreditsThatTouchOnly",
		New: func() sop.Store { return &smAttributeAny{Store: sop.NewMemoryStore()} }},
	{Name: "ReassignKeyNotKept", Run: "ReassignTasks/IdempotencyKey", Want: "ReassignTasks/IdempotencyKey",
		New: func() sop.Store { return &smReassignNoKey{Store: sop.NewMemoryStore()} }},
	{Name: "JobsIgnoreContext", Run: "CancelledContext", Want: "CancelledContext",
		New: func() sop.Store { return &smNoContext{Store: sop.NewMemoryStore()} }},
	{Name: "CompleteTaskReplayCountsAgain", Run: "Tasks/CreateOnceAndComplete", Want: "Tasks/CreateOnceAndComplete",
		New: func() sop.Store { return newSMTaskCount(false) }},
	{Name: "StartAnyWorker", Run: "Start/OnlyTheLeaseHolder", Want: "Start/OnlyTheLeaseHolder",
		New: func() sop.Store { return &smStartAnyWorker{smLeases: newSMLeases()} }},
	// Caught before by Transitions/EndEnrollmentsLeavesLeasedJobToItsWorker
	// and Start/ExitedEnrollmentCancelsTheJob; the case named states the
	// promise directly.
	{Name: "EndEnrollmentsAllPlaybooks", Run: "Transitions/EndEnrollmentsEndsThatCustomerInThatPlaybookOnly", Want: "Transitions/EndEnrollmentsEndsThatCustomerInThatPlaybookOnly",
		New: func() sop.Store { return newSMEndWide("playbook") }},
	{Name: "EndEnrollmentsAllCustomers", Run: "Transitions/EndEnrollmentsEndsThatCustomerInThatPlaybookOnly", Want: "Transitions/EndEnrollmentsEndsThatCustomerInThatPlaybookOnly",
		New: func() sop.Store { return newSMEndWide("customer") }},
}

// smMutantsList returns the mutants for package mutants.
func smMutantsList() []mutants.Mutant {
	return mutants.Stores(soptest.RunStoreTests, smMutants)
}

// TestSMSuiteMutantChild runs the suite against the mutant named by smEnv;
// it is TestSMSuiteMutants' child process and skips otherwise.
func TestSMSuiteMutantChild(t *testing.T) { mutants.Child(t, smEnv, smMutantsList()) }

// TestSMSuiteMutants proves that the conformance suite fails every mutant.
func TestSMSuiteMutants(t *testing.T) {
	mutants.Spawn(t, smEnv, "TestSMSuiteMutantChild", smMutantsList())
}

// smRevision keeps the tenant's revision itself (checking conditional
// puts against it) and forgets to move it on one kind of change: "pause"
// (SetPaused), "policy" (PutPolicy) or "calendar" (PutCalendar). A
// Service sharing the store then keeps the cached state from before.
type smRevision struct {
	sop.Store
	skip string
	mu   sync.Mutex
	rev  map[scrm.TenantID]int64
}

func newSMRevision(skip string) *smRevision {
	return &smRevision{Store: sop.NewMemoryStore(), skip: skip, rev: map[scrm.TenantID]int64{}}
}

func (m *smRevision) Revision(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	if _, err := m.Store.Revision(ctx, tenant); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev[tenant], nil
}

func (m *smRevision) check(tenant scrm.TenantID, check bool, rev int64) error {
	if check && m.rev[tenant] != rev {
		return &scrm.Error{Code: scrm.ErrConflict, Op: "mutant", Field: "Revision", Msg: "moved"}
	}
	return nil
}

func (m *smRevision) bump(tenant scrm.TenantID, kind string, err error) {
	if err == nil && kind != m.skip {
		m.rev[tenant]++
	}
}

func (m *smRevision) PutPlaybook(ctx context.Context, p sop.PutPlaybookParams) (sop.PutPlaybookResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(p.Playbook.Tenant, p.CheckRevision, p.Revision); err != nil {
		return sop.PutPlaybookResult{}, err
	}
	p.CheckRevision = false
	res, err := m.Store.PutPlaybook(ctx, p)
	m.bump(p.Playbook.Tenant, "playbook", err)
	return res, err
}

func (m *smRevision) PutTemplate(ctx context.Context, p sop.PutTemplateParams) (sop.Template, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(p.Template.Tenant, p.CheckRevision, p.Revision); err != nil {
		return sop.Template{}, err
	}
	p.CheckRevision = false
	res, err := m.Store.PutTemplate(ctx, p)
	m.bump(p.Template.Tenant, "template", err)
	return res, err
}

func (m *smRevision) SetPaused(ctx context.Context, p sop.SetPausedParams) (sop.PutPlaybookResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	before, err := m.Store.GetPlaybook(ctx, p.Tenant, p.Playbook)
	res, err2 := m.Store.SetPaused(ctx, p)
	if err == nil && err2 == nil && before.Paused != p.Paused {
		m.bump(p.Tenant, "pause", nil)
	}
	return res, err2
}

func (m *smRevision) PutPolicy(ctx context.Context, tenant scrm.TenantID, p sop.Policy) (sop.Policy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	res, err := m.Store.PutPolicy(ctx, tenant, p)
	m.bump(tenant, "policy", err)
	return res, err
}

func (m *smRevision) PutCalendar(ctx context.Context, p sop.PutCalendarParams) (sop.Calendar, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	res, err := m.Store.PutCalendar(ctx, p)
	m.bump(p.Calendar.Tenant, "calendar", err)
	return res, err
}

// smKeyRec is the idempotency key of a customer's latest enrollment in a
// playbook, as smLatestKey keeps it.
type smKeyRec struct {
	key       string
	defaulted bool
	anchor    time.Time
}

// smLatestKey keeps only the latest enrollment's idempotency key per
// customer and playbook (a column on the membership row): the retry of an
// event that enrolled the customer before a later enrollment enrolls the
// customer again.
type smLatestKey struct {
	sop.Store
	mu     sync.Mutex
	latest map[string]smKeyRec
}

func (m *smLatestKey) Enroll(ctx context.Context, p sop.EnrollParams) (sop.EnrollResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := string(p.Tenant) + "/" + p.Playbook + "/" + string(p.Customer)
	if rec, ok := m.latest[k]; ok && p.IdempotencyKey != "" && rec.key == p.IdempotencyKey {
		if rec.defaulted != p.AnchorDefaulted || (!rec.defaulted && !rec.anchor.Equal(p.Anchor)) {
			return sop.EnrollResult{}, &scrm.Error{Code: scrm.ErrConflict, Op: "mutant", Field: "IdempotencyKey", Msg: "other anchor"}
		}
		ens, err := m.Store.Enrollments(ctx, sop.ListEnrollmentsParams{Tenant: p.Tenant, Customer: p.Customer, Playbook: p.Playbook})
		if err != nil || len(ens) == 0 {
			return sop.EnrollResult{}, errors.Join(err, errors.New("mutant: no enrollment"))
		}
		en := ens[len(ens)-1]
		en.IdempotencyKey = rec.key
		return sop.EnrollResult{Enrollment: en, Replayed: true}, nil
	}
	key := p.IdempotencyKey
	p.IdempotencyKey = ""
	res, err := m.Store.Enroll(ctx, p)
	if err == nil {
		m.latest[k] = smKeyRec{key: key, defaulted: p.AnchorDefaulted, anchor: p.Anchor}
		res.Enrollment.IdempotencyKey = key
	}
	return res, err
}

func (m *smLatestKey) Enrollments(ctx context.Context, p sop.ListEnrollmentsParams) ([]sop.Enrollment, error) {
	ens, err := m.Store.Enrollments(ctx, p)
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, en := range ens {
		if rec, ok := m.latest[string(en.Tenant)+"/"+en.Playbook+"/"+string(en.Customer)]; ok && i == len(ens)-1 {
			ens[i].IdempotencyKey = rec.key
		}
	}
	return ens, err
}

// smLeases remembers the lease each Claim handed out, for the mutants
// that check a lease less strictly than the memory store.
type smLeases struct {
	sop.Store
	mu     sync.Mutex
	leases map[string]sop.Job
}

func newSMLeases() *smLeases {
	return &smLeases{Store: sop.NewMemoryStore(), leases: map[string]sop.Job{}}
}

func (m *smLeases) Claim(ctx context.Context, p sop.ClaimParams) ([]sop.Job, error) {
	jobs, err := m.Store.Claim(ctx, p)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, j := range jobs {
		m.leases[j.ID] = j
	}
	return jobs, err
}

// holder returns the worker of job id's last lease and a time within it.
func (m *smLeases) holder(id string) (string, time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.leases[id]
	return j.Worker, j.LeaseUntil.Add(-time.Nanosecond), ok
}

// smAdmitExpired checks that the worker holds the lease but not that the
// lease still runs: a worker whose lease expired is admitted and sends.
type smAdmitExpired struct{ *smLeases }

func (m *smAdmitExpired) Admit(ctx context.Context, p sop.AdmitParams) (sop.AdmitResult, error) {
	if w, in, ok := m.holder(p.Job); ok && w == p.Worker && !p.At.Before(in) {
		p.At = in
	}
	return m.Store.Admit(ctx, p)
}

// smRescheduleAnyWorker gives a leased job back whoever asks.
type smRescheduleAnyWorker struct{ *smLeases }

func (m *smRescheduleAnyWorker) Reschedule(ctx context.Context, p sop.RescheduleParams) (sop.Job, error) {
	if w, _, ok := m.holder(p.Job); ok {
		p.Worker = w
	}
	return m.Store.Reschedule(ctx, p)
}

// smRescheduleExpired checks the worker but not that its lease still
// runs.
type smRescheduleExpired struct{ *smLeases }

func (m *smRescheduleExpired) Reschedule(ctx context.Context, p sop.RescheduleParams) (sop.Job, error) {
	if w, in, ok := m.holder(p.Job); ok && w == p.Worker && !p.At.Before(in) {
		p.At = in
	}
	return m.Store.Reschedule(ctx, p)
}

// smCompleteAnyWorker completes a leased job whoever asks.
type smCompleteAnyWorker struct{ *smLeases }

func (m *smCompleteAnyWorker) Complete(ctx context.Context, p sop.CompleteParams) (sop.Job, error) {
	if w, _, ok := m.holder(p.Job); ok {
		p.Worker = w
	}
	return m.Store.Complete(ctx, p)
}

// smCompleteExpired completes for the worker whether its lease runs or
// not.
type smCompleteExpired struct{ *smLeases }

func (m *smCompleteExpired) Complete(ctx context.Context, p sop.CompleteParams) (sop.Job, error) {
	if w, in, ok := m.holder(p.Job); ok && w == p.Worker && !p.At.Before(in) {
		p.At = in
	}
	return m.Store.Complete(ctx, p)
}

// smTasksByID lists a staff member's tasks in ID order, whatever their
// CreatedAt.
type smTasksByID struct{ sop.Store }

func (m *smTasksByID) Tasks(ctx context.Context, p sop.ListTasksParams) ([]sop.StaffTask, error) {
	out, err := m.Store.Tasks(ctx, p)
	slices.SortFunc(out, func(a, b sop.StaffTask) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// smReassignFrom fingerprints an idempotency key by Customer and To only:
// a second call with the key and another From replays the first.
type smReassignFrom struct {
	sop.Store
	mu    sync.Mutex
	first map[string]string // tenant/key → the first call's From
}

func (m *smReassignFrom) ReassignTasks(ctx context.Context, p sop.ReassignTasksParams) (sop.ReassignTasksResult, error) {
	if p.IdempotencyKey == "" {
		return m.Store.ReassignTasks(ctx, p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := string(p.Tenant) + "/" + p.IdempotencyKey
	if from, ok := m.first[k]; ok {
		p.From = from
	}
	res, err := m.Store.ReassignTasks(ctx, p)
	if _, ok := m.first[k]; !ok && err == nil {
		m.first[k] = p.From
	}
	return res, err
}

// smPlaybookLWW stores whatever version the caller read.
type smPlaybookLWW struct{ sop.Store }

func (m *smPlaybookLWW) PutPlaybook(ctx context.Context, p sop.PutPlaybookParams) (sop.PutPlaybookResult, error) {
	if cur, err := m.Store.GetPlaybook(ctx, p.Playbook.Tenant, p.Playbook.ID); err == nil {
		p.Playbook.Version = cur.Version
	}
	return m.Store.PutPlaybook(ctx, p)
}

// smTemplateLWW creates or replaces a template whatever the version (a
// check-then-put without a condition).
type smTemplateLWW struct{ sop.Store }

func (m *smTemplateLWW) PutTemplate(ctx context.Context, p sop.PutTemplateParams) (sop.Template, error) {
	for {
		cur, err := m.Store.GetTemplate(ctx, p.Template.Tenant, p.Template.ID)
		p.Template.Version = cur.Version
		if err != nil {
			p.Template.Version = 0
		}
		out, err := m.Store.PutTemplate(ctx, p)
		if !errors.Is(err, scrm.ErrConflict) || smConflictField(err) == "Revision" {
			return out, err
		}
	}
}

// smRevisionRace checks the revision, then puts without the condition.
type smRevisionRace struct {
	sop.Store
	ov mutants.Overlap // widens the read-to-write window
}

func (m *smRevisionRace) check(ctx context.Context, tenant scrm.TenantID, check bool, rev int64) error {
	if !check {
		return nil
	}
	cur, err := m.Store.Revision(ctx, tenant)
	if err == nil && cur != rev {
		err = &scrm.Error{Code: scrm.ErrConflict, Op: "mutant", Field: "Revision", Msg: "moved"}
	}
	m.ov.Wait()
	return err
}

func (m *smRevisionRace) PutPlaybook(ctx context.Context, p sop.PutPlaybookParams) (sop.PutPlaybookResult, error) {
	if err := m.check(ctx, p.Playbook.Tenant, p.CheckRevision, p.Revision); err != nil {
		return sop.PutPlaybookResult{}, err
	}
	p.CheckRevision = false
	return m.Store.PutPlaybook(ctx, p)
}

func (m *smRevisionRace) PutTemplate(ctx context.Context, p sop.PutTemplateParams) (sop.Template, error) {
	if err := m.check(ctx, p.Template.Tenant, p.CheckRevision, p.Revision); err != nil {
		return sop.Template{}, err
	}
	p.CheckRevision = false
	return m.Store.PutTemplate(ctx, p)
}

// smEnrollVersion enrolls with the jobs of whatever version the caller
// computed them from.
type smEnrollVersion struct{ sop.Store }

func (m *smEnrollVersion) Enroll(ctx context.Context, p sop.EnrollParams) (sop.EnrollResult, error) {
	if cur, err := m.Store.GetPlaybook(ctx, p.Tenant, p.Playbook); err == nil {
		p.Version = cur.Version
	}
	return m.Store.Enroll(ctx, p)
}

// smReplayUnflagged does not report a replayed enrollment as one.
type smReplayUnflagged struct{ sop.Store }

func (m *smReplayUnflagged) Enroll(ctx context.Context, p sop.EnrollParams) (sop.EnrollResult, error) {
	res, err := m.Store.Enroll(ctx, p)
	res.Replayed = false
	return res, err
}

// smJobsReversed lists jobs latest due first.
type smJobsReversed struct{ sop.Store }

func (m *smJobsReversed) Jobs(ctx context.Context, p sop.ListJobsParams) ([]sop.Job, error) {
	out, err := m.Store.Jobs(ctx, p)
	slices.Reverse(out)
	return out, err
}

// smClaimReversed takes the jobs due latest first.
type smClaimReversed struct{ sop.Store }

func (m *smClaimReversed) Claim(ctx context.Context, p sop.ClaimParams) ([]sop.Job, error) {
	out, err := m.Store.Claim(ctx, p)
	slices.Reverse(out)
	return out, err
}

// smAttributeAny credits every touch in the window when the message named
// is not recorded.
type smAttributeAny struct{ sop.Store }

func (m *smAttributeAny) Attribute(ctx context.Context, p sop.AttributeParams) (int, error) {
	n, err := m.Store.Attribute(ctx, p)
	if err == nil && n == 0 && p.MessageID != "" {
		p.MessageID = ""
		return m.Store.Attribute(ctx, p)
	}
	return n, err
}

// smReassignNoKey ignores the idempotency key.
type smReassignNoKey struct{ sop.Store }

func (m *smReassignNoKey) ReassignTasks(ctx context.Context, p sop.ReassignTasksParams) (sop.ReassignTasksResult, error) {
	p.IdempotencyKey = ""
	return m.Store.ReassignTasks(ctx, p)
}

// smNoContext lists jobs whatever the context.
type smNoContext struct{ sop.Store }

func (m *smNoContext) Jobs(_ context.Context, p sop.ListJobsParams) ([]sop.Job, error) {
	return m.Store.Jobs(context.Background(), p)
}

// smConflictField returns the Field of the ErrConflict err wraps.
func smConflictField(err error) string {
	var se *scrm.Error
	if errors.As(err, &se) {
		return se.Field
	}
	return ""
}
