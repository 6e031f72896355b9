package sop

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// compiledTemplate is a validated Template with its bodies parsed once, so
// that rendering only executes them.
type compiledTemplate struct {
	t Template
	// err is set for a stored template this Service cannot compile (stored
	// by a Service with other Options): jobs naming it fail with it rather
	// than pass its name through to the channel.
	err      error
	op       string
	limit    ContentLimit
	bodies   []compiledBody  // [0] is Body, [i] is Variants[i-1]
	when     []*rule.Program // [i] is Variants[i].When
	optional map[string]bool
}

type compiledBody struct {
	field string // "Body", "Variants[1].Body"
	tmpl  *template.Template
	vars  []string // the top-level variables it reads, in first-use order
	// ranged are the variables (indexes into vars) a {{range}} ranges
	// over: a rendering refuses an integer over MaxRangeCount in them.
	ranged []int
	// fast is the body as segments when it is only text, {{.X}} and
	// {{yuan .X}} (most bodies): renderFast prints it without
	// text/template. Nil otherwise.
	fast    []segment
	fastLen int // the bytes of its text segments
}

// segment is one part of a simple body: text, or a variable (an index into
// compiledBody.vars) printed as it is or through yuan.
type segment struct {
	text string
	v    int // -1 for text
	yuan bool
}

// simple returns the body's segments when it is only text, comments,
// {{.X}} and {{yuan .X}}; nil otherwise.
func simple(root *parse.ListNode, vars []string) ([]segment, int) {
	var out []segment
	n := 0
	for _, node := range root.Nodes {
		switch x := node.(type) {
		case *parse.TextNode:
			out = append(out, segment{text: string(x.Text), v: -1})
			n += len(x.Text)
		case *parse.CommentNode:
		case *parse.ActionNode:
			p := x.Pipe
			if len(p.Decl) > 0 || p.IsAssign || len(p.Cmds) != 1 {
				return nil, 0
			}
			args := p.Cmds[0].Args
			yuan := false
			if len(args) == 2 {
				id, ok := args[0].(*parse.IdentifierNode)
				if !ok || id.Ident != "yuan" {
					return nil, 0
				}
				yuan, args = true, args[1:]
			}
			f, ok := args[0].(*parse.FieldNode)
			if len(args) != 1 || !ok || len(f.Ident) != 1 {
				return nil, 0
			}
			out = append(out, segment{v: slices.Index(vars, f.Ident[0]), yuan: yuan})
		default:
			return nil, 0
		}
	}
	return out, n
}

// templateFuncs are the functions bodies may call besides text/template's
// built-ins.
func templateFuncs() template.FuncMap {
	return template.FuncMap{"yuan": yuanFunc, "default": defaultFunc,
		// text/template's string builders, bounded: a value a body builds
		// ({{$x = print $x $x}} in a loop doubles without writing) can
		// never pass MaxRender, so no rendering needs much more memory
		// than MaxRender per step.
		"print":    boundedPrint(fmt.Sprint, 1),
		"println":  boundedPrint(fmt.Sprintln, 1),
		"html":     boundedPrint(template.HTMLEscaper, 6),
		"js":       boundedPrint(template.JSEscaper, 6),
		"urlquery": boundedPrint(template.URLQueryEscaper, 3),
		"printf":   boundedPrintf,
	}
}

// boundedPrint returns f refusing, before it builds anything, arguments
// whose printed sizes, times grow (how much f may expand them), add up to
// more than MaxRender.
func boundedPrint(f func(...any) string, grow int) func(...any) (string, error) {
	return func(args ...any) (string, error) {
		if err := checkPrintSize(0, grow, args); err != nil {
			return "", err
		}
		return f(args...), nil
	}
}

// boundedPrintf is printf refusing, before it formats, a result that could
// pass MaxRender: the format, each argument printed and each verb's width
// (at most 999, see printfSizes) add up to a bound of its size.
func boundedPrintf(format string, args ...any) (string, error) {
	if err := checkPrintSize(len(format)+999*strings.Count(format, "%"), 1, args); err != nil {
		return "", err
	}
	return fmt.Sprintf(format, args...), nil
}

