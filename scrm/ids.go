package scrm

import "unicode/utf8"

// TenantID identifies a tenant: one merchant or brand. Every entity and every
// request carries one, and no store call reads or writes across tenants.
type TenantID string

// CustomerID identifies a customer within a tenant (the OneID the Directory
// resolves identities to).
type CustomerID string

// MaxIDLength is the longest tenant, customer or event ID scrmkit accepts, in
// bytes, so that every ID fits an indexed VARCHAR(128) column.
const MaxIDLength = 128

// CheckID returns an ErrInvalid error naming field when id is empty, longer
// than MaxIDLength or not valid UTF-8. Packages use it to validate the IDs in
// their requests.
func CheckID(op, field, id string) error {
	switch {
	case id == "":
		return Invalid(op, field, "required")
	case len(id) > MaxIDLength:
		return Invalid(op, field, "longer than %d bytes", MaxIDLength)
	case !ValidUTF8(id):
		return Invalid(op, field, "not valid UTF-8")
	}
	return nil
}

// ValidUTF8 is utf8.ValidString with a faster path for the short ASCII
// strings that IDs, keys and notes nearly always are (every request checks
// several): their bytes are ORed a word at a time (the last word
// overlapping the one before; strings under 8 bytes as two overlapping
// halves) and the full check runs only when some byte is not ASCII.
func ValidUTF8(s string) bool {
	var or uint64
	switch n := len(s); {
	case n >= 8:
		for t := s; len(t) >= 8; t = t[8:] {
			or |= word64(t)
		}
		or |= word64(s[n-8:])
	case n >= 4:
		or = uint64(word32(s) | word32(s[n-4:]))
	case n > 0:
		or = uint64(s[0] | s[n/2] | s[n-1])
	}
	return or&0x8080808080808080 == 0 || utf8.ValidString(s)
}

// word64 returns s[:8] as one little-endian word (the compiler loads the
// eight bytes at once).
func word64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// word32 returns s[:4] as one little-endian word.
func word32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// CheckVersion is the optimistic-concurrency check of stores whose records
// carry a Version: given is the version the caller read (0 to create) and
// stored the current one (0 when none is stored). When they differ it
// returns an ErrConflict error naming the record, as `kind "id": version
// given, stored stored`.
func CheckVersion(op, kind, id string, given, stored int64) error {
	if given != stored {
		return Errorf(ErrConflict, op, "%s %q: version %d, stored %d", kind, id, given, stored)
	}
	return nil
}
