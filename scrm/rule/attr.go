package rule

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// valueType is how an eq / ne / contains constant compares.
type valueType uint8

const (
	vtString valueType = iota + 1
	vtNumber
	vtBool
)

// attrNode is a compiled attribute comparison.
type attrNode struct {
	op       op
	vt       valueType
	str      string
	boolean  bool     // eq/ne bool constant; exists: wanted presence
	num      number   // eq/ne/gt/.../contains constant; between: low
	hi       number   // between: high
	strs     []string // in/nin: sorted, unique
	nums     []number // in/nin: numbers
	t        time.Time
	afterDay bool // after a date: attr >= start of the next day
	dur      time.Duration
	days     int64 // birthdayWithin
	loc      *time.Location
}

func (cp *compiler) compileAttr(c *Condition, path string) (*attrNode, string, error) {
	if c.Attr == "" {
		return nil, "", invalid(join(path, "attr"), "required")
	}
	opPath, vpath := join(path, "op"), join(path, "value")
	if c.Op == "" {
		return nil, "", invalid(opPath, "required")
	}
	o := parseOp(c.Op)
	if o == opInvalid {
		return nil, "", invalid(opPath, "unknown operator %q; want one of %s", c.Op, opList)
	}
	typ, declared := cp.schema[c.Attr]
	if declared && !o.appliesTo(typ) {
		return nil, "", invalid(opPath, "%s does not apply to %s attribute %q", o, typ, c.Attr)
	}
	a := &attrNode{op: o, loc: cp.loc}
	desc := "attr " + nameText(c.Attr) + " " + o.String()
	v := c.Value
	var vdesc string
	var err error
	switch o {
	case opExists:
		a.boolean = true
		switch x := v.(type) {
		case nil:
		case bool:
			a.boolean = x
			if !x {
				vdesc = "false"
			}
		default:
			err = invalid(vpath, "want true, false or no value, got %s", describe(v))
		}
	case opEq, opNe:
		vdesc, err = a.scalar(v, typ, vpath)
	case opGt, opGte, opLt, opLte:
		a.num, err = numberAt(v, vpath)
		vdesc = a.num.text
	case opBetween:
		list, ok := toList(v)
		if !ok || len(list) != 2 {
			return nil, "", invalid(vpath, "want a list [low, high], got %s", describe(v))
		}
		if a.num, err = numberAt(list[0], index(vpath, 0)); err != nil {
			return nil, "", err
		}
		if a.hi, err = numberAt(list[1], index(vpath, 1)); err != nil {
			return nil, "", err
		}
		if a.num.d.Cmp(a.hi.d) > 0 {
			return nil, "", invalid(vpath, "low %s is above high %s", a.num.text, a.hi.text)
		}
		vdesc = "[" + a.num.text + ", " + a.hi.text + "]"
	case opIn, opNin:
		vdesc, err = a.set(v, typ, vpath)
	case opContains:
		switch {
		case typ == String:
			s, ok := v.(string)
			if !ok {
				return nil, "", invalid(vpath, "want a string, got %s", describe(v))
			}
			a.vt, a.str, vdesc = vtString, s, strconv.Quote(s)
		default:
			if s, ok := v.(string); ok {
				a.vt, a.str, vdesc = vtString, s, strconv.Quote(s)
				break
			}
			n, ok, msg := parseNumber(v, false)
			if !ok || msg != "" {
				return nil, "", invalid(vpath, "want a string or a number, got %s", describe(v))
			}
			a.vt, a.num, vdesc = vtNumber, n, n.text
		}
	case opPrefix:
		s, ok := v.(string)
		if !ok {
			return nil, "", invalid(vpath, "want a string, got %s", describe(v))
		}
		a.str, vdesc = s, strconv.Quote(s)
	case opBefore, opAfter:
		vdesc, err = a.instant(v, vpath)
	case opWithin, opOlderThan, opBirthdayWithin:
		var d Duration
		if d, err = durationAt(v, vpath, o == opBirthdayWithin); err != nil {
			return nil, "", err
		}
		a.dur, vdesc = time.Duration(d), d.String()
		if o == opBirthdayWithin {
			if d == 0 {
				vdesc = "0d" // today; Duration(0) prints as "0s"
			}
			if a.dur%day != 0 {
				return nil, "", invalid(vpath, "want a whole number of days, got %s", d)
			}
			a.days = int64(a.dur / day)
		}
	}
	if err != nil {
		return nil, "", err
	}
	if vdesc != "" {
		desc += " " + vdesc
	}
	return a, desc, nil
}