// checkPrintSize adds the printed size of each argument, times grow, to
// size, and refuses a total over MaxRender. Each argument is printed on its
// own, and is no larger than MaxRender itself when a bounded function built
// it, so the check costs at most a few times MaxRender.
func checkPrintSize(size, grow int, args []any) error {
	for _, a := range args {
		n := 0
		if s, ok := a.(string); ok {
			n = len(s)
		} else {
			n = len(fmt.Sprint(a))
		}
		if size += n * grow; size > MaxRender {
			return errRenderTooLong
		}
	}
	return nil
}

// yuanFunc formats a money amount (a decimal, a number or a numeric string)
// in yuan with two decimals, rounded half-up to the fen (scrm.RoundFen):
// 10 → "10.00", "9.9" → "9.90". The error does not quote the value, which
// may be personal.
func yuanFunc(v any) (string, error) {
	var d decimal.Decimal
	var err error
	switch x := v.(type) {
	case decimal.Decimal:
		d = x
	case string:
		x = strings.TrimSpace(x)
		if s, ok := plainYuan(x); ok {
			return s, nil
		}
		d, err = decimal.NewFromString(x)
	case json.Number:
		d, err = decimal.NewFromString(string(x))
	case int:
		d = decimal.NewFromInt(int64(x))
	case int64:
		d = decimal.NewFromInt(x)
	case int32:
		d = decimal.NewFromInt(int64(x))
	case float64:
		d = decimal.NewFromFloat(x)
	case float32:
		d = decimal.NewFromFloat32(x)
	default:
		return "", fmt.Errorf("yuan: a %T is not an amount", v)
	}
	if err != nil {
		return "", errors.New("yuan: not an amount")
	}
	return scrm.RoundFen(d).StringFixed(2), nil
}

// plainYuan formats the common amounts, "20", "8.5", "9.90", without
// big-number arithmetic: digits without leading zeros, at most two decimals,
// need no rounding. ok is false for anything else.
func plainYuan(s string) (string, bool) {
	dot := strings.IndexByte(s, '.')
	intPart, frac := s, ""
	if dot >= 0 {
		intPart, frac = s[:dot], s[dot+1:]
		if len(frac) == 0 || len(frac) > 2 {
			return "", false
		}
	}
	if len(intPart) == 0 || len(intPart) > 15 || (len(intPart) > 1 && intPart[0] == '0') {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && i != dot {
			return "", false
		}
	}
	switch len(frac) {
	case 0:
		return intPart + ".00", true
	case 1:
		return s + "0", true
	}
	return s, true
}

// defaultFunc returns v, or fallback when v is blank (see blank).
func defaultFunc(fallback, v any) any {
	if blank(v) {
		return fallback
	}
	return v
}

// blank reports whether a variable's value would leave a hole in a text:
// nil, or a string of only white space.
func blank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	}
	return false
}

