package referral

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/scrmkit/scrmkit/scrm"
)

// Invite codes are 9 characters of Crockford's base32 (0-9 and A-Z without
// I, L, O and U): 8 characters (40 bits) of an HMAC-SHA256 of the tenant and
// the customer or staff ID under the tenant's secret (Options.CodeSecret),
// then one check character. They are short enough to read out or type from a
// poster, and nobody without the secret can compute someone's code.
//
// The check character is a Luhn mod 32 digit over the same alphabet rather
// than Crockford's mod-37 symbol, whose extra symbols (*~$=U) do not survive
// URLs and QR-code text modes; it catches every single-character typo and
// most swaps of adjacent characters.
const (
	codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	codeData     = 8
	// CodeLength is the length of an invite code.
	CodeLength = codeData + 1
)

// Owner is whom an invite code belongs to: a customer (their personal invite
// code) or a staff member (a staff channel code, 员工专属渠道码). Exactly one
// field is set.
type Owner struct {
	Customer scrm.CustomerID
	Staff    string
}

// CodeRecord is an invite code and its owner, as a Store keeps it.
type CodeRecord struct {
	Tenant    scrm.TenantID
	Code      string // canonical form (ParseCode)
	Owner     Owner
	CreatedAt time.Time
}

// letterValues maps 'A'..'Z' to their base32 value, with the look-alikes
// I and L read as 1 and O as 0, and U (not in the alphabet) as 0xff.
const letterValues = "\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x01\x12\x13\x01\x14\x15\x00\x16\x17\x18\x19\x1a\xff\x1b\x1c\x1d\x1e\x1f"

// codeValue returns the base32 value of c, or 0xff when it is not a code
// character; lower case and the look-alikes I, L (→1) and O (→0) are
// accepted as Crockford prescribes.
func codeValue(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'z':
		return letterValues[c-'a']
	case c >= 'A' && c <= 'Z':
		return letterValues[c-'A']
	}
	return 0xff
}

// ParseCode returns the canonical form of an invite code as a customer may
// have typed it: case does not matter, hyphens and spaces are ignored, and
// O, I and L are read as 0, 1 and 1. It checks the length and the check
// character, so a typo is reported as such rather than as an unknown code.
//
// Errors match scrm.ErrInvalid and name the field "Code".
func ParseCode(s string) (string, error) {
	const op = "referral.ParseCode"
	var vals [CodeLength]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == ' ' {
			continue
		}
		v := codeValue(c)
		if v == 0xff {
			r, _ := utf8.DecodeRuneInString(s[i:]) // name the character typed, not its first byte
			return "", scrm.Invalid(op, "Code", "character %q is not in the code alphabet", r)
		}
		if n == CodeLength {
			return "", scrm.Invalid(op, "Code", "longer than %d characters", CodeLength)
		}
		vals[n] = v
		n++
	}
	if n != CodeLength {
		return "", scrm.Invalid(op, "Code", "want %d characters, got %d", CodeLength, n)
	}
	if luhn32(vals[:], 1) != 0 {
		return "", scrm.Invalid(op, "Code", "check character does not match (a typo?)")
	}
	var buf [CodeLength]byte
	for i, v := range vals {
		buf[i] = codeAlphabet[v]
	}
	if string(buf[:]) == s {
		return s, nil // already canonical, as codes from Code are: no copy
	}
	return string(buf[:]), nil
}

// luhn32 returns the Luhn mod 32 sum of vals (base32 values), the
// rightmost weighted by first (2 to compute a check character, 1 to verify
// a code that ends in one).
func luhn32(vals []byte, first int) int {
	const n = len(codeAlphabet)
	factor, sum := first, 0
	for i := len(vals) - 1; i >= 0; i-- {
		a := factor * int(vals[i])
		sum += a/n + a%n
		factor = 3 - factor
	}
	return sum % n
}

// makeCode returns the code of owner under key; attempt picks another code
// when an earlier one collided with a different owner's.
func makeCode(key []byte, tenant scrm.TenantID, owner Owner, attempt int) string {
	m := hmac.New(sha256.New, key)
	kind, id := "customer", string(owner.Customer)
	if owner.Staff != "" {
		kind, id = "staff", owner.Staff
	}
	for _, part := range []string{string(tenant), kind, id, strconv.Itoa(attempt)} {
		m.Write([]byte(strconv.Itoa(len(part))))
		m.Write([]byte{':'})
		m.Write([]byte(part))
	}
	sum := m.Sum(nil)
	var vals [codeData]byte
	bits := uint64(sum[0])<<32 | uint64(sum[1])<<24 | uint64(sum[2])<<16 | uint64(sum[3])<<8 | uint64(sum[4])
	for i := codeData - 1; i >= 0; i-- {
		vals[i] = byte(bits & 31)
		bits >>= 5
	}
	var code [CodeLength]byte
	for i, v := range vals {
		code[i] = codeAlphabet[v]
	}
	code[codeData] = codeAlphabet[(32-luhn32(vals[:], 2))%32]
	return string(code[:])
}

