package sop

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// compiledPlaybook is a validated Playbook ready to run.
type compiledPlaybook struct {
	pb    Playbook
	when  *rule.Program
	exit  *rule.Program
	deps  rule.Deps // of exit
	steps []compiledStep
	byID  map[string]int
}

type compiledStep struct {
	id      string
	dayMode bool
	day     int
	at      int // minutes after midnight; -1: the anchor's time of day
	after   time.Duration
	cons    constraints // window and weekdays
	action  Action      // without variants
	arms    []Variant   // with variants, IDs defaulted
	cum     []uint64    // cumulative weights of arms
}

// maxDay bounds Step.Day: ten years.
const maxDay = 3660

// MaxOffset bounds Step.After, Reentry.Cooldown and a Task action's
// Deadline: ten years, like Step.Day. With enrollment anchors in the years
// 1900 to 2200 (see EnrollRequest.Anchor), every due time stays within the
// span a Store keeps in int64 Unix nanoseconds (1678 to 2262).
const MaxOffset = maxDay * 24 * time.Hour

func (s *Service) compileOptions(tenant scrm.TenantID) *rule.CompileOptions {
	return &rule.CompileOptions{Location: s.opts.LocationOf(tenant), Schema: s.opts.Schema}
}

// compile validates p, returning an ErrInvalid error that names the first
// bad field.
func (s *Service) compile(op string, p Playbook) (*compiledPlaybook, error) {
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return nil, err
	}
	if err := scrm.CheckID(op, "ID", p.ID); err != nil {
		return nil, err
	}
	if p.Version < 0 {
		return nil, scrm.Invalid(op, "Version", "must not be negative, got %d", p.Version)
	}
	cp := &compiledPlaybook{pb: clonePlaybook(p), byID: make(map[string]int, len(p.Steps))}
	if err := s.compileTrigger(op, p, cp); err != nil {
		return nil, err
	}
	if p.Exit != nil {
		prog, err := rule.Compile(*p.Exit, s.compileOptions(p.Tenant))
		if err != nil {
			return nil, fieldErr(op, "Exit", err)
		}
		cp.exit, cp.deps = prog, prog.Deps()
	}
	switch p.Reentry.Mode {
	case "", Once:
		if p.Reentry.Cooldown != 0 {
			return nil, scrm.Invalid(op, "Reentry.Cooldown", "has no meaning with re-entry once")
		}
	case AfterExit, Always:
		if p.Reentry.Cooldown < 0 || p.Reentry.Cooldown > MaxOffset {
			return nil, scrm.Invalid(op, "Reentry.Cooldown", "must be in 0..%s, got %s", MaxOffset, p.Reentry.Cooldown)
		}
	default:
		return nil, scrm.Invalid(op, "Reentry.Mode", "must be once, after_exit or always, got %q", p.Reentry.Mode)
	}
	if len(p.Steps) == 0 {
		return nil, scrm.Invalid(op, "Steps", "a playbook needs at least one step")
	}
	if len(p.Steps) > MaxSteps {
		return nil, scrm.Invalid(op, "Steps", "at most %d steps, got %d", MaxSteps, len(p.Steps))
	}
	cp.steps = make([]compiledStep, len(p.Steps))
	for i, st := range p.Steps {
		f := fmt.Sprintf("Steps[%d]", i)
		if err := scrm.CheckID(op, f+".ID", st.ID); err != nil {
			return nil, err
		}
		if _, dup := cp.byID[st.ID]; dup {
			return nil, scrm.Invalid(op, f+".ID", "duplicate step ID %q", st.ID)
		}
		cp.byID[st.ID] = i
		cs, err := s.compileStep(op, f, st)
		if err != nil {
			return nil, err
		}
		cp.steps[i] = cs
	}
	return cp, nil
}

