package metrics_test

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/metrics"
)

func TestDisplayWidth(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"面包", 4},
		{"新客券A", 7},
		{"ｆｕｌｌ", 8},
		{"e\u0301", 1}, // e + combining acute
		{"한국", 4},
		{"カタカナ", 8},
		{"\x00\t", 0},
		{"\xff", 1},
	} {
		assert.Equal(t, tc.want, metrics.DisplayWidth(tc.s), "%q", tc.s)
	}
}

func TestTableTextAlignsCJK(t *testing.T) {
	tb := metrics.Table{
		Title:   "门店",
		Columns: []string{"Store", "Added"},
		Align:   []metrics.Alignment{metrics.AlignLeft, metrics.AlignRight},
		Rows:    [][]string{{"静安寺店", "12"}, {"s2", "3"}, {"x"}},
	}
	want := "门店\n" +
		"Store     Added\n" +
		"---------------\n" +
		"静安寺店     12\n" +
		"s2            3\n" +
		"x\n"
	assert.Equal(t, want, tb.String())
}

func TestTableCSVRoundTrip(t *testing.T) {
	c := bakeryCollector()
	a, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByStore})
	require.NoError(t, err)
	for _, tb := range []metrics.Table{
		a.Table(),
		{Columns: []string{"名称", "note"}, Rows: [][]string{{"面包, \"法棍\"", "line\nbreak"}, {"", " lead"}}},
	} {
		var buf bytes.Buffer
		require.NoError(t, tb.WriteCSV(&buf))
		recs, err := csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		require.NotEmpty(t, recs)
		assert.Equal(t, tb.Columns, recs[0])
		assert.Equal(t, tb.Rows, recs[1:])
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestWritersReportErrors(t *testing.T) {
	c := bakeryCollector()
	f, err := c.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel()})
	require.NoError(t, err)
	tb := f.Table()
	assert.Error(t, tb.WriteText(&failWriter{}))
	assert.Error(t, tb.WriteCSV(&failWriter{}))
	assert.Error(t, f.WriteSVG(&failWriter{}))
	assert.Error(t, metrics.WriteHTML(&failWriter{}, metrics.Page{Title: "x", Sections: []metrics.Section{{Table: &tb}}}))
}

// parseSVG checks that b is well-formed XML with an <svg> root in the SVG
// namespace, and returns its text content.
func parseSVG(t *testing.T, b []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var text strings.Builder
	depth, root := 0, ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "%s", b)
		switch el := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				root = el.Name.Space + " " + el.Name.Local
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(el)
		}
	}
	assert.Equal(t, "http://www.w3.org/2000/svg svg", root)
	assert.Equal(t, 0, depth)
	return text.String()
}

func TestFunnelSVG(t *testing.T) {
	c := bakeryCollector()
	steps := metrics.StandardFunnel()
	steps[1].Name = `加群 <7d> & "more"`
	f, err := c.Funnel(metrics.FunnelOptions{Steps: steps})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, f.WriteSVG(&buf))
	text := parseSVG(t, buf.Bytes())
	assert.Contains(t, text, `加群 <7d> & "more"`)
	assert.Contains(t, text, "drop-off 2 (50.0%)")
	assert.Equal(t, 4, strings.Count(buf.String(), `rx="3"`), "a bar per step")
}

func TestCohortSVG(t *testing.T) {
	tab, err := bakeryCollector().Cohorts(metrics.CohortOptions{Months: 4})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, tab.WriteSVG(&buf))
	text := parseSVG(t, buf.Bytes())
	assert.Contains(t, text, "2024-02")
	assert.Contains(t, text, "M3")
	// Jan has three observed months, Feb two: five cells.
	assert.Equal(t, 5, strings.Count(buf.String(), `stroke="#ffffff"`))
	assert.Contains(t, buf.String(), `fill="#08306b"`, "100% is the darkest blue")

	var empty bytes.Buffer
	require.NoError(t, metrics.CohortTable{}.WriteSVG(&empty))
	parseSVG(t, empty.Bytes())
}

func TestWriteHTML(t *testing.T) {
	c := bakeryCollector()
	f, err := c.Funnel(metrics.FunnelOptions{Steps: metrics.StandardFunnel()})
	require.NoError(t, err)
	tb := metrics.Table{Title: "<b>t</b>", Columns: []string{"a", "n"}, Align: []metrics.Alignment{0, metrics.AlignRight},
		Rows: [][]string{{"<script>", "1"}}}
	var buf bytes.Buffer
	require.NoError(t, metrics.WriteHTML(&buf, metrics.Page{Title: "R&D", Intro: "面包 <i>",
		Sections: []metrics.Section{{Heading: "Funnel", Text: "x", Chart: f, Table: &tb}, {Heading: "empty"}}}))
	html := buf.String()
	require.NotEmpty(t, html)
	assert.Contains(t, html, "<title>R&amp;D</title>")
	assert.Contains(t, html, "面包 &lt;i&gt;")
	assert.Contains(t, html, "&lt;script&gt;")
	assert.NotContains(t, html, "<script>")
	assert.Contains(t, html, `<td class="r">1</td>`)
	assert.Contains(t, html, `<svg xmlns="http://www.w3.org/2000/svg"`)
	// A given SVG is embedded without its XML declaration.
	buf.Reset()
	raw := metrics.RawSVG(`<?xml version="1.0"?>` + "\n" + `<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>`)
	require.NoError(t, metrics.WriteHTML(&buf, metrics.Page{Title: "raw", Sections: []metrics.Section{{Chart: raw}}}))
	assert.Contains(t, buf.String(), `<div class="chart"><svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg></div>`)
	assert.NotContains(t, buf.String(), "<?xml")
	// The embedded SVG is itself well-formed.
	start, end := strings.Index(html, "<svg "), strings.Index(html, "</svg>")
	require.True(t, start > 0 && end > start)
	parseSVG(t, []byte(html[start:end+len("</svg>")]))
}