// maxCodeAttempts bounds the retries on a code collision. With 2^40 codes a
// tenant with ten million customers sees a collision on about one new code
// in a hundred thousand, so the bound is never reached in practice.
const maxCodeAttempts = 16

// Code returns the customer's invite code: short, unguessable and stable (the
// same customer always gets the same code, which the Store remembers). The
// first call for a customer creates it.
//
// Errors: ErrInvalid for a malformed tenant or customer ID; ErrUnavailable
// when the store fails.
func (s *Service) Code(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (string, error) {
	const op = "referral.Code"
	if err := scrm.CheckID(op, "Customer", string(customer)); err != nil {
		return "", err
	}
	return s.code(ctx, op, tenant, Owner{Customer: customer})
}

// StaffCode returns a staff member's channel code (员工专属渠道码). Customers
// binding through it have no inviter customer: they are attributed to the
// staff member (Binding.Staff) for reporting (Report.Staff), get the
// invitee rewards, and earn nobody a customer reward or commission.
//
// Errors: as Code.
func (s *Service) StaffCode(ctx context.Context, tenant scrm.TenantID, staff string) (string, error) {
	const op = "referral.StaffCode"
	if err := scrm.CheckID(op, "Staff", staff); err != nil {
		return "", err
	}
	return s.code(ctx, op, tenant, Owner{Staff: staff})
}

func (s *Service) code(ctx context.Context, op string, tenant scrm.TenantID, owner Owner) (string, error) {
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return "", err
	}
	rec, err := s.store.OwnerCode(ctx, tenant, owner)
	if err == nil {
		return rec.Code, nil
	}
	if !is(err, scrm.ErrNotFound) {
		return "", scrm.Wrap(nil, op, err)
	}
	key := s.secret(tenant)
	now := s.opts.Clock.Now()
	for attempt := range maxCodeAttempts {
		rec, err := s.store.PutCode(ctx, CodeRecord{Tenant: tenant, Code: makeCode(key, tenant, owner, attempt), Owner: owner, CreatedAt: now})
		if err == nil {
			return rec.Code, nil
		}
		if !is(err, scrm.ErrConflict) {
			return "", scrm.Wrap(nil, op, err)
		}
	}
	return "", scrm.Errorf(scrm.ErrExhausted, op, "no free code after %d attempts", maxCodeAttempts)
}

func (s *Service) secret(tenant scrm.TenantID) []byte {
	if s.opts.CodeSecret != nil {
		if k := s.opts.CodeSecret(tenant); len(k) > 0 {
			return k
		}
	}
	return s.fallbackSecret[:]
}

// CodeOwner returns whom a code belongs to, e.g. to show "invited by …" on
// the landing page before the invitee binds.
//
// Errors: ErrInvalid (field "Code") for a malformed code; ErrNotFound,
// carrying ReasonUnknownCode, for a well-formed code nobody has.
func (s *Service) CodeOwner(ctx context.Context, tenant scrm.TenantID, code string) (Owner, error) {
	const op = "referral.CodeOwner"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return Owner{}, err
	}
	rec, err := s.lookupCode(ctx, op, tenant, code)
	if err != nil {
		return Owner{}, err
	}
	return rec.Owner, nil
}

func (s *Service) lookupCode(ctx context.Context, op string, tenant scrm.TenantID, code string) (CodeRecord, error) {
	c, err := ParseCode(code)
	if err != nil {
		return CodeRecord{}, err
	}
	rec, err := s.store.GetCode(ctx, tenant, c)
	if is(err, scrm.ErrNotFound) {
		return CodeRecord{}, &scrm.Error{Code: scrm.ErrNotFound, Op: op, Field: "Code", Msg: "no customer or staff member has code " + c, Err: ReasonUnknownCode}
	}
	if err != nil {
		return CodeRecord{}, scrm.Wrap(nil, op, err)
	}
	return rec, nil
}
