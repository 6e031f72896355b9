package sop

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// NewMemoryStore returns an in-memory Store, safe for concurrent use. It
// keeps every tenant's jobs in one due-time heap under one lock, so Claim
// takes the earliest due jobs of all tenants in O(log n) each. Jobs are
// stored compactly and without pointers (16 bytes each, plus a 16-byte heap
// entry and their share of the enrollment: under 100 bytes per pending job
// for four-step playbooks), so a million enrollments cost the garbage
// collector little. Finished jobs stay with their enrollment, which is kept
// for re-entry; touches are kept while they can still be attributed, cap
// counters while their period lasts.
func NewMemoryStore() Store {
	return &memoryStore{
		tenants:    make(map[scrm.TenantID]*mtenant),
		leases:     make(map[string]mlease),
		slots:      make(map[string][]capSlot),
		reasons:    make(map[uint64]string),
		endReasons: make(map[uint64]string),
		posts:      make(map[uint64]*mpost),
		slabs:      [][]menr{make([]menr, 1, enrSlab)}, // ord 0 is no enrollment
	}
}

type memoryStore struct {
	mu         sync.Mutex
	tenants    map[scrm.TenantID]*mtenant
	heap       jobHeap
	leases     map[string]mlease    // by job ID
	slots      map[string][]capSlot // cap slots held, by job ID
	reasons    map[uint64]string    // by job ref: why a job was skipped or failed, its last error
	endReasons map[uint64]string    // by enrollment ord: why it exited
	posts      map[uint64]*mpost    // by the ord of the post's pseudo-enrollment
	// Enrollments live in slabs of enrSlab, addressed by their ord (their
	// creation order), and their jobs in shared slabs of mjob.
	slabs   [][]menr
	jobSlab []mjob
}

// enrSlab is the number of enrollments per slab.
const enrSlab = 4096

var _ Store = (*memoryStore)(nil)

type mtenant struct {
	id        scrm.TenantID
	revision  int64
	playbooks map[string]*mpb
	calendars map[string]*mcal
	policy    Policy
	tasks     map[string]*StaffTask
	byStaff   map[string]map[string]*StaffTask // staff → task ID → task
	byCust    map[scrm.CustomerID][]*StaffTask
	touches   map[scrm.CustomerID][]touch
	caps      map[scrm.CustomerID][]capCount
	templates map[string]*Template
	reassigns map[string]reassignRecord     // by idempotency key
	owners    map[scrm.CustomerID]ownerMark // the newest ordered owner change applied
}

// mpb is a stored playbook with its enrollments.
type mpb struct {
	t       *mtenant
	pb      Playbook
	steps   map[string]struct{} // the current step IDs
	names   []string            // step and variant IDs ever used, interned
	nameIdx map[string]uint16
	members map[scrm.CustomerID]*menr // the latest enrollment of each customer
	parked  []uint64                  // refs of due jobs held back while paused
	stats   map[statKey]*StepStats
	order   []statKey
}

type statKey struct{ step, variant uint16 }

// menr is an enrollment (or, with pb nil, the pseudo-enrollment of a
// calendar post).
type menr struct {
	pb       *mpb
	customer scrm.CustomerID
	key      string
	jobs     []mjob
	anchor   int64
	enrolled int64
	ended    int64
	ord      uint64
	prev     uint64 // ord of the customer's previous enrollment in the playbook; 0 for none
	seq      uint32
	open     uint16 // jobs not yet final
	state    uint8
	// defaulted is EnrollParams.AnchorDefaulted: the caller named no anchor.
	defaulted bool
}

// mjob is one job in 16 bytes, without pointers: its enrollment and step
// position are implied by where it is stored (see ref).
type mjob struct {
	due      int64 // the due time; while leased, the lease expiry
	attempts uint16
	step     uint16 // index into mpb.names
	variant  uint16 // index+1 into mpb.names; 0 for none
	state    uint8
}

const (
	stPending uint8 = iota
	stLeased
	stParked
	stDone
	stSkipped
	stFailed
	stCancelled
)

var stateNames = [...]JobState{JobPending, JobLeased, JobPending, JobDone, JobSkipped, JobFailed, JobCancelled}

const (
	enrActive uint8 = iota
	enrCompleted
	enrExited
)

var enrStateNames = [...]EnrollmentState{EnrollmentActive, EnrollmentCompleted, EnrollmentExited}

type mlease struct {
	ref    uint64
	worker string
	until  int64
	due    int64 // the job's due time before it was leased
	// cancel marks a job whose enrollment ended while it was leased: its
	// worker may be sending it, so it stays leased, and is cancelled
	// unless Complete reports it done (see Store.EndEnrollments).
	cancel bool
}

// unlease drops the lease l of job id, gives back the cap slots the job
// holds and restores its due time, leaving the job to be put in a state.
func (s *memoryStore) unlease(t *mtenant, id string, l mlease) {
	delete(s.leases, id)
	s.release(t, id)
	_, j := s.deref(l.ref)
	j.due = l.due
}

type mcal struct {
	t     *mtenant
	cal   Calendar
	posts []uint64 // ords of its posts
}

type mpost struct {
	cal   *mcal
	entry int
	group string
	occ   int64
}

type touch struct {
	pb      *mpb
	at      int64
	seq     uint32
	step    uint16
	variant uint16
	replied bool
	conv    bool
}

type capCount struct {
	channel    string
	per        Period
	start, end int64
	n          int
}

type capSlot struct {
	customer scrm.CustomerID
	channel  string
	per      Period
	start    int64
}

const maxAttempts16 = 1<<16 - 1

