package segment

import (
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// Stage is one stage of a customer lifecycle: a name and the condition a
// customer in that stage satisfies.
type Stage struct {
	Name string
	// When is the stage's condition. It may read the derived attributes
	// "$first.<event type>" (see FirstAttrPrefix). The zero Condition
	// matches every customer: use it for a last, catch-all stage.
	When rule.Condition
}

// The stages of DefaultLifecycle.
const (
	StageProspect = "prospect" // no purchase yet (潜在客户)
	StageNew      = "new"      // first purchase within the last 30 days (新客)
	StageActive   = "active"   // a purchase within the last 30 days (活跃)
	StageDormant  = "dormant"  // no purchase for 30 days (沉睡)
	StageChurned  = "churned"  // no purchase for 90 days (流失)
)

// The stages of B2BLifecycle, and the attribute a CRM sets to move a lead
// along by hand.
const (
	StageLead = "潜客"  // a lead, not yet qualified
	StageMQL  = "MQL" // marketing-qualified lead
	StageSQL  = "SQL" // sales-qualified lead
	StageWon  = "成单"  // closed: the customer bought

	LeadStageAttr = "lead_stage"
)

// Lifecycle assigns each customer one stage: the first of its ordered stages
// whose condition matches. Build one with NewLifecycle, or use
// DefaultLifecycle or B2BLifecycle. A Lifecycle is immutable and safe for
// concurrent use.
type Lifecycle struct {
	stages []Stage
	progs  []*rule.Program // nil for a catch-all stage
}

// NewLifecycle compiles stages, which are evaluated in order (first match
// wins). opts are the compile options of the conditions (nil: defaults).
//
// Errors: ErrInvalid naming the field when there are no stages ("Stages"), a
// name is empty or repeated ("Stages[2].Name"), a condition does not compile
// ("Stages[1].When.all[0].op"), or a catch-all stage is followed by others,
// which could never match.
func NewLifecycle(stages []Stage, opts *rule.CompileOptions) (*Lifecycle, error) {
	const op = "segment.NewLifecycle"
	if len(stages) == 0 {
		return nil, scrm.Invalid(op, "Stages", "a lifecycle needs at least one stage")
	}
	l := &Lifecycle{stages: make([]Stage, len(stages)), progs: make([]*rule.Program, len(stages))}
	seen := make(map[string]bool, len(stages))
	for i, st := range stages {
		field := "Stages[" + strconv.Itoa(i) + "]"
		if st.Name == "" {
			return nil, scrm.Invalid(op, field+".Name", "required")
		}
		if seen[st.Name] {
			return nil, scrm.Invalid(op, field+".Name", "stage %q appears twice", st.Name)
		}
		seen[st.Name] = true
		if i > 0 && l.progs[i-1] == nil {
			return nil, scrm.Invalid(op, field, "unreachable: stage %q before it matches every customer", stages[i-1].Name)
		}
		if !st.When.IsZero() {
			prog, err := rule.Compile(st.When, opts)
			if err != nil {
				return nil, prefixField(op, field+".When", err)
			}
			l.progs[i] = prog
		}
		l.stages[i] = Stage{Name: st.Name, When: st.When.Clone()}
	}
	return l, nil
}

// Stage returns the name of the customer's stage at instant now: the first
// stage whose condition env satisfies, or "" when none does.
func (l *Lifecycle) Stage(env rule.Env, now time.Time) string {
	if env == nil {
		return ""
	}
	env = withFirst(env)
	for i, prog := range l.progs {
		if prog == nil || prog.Eval(env, now) {
			return l.stages[i].Name
		}
	}
	return ""
}

// Explain returns, for each stage up to and including the one that matched,
// the trace of its condition (see rule.Trace); a catch-all stage has a
// trace saying so.
func (l *Lifecycle) Explain(env rule.Env, now time.Time) []StageTrace {
	if env == nil {
		return nil
	}
	env = withFirst(env)
	var out []StageTrace
	for i, prog := range l.progs {
		st := StageTrace{Stage: l.stages[i].Name}
		if prog == nil {
			st.Trace = rule.Trace{Desc: "matches every customer", Result: true}
		} else {
			st.Trace = prog.Explain(env, now)
		}
		out = append(out, st)
		if st.Trace.Result {
			break
		}
	}
	return out
}

// StageTrace is one stage's evaluation in Lifecycle.Explain.
type StageTrace struct {
	Stage string
	Trace rule.Trace
}

// Stages returns a copy of the lifecycle's stages, in evaluation order.
func (l *Lifecycle) Stages() []Stage {
	out := make([]Stage, len(l.stages))
	for i, st := range l.stages {
		out[i] = Stage{Name: st.Name, When: st.When.Clone()}
	}
	return out
}

const day = 24 * time.Hour

// DefaultLifecycleStages returns the stages of DefaultLifecycle, to adapt
// (another purchase event, other windows) and pass to NewLifecycle:
//
//	prospect  no order.paid ever
//	new       the first order.paid within 30 days
//	active    the last order.paid within 30 days
//	dormant   the last order.paid within 90 days (so: 30 to 90 days ago)
//	churned   every other customer (the last order.paid over 90 days ago)
func DefaultLifecycleStages() []Stage {
	paid := rule.Event(scrm.EventOrderPaid)
	return []Stage{
		{Name: StageProspect, When: rule.Not(paid.Happened())},
		{Name: StageNew, When: rule.Attr(FirstAttrPrefix + scrm.EventOrderPaid).Within(30 * day)},
		{Name: StageActive, When: paid.LastWithin(30 * day)},
		{Name: StageDormant, When: paid.LastWithin(90 * day)},
		{Name: StageChurned},
	}
}

// DefaultLifecycle returns the retail lifecycle prospect → new → active →
// dormant → churned; see DefaultLifecycleStages.
func DefaultLifecycle() *Lifecycle {
	return mustLifecycle(DefaultLifecycleStages())
}

// B2BLifecycleStages returns the stages of B2BLifecycle, most advanced
// first, since a later stage implies the earlier ones:
//
//	成单  an order.paid, or attribute lead_stage "成单"
//	SQL   tag "SQL", or lead_stage "SQL" (sales accepted the lead)
//	MQL   tag "MQL", lead_stage "MQL", or engagement in the last 30 days:
//	      3 page views, or a reply to a message
//	潜客  every other customer
func B2BLifecycleStages() []Stage {
	return []Stage{
		{Name: StageWon, When: rule.Any(rule.Event(scrm.EventOrderPaid).Happened(), rule.Attr(LeadStageAttr).Eq(StageWon))},
		{Name: StageSQL, When: rule.Any(rule.HasTag(StageSQL), rule.Attr(LeadStageAttr).Eq(StageSQL))},
		{Name: StageMQL, When: rule.Any(
			rule.HasTag(StageMQL),
			rule.Attr(LeadStageAttr).Eq(StageMQL),
			rule.Event(scrm.EventPageViewed).Within(30*day).CountGte(3),
			rule.Event(scrm.EventMessageReplied).Within(30*day).Happened(),
		)},
		{Name: StageLead},
	}
}

// B2BLifecycle returns the B2B lead funnel 潜客 → MQL → SQL → 成单; see
// B2BLifecycleStages.
func B2BLifecycle() *Lifecycle {
	return mustLifecycle(B2BLifecycleStages())
}

func mustLifecycle(stages []Stage) *Lifecycle {
	l, err := NewLifecycle(stages, nil)
	if err != nil {
		panic(err) // the built-in stages compile; a test guards them
	}
	return l
}