// compileTemplate validates t, returning an ErrInvalid error that names the
// first bad field.
func (s *Service) compileTemplate(op string, t Template) (*compiledTemplate, error) {
	if err := scrm.CheckID(op, "Tenant", string(t.Tenant)); err != nil {
		return nil, err
	}
	if err := scrm.CheckID(op, "ID", t.ID); err != nil {
		return nil, err
	}
	if t.Version < 0 {
		return nil, scrm.Invalid(op, "Version", "must not be negative, got %d", t.Version)
	}
	if err := s.checkChannel(op, "Channel", t.Channel); err != nil {
		return nil, err
	}
	ct := &compiledTemplate{t: cloneTemplate(t), op: op, limit: s.content[t.Channel]}
	declared := make(map[string]string, len(t.Required)+len(t.Optional)) // name → its field
	for i, v := range t.Required {
		f := fmt.Sprintf("Required[%d]", i)
		if err := checkVarName(op, f, v, declared); err != nil {
			return nil, err
		}
		declared[v] = f
	}
	for i, v := range t.Optional {
		f := fmt.Sprintf("Optional[%d]", i)
		if err := checkVarName(op, f, v, declared); err != nil {
			return nil, err
		}
		declared[v] = f
		if ct.optional == nil {
			ct.optional = make(map[string]bool, len(t.Optional))
		}
		ct.optional[v] = true
	}
	if len(t.Variants) > MaxTemplateVariants {
		return nil, scrm.Invalid(op, "Variants", "at most %d variants, got %d", MaxTemplateVariants, len(t.Variants))
	}
	ct.bodies = make([]compiledBody, 0, 1+len(t.Variants))
	b, err := s.compileBody(op, "Body", t.Body, declared, ct.limit)
	if err != nil {
		return nil, err
	}
	ct.bodies = append(ct.bodies, b)
	copts := s.compileOptions(t.Tenant)
	for i, v := range t.Variants {
		f := fmt.Sprintf("Variants[%d]", i)
		if v.When.IsZero() {
			return nil, scrm.Invalid(op, f+".When", "required: the customers this variant is for (a tag, a segment or any condition)")
		}
		prog, err := rule.Compile(v.When, copts)
		if err != nil {
			return nil, fieldErr(op, f+".When", err)
		}
		ct.when = append(ct.when, prog)
		b, err := s.compileBody(op, f+".Body", v.Body, declared, ct.limit)
		if err != nil {
			return nil, err
		}
		ct.bodies = append(ct.bodies, b)
	}
	for i, v := range t.Required {
		if !slices.ContainsFunc(ct.bodies, func(b compiledBody) bool { return slices.Contains(b.vars, v) }) {
			return nil, scrm.Invalid(op, fmt.Sprintf("Required[%d]", i), "%q is read by no body", v)
		}
	}
	return ct, nil
}

// checkVarName checks a declared variable: an identifier {{.Name}} can read,
// declared once.
func checkVarName(op, field, name string, declared map[string]string) error {
	if !isIdentifier(name) {
		return scrm.Invalid(op, field, "%q is not a variable name (a letter or _ followed by letters, digits or _)", name)
	}
	if prev, dup := declared[name]; dup {
		return scrm.Invalid(op, field, "%q is already declared in %s", name, prev)
	}
	return nil
}

func isIdentifier(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		if r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r)) {
			continue
		}
		return false
	}
	return true
}

// compileBody parses one body and checks that it reads only declared
// variables and that its fixed text fits the channel's limit.
func (s *Service) compileBody(op, field, body string, declared map[string]string, limit ContentLimit) (compiledBody, error) {
	cb := compiledBody{field: field}
	if strings.TrimSpace(body) == "" {
		return cb, scrm.Invalid(op, field, "required")
	}
	if len(body) > MaxTemplateBody {
		return cb, scrm.Invalid(op, field, "at most %d bytes, got %d", MaxTemplateBody, len(body))
	}
	if !utf8.ValidString(body) {
		return cb, scrm.Invalid(op, field, "not valid UTF-8")
	}
	tmpl, err := template.New(field).Option("missingkey=error").Funcs(templateFuncs()).Parse(body)
	if err != nil {
		return cb, &scrm.Error{Code: scrm.ErrInvalid, Op: op, Field: field, Err: err}
	}
	if len(tmpl.Templates()) > 1 {
		return cb, scrm.Invalid(op, field, "defines a nested template ({{define}} or {{block}}); write the text inline")
	}
	w := varWalker{loops: 1}
	w.list(tmpl.Tree.Root, true)
	if w.err != "" {
		return cb, scrm.Invalid(op, field, "%s", w.err)
	}
	for _, v := range w.vars {
		if _, ok := declared[v]; !ok && !wellKnown(v) {
			return cb, scrm.Invalid(op, field, "reads {{.%s}}, which is not declared: add it to Required or Optional", v)
		}
	}
	cb.tmpl, cb.vars = tmpl, w.vars
	for _, v := range w.ranged {
		cb.ranged = append(cb.ranged, slices.Index(w.vars, v))
	}
	cb.fast, cb.fastLen = simple(tmpl.Tree.Root, w.vars)
	// The text outside any action is in every rendering: if it alone is
	// over the limit, no rendering can fit.
	var fixed strings.Builder
	for _, n := range tmpl.Tree.Root.Nodes {
		if tn, ok := n.(*parse.TextNode); ok {
			fixed.Write(tn.Text)
		}
	}
	if why := limit.exceeded(fixed.String()); why != "" {
		return cb, scrm.Invalid(op, field, "the fixed text alone is %s", why)
	}
	return cb, nil
}