// ref returns the reference of the k-th job of enrollment e.
func ref(e *menr, k int) uint64 { return e.ord<<8 | uint64(k) }

// enr returns the enrollment numbered ord.
func (s *memoryStore) enr(ord uint64) *menr { return &s.slabs[ord/enrSlab][ord%enrSlab] }

// deref returns the enrollment and the job of a reference.
func (s *memoryStore) deref(r uint64) (*menr, *mjob) {
	e := s.enr(r >> 8)
	return e, &e.jobs[r&0xff]
}

// newEnr allocates an enrollment with n jobs.
func (s *memoryStore) newEnr(n int) *menr {
	last := &s.slabs[len(s.slabs)-1]
	if len(*last) == cap(*last) {
		s.slabs = append(s.slabs, make([]menr, 0, enrSlab))
		last = &s.slabs[len(s.slabs)-1]
	}
	ord := uint64((len(s.slabs)-1)*enrSlab + len(*last))
	*last = (*last)[:len(*last)+1]
	e := &(*last)[len(*last)-1]
	e.ord = ord
	if len(s.jobSlab)+n > cap(s.jobSlab) {
		s.jobSlab = make([]mjob, 0, max(16384, n))
	}
	e.jobs = s.jobSlab[len(s.jobSlab) : len(s.jobSlab)+n : len(s.jobSlab)+n]
	s.jobSlab = s.jobSlab[:len(s.jobSlab)+n]
	return e
}

// tenantOf returns the tenant of an enrollment or a post.
func (s *memoryStore) tenantOf(e *menr) *mtenant {
	if e.pb != nil {
		return e.pb.t
	}
	return s.posts[e.ord].cal.t
}

// nanos returns t in Unix nanoseconds, 0 for the zero time. A time
// outside what int64 nanoseconds hold (before 1678 or after 2262) is
// clamped to the nearest end rather than wrapped, so that a far future
// never turns into a past due time; the Service refuses such times
// before they reach the store.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	switch sec := t.Unix(); {
	case sec >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	case sec <= math.MinInt64/int64(time.Second):
		return math.MinInt64
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (s *memoryStore) tenant(t scrm.TenantID, create bool) *mtenant {
	mt := s.tenants[t]
	if mt == nil && create {
		mt = &mtenant{
			id:        t,
			playbooks: make(map[string]*mpb),
			calendars: make(map[string]*mcal),
			tasks:     make(map[string]*StaffTask),
			byStaff:   make(map[string]map[string]*StaffTask),
			byCust:    make(map[scrm.CustomerID][]*StaffTask),
			templates: make(map[string]*Template),
			reassigns: make(map[string]reassignRecord),
			owners:    make(map[scrm.CustomerID]ownerMark),
			touches:   make(map[scrm.CustomerID][]touch),
			caps:      make(map[scrm.CustomerID][]capCount),
		}
		s.tenants[t] = mt
	}
	return mt
}

func begin(ctx context.Context, op string, tenant scrm.TenantID) error {
	if err := scrm.CheckContext(ctx, op); err != nil {
		return err
	}
	return scrm.CheckID(op, "Tenant", string(tenant))
}

// checkRevision refuses a conditional put (check set) when the tenant's
// revision is no longer rev.
func (t *mtenant) checkRevision(op string, check bool, rev int64) error {
	if check && t.revision != rev {
		return &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "Revision",
			Msg: fmt.Sprintf("the tenant's playbooks and templates changed (revision %d, read at %d)", t.revision, rev)}
	}
	return nil
}

func (s *memoryStore) Revision(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	if err := begin(ctx, "sop.MemoryStore.Revision", tenant); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenant(tenant, false); t != nil {
		return t.revision, nil
	}
	return 0, nil
}

// ---- playbooks ----

