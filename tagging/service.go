package tagging

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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

	// Schema declares attribute types for rule conditions (see
	// rule.CompileOptions.Schema): with it, a rule comparing a Number
	// attribute with a string is rejected by PutRule instead of never
	// matching.
	Schema map[string]rule.Type

	// SweepPage is how many profiles Sweep reads per ProfileStore.List
	// call; default 500.
	SweepPage int
}

// Service is the tagging service: tag definitions, manual and rule-based
// tagging, keyword tags, expiry, history and counts. It implements
// scrm.Handler; put it in the Dispatcher after the *scrm.Profiles.
//
// A Service is safe for concurrent use. It caches each tenant's compiled
// rules and checks the Store's Revision on every call, so definitions
// changed through another Service sharing the Store are picked up at once.
type Service struct {
	store    Store
	profiles scrm.ProfileStore
	opts     Options

	mu    sync.RWMutex
	cache map[scrm.TenantID]*tenantRules
}

var _ scrm.Handler = (*Service)(nil)

// New returns a Service keeping definitions, history and the tag index in
// store and tag marks in profiles (the same ProfileStore the host's
// *scrm.Profiles writes). A nil store means NewMemoryStore(); profiles is
// required (New panics without it, as it would on every call). opts may be
// nil.
func New(store Store, profiles scrm.ProfileStore, opts *Options) *Service {
	if profiles == nil {
		panic("tagging.New: a scrm.ProfileStore is required")
	}
	if store == nil {
		store = NewMemoryStore()
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Options = o.Options.WithDefaults()
	if o.SweepPage <= 0 {
		o.SweepPage = 500
	}
	return &Service{store: store, profiles: profiles, opts: o, cache: make(map[scrm.TenantID]*tenantRules)}
}

// Store returns the Store the Service uses.
func (s *Service) Store() Store { return s.store }

// PutGroup creates (g.Version 0) or updates (g.Version as read) a tag group
// and returns it with its new Version. Errors: ErrInvalid naming the field;
// ErrConflict when the version does not match the stored one.
func (s *Service) PutGroup(ctx context.Context, tenant scrm.TenantID, g Group) (Group, error) {
	op := fmt.Sprintf("tagging group %q", g.ID)
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return Group{}, err
	}
	if err := validateGroup(op, g); err != nil {
		return Group{}, err
	}
	out, err := s.store.PutGroup(ctx, tenant, g)
	return out, storeErr(op, err)
}

// PutTag creates or updates a tag like PutGroup. Errors: ErrInvalid naming
// the field, among them "Group" for a group the tenant has not defined;
// ErrConflict for a version mismatch.
func (s *Service) PutTag(ctx context.Context, tenant scrm.TenantID, t Tag) (Tag, error) {
	op := fmt.Sprintf("tagging tag %q", t.ID)
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return Tag{}, err
	}
	if err := validateTag(op, t); err != nil {
		return Tag{}, err
	}
	out, err := s.store.PutTag(ctx, tenant, t) // the store checks the group atomically
	return out, storeErr(op, err)
}

// PutRule validates, compiles and stores a rule (create with Version 0,
// update with the version read). Errors match ErrInvalid and name the
// field: "Tag" for a tag the tenant has not defined, "When.all[1].sum.gte"
// for a condition that does not compile, "Keywords[2]" for an empty
// keyword; ErrConflict for a version mismatch.
func (s *Service) PutRule(ctx context.Context, tenant scrm.TenantID, r Rule) (Rule, error) {
	op := fmt.Sprintf("tagging rule %q", r.ID)
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return Rule{}, err
	}
	if _, err := compileRule(op, r, s.compileOptions(tenant)); err != nil {
		return Rule{}, err
	}
	out, err := s.store.PutRule(ctx, tenant, r) // the store checks the tag atomically
	return out, storeErr(op, err)
}

// DeleteRule deletes a rule. Tags it applied stay on customers (remove
// them with Remove if needed). Errors: ErrNotFound.
func (s *Service) DeleteRule(ctx context.Context, tenant scrm.TenantID, id string) error {
	op := fmt.Sprintf("tagging rule %q", id)
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "id", id); err != nil {
		return err
	}
	return storeErr(op, s.store.DeleteRule(ctx, tenant, id))
}

// Definitions returns the tenant's groups, tags and rules.
func (s *Service) Definitions(ctx context.Context, tenant scrm.TenantID) (Definitions, error) {
	const op = "tagging.Definitions"
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return Definitions{}, err
	}
	d, err := s.store.Definitions(ctx, tenant)
	return d, scrm.Wrap(nil, op, err)
}

func (s *Service) compileOptions(tenant scrm.TenantID) *rule.CompileOptions {
	return &rule.CompileOptions{Location: s.opts.LocationOf(tenant), Schema: s.opts.Schema}
}

// tenantRules is a tenant's definitions compiled for evaluation, with the
// dependency index that lets an event reach only the rules that read it.
type tenantRules struct {
	rev    int64
	loc    *time.Location // the tenant's zone the rules were compiled in
	groups map[string]*groupDef
	tags   map[string]*tagDef
	rules  []*compiledRule // priority order: Priority descending, then ID
	byID   map[string]*compiledRule

	deps      rule.Index[*compiledRule] // condition rules by what they read
	keyword   []*compiledRule           // keyword rules (message.replied)
	timeBased []*compiledRule           // condition rules Sweep re-evaluates
	condition []*compiledRule           // every condition rule (merges)
	exclusive []*groupDef               // exclusive groups, by ID
	broken    map[string]error
}

