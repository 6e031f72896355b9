package sop

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scrmkit/scrmkit/scrm"
)

// RenderRequest asks Render for a template's text for one customer, as a
// job would render it: a preview for operators, or text for a host's own
// sends.
type RenderRequest struct {
	Tenant   scrm.TenantID
	Template string
	// Customer, optional, is whose profile picks the variant and fills the
	// attributes; it is read from the ProfileStore unless Profile is set.
	Customer scrm.CustomerID
	// Profile, optional, is used instead of the stored profile: a sample
	// customer for a preview. Without Customer and Profile the default Body
	// renders with Vars and the well-known fields alone.
	Profile *scrm.Profile
	// Vars are the action's variables.
	Vars map[string]string
	// Staff, Playbook and Step fill the well-known fields of those names.
	Staff, Playbook, Step string
}

// Rendered is the text of a template for one customer.
type Rendered struct {
	Template string
	Version  int64 // the template version rendered
	// Variant is the position of the variant used, counted from 1
	// (Variants[Variant-1]); 0 for the default Body.
	Variant int
	Body    string
	Runes   int // characters
	Bytes   int // UTF-8 bytes
	// Segments is the SMS segments the text takes (SMSSegments), whatever
	// the channel.
	Segments int
}

// String describes the rendering without its text, which holds customers'
// names: for logs.
func (r Rendered) String() string {
	return fmt.Sprintf("template %s v%d variant %d: %d characters, %d bytes, %d SMS segments", r.Template, r.Version, r.Variant, r.Runes, r.Bytes, r.Segments)
}

// Render renders a stored template for a customer, exactly as RunDue
// renders a job naming it: the first variant whose When holds on the
// profile (else Body) is executed with the render data:
//
//   - the action's Vars (RenderRequest.Vars), first;
//   - then the well-known fields, when not empty: Customer (the customer's
//     ID), Staff (the action's staff account), Playbook and Step;
//   - then the customer's profile attributes, under their own names
//     (an attribute "Name" is {{.Name}}), with their stored types: strings,
//     numbers, decimals, times (printed with fmt; format money with yuan).
//
// A body reads only the variables it names. A variable a body reads that is
// missing, or blank (empty or white space), fails the rendering unless it
// is declared Optional (a missing optional variable is ""), and so does
// text that renders blank or over the channel's ContentLimit: nothing is
// ever sent half-filled. A variable a {{range}} ranges over that holds an
// integer over MaxRangeCount fails the rendering too. Errors: ErrInvalid naming the variable ("Vars.Name")
// or the body ("Body", "Variants[1].Body") for a failed rendering;
// ErrNotFound for an unknown template.
func (s *Service) Render(ctx context.Context, req RenderRequest) (Rendered, error) {
	const op = "sop.Render"
	if err := scrm.CheckID(op, "Tenant", string(req.Tenant)); err != nil {
		return Rendered{}, err
	}
	if err := scrm.CheckID(op, "Template", req.Template); err != nil {
		return Rendered{}, err
	}
	tc, err := s.tenant(ctx, req.Tenant)
	if err != nil {
		return Rendered{}, scrm.Wrap(nil, op, err)
	}
	ct := tc.templates[req.Template]
	if ct == nil {
		return Rendered{}, scrm.Errorf(scrm.ErrNotFound, op, "template %q", req.Template)
	}
	in := renderInput{prof: req.Profile, vars: req.Vars, customer: req.Customer, staff: req.Staff,
		playbook: req.Playbook, step: req.Step, now: s.now()}
	if in.prof == nil && req.Customer != "" {
		if in.prof, err = s.profile(ctx, req.Tenant, req.Customer); err != nil {
			return Rendered{}, scrm.Wrap(nil, op, err)
		}
	}
	if in.customer == "" && in.prof != nil {
		in.customer = in.prof.Customer
	}
	return s.render(ct, &in)
}

// renderInput is what a rendering reads.
type renderInput struct {
	prof                  *scrm.Profile // nil: no customer (a group post)
	vars                  map[string]string
	customer              scrm.CustomerID
	staff, playbook, step string
	now                   time.Time
}

// value is a variable's value: a string (the common case, kept unboxed) or
// an attribute of another type.
type value struct {
	s     string
	v     any
	isStr bool
}

func (v value) blank() bool {
	if v.isStr {
		return isBlank(v.s)
	}
	return blank(v.v)
}

// boxed returns the value as text/template receives it.
func (v value) boxed() any {
	if v.isStr {
		return v.s
	}
	return v.v
}

// lookup finds a variable: the action's Vars, then the well-known fields,
// then the profile's attributes. An attribute holding nil (or a nil
// pointer) has no value: it is missing, so an Optional variable renders as
// "" and a Required one fails the rendering, rather than text/template
// printing "<no value>".
func (in *renderInput) lookup(name string) (value, bool) {
	if v, ok := in.vars[name]; ok {
		return value{s: v, isStr: true}, true
	}
	var v string
	switch name {
	case FieldCustomer:
		v = string(in.customer)
	case FieldStaff:
		v = in.staff
	case FieldPlaybook:
		v = in.playbook
	case FieldStep:
		v = in.step
	}
	if v != "" {
		return value{s: v, isStr: true}, true
	}
	if in.prof != nil {
		if a, ok := in.prof.Attr(name); ok {
			if str, isStr := a.(string); isStr {
				return value{s: str, isStr: true}, true
			}
			if !isNil(a) {
				return value{v: a}, true
			}
		}
	}
	return value{}, false
}

