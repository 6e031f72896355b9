package scrm_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

func loadZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// TestDayStart pins DayStart on ordinary days and on each kind of day a
// zone change makes unusual: a gap swallowing midnight, midnight happening
// twice, a skipped date, offset changes away from midnight, and dates
// time.Date normalizes.
func TestDayStart(t *testing.T) {
	utc := func(y int, m time.Month, d, h, mi int) time.Time { return time.Date(y, m, d, h, mi, 0, 0, time.UTC) }
	cases := []struct {
		name    string
		zone    string
		y       int
		m       time.Month
		d       int
		want    time.Time // the instant
		wantLoc string    // its local reading, "2006-01-02 15:04 -07:00"
	}{
		{"ordinary day", "Asia/Shanghai", 2024, time.March, 15, utc(2024, 3, 14, 16, 0), "2024-03-15 00:00 +08:00"},
		{"UTC", "UTC", 2024, time.March, 15, utc(2024, 3, 15, 0, 0), "2024-03-15 00:00 +00:00"},
		{"New York spring forward at 02:00", "America/New_York", 2024, time.March, 10, utc(2024, 3, 10, 5, 0), "2024-03-10 00:00 -05:00"},
		{"New York fall back at 02:00", "America/New_York", 2024, time.November, 3, utc(2024, 11, 3, 4, 0), "2024-11-03 00:00 -04:00"},
		{"Asuncion gap swallows midnight", "America/Asuncion", 2023, time.October, 1, utc(2023, 10, 1, 4, 0), "2023-10-01 01:00 -03:00"},
		{"Havana gap swallows midnight", "America/Havana", 2012, time.April, 1, utc(2012, 4, 1, 5, 0), "2012-04-01 01:00 -04:00"},
		{"Sao Paulo gap swallows midnight", "America/Sao_Paulo", 2018, time.November, 4, utc(2018, 11, 4, 3, 0), "2018-11-04 01:00 -02:00"},
		{"Tehran gap swallows midnight east of UTC", "Asia/Tehran", 2020, time.March, 21, utc(2020, 3, 20, 20, 30), "2020-03-21 01:00 +04:30"},
		{"Beirut gap swallows midnight east of UTC", "Asia/Beirut", 2022, time.March, 27, utc(2022, 3, 26, 22, 0), "2022-03-27 01:00 +03:00"},
		{"Havana midnight twice, first one", "America/Havana", 2012, time.November, 4, utc(2012, 11, 4, 4, 0), "2012-11-04 00:00 -04:00"},
		{"Amman midnight twice, first one", "Asia/Amman", 2014, time.October, 31, utc(2014, 10, 30, 21, 0), "2014-10-31 00:00 +03:00"},
		{"Lord Howe 30-minute spring forward at 02:00", "Australia/Lord_Howe", 2023, time.October, 1, utc(2023, 9, 30, 13, 30), "2023-10-01 00:00 +10:30"},
		{"Lord Howe 30-minute fall back at 02:00", "Australia/Lord_Howe", 2024, time.April, 7, utc(2024, 4, 6, 13, 0), "2024-04-07 00:00 +11:00"},
		{"Apia skipped 30 December 2011", "Pacific/Apia", 2011, time.December, 30, utc(2011, 12, 30, 10, 0), "2011-12-31 00:00 +14:00"},
		{"January 32 is 1 February", "Asia/Shanghai", 2024, time.January, 32, utc(2024, 1, 31, 16, 0), "2024-02-01 00:00 +08:00"},
		{"month 13 is next January", "Asia/Shanghai", 2023, 13, 1, utc(2023, 12, 31, 16, 0), "2024-01-01 00:00 +08:00"},
		{"day 0 is the last of the previous month", "Asia/Shanghai", 2024, time.March, 0, utc(2024, 2, 28, 16, 0), "2024-02-29 00:00 +08:00"},
		{"31 September in a gap is 1 October", "America/Asuncion", 2023, time.September, 31, utc(2023, 10, 1, 4, 0), "2023-10-01 01:00 -03:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc := loadZone(t, c.zone)
			got := scrm.DayStart(c.y, c.m, c.d, loc)
			assert.True(t, c.want.Equal(got), "want %s, got %s", c.want, got.UTC())
			assert.Equal(t, c.wantLoc, got.Format("2006-01-02 15:04 -07:00"))
			assert.Same(t, loc, got.Location())
		})
	}
	fixed := time.FixedZone("UTC+5:45", 5*3600+45*60)
	assert.True(t, time.Date(2024, 6, 1, 0, 0, 0, 0, fixed).Equal(scrm.DayStart(2024, time.June, 1, fixed)))
}

// TestDayStartIsFirstInstant checks the definition on every day of many
// years in zones with gaps and repeats at and away from midnight: the
// instant returned shows the date (or, for a skipped date, the next), the
// instant before it shows an earlier date, and days start in order.
func TestDayStartIsFirstInstant(t *testing.T) {
	zones := []string{
		"Asia/Shanghai", "America/New_York", "America/Asuncion", "America/Havana",
		"America/Sao_Paulo", "America/Santiago", "Australia/Lord_Howe", "Asia/Amman",
		"Asia/Gaza", "Asia/Beirut", "Asia/Tehran", "Asia/Damascus", "Africa/Cairo",
		"Pacific/Apia", "Europe/London",
	}
	from, to := 1970, 2040
	if testing.Short() {
		from = 2005
	}
	ordinal := func(t time.Time) int { // days since 1 January 1 of t's local date
		y, m, d := t.Date()
		return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()/86400 + 62135596800/86400)
	}
	for _, name := range zones {
		loc := loadZone(t, name)
		var prev time.Time
		for day := time.Date(from, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < to; day = day.AddDate(0, 0, 1) {
			want := ordinal(day)
			got := scrm.DayStart(day.Year(), day.Month(), day.Day(), loc)
			switch ord := ordinal(got); {
			case ord < want:
				t.Fatalf("%s %s: DayStart = %s, an earlier date", name, day.Format(time.DateOnly), got)
			case ord > want: // a skipped date, which nothing shows
				next := scrm.DayStart(day.Year(), day.Month(), day.Day()+1, loc)
				if ord != want+1 || !got.Equal(next) {
					t.Fatalf("%s %s: DayStart = %s, not the next day's start %s", name, day.Format(time.DateOnly), got, next)
				}
			}
			if before := got.Add(-time.Nanosecond); ordinal(before) >= want {
				t.Fatalf("%s %s: DayStart = %s, but %s already shows the date", name, day.Format(time.DateOnly), got, before)
			}
			if got.Before(prev) {
				t.Fatalf("%s %s: DayStart = %s, before the previous day's %s", name, day.Format(time.DateOnly), got, prev)
			}
			prev = got
		}
	}
}

// BenchmarkDayStart: the start of a day near no zone change, in a zone
// without daylight saving and in one with it (a July date, far from both
// changes).
func BenchmarkDayStart(b *testing.B) {
	for _, name := range []string{"Asia/Shanghai", "America/New_York"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			b.Skip(err)
		}
		b.Run(name, func(b *testing.B) {
			var sink time.Time
			for i := 0; i < b.N; i++ {
				sink = scrm.DayStart(2026, time.July, 1+i%28, loc)
			}
			_ = sink
		})
	}
}
