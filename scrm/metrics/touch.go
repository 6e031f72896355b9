package metrics

import (
	"github.com/scrmkit/scrmkit/scrm"
)

// TouchStats are the counts of one SOP step (and variant), as sop.Stats
// reports them; the host copies them over (metrics does not import sop):
//
//	for _, s := range st.Steps {
//		in = append(in, metrics.TouchStats{Playbook: st.Playbook, Step: s.Step,
//			Variant: s.Variant, Sent: s.Sent, Replied: s.Replied, Converted: s.Converted})
//	}
type TouchStats struct {
	Playbook string
	Step     string
	Variant  string
	// Sent counts the touches done; Replied those followed by a reply in
	// the playbook's reply window, Converted those followed by a paid
	// order in its conversion window (sop.StepStats). Each touch counts at
	// most once in each, so neither exceeds Sent.
	Sent, Replied, Converted int64
}

// TouchRow is one step's touch rates.
type TouchRow struct {
	TouchStats
	ReplyRate      float64 // Replied ÷ Sent
	ConversionRate float64 // Converted ÷ Sent
}

// TouchReport is the touch report of SOP steps.
type TouchReport struct {
	Rows  []TouchRow // in the order given
	Total TouchRow   // the sums; Playbook, Step and Variant empty
}

// Touches computes the touch reply and conversion rates of SOP steps:
//
//	ReplyRate      = Replied ÷ Sent
//	ConversionRate = Converted ÷ Sent
//
// per row and over all rows.
//
// Errors: ErrInvalid naming the field ("stats[2].Replied") for a negative
// count, or Replied or Converted above Sent.
func Touches(stats []TouchStats) (TouchReport, error) {
	const op = "metrics.Touches"
	out := TouchReport{Rows: make([]TouchRow, 0, len(stats))}
	var total TouchStats
	for i, s := range stats {
		field := func(f string) string { return "stats[" + itoa(i) + "]." + f }
		switch {
		case s.Sent < 0:
			return TouchReport{}, scrm.Invalid(op, field("Sent"), "must not be negative, got %d", s.Sent)
		case s.Replied < 0 || s.Replied > s.Sent:
			return TouchReport{}, scrm.Invalid(op, field("Replied"), "must be in 0–Sent (%d), got %d", s.Sent, s.Replied)
		case s.Converted < 0 || s.Converted > s.Sent:
			return TouchReport{}, scrm.Invalid(op, field("Converted"), "must be in 0–Sent (%d), got %d", s.Sent, s.Converted)
		}
		out.Rows = append(out.Rows, touchRow(s))
		total.Sent += s.Sent
		total.Replied += s.Replied
		total.Converted += s.Converted
	}
	out.Total = touchRow(total)
	return out, nil
}

func touchRow(s TouchStats) TouchRow {
	return TouchRow{TouchStats: s, ReplyRate: ratio(s.Replied, s.Sent), ConversionRate: ratio(s.Converted, s.Sent)}
}

// Table lays the report out: a row per step and a total.
func (r TouchReport) Table() Table {
	tb := Table{Title: "Touches",
		Columns: []string{"Playbook", "Step", "Variant", "Sent", "Replied", "Reply rate", "Converted", "Conversion"},
		Align:   []Alignment{AlignLeft, AlignLeft, AlignLeft, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight}}
	row := func(p, s, v string, x TouchRow) []string {
		return []string{p, s, v, count64(x.Sent), count64(x.Replied), pct(x.ReplyRate), count64(x.Converted), pct(x.ConversionRate)}
	}
	for _, x := range r.Rows {
		tb.Rows = append(tb.Rows, row(x.Playbook, x.Step, x.Variant, x))
	}
	tb.Rows = append(tb.Rows, row("Total", "", "", r.Total))
	return tb
}