func (s *Service) compileTrigger(op string, p Playbook, cp *compiledPlaybook) error {
	tr := p.Trigger
	n := 0
	for _, set := range []bool{tr.Event != "", tr.Tag != "", tr.Segment != "", tr.Inactive != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return scrm.Invalid(op, "Trigger", "set one of Event, Tag, Segment and Inactive, not %d", n)
	}
	if tr.Inactive != nil {
		if tr.Inactive.For <= 0 {
			return scrm.Invalid(op, "Trigger.Inactive.For", "must be positive, got %s", tr.Inactive.For)
		}
	}
	if tr.When != nil {
		if n == 0 {
			return scrm.Invalid(op, "Trigger.When", "needs a trigger (Event, Tag, Segment or Inactive) to narrow")
		}
		prog, err := rule.Compile(*tr.When, s.compileOptions(p.Tenant))
		if err != nil {
			return fieldErr(op, "Trigger.When", err)
		}
		cp.when = prog
	}
	return nil
}

func (s *Service) compileStep(op, f string, st Step) (compiledStep, error) {
	cs := compiledStep{id: st.ID, at: -1, after: st.After, day: st.Day}
	switch {
	case st.After < 0 || st.After > MaxOffset:
		return cs, scrm.Invalid(op, f+".After", "must be in 0..%s (ten years), got %s", MaxOffset, st.After)
	case st.Day < 0 || st.Day > maxDay:
		return cs, scrm.Invalid(op, f+".Day", "must be in 0..%d, got %d", maxDay, st.Day)
	case st.After > 0 && st.Day > 0:
		return cs, scrm.Invalid(op, f+".Day", "set After (an offset) or Day (a calendar day), not both")
	case st.After > 0 && st.At != "":
		return cs, scrm.Invalid(op, f+".At", "At goes with Day, not After: use Day for a local time of day")
	}
	cs.dayMode = st.Day > 0 || st.At != ""
	if st.At != "" {
		m, err := parseClock(st.At)
		if err != nil {
			return cs, scrm.Invalid(op, f+".At", "%v", err)
		}
		cs.at = m
	}
	w, wf, err := parseWindow(st.Window)
	if err != nil {
		return cs, scrm.Invalid(op, f+".Window."+wf, "%v", err)
	}
	cs.cons.window = w
	for k, d := range st.Weekdays {
		if d < time.Sunday || d > time.Saturday {
			return cs, scrm.Invalid(op, fmt.Sprintf("%s.Weekdays[%d]", f, k), "not a weekday: %d", int(d))
		}
		if cs.cons.weekdays&(1<<uint(d)) != 0 {
			return cs, scrm.Invalid(op, fmt.Sprintf("%s.Weekdays[%d]", f, k), "duplicate %s", d)
		}
		cs.cons.weekdays |= 1 << uint(d)
	}
	if len(st.Variants) == 0 {
		if err := s.checkAction(op, f+".Action", st.Action); err != nil {
			return cs, err
		}
		cs.action = cloneAction(st.Action)
		return cs, nil
	}
	if !st.Action.isZero() {
		return cs, scrm.Invalid(op, f+".Action", "a step with Variants takes its actions from them; leave Action empty")
	}
	if len(st.Variants) > MaxVariants {
		return cs, scrm.Invalid(op, f+".Variants", "at most %d variants, got %d", MaxVariants, len(st.Variants))
	}
	ids := make(map[string]bool, len(st.Variants))
	var total uint64
	for k, v := range st.Variants {
		vf := fmt.Sprintf("%s.Variants[%d]", f, k)
		if v.ID == "" {
			v.ID = string(rune('A' + k))
		}
		if err := scrm.CheckID(op, vf+".ID", v.ID); err != nil {
			return cs, err
		}
		if ids[v.ID] {
			return cs, scrm.Invalid(op, vf+".ID", "duplicate variant ID %q", v.ID)
		}
		ids[v.ID] = true
		if v.Weight < 0 || v.Weight > 1_000_000 {
			return cs, scrm.Invalid(op, vf+".Weight", "must be in 0..1000000, got %d", v.Weight)
		}
		if err := s.checkAction(op, vf+".Action", v.Action); err != nil {
			return cs, err
		}
		v.Action = cloneAction(v.Action)
		total += uint64(v.Weight)
		cs.arms = append(cs.arms, v)
		cs.cum = append(cs.cum, total)
	}
	if total == 0 {
		return cs, scrm.Invalid(op, f+".Variants", "the weights add up to 0")
	}
	return cs, nil
}