// scalar compiles the constant of eq / ne.
func (a *attrNode) scalar(v any, typ Type, path string) (string, error) {
	switch typ {
	case String:
		s, ok := v.(string)
		if !ok {
			return "", invalid(path, "want a string, got %s", describe(v))
		}
		a.vt, a.str = vtString, s
		return strconv.Quote(s), nil
	case Number:
		n, err := numberAt(v, path)
		a.vt, a.num = vtNumber, n
		return n.text, err
	case Bool:
		b, ok := v.(bool)
		if !ok {
			return "", invalid(path, "want true or false, got %s", describe(v))
		}
		a.vt, a.boolean = vtBool, b
		return strconv.FormatBool(b), nil
	}
	switch x := v.(type) {
	case string:
		a.vt, a.str = vtString, x
		return strconv.Quote(x), nil
	case bool:
		a.vt, a.boolean = vtBool, x
		return strconv.FormatBool(x), nil
	}
	n, ok, msg := parseNumber(v, false)
	if !ok {
		return "", invalid(path, "want a string, number or bool, got %s", describe(v))
	}
	if msg != "" {
		return "", invalid(path, "%s, got %s", msg, describe(v))
	}
	a.vt, a.num = vtNumber, n
	return n.text, nil
}

// set compiles the list of in / nin: strings or numbers, not mixed.
func (a *attrNode) set(v any, typ Type, path string) (string, error) {
	list, ok := toList(v)
	if !ok {
		return "", invalid(path, "want a list, got %s", describe(v))
	}
	if len(list) == 0 {
		return "", invalid(path, "empty list; want at least one value")
	}
	numbers := typ == Number
	if typ != String && typ != Number {
		_, isStr := list[0].(string)
		numbers = !isStr
	}
	texts := make([]string, len(list))
	for i, e := range list {
		ep := index(path, i)
		if !numbers {
			s, ok := e.(string)
			if !ok {
				return "", invalid(ep, "want a string like the list's other values, got %s", describe(e))
			}
			a.strs = append(a.strs, s)
			texts[i] = strconv.Quote(s)
			continue
		}
		n, err := numberAt(e, ep)
		if err != nil {
			return "", err
		}
		a.nums = append(a.nums, n)
		texts[i] = n.text
	}
	if numbers {
		a.vt = vtNumber
	} else {
		a.vt = vtString
		slices.Sort(a.strs)
		a.strs = slices.Compact(a.strs)
	}
	return "[" + strings.Join(texts, ", ") + "]", nil
}

// instant compiles the constant of before / after.
func (a *attrNode) instant(v any, path string) (string, error) {
	switch x := v.(type) {
	case time.Time:
		if !x.IsZero() {
			a.t = x
			return x.In(a.loc).Format(time.RFC3339Nano), nil
		}
	case *time.Time:
		if x != nil && !x.IsZero() {
			a.t = *x
			return x.In(a.loc).Format(time.RFC3339Nano), nil
		}
	case string:
		if y, m, d, ok := parseDate(x); ok {
			a.t = startOfDay(y, m, d, a.loc)
			if a.op == opAfter {
				a.t, a.afterDay = startOfDay(y, m, d+1, a.loc), true
			}
			return x, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			a.t = t
			return x, nil
		}
	}
	return "", invalid(path, `want an RFC 3339 time or a date like "2006-01-02", got %s`, describe(v))
}

// match evaluates an attribute comparison on the value v the Env returned
// (present reports whether it is set; a nil value counts as missing).
func (a *attrNode) match(v any, present bool, now time.Time) bool {
	if !present || v == nil {
		switch a.op {
		case opNe, opNin:
			return true
		case opExists:
			return !a.boolean
		}
		return false
	}
	switch a.op {
	case opExists:
		return a.boolean
	case opEq:
		eq, ok := a.equal(v)
		return ok && eq
	case opNe:
		eq, ok := a.equal(v)
		return ok && !eq
	case opGt, opGte, opLt, opLte:
		r, ok := cmpNum(v, &a.num)
		return ok && a.op.holds(r)
	case opBetween:
		lo, ok := cmpNum(v, &a.num)
		if !ok || lo < 0 {
			return false
		}
		hi, _ := cmpNum(v, &a.hi)
		return hi <= 0
	case opIn:
		in, ok := a.inSet(v)
		return ok && in
	case opNin:
		in, ok := a.inSet(v)
		return ok && !in
	case opContains:
		return a.contains(v)
	case opPrefix:
		s, ok := stringOf(v)
		return ok && strings.HasPrefix(s, a.str)
	case opBefore, opAfter, opWithin, opOlderThan:
		t, ok := timeOf(v, a.loc)
		if !ok {
			return false
		}
		switch a.op {
		case opBefore:
			return t.Before(a.t)
		case opAfter:
			if a.afterDay {
				return !t.Before(a.t)
			}
			return t.After(a.t)
		case opWithin:
			return !t.Before(now.Add(-a.dur)) && !t.After(now)
		default:
			return t.Before(now.Add(-a.dur))
		}
	case opBirthdayWithin:
		m, d, ok := monthDayOf(v)
		return ok && daysUntilBirthday(m, d, now, a.loc) <= a.days
	}
	return false
}