func (s *memoryStore) PutPlaybook(ctx context.Context, params PutPlaybookParams) (PutPlaybookResult, error) {
	const op = "sop.MemoryStore.PutPlaybook"
	p := params.Playbook
	if err := begin(ctx, op, p.Tenant); err != nil {
		return PutPlaybookResult{}, err
	}
	if err := scrm.CheckID(op, "ID", p.ID); err != nil {
		return PutPlaybookResult{}, err
	}
	c := clonePlaybook(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(p.Tenant, true)
	cur := t.playbooks[p.ID]
	var stored int64
	if cur != nil {
		stored = cur.pb.Version
	}
	if err := scrm.CheckVersion(op, "playbook", p.ID, p.Version, stored); err != nil {
		return PutPlaybookResult{}, err
	}
	if err := t.checkRevision(op, params.CheckRevision, params.Revision); err != nil {
		return PutPlaybookResult{}, err
	}
	if cur == nil {
		cur = &mpb{t: t, nameIdx: make(map[string]uint16), members: make(map[scrm.CustomerID]*menr), stats: make(map[statKey]*StepStats)}
		t.playbooks[p.ID] = cur
	}
	if len(cur.names)+len(c.Steps) > maxNames {
		return PutPlaybookResult{}, scrm.Errorf(scrm.ErrExhausted, op, "playbook %q has used more than %d step and variant IDs; store it under a new ID", p.ID, maxNames)
	}
	wasPaused := cur.pb.Paused && stored > 0
	c.Version = stored + 1
	c.UpdatedAt = params.At
	cur.pb = c
	cur.steps = make(map[string]struct{}, len(c.Steps))
	for _, st := range c.Steps {
		cur.steps[st.ID] = struct{}{}
		cur.intern(st.ID)
	}
	t.revision++
	res := PutPlaybookResult{Playbook: clonePlaybook(c)}
	if wasPaused && !c.Paused {
		res.Skipped = s.resume(cur, nanos(params.SkipDueBefore), nanos(params.At))
	}
	return res, nil
}

// maxNames bounds the step and variant IDs a playbook interns over its life.
const maxNames = 60000

func (p *mpb) intern(name string) uint16 {
	if i, ok := p.nameIdx[name]; ok {
		return i
	}
	i := uint16(len(p.names))
	p.names = append(p.names, name)
	p.nameIdx[name] = i
	return i
}

func (s *memoryStore) GetPlaybook(ctx context.Context, tenant scrm.TenantID, id string) (Playbook, error) {
	const op = "sop.MemoryStore.GetPlaybook"
	if err := begin(ctx, op, tenant); err != nil {
		return Playbook{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pb, err := s.playbook(op, tenant, id)
	if err != nil {
		return Playbook{}, err
	}
	return clonePlaybook(pb.pb), nil
}

func (s *memoryStore) playbook(op string, tenant scrm.TenantID, id string) (*mpb, error) {
	if t := s.tenant(tenant, false); t != nil {
		if pb := t.playbooks[id]; pb != nil {
			return pb, nil
		}
	}
	return nil, scrm.Errorf(scrm.ErrNotFound, op, "playbook %q", id)
}

func (s *memoryStore) ListPlaybooks(ctx context.Context, tenant scrm.TenantID) ([]Playbook, error) {
	if err := begin(ctx, "sop.MemoryStore.ListPlaybooks", tenant); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant, false)
	if t == nil {
		return nil, nil
	}
	out := make([]Playbook, 0, len(t.playbooks))
	for _, pb := range t.playbooks {
		out = append(out, clonePlaybook(pb.pb))
	}
	slices.SortFunc(out, func(a, b Playbook) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *memoryStore) SetPaused(ctx context.Context, params SetPausedParams) (PutPlaybookResult, error) {
	const op = "sop.MemoryStore.SetPaused"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return PutPlaybookResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pb, err := s.playbook(op, params.Tenant, params.Playbook)
	if err != nil {
		return PutPlaybookResult{}, err
	}
	var res PutPlaybookResult
	if pb.pb.Paused != params.Paused {
		pb.pb.Paused = params.Paused
		pb.pb.Version++
		pb.pb.UpdatedAt = params.At
		pb.t.revision++
		if !params.Paused {
			res.Skipped = s.resume(pb, nanos(params.SkipDueBefore), nanos(params.At))
		}
	}
	res.Playbook = clonePlaybook(pb.pb)
	return res, nil
}

// resume skips the playbook's pending jobs due before cut and makes the
// others claimable again. A job still leased with a lease expired at at
// (its worker died, and no Claim reached it during the pause) counts as
// pending at its due time: skipped when that is before cut.
func (s *memoryStore) resume(pb *mpb, cut, at int64) int {
	n := 0
	for _, r := range pb.parked {
		_, j := s.deref(r)
		if j.state != stParked {
			continue
		}
		if j.due < cut {
			s.finish(r, stSkipped, "paused", at)
			n++
			continue
		}
		j.state = stPending
		s.heap.push(j.due, r)
	}
	pb.parked = nil
	for _, e := range pb.members {
		for ; e != nil; e = s.prevOf(e) {
			if e.state != enrActive {
				continue
			}
			for k := range e.jobs {
				j := &e.jobs[k]
				switch j.state {
				case stPending:
					if j.due >= cut {
						continue
					}
				case stLeased:
					id := JobID(pb.t.id, pb.pb.ID, e.customer, int(e.seq), pb.names[j.step])
					l, ok := s.leases[id]
					if !ok || l.until > at || l.due >= cut {
						continue // a live lease, or due recently enough: Claim takes it
					}
					s.unlease(pb.t, id, l)
				default:
					continue
				}
				s.finish(ref(e, k), stSkipped, "paused", at)
				n++
			}
		}
	}
	return n
}

// prevOf returns the customer's enrollment before e, or nil.
func (s *memoryStore) prevOf(e *menr) *menr {
	if e.prev == 0 {
		return nil
	}
	return s.enr(e.prev)
}

// finish puts a job that holds no lease in a final state (its heap entry,
// if any, goes stale), counting it and completing its enrollment when it was
// the last.
func (s *memoryStore) finish(r uint64, state uint8, reason string, at int64) {
	e, j := s.deref(r)
	j.state = state
	if reason != "" {
		s.reasons[r] = reason
	}
	if e.pb == nil {
		return
	}
	st := e.pb.stat(j.step, j.variant)
	switch state {
	case stDone:
		st.Sent++
	case stSkipped:
		st.Skipped++
	case stFailed:
		st.Failed++
	case stCancelled:
		st.Cancelled++
	}
	if e.open > 0 {
		e.open--
		if e.open == 0 && e.state == enrActive {
			e.state = enrCompleted
			e.ended = at
		}
	}
}

func (p *mpb) stat(step, variant uint16) *StepStats {
	k := statKey{step, variant}
	st := p.stats[k]
	if st == nil {
		st = &StepStats{Step: p.names[step]}
		if variant > 0 {
			st.Variant = p.names[variant-1]
		}
		p.stats[k] = st
		p.order = append(p.order, k)
	}
	return st
}

// ---- calendars and policies ----

func (s *memoryStore) PutCalendar(ctx context.Context, params PutCalendarParams) (Calendar, error) {
	const op = "sop.MemoryStore.PutCalendar"
	c := params.Calendar
	if err := begin(ctx, op, c.Tenant); err != nil {
		return Calendar{}, err
	}
	if err := scrm.CheckID(op, "ID", c.ID); err != nil {
		return Calendar{}, err
	}
	for i, p := range params.Posts {
		if p.Entry < 0 || p.Entry >= len(c.Entries) {
			return Calendar{}, scrm.Invalid(op, "Posts", "post %d names entry %d of %d", i, p.Entry, len(c.Entries))
		}
	}
	cc := cloneCalendar(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(c.Tenant, true)
	cur := t.calendars[c.ID]
	var stored int64
	if cur != nil {
		stored = cur.cal.Version
	}
	if err := scrm.CheckVersion(op, "calendar", c.ID, c.Version, stored); err != nil {
		return Calendar{}, err
	}
	if cur == nil {
		cur = &mcal{t: t}
		t.calendars[c.ID] = cur
	}
	for _, ord := range cur.posts {
		e := s.enr(ord)
		j := &e.jobs[0]
		if j.state == stLeased {
			p := s.posts[ord]
			delete(s.leases, PostID(t.id, cur.cal.ID, p.entry, p.group, fromNanos(p.occ)))
		}
		j.state = stCancelled // its heap entry goes stale
		delete(s.posts, ord)
		delete(s.reasons, ref(e, 0))
	}
	cc.Version = stored + 1
	cc.UpdatedAt = params.At
	cur.cal = cc
	cur.posts = make([]uint64, 0, len(params.Posts))
	for _, p := range params.Posts {
		e := s.newEnr(1)
		due := nanos(p.Due)
		e.jobs[0] = mjob{due: due}
		s.posts[e.ord] = &mpost{cal: cur, entry: p.Entry, group: p.Group, occ: due}
		cur.posts = append(cur.posts, e.ord)
		s.heap.push(due, ref(e, 0))
	}
	t.revision++
	return cloneCalendar(cc), nil
}

func (s *memoryStore) GetCalendar(ctx context.Context, tenant scrm.TenantID, id string) (Calendar, error) {
	const op = "sop.MemoryStore.GetCalendar"
	if err := begin(ctx, op, tenant); err != nil {
		return Calendar{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenant(tenant, false); t != nil {
		if c := t.calendars[id]; c != nil {
			return cloneCalendar(c.cal), nil
		}
	}
	return Calendar{}, scrm.Errorf(scrm.ErrNotFound, op, "calendar %q", id)
}

func (s *memoryStore) PutPolicy(ctx context.Context, tenant scrm.TenantID, p Policy) (Policy, error) {
	if err := begin(ctx, "sop.MemoryStore.PutPolicy", tenant); err != nil {
		return Policy{}, err
	}
	c := clonePolicy(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant, true)
	c.Version = t.policy.Version + 1
	t.policy = c
	t.revision++
	return clonePolicy(c), nil
}

func (s *memoryStore) GetPolicy(ctx context.Context, tenant scrm.TenantID) (Policy, error) {
	if err := begin(ctx, "sop.MemoryStore.GetPolicy", tenant); err != nil {
		return Policy{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenant(tenant, false); t != nil {
		return clonePolicy(t.policy), nil
	}
	return Policy{}, nil
}

// ---- enrollments ----

func (s *memoryStore) Enroll(ctx context.Context, params EnrollParams) (EnrollResult, error) {
	const op = "sop.MemoryStore.Enroll"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return EnrollResult{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(params.Customer)); err != nil {
		return EnrollResult{}, err
	}
	if len(params.Jobs) == 0 {
		return EnrollResult{}, scrm.Invalid(op, "Jobs", "at least one job")
	}
	if len(params.Jobs) > MaxSteps {
		return EnrollResult{}, scrm.Invalid(op, "Jobs", "at most %d jobs", MaxSteps)
	}
	at := nanos(params.At)
	s.mu.Lock()
	defer s.mu.Unlock()
	pb, err := s.playbook(op, params.Tenant, params.Playbook)
	if err != nil {
		return EnrollResult{}, err
	}
	for i, js := range params.Jobs {
		if _, ok := pb.steps[js.Step]; !ok {
			return EnrollResult{}, scrm.Invalid(op, "Jobs", "job %d: playbook %q has no step %q", i, params.Playbook, js.Step)
		}
	}
	if len(pb.names)+len(params.Jobs) > maxNames+MaxSteps*MaxVariants {
		return EnrollResult{}, scrm.Errorf(scrm.ErrExhausted, op, "playbook %q has used too many variant IDs; store it under a new ID", params.Playbook)
	}
	last := pb.members[params.Customer]
	if params.IdempotencyKey != "" {
		for e := last; e != nil; e = s.prevOf(e) {
			if e.key == params.IdempotencyKey {
				if e.defaulted != params.AnchorDefaulted || (!e.defaulted && e.anchor != nanos(params.Anchor)) {
					return EnrollResult{}, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
						Msg: "key " + params.IdempotencyKey + " was already used with another anchor"}
				}
				return EnrollResult{Enrollment: s.enrollment(pb, e), Replayed: true}, nil
			}
		}
	}
	if pb.pb.Version != params.Version {
		return EnrollResult{}, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "Version",
			Msg: fmt.Sprintf("playbook %q: jobs computed from version %d, stored %d", params.Playbook, params.Version, pb.pb.Version)}
	}
	if last != nil {
		r := pb.pb.Reentry
		cool := int64(r.Cooldown)
		switch r.Mode {
		case AfterExit:
			if last.state == enrActive {
				return EnrollResult{}, scrm.Errorf(scrm.ErrConflict, op, "customer %s is enrolled in playbook %q (re-entry after exit)", params.Customer, params.Playbook)
			}
			if at < last.ended+cool {
				return EnrollResult{}, scrm.Errorf(scrm.ErrConflict, op, "customer %s left playbook %q less than %s ago", params.Customer, params.Playbook, r.Cooldown)
			}
		case Always:
			if at < last.enrolled+cool {
				return EnrollResult{}, scrm.Errorf(scrm.ErrConflict, op, "customer %s entered playbook %q less than %s ago", params.Customer, params.Playbook, r.Cooldown)
			}
		default:
			return EnrollResult{}, scrm.Errorf(scrm.ErrConflict, op, "customer %s was already enrolled in playbook %q (re-entry once)", params.Customer, params.Playbook)
		}
	}
	e := s.newEnr(len(params.Jobs))
	e.pb, e.customer, e.key = pb, params.Customer, params.IdempotencyKey
	e.anchor, e.enrolled, e.open, e.seq = nanos(params.Anchor), at, uint16(len(params.Jobs)), 1
	e.defaulted = params.AnchorDefaulted
	if last != nil {
		e.prev, e.seq = last.ord, last.seq+1
	}
	for k, js := range params.Jobs {
		j := &e.jobs[k]
		*j = mjob{due: nanos(js.Due), step: pb.nameIdx[js.Step]}
		if js.Variant != "" {
			j.variant = pb.intern(js.Variant) + 1
		}
		pb.stat(j.step, j.variant).Enrolled++
		s.heap.push(j.due, ref(e, k))
	}
	pb.members[params.Customer] = e
	return EnrollResult{Enrollment: s.enrollment(pb, e)}, nil
}

func (s *memoryStore) enrollment(p *mpb, e *menr) Enrollment {
	return Enrollment{
		Tenant: p.t.id, Playbook: p.pb.ID, Customer: e.customer, Seq: int(e.seq),
		Anchor: fromNanos(e.anchor), EnrolledAt: fromNanos(e.enrolled), State: enrStateNames[e.state],
		EndedAt: fromNanos(e.ended), Reason: s.endReasons[e.ord], IdempotencyKey: e.key,
	}
}

func (s *memoryStore) Enrollments(ctx context.Context, params ListEnrollmentsParams) ([]Enrollment, error) {
	const op = "sop.MemoryStore.Enrollments"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return nil, err
	}
	if err := scrm.CheckID(op, "Customer", string(params.Customer)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Enrollment
	for _, pb := range s.playbooksOf(params.Tenant, params.Playbook) {
		start := len(out)
		for e := pb.members[params.Customer]; e != nil; e = s.prevOf(e) {
			if !params.ActiveOnly || e.state == enrActive {
				out = append(out, s.enrollment(pb, e))
			}
		}
		slices.Reverse(out[start:])
	}
	return out, nil
}

// playbooksOf returns the tenant's playbook id, or all of them (in ID order)
// when id is empty.
func (s *memoryStore) playbooksOf(tenant scrm.TenantID, id string) []*mpb {
	t := s.tenant(tenant, false)
	if t == nil {
		return nil
	}
	if id != "" {
		if pb := t.playbooks[id]; pb != nil {
			return []*mpb{pb}
		}
		return nil
	}
	out := make([]*mpb, 0, len(t.playbooks))
	for _, pb := range t.playbooks {
		out = append(out, pb)
	}
	slices.SortFunc(out, func(a, b *mpb) int { return cmp.Compare(a.pb.ID, b.pb.ID) })
	return out
}

func (s *memoryStore) EndEnrollments(ctx context.Context, params EndEnrollmentsParams) ([]Enrollment, error) {
	const op = "sop.MemoryStore.EndEnrollments"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return nil, err
	}
	if err := scrm.CheckID(op, "Customer", string(params.Customer)); err != nil {
		return nil, err
	}
	at := nanos(params.At)
	s.mu.Lock()
	defer s.mu.Unlock()
	pb, err := s.playbook(op, params.Tenant, params.Playbook)
	if err != nil {
		return nil, err
	}
	var out []Enrollment
	for e := pb.members[params.Customer]; e != nil; e = s.prevOf(e) {
		if e.state != enrActive || (params.Seq != 0 && int(e.seq) != params.Seq) {
			continue
		}
		for k := range e.jobs {
			switch e.jobs[k].state {
			case stLeased:
				id := JobID(pb.t.id, pb.pb.ID, e.customer, int(e.seq), pb.names[e.jobs[k].step])
				if l, ok := s.leases[id]; ok {
					if l.until > at {
						// Its worker may be sending it: let Complete
						// record what happened (see Store.EndEnrollments).
						l.cancel = true
						s.leases[id] = l
						continue
					}
					s.unlease(pb.t, id, l)
				}
			case stPending, stParked:
			default:
				continue
			}
			s.finish(ref(e, k), stCancelled, "", at)
		}
		e.state, e.ended, e.open = enrExited, at, 0
		if params.Reason != "" {
			s.endReasons[e.ord] = params.Reason
		}
		out = append(out, s.enrollment(pb, e))
	}
	slices.Reverse(out)
	return out, nil
}

func (s *memoryStore) Jobs(ctx context.Context, params ListJobsParams) ([]Job, error) {
	const op = "sop.MemoryStore.Jobs"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return nil, err
	}
	if params.Calendar == "" {
		if err := scrm.CheckID(op, "Customer", string(params.Customer)); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Job
	if params.Calendar != "" {
		if t := s.tenant(params.Tenant, false); t != nil {
			if c := t.calendars[params.Calendar]; c != nil {
				for _, ord := range c.posts {
					out = append(out, s.job(t, ref(s.enr(ord), 0), ""))
				}
			}
		}
	} else {
		for _, pb := range s.playbooksOf(params.Tenant, params.Playbook) {
			for e := pb.members[params.Customer]; e != nil; e = s.prevOf(e) {
				for k := range e.jobs {
					out = append(out, s.job(pb.t, ref(e, k), ""))
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Job) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// job describes the job r as a Job; id is its ID, or "" to compute it.
func (s *memoryStore) job(t *mtenant, r uint64, id string) Job {
	e, j := s.deref(r)
	out := Job{Tenant: t.id, State: stateNames[j.state], Attempts: int(j.attempts), Due: fromNanos(j.due)}
	if pb := e.pb; pb != nil {
		out.Playbook, out.PlaybookVersion = pb.pb.ID, pb.pb.Version
		out.Customer, out.Seq, out.Step = e.customer, int(e.seq), pb.names[j.step]
		if j.variant > 0 {
			out.Variant = pb.names[j.variant-1]
		}
		if id == "" {
			id = JobID(t.id, pb.pb.ID, e.customer, int(e.seq), out.Step)
		}
		if j.state == stCancelled {
			out.Reason = s.endReasons[e.ord]
		}
	} else {
		p := s.posts[e.ord]
		out.Calendar, out.Entry, out.Group = p.cal.cal.ID, p.entry, p.group
		out.Scheduled = fromNanos(p.occ)
		if id == "" {
			id = PostID(t.id, p.cal.cal.ID, p.entry, p.group, out.Scheduled)
		}
	}
	out.ID = id
	if r, ok := s.reasons[r]; ok {
		out.Reason = r
	}
	if j.state == stLeased {
		if l, ok := s.leases[id]; ok {
			out.Worker, out.LeaseUntil, out.Due = l.worker, fromNanos(l.until), fromNanos(l.due)
		}
	}
	return out
}

// ---- scheduling ----

func (s *memoryStore) Claim(ctx context.Context, params ClaimParams) ([]Job, error) {
	const op = "sop.MemoryStore.Claim"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return nil, err
	}
	if err := scrm.CheckID(op, "Worker", params.Worker); err != nil {
		return nil, err
	}
	if params.Lease <= 0 {
		return nil, scrm.Invalid(op, "Lease", "must be positive, got %s", params.Lease)
	}
	limit := scrm.PageLimit(params.Limit, 100, 10000)
	at := nanos(params.At)
	until := at + int64(params.Lease)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Job
	for len(out) < limit && len(s.heap) > 0 && s.heap[0].due <= at {
		top := s.heap.pop()
		e, j := s.deref(top.ref)
		// An entry is current only if its job is pending or leased with
		// exactly this due time (a lease's due time is its expiry); the
		// others were left behind by completions, cancellations, leases
		// and reschedules.
		if (j.state != stPending && j.state != stLeased) || j.due != top.due {
			continue
		}
		t, id := s.ident(top.ref)
		l, leased := s.leases[id]
		if leased && l.cancel {
			// Its enrollment ended during a lease that expired without
			// Complete: nothing reported it sent.
			s.unlease(t, id, l)
			s.finish(top.ref, stCancelled, "", at)
			continue
		}
		if pb := e.pb; pb != nil && pb.pb.Paused {
			if leased {
				s.unlease(t, id, l)
			}
			j.state = stParked
			pb.parked = append(pb.parked, top.ref)
			continue
		}
		if !leased {
			l = mlease{ref: top.ref, due: j.due}
		}
		l.worker, l.until = params.Worker, until
		s.leases[id] = l
		j.state, j.due = stLeased, until
		if j.attempts < maxAttempts16 {
			j.attempts++
		}
		s.heap.push(until, top.ref)
		if out == nil {
			out = make([]Job, 0, min(limit, len(s.heap)))
		}
		out = append(out, s.job(t, top.ref, id))
	}
	return out, nil
}

// ident returns the tenant and the ID of a job.
func (s *memoryStore) ident(r uint64) (*mtenant, string) {
	e, j := s.deref(r)
	if pb := e.pb; pb != nil {
		return pb.t, JobID(pb.t.id, pb.pb.ID, e.customer, int(e.seq), pb.names[j.step])
	}
	p := s.posts[e.ord]
	return p.cal.t, PostID(p.cal.t.id, p.cal.cal.ID, p.entry, p.group, fromNanos(p.occ))
}

// leased returns the lease of job id if worker holds it at at.
func (s *memoryStore) leased(op string, tenant scrm.TenantID, id, worker string, at int64) (mlease, *mtenant, error) {
	l, ok := s.leases[id]
	var t *mtenant
	if ok {
		t = s.tenantOf(s.enr(l.ref >> 8))
	}
	switch {
	case !ok || t.id != tenant:
		return mlease{}, nil, scrm.Errorf(scrm.ErrConflict, op, "job %s is not leased (finished, cancelled or never claimed)", id)
	case l.worker != worker:
		return mlease{}, nil, scrm.Errorf(scrm.ErrConflict, op, "job %s is leased to another worker", id)
	case at >= l.until:
		return mlease{}, nil, scrm.Errorf(scrm.ErrConflict, op, "job %s: the lease of %s expired at %s", id, worker, fromNanos(l.until).UTC().Format(time.RFC3339))
	}
	return l, t, nil
}

func (s *memoryStore) Admit(ctx context.Context, params AdmitParams) (AdmitResult, error) {
	const op = "sop.MemoryStore.Admit"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return AdmitResult{}, err
	}
	at := nanos(params.At)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, t, err := s.leased(op, params.Tenant, params.Job, params.Worker, at)
	if err != nil {
		return AdmitResult{}, err
	}
	want := make([]capSlot, len(params.Caps))
	for i, c := range params.Caps {
		want[i] = capSlot{customer: params.Customer, channel: params.Channel, per: c.Per, start: nanos(c.Start)}
	}
	if held, ok := s.slots[params.Job]; ok {
		if slices.Equal(held, want) {
			return AdmitResult{Admitted: true}, nil
		}
		s.release(t, params.Job)
	}
	counts := t.caps[params.Customer]
	// Forget the counters of periods that have ended.
	counts = slices.DeleteFunc(counts, func(c capCount) bool { return c.end <= at })
	idx := make([]int, len(params.Caps))
	for i, c := range params.Caps {
		k := slices.IndexFunc(counts, func(x capCount) bool {
			return x.channel == params.Channel && x.per == c.Per && x.start == want[i].start
		})
		if k < 0 {
			counts = append(counts, capCount{channel: params.Channel, per: c.Per, start: want[i].start, end: nanos(c.End)})
			k = len(counts) - 1
		}
		if counts[k].n >= c.Max {
			t.caps[params.Customer] = counts
			return AdmitResult{Full: i}, nil
		}
		idx[i] = k
	}
	for _, k := range idx {
		counts[k].n++
	}
	t.caps[params.Customer] = counts
	if len(want) > 0 {
		s.slots[params.Job] = want
	}
	return AdmitResult{Admitted: true}, nil
}

// release gives back the cap slots job id holds.
func (s *memoryStore) release(t *mtenant, id string) {
	held, ok := s.slots[id]
	if !ok {
		return
	}
	delete(s.slots, id)
	for _, sl := range held {
		counts := t.caps[sl.customer]
		for k := range counts {
			c := &counts[k]
			if c.channel == sl.channel && c.per == sl.per && c.start == sl.start && c.n > 0 {
				c.n--
				break
			}
		}
	}
}

func (s *memoryStore) Start(ctx context.Context, params StartParams) (StartResult, error) {
	const op = "sop.MemoryStore.Start"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return StartResult{}, err
	}
	at := nanos(params.At)
	s.mu.Lock()
	defer s.mu.Unlock()
	l, t, err := s.leased(op, params.Tenant, params.Job, params.Worker, at)
	if err != nil {
		return StartResult{}, err
	}
	if l.cancel {
		// Its enrollment ended before the job started: it must not run.
		s.unlease(t, params.Job, l)
		delete(s.reasons, l.ref)
		s.finish(l.ref, stCancelled, "", at)
		return StartResult{State: JobCancelled}, nil
	}
	e, j := s.deref(l.ref)
	pb := e.pb
	if pb == nil {
		return StartResult{State: JobLeased}, nil
	}
	if pb.pb.Paused {
		// Give it back unrun, held like the jobs Claim parks (its heap
		// entry, the lease expiry, goes stale).
		s.unlease(t, params.Job, l)
		j.state = stParked
		if j.attempts > 0 {
			j.attempts--
		}
		pb.parked = append(pb.parked, l.ref)
		return StartResult{State: JobPending, PlaybookVersion: pb.pb.Version}, nil
	}
	return StartResult{State: JobLeased, PlaybookVersion: pb.pb.Version}, nil
}

func (s *memoryStore) Complete(ctx context.Context, params CompleteParams) (Job, error) {
	const op = "sop.MemoryStore.Complete"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return Job{}, err
	}
	var state uint8
	switch params.State {
	case JobDone:
		state = stDone
	case JobSkipped:
		state = stSkipped
	case JobFailed:
		state = stFailed
	default:
		return Job{}, scrm.Invalid(op, "State", "must be done, skipped or failed, got %q", params.State)
	}
	var task StaffTask
	if params.Task != nil {
		task = cloneTask(*params.Task)
		if err := scrm.CheckID(op, "Task.ID", task.ID); err != nil {
			return Job{}, err
		}
		if err := scrm.CheckID(op, "Task.Staff", task.Staff); err != nil {
			return Job{}, err
		}
	}
	at := nanos(params.At)
	s.mu.Lock()
	defer s.mu.Unlock()
	l, t, err := s.leased(op, params.Tenant, params.Job, params.Worker, at)
	if err != nil {
		return Job{}, err
	}
	e, j := s.deref(l.ref)
	reason := params.Reason
	if l.cancel && (state != stDone || params.Task != nil) {
		// The enrollment ended while the job ran and its action was not
		// done (a staff task would only be created now): cancel it.
		state, reason = stCancelled, ""
	}
	delete(s.leases, params.Job)
	if state == stDone {
		delete(s.slots, params.Job) // the message counts against the caps
	} else {
		s.release(t, params.Job)
	}
	delete(s.reasons, l.ref)
	if e.pb == nil && !params.Next.IsZero() {
		// A calendar post: count this occurrence, schedule the next.
		p := s.posts[e.ord]
		p.occ = nanos(params.Next)
		j.due, j.state, j.attempts = p.occ, stPending, 0
		s.heap.push(j.due, l.ref)
		return s.job(t, l.ref, ""), nil
	}
	j.due = l.due
	s.finish(l.ref, state, reason, at)
	if e.pb != nil {
		if params.Task != nil && state == stDone {
			if _, dup := t.tasks[task.ID]; !dup {
				task.Tenant = t.id
				task.State = TaskOpen
				tp := &task
				t.tasks[task.ID] = tp
				t.indexTask(tp)
				t.byCust[tp.Customer] = append(t.byCust[tp.Customer], tp)
			}
		}
		if params.Touch && state == stDone {
			ts := t.touches[e.customer]
			if keep := int64(params.TouchKeep); keep > 0 {
				ts = slices.DeleteFunc(ts, func(x touch) bool { return x.at < at-keep })
			}
			t.touches[e.customer] = append(ts, touch{pb: e.pb, at: at, seq: e.seq, step: j.step, variant: j.variant})
		}
	}
	return s.job(t, l.ref, params.Job), nil
}

func (s *memoryStore) Reschedule(ctx context.Context, params RescheduleParams) (Job, error) {
	const op = "sop.MemoryStore.Reschedule"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return Job{}, err
	}
	at := nanos(params.At)
	s.mu.Lock()
	defer s.mu.Unlock()
	l, t, err := s.leased(op, params.Tenant, params.Job, params.Worker, at)
	if err != nil {
		return Job{}, err
	}
	e, j := s.deref(l.ref)
	if l.cancel {
		// The enrollment ended while the job ran: nothing to run later.
		s.unlease(t, params.Job, l)
		delete(s.reasons, l.ref)
		s.finish(l.ref, stCancelled, "", at)
		return s.job(t, l.ref, params.Job), nil
	}
	delete(s.leases, params.Job)
	s.release(t, params.Job)
	j.state = stPending
	j.due = nanos(params.Due)
	if !params.Retry {
		if j.attempts > 0 {
			j.attempts--
		}
		if e.pb != nil {
			e.pb.stat(j.step, j.variant).Deferred++
		}
	}
	if params.Reason != "" {
		s.reasons[l.ref] = params.Reason
	}
	s.heap.push(j.due, l.ref)
	return s.job(t, l.ref, params.Job), nil
}

// ---- staff tasks ----

func (s *memoryStore) Tasks(ctx context.Context, params ListTasksParams) ([]StaffTask, error) {
	const op = "sop.MemoryStore.Tasks"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return nil, err
	}
	if err := scrm.CheckID(op, "Staff", params.Staff); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(params.Tenant, false)
	if t == nil {
		return nil, nil
	}
	var out []StaffTask
	for _, tk := range t.byStaff[params.Staff] {
		if params.State == "" || tk.State == params.State {
			out = append(out, cloneTask(*tk))
		}
	}
	slices.SortStableFunc(out, func(a, b StaffTask) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (s *memoryStore) CompleteTask(ctx context.Context, params CompleteTaskParams) (StaffTask, error) {
	const op = "sop.MemoryStore.CompleteTask"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return StaffTask{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(params.Tenant, false)
	var tk *StaffTask
	if t != nil {
		tk = t.tasks[params.ID]
	}
	if tk == nil {
		return StaffTask{}, scrm.Errorf(scrm.ErrNotFound, op, "staff task %q", params.ID)
	}
	if tk.State == TaskDone {
		return cloneTask(*tk), nil
	}
	tk.State, tk.DoneAt = TaskDone, params.At
	tk.OnTime = !params.At.After(tk.DueBy)
	if pb := t.playbooks[tk.Playbook]; pb != nil {
		if step, ok := pb.nameIdx[tk.Step]; ok {
			var v uint16
			if tk.Variant != "" {
				if vi, ok := pb.nameIdx[tk.Variant]; ok {
					v = vi + 1
				}
			}
			st := pb.stat(step, v)
			st.TasksDone++
			if !tk.OnTime {
				st.TasksLate++
			}
		}
	}
	return cloneTask(*tk), nil
}

// ---- stats ----

func (s *memoryStore) Attribute(ctx context.Context, params AttributeParams) (int, error) {
	const op = "sop.MemoryStore.Attribute"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return 0, err
	}
	if err := scrm.CheckID(op, "Customer", string(params.Customer)); err != nil {
		return 0, err
	}
	if params.Kind != Replied && params.Kind != Converted {
		return 0, scrm.Invalid(op, "Kind", "must be replied or converted, got %q", params.Kind)
	}
	at, from := nanos(params.At), nanos(params.At.Add(-params.Within))
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(params.Tenant, false)
	if t == nil {
		return 0, nil
	}
	ts := t.touches[params.Customer]
	only := -1
	if params.MessageID != "" {
		for i := range ts {
			x := &ts[i]
			if JobID(t.id, x.pb.pb.ID, params.Customer, int(x.seq), x.pb.names[x.step]) == params.MessageID {
				only = i
				break
			}
		}
		if only < 0 {
			return 0, nil // a message forgotten or never sent: credit no other
		}
	}
	n := 0
	for i := range ts {
		x := &ts[i]
		if (only >= 0 && i != only) || x.at < from || x.at > at {
			continue
		}
		st := x.pb.stat(x.step, x.variant)
		if params.Kind == Replied {
			if x.replied {
				continue
			}
			x.replied = true
			st.Replied++
			if params.ReplyType != "" {
				if st.ReplyTypes == nil {
					st.ReplyTypes = make(map[string]int64)
				}
				st.ReplyTypes[params.ReplyType]++
			}
		} else {
			if x.conv {
				continue
			}
			x.conv = true
			st.Converted++
		}
		n++
	}
	return n, nil
}

func (s *memoryStore) Stats(ctx context.Context, tenant scrm.TenantID, playbook string) ([]StepStats, error) {
	const op = "sop.MemoryStore.Stats"
	if err := begin(ctx, op, tenant); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pb, err := s.playbook(op, tenant, playbook)
	if err != nil {
		return nil, err
	}
	out := make([]StepStats, len(pb.order))
	for i, k := range pb.order {
		st := *pb.stats[k]
		if st.ReplyTypes != nil {
			rt := make(map[string]int64, len(st.ReplyTypes))
			for k, v := range st.ReplyTypes {
				rt[k] = v
			}
			st.ReplyTypes = rt
		}
		out[i] = st
	}
	return out, nil
}
