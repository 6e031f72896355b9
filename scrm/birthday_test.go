package scrm_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/scrmkit/scrmkit/scrm"
)

type birthdayString string

func TestBirthdayOf(t *testing.T) {
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Skip("no zone database")
	}
	shanghaiMidnight := time.Date(1990, 3, 20, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	encoded, err := json.Marshal(shanghaiMidnight)
	assert.NoError(t, err)
	var roundTripped any
	assert.NoError(t, json.Unmarshal(encoded, &roundTripped))
	for _, tc := range []struct {
		v    any
		m, d int
		ok   bool
	}{
		{shanghaiMidnight, 3, 20, true},
		{&shanghaiMidnight, 3, 20, true},
		{roundTripped, 3, 20, true}, // "1990-03-20T00:00:00+08:00": the date in its own offset, not UTC's 03-19
		{"1990-03-20T00:00:00.5+08:00", 3, 20, true},
		{"2000-01-01T23:30:00-03:00", 1, 1, true},
		{time.Date(2000, 1, 1, 23, 30, 0, 0, santiago), 1, 1, true},
		{"1990-03-20", 3, 20, true},
		{"03-20", 3, 20, true},
		{"02-29", 2, 29, true},
		{birthdayString("12-31"), 12, 31, true},
		{"2023-02-29", 0, 0, false},
		{"13-01", 0, 0, false},
		{"3-20", 0, 0, false},
		{"1990-03-20T25:00:00+08:00", 0, 0, false},
		{"1990-03-20 00:00:00", 0, 0, false},
		{"", 0, 0, false},
		{time.Time{}, 0, 0, false},
		{(*time.Time)(nil), 0, 0, false},
		{json.Number("0320"), 0, 0, false},
		{320, 0, 0, false},
		{nil, 0, 0, false},
	} {
		m, d, ok := scrm.BirthdayOf(tc.v)
		assert.Equal(t, []any{tc.m, tc.d, tc.ok}, []any{m, d, ok}, "%T %v", tc.v, tc.v)
	}
}

// FuzzBirthdayOf: a birthday is outside input; BirthdayOf must never
// panic, and what it accepts must be a real date (of a leap year, for
// "MM-DD").
func FuzzBirthdayOf(f *testing.F) {
	for _, s := range []string{"02-29", "1990-03-10", "13-01", "00-00", "2023-02-29", "12-31", "1-1", "", "2000-02-30x",
		"1990-03-20T00:00:00+08:00", "1990-03-20T00:00:00Z", "9999-12-31T23:59:59.999999999-23:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, d, ok := scrm.BirthdayOf(s)
		if !ok {
			return
		}
		if m < 1 || m > 12 || d < 1 || d > 31 {
			t.Fatalf("%q read as %d-%d", s, m, d)
		}
		if got := time.Date(2000, time.Month(m), d, 0, 0, 0, 0, time.UTC); got.Month() != time.Month(m) || got.Day() != d {
			t.Fatalf("%q read as %d-%d, not a date", s, m, d)
		}
	})
}