// equal compares v with the eq / ne constant; ok == false when the types
// do not compare.
func (a *attrNode) equal(v any) (eq, ok bool) {
	switch a.vt {
	case vtString:
		s, ok := stringOf(v)
		return ok && s == a.str, ok
	case vtBool:
		b, ok := boolOf(v)
		return ok && b == a.boolean, ok
	}
	r, ok := cmpNum(v, &a.num)
	return ok && r == 0, ok
}

// inSet reports whether v (or, for a list, any element of v) is in the
// in / nin set; ok == false when v is neither a comparable scalar nor a
// list.
func (a *attrNode) inSet(v any) (in, ok bool) {
	switch x := v.(type) {
	case []string:
		for _, s := range x {
			if a.vt == vtString && hasString(a.strs, s) {
				return true, true
			}
		}
		return false, true
	case []any:
		for _, e := range x {
			if in, ok := a.scalarInSet(e); ok && in {
				return true, true
			}
		}
		return false, true
	}
	if in, ok := a.scalarInSet(v); ok {
		return in, true
	}
	return a.listInSet(v)
}

// listInSet is inSet for a list of another type than []string and []any
// (type Tags []string, []Tier): the slow path, by reflection.
func (a *attrNode) listInSet(v any) (in, ok bool) {
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return false, false
	}
	for i := range rv.Len() {
		e := rv.Index(i)
		if s, ok := stringKind(e); ok {
			if a.vt == vtString && hasString(a.strs, s) {
				return true, true
			}
			continue
		}
		if e.CanInterface() {
			if in, ok := a.scalarInSet(e.Interface()); ok && in {
				return true, true
			}
		}
	}
	return false, true
}

func (a *attrNode) scalarInSet(v any) (in, ok bool) {
	if a.vt == vtString {
		s, ok := stringOf(v)
		return ok && hasString(a.strs, s), ok
	}
	for i := range a.nums {
		r, ok := cmpNum(v, &a.nums[i])
		if !ok {
			return false, false
		}
		if r == 0 {
			return true, true
		}
	}
	return false, true
}

// contains: a substring of a string attribute, or an element of a list.
func (a *attrNode) contains(v any) bool {
	switch x := v.(type) {
	case string:
		return a.vt == vtString && strings.Contains(x, a.str)
	case []string:
		if a.vt != vtString {
			return false
		}
		for _, s := range x {
			if s == a.str {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if eq, ok := a.equal(e); ok && eq {
				return true
			}
		}
	default:
		if s, ok := namedString(v); ok {
			return a.vt == vtString && strings.Contains(s, a.str)
		}
		return a.listContains(v)
	}
	return false
}

// listContains is contains for a list of another type than []string and
// []any (type Tags []string, []Tier): the slow path, by reflection.
func (a *attrNode) listContains(v any) bool {
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return false
	}
	for i := range rv.Len() {
		e := rv.Index(i)
		if s, ok := stringKind(e); ok {
			if a.vt == vtString && s == a.str {
				return true
			}
			continue
		}
		if e.CanInterface() {
			if eq, ok := a.equal(e.Interface()); ok && eq {
				return true
			}
		}
	}
	return false
}

// stringOf reads a string attribute: a string, or a value of a named
// string type (type Tier string). json.Number is a number, not a string.
// The exact type string is checked first, so the common path does not use
// reflection.
func stringOf(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	return namedString(v)
}

// namedString reads a value of a named string type other than json.Number.
func namedString(v any) (string, bool) {
	if _, ok := v.(json.Number); ok {
		return "", false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.String {
		return "", false
	}
	return rv.String(), true
}

// stringKind reads an element of a list of a string kind ([]Tier) without
// boxing it; json.Number is a number, not a string.
func stringKind(e reflect.Value) (string, bool) {
	if e.Kind() != reflect.String || e.Type() == reflect.TypeFor[json.Number]() {
		return "", false
	}
	return e.String(), true
}

// boolOf reads a bool attribute: a bool, or a value of a named bool type.
func boolOf(v any) (bool, bool) {
	if b, ok := v.(bool); ok {
		return b, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Bool {
		return false, false
	}
	return rv.Bool(), true
}

// hasString reports whether sorted contains s, by binary search.
func hasString(sorted []string, s string) bool {
	lo, hi := 0, len(sorted)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sorted[m] < s {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(sorted) && sorted[lo] == s
}
