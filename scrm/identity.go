package scrm

import (
	"fmt"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IdentityKind names a kind of identifier a customer is known by. The set is
// open: the constants below are the kinds scrmkit knows how to normalize, and
// hosts may use any other kind (for example "douyin_openid"), whose values
// are only trimmed.
type IdentityKind string

// The identity kinds scrmkit knows.
const (
	// IdentityPhone is a phone number. A mainland mobile is stored as its 11
	// national digits ("13800138000"); any other number in international
	// form, "+" and 7 to 15 digits ("+14155550100").
	IdentityPhone IdentityKind = "phone"
	// IdentityUnionID is a WeChat UnionID: one person across the apps of one
	// WeChat Open Platform account.
	IdentityUnionID IdentityKind = "wechat_unionid"
	// IdentityOpenID is a WeChat OpenID: one person in one official account
	// or mini program.
	IdentityOpenID IdentityKind = "wechat_openid"
	// IdentityWeComExternal is a WeCom external_userid: one external contact
	// of the corp.
	IdentityWeComExternal IdentityKind = "wecom_external_userid"
	// IdentityMemberNo is the host's membership card number.
	IdentityMemberNo IdentityKind = "member_no"
	// IdentityEmail is an e-mail address, stored lower-cased.
	IdentityEmail IdentityKind = "email"
)

// Identity is one identifier of a customer: a phone number, a WeChat
// UnionID, a member number. Within a tenant an identity (its Kind and its
// normalized Value together) belongs to at most one customer; a customer may
// hold several identities of the same kind (two phones, one OpenID per
// official account).
//
// Values are PII: String and LogValue mask them, so an Identity can be logged
// as is.
type Identity struct {
	Kind  IdentityKind
	Value string
}

// NormalizeIdentity returns id in the canonical form the Directory stores and
// matches on, or an error matching ErrInvalid that names the field (Kind or
// Value):
//
//   - Kind is required (at most MaxIDLength bytes of UTF-8).
//   - The Value is trimmed of surrounding white space, must be non-empty,
//     valid UTF-8 and, once normalized, at most MaxIDLength bytes.
//   - phone: spaces, dashes, dots and parentheses are removed; a leading "00"
//     means "+". "+86", "0086" or "86" followed by 11 digits becomes the
//     11-digit national number, which must start with 1 (mainland mobile);
//     so must a bare 11-digit number. Numbers with country code 86 that are
//     not mobiles (landlines) are rejected. Any other number must be in
//     international form and is kept as "+" and its 7 to 15 digits. Letters,
//     too few or too many digits are errors.
//   - email: lower-cased; exactly one "@" with something on both sides and
//     no white space.
//   - any other kind: trimmed only; values are case-sensitive (OpenIDs are).
func NormalizeIdentity(id Identity) (Identity, error) {
	return normalizeIdentity("scrm.NormalizeIdentity", "", id)
}

// normalizeIdentity is NormalizeIdentity with the error's Op and a field
// prefix ("Identity" gives "Identity.Value").
func normalizeIdentity(op, prefix string, id Identity) (Identity, error) {
	n, field, msg := normalize(id)
	if msg != "" {
		if prefix != "" {
			field = prefix + "." + field
		}
		return Identity{}, Invalid(op, field, "%s", msg)
	}
	return n, nil
}

// normalize returns the canonical form of id, or the field at fault ("Kind"
// or "Value") and why. It allocates only when the value changes.
func normalize(id Identity) (n Identity, field, msg string) {
	switch k := string(id.Kind); {
	case k == "":
		return Identity{}, "Kind", "required"
	case len(k) > MaxIDLength:
		return Identity{}, "Kind", fmt.Sprintf("longer than %d bytes", MaxIDLength)
	case !utf8.ValidString(k):
		return Identity{}, "Kind", "not valid UTF-8"
	}
	v := strings.TrimSpace(id.Value)
	switch {
	case v == "":
		return Identity{}, "Value", "required"
	case !utf8.ValidString(v):
		return Identity{}, "Value", "not valid UTF-8"
	}
	switch id.Kind {
	case IdentityPhone:
		p, why := normalizePhone(v)
		if why != "" {
			return Identity{}, "Value", "phone " + maskPhone(v) + ": " + why
		}
		v = p
	case IdentityEmail:
		e, why := normalizeEmail(v)
		if why != "" {
			return Identity{}, "Value", "email " + maskEmail(v) + ": " + why
		}
		v = e
	}
	if len(v) > MaxIDLength {
		return Identity{}, "Value", fmt.Sprintf("longer than %d bytes", MaxIDLength)
	}
	return Identity{Kind: id.Kind, Value: v}, "", ""
}

// maxPhoneInput bounds the raw phone input we scan, separators included.
const maxPhoneInput = 64

// normalizePhone returns the canonical phone number, or a message saying
// why p is not one. A canonical mainland mobile is returned without
// allocating.
func normalizePhone(p string) (string, string) {
	if isMainlandMobile(p) {
		return p, ""
	}
	if len(p) > maxPhoneInput {
		return "", "too long"
	}
	var buf [maxPhoneInput]byte
	digits := buf[:0]
	plus := false
	for _, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case r == '+' && !plus && len(digits) == 0:
			plus = true
		case r == '-' || r == '.' || r == '(' || r == ')' || unicode.IsSpace(r):
		default:
			return "", "may contain only digits, spaces, dashes, dots, parentheses and a leading +"
		}
	}
	if !plus && len(digits) > 2 && digits[0] == '0' && digits[1] == '0' {
		plus, digits = true, digits[2:]
	}
	if len(digits) == 0 {
		return "", "no digits"
	}
	national, cc86 := digits, false
	switch {
	case plus && len(digits) >= 2 && digits[0] == '8' && digits[1] == '6':
		national, cc86 = digits[2:], true
	case plus:
		if digits[0] == '0' {
			return "", "country code may not start with 0"
		}
		if len(digits) < 7 || len(digits) > 15 {
			return "", "an international number has 7 to 15 digits"
		}
		return "+" + string(digits), ""
	case len(digits) == 13 && digits[0] == '8' && digits[1] == '6':
		national, cc86 = digits[2:], true
	}
	if cc86 && (len(national) != 11 || national[0] != '1') {
		return "", "a number with country code 86 must be an 11-digit mobile number starting with 1"
	}
	if len(national) != 11 || national[0] != '1' {
		return "", "a mainland mobile number has 11 digits starting with 1; write other numbers with + and the country code"
	}
	return string(national), ""
}