func (s *Service) checkChannel(op, field, ch string) error {
	if ch == "" {
		return scrm.Invalid(op, field, "required")
	}
	if !s.channels[ch] {
		return scrm.Invalid(op, field, "unknown channel %q (add it to Options.Channels)", ch)
	}
	return nil
}

func (s *Service) checkAction(op, f string, a Action) error {
	switch a.Kind {
	case Message:
		if err := s.checkChannel(op, f+".Channel", a.Channel); err != nil {
			return err
		}
		if a.Template == "" {
			return scrm.Invalid(op, f+".Template", "required for a message")
		}
		if s.opts.Channel == nil {
			return scrm.Invalid(op, f+".Kind", "message actions need Options.Channel")
		}
	case Task:
		if err := scrm.CheckID(op, f+".Staff", a.Staff); err != nil {
			return err
		}
		if a.Channel != "" {
			if err := s.checkChannel(op, f+".Channel", a.Channel); err != nil {
				return err
			}
		}
		if a.Deadline < 0 || a.Deadline > MaxOffset {
			return scrm.Invalid(op, f+".Deadline", "must be in 0..%s, got %s", MaxOffset, a.Deadline)
		}
	case Reward:
		// Reward.Validate also wants the kind's value: a points reward
		// without points would fail at every job of the step.
		if err := a.Reward.Validate(); err != nil {
			var e *scrm.Error
			if errors.As(err, &e) {
				return scrm.Invalid(op, f+".Reward."+e.Field, "%s", e.Msg)
			}
			return err
		}
		if s.opts.Rewarder == nil {
			return scrm.Invalid(op, f+".Kind", "reward actions need Options.Rewarder")
		}
	case Tag, Untag:
		if err := scrm.CheckID(op, f+".Tag", a.Tag); err != nil {
			return err
		}
		if s.opts.Tagger == nil {
			return scrm.Invalid(op, f+".Kind", "tag actions need Options.Tagger")
		}
	case "":
		return scrm.Invalid(op, f+".Kind", "required")
	default:
		return scrm.Invalid(op, f+".Kind", "must be message, task, reward, tag or untag, got %q", a.Kind)
	}
	return nil
}

// fieldErr re-roots a rule compile error under field, keeping its path:
// Exit.all[1].sum.gte.
func fieldErr(op, field string, err error) error {
	var e *scrm.Error
	if errors.As(err, &e) && e.Field != "" {
		return scrm.Invalid(op, field+"."+e.Field, "%s", e.Msg)
	}
	return &scrm.Error{Code: scrm.ErrInvalid, Op: op, Field: field, Err: err}
}

// compiledPolicy is a validated Policy.
type compiledPolicy struct {
	p        Policy
	quiet    *window
	caps     map[string][]Cap // by channel
	suppress []string
	// err, when set, is why the stored policy does not compile in this
	// Service: messages and posts wait (see Service.loadPolicy).
	err error
}

