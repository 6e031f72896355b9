package tagging

import (
	"errors"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// Rule applies a tag automatically.
//
// A condition rule (When set, no Keywords) is evaluated for a customer when
// something it reads changes: an event of a type it counts, an attribute it
// compares (customer.attrs_set), a tag it tests (tag.applied, tag.removed),
// a segment it tests (segment.entered, segment.exited), a merge; and, when
// it depends on time (rule.Deps.TimeBased), by Service.Sweep. When the
// condition holds and the customer lacks the tag (or it expired), the tag is
// applied; its At records when the condition became true. A rule with
// Expires also refreshes its tag when the condition holds, the tag is
// present and the evaluation was caused by a new event of a type the rule
// reads (a store visit for a "visited within 7 days" rule): At moves to the
// event's time and the expiry is extended, so the tag lives as long as the
// customer keeps doing what earned it. A refresh takes over only marks
// that rules of its kind wrote (Source "rule:..." for a condition rule,
// whichever rule wrote it; "keyword:..." for a keyword rule): a tag applied
// by hand, by an import or by the other kind of rule is left as it is, with
// its source and its expiry or lack of one. Nor does a refresh shorten an
// expiry: when the mark already expires later than the rule's Expires
// would (or never), it keeps that expiry. A rule without Expires does not
// refresh: re-announcing a tag the customer has on every order would flood
// history and subscribers with nothing new. With Sync the tag is also
// removed when no rule targeting it holds any more, but only if a rule put
// it there (its TagMark.Source starts with "rule:"): tags applied by hand,
// by keywords or by imports are never removed by a Sync rule. A rule is
// about state, not edges: a rule tag removed by hand comes back the next
// time the rule is evaluated and holds (change the rule to keep it off).
//
// A keyword rule (Keywords set) is evaluated only on message.replied events:
// when the reply's "text" matches one of the keywords (see Match and
// NormalizeText) and When, if set, holds, the tag is applied, or refreshed
// when the customer has it from a keyword rule (each such reply is news;
// refreshes as above).
// Keyword rules cannot Sync: a reply that lacks the keyword says nothing
// about the earlier one. Replies such as "不需要", "别发了" are the usual use:
// a refusing tag that SOPs respect.
//
// Marks a rule writes carry Source "rule:<ID>" (or "keyword:<ID>"), At the
// time of the event that caused them (the sweep's time for sweeps) and, with
// Expires, an expiry that long after At.
type Rule struct {
	ID          string // unique per tenant
	Tag         string // the tag applied; must exist
	Description string

	// When is the condition. Required unless Keywords are given. It is
	// compiled with the tenant's time zone (Options.LocationOf) and
	// Options.Schema.
	When rule.Condition

	// Keywords make this a keyword rule on message.replied.
	Keywords []string
	// Match is how keywords match: MatchContains (default) or MatchExact.
	Match Match

	// Sync removes the tag when the condition stops holding (see above).
	Sync bool
	// Expires, when positive, makes the marks this rule writes stop matching
	// that long after they were applied; Sweep removes them.
	Expires time.Duration
	// Priority orders rules targeting tags of one exclusive group (and
	// rules targeting one tag): the highest that holds wins; ties go to the
	// smaller ID.
	Priority int

	// Version is the stored version: 0 to create, the version read to
	// update. Put returns the new version.
	Version int64
}

// IsKeyword reports whether r is a keyword rule.
func (r Rule) IsKeyword() bool { return len(r.Keywords) > 0 }

// source is the TagMark.Source of marks the rule writes.
func (r Rule) source() string {
	if r.IsKeyword() {
		return "keyword:" + r.ID
	}
	return "rule:" + r.ID
}

// compiledRule is a Rule ready to evaluate.
type compiledRule struct {
	Rule
	prog    *rule.Program // nil for a keyword rule without When
	deps    rule.Deps
	src     string
	kw      *keywordMatcher // nil unless a keyword rule
	slot    *slot
	ordinal int // position in the tenant's priority order
}

// holds evaluates the condition part of the rule (keywords aside).
func (r *compiledRule) holds(p *scrm.Profile, now time.Time) bool {
	if r.prog == nil {
		return true
	}
	return r.prog.Eval(p, now)
}

// compileRule validates r and compiles it. It does not check that the tag
// exists; callers do, against the definitions they hold.
func compileRule(op string, r Rule, opts *rule.CompileOptions) (*compiledRule, error) {
	if err := scrm.CheckID(op, "ID", r.ID); err != nil {
		return nil, err
	}
	if err := checkTagID(op, "Tag", r.Tag); err != nil {
		return nil, err
	}
	if r.Version < 0 {
		return nil, scrm.Invalid(op, "Version", "must not be negative, got %d", r.Version)
	}
	if r.Expires < 0 {
		return nil, scrm.Invalid(op, "Expires", "must not be negative, got %s", r.Expires)
	}
	switch r.Match {
	case "", MatchContains, MatchExact:
	default:
		return nil, scrm.Invalid(op, "Match", "want contains or exact, got %q", r.Match)
	}
	if !r.IsKeyword() && r.Match != "" {
		return nil, scrm.Invalid(op, "Match", "only keyword rules match text; set Keywords")
	}
	if r.IsKeyword() && r.Sync {
		return nil, scrm.Invalid(op, "Sync", "keyword rules cannot sync: a reply without the keyword does not undo one with it")
	}
	if !r.IsKeyword() && r.When.IsZero() {
		return nil, scrm.Invalid(op, "When", "required (or give Keywords)")
	}
	c := &compiledRule{Rule: r, src: r.source()}
	if r.IsKeyword() {
		m := &keywordMatcher{mode: r.Match}
		if m.mode == "" {
			m.mode = MatchContains
		}
		for i, k := range r.Keywords {
			n := NormalizeText(k)
			if m.mode == MatchExact {
				n = trimPunct(n)
			}
			if n == "" {
				return nil, scrm.Invalid(op, fmt.Sprintf("Keywords[%d]", i), "empty once normalized (got %q)", k)
			}
			m.keywords = append(m.keywords, n)
		}
		c.kw = m
		c.deps.Events = []string{scrm.EventMessageReplied}
	}
	if !r.When.IsZero() {
		prog, err := rule.Compile(r.When, opts)
		if err != nil {
			return nil, whenError(op, err)
		}
		c.prog = prog
		if !r.IsKeyword() {
			c.deps = prog.Deps()
		}
	}
	return c, nil
}

// whenError re-roots a compile error under the When field: all[1].sum.gte
// becomes When.all[1].sum.gte.
func whenError(op string, err error) error {
	var se *scrm.Error
	if errors.As(err, &se) {
		field := "When"
		if se.Field != "" {
			field += "." + se.Field
		}
		return &scrm.Error{Code: scrm.CodeOf(err), Op: op, Field: field, Msg: se.Msg, Err: se.Err}
	}
	return &scrm.Error{Code: scrm.ErrInvalid, Op: op, Field: "When", Err: err}
}
