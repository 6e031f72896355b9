package rule

import (
	"cmp"
	"strings"
	"time"
)

// eventNode is a compiled event condition.
type eventNode struct {
	within    time.Duration // 0: all time
	count     []bound
	sum       []bound
	sumFen    bool // every sum bound is a whole number of fen
	last      bool
	olderThan time.Duration // last.olderThan
	lastIn    time.Duration // last.within
}

// bound is one compiled count or sum bound.
type bound struct {
	op  op
	n   int64  // count: the bound; sum: the bound in fen (when sumFen)
	num number // sum: the bound in yuan
}

func compileEvent(c *Condition, path string) (*eventNode, string, error) {
	if c.Event == "" {
		return nil, "", invalid(join(path, "event"), "required")
	}
	e := &eventNode{within: time.Duration(c.Within)}
	desc := "event " + nameText(c.Event)
	if c.Within != 0 {
		if err := checkDuration(c.Within, join(path, "within")); err != nil {
			return nil, "", err
		}
		if c.Count == nil && c.Sum == nil && c.Last != nil {
			return nil, "", invalid(join(path, "within"), "has no effect on last; use last.within")
		}
		desc += " within " + c.Within.String()
	}
	var err error
	switch {
	case c.Count != nil:
		var d string
		if e.count, d, err = compileBounds(*c.Count, join(path, "count"), true); err != nil {
			return nil, "", err
		}
		desc += " count " + d
	case c.Sum == nil && c.Last == nil:
		e.count = []bound{{op: opGte, n: 1}}
		desc += " count >= 1"
	}
	if c.Sum != nil {
		var d string
		if e.sum, d, err = compileBounds(*c.Sum, join(path, "sum"), false); err != nil {
			return nil, "", err
		}
		desc += " sum " + d
		e.sumFen = true
		for _, b := range e.sum {
			if b.n == noFen {
				e.sumFen = false
			}
		}
	}
	if c.Last != nil {
		lp := join(path, "last")
		if c.Last.OlderThan == 0 && c.Last.Within == 0 {
			return nil, "", invalid(lp, "no bound; want olderThan or within")
		}
		e.last = true
		if c.Last.OlderThan != 0 {
			if err := checkDuration(c.Last.OlderThan, join(lp, "olderThan")); err != nil {
				return nil, "", err
			}
			e.olderThan = time.Duration(c.Last.OlderThan)
			desc += " last olderThan " + c.Last.OlderThan.String()
		}
		if c.Last.Within != 0 {
			if err := checkDuration(c.Last.Within, join(lp, "within")); err != nil {
				return nil, "", err
			}
			e.lastIn = time.Duration(c.Last.Within)
			desc += " last within " + c.Last.Within.String()
		}
	}
	return e, desc, nil
}

// noFen marks a sum bound that is not a whole number of fen in int64.
const noFen = -1 << 63

// compileBounds compiles the bounds of a count (non-negative integers) or a
// sum (decimals), returning their description ">= 2 and < 5".
func compileBounds(c Cmp, path string, count bool) ([]bound, string, error) {
	if c.IsZero() {
		return nil, "", invalid(path, "no bound; want at least one of eq, ne, gt, gte, lt, lte")
	}
	var bs []bound
	var desc []string
	for _, f := range c.fields() {
		if f.v == "" {
			continue
		}
		fp := join(path, f.key)
		n, ok, msg := parseNumberText(string(f.v))
		switch {
		case count && (!ok || msg != "" || n.iform != intExact || n.i < 0):
			return nil, "", invalid(fp, "want a non-negative integer, got %q", string(f.v))
		case !ok:
			return nil, "", invalid(fp, "want a decimal, got %q", string(f.v))
		case msg != "":
			return nil, "", invalid(fp, "%s, got %q", msg, string(f.v))
		}
		b := bound{op: f.op, num: n}
		if count {
			b.n = n.i
		} else {
			b.n = noFen
			if fen := n.d.Shift(2); fen.IsInteger() {
				if bi := fen.BigInt(); bi.IsInt64() && bi.Int64() != noFen {
					b.n = bi.Int64()
				}
			}
		}
		bs = append(bs, b)
		desc = append(desc, f.op.symbol()+" "+n.text)
	}
	return bs, strings.Join(desc, " and "), nil
}

// match evaluates an event node, stopping at the first part that fails.
func (e *eventNode) match(typ string, x *evalCtx) bool {
	var since time.Time
	if e.within > 0 {
		since = x.now.Add(-e.within)
	}
	if len(e.count) > 0 && !e.countHolds(x.env.Count(typ, since)) {
		return false
	}
	if len(e.sum) > 0 {
		if r, _ := e.sumHolds(typ, since, x); !r {
			return false
		}
	}
	if e.last {
		t, ok := x.env.Last(typ)
		return e.lastHolds(t, ok, x.now)
	}
	return true
}

func (e *eventNode) countHolds(c int64) bool {
	for i := range e.count {
		if !e.count[i].op.holds(cmp.Compare(c, e.count[i].n)) {
			return false
		}
	}
	return true
}

// sumHolds compares the sum with every bound, in fen through FenSummer
// when possible. It also returns how the sum was observed, for Explain:
// fen and fenOK, or the decimal from Env.Sum.
func (e *eventNode) sumHolds(typ string, since time.Time, x *evalCtx) (bool, sumSeen) {
	if e.sumFen && x.fs != nil {
		if fen, ok := x.fs.SumFen(typ, since); ok {
			for i := range e.sum {
				if !e.sum[i].op.holds(cmp.Compare(fen, e.sum[i].n)) {
					return false, sumSeen{fen: fen, fenOK: true}
				}
			}
			return true, sumSeen{fen: fen, fenOK: true}
		}
	}
	s := x.env.Sum(typ, since)
	seen := sumSeen{dec: s}
	for i := range e.sum {
		if !e.sum[i].op.holds(cmpDec(s, &e.sum[i].num)) {
			return false, seen
		}
	}
	return true, seen
}

func (e *eventNode) lastHolds(t time.Time, ok bool, now time.Time) bool {
	if !ok {
		return false
	}
	if e.olderThan > 0 && !t.Before(now.Add(-e.olderThan)) {
		return false
	}
	if e.lastIn > 0 && t.Before(now.Add(-e.lastIn)) {
		return false
	}
	return true
}
