package sop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// Options configures a Service. A nil *Options, and every zero field, means
// the default documented on the field.
type Options struct {
	scrm.Options

	// Channel delivers Message actions and calendar posts. Playbooks with
	// Message steps, and calendars, are refused without one.
	Channel scrm.Channel
	// Rewarder grants Reward actions. Playbooks with Reward steps are
	// refused without one.
	Rewarder scrm.Rewarder
	// Tagger applies and removes tags for Tag and Untag actions. Playbooks
	// with such steps are refused without one.
	Tagger Tagger
	// Channels are channel names the host's Channel delivers besides the
	// scrm.Channel* constants; a channel in a step, an entry, a cap or a
	// rate limit must be one of these or of those.
	Channels []string
	// Schema declares attribute types for Trigger.When and Exit (see
	// rule.CompileOptions.Schema).
	Schema map[string]rule.Type

	// Lease is how long a worker holds the jobs it claims; default 5
	// minutes. It must exceed the time a RunDue batch takes: a job whose
	// lease runs out is run again (with the same ID) by the next worker.
	Lease time.Duration
	// BatchSize is RunDue's Limit when the request gives none; default 100.
	BatchSize int
	// MaxAttempts bounds the tries of a job whose action fails with a
	// retryable error (scrm.ErrUnavailable, or an error matching no
	// sentinel); default 5. The retry after try n waits RetryBase·2^(n-1),
	// at most RetryMax (defaults 1 minute and 1 hour).
	MaxAttempts int
	RetryBase   time.Duration
	RetryMax    time.Duration
	// Grace is how late a job may still be sent when its playbook resumes
	// (jobs due earlier are skipped), and how late a calendar post may
	// still go out; default 1 hour.
	Grace time.Duration
	// ReplyWindow and ConversionWindow are the attribution windows of
	// Stats; defaults DefaultReplyWindow and DefaultConversionWindow.
	ReplyWindow      time.Duration
	ConversionWindow time.Duration
	// SweepPage is how many profiles Sweep reads per ProfileStore.List
	// call; default 500.
	SweepPage int
	// ContentLimits bound the rendered text of content templates per
	// channel; a channel named here replaces its entry in
	// DefaultContentLimits (SMS 3 segments, WeCom 4000 bytes), so
	// {scrm.ChannelSMS: {Segments: 5}} allows five-segment SMS and
	// {scrm.ChannelSMS: {}} lifts the SMS limit.
	ContentLimits map[string]ContentLimit
}

// Tagger applies and removes tags for Tag and Untag actions. Both methods
// must be idempotent by IdempotencyKey: a job run again after a lost lease
// calls them again with the same key. The host adapts its tag service to
// it; for the tagging package, field for field:
//
//	type tagger struct{ tags *tagging.Service }
//
//	func (t tagger) Apply(ctx context.Context, r sop.TagRequest) error {
//		_, err := t.tags.Apply(ctx, tagging.ApplyRequest{Tenant: r.Tenant, Customer: r.Customer,
//			Tag: r.Tag, Source: r.Source, Reason: r.Reason, IdempotencyKey: r.IdempotencyKey})
//		return err
//	}
//
// and Remove likewise with tagging.RemoveRequest.
type Tagger interface {
	Apply(ctx context.Context, req TagRequest) error
	Remove(ctx context.Context, req TagRequest) error
}

// TagRequest is one tag change asked of a Tagger.
type TagRequest struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	Tag      string
	// Source names the step: "sop:<playbook>:<step>".
	Source string
	// Reason is a note for the tag history: "SOP <playbook>, step <step>".
	Reason string
	// IdempotencyKey is the job ID (see JobID).
	IdempotencyKey string
}

// Service runs SOP playbooks: it enrolls customers on triggers, schedules
// each step as a job in the Store, and delivers due jobs through RunDue
// under the tenant's delivery Policy. It implements scrm.Handler: put it in
// the Dispatcher after the *scrm.Profiles, so that triggers and exits read
// a profile that already includes the event.
//
// A Service is safe for concurrent use. It caches each tenant's compiled
// playbooks and policy and checks the Store's Revision on every call, so
// changes made through another Service sharing the Store are seen at once.
// It starts no goroutines: the host calls RunDue (or Run) and Sweep.
type Service struct {
	store    Store
	profiles *scrm.Profiles
	opts     Options
	channels map[string]bool

	mu     sync.Mutex
	cache  map[scrm.TenantID]*tenantCache
	limits map[limitKey]*limiter

	content map[string]ContentLimit // by channel
	bufs    sync.Pool               // *bytes.Buffer for rendering
	maps    sync.Pool               // map[string]any: render data
}

