package metrics

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// The SVG renderers write standalone SVG 1.1 documents with the standard
// library only: every text is XML-escaped, sizes are in pixels, fonts fall
// back through common CJK system fonts. A browser shows them directly, and
// WriteHTML embeds them in a page.

const svgFont = `system-ui, -apple-system, &quot;PingFang SC&quot;, &quot;Microsoft YaHei&quot;, &quot;Noto Sans CJK SC&quot;, sans-serif`

// svgWriter collects the first write error, so drawing code stays linear.
type svgWriter struct {
	w   *bufio.Writer
	err error
}

func (s *svgWriter) printf(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

// text writes a <text> element with escaped content; attrs are trusted
// attribute text.
func (s *svgWriter) text(x, y float64, attrs, content string) {
	s.printf(`<text x="%.1f" y="%.1f" %s>`, x, y, attrs)
	if s.err == nil {
		s.err = xml.EscapeText(s.w, []byte(content))
	}
	s.printf("</text>\n")
}

func (s *svgWriter) open(width, height float64, title string) {
	s.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="%s" font-size="12">`+"\n",
		width, height, width, height, svgFont)
	s.printf("<title>")
	if s.err == nil {
		s.err = xml.EscapeText(s.w, []byte(title))
	}
	s.printf("</title>\n")
	s.printf(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
}

func (s *svgWriter) close() error {
	s.printf("</svg>\n")
	if s.err != nil {
		return s.err
	}
	return s.w.Flush()
}

// textWidth estimates the drawn width of s at a font size: wide characters
// take a full em, others about 0.6 em.
func textWidth(s string, size float64) float64 {
	return float64(DisplayWidth(s)) * size * 0.55
}

// WriteSVG draws the funnel as an SVG chart: a centred bar per step, its
// width proportional to the customers reaching it, labelled with the step
// name, the count and the conversion from the previous step, and the
// drop-off between steps.
func (f FunnelReport) WriteSVG(w io.Writer) error {
	const (
		top, rowH, barH = 48.0, 56.0, 34.0
		barMax          = 420.0
	)
	labelW := 140.0
	for _, st := range f.Steps {
		labelW = max(labelW, textWidth(st.Name, 13)+24)
	}
	width := labelW + barMax + 220
	height := top + rowH*float64(len(f.Steps)) + 16
	s := &svgWriter{w: bufio.NewWriter(w)}
	s.open(width, height, "Funnel")
	s.text(16, 28, `font-size="16" font-weight="bold" fill="#222"`, "Funnel")
	first := 0
	if len(f.Steps) > 0 {
		first = f.Steps[0].Customers
	}
	for i, st := range f.Steps {
		y := top + rowH*float64(i)
		bw := 0.0
		if first > 0 {
			bw = barMax * float64(st.Customers) / float64(first)
		}
		if st.Customers > 0 {
			bw = max(bw, 2)
		}
		x := labelW + (barMax-bw)/2
		shade := 0.35 + 0.65*float64(len(f.Steps)-i)/float64(len(f.Steps))
		s.printf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3" fill="%s"/>`+"\n", x, y, bw, barH, blue(shade))
		s.text(labelW-12, y+barH/2+4, `text-anchor="end" font-size="13" fill="#222"`, st.Name)
		detail := fmt.Sprintf("%d", st.Customers)
		if i > 0 {
			detail += "  " + pct(st.Conversion) + " of previous"
		}
		s.text(labelW+barMax+12, y+barH/2-2, `font-size="13" fill="#222"`, detail)
		if i > 0 {
			s.text(labelW+barMax+12, y+barH/2+14, `font-size="11" fill="#b23b3b"`,
				fmt.Sprintf("drop-off %d (%s)", st.DropOff, pct(st.DropOffRate)))
		} else {
			s.text(labelW+barMax+12, y+barH/2+14, `font-size="11" fill="#666"`, "entered")
		}
	}
	return s.close()
}

// WriteSVG draws the retention table as an SVG heatmap: a row per cohort
// with its size, a cell per month offset shaded by its retention (white
// at 0%, dark blue at 100%) and labelled with it; months not yet observed
// are left blank.
func (t CohortTable) WriteSVG(w io.Writer) error {
	const (
		top, cellW, cellH = 64.0, 54.0, 26.0
		labelW, sizeW     = 84.0, 76.0
	)
	width := labelW + sizeW + cellW*float64(t.Months) + 16
	height := top + cellH*float64(len(t.Rows)) + 16
	title := "Retention by " + cohortTitle(t.By) + " month"
	s := &svgWriter{w: bufio.NewWriter(w)}
	s.open(width, height, title)
	s.text(16, 26, `font-size="16" font-weight="bold" fill="#222"`, title)
	s.text(16, top-10, `font-size="11" fill="#666"`, "Cohort")
	s.text(labelW+sizeW-8, top-10, `font-size="11" fill="#666" text-anchor="end"`, "Customers")
	for k := 0; k < t.Months; k++ {
		s.text(labelW+sizeW+cellW*float64(k)+cellW/2, top-10, `font-size="11" fill="#666" text-anchor="middle"`, "M"+itoa(k))
	}
	for i, r := range t.Rows {
		y := top + cellH*float64(i)
		s.text(16, y+cellH/2+4, `fill="#222"`, r.Label)
		s.text(labelW+sizeW-8, y+cellH/2+4, `fill="#222" text-anchor="end"`, count(r.Size))
		for k := range r.Active {
			v := r.Retention(k)
			x := labelW + sizeW + cellW*float64(k)
			s.printf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="#ffffff"/>`+"\n",
				x, y, cellW, cellH, blue(v))
			fill := "#222"
			if v > 0.5 {
				fill = "#ffffff"
			}
			s.text(x+cellW/2, y+cellH/2+4, `font-size="11" text-anchor="middle" fill="`+fill+`"`, pct(v))
		}
	}
	return s.close()
}

// blue returns a colour from near white (v = 0) to dark blue (v = 1).
func blue(v float64) string {
	v = min(max(v, 0), 1)
	lerp := func(a, b float64) int { return int(a + (b-a)*v + 0.5) }
	return fmt.Sprintf("#%02x%02x%02x", lerp(0xf4, 0x08), lerp(0xf8, 0x30), lerp(0xfd, 0x6b))
}

// svgString renders a chart to a string (for WriteHTML).
func svgString(c Chart) (string, error) {
	var b strings.Builder
	err := c.WriteSVG(&b)
	return b.String(), err
}
