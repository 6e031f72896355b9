package rule

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Helpers that read the operands of attribute operators (Condition.Value)
// at compile time.

// numberAt compiles a numeric constant (numeric strings accepted).
func numberAt(v any, path string) (number, error) {
	n, ok, msg := parseNumber(v, true)
	if !ok {
		return number{}, invalid(path, "want a number, got %s", describe(v))
	}
	if msg != "" {
		return number{}, invalid(path, "%s, got %s", msg, describe(v))
	}
	return n, nil
}

// durationAt compiles the operand of within / olderThan / birthdayWithin.
// A zero duration is accepted only when zeroOK (birthdayWithin, where
// "0d" means today); the Duration type itself has no zero text form, since
// its zero means "not set".
func durationAt(v any, path string, zeroOK bool) (Duration, error) {
	var d Duration
	switch x := v.(type) {
	case Duration:
		d = x
	case time.Duration:
		d = Duration(x)
	case string:
		if zeroOK && isZeroDuration(x) {
			return 0, nil
		}
		var msg string
		if d, msg = parseDuration(x); msg != "" {
			return 0, invalid(path, "%s", msg)
		}
	default:
		return 0, invalid(path, `want a duration like "30d", got %s`, describe(v))
	}
	if zeroOK && d == 0 {
		return 0, nil
	}
	return d, checkDuration(d, path)
}

// isZeroDuration reports whether s is zero in the text form of a Duration:
// digits, all 0, followed by one unit ("0d", "00h").
func isZeroDuration(s string) bool {
	if len(s) < 2 || !strings.ContainsRune("smhdw", rune(s[len(s)-1])) {
		return false
	}
	return strings.Trim(s[:len(s)-1], "0") == ""
}

// toList returns the elements of a list value: []any, []string or any
// other slice or array.
func toList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	case nil, string:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// describe renders a value for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return string(x)
	case decimal.Decimal:
		return x.String()
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case map[string]any:
		return "an object"
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return fmt.Sprintf("a %T", v)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}
