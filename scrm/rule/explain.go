package rule

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Trace explains one evaluation: a tree with one node per condition node,
// telling what was tested, what was observed and the result. Build one with
// Program.Explain.
//
// Observed values include attribute values as they are, except those of the
// attributes CompileOptions.Sensitive names (by default phone, name, email
// and the like), which show as "observed (masked)".
type Trace struct {
	// Path locates the node in the condition, as in compile errors
	// ("all[1]", "all[5].not"); "" for the root.
	Path string
	// Desc describes the test: "event order.paid within 30d count >= 2",
	// `attr city in ["上海", "杭州"]`, "all".
	Desc string
	// Result is the node's value; the root's equals Eval's.
	Result bool
	// Observed is what the Env reported: `observed "上海"`, "observed 1",
	// "missing". Empty for all, any and not.
	Observed string
	// Children are the traces of all, any and not's children, in order.
	// Unlike Eval, Explain evaluates every child.
	Children []Trace
}

// String renders the trace as indented lines, one per node: the result
// (true or false), the description and, in parentheses, the observation.
//
//	false all
//	  true  attr city in ["上海", "杭州"] (observed "上海")
//	  false event order.paid within 30d count >= 2 (observed 1)
func (t Trace) String() string {
	var b strings.Builder
	t.write(&b, 0)
	return b.String()
}

func (t Trace) write(b *strings.Builder, depth int) {
	for range depth {
		b.WriteString("  ")
	}
	if t.Result {
		b.WriteString("true  ")
	} else {
		b.WriteString("false ")
	}
	b.WriteString(t.Desc)
	if t.Observed != "" {
		b.WriteString(" (" + t.Observed + ")")
	}
	b.WriteByte('\n')
	for _, c := range t.Children {
		c.write(b, depth+1)
	}
}

// Explain evaluates the program like Eval and returns the trace of every
// node. Its root Result always equals Eval's. It allocates; use it for
// debugging and operator UIs, not on hot paths. A nil Program or Env gives
// a false trace saying so.
func (p *Program) Explain(env Env, now time.Time) Trace {
	switch {
	case p == nil || len(p.nodes) == 0:
		return Trace{Desc: "no program"}
	case env == nil:
		return Trace{Desc: "no env"}
	}
	x := evalCtx{env: env, now: now}
	p.capabilities(&x)
	return p.explain(&x, 0)
}

const missing = "missing"

func (p *Program) explain(x *evalCtx, i int32) Trace {
	n, info := &p.nodes[i], &p.info[i]
	t := Trace{Path: info.path, Desc: info.desc}
	switch n.kind {
	case kindAll, kindAny, kindNot:
		t.Children = make([]Trace, len(info.kids))
		t.Result = n.kind == kindAll
		for j, k := range info.kids {
			c := p.explain(x, k)
			t.Children[j] = c
			switch n.kind {
			case kindAll:
				t.Result = t.Result && c.Result
			case kindAny:
				t.Result = t.Result || c.Result
			default:
				t.Result = !c.Result
			}
		}
	case kindAttr:
		v, ok := x.env.Attr(n.name)
		t.Result = n.attr.match(v, ok, x.now)
		t.Observed = missing
		switch {
		case !ok || v == nil:
		case p.masked[n.name]:
			t.Observed = "observed (masked)"
		default:
			t.Observed = "observed " + valueText(v, p.loc)
		}
	case kindEvent:
		t.Result, t.Observed = n.event.explain(n.name, x, p.loc)
	case kindTag:
		t.Result = tagMatch(n, x)
		at, ok := x.env.Tag(n.name)
		switch {
		case !ok:
			t.Observed = missing
		case tagExpired(n.name, x):
			exp, _ := x.te.TagExpiry(n.name)
			t.Observed = "applied " + timeText(at, p.loc) + ", expired " + timeText(exp, p.loc)
		default:
			t.Observed = "applied " + timeText(at, p.loc)
		}
	case kindSegment:
		t.Result = x.env.InSegment(n.name)
		t.Observed = "not a member"
		if t.Result {
			t.Observed = "member"
		}
	}
	return t
}

// sumSeen is how a sum was observed: in fen from FenSummer, or as a decimal.
type sumSeen struct {
	fen   int64
	fenOK bool
	dec   decimal.Decimal
}

// String renders the sum in yuan with at least two decimals.
func (s sumSeen) String() string {
	if s.fenOK {
		return decimal.New(s.fen, -2).StringFixed(2)
	}
	if s.dec.Exponent() >= -2 {
		return s.dec.StringFixed(2)
	}
	return s.dec.String()
}

// explain evaluates every part of an event node and reports each
// observation.
func (e *eventNode) explain(typ string, x *evalCtx, loc *time.Location) (bool, string) {
	var since time.Time
	if e.within > 0 {
		since = x.now.Add(-e.within)
	}
	result := true
	var seen []string
	if len(e.count) > 0 {
		c := x.env.Count(typ, since)
		result = e.countHolds(c)
		seen = append(seen, "count "+strconv.FormatInt(c, 10))
	}
	if len(e.sum) > 0 {
		r, s := e.sumHolds(typ, since, x)
		result = result && r
		seen = append(seen, "sum "+s.String())
	}
	if e.last {
		t, ok := x.env.Last(typ)
		result = result && e.lastHolds(t, ok, x.now)
		if ok {
			seen = append(seen, "last "+timeText(t, loc))
		} else {
			seen = append(seen, "last missing")
		}
	}
	if len(seen) == 1 {
		_, v, _ := strings.Cut(seen[0], " ")
		if v == missing {
			return result, missing
		}
		return result, "observed " + v
	}
	return result, "observed " + strings.Join(seen, ", ")
}

func timeText(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.RFC3339)
}

// valueText renders an attribute value for a trace.
func valueText(v any, loc *time.Location) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case json.Number:
		return string(x)
	case decimal.Decimal:
		return x.String()
	case time.Time:
		return timeText(x, loc)
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = valueText(e, loc)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	s := fmt.Sprint(v)
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80]) + "…"
	}
	return s
}

// String renders the program as one line, e.g.
// `all(attr city in ["上海"], not(segment blacklist))`.
func (p *Program) String() string {
	if p == nil || len(p.nodes) == 0 {
		return "<empty program>"
	}
	var b strings.Builder
	p.write(&b, 0)
	return b.String()
}

func (p *Program) write(b *strings.Builder, i int32) {
	n := &p.info[i]
	b.WriteString(n.desc)
	if len(n.kids) == 0 {
		return
	}
	b.WriteByte('(')
	for j, k := range n.kids {
		if j > 0 {
			b.WriteString(", ")
		}
		p.write(b, k)
	}
	b.WriteByte(')')
}