var _ scrm.Handler = (*Service)(nil)

// New returns a Service over store (nil means NewMemoryStore()) reading
// customers' profiles from profiles (required: New panics without it, as
// every trigger and exit would fail). opts may be nil.
func New(store Store, profiles scrm.ProfileStore, opts *Options) *Service {
	if profiles == nil {
		panic("sop.New: a scrm.ProfileStore is required")
	}
	if store == nil {
		store = NewMemoryStore()
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Options = o.Options.WithDefaults()
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Minute
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Hour
	}
	if o.Grace <= 0 {
		o.Grace = time.Hour
	}
	if o.ReplyWindow <= 0 {
		o.ReplyWindow = DefaultReplyWindow
	}
	if o.ConversionWindow <= 0 {
		o.ConversionWindow = DefaultConversionWindow
	}
	if o.SweepPage <= 0 {
		o.SweepPage = 500
	}
	channels := make(map[string]bool)
	for _, c := range []string{scrm.ChannelWeCom, scrm.ChannelWeComGroup, scrm.ChannelWeChatTemplate,
		scrm.ChannelMiniProgram, scrm.ChannelSMS, scrm.ChannelEmail, scrm.ChannelPush} {
		channels[c] = true
	}
	for _, c := range o.Channels {
		channels[c] = true
	}
	o.Channels = slices.Clone(o.Channels)
	content := DefaultContentLimits()
	for ch, l := range o.ContentLimits {
		content[ch] = ContentLimit{Runes: max(l.Runes, 0), Bytes: max(l.Bytes, 0), Segments: max(l.Segments, 0)}
	}
	o.ContentLimits = maps.Clone(o.ContentLimits)
	return &Service{
		store:    store,
		profiles: scrm.NewProfiles(profiles, &o.Options),
		opts:     o,
		channels: channels,
		cache:    make(map[scrm.TenantID]*tenantCache),
		limits:   make(map[limitKey]*limiter),
		content:  content,
		bufs:     sync.Pool{New: func() any { return new(bytes.Buffer) }},
		maps:     sync.Pool{New: func() any { return make(map[string]any, 8) }},
	}
}

// Store returns the Store the Service uses.
func (s *Service) Store() Store { return s.store }

func (s *Service) now() time.Time { return s.opts.Clock.Now() }

// PutPlaybook validates p and stores it: a new playbook when p.Version is
// 0, an update of the version read otherwise. It returns the playbook as
// stored, with its new Version. Changing a playbook changes what its pending
// jobs do (they run the step with their step ID as it is when they run,
// and are skipped if it is gone; a job whose variant the step no longer
// has runs the step's Action, or the customer's arm now) but not when they
// run: due times are fixed at enrollment. Storing a paused playbook unpaused resumes it, with
// Resume's grace. The check against the stored templates and the write are
// one atomic step in the Store (a template stored meanwhile, through any
// Service, makes the Service read and check again), so a playbook and a
// template saved at the same moment cannot both be stored when they
// disagree on the channel. Errors: ErrInvalid naming the field, and nothing
// written; ErrConflict on a version mismatch; ErrUnavailable when the
// tenant's playbooks and templates kept changing under the check (try
// again).
func (s *Service) PutPlaybook(ctx context.Context, p Playbook) (Playbook, error) {
	op := fmt.Sprintf("sop playbook %q", p.ID)
	if _, err := s.compile(op, p); err != nil {
		return Playbook{}, err
	}
	for try := 1; ; try++ {
		tc, err := s.tenant(ctx, p.Tenant)
		if err != nil {
			return Playbook{}, scrm.Wrap(nil, op, err)
		}
		if err := checkTemplateRefs(tc, op, p); err != nil {
			return Playbook{}, err
		}
		now := s.now()
		res, err := s.store.PutPlaybook(ctx, PutPlaybookParams{Playbook: p, At: now, SkipDueBefore: now.Add(-s.opts.Grace),
			CheckRevision: true, Revision: tc.revision})
		if conflictOn(err, "Revision") {
			if try < maxRevisionTries {
				continue
			}
			// Not wrapping the conflict: callers read ErrConflict as a
			// version mismatch.
			return Playbook{}, revisionUnavailable(op, err)
		}
		if err != nil {
			return Playbook{}, scrm.Wrap(nil, op, err)
		}
		s.forget(p.Tenant)
		return res.Playbook, nil
	}
}

