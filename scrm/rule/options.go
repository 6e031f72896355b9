package rule

import (
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// CompileOptions configures Compile. A nil *CompileOptions means the
// defaults; the zero value of every field is its default.
type CompileOptions struct {
	// Location is the time zone of calendar logic: dates such as
	// "2024-05-01" in before/after and in attribute values, and "today" in
	// birthdayWithin. Nil means scrm.DefaultLocation() (Asia/Shanghai).
	Location *time.Location

	// Schema declares attribute types. An operator that does not apply to
	// the declared type, or a value of another type (a string compared with
	// gt on a Number attribute, a number with prefix, a time operator on a
	// String attribute), is a compile error naming the path, never a silent
	// false. Attributes the schema does not name, and every attribute when
	// Schema is nil, are typed by their operator and value alone.
	Schema map[string]Type
	// Sensitive names attributes that hold personal data (phone numbers,
	// names, addresses): Explain reports them as present or missing but never
	// shows their values, so traces can be logged and shown to operators.
	// Nil means DefaultSensitive(); an empty non-nil slice masks nothing.
	Sensitive []string
}

// DefaultSensitive returns the attribute names masked in traces unless
// CompileOptions.Sensitive says otherwise.
func DefaultSensitive() []string {
	return []string{"address", "email", "id_card", "mobile", "name", "phone", "real_name", "wechat"}
}

// sensitive returns the set of masked attribute names.
func (o *CompileOptions) sensitive() map[string]bool {
	names := DefaultSensitive()
	if o != nil && o.Sensitive != nil {
		names = o.Sensitive
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set
}

// location returns the configured location or the default.
func (o *CompileOptions) location() *time.Location {
	if o == nil || o.Location == nil {
		return scrm.DefaultLocation()
	}
	return o.Location
}

// Type is the declared type of an attribute in CompileOptions.Schema. The
// zero Type is not a valid declaration.
type Type uint8

// The attribute types a Schema can declare.
const (
	// String attributes hold a Go string. Operators: eq, ne, in, nin,
	// contains (substring), prefix, exists.
	String Type = iota + 1
	// Number attributes hold an integer, a float, a json.Number or a
	// decimal.Decimal. Operators: eq, ne, gt, gte, lt, lte, between, in,
	// nin, exists. Values may be numbers or numeric strings ("500.00").
	Number
	// Bool attributes hold a bool. Operators: eq, ne, exists.
	Bool
	// Time attributes hold a time.Time or a date string "2006-01-02" (or
	// "01-02" for birthdays). Operators: before, after, within, olderThan,
	// birthdayWithin, exists.
	Time
	// List attributes hold a []string or []any. Operators: contains
	// (element), in and nin (any element / no element in the list), exists.
	List
)

// String returns the type's name as used in JSON: "string", "number",
// "bool", "time" or "list".
func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "bool"
	case Time:
		return "time"
	case List:
		return "list"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText encodes the type by name, so a Schema can be stored as JSON.
func (t Type) MarshalText() ([]byte, error) {
	if t < String || t > List {
		return nil, scrm.Invalid("rule.Type", "", "unknown type %d", uint8(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText decodes a type name; an unknown name is an error matching
// scrm.ErrInvalid.
func (t *Type) UnmarshalText(b []byte) error {
	for c := String; c <= List; c++ {
		if string(b) == c.String() {
			*t = c
			return nil
		}
	}
	return scrm.Invalid("rule.Type", "", "unknown type %q; want string, number, bool, time or list", b)
}
