package rule

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

const opCompile = "rule.Compile"

// Program is a compiled Condition. Build one with Compile; evaluate it with
// Eval (or Match, which reports bad arguments) as many times as needed.
// A Program is immutable and safe for concurrent use by multiple
// goroutines. The zero Program, like a nil *Program, matches nothing.
type Program struct {
	nodes    []node     // nodes[0] is the root; children follow their parent
	info     []nodeInfo // what Explain and String need, beside nodes
	deps     Deps
	loc      *time.Location
	masked   map[string]bool // attributes whose values Explain hides
	needTags bool            // has tag nodes: look up TagExpirer once per Eval
	needFen  bool            // has fen-exact sum nodes: look up FenSummer once per Eval
}

// kind is the kind of a compiled node.
type kind uint8

const (
	kindAll kind = iota + 1
	kindAny
	kindNot
	kindAttr
	kindEvent
	kindTag
	kindSegment
)

// node is one compiled condition: what Eval reads, kept small. Only the
// fields of its kind are set.
type node struct {
	kind   kind
	name   string  // attr, event type, tag or segment name
	kids   []int32 // all, any: children cheapest first (the order Eval visits); not: the child
	attr   *attrNode
	event  *eventNode
	within time.Duration // tag: appliedWithin
}

// nodeInfo is the part of a compiled node that only Explain, String and
// Compile read.
type nodeInfo struct {
	path string  // "all[1]"; "" for the root
	desc string  // "event order.paid within 30d count >= 2"; "all" for all
	kids []int32 // all, any, not: children as written
	cost int     // estimated cost of evaluating the node (see leafCost)
}

// Compile validates c and compiles it into a Program. Errors are
// *scrm.Error values matching scrm.ErrInvalid whose Field is the path of the
// first problem, e.g. "all[2].sum.gte", and whose Msg says what was wanted
// (`want a decimal, got "abc"`). A nil opts means the defaults.
func Compile(c Condition, opts *CompileOptions) (*Program, error) {
	cp := compiler{loc: opts.location()}
	if opts != nil {
		for name, t := range opts.Schema {
			if t < String || t > List {
				return nil, scrm.Invalid(opCompile, "Schema["+strconv.Quote(name)+"]", "unknown type %d", uint8(t))
			}
		}
		cp.schema = opts.Schema
	}
	if _, err := cp.compile(&c, "", 0); err != nil {
		return nil, err
	}
	p := &Program{nodes: cp.nodes, info: cp.info, loc: cp.loc, masked: opts.sensitive()}
	p.deps = p.collectDeps()
	for i := range p.nodes {
		n := &p.nodes[i]
		p.needTags = p.needTags || n.kind == kindTag
		p.needFen = p.needFen || (n.kind == kindEvent && n.event.sumFen)
	}
	return p, nil
}

// MustCompile is like Compile but panics on error. It is meant for
// conditions written as literals in code and tests.
func MustCompile(c Condition, opts *CompileOptions) *Program {
	p, err := Compile(c, opts)
	if err != nil {
		panic(err)
	}
	return p
}

type compiler struct {
	loc    *time.Location
	schema map[string]Type
	nodes  []node
	info   []nodeInfo
}

func invalid(path, format string, args ...any) error {
	return scrm.Invalid(opCompile, path, format, args...)
}

// kindsOf lists the node kinds whose keys c sets.
func kindsOf(c *Condition) []string {
	var ks []string
	if c.All != nil {
		ks = append(ks, "all")
	}
	if c.Any != nil {
		ks = append(ks, "any")
	}
	if c.Not != nil {
		ks = append(ks, "not")
	}
	if c.Attr != "" || c.Op != "" || c.Value != nil {
		ks = append(ks, "attr")
	}
	if c.Event != "" || c.Within != 0 || c.Count != nil || c.Sum != nil || c.Last != nil {
		ks = append(ks, "event")
	}
	if c.Tag != "" || c.AppliedWithin != 0 {
		ks = append(ks, "tag")
	}
	if c.Segment != "" {
		ks = append(ks, "segment")
	}
	return ks
}

