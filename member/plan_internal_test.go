package member

import (
	"testing"
	"time"
)

// FuzzParseBirthday: the birthday of a request or a profile attribute is
// outside input; it must never panic, and what it accepts must be a real
// date of a leap year.
func FuzzParseBirthday(f *testing.F) {
	for _, s := range []string{"02-29", "1990-03-10", "13-01", "00-00", "2023-02-29", "12-31", "1-1", "", "2000-02-30x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, d, ok := parseBirthday(s)
		if !ok {
			return
		}
		if m < 1 || m > 12 || d < 1 || d > 31 {
			t.Fatalf("%q parsed as %d-%d", s, m, d)
		}
		if got := time.Date(2000, time.Month(m), d, 0, 0, 0, 0, time.UTC); got.Month() != time.Month(m) || got.Day() != d {
			t.Fatalf("%q parsed as %d-%d, not a date", s, m, d)
		}
	})
}
