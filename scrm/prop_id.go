package scrm

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// IDProp returns Props[name] as an ID (an order number, say), as hosts'
// events carry it after JSON decoding: a string, a string kind or a
// fmt.Stringer as it is; an integer of any kind in decimal digits; a
// json.Number holding an integer ("12345", "12345.00", "1.2345e4", or digits
// beyond int64) in decimal digits; a float with no fraction, at most 2^53
// in magnitude (a larger float64 may already be another number), in decimal
// digits. It returns "" when the prop is missing, nil or empty. Any other
// value is an ErrInvalid error of op naming the field "Props.<name>".
func (e Event) IDProp(op, name string) (string, error) {
	v, ok := e.Props[name]
	if !ok || v == nil {
		return "", nil
	}
	invalid := func(why string) error {
		return Invalid(op, "Props."+name, "%s, got %T %v", why, v, v)
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		n, err := integralNumber(string(x))
		if err != nil {
			return "", invalid(err.Error())
		}
		return n, nil
	case float64:
		return integralFloatID(x, invalid)
	case float32:
		return integralFloatID(float64(x), invalid)
	case fmt.Stringer:
		return x.String(), nil
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return integralFloatID(rv.Float(), invalid)
	}
	return "", invalid("must be a string or an integral number")
}

func integralFloatID(f float64, invalid func(string) error) (string, error) {
	n, err := integralFloat(f)
	if err != nil {
		return "", invalid(err.Error())
	}
	return n, nil
}

// maxExactFloat is 2^53: every integer up to it, and none much beyond, is
// exact in a float64.
const maxExactFloat = 1 << 53

// integralNumber returns the decimal digits of a JSON number that is an
// integer: "12345", "-7", "12345.00" (a zero fraction), or an exponent form
// such as "1.2345e4" within float64's exact range.
func integralNumber(s string) (string, error) {
	digits := strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(digits, ".")
	if intPart != "" && isDigits(intPart) && (!hasFrac || (frac != "" && strings.Trim(frac, "0") == "")) {
		if len(intPart) > 1 && intPart[0] == '0' {
			return "", errors.New("must be a string or an integral number; a leading zero is not a JSON number")
		}
		if intPart == "0" || len(s) == len(digits) {
			return intPart, nil
		}
		return "-" + intPart, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "", errors.New("must be a string or an integral number; not a number")
	}
	return integralFloat(f)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// integralFloat formats a float64 that holds an exact integer.
func integralFloat(f float64) (string, error) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f):
		return "", errors.New("must be a string or an integral number")
	case math.Abs(f) > maxExactFloat:
		return "", errors.New("a float64 beyond 2^53 may not be the number meant; send it as a string or json.Number")
	}
	return strconv.FormatInt(int64(f), 10), nil
}