func (s *Service) compilePolicy(op string, p Policy) (*compiledPolicy, error) {
	cp := &compiledPolicy{p: clonePolicy(p), suppress: p.SuppressTags}
	w, wf, err := parseWindow(p.QuietHours)
	if err != nil {
		return nil, scrm.Invalid(op, "QuietHours."+wf, "%v", err)
	}
	cp.quiet = w
	type capID struct {
		ch  string
		per Period
	}
	seen := make(map[capID]bool)
	for i, c := range p.Caps {
		f := fmt.Sprintf("Caps[%d]", i)
		if err := s.checkChannel(op, f+".Channel", c.Channel); err != nil {
			return nil, err
		}
		if c.Max <= 0 {
			return nil, scrm.Invalid(op, f+".Max", "must be at least 1, got %d (remove the channel's steps to send none)", c.Max)
		}
		switch c.Per {
		case Day, Week, Month:
		default:
			return nil, scrm.Invalid(op, f+".Per", "must be day, week or month, got %q", c.Per)
		}
		switch c.OnExceed {
		case "", Defer, Skip:
		default:
			return nil, scrm.Invalid(op, f+".OnExceed", "must be defer or skip, got %q", c.OnExceed)
		}
		if seen[capID{c.Channel, c.Per}] {
			return nil, scrm.Invalid(op, f, "a second %s cap on channel %q", c.Per, c.Channel)
		}
		seen[capID{c.Channel, c.Per}] = true
		if cp.caps == nil {
			cp.caps = make(map[string][]Cap)
		}
		cp.caps[c.Channel] = append(cp.caps[c.Channel], c)
	}
	for ch, rl := range p.RateLimits {
		f := "RateLimits[" + strconv.Quote(ch) + "]"
		if err := s.checkChannel(op, f, ch); err != nil {
			return nil, err
		}
		if rl.N <= 0 {
			return nil, scrm.Invalid(op, f+".N", "must be at least 1, got %d", rl.N)
		}
		if rl.Per <= 0 {
			return nil, scrm.Invalid(op, f+".Per", "must be positive, got %s", rl.Per)
		}
		if rl.Burst < 0 {
			return nil, scrm.Invalid(op, f+".Burst", "must not be negative, got %d", rl.Burst)
		}
	}
	for i, t := range p.SuppressTags {
		if err := scrm.CheckID(op, fmt.Sprintf("SuppressTags[%d]", i), t); err != nil {
			return nil, err
		}
	}
	return cp, nil
}

// compileCalendar validates c.
func (s *Service) compileCalendar(op string, c Calendar) ([]int, error) {
	if err := scrm.CheckID(op, "Tenant", string(c.Tenant)); err != nil {
		return nil, err
	}
	if err := scrm.CheckID(op, "ID", c.ID); err != nil {
		return nil, err
	}
	if len(c.Entries) > MaxEntries {
		return nil, scrm.Invalid(op, "Entries", "at most %d entries, got %d", MaxEntries, len(c.Entries))
	}
	if len(c.Entries) > 0 && s.opts.Channel == nil {
		return nil, scrm.Invalid(op, "Entries", "calendar posts need Options.Channel")
	}
	ats := make([]int, len(c.Entries))
	for i, e := range c.Entries {
		f := fmt.Sprintf("Entries[%d]", i)
		if e.Weekday < time.Sunday || e.Weekday > time.Saturday {
			return nil, scrm.Invalid(op, f+".Weekday", "not a weekday: %d", int(e.Weekday))
		}
		m, err := parseClock(e.At)
		if err != nil {
			return nil, scrm.Invalid(op, f+".At", "%v", err)
		}
		ats[i] = m
		if len(e.Groups) == 0 {
			return nil, scrm.Invalid(op, f+".Groups", "at least one group")
		}
		if len(e.Groups) > MaxGroups {
			return nil, scrm.Invalid(op, f+".Groups", "at most %d groups, got %d", MaxGroups, len(e.Groups))
		}
		seen := make(map[string]bool, len(e.Groups))
		for k, g := range e.Groups {
			if err := scrm.CheckID(op, fmt.Sprintf("%s.Groups[%d]", f, k), g); err != nil {
				return nil, err
			}
			if seen[g] {
				return nil, scrm.Invalid(op, fmt.Sprintf("%s.Groups[%d]", f, k), "duplicate group %q", g)
			}
			seen[g] = true
		}
		if err := s.checkChannel(op, f+".Channel", e.Channel); err != nil {
			return nil, err
		}
		if e.Template == "" {
			return nil, scrm.Invalid(op, f+".Template", "required")
		}
	}
	return ats, nil
}
