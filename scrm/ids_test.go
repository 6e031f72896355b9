package scrm_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// TestCheckID covers each rule of CheckID, with the UTF-8 check on ASCII,
// valid multi-byte and broken IDs (the ASCII fast path must not let a
// broken byte through at any position).
func TestCheckID(t *testing.T) {
	cases := []struct {
		id   string
		want string // "" for valid, else a part of the message
	}{
		{"C000123", ""},
		{"门店-上海-01", ""},
		{"a😀b", ""},
		{strings.Repeat("x", scrm.MaxIDLength), ""},
		{"", "required"},
		{strings.Repeat("x", scrm.MaxIDLength+1), "longer than"},
		{"\xff", "UTF-8"},
		{"abc\x80", "UTF-8"},
		{"\xe9\x97abc", "UTF-8"},    // a truncated 3-byte sequence
		{"门店\xed\xa0\x80", "UTF-8"}, // an encoded surrogate
	}
	for _, c := range cases {
		err := scrm.CheckID("op", "Customer", c.id)
		if c.want == "" {
			assert.NoError(t, err, "%q", c.id)
			continue
		}
		var e *scrm.Error
		if assert.True(t, errors.As(err, &e), "%q: %v", c.id, err) {
			assert.Equal(t, scrm.ErrInvalid, e.Code, "%q", c.id)
			assert.Equal(t, "Customer", e.Field, "%q", c.id)
			assert.Contains(t, e.Error(), c.want, "%q", c.id)
		}
	}
}

// FuzzCheckID: CheckID accepts exactly the non-empty, valid UTF-8 IDs of
// at most MaxIDLength bytes.
// TestValidUTF8EveryPosition puts a byte that is not ASCII (a lone
// continuation byte, or the lead byte of a valid 2-byte rune) at each
// position of ASCII strings of every length up to 40, so that each word,
// each overlapping last word and each short-string load sees it, and
// requires ValidUTF8 to agree with utf8.ValidString.
func TestValidUTF8EveryPosition(t *testing.T) {
	for n := 0; n <= 40; n++ {
		base := []byte(strings.Repeat("k", n))
		require.True(t, scrm.ValidUTF8(string(base)), n)
		for i := 0; i < n; i++ {
			b := append([]byte(nil), base...)
			b[i] = 0x80
			require.False(t, scrm.ValidUTF8(string(b)), "len %d at %d", n, i)
			if i+1 < n {
				b[i], b[i+1] = 0xc3, 0xa9 // é
				require.Equal(t, utf8.Valid(b), scrm.ValidUTF8(string(b)), "len %d at %d", n, i)
				require.True(t, scrm.ValidUTF8(string(b)), "len %d at %d", n, i)
			}
		}
	}
}

func FuzzCheckID(f *testing.F) {
	for _, s := range []string{"C1", "门店", "\xff", "a\x80b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		ok := id != "" && len(id) <= scrm.MaxIDLength && utf8.ValidString(id)
		if err := scrm.CheckID("op", "ID", id); (err == nil) != ok {
			t.Fatalf("CheckID(%q) = %v, want ok %v", id, err, ok)
		}
	})
}
