package metrics

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// FunnelStep is one step of a funnel: an event type, and how long after
// the previous step it may happen.
type FunnelStep struct {
	// Name labels the step in tables and charts; default Event.
	Name string
	// Event is the event type that completes the step.
	Event string
	// Within is the most time allowed between the previous step's event
	// and this one's; 0 means no limit. Ignored on the first step.
	Within time.Duration
}

// FunnelOptions define a funnel.
type FunnelOptions struct {
	// Steps in order; at least one, at most 32.
	Steps []FunnelStep
	// From and To select the customers entering the funnel: those with a
	// first-step event in [From, To); a zero end is open. Later steps may
	// happen after To.
	From, To time.Time
}

// StandardFunnel is the private-domain journey of the issue: added as a
// friend → joined a group within 7 days → first paid order within 30 days
// → a second paid order within 90 days.
func StandardFunnel() []FunnelStep {
	return []FunnelStep{
		{Name: "added", Event: scrm.EventCustomerAdded},
		{Name: "joined group", Event: scrm.EventGroupJoined, Within: 7 * 24 * time.Hour},
		{Name: "first order", Event: scrm.EventOrderPaid, Within: 30 * 24 * time.Hour},
		{Name: "second order", Event: scrm.EventOrderPaid, Within: 90 * 24 * time.Hour},
	}
}

// FunnelStepResult is how many customers reached one step.
type FunnelStepResult struct {
	Name   string
	Event  string
	Within time.Duration
	// Customers reached this step: they have a chain of events, one per
	// step up to this one, each a later event than the one before (a
	// distinct, later-or-simultaneous event in time order) and no more than
	// its step's Within after it.
	Customers int
	// Conversion = Customers ÷ the previous step's Customers (1 for the
	// first step with any customers).
	Conversion float64
	// Overall = Customers ÷ the first step's Customers.
	Overall float64
	// DropOff = the previous step's Customers − Customers (0 for the first
	// step); DropOffRate = DropOff ÷ the previous step's Customers.
	DropOff     int
	DropOffRate float64
}

// FunnelReport is a computed funnel.
type FunnelReport struct {
	From, To time.Time
	Steps    []FunnelStepResult
}

// Funnel counts the customers reaching each step of an ordered funnel.
// A customer reaches step k when some chain e₀, e₁, …, e_k of their events
// exists with e_i of type Steps[i].Event, e₀ in [From, To), each e_i
// after e_{i−1} in time order (a distinct event; equal times keep the
// order the events were added in) and e_i.Time − e_{i−1}.Time ≤
// Steps[i].Within when that is set. Any chain counts, not only the one
// starting at the first qualifying event, so a late start that converts
// quickly is found. Each customer counts at most once per step.
//
//	Conversion(k)  = Customers(k) ÷ Customers(k−1)
//	Overall(k)     = Customers(k) ÷ Customers(0)
//	DropOff(k)     = Customers(k−1) − Customers(k)
//
// The same event type may appear in several steps ("first order" then
// "second order"): each step then needs a further event.
//
// Errors: ErrInvalid naming the field for no steps, more than 32, an
// empty Event, a negative Within, or To not after From.
func (c *Collector) Funnel(o FunnelOptions) (FunnelReport, error) {
	const op = "metrics.Funnel"
	if len(o.Steps) == 0 || len(o.Steps) > 32 {
		return FunnelReport{}, scrm.Invalid(op, "Steps", "need 1–32 steps, got %d", len(o.Steps))
	}
	for i, s := range o.Steps {
		if s.Event == "" {
			return FunnelReport{}, scrm.Invalid(op, "Steps["+itoa(i)+"].Event", "required")
		}
		if s.Within < 0 {
			return FunnelReport{}, scrm.Invalid(op, "Steps["+itoa(i)+"].Within", "must not be negative, got %s", s.Within)
		}
	}
	if err := checkWindow(op, o.From, o.To); err != nil {
		return FunnelReport{}, err
	}
	out := FunnelReport{From: o.From, To: o.To, Steps: make([]FunnelStepResult, len(o.Steps))}
	for i, s := range o.Steps {
		out.Steps[i] = FunnelStepResult{Name: s.Name, Event: s.Event, Within: s.Within}
		if s.Name == "" {
			out.Steps[i].Name = s.Event
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.compact()
	typs := make([]uint16, len(o.Steps))
	for i, s := range o.Steps {
		typs[i] = c.lookupType(s.Event)
	}
	if typs[0] == 0 {
		return out, nil
	}
	win := windowOf(o.From, o.To)
	counts := make([]int, len(o.Steps))
	var prev, cur []bool
	for i := range c.custs {
		run := c.runOf(i)
		if len(run) == 0 {
			continue
		}
		if cap(prev) < len(run) {
			prev, cur = make([]bool, len(run)), make([]bool, len(run))
		}
		prev, cur = prev[:len(run)], cur[:len(run)]
		any := false
		for j, r := range run {
			prev[j] = r.typ == typs[0] && win.has(r.t)
			any = any || prev[j]
		}
		if !any {
			continue
		}
		counts[0]++
		for k := 1; k < len(o.Steps); k++ {
			if typs[k] == 0 {
				break
			}
			within := int64(o.Steps[k].Within)
			// The latest reached step-(k−1) event before j is the best
			// predecessor for j: it leaves the least time between them.
			last, have := int64(0), false
			any = false
			for j, r := range run {
				cur[j] = r.typ == typs[k] && have && (within == 0 || r.t-last <= within)
				any = any || cur[j]
				if prev[j] {
					last, have = r.t, true
				}
			}
			if !any {
				break
			}
			counts[k]++
			prev, cur = cur, prev
		}
	}
	for k := range out.Steps {
		s := &out.Steps[k]
		s.Customers = counts[k]
		s.Overall = ratio(int64(counts[k]), int64(counts[0]))
		if k == 0 {
			s.Conversion = ratio(int64(counts[0]), int64(counts[0]))
			continue
		}
		s.Conversion = ratio(int64(counts[k]), int64(counts[k-1]))
		s.DropOff = counts[k-1] - counts[k]
		s.DropOffRate = ratio(int64(s.DropOff), int64(counts[k-1]))
	}
	return out, nil
}

// Table lays the funnel out: a row per step with its time limit, the
// customers reaching it, conversion from the previous step, overall
// conversion and drop-off.
func (f FunnelReport) Table() Table {
	tb := Table{Title: "Funnel",
		Columns: []string{"Step", "Event", "Within", "Customers", "Conversion", "Overall", "Drop-off", "Drop-off rate"},
		Align:   []Alignment{AlignLeft, AlignLeft, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight}}
	for i, s := range f.Steps {
		row := []string{s.Name, s.Event, duration(s.Within), count(s.Customers), pct(s.Conversion), pct(s.Overall), "", ""}
		if i > 0 {
			row[6], row[7] = count(s.DropOff), pct(s.DropOffRate)
		}
		tb.Rows = append(tb.Rows, row)
	}
	return tb
}