// maxRevisionTries bounds how often a Service reads and checks again when
// a conditional write finds that the tenant's definitions (or a playbook's
// version) moved since it read them.
const maxRevisionTries = 8

// revisionUnavailable is the error of a write whose conditional puts kept
// finding the tenant's definitions changed: ErrUnavailable, with the last
// conflict in the message only (an ErrConflict in its chain would read as
// a version mismatch).
func revisionUnavailable(op string, err error) error {
	return scrm.Errorf(scrm.ErrUnavailable, op, "the tenant's playbooks and templates changed %d times while checking; try again (%v)", maxRevisionTries, err)
}

// conflictOn reports whether err is, or wraps, an ErrConflict naming field.
func conflictOn(err error, field string) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if se, ok := e.(*scrm.Error); ok && se.Code == scrm.ErrConflict && se.Field == field {
			return true
		}
	}
	return false
}

// Playbook returns a stored playbook. Errors: ErrNotFound.
func (s *Service) Playbook(ctx context.Context, tenant scrm.TenantID, id string) (Playbook, error) {
	return s.store.GetPlaybook(ctx, tenant, id)
}

// Playbooks returns the tenant's playbooks in ID order.
func (s *Service) Playbooks(ctx context.Context, tenant scrm.TenantID) ([]Playbook, error) {
	return s.store.ListPlaybooks(ctx, tenant)
}

// SetPolicy validates and stores the tenant's delivery policy, replacing
// the previous one. It applies to every message from the next RunDue on,
// including those already scheduled. Errors: ErrInvalid naming the field.
func (s *Service) SetPolicy(ctx context.Context, tenant scrm.TenantID, p Policy) (Policy, error) {
	const op = "sop.SetPolicy"
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return Policy{}, err
	}
	if _, err := s.compilePolicy(op, p); err != nil {
		return Policy{}, err
	}
	out, err := s.store.PutPolicy(ctx, tenant, p)
	if err != nil {
		return Policy{}, scrm.Wrap(nil, op, err)
	}
	s.forget(tenant)
	return out, nil
}

// Policy returns the tenant's delivery policy (the zero Policy when none
// was set).
func (s *Service) Policy(ctx context.Context, tenant scrm.TenantID) (Policy, error) {
	return s.store.GetPolicy(ctx, tenant)
}

// tenantCache holds a tenant's compiled playbooks, policy and calendars at
// one Store revision.
type tenantCache struct {
	revision  int64
	loc       *time.Location
	playbooks map[string]*compiledPlaybook
	byEvent   map[string][]*compiledPlaybook
	byTag     map[string][]*compiledPlaybook
	bySegment map[string][]*compiledPlaybook
	inactive  []*compiledPlaybook
	exits     []*compiledPlaybook
	policy    *compiledPolicy
	templates map[string]*compiledTemplate

	mu        sync.Mutex
	calendars map[string]*Calendar
}

func (s *Service) forget(tenant scrm.TenantID) {
	s.mu.Lock()
	delete(s.cache, tenant)
	s.mu.Unlock()
}

// tenant returns the tenant's cache, reloading it when the Store's revision
// moved.
func (s *Service) tenant(ctx context.Context, tenant scrm.TenantID) (*tenantCache, error) {
	rev, err := s.store.Revision(ctx, tenant)
	if err != nil {
		return nil, err
	}
	// The tenant's zone is read on every use: a merchant who changes it is
	// served in the new zone from the next call (quiet hours, due times).
	loc := s.opts.LocationOf(tenant)
	s.mu.Lock()
	tc := s.cache[tenant]
	s.mu.Unlock()
	if tc != nil && tc.revision == rev && tc.loc == loc {
		return tc, nil
	}
	return s.load(ctx, tenant, rev, loc)
}

