package member

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUnclawedParts: forgiven points are kept by time, at most
// maxUnclawedParts parts (the two oldest merging at the older time, so no
// point pays a part it could not pay before); points that left the
// balance at t pay only the parts at or after t, the latest first.
func TestUnclawedParts(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	var a AccountState
	for i := range maxUnclawedParts {
		a.addUnclawed(10*int64(i+1), at(i))
	}
	a.addUnclawed(5, at(maxUnclawedParts-1)) // same time: the same part
	require.Len(t, a.UnclawedParts, maxUnclawedParts)
	assert.Equal(t, int64(85), a.UnclawedParts[maxUnclawedParts-1].Points)

	a.addUnclawed(1, at(maxUnclawedParts))
	require.Len(t, a.UnclawedParts, maxUnclawedParts)
	assert.Equal(t, UnclawedPart{At: at(0), Points: 30}, a.UnclawedParts[0], "the two oldest merged at the older time")
	assert.Equal(t, at(2), a.UnclawedParts[1].At)
	var sum int64
	for _, p := range a.UnclawedParts {
		sum += p.Points
	}
	assert.Equal(t, a.Unclawed, sum)

	// Points that left at minute 1 no longer pay minute 1's 20 (merged
	// into minute 0's part): they pay minutes 2 to 8.
	assert.Equal(t, a.Unclawed-30, a.unclawedSince(at(1)))
	assert.Equal(t, a.Unclawed, a.unclawedSince(at(0)))
	assert.Zero(t, a.unclawedSince(at(9)))

	a.payUnclawed(1 + 85 + 3) // minute 8, minute 7, 3 of minute 6
	assert.Equal(t, UnclawedPart{At: at(6), Points: 67}, a.UnclawedParts[len(a.UnclawedParts)-1])
	a.payUnclawed(a.Unclawed)
	assert.Zero(t, a.Unclawed)
	assert.Nil(t, a.UnclawedParts)
}
