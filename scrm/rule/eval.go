package rule

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// evalCtx is the per-call state of Eval. It lives on Eval's stack.
type evalCtx struct {
	env Env
	now time.Time
	te  TagExpirer // nil when env lacks the capability or no tag is read
	fs  FenSummer  // nil when env lacks the capability or no sum is fen-exact
}

// Eval reports whether the customer env describes satisfies the condition
// at instant now. A nil Program, a Program without nodes or a nil env
// matches nothing (false); use Match to have those reported as errors.
//
// Eval does not allocate when the Env does not: attribute values are
// compared in place and sums go through FenSummer when the Env has it.
// all and any visit their children cheapest first (attributes and segments
// before windowed counts and sums) and stop at the first child that decides
// the result; the result does not depend on the order, since every node is
// a pure function of the Env and now.
func (p *Program) Eval(env Env, now time.Time) bool {
	if p == nil || env == nil || len(p.nodes) == 0 {
		return false
	}
	x := evalCtx{env: env, now: now}
	p.capabilities(&x)
	return p.eval(&x, 0)
}

// Match is Eval with its arguments checked: a nil Program, a nil Env
// (Field "env") and a zero now (Field "now") are errors matching
// scrm.ErrInvalid.
func (p *Program) Match(env Env, now time.Time) (bool, error) {
	const op = "rule.Match"
	switch {
	case p == nil || len(p.nodes) == 0:
		return false, scrm.Invalid(op, "program", "nil or empty Program; build one with Compile")
	case env == nil:
		return false, scrm.Invalid(op, "env", "required")
	case now.IsZero():
		return false, scrm.Invalid(op, "now", "required (zero time)")
	}
	return p.Eval(env, now), nil
}

func (p *Program) capabilities(x *evalCtx) {
	if p.needTags {
		x.te, _ = x.env.(TagExpirer)
	}
	if p.needFen {
		x.fs, _ = x.env.(FenSummer)
	}
}

func (p *Program) eval(x *evalCtx, i int32) bool {
	n := &p.nodes[i]
	switch n.kind {
	case kindAll:
		for _, k := range n.kids {
			if !p.eval(x, k) {
				return false
			}
		}
		return true
	case kindAny:
		for _, k := range n.kids {
			if p.eval(x, k) {
				return true
			}
		}
		return false
	case kindNot:
		return !p.eval(x, n.kids[0])
	case kindAttr:
		v, ok := x.env.Attr(n.name)
		return n.attr.match(v, ok, x.now)
	case kindEvent:
		return n.event.match(n.name, x)
	case kindTag:
		return tagMatch(n, x)
	case kindSegment:
		return x.env.InSegment(n.name)
	}
	return false
}

// tagMatch evaluates a tag node: present, not expired, applied recently
// enough.
func tagMatch(n *node, x *evalCtx) bool {
	at, ok := x.env.Tag(n.name)
	if !ok || tagExpired(n.name, x) {
		return false
	}
	return n.within == 0 || !at.Before(x.now.Add(-n.within))
}

func tagExpired(tag string, x *evalCtx) bool {
	if x.te == nil {
		return false
	}
	exp, ok := x.te.TagExpiry(tag)
	return ok && !exp.IsZero() && !exp.After(x.now)
}
