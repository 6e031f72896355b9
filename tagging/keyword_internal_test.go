package tagging

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestTrimPunct(t *testing.T) {
	cases := []struct{ in, want string }{
		{"别发了！", "别发了"},
		{"别发了\U0001F64F\U0001F3FB", "别发了"},                       // 🙏🏻
		{"别发了\u2764\uFE0F", "别发了"},                               // ❤️
		{"别发了\U0001F468\u200D\U0001F469\u200D\U0001F467", "别发了"}, // 👨‍👩‍👧
		{"别发了#\uFE0F\u20E3", "别发了"},                              // #️⃣
		{"别发了1\uFE0F\u20E3", "别发了"},                              // 1️⃣
		{"别发了2\u20E3", "别发了"},                                    // keycap without VS16
		{"1\uFE0F\u20E3别发了*\u20E3", "别发了"},
		{"别发了\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", "别发了"}, // 🏴󠁧󠁢󠁥󠁮󠁧󠁿
		{"别发了1", "别发了1"},                                                                     // a digit alone is text
		{"1\u20E3", ""},
		{"", ""},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, trimPunct(tc.in), "%q", tc.in)
	}
}

func FuzzTrimPunct(f *testing.F) {
	for _, s := range []string{"别发了#\uFE0F\u20E3", "1\u20E3", "\U0001F3F4\U000E0067\U000E007F", "a\u200D", "！？"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := trimPunct(NormalizeText(s))
		if !utf8.ValidString(n) {
			t.Fatalf("trimPunct(%q) = %q: invalid UTF-8", s, n)
		}
		if again := trimPunct(n); again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, again)
		}
		if r, _ := utf8.DecodeRuneInString(n); n != "" && trimmable(r) {
			t.Fatalf("trimPunct(%q) = %q starts with %U", s, n, r)
		}
		if r, _ := utf8.DecodeLastRuneInString(n); n != "" && trimmable(r) {
			t.Fatalf("trimPunct(%q) = %q ends with %U", s, n, r)
		}
	})
}