// FuzzOutputs feeds arbitrary strings, as hosts pass step names, store IDs
// and template IDs, to the writers: the CSV must round-trip and the SVG
// must stay well-formed XML.
func FuzzOutputs(f *testing.F) {
	f.Add("静安寺店", "a,b\"c\nd")
	f.Add("<svg>&amp;", "\x00\xff\u2028")
	f.Add("", " ")
	f.Fuzz(func(t *testing.T, a, b string) {
		tb := metrics.Table{Columns: []string{a, "n"}, Rows: [][]string{{b, "1"}, {a, b}}}
		_ = tb.String()
		assert.GreaterOrEqual(t, metrics.DisplayWidth(a), 0)
		var buf bytes.Buffer
		require.NoError(t, tb.WriteCSV(&buf))
		recs, err := csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		// encoding/csv writes \r\n inside quoted fields as \r\n and reads
		// them back as \n, and a lone \r is kept; compare with that rule.
		norm := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
		require.Len(t, recs, 3)
		assert.Equal(t, norm(a), norm(recs[0][0]))
		assert.Equal(t, norm(b), norm(recs[1][0]))

		f := metrics.FunnelReport{Steps: []metrics.FunnelStepResult{{Name: a, Customers: 2}, {Name: b, Customers: 1}}}
		buf.Reset()
		require.NoError(t, f.WriteSVG(&buf))
		d := xml.NewDecoder(&buf)
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
		}
	})
}

// Every report lays itself out as a table whose rows have as many cells
// as it has columns.
func TestReportTables(t *testing.T) {
	c := bakeryCollector()
	cac, err := c.CAC(metrics.CACOptions{By: metrics.ByStore, Period: metrics.Week, Costs: []metrics.Cost{
		{Key: "s1", Period: at(1, 3, 0), Marketing: scrm.Yuan("30")}}})
	require.NoError(t, err)
	co, err := c.Cohorts(metrics.CohortOptions{})
	require.NoError(t, err)
	f, err := c.Funnel(metrics.FunnelOptions{Steps: []metrics.FunnelStep{{Event: "a"}, {Event: "b", Within: 90 * time.Minute}, {Event: "c", Within: 36 * time.Hour}, {Event: "d", Within: 90 * time.Second}}})
	require.NoError(t, err)
	rp, err := c.Repurchase(metrics.RepurchaseOptions{By: metrics.ByChannelCode})
	require.NoError(t, err)
	p, err := c.PredictLTV(metrics.PredictOptions{From: at(2, 1, 0), To: at(3, 1, 0)})
	require.NoError(t, err)
	a, err := c.Acquisition(metrics.AcquisitionOptions{By: metrics.ByCampaign, Period: metrics.Week})
	require.NoError(t, err)
	g, err := c.GroupJoin(metrics.GroupJoinOptions{By: metrics.ByStaff})
	require.NoError(t, err)
	s, err := c.Stores(metrics.StoreOptions{})
	require.NoError(t, err)
	cp, err := c.Coupons(metrics.CouponOptions{})
	require.NoError(t, err)
	rf, err := c.Referrals(metrics.ReferralOptions{})
	require.NoError(t, err)
	tr, err := metrics.Touches([]metrics.TouchStats{{Playbook: "p", Step: "s", Sent: 1}})
	require.NoError(t, err)
	tables := map[string]metrics.Table{"cac": cac.Table(), "cohorts": co.Table(), "ltv": co.LTV().Table(),
		"funnel": f.Table(), "repurchase": rp.Table(), "predict": p.Table(), "acquisition": a.Table(),
		"group": g.Table(), "stores": s.Table(), "coupons": cp.Table(), "referrals": rf.Table(), "touches": tr.Table()}
	for name, tb := range tables {
		assert.NotEmpty(t, tb.Title, name)
		assert.NotEmpty(t, tb.Rows, name)
		for i, r := range tb.Rows {
			assert.Len(t, r, len(tb.Columns), "%s row %d", name, i)
		}
		assert.Len(t, tb.Align, len(tb.Columns), name)
	}
	assert.Equal(t, []string{"2024-W01", "s1", "0.00", "30.00", "1", "30.00"}, tables["cac"].Rows[0])
	assert.Equal(t, []string{"", "90m", "36h", "1m30s"}, []string{tables["funnel"].Rows[0][2], tables["funnel"].Rows[1][2],
		tables["funnel"].Rows[2][2], tables["funnel"].Rows[3][2]})
	assert.Equal(t, "Week", tables["acquisition"].Columns[0])
	assert.Equal(t, []string{"Total", "4", "2", "50.0%"}, tables["group"].Rows[3])
	assert.Equal(t, []string{"3", "4", "256.50", "64.13", "1.33", "100.0%", "10.00", "855.00"}, tables["predict"].Rows[0])
	// bob, without a campaign, added on Saturday 01-20 (ISO week 3), no order within 30 days.
	assert.Equal(t, []string{"2024-W03", "(none)", "1", "0", "0.0%", "0", "0.00", "0.00"}, tables["acquisition"].Rows[1])
}
