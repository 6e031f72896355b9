package tagging

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// change is one decided change of one tag on one customer.
type change struct {
	cause  string
	tag    string
	action Action
	mark   scrm.TagMark // the mark written (applied, refreshed) or taken off (removed)
	at     time.Time
	source string
	by     string
	rule   string
	reason string
	// same marks an application whose mark is already on the profile,
	// identical: either a replay of the cause that wrote it, or nothing.
	same        bool
	fingerprint string
}

func (c *change) entry() HistoryEntry {
	e := HistoryEntry{
		ID:          entryID(c.cause, c.tag),
		Tag:         c.tag,
		Action:      c.action,
		At:          c.at,
		Source:      c.source,
		By:          c.by,
		Rule:        c.rule,
		Cause:       c.cause,
		Reason:      c.reason,
		Fingerprint: c.fingerprint,
	}
	if c.action != ActionRemoved {
		e.Expires = c.mark.Expires
	}
	return e
}

// cand is a rule an event may change the result of.
type cand struct {
	r       *compiledRule
	direct  bool   // caused by a new event the rule reads: refresh allowed
	keyword string // for keyword rules: the keyword the reply matched
}

// pass is one evaluation of rules for one customer: an event, a sweep, a
// merge.
type pass struct {
	tr      *tenantRules
	now     time.Time // evaluation instant
	at      time.Time // At of the marks written
	cause   string
	trigger string // for reasons: the event type, "sweep", "merge"
	cands   []cand

	expire     bool   // also remove expired tags (sweeps)
	mergeCause string // also resolve exclusive-group conflicts (merges)

	isCand []int // rule ordinal → index in cands + 1; built lazily
}

func (ps *pass) candOf(r *compiledRule) *cand {
	if len(ps.cands) <= 16 {
		for i := range ps.cands {
			if ps.cands[i].r == r {
				return &ps.cands[i]
			}
		}
		return nil
	}
	if ps.isCand == nil {
		ps.isCand = make([]int, len(ps.tr.rules))
		for i := range ps.cands {
			ps.isCand[ps.cands[i].r.ordinal] = i + 1
		}
	}
	if k := ps.isCand[r.ordinal]; k > 0 {
		return &ps.cands[k-1]
	}
	return nil
}

// plan decides the changes for profile p and applies them to p, which the
// caller owns. Every decision is taken on the profile as it was (after
// expiries and merge conflicts), so the result does not depend on the order
// of rules; tags a change applies reach rules that read them through the
// tag.applied event it publishes.
func (ps *pass) plan(p *scrm.Profile) []change {
	var out []change
	if ps.expire {
		out = ps.planExpiries(p, out)
	}
	if ps.mergeCause != "" {
		out = ps.planConflicts(p, out)
	}
	for _, c := range out {
		p.RemoveTag(c.tag)
	}
	first := len(out)
	var seen [8]*slot
	slots := seen[:0]
	for i := range ps.cands {
		sl := ps.cands[i].r.slot
		dup := false
		for _, x := range slots {
			if x == sl {
				dup = true
				break
			}
		}
		if !dup {
			slots = append(slots, sl)
		}
	}
	for _, sl := range slots {
		out = ps.planSlot(p, sl, out)
	}
	for _, c := range out[first:] {
		if c.action == ActionRemoved {
			p.RemoveTag(c.tag)
		} else if !c.same {
			p.SetTag(c.tag, c.mark)
		}
	}
	return out
}

func (ps *pass) planExpiries(p *scrm.Profile, out []change) []change {
	for tag, m := range p.Tags() {
		if m.Active(ps.now) {
			continue
		}
		out = append(out, change{
			cause: expireCause(p.Customer, m.Expires), tag: tag, action: ActionRemoved,
			mark: m, at: m.Expires, source: "expiry", reason: "expired",
		})
	}
	sortChanges(out)
	return out
}

// planConflicts resolves exclusive groups in which a merge left several
// tags: an unexpired mark beats an expired one, then the most recently
// applied wins (ties: the later expiry, then the smaller tag ID).
func (ps *pass) planConflicts(p *scrm.Profile, out []change) []change {
	for _, g := range ps.tr.exclusive {
		var keep string
		var keepMark scrm.TagMark
		keepActive := false
		n := 0
		for _, t := range g.tags {
			m, ok := p.TagMark(t)
			if !ok {
				continue
			}
			n++
			active := m.Active(ps.now)
			if keep == "" || (active && !keepActive) || (active == keepActive &&
				(m.At.After(keepMark.At) || (m.At.Equal(keepMark.At) && laterExpiry(m, keepMark)))) {
				keep, keepMark, keepActive = t, m, active
			}
		}
		if n < 2 {
			continue
		}
		for _, t := range g.tags {
			m, ok := p.TagMark(t)
			if !ok || t == keep {
				continue
			}
			why := "kept the newer"
			if !m.Active(ps.now) {
				why = "expired; kept"
			}
			out = append(out, change{
				cause: ps.mergeCause, tag: t, action: ActionRemoved, mark: m, at: ps.at, source: "merge",
				reason: fmt.Sprintf("merged: %s %s in exclusive group %s", why, keep, groupName(g)),
			})
		}
	}
	return out
}