// isMainlandMobile reports whether p is already a canonical mainland mobile
// number: 11 ASCII digits starting with 1.
func isMainlandMobile(p string) bool {
	if len(p) != 11 || p[0] != '1' {
		return false
	}
	for i := 1; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// normalizeEmail lower-cases e and checks it has one "@" with text on both
// sides and no white space.
func normalizeEmail(e string) (string, string) {
	at := strings.IndexByte(e, '@')
	switch {
	case at < 0 || strings.Count(e, "@") != 1:
		return "", "must contain exactly one @"
	case at == 0 || at == len(e)-1:
		return "", "needs a name before and a domain after the @"
	case strings.IndexFunc(e, unicode.IsSpace) >= 0:
		return "", "may not contain white space"
	}
	return strings.ToLower(e), ""
}

// String returns the Value with the personal part masked, for logs and
// error messages: a phone keeps its first 3 and last 4 digits
// ("138****5678"), an e-mail its first letter and domain ("a***@x.com"),
// any other kind a short prefix ("o6_b***"). The Kind is not included; use
// LogValue (slog does so automatically) to log both.
func (id Identity) String() string {
	switch id.Kind {
	case IdentityPhone:
		return maskPhone(id.Value)
	case IdentityEmail:
		return maskEmail(id.Value)
	}
	return maskPrefix(id.Value)
}

// LogValue implements slog.LogValuer: the kind and the masked value, so that
// logging an Identity never leaks the raw value.
func (id Identity) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(id.Kind)), slog.String("value", id.String()))
}

// identityList logs a list of identities masked: slog resolves LogValuer
// only on an attribute's own value, never on the elements of a slice, so
// slog.Any("identities", []Identity{...}) would log the raw values.
type identityList []Identity

// LogValue implements slog.LogValuer: "kind:masked value" per identity.
func (l identityList) LogValue() slog.Value {
	out := make([]string, len(l))
	for i, id := range l {
		out[i] = string(id.Kind) + ":" + id.String()
	}
	return slog.AnyValue(out)
}

// maskPhone keeps the first 3 and last 4 digits of a phone number (and its
// leading "+"); shorter numbers keep less.
func maskPhone(p string) string {
	r := []rune(p)
	plus := 0
	if len(r) > 0 && r[0] == '+' {
		plus = 1
	}
	head, tail := 3, 4
	if n := len(r) - plus; n < head+tail+3 {
		head, tail = n/4, n/4
	}
	return maskMiddle(r, plus+head, tail)
}

// maskEmail keeps the first character of the name and the domain.
func maskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at <= 0 {
		return maskPrefix(e)
	}
	first, _ := utf8.DecodeRuneInString(e)
	return string(first) + "***" + e[at:]
}

// maskPrefix keeps up to 4 leading characters, at most a third of the value.
func maskPrefix(v string) string {
	if v == "" {
		return ""
	}
	n := utf8.RuneCountInString(v) / 3
	if n > 4 {
		n = 4
	}
	r := []rune(v)
	return string(r[:n]) + "***"
}

// maskMiddle keeps head leading and tail trailing runes of r and replaces
// the rest by "****".
func maskMiddle(r []rune, head, tail int) string {
	if len(r) == 0 {
		return ""
	}
	if head+tail > len(r) {
		head, tail = 0, 0
	}
	return string(r[:head]) + "****" + string(r[len(r)-tail:])
}