// exceeded describes how text exceeds the limit, or returns "".
func (l ContentLimit) exceeded(text string) string {
	if l.Bytes > 0 && len(text) > l.Bytes {
		return fmt.Sprintf("%d bytes, more than %d", len(text), l.Bytes)
	}
	if l.Runes == 0 && l.Segments == 0 {
		return ""
	}
	n := utf8.RuneCountInString(text)
	if l.Runes > 0 && n > l.Runes {
		return fmt.Sprintf("%d characters, more than %d", n, l.Runes)
	}
	if seg := smsSegments(n); l.Segments > 0 && seg > l.Segments {
		return fmt.Sprintf("%d characters: %d SMS segments, more than %d", n, seg, l.Segments)
	}
	return ""
}

// MaxRangeCount bounds the loops of a body, so that every rendering ends
// soon (MaxRender bounds what a loop writes, not loops that write nothing):
// a {{range}} ranges over an integer constant up to MaxRangeCount
// ({{range 3}}) or over a variable of the render data ({{range .Tags}},
// {{range $.N}}), and a rendering whose ranged-over variable holds an
// integer over MaxRangeCount fails. Ranges nest only while the product of
// their counts stays within MaxRangeCount, a range over a variable counting
// MaxRangeCount: {{range 10}}{{range 100}} is accepted, a range over a
// variable inside another range is not. A body ranging over anything else
// (a {{$x}} of its own, {{.}}, a pipeline) is refused.
const MaxRangeCount = 1000

// varWalker collects the top-level variables a template reads: {{.X}} where
// dot is the render data (outside range and with), and {{$.X}} anywhere.
type varWalker struct {
	vars   []string
	ranged []string // the variables a range ranges over
	loops  int      // the product of the counts of the enclosing ranges
	err    string
}

func (w *varWalker) fail(msg string) {
	if w.err == "" {
		w.err = msg
	}
}

func (w *varWalker) add(name string) {
	if !slices.Contains(w.vars, name) {
		w.vars = append(w.vars, name)
	}
}

func (w *varWalker) list(l *parse.ListNode, root bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n, root)
	}
}

func (w *varWalker) node(n parse.Node, root bool) {
	switch n := n.(type) {
	case *parse.ActionNode:
		w.pipe(n.Pipe, root)
	case *parse.IfNode:
		w.pipe(n.Pipe, root)
		w.list(n.List, root)
		w.list(n.ElseList, root)
	case *parse.RangeNode:
		w.pipe(n.Pipe, root)
		outer := w.loops
		if w.loops = min(w.loops*w.rangeCount(n.Pipe, root), MaxRangeCount+1); w.loops > MaxRangeCount {
			w.fail(fmt.Sprintf("nests ranges of more than %d iterations in all (a range over a variable counts %d)",
				MaxRangeCount, MaxRangeCount))
		}
		w.list(n.List, false)
		w.loops = outer
		w.list(n.ElseList, root)
	case *parse.WithNode:
		w.pipe(n.Pipe, root)
		w.list(n.List, false)
		w.list(n.ElseList, root)
	case *parse.TemplateNode:
		w.fail("calls a nested template ({{template}}); write the text inline")
	}
}

func (w *varWalker) pipe(p *parse.PipeNode, root bool) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		w.printf(c)
		for _, a := range c.Args {
			w.arg(a, root)
		}
	}
}

