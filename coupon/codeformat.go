package coupon

import (
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scrmkit/scrmkit/scrm"
)

// Code is a redemption code (兑换码) for a template.
//
// Generated codes are single-use: the first customer to claim one gets the
// coupon, and the code is spent. Shared codes (口令) are chosen by the
// merchant, one code for many customers; each customer gets at most one
// coupon per shared code, and the template's stock and limits apply.
type Code struct {
	Tenant scrm.TenantID
	// Code is the normalized text: upper case, without separators.
	Code      string
	Template  string
	Shared    bool
	CreatedAt time.Time
	// Uses counts the coupons claimed with the code.
	Uses int64
	// Customer, Coupon and UsedAt record who spent a single-use code.
	Customer scrm.CustomerID
	Coupon   string
	UsedAt   time.Time
}

// The generated code format: CodeLength characters of CodeAlphabet, the
// last a check character, printed in groups of four ("7KQ4-M9XD-F2HB").
// The alphabet leaves out 0, O, 1 and I, which people confuse; its 32
// symbols carry 5 bits each, so the 11 random characters carry 55 bits from
// crypto/rand. The check character (Luhn mod 32) catches every single
// mistyped character and every swap of two adjacent different characters
// but one pair, so most typos are told apart from wrong codes without a
// store lookup.
const (
	CodeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	CodeLength   = 12
)

const codeRandom = CodeLength - 1

// codeIndex maps a byte to its value in CodeAlphabet, or -1.
func codeIndex(b byte) int {
	switch {
	case b >= '2' && b <= '9':
		return int(b - '2')
	case b >= 'A' && b <= 'H':
		return int(b-'A') + 8
	case b >= 'J' && b <= 'N':
		return int(b-'J') + 16
	case b >= 'P' && b <= 'Z':
		return int(b-'P') + 21
	}
	return -1
}

// luhn32 returns the Luhn mod 32 sum of the code's characters, doubling
// every second one from the right starting with the first when double.
func luhn32(s string, double bool) int {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		v := codeIndex(s[i])
		if double {
			v *= 2
		}
		double = !double
		sum += v/32 + v%32
	}
	return sum
}

// checkChar returns the check character for the random part of a code.
func checkChar(body string) byte {
	return CodeAlphabet[(32-luhn32(body, true)%32)%32]
}

// normalizeCode upper-cases s and drops spaces and hyphens.
func normalizeCode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-' || c == '\t':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// looksGenerated reports whether a normalized code has the shape of a
// generated code: CodeLength characters of CodeAlphabet.
func looksGenerated(s string) bool {
	if len(s) != CodeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if codeIndex(s[i]) < 0 {
			return false
		}
	}
	return true
}

// ParseCode checks a generated code as a person typed it: case, spaces and
// hyphens do not matter. It returns the normalized code (upper case, no
// separators). Errors match scrm.ErrInvalid with Field "Code": wrong length,
// a character outside CodeAlphabet (naming it), or a check character that
// does not match (a mistyped character).
func ParseCode(s string) (string, error) {
	const op = "coupon.ParseCode"
	if len(s) > 4*CodeLength {
		return "", scrm.Invalid(op, "Code", "too long")
	}
	n := normalizeCode(s)
	for i := 0; i < len(n); {
		if codeIndex(n[i]) >= 0 {
			i++
			continue
		}
		// Name the character typed, not the first byte of its UTF-8
		// encoding (a full-width letter, an ideographic space).
		r, _ := utf8.DecodeRuneInString(n[i:])
		return "", scrm.Invalid(op, "Code", "character %q is not used in codes", r)
	}
	if len(n) != CodeLength {
		return "", scrm.Invalid(op, "Code", "want %d characters, got %d", CodeLength, len(n))
	}
	if luhn32(n, false)%32 != 0 {
		return "", scrm.Invalid(op, "Code", "check character does not match: a character is mistyped")
	}
	return n, nil
}

// FormatCode prints a normalized code in groups of four separated by
// hyphens, the way codes are shown to people.
func FormatCode(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(code[i])
	}
	return b.String()
}

// newCode draws a generated code from r (crypto/rand in production).
func newCode(r io.Reader) (string, error) {
	var raw [codeRandom]byte
	if _, err := io.ReadFull(r, raw[:]); err != nil {
		return "", err
	}
	var b [CodeLength]byte
	for i, x := range raw {
		b[i] = CodeAlphabet[x&31] // 256 is a multiple of 32: uniform
	}
	b[codeRandom] = checkChar(string(b[:codeRandom]))
	return string(b[:]), nil
}

// checkSharedCode validates a merchant-chosen shared code (normalized):
// 4 to 32 characters of A-Z and 0-9, not shaped like a generated code.
func checkSharedCode(op, code string) error {
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			r, _ := utf8.DecodeRuneInString(code[i:]) // name the character typed, not its first byte
			return scrm.Invalid(op, "Code", "shared code may use A-Z and 0-9, got %q", r)
		}
	}
	if len(code) < 4 || len(code) > 32 { // ASCII now: bytes are characters
		return scrm.Invalid(op, "Code", "shared code must have 4 to 32 characters, got %d", len(code))
	}
	if looksGenerated(code) {
		return scrm.Invalid(op, "Code", "shared code must not look like a generated code (%d characters of the code alphabet)", CodeLength)
	}
	return nil
}
