package rule

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// MarshalJSON encodes c in the JSON form of the package doc, writing Value
// so that the decoded condition compiles to the same comparison:
//
//   - decimal.Decimal and *decimal.Decimal, alone or as list elements
//     ([]any, []decimal.Decimal, ...), become JSON numbers holding the
//     decimal's exact value. Encoded as JSON strings, as the decimal package
//     does, they would decode as text, turning a numeric eq, ne, in, nin or
//     contains into a text comparison.
//   - The operand of within, olderThan and birthdayWithin, when a
//     time.Duration or Duration, becomes its text form ("30d"); zero becomes
//     "0d" (today, for birthdayWithin). A time.Duration would otherwise
//     encode as nanoseconds, which Compile rejects.
//
// Every other value encodes as encoding/json encodes it. A Condition built
// in Go with a cycle (a Not pointing at an ancestor) is an error, as it is
// for encoding/json, not endless recursion.
func (c Condition) MarshalJSON() ([]byte, error) {
	var e wireEncoder
	w, err := e.node(&c)
	if err != nil {
		return nil, err
	}
	// Leave HTML escaping to the caller's encoder: json.Marshal escapes
	// the result, an Encoder with SetEscapeHTML(false) does not, exactly
	// as they treated a Condition before it had a MarshalJSON.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// wireCondition is the encoded form of a Condition: the same fields and
// JSON tags (a test keeps them in step), children of its own type, and no
// methods, so that encoding it never calls Condition.MarshalJSON again.
type wireCondition struct {
	All []wireCondition `json:"all,omitzero"`
	Any []wireCondition `json:"any,omitzero"`
	Not *wireCondition  `json:"not,omitempty"`

	Attr  string `json:"attr,omitzero"`
	Op    string `json:"op,omitzero"`
	Value any    `json:"value,omitzero"`

	Event  string   `json:"event,omitzero"`
	Within Duration `json:"within,omitzero"`
	Count  *Cmp     `json:"count,omitempty"`
	Sum    *Cmp     `json:"sum,omitempty"`
	Last   *LastCmp `json:"last,omitempty"`

	Tag           string   `json:"tag,omitzero"`
	AppliedWithin Duration `json:"appliedWithin,omitzero"`

	Segment string `json:"segment,omitzero"`
}

// cycleCheckDepth is the nesting depth beyond which wireEncoder looks for
// cycles. Conditions that Compile accepts are never that deep, so they are
// encoded without the bookkeeping; a cycle is found soon after.
const cycleCheckDepth = maxDepth

// wireEncoder converts a Condition tree into wireConditions.
type wireEncoder struct {
	depth int
	// onPath holds the Not pointers and All / Any lists (listKey) between
	// the root and the current node, once deeper than cycleCheckDepth.
	onPath map[any]struct{}
}

// listKey identifies an All or Any list, as encoding/json does for cycle
// detection: a list containing itself shares its first element and length.
type listKey struct {
	first *Condition
	n     int
}

// enter descends into the child identified by key, reporting a cycle when
// key is already on the path.
func (e *wireEncoder) enter(key any) error {
	e.depth++
	if e.depth <= cycleCheckDepth {
		return nil
	}
	if _, ok := e.onPath[key]; ok {
		return &json.UnsupportedValueError{
			Value: reflect.ValueOf(key),
			Str:   "encountered a cycle via rule.Condition",
		}
	}
	if e.onPath == nil {
		e.onPath = map[any]struct{}{}
	}
	e.onPath[key] = struct{}{}
	return nil
}

// leave undoes a successful enter.
func (e *wireEncoder) leave(key any) {
	if e.depth > cycleCheckDepth {
		delete(e.onPath, key)
	}
	e.depth--
}

func (e *wireEncoder) node(c *Condition) (wireCondition, error) {
	w := wireCondition{
		Attr: c.Attr, Op: c.Op, Value: wireValue(c.Op, c.Value),
		Event: c.Event, Within: c.Within, Count: c.Count, Sum: c.Sum, Last: c.Last,
		Tag: c.Tag, AppliedWithin: c.AppliedWithin,
		Segment: c.Segment,
	}
	var err error
	if w.All, err = e.list(c.All); err != nil {
		return wireCondition{}, err
	}
	if w.Any, err = e.list(c.Any); err != nil {
		return wireCondition{}, err
	}
	if c.Not != nil {
		if err := e.enter(c.Not); err != nil {
			return wireCondition{}, err
		}
		n, err := e.node(c.Not)
		e.leave(c.Not)
		if err != nil {
			return wireCondition{}, err
		}
		w.Not = &n
	}
	return w, nil
}

// list converts the children of all / any, keeping nil and empty apart.
func (e *wireEncoder) list(cs []Condition) ([]wireCondition, error) {
	if cs == nil {
		return nil, nil
	}
	out := make([]wireCondition, len(cs))
	if len(cs) == 0 {
		return out, nil
	}
	key := listKey{&cs[0], len(cs)}
	if err := e.enter(key); err != nil {
		return nil, err
	}
	defer e.leave(key)
	for i := range cs {
		w, err := e.node(&cs[i])
		if err != nil {
			return nil, err
		}
		out[i] = w
	}
	return out, nil
}

// wireValue returns the value to encode for the operand v of operator op
// (see Condition.MarshalJSON).
func wireValue(op string, v any) any {
	switch parseOp(op) {
	case opWithin, opOlderThan, opBirthdayWithin:
		switch x := v.(type) {
		case time.Duration:
			return wireDuration(Duration(x), v)
		case Duration:
			return wireDuration(x, v)
		}
	}
	if w, ok := wireNumbers(v); ok {
		return w
	}
	return v
}

// wireDuration returns the text form of the duration d (v as given), "0d"
// for zero, and v itself when d has no text form (negative or with a
// fraction of a second), which Compile rejects either way.
func wireDuration(d Duration, v any) any {
	if d == 0 {
		return "0d"
	}
	if s, ok := d.text(); ok {
		return s
	}
	return v
}

var (
	decimalType    = reflect.TypeFor[decimal.Decimal]()
	decimalPtrType = reflect.TypeFor[*decimal.Decimal]()
)

// wireNumbers returns v with decimals, alone or as elements of a list
// (any slice or array, as toList reads it), replaced by JSON numbers, and
// whether it replaced any. Lists nested in lists are left alone: they are
// never valid operands, and a []any may contain itself.
func wireNumbers(v any) (any, bool) {
	switch x := v.(type) {
	case nil, string, bool, int, int64, float64, json.Number, time.Time, []string:
		return v, false
	case []any:
		var out []any
		for i, el := range x {
			if n, ok := decimalNumber(el); ok {
				if out == nil {
					out = append(make([]any, 0, len(x)), x...)
				}
				out[i] = n
			}
		}
		return out, out != nil
	}
	if n, ok := decimalNumber(v); ok {
		return n, true
	}
	rv := reflect.ValueOf(v)
	if (rv.Kind() != reflect.Slice || rv.IsNil()) && rv.Kind() != reflect.Array {
		return v, false
	}
	et := rv.Type().Elem()
	if et != decimalType && et != decimalPtrType && et.Kind() != reflect.Interface {
		return v, false
	}
	out := make([]any, rv.Len())
	changed := false
	for i := range out {
		out[i] = rv.Index(i).Interface()
		if n, ok := decimalNumber(out[i]); ok {
			out[i], changed = n, true
		}
	}
	if !changed {
		return v, false
	}
	return out, true
}

// decimalNumber returns the decimal v (a decimal.Decimal or a non-nil
// *decimal.Decimal) as a JSON number with its exact value.
func decimalNumber(v any) (json.Number, bool) {
	var d decimal.Decimal
	switch x := v.(type) {
	case decimal.Decimal:
		d = x
	case *decimal.Decimal:
		if x == nil {
			return "", false
		}
		d = *x
	default:
		return "", false
	}
	s := d.String()
	// Compile reads at most maxNumberText characters of a number. A large
	// decimal ("1" and 40 zeros) is shorter in exponent form, which keeps
	// its exponent and so stays within Compile's limits; only decimals of
	// about 60 significant digits or more remain too long.
	if len(s) > maxNumberText && d.Exponent() > 0 {
		if e := d.Coefficient().String() + "e" + strconv.Itoa(int(d.Exponent())); len(e) < len(s) {
			s = e
		}
	}
	return json.Number(s), true
}
