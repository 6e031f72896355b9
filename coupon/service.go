package coupon

import (
	"context"
	"crypto/rand"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/scrmkit/scrmkit/scrm"
)

// Service runs coupons for many tenants: templates, claims and issues,
// codes, pricing carts, checkout (lock, confirm, release, refund) and
// expiry. Build one with New. It is safe for concurrent use; its state lives
// in the Store, apart from the wrong-code rate limits, which are per Service.
type Service struct {
	store    Store
	profiles scrm.ProfileStore
	opts     Options
	publish  bool
	terms    sync.Map // termsKey → *terms, the latest compiled version
	codes    codeLimiter
	oneBufs  sync.Pool // *[1]Coupon, the params of single claims
}

type termsKey struct {
	tenant scrm.TenantID
	id     string
}

var (
	_ scrm.Rewarder = (*Service)(nil)
)

// New returns a Service over store. profiles is where audience conditions
// read customers from; it may be nil when no template has an Audience
// (PutTemplate then refuses templates with one). opts may be nil.
func New(store Store, profiles scrm.ProfileStore, opts *Options) *Service {
	var o Options
	if opts != nil {
		o = *opts
	}
	publish := o.Publisher != nil
	o.Options = o.Options.WithDefaults()
	if o.CodeAttempts <= 0 {
		o.CodeAttempts = 5
	}
	if o.CodeRefill <= 0 {
		o.CodeRefill = time.Minute
	}
	if o.BestNodes <= 0 {
		o.BestNodes = DefaultBestNodes
	}
	if o.Random == nil {
		o.Random = rand.Reader
	}
	return &Service{
		store:    store,
		profiles: profiles,
		opts:     o,
		publish:  publish,
		codes:    codeLimiter{every: rate.Every(o.CodeRefill), burst: o.CodeAttempts},
	}
}

// PutTemplate validates and stores a template: a new one when t.Version is
// 0, else an update of the stored version t.Version. It returns the template
// as stored, with its new Version.
//
// Errors: ErrInvalid naming the field (`coupon template "t1": Rate: percent
// discount must be in (0, 1), got 1.5`; Audience errors name the condition's
// path, "Audience.all[1].sum.gte"); ErrConflict when the version is stale,
// or the terms of a template that has issued coupons would change.
func (s *Service) PutTemplate(ctx context.Context, t Template) (Template, error) {
	const op = "coupon.PutTemplate"
	// The cached terms outlive the call: compile them from a copy, so that
	// a caller reusing t (its scope slices, its audience) cannot change them.
	own := t.Clone()
	tm, err := compileTerms(own, s.opts.LocationOf(t.Tenant))
	if err != nil {
		return Template{}, err
	}
	if t.Audience != nil && s.profiles == nil {
		return Template{}, scrm.Invalid("coupon template "+quote(t.ID), "Audience", "the coupon service was built without a ProfileStore")
	}
	now := s.opts.Clock.Now()
	if t.Version == 0 || t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	t.UpdatedAt = now
	v, err := s.store.PutTemplate(ctx, t)
	if err != nil {
		return Template{}, scrm.Wrap(nil, op, err)
	}
	t.Version = v
	own.CreatedAt, own.UpdatedAt, own.Version = t.CreatedAt, t.UpdatedAt, v
	tm.t = own
	s.terms.Store(termsKey{t.Tenant, t.ID}, tm)
	return t, nil
}

// Template returns a stored template. Errors: ErrNotFound.
func (s *Service) Template(ctx context.Context, tenant scrm.TenantID, id string) (Template, error) {
	const op = "coupon.Template"
	if err := checkIDs(op, "tenant", string(tenant), "id", id); err != nil {
		return Template{}, err
	}
	t, err := s.store.Template(ctx, tenant, id)
	return t, scrm.Wrap(nil, op, err)
}

