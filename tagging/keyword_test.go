package tagging_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/scrmkit/scrmkit/tagging"
)

func TestNormalizeText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"不需要", "不需要"},
		{"  不需要  ", "不需要"},
		{"ＳＴＯＰ", "stop"},
		{"Stop Sending", "stop sending"},
		{"别　发了", "别 发了"}, // ideographic space
		{"a \t\n b", "a b"},
		{"１２３！？", "123!?"},
		{"ÉCOLE", "école"},
		{"退订\xff", "退订"}, // invalid UTF-8 dropped
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, tagging.NormalizeText(tc.in), "%q", tc.in)
	}
}

func FuzzNormalizeText(f *testing.F) {
	for _, s := range []string{"不需要", "ＳＴＯＰ！", "别　发了", "\xff\xfe", "ǅ", "  a  b  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := tagging.NormalizeText(s)
		if !utf8.ValidString(n) {
			t.Fatalf("NormalizeText(%q) = %q: invalid UTF-8", s, n)
		}
		if again := tagging.NormalizeText(n); again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, again)
		}
		if strings.TrimSpace(n) != n || strings.Contains(n, "  ") {
			t.Fatalf("white space not collapsed: %q", n)
		}
	})
}