// rangeCount returns how many times a range over p may run (see
// MaxRangeCount), recording a variable it ranges over.
func (w *varWalker) rangeCount(p *parse.PipeNode, root bool) int {
	if len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
		switch a := p.Cmds[0].Args[0].(type) {
		case *parse.NumberNode:
			if a.IsInt && a.Int64 <= MaxRangeCount {
				return max(int(a.Int64), 0)
			}
			if a.IsInt || a.IsUint {
				w.fail(fmt.Sprintf("ranges %s times, more than %d", a.Text, MaxRangeCount))
				return MaxRangeCount
			}
			return 0 // not an integer: text/template refuses it when it runs
		case *parse.FieldNode:
			if root && len(a.Ident) == 1 {
				w.ranged = append(w.ranged, a.Ident[0])
				return MaxRangeCount
			}
		case *parse.VariableNode:
			if a.Ident[0] == "$" && len(a.Ident) == 2 {
				w.ranged = append(w.ranged, a.Ident[1])
				return MaxRangeCount
			}
		}
	}
	cmds := make([]string, len(p.Cmds))
	for i, c := range p.Cmds {
		cmds[i] = c.String()
	}
	w.fail(fmt.Sprintf("ranges over %s; range over an integer up to %d or a variable ({{range .Tags}}, {{range $.N}})",
		strings.Join(cmds, " | "), MaxRangeCount))
	return MaxRangeCount
}

// printf refuses a printf whose format is not a constant, or whose verbs
// ask for a width or precision over 999 or take one from an argument ('*'):
// "%999999999d" would make a rendering allocate a gigabyte before any limit
// could see the text. Digits and stars in the format's text are only text.
func (w *varWalker) printf(c *parse.CommandNode) {
	if len(c.Args) == 0 {
		return
	}
	if id, ok := c.Args[0].(*parse.IdentifierNode); !ok || id.Ident != "printf" {
		return
	}
	if len(c.Args) < 2 {
		return // text/template reports it when it runs
	}
	f, ok := c.Args[1].(*parse.StringNode)
	if !ok {
		w.fail("printf needs a constant format string")
		return
	}
	if why := printfSizes(f.Text); why != "" {
		w.fail("printf " + strconv.Quote(f.Text) + " " + why)
	}
}

// printfSizes parses the verbs of a fmt format as fmt does (after each '%':
// flags, an optional [n] argument index, a width, an optional '.' and
// precision, each optionally after an index, then the verb; "%%" is a
// literal percent) and describes a width or precision over 999 or taken
// from an argument, or returns "".
func printfSizes(format string) string {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++
		}
		for part := 0; part < 2; part++ { // the width, then the precision
			if part == 1 {
				if i >= len(format) || format[i] != '.' {
					break
				}
				i++
			}
			i = skipArgIndex(format, i)
			if i < len(format) && format[i] == '*' {
				return "takes its width or precision from an argument"
			}
			n := 0
			for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
				n = min(n*10+int(format[i]-'0'), 1000)
			}
			if n > 999 {
				return "asks for a width or precision over 999"
			}
		}
		i = skipArgIndex(format, i)
		// format[i] is the verb, which the loop steps over ("%%" too).
	}
	return ""
}

// skipArgIndex returns the position after an argument index "[n]" at i, or
// i when there is none.
func skipArgIndex(format string, i int) int {
	if i < len(format) && format[i] == '[' {
		if j := strings.IndexByte(format[i:], ']'); j > 0 {
			return i + j + 1
		}
	}
	return i
}

func (w *varWalker) arg(n parse.Node, root bool) {
	switch n := n.(type) {
	case *parse.FieldNode:
		if root {
			w.add(n.Ident[0])
		}
	case *parse.VariableNode:
		if n.Ident[0] == "$" {
			if len(n.Ident) == 1 {
				w.fail("reads {{$}}, every variable at once; name the one you need: {{$.Name}}")
				return
			}
			w.add(n.Ident[1])
		}
	case *parse.DotNode:
		if root {
			w.fail("reads {{.}}, every variable at once; name the one you need: {{.Name}}")
		}
	case *parse.ChainNode:
		w.arg(n.Node, root)
	case *parse.PipeNode:
		w.pipe(n, root)
	}
}
