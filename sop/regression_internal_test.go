package sop

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// next must return the earliest instant that meets every constraint.
func TestNextWeekdayThenQuietIsEarliest(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	c := constraints{weekdays: 1 << time.Tuesday, quiet: &window{start: 22 * 60, end: 8 * 60}}
	from := time.Date(2026, 3, 2, 23, 0, 0, 0, sh) // Monday 23:00
	got, ok := c.next(from, sh)
	require.True(t, ok)
	want := time.Date(2026, 3, 3, 8, 0, 0, 0, sh) // Tuesday 08:00 is allowed
	assert.True(t, got.Equal(want), "got %s, want %s", got, want)
}

func TestNextOccurrenceAcrossFallBack(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	occ := time.Date(2026, 10, 31, 10, 0, 0, 0, ny) // Saturday, EDT
	now := time.Date(2026, 11, 7, 9, 30, 0, 0, ny)  // next Saturday, EST: 168.5 h later
	want := time.Date(2026, 11, 7, 10, 0, 0, 0, ny) // still 30 minutes ahead
	got := nextOccurrence(occ, now, ny)
	assert.True(t, got.Equal(want), "got %s, want %s", got, want)
}
