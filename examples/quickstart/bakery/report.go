package bakery

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/scrmkit/scrmkit/scrm/metrics"
)

// WriteText writes the run's summary, the story of one customer and the
// KPI tables as plain text.
func (r *Result) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n", r.title())
	for _, l := range r.summary() {
		ew.printf("  %s\n", l)
	}
	ew.printf("\n== The story of %s\n%s\n", r.Story.Customer, r.Story.Intro)
	for _, l := range r.Story.Lines {
		ew.printf("  %s  %s\n", l.At.Format("01-02 Mon 15:04"), l.Text)
	}
	ew.printf("%s\n", r.Story.Outro)
	for _, t := range r.Tables() {
		ew.printf("\n")
		if ew.err == nil {
			ew.err = t.WriteText(w)
		}
	}
	return ew.err
}

// WriteHTML writes the report as one self-contained HTML page
// (metrics.WriteHTML): the summary, the funnel chart, the retention
// heatmap, the story and every KPI table.
func (r *Result) WriteHTML(w io.Writer) error {
	tables := r.Tables()
	story := metrics.Table{Columns: []string{"When", "What"}}
	for _, l := range r.Story.Lines {
		story.Rows = append(story.Rows, []string{l.At.Format("01-02 Mon 15:04"), l.Text})
	}
	page := metrics.Page{Title: r.title(), Intro: strings.Join(r.summary(), ". ") + "."}
	for i := range tables {
		t := &tables[i]
		// The heading names the table; a caption would repeat it.
		sec := metrics.Section{Heading: t.Title, Table: t}
		t.Title = ""
		switch i {
		case tabFunnel:
			sec.Chart = r.KPIs.Funnel
		case tabCohorts:
			sec.Chart = r.KPIs.Cohorts
		}
		page.Sections = append(page.Sections, sec)
		if i == tabFunnel {
			page.Sections = append(page.Sections, metrics.Section{Heading: "The story of " + string(r.Story.Customer),
				Text: r.Story.Intro + " " + r.Story.Outro, Table: &story})
		}
	}
	return metrics.WriteHTML(w, page)
}

// The positions of the charted tables in Tables.
const (
	tabFunnel  = 0
	tabCohorts = 4
)

// Tables lays the KPIs out as tables, in the order of the report: the
// funnel, acquisition by campaign, the stores side by side, repurchase by
// staff, retention cohorts, LTV by cohort, coupons, referral, SOP touches
// and RFM classes. Each can be written as text or CSV (metrics.Table).
func (r *Result) Tables() []metrics.Table {
	k := r.KPIs
	titled := func(t metrics.Table, title string) metrics.Table {
		t.Title = title
		return t
	}
	rfm := metrics.Table{Title: "RFM classes at the end (customers with an order in the last 90 days)",
		Columns: []string{"Class", "", "Customers"}, Align: []metrics.Alignment{metrics.AlignLeft, metrics.AlignLeft, metrics.AlignRight}}
	for _, c := range k.RFMClasses {
		rfm.Rows = append(rfm.Rows, []string{string(c.Class), c.Class.English(), strconv.Itoa(c.Customers)})
	}
	return []metrics.Table{
		titled(k.Funnel.Table(), "Funnel: added → joined the group (7 days) → first order (30 days) → second order (90 days)"),
		titled(k.Acquisition.Table(), "Acquisition by campaign: new customers and 30-day conversion"),
		titled(k.Stores.Table(), "Stores side by side"),
		titled(k.Repurchase.Table(), "Repurchase rate (buyers with 2+ orders), by the staff member who added them"),
		titled(k.Cohorts.Table(), "Retention by month of joining (share with an order in month M+k)"),
		titled(k.Cohorts.LTV().Table(), "Observed LTV by month of joining (revenue per customer through month M+k)"),
		titled(k.Coupons.Table(), "Coupon redemption and discount cost"),
		titled(k.Referrals.Table(), "Referral 老带新: conversion and K-factor"),
		titled(k.Touches.Table(), "SOP touches: reply and conversion rates"),
		rfm,
	}
}

// title names the run.
func (r *Result) title() string {
	return fmt.Sprintf("麦香坊 bakery chain: %d days from %s, %d people (seed %d)",
		r.Config.Days, r.Start.Format("2006-01-02"), r.People, r.Config.Seed)
}

// summary is the run in a few lines.
func (r *Result) summary() []string {
	return []string{
		fmt.Sprintf("%d customers added through 3 stores' QR codes, 8 staff channel codes and friends' invite codes; %d came back under a second identity and were merged into their first customer",
			r.Customers, r.Merged),
		fmt.Sprintf("%d orders paid, revenue ¥%s, of which coupons took off ¥%s", r.Orders, r.Revenue.StringFixed(2), r.Discount.StringFixed(2)),
		fmt.Sprintf("%d one-to-one messages and %d group posts sent, none in the quiet hours 22:00–08:00; %d events delivered", r.Messages, r.GroupPosts, len(r.Log)),
	}
}

// errWriter remembers the first write error, so that a report is written
// with plain calls and checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