// Stats returns a template's counters: issued, claimed, locked, redeemed,
// expired, revoked, the discount given, the budget reserved, and the GMV of
// the orders that used it. Errors: ErrNotFound.
func (s *Service) Stats(ctx context.Context, tenant scrm.TenantID, template string) (Stats, error) {
	const op = "coupon.Stats"
	if err := checkIDs(op, "tenant", string(tenant), "template", template); err != nil {
		return Stats{}, err
	}
	st, err := s.store.Stats(ctx, tenant, template)
	return st, scrm.Wrap(nil, op, err)
}

// termsOf loads a template and returns its compiled terms, compiling only
// when the stored version is not the one cached.
func (s *Service) termsOf(ctx context.Context, op string, tenant scrm.TenantID, id string) (*terms, error) {
	key := termsKey{tenant, id}
	cached, _ := s.terms.Load(key)
	// Compiled terms hold the tenant's zone (audience conditions, validity
	// days): a zone changed since they were compiled makes them stale.
	loc := s.opts.LocationOf(tenant)
	if cached != nil && cached.(*terms).loc != loc {
		cached = nil
	}
	if tv, ok := s.store.(TemplateVersioner); ok && cached != nil {
		v, err := tv.TemplateVersion(ctx, tenant, id)
		if err != nil {
			return nil, scrm.Wrap(nil, op, err)
		}
		if tm := cached.(*terms); tm.t.Version == v {
			return tm, nil
		}
	}
	t, err := s.store.Template(ctx, tenant, id)
	if err != nil {
		return nil, scrm.Wrap(nil, op, err)
	}
	if cached != nil {
		if tm := cached.(*terms); tm.t.Version == t.Version {
			return tm, nil
		}
	}
	tm, err := compileTerms(t, loc)
	if err != nil {
		// A template that no longer validates was stored by another
		// writer; report it rather than price with it.
		return nil, scrm.Wrap(scrm.ErrUnavailable, op, err)
	}
	s.terms.Store(key, tm)
	return tm, nil
}

// inAudience evaluates the template's audience on the customer's profile at
// now (true when it has none).
func (s *Service) inAudience(ctx context.Context, tm *terms, tenant scrm.TenantID, customer scrm.CustomerID, now time.Time) (bool, error) {
	if tm.audience == nil {
		return true, nil
	}
	if s.profiles == nil {
		return false, scrm.Errorf(scrm.ErrUnavailable, "coupon.audience", "template %q has an audience but the service has no ProfileStore", tm.t.ID)
	}
	p, err := s.profile(ctx, tenant, customer)
	if err != nil {
		return false, err
	}
	return tm.audience.Eval(p, now), nil
}

// profile returns a customer's profile, following merges to the survivor;
// a customer without one gets an empty profile.
func (s *Service) profile(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (*scrm.Profile, error) {
	p, err := scrm.LoadProfile(ctx, s.profiles, tenant, customer)
	if err != nil {
		return nil, scrm.Wrap(nil, "coupon.profile", err)
	}
	return p, nil
}

// emit publishes e when a Publisher is configured. Publish errors are
// returned: the change is stored, and retrying the request (an idempotent
// replay) publishes again with the same event IDs.
func (s *Service) emit(ctx context.Context, e scrm.Event) error {
	if !s.publish {
		return nil
	}
	if err := s.opts.Publisher.Publish(ctx, e); err != nil {
		s.opts.Logger.WarnContext(ctx, "coupon: publish failed", "event", e.String(), "err", err)
		return scrm.Wrap(scrm.ErrUnavailable, "coupon.publish", err)
	}
	return nil
}

// checkIDs validates pairs of (field, value) with scrm.CheckID.
func checkIDs(op string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := scrm.CheckID(op, pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// localDay returns the local day containing now in loc: [start, end), from
// the first instant of its date to that of the next (scrm.DayStart), correct
// where a daylight-saving change moves or repeats midnight.
func localDay(now time.Time, loc *time.Location) (start, end time.Time) {
	y, m, d := now.In(loc).Date()
	return scrm.DayStart(y, m, d, loc), scrm.DayStart(y, m, d+1, loc)
}