type groupDef struct {
	Group
	tags []string // sorted
}

type tagDef struct {
	Tag
	group *groupDef // nil when ungrouped
}

// slot is what rules compete for: one exclusive group, or one tag.
type slot struct {
	ordinal int
	group   *groupDef       // the exclusive group, or nil
	tag     string          // the tag, when group is nil
	rules   []*compiledRule // priority order
}

// rules returns the tenant's compiled rules, rebuilding them when the
// store's revision moved.
func (s *Service) rules(ctx context.Context, tenant scrm.TenantID) (*tenantRules, error) {
	const op = "tagging"
	rev, err := s.store.Revision(ctx, tenant)
	if err != nil {
		return nil, scrm.Wrap(nil, op, err)
	}
	// A zone changed since the rules were compiled (the merchant moved
	// it) makes their time conditions stale.
	loc := s.opts.LocationOf(tenant)
	s.mu.RLock()
	tr := s.cache[tenant]
	s.mu.RUnlock()
	if tr != nil && tr.rev == rev && tr.loc == loc {
		return tr, nil
	}
	d, err := s.store.Definitions(ctx, tenant)
	if err != nil {
		return nil, scrm.Wrap(nil, op, err)
	}
	tr = s.compile(tenant, d, loc)
	s.mu.Lock()
	if cur := s.cache[tenant]; cur == nil || cur.rev < tr.rev || (cur.rev == tr.rev && cur.loc != loc) {
		s.cache[tenant] = tr
	}
	s.mu.Unlock()
	return tr, nil
}

// compile builds the evaluation structures. A stored rule that no longer
// compiles (stored by another tool, or its tag deleted behind the store's
// back) is skipped and logged rather than stopping every other rule.
func (s *Service) compile(tenant scrm.TenantID, d Definitions, loc *time.Location) *tenantRules {
	tr := &tenantRules{
		rev:    d.Revision,
		loc:    loc,
		groups: make(map[string]*groupDef, len(d.Groups)),
		tags:   make(map[string]*tagDef, len(d.Tags)),
		byID:   make(map[string]*compiledRule, len(d.Rules)),
	}
	for _, g := range d.Groups {
		gd := &groupDef{Group: g}
		tr.groups[g.ID] = gd
	}
	for _, t := range d.Tags {
		td := &tagDef{Tag: t, group: tr.groups[t.Group]}
		tr.tags[t.ID] = td
		if td.group != nil {
			td.group.tags = append(td.group.tags, t.ID) // d.Tags is sorted
		}
	}
	for _, g := range d.Groups {
		if g.Exclusive {
			tr.exclusive = append(tr.exclusive, tr.groups[g.ID])
		}
	}
	opts := &rule.CompileOptions{Location: loc, Schema: s.opts.Schema}
	for _, r := range d.Rules {
		op := fmt.Sprintf("tagging rule %q", r.ID)
		c, err := compileRule(op, r, opts)
		if err == nil && tr.tags[r.Tag] == nil {
			err = scrm.Invalid(op, "Tag", "unknown tag %q", r.Tag)
		}
		if err != nil {
			if tr.broken == nil {
				tr.broken = make(map[string]error)
			}
			tr.broken[r.ID] = err
			s.opts.Logger.Warn("tagging: rule skipped", "tenant", string(tenant), "rule", r.ID, "err", err)
			continue
		}
		tr.rules = append(tr.rules, c)
	}
	slices.SortFunc(tr.rules, func(a, b *compiledRule) int {
		if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	slots := make(map[string]*slot)
	for i, r := range tr.rules {
		r.ordinal = i
		tr.byID[r.ID] = r
		key := "t:" + r.Tag
		var g *groupDef
		if td := tr.tags[r.Tag]; td.group != nil && td.group.Exclusive {
			g = td.group
			key = "g:" + g.ID
		}
		sl := slots[key]
		if sl == nil {
			sl = &slot{ordinal: len(slots), group: g, tag: r.Tag}
			slots[key] = sl
		}
		sl.rules = append(sl.rules, r)
		r.slot = sl
		if r.kw != nil {
			tr.keyword = append(tr.keyword, r)
			continue
		}
		tr.condition = append(tr.condition, r)
		tr.deps.Add(r.deps, r)
		if r.deps.TimeBased {
			tr.timeBased = append(tr.timeBased, r)
		}
	}
	return tr
}

// load returns a customer's profile, following merges to the survivor; an
// empty profile when none is stored.
func (s *Service) load(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (*scrm.Profile, error) {
	p, err := scrm.LoadProfile(ctx, s.profiles, tenant, customer)
	if err != nil {
		return nil, scrm.Wrap(nil, "tagging", err)
	}
	return p, nil
}

// now is the Service's clock.
func (s *Service) now() time.Time { return s.opts.Clock.Now() }

// storeErr attributes a store error to op. A validation error keeps its
// Field and message at the top, where callers look for them.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *scrm.Error
	if errors.As(err, &se) && se.Field != "" {
		return &scrm.Error{Code: scrm.CodeOf(err), Op: op, Field: se.Field, Msg: se.Msg, Err: se.Err}
	}
	return scrm.Wrap(nil, op, err)
}