func (cp *compiler) compile(c *Condition, path string, depth int) (int32, error) {
	if depth >= maxDepth {
		return 0, invalid(path, "conditions nest more than %d levels deep", maxDepth)
	}
	ks := kindsOf(c)
	switch len(ks) {
	case 0:
		return 0, invalid(path, "empty condition; want one of all, any, not, attr, event, tag or segment")
	case 1:
	default:
		return 0, invalid(path, "mixes the keys of %s; a condition has exactly one kind", strings.Join(ks, " and "))
	}
	i := int32(len(cp.nodes))
	cp.nodes = append(cp.nodes, node{})
	cp.info = append(cp.info, nodeInfo{})
	n, info := node{}, nodeInfo{path: path}
	var err error
	switch ks[0] {
	case "all", "any":
		list, key := c.All, "all"
		n.kind = kindAll
		if ks[0] == "any" {
			list, key, n.kind = c.Any, "any", kindAny
		}
		info.desc = key
		lp := join(path, key)
		if len(list) == 0 {
			return 0, invalid(lp, "empty list; want at least one condition")
		}
		info.kids = make([]int32, len(list))
		for j := range list {
			if info.kids[j], err = cp.compile(&list[j], index(lp, j), depth+1); err != nil {
				return 0, err
			}
			info.cost += cp.info[info.kids[j]].cost
		}
		// all and any are commutative (every node is a pure function of the
		// Env and now), so Eval visits cheap children first: the first child
		// that decides the result then often spares the expensive ones.
		n.kids = slices.Clone(info.kids)
		slices.SortStableFunc(n.kids, func(a, b int32) int { return cp.info[a].cost - cp.info[b].cost })
	case "not":
		n.kind, info.desc = kindNot, "not"
		k, err := cp.compile(c.Not, join(path, "not"), depth+1)
		if err != nil {
			return 0, err
		}
		n.kids, info.kids, info.cost = []int32{k}, []int32{k}, cp.info[k].cost
	case "attr":
		n.kind, n.name = kindAttr, c.Attr
		n.attr, info.desc, err = cp.compileAttr(c, path)
	case "event":
		n.kind, n.name = kindEvent, c.Event
		n.event, info.desc, err = compileEvent(c, path)
	case "tag":
		n.kind, n.name, n.within = kindTag, c.Tag, time.Duration(c.AppliedWithin)
		info.desc = "tag " + nameText(c.Tag)
		if c.Tag == "" {
			err = invalid(join(path, "tag"), "required")
		} else if c.AppliedWithin != 0 {
			err = checkDuration(c.AppliedWithin, join(path, "appliedWithin"))
			info.desc += " appliedWithin " + c.AppliedWithin.String()
		}
	case "segment":
		n.kind, n.name, info.desc = kindSegment, c.Segment, "segment "+nameText(c.Segment)
	}
	if err != nil {
		return 0, err
	}
	if info.cost == 0 {
		info.cost = leafCost(&n)
	}
	cp.nodes[i], cp.info[i] = n, info
	return i, nil
}

// leafCost estimates the cost of evaluating a leaf node, in Env calls
// weighted by their usual price: an attribute or segment lookup is 1, a
// windowed count or sum (a binary search) 3.
func leafCost(n *node) int {
	switch n.kind {
	case kindEvent:
		c := 0
		if len(n.event.count) > 0 {
			c += 3
		}
		if len(n.event.sum) > 0 {
			c += 3
		}
		if n.event.last {
			c++
		}
		return c
	case kindTag:
		return 2 // Tag and TagExpiry
	case kindAttr:
		if n.attr.op == opBirthdayWithin || n.attr.op == opIn || n.attr.op == opNin {
			return 2
		}
	}
	return 1
}

// checkDuration validates a Duration set in Go (decoded ones are valid).
func checkDuration(d Duration, path string) error {
	if _, ok := d.text(); !ok {
		return invalid(path, "want a positive whole number of seconds, got %s", time.Duration(d))
	}
	return nil
}

// nameText renders an attribute, event, tag or segment name in a
// description: as is, or quoted when it is empty or has spaces, quotes or
// unprintable characters.
func nameText(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return r == ' ' || r == '"' || r == '\\' || !strconv.IsPrint(r)
	}) {
		return strconv.Quote(s)
	}
	return s
}