// isNil reports whether an attribute value is nil or a nil pointer.
func isNil(a any) bool {
	if a == nil {
		return true
	}
	rv := reflect.ValueOf(a)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// render executes the body that suits the customer. Its errors are render
// failures: ErrInvalid, never to be retried with the same data.
func (s *Service) render(ct *compiledTemplate, in *renderInput) (Rendered, error) {
	if ct.err != nil {
		return Rendered{}, ct.err
	}
	out := Rendered{Template: ct.t.ID, Version: ct.t.Version}
	if in.prof != nil {
		for i, w := range ct.when {
			if w.Eval(in.prof, in.now) {
				out.Variant = i + 1
				break
			}
		}
	}
	b := &ct.bodies[out.Variant]
	var arr [8]value
	vals := arr[:0]
	for _, name := range b.vars {
		v, ok := in.lookup(name)
		switch {
		case ok && !v.blank():
		case ct.optional[name]:
			if !ok {
				v = value{isStr: true}
			}
		case !ok:
			return Rendered{}, scrm.Invalid(ct.op, "Vars."+name, "missing: in neither the action's Vars nor the customer's attributes (%s reads it)", b.field)
		default:
			return Rendered{}, scrm.Invalid(ct.op, "Vars."+name, "blank (%s reads it; declare it Optional if it may be)", b.field)
		}
		vals = append(vals, v)
	}
	for _, i := range b.ranged {
		if n, ok := rangeInt(vals[i]); ok && n > MaxRangeCount {
			return Rendered{}, scrm.Invalid(ct.op, "Vars."+b.vars[i], "over %d (%s ranges over it)", MaxRangeCount, b.field)
		}
	}
	var err error
	ok := false
	if b.fast != nil {
		out.Body, ok = b.renderFast(vals)
	}
	if !ok {
		out.Body, err = s.execute(b, vals)
	}
	if err != nil {
		return Rendered{}, &scrm.Error{Code: scrm.ErrInvalid, Op: ct.op, Field: b.field, Err: err}
	}
	if isBlank(out.Body) {
		return Rendered{}, scrm.Invalid(ct.op, b.field, "renders as blank text")
	}
	out.Bytes = len(out.Body)
	out.Runes = utf8.RuneCountInString(out.Body)
	out.Segments = smsSegments(out.Runes)
	if why := ct.limit.exceeded(out.Body); why != "" {
		return Rendered{}, scrm.Invalid(ct.op, b.field, "renders as %s (%s)", why, ct.t.Channel)
	}
	return out, nil
}

// rangeInt returns the value of an integer, which a range would loop over
// that many times; ok is false for any other value.
func rangeInt(v value) (n int64, ok bool) {
	if v.isStr || v.v == nil {
		return 0, false
	}
	rv := reflect.ValueOf(v.v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int64(min(rv.Uint(), math.MaxInt64)), true
	}
	return 0, false
}

// renderAction renders the content template an action (or a calendar
// entry) names for a job: "" when the name is not a content template of the
// tenant (a channel-side name, passed through); fail is a rendering failure
// to record on the job.
func (s *Service) renderAction(tc *tenantCache, channel, template string, in *renderInput) (body string, fail error) {
	ct := tc.templates[template]
	if ct == nil {
		return "", nil
	}
	if channel != "" && channel != ct.t.Channel {
		return "", scrm.Invalid(ct.op, "Channel", "is %s; the step sends on %s", ct.t.Channel, channel)
	}
	r, err := s.render(ct, in)
	return r.Body, err
}

// execute runs the body's text/template with the values.
func (s *Service) execute(b *compiledBody, vals []value) (string, error) {
	data := s.maps.Get().(map[string]any)
	for i, name := range b.vars {
		data[name] = vals[i].boxed()
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	err := b.tmpl.Execute(&cappedWriter{buf: buf}, data)
	var text string
	if err == nil {
		text = buf.String()
	}
	if buf.Cap() <= 4*MaxTemplateBody {
		s.bufs.Put(buf)
	}
	clear(data)
	s.maps.Put(data)
	return text, err
}

// renderFast renders a body of text, {{.X}} and {{yuan .X}} alone without
// text/template, when every value it prints is a string: the output is
// the same (text/template prints a string as it is). ok is false when it
// cannot (a value of another type, an amount yuan refuses): execute then
// renders it, and reports the error.
func (b *compiledBody) renderFast(vals []value) (string, bool) {
	var sb strings.Builder
	sb.Grow(b.fastLen + 16*len(vals))
	for _, sg := range b.fast {
		if sg.v < 0 {
			sb.WriteString(sg.text)
			continue
		}
		v := vals[sg.v]
		if !v.isStr {
			return "", false
		}
		if !sg.yuan {
			sb.WriteString(v.s)
			continue
		}
		y, err := yuanFunc(v.s)
		if err != nil {
			return "", false
		}
		sb.WriteString(y)
	}
	return sb.String(), true
}

// isBlank reports whether s is empty or white space only.
func isBlank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// MaxRender bounds what one rendering may write, and every value it builds
// with print, printf, println, html, js or urlquery: a body of a few bytes
// can loop ({{range 1000}} around a long text, see MaxRangeCount) or
// double a variable ({{$x = print $x $x}}), and a rendering that would
// pass MaxRender stops there with an error (a rendering failure, recorded
// on the task) instead of building gigabytes. It is far above every
// channel's content limit.
const MaxRender = 4 * MaxTemplateBody

// errRenderTooLong is the error of a rendering that passed MaxRender.
var errRenderTooLong = fmt.Errorf("renders more than %d bytes", MaxRender)

// cappedWriter writes into buf until MaxRender bytes, then fails.
type cappedWriter struct{ buf *bytes.Buffer }

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > MaxRender {
		return 0, errRenderTooLong
	}
	return w.buf.Write(p)
}
