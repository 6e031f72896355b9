package scrm

import (
	"encoding/json"
	"reflect"
	"time"
)

// BirthdayOf reads a birthday as hosts keep it in a profile attribute or
// send it in a request: a non-zero time.Time or *time.Time, whose calendar
// date is read in its own location (a birthday is a date, not an instant);
// a string "YYYY-MM-DD" or "MM-DD" ("02-29" is valid); or a string in RFC
// 3339 form ("1990-03-20T00:00:00+08:00"), whose date is read in the offset
// it carries — that is what a time.Time attribute becomes after a JSON round
// trip (a customer.attrs_set event through a queue), and it must read as the
// same birthday. A value of a named string type is read as its string. ok
// is false for anything else, including dates that do not exist
// ("2023-02-29", "13-01"). Every scrmkit package that reads birthdays (rule
// conditions, member's birthday rewards) reads them through BirthdayOf.
func BirthdayOf(v any) (month, day int, ok bool) {
	switch x := v.(type) {
	case time.Time:
		return dateOf(x)
	case *time.Time:
		if x == nil {
			return 0, 0, false
		}
		return dateOf(*x)
	case string:
		return parseBirthday(x)
	case json.Number:
		return 0, 0, false
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		return parseBirthday(rv.String())
	}
	return 0, 0, false
}

func dateOf(t time.Time) (int, int, bool) {
	if t.IsZero() {
		return 0, 0, false
	}
	_, m, d := t.Date()
	return int(m), d, true
}

// parseBirthday parses the string forms BirthdayOf accepts.
func parseBirthday(s string) (int, int, bool) {
	var t time.Time
	var err error
	switch {
	case len(s) == 5:
		t, err = time.Parse(time.DateOnly, "2000-"+s) // a leap year
	case len(s) == 10:
		t, err = time.Parse(time.DateOnly, s)
	case len(s) >= 20 && s[4] == '-' && s[10] == 'T':
		t, err = time.Parse(time.RFC3339Nano, s)
	default:
		return 0, 0, false
	}
	if err != nil {
		return 0, 0, false
	}
	return dateOf(t)
}