// laterExpiry: a mark that never expires is later than one that does.
func laterExpiry(a, b scrm.TagMark) bool {
	switch {
	case a.Expires.IsZero():
		return !b.Expires.IsZero()
	case b.Expires.IsZero():
		return false
	}
	return a.Expires.After(b.Expires)
}

// planSlot decides one slot: the first rule (in priority order) that holds
// wins; in an exclusive group its tag replaces the group's others. When
// none holds, Sync rules take off the marks rules put there.
func (ps *pass) planSlot(p *scrm.Profile, sl *slot, out []change) []change {
	var win *compiledRule
	var wc *cand
	for _, r := range sl.rules {
		c := ps.candOf(r)
		if r.kw != nil && (c == nil || c.keyword == "") {
			continue // a keyword rule holds only on a reply that matched it
		}
		if !r.holds(p, ps.now) {
			continue
		}
		win, wc = r, c
		break
	}
	if win == nil {
		return ps.planSync(p, sl, out)
	}
	desired := scrm.TagMark{At: ps.at, Source: win.src}
	if win.Expires > 0 {
		desired.Expires = ps.at.Add(win.Expires)
		if !desired.Expires.After(ps.now) {
			return out // it would be born expired (a late event)
		}
	}
	cur, has := p.TagMark(win.Tag)
	active := has && cur.Active(ps.now)
	// A refresh never shortens an expiry: it keeps the current one when
	// that is later (or never).
	if active && laterExpiry(cur, desired) {
		desired.Expires = cur.Expires
	}
	ch := change{cause: ps.cause, tag: win.Tag, mark: desired, at: ps.at, source: win.src, rule: win.ID}
	switch {
	case has && sameMark(cur, desired):
		ch.action, ch.same = ActionApplied, true
		out = append(out, ch)
		return out
	case !active:
		ch.action, ch.reason = ActionApplied, ps.reason(win, wc)
		out = append(out, ch)
	case (win.Expires > 0 || win.kw != nil) && wc != nil && wc.direct && desired.At.After(cur.At) &&
		sameKind(cur.Source, win.src):
		ch.action, ch.reason = ActionRefreshed, ps.reason(win, wc)
		out = append(out, ch)
	}
	if sl.group != nil {
		for _, t := range sl.group.tags {
			if t == win.Tag {
				continue
			}
			if m, ok := p.TagMark(t); ok {
				out = append(out, change{
					cause: ps.cause, tag: t, action: ActionRemoved, mark: m, at: ps.at, source: win.src, rule: win.ID,
					reason: "replaced by " + win.Tag + " (exclusive group " + groupName(sl.group) + ")",
				})
			}
		}
	}
	return out
}

// sameKind reports whether a rule whose marks carry Source src may refresh
// a mark with Source cur: only marks written by rules of its kind (any
// "rule:" mark for a condition rule, any "keyword:" mark for a keyword
// rule). Manual, imported and other marks are never refreshed, so a rule
// does not take them over (a Sync rule could then remove them) nor give
// them an expiry.
func sameKind(cur, src string) bool {
	kind := src[:strings.IndexByte(src, ':')+1]
	return strings.HasPrefix(cur, kind)
}

func (ps *pass) planSync(p *scrm.Profile, sl *slot, out []change) []change {
	for i, r := range sl.rules {
		if !r.Sync {
			continue
		}
		done := false
		for _, prev := range sl.rules[:i] {
			if prev.Sync && prev.Tag == r.Tag {
				done = true
				break
			}
		}
		if done {
			continue
		}
		m, ok := p.TagMark(r.Tag)
		if !ok || !m.Active(ps.now) || !strings.HasPrefix(m.Source, "rule:") {
			continue
		}
		out = append(out, change{
			cause: ps.cause, tag: r.Tag, action: ActionRemoved, mark: m, at: ps.at, source: r.src, rule: r.ID,
			reason: "rule " + r.ID + " no longer matches (" + ps.trigger + ")",
		})
	}
	return out
}

func (ps *pass) reason(r *compiledRule, c *cand) string {
	if r.kw != nil && c != nil {
		return "reply matched " + strconv.Quote(c.keyword) + " (rule " + r.ID + ")"
	}
	return "rule " + r.ID + " matched (" + ps.trigger + ")"
}

// sameMark compares marks by instant, not by representation: stores may
// hand back times in another location.
func sameMark(a, b scrm.TagMark) bool {
	return a.At.Equal(b.At) && a.Expires.Equal(b.Expires) && a.Source == b.Source && a.By == b.By
}

func groupName(g *groupDef) string {
	if g.Name != "" {
		return g.Name
	}
	return g.ID
}

func sortChanges(cs []change) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].tag < cs[j-1].tag; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// candidates returns the rules event e may change the result of.
func (tr *tenantRules) candidates(e scrm.Event, out []cand) []cand {
	tr.deps.Affected(e, func(r *compiledRule, direct bool) {
		for i := range out {
			if out[i].r == r {
				out[i].direct = out[i].direct || direct
				return
			}
		}
		out = append(out, cand{r: r, direct: direct})
	})
	switch e.Type {
	case scrm.EventMessageReplied:
		if len(tr.keyword) > 0 {
			text := NormalizeText(e.Prop("text"))
			exact := trimPunct(text)
			for _, r := range tr.keyword {
				if kw, ok := r.kw.match(text, exact); ok {
					out = append(out, cand{r: r, direct: true, keyword: kw})
				}
			}
		}
	}
	return out
}
