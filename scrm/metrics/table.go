package metrics

import (
	"bufio"
	"encoding/csv"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Alignment is how a Table column's cells line up in text.
type Alignment uint8

// The alignments.
const (
	AlignLeft  Alignment = iota // text; the zero value
	AlignRight                  // numbers
)

// Table is a report laid out for people: a title, column headings and rows
// of formatted cells. Every report has a Table method; WriteText prints it
// aligned for a terminal, WriteCSV writes it for a spreadsheet, and
// WriteHTML puts it on a page.
//
// Cells are already formatted: counts as integers, money in yuan with two
// decimals, rates as percentages with one decimal ("12.5%", which
// spreadsheets read as a percentage).
type Table struct {
	Title   string
	Columns []string
	Align   []Alignment // per column; missing entries are AlignLeft
	Rows    [][]string
}

func (t Table) align(i int) Alignment {
	if i < len(t.Align) {
		return t.Align[i]
	}
	return AlignLeft
}

// WriteText writes the table as aligned plain text: the title, the
// headings, a rule, and the rows, columns two spaces apart. Widths are
// display widths: East Asian wide and fullwidth characters (汉字, kana,
// hangul, fullwidth forms) count as two columns, combining marks and
// zero-width characters as none, everything else as one, which is how
// terminals with a CJK font draw them. Emoji of the main pictograph blocks
// count as two; other symbols and East Asian ambiguous-width characters
// (such as "°" or "①") count as one and may misalign in terminals set to
// draw them wide.
func (t Table) WriteText(w io.Writer) error {
	n := len(t.Columns)
	for _, r := range t.Rows {
		n = max(n, len(r))
	}
	widths := make([]int, n)
	for i, c := range t.Columns {
		widths[i] = DisplayWidth(c)
	}
	for _, r := range t.Rows {
		for i, c := range r {
			widths[i] = max(widths[i], DisplayWidth(c))
		}
	}
	bw := bufio.NewWriter(w)
	if t.Title != "" {
		bw.WriteString(t.Title)
		bw.WriteByte('\n')
	}
	line := func(cells []string) {
		var b strings.Builder
		for i := 0; i < n; i++ {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			pad := widths[i] - DisplayWidth(c)
			if i > 0 {
				b.WriteString("  ")
			}
			if t.align(i) == AlignRight {
				b.WriteString(strings.Repeat(" ", pad))
				b.WriteString(c)
			} else {
				b.WriteString(c)
				if i < n-1 {
					b.WriteString(strings.Repeat(" ", pad))
				}
			}
		}
		bw.WriteString(strings.TrimRight(b.String(), " "))
		bw.WriteByte('\n')
	}
	if len(t.Columns) > 0 {
		line(t.Columns)
		total := 0
		for i, wd := range widths {
			total += wd
			if i > 0 {
				total += 2
			}
		}
		bw.WriteString(strings.Repeat("-", total))
		bw.WriteByte('\n')
	}
	for _, r := range t.Rows {
		line(r)
	}
	return bw.Flush()
}

// String returns the table as WriteText writes it.
func (t Table) String() string {
	var b strings.Builder
	_ = t.WriteText(&b)
	return b.String()
}

// WriteCSV writes the table as CSV (RFC 4180, with encoding/csv): a header
// row of the columns, then the rows. The title is not written.
func (t Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if len(t.Columns) > 0 {
		if err := cw.Write(t.Columns); err != nil {
			return err
		}
	}
	if err := cw.WriteAll(t.Rows); err != nil {
		return err
	}
	return cw.Error()
}

// DisplayWidth returns how many terminal columns s takes: 2 for each East
// Asian wide or fullwidth character (and emoji pictographs), 0 for
// combining marks, zero-width and control characters, 1 for the rest.
// Invalid UTF-8 bytes count 1.
func DisplayWidth(s string) int {
	w := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		w += runeWidth(r)
	}
	return w
}

func runeWidth(r rune) int {
	switch {
	case r < 0x20 || r == 0x7F:
		return 0
	case r < 0x300:
		return 1
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	case wide(r):
		return 2
	}
	return 1
}

// wide reports East Asian Wide (W) and Fullwidth (F) characters, by the
// blocks of Unicode's EastAsianWidth.txt that hold them.
func wide(r rune) bool {
	switch {
	case r < 0x1100:
		return false
	case r <= 0x115F, // Hangul Jamo initials
		r >= 0x2E80 && r <= 0x303E,   // CJK radicals, Kangxi, CJK symbols and punctuation
		r >= 0x3041 && r <= 0x33FF,   // kana, bopomofo, CJK compatibility
		r >= 0x3400 && r <= 0x4DBF,   // CJK extension A
		r >= 0x4E00 && r <= 0x9FFF,   // CJK unified ideographs
		r >= 0xA000 && r <= 0xA4CF,   // Yi
		r >= 0xA960 && r <= 0xA97F,   // Hangul Jamo extended A
		r >= 0xAC00 && r <= 0xD7A3,   // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF,   // CJK compatibility ideographs
		r >= 0xFE10 && r <= 0xFE19,   // vertical forms
		r >= 0xFE30 && r <= 0xFE6F,   // CJK compatibility forms, small forms
		r >= 0xFF00 && r <= 0xFF60,   // fullwidth forms
		r >= 0xFFE0 && r <= 0xFFE6,   // fullwidth signs
		r >= 0x1F300 && r <= 0x1F64F, // pictographs and emoticons (wide by default)
		r >= 0x1F900 && r <= 0x1F9FF, // supplemental symbols and pictographs
		r >= 0x20000 && r <= 0x3FFFD: // CJK extensions B and later
		return true
	}
	return false
}
