package tagging

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Match says how a keyword rule compares its keywords with a reply.
type Match string

// The keyword match modes. Both compare normalized text (see NormalizeText).
const (
	// MatchContains: the reply contains a keyword ("我不需要了，谢谢" contains
	// "不需要"). The default.
	MatchContains Match = "contains"
	// MatchExact: the reply is a keyword, once punctuation, symbols and
	// emoji at either end are ignored ("别发了！" is "别发了").
	MatchExact Match = "exact"
)

// NormalizeText is how keyword rules see a reply and their keywords:
// full-width ASCII forms (ＡＢＣ，１２３！) become their half-width
// equivalents, the ideographic space a space, letters are lower-cased
// (Latin and other cased scripts; Chinese has no case), runs of white space
// become one space, and the result is trimmed. Invalid UTF-8 bytes are
// dropped. NormalizeText(NormalizeText(s)) == NormalizeText(s).
func NormalizeText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if r == utf8.RuneError {
			continue
		}
		r = foldWidth(r)
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// foldWidth maps full-width ASCII variants (U+FF01..U+FF5E) to ASCII and the
// ideographic space (U+3000) to a space.
func foldWidth(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}

// trimPunct removes punctuation, symbols and white space from both ends of
// normalized text, for exact matching, and with them whole emoji: the code
// points that only occur inside emoji sequences (variation selectors, the
// zero-width joiner, the combining keycap U+20E3 with the digit, '#' or '*'
// it encloses, and the tag characters of subdivision flags) are trimmed
// too, so keycaps (#️⃣, 1️⃣), skin tones, ZWJ sequences and subdivision flags
// count as emoji.
func trimPunct(s string) string {
	for {
		if n := keycapLen(s); n > 0 {
			s = s[n:]
			continue
		}
		r, n := utf8.DecodeRuneInString(s)
		if n == 0 || !trimmable(r) {
			break
		}
		s = s[n:]
	}
	for {
		r, n := utf8.DecodeLastRuneInString(s)
		if n == 0 || !trimmable(r) {
			return s
		}
		s = s[:len(s)-n]
		if r == keycap {
			s = strings.TrimSuffix(s, "\uFE0F")
			if k := len(s) - 1; k >= 0 && isKeycapBase(s[k]) {
				s = s[:k]
			}
		}
	}
}

// keycap is U+20E3 COMBINING ENCLOSING KEYCAP, which follows a digit, '#'
// or '*' (and usually U+FE0F) in the keycap emoji.
const keycap = 0x20E3

// trimmable reports whether trimPunct removes r from an end of the text.
func trimmable(r rune) bool {
	return unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r) ||
		unicode.Is(unicode.Variation_Selector, r) || r == 0x200D || // emoji joiner
		r == keycap || (r >= 0xE0020 && r <= 0xE007F) // tag characters (flags)
}

func isKeycapBase(b byte) bool { return b == '#' || b == '*' || (b >= '0' && b <= '9') }

// keycapLen returns the length of the keycap emoji s starts with (a keycap
// base, an optional U+FE0F, U+20E3), or 0.
func keycapLen(s string) int {
	if s == "" || !isKeycapBase(s[0]) {
		return 0
	}
	rest := strings.TrimPrefix(s[1:], "\uFE0F")
	if !strings.HasPrefix(rest, "\u20E3") {
		return 0
	}
	return len(s) - len(rest) + len("\u20E3")
}

// keywordMatcher matches normalized replies against a rule's keywords.
type keywordMatcher struct {
	mode     Match
	keywords []string // normalized (and, for exact, trimmed), non-empty
}

// match reports whether a normalized reply matches, and with which keyword.
// exact is text with punctuation trimmed, computed once per reply.
func (m *keywordMatcher) match(text, exact string) (string, bool) {
	for _, k := range m.keywords {
		if m.mode == MatchExact {
			if exact == k {
				return k, true
			}
		} else if strings.Contains(text, k) {
			return k, true
		}
	}
	return "", false
}