func (s *Service) load(ctx context.Context, tenant scrm.TenantID, rev int64, loc *time.Location) (*tenantCache, error) {
	const op = "sop.Service"
	pbs, err := s.store.ListPlaybooks(ctx, tenant)
	if err != nil {
		return nil, scrm.Wrap(nil, op, err)
	}
	pol, err := s.store.GetPolicy(ctx, tenant)
	if err != nil {
		return nil, scrm.Wrap(nil, op, err)
	}
	tpls, err := s.store.ListTemplates(ctx, tenant)
	if err != nil {
		return nil, scrm.Wrap(nil, op, err)
	}
	tc := &tenantCache{
		revision:  rev,
		loc:       loc,
		playbooks: make(map[string]*compiledPlaybook, len(pbs)),
		byEvent:   make(map[string][]*compiledPlaybook),
		byTag:     make(map[string][]*compiledPlaybook),
		bySegment: make(map[string][]*compiledPlaybook),
		calendars: make(map[string]*Calendar),
		templates: make(map[string]*compiledTemplate, len(tpls)),
	}
	for _, t := range tpls {
		top := fmt.Sprintf("sop template %q", t.ID)
		ct, err := s.compileTemplate(top, t)
		if err != nil {
			// Keep it, broken: a job naming it must fail, not pass the
			// name through to the channel as a channel-side template.
			s.opts.Logger.Warn("sop: template not loaded", "tenant", tenant, "template", t.ID, "err", err)
			ct = &compiledTemplate{t: t, op: top, err: err}
		}
		tc.templates[t.ID] = ct
	}
	for _, p := range pbs {
		cp, err := s.compile(op, p)
		if err != nil {
			// A stored playbook this Service cannot run (stored by a Service
			// with other Options): leave it out and say so.
			s.opts.Logger.Warn("sop: playbook not loaded", "tenant", tenant, "playbook", p.ID, "err", err)
			continue
		}
		tc.playbooks[p.ID] = cp
		tr := p.Trigger
		switch {
		case tr.Event != "":
			tc.byEvent[tr.Event] = append(tc.byEvent[tr.Event], cp)
		case tr.Tag != "":
			tc.byTag[tr.Tag] = append(tc.byTag[tr.Tag], cp)
		case tr.Segment != "":
			tc.bySegment[tr.Segment] = append(tc.bySegment[tr.Segment], cp)
		case tr.Inactive != nil:
			tc.inactive = append(tc.inactive, cp)
		}
		if cp.exit != nil {
			tc.exits = append(tc.exits, cp)
		}
	}
	tc.policy = s.loadPolicy(op, tenant, pol)
	s.mu.Lock()
	if cur := s.cache[tenant]; cur == nil || cur.revision <= rev {
		s.cache[tenant] = tc
	}
	s.mu.Unlock()
	return tc, nil
}

// loadPolicy compiles a stored policy, failing closed. A policy stored by
// a Service with other Options.Channels may cap or rate-limit channels this
// Service does not know: those caps and limits are left out (no playbook
// this Service runs can send on such a channel: it would not load), and
// the rest, quiet hours and suppress tags included, applies. A policy that
// still does not compile is kept broken: every message and calendar post
// then waits (deferred by Options.RetryBase, the error in Job.Reason) until
// a policy this Service can apply is stored, rather than going out
// unconstrained.
func (s *Service) loadPolicy(op string, tenant scrm.TenantID, pol Policy) *compiledPolicy {
	cpol, err := s.compilePolicy(op, pol)
	if err == nil {
		return cpol
	}
	known := pol
	known.Caps = slices.DeleteFunc(slices.Clone(pol.Caps), func(c Cap) bool { return !s.channels[c.Channel] })
	known.RateLimits = maps.Clone(pol.RateLimits)
	maps.DeleteFunc(known.RateLimits, func(ch string, _ RateLimit) bool { return !s.channels[ch] })
	if cpol, kerr := s.compilePolicy(op, known); kerr == nil {
		s.opts.Logger.Warn("sop: policy loaded without the caps and rate limits of channels this Service does not know",
			"tenant", tenant, "err", err)
		return cpol
	}
	s.opts.Logger.Error("sop: policy not loaded; messages wait until it is fixed", "tenant", tenant, "err", err)
	return &compiledPolicy{p: clonePolicy(pol), err: err}
}

// calendar returns a tenant's calendar, cached at the tenant's revision.
func (tc *tenantCache) calendar(ctx context.Context, store Store, tenant scrm.TenantID, id string) (*Calendar, error) {
	tc.mu.Lock()
	c, ok := tc.calendars[id]
	tc.mu.Unlock()
	if ok {
		return c, nil
	}
	cal, err := store.GetCalendar(ctx, tenant, id)
	if errors.Is(err, scrm.ErrNotFound) {
		c = nil
	} else if err != nil {
		return nil, err
	} else {
		c = &cal
	}
	tc.mu.Lock()
	tc.calendars[id] = c
	tc.mu.Unlock()
	return c, nil
}
