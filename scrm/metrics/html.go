package metrics

import (
	"html/template"
	"io"
	"strings"
)

// Chart is anything that draws itself as a standalone SVG document, such
// as a FunnelReport or a CohortTable.
type Chart interface {
	WriteSVG(w io.Writer) error
}

// Page is a self-contained HTML report: a title, an introduction and
// sections, each with an optional chart and table.
type Page struct {
	Title    string
	Intro    string // a paragraph under the title
	Sections []Section
}

// Section is one part of a Page. Empty parts are left out.
type Section struct {
	Heading string
	Text    string // a paragraph
	Chart   Chart  // drawn inline as SVG
	Table   *Table
}

// WriteHTML writes the page as one HTML5 document with its style inline
// and its charts embedded as inline SVG, so the file can be opened or
// mailed on its own. Text and table cells are HTML-escaped; each chart's
// SVG is embedded as the chart writes it, so pass only charts whose output
// is trusted, such as this package's.
func WriteHTML(w io.Writer, p Page) error {
	type section struct {
		Heading, Text string
		SVG           template.HTML
		Table         *Table
		Right         []bool
	}
	data := struct {
		Title, Intro string
		Sections     []section
	}{Title: p.Title, Intro: p.Intro}
	for _, s := range p.Sections {
		out := section{Heading: s.Heading, Text: s.Text, Table: s.Table}
		if s.Chart != nil {
			svg, err := svgString(s.Chart)
			if err != nil {
				return err
			}
			svg = stripXMLDecl(svg)
			out.SVG = template.HTML(svg) // trusted: see the doc comment
		}
		if s.Table != nil {
			for i := range s.Table.Columns {
				out.Right = append(out.Right, s.Table.align(i) == AlignRight)
			}
		}
		data.Sections = append(data.Sections, out)
	}
	return newPageTemplate().Execute(w, data)
}

// stripXMLDecl drops a leading XML declaration, which has no place inside
// an HTML document.
func stripXMLDecl(svg string) string {
	t := strings.TrimLeft(svg, " \t\r\n\ufeff")
	if strings.HasPrefix(t, "<?xml") {
		if i := strings.Index(t, "?>"); i >= 0 {
			return strings.TrimLeft(t[i+2:], " \t\r\n")
		}
	}
	return svg
}

// RawSVG is an SVG document drawn elsewhere, held in memory. It is a Chart,
// so WriteHTML can embed it; it is written as is, so use only trusted SVG.
type RawSVG []byte

// WriteSVG writes the document.
func (s RawSVG) WriteSVG(w io.Writer) error {
	_, err := w.Write(s)
	return err
}

// newPageTemplate parses the page template. It is parsed per call (in
// tens of microseconds) rather than kept in a package variable.
func newPageTemplate() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"right": func(right []bool, i int) bool { return i < len(right) && right[i] },
	}).Parse(`<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .3em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .9em; }
caption { text-align: left; font-weight: bold; padding: .3em 0; }
th, td { border: 1px solid #ddd; padding: .3em .6em; white-space: nowrap; }
th { background: #f4f6fa; } td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
.chart { overflow-x: auto; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{with .Intro}}<p>{{.}}</p>
{{end}}{{range .Sections}}<section>
{{with .Heading}}<h2>{{.}}</h2>
{{end}}{{with .Text}}<p>{{.}}</p>
{{end}}{{with .SVG}}<div class="chart">{{.}}</div>
{{end}}{{if .Table}}{{$right := .Right}}<table>
{{with .Table.Title}}<caption>{{.}}</caption>
{{end}}<thead><tr>{{range $i, $c := .Table.Columns}}<th{{if right $right $i}} class="r"{{end}}>{{$c}}</th>{{end}}</tr></thead>
<tbody>
{{range .Table.Rows}}<tr>{{range $i, $c := .}}<td{{if right $right $i}} class="r"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}</section>
{{end}}</body>
</html>
`))
}
