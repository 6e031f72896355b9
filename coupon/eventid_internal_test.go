package coupon

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/scrmkit/scrmkit/scrm"
)

func TestEventID(t *testing.T) {
	// "coupon.redeemed:" and ":" take 17 bytes, so parts adding up to 111
	// bytes give an ID of exactly scrm.MaxIDLength.
	fits := strings.Repeat("o", 111-3)
	tests := []struct {
		name     string
		parts    []string
		want     string // "" for a hashed ID
		readable bool
	}{
		{"short", []string{"cp1", "o1"}, "coupon.redeemed:cp1:o1", true},
		{"exactly the limit", []string{"cp1", fits}, "coupon.redeemed:cp1:" + fits, true},
		{"one byte over", []string{"cp1", fits + "o"}, "", false},
		{"longest IDs", []string{strings.Repeat("c", scrm.MaxIDLength), strings.Repeat("o", scrm.MaxIDLength)}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := eventID(EventRedeemed, tt.parts...)
			assert.LessOrEqual(t, len(id), scrm.MaxIDLength)
			assert.NoError(t, scrm.CheckID("test", "ID", id))
			assert.Equal(t, id, eventID(EventRedeemed, tt.parts...), "deterministic")
			if tt.readable {
				assert.Equal(t, tt.want, id)
			} else {
				assert.True(t, strings.HasPrefix(id, EventRedeemed+":h:"), id)
			}
		})
	}
}

func TestEventIDHashesDiffer(t *testing.T) {
	long := strings.Repeat("x", scrm.MaxIDLength) // every ID here is hashed
	ids := map[string]bool{}
	for _, parts := range [][]string{
		{"a:" + long, "b"},
		{"a", long + ":b"},
		{"a", long + "b"},
		{"b", long + "a"},
	} {
		ids[eventID(EventRestored, parts...)] = true
	}
	assert.Len(t, ids, 4, "distinct parts, distinct IDs, whatever the ':'")
	assert.NotEqual(t, eventID(EventIssued, long+long), eventID(EventExpired, long+long), "the type is kept")
}
