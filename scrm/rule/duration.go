package rule

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Duration is a span of time in a condition: a time.Duration that encodes
// as the short strings an operator UI saves, "90m", "12h", "30d", "2w".
//
// The text form is a positive whole number followed by one unit: s
// (second), m (minute), h (hour), d (day of 24 hours) or w (week of 7 days).
// Compound forms such as "1d12h", signs, fractions, spaces and upper-case
// units are rejected. A day is always 24 hours; calendar days (which DST can
// make 23 or 25 hours long) only matter to birthdayWithin, which counts
// dates, not hours.
//
// The zero Duration means "not set" in a Condition. Durations are encoded
// in the largest unit that represents them exactly: 36h is "36h", 48h is
// "2d", 14 days is "2w".
type Duration time.Duration

// The units of the text form, largest first.
const (
	day  = 24 * time.Hour
	week = 7 * day
)

// ParseDuration parses the text form of a Duration ("30d"). Empty input, an
// unknown unit ("30x"), a sign ("-3d"), zero ("0d") and values beyond
// time.Duration's range (about 292 years) are errors matching
// scrm.ErrInvalid.
func ParseDuration(s string) (Duration, error) {
	d, msg := parseDuration(s)
	if msg != "" {
		return 0, scrm.Invalid("rule.ParseDuration", "", "%s", msg)
	}
	return d, nil
}

// parseDuration does the work of ParseDuration, returning a message for a
// person instead of an error so callers can attach their own field path.
func parseDuration(s string) (Duration, string) {
	if len(s) < 2 {
		return 0, badDuration(s)
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = day
	case 'w':
		unit = week
	default:
		return 0, badDuration(s)
	}
	limit := int64(1<<63-1) / int64(unit)
	var n int64
	for i := 0; i < len(s)-1; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, badDuration(s)
		}
		n = n*10 + int64(c-'0')
		if n > limit {
			return 0, "duration " + strconv.Quote(s) + " is too long (at most about 292 years)"
		}
	}
	if n == 0 {
		return 0, "duration " + strconv.Quote(s) + " must be positive"
	}
	return Duration(time.Duration(n) * unit), ""
}

func badDuration(s string) string {
	return `want a duration like "30d" (a whole number of s, m, h, d or w), got ` + strconv.Quote(s)
}

// text returns the text form, or ok == false when d has none (zero,
// negative, or not a whole number of seconds).
func (d Duration) text() (string, bool) {
	if d <= 0 || time.Duration(d)%time.Second != 0 {
		return "", false
	}
	for _, u := range [...]struct {
		unit time.Duration
		sym  string
	}{{week, "w"}, {day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if time.Duration(d)%u.unit == 0 {
			return strconv.FormatInt(int64(time.Duration(d)/u.unit), 10) + u.sym, true
		}
	}
	return "", false // unreachable: every whole number of seconds has a unit
}

// String returns the text form ("30d"). A Duration without one (zero,
// negative, or with a fraction of a second) is printed as time.Duration
// prints it.
func (d Duration) String() string {
	if s, ok := d.text(); ok {
		return s
	}
	return time.Duration(d).String()
}

// MarshalText encodes d in its text form. Zero, negative and sub-second
// durations have none and are an error matching scrm.ErrInvalid.
func (d Duration) MarshalText() ([]byte, error) {
	s, ok := d.text()
	if !ok {
		return nil, scrm.Invalid("rule.Duration", "", "%s has no text form: want a positive whole number of seconds", time.Duration(d))
	}
	return []byte(s), nil
}

// UnmarshalText parses the text form, as ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON encodes d as a JSON string in its text form.
func (d Duration) MarshalJSON() ([]byte, error) {
	b, err := d.MarshalText()
	if err != nil {
		return nil, err
	}
	return json.Marshal(string(b))
}

// UnmarshalJSON decodes a JSON string in the text form. JSON null leaves d
// unchanged; anything else is an error matching scrm.ErrInvalid.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	v, msg := decodeDuration(b)
	if msg != "" {
		return scrm.Invalid("rule.Duration", "", "%s", msg)
	}
	*d = v
	return nil
}

// decodeDuration decodes a JSON string holding a duration's text form.
func decodeDuration(raw []byte) (Duration, string) {
	var s string
	if jsonKind(raw) != "a string" || json.Unmarshal(raw, &s) != nil {
		return 0, `want a duration string like "30d", got ` + jsonKind(raw)
	}
	return parseDuration(s)
}
