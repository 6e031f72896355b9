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
// several): their bytes are ORed eight at a time (the compiler loads the
// eight as one word) and the full check runs only when some byte is not
// ASCII.
func ValidUTF8(s string) bool {
	var or uint64
	for t := s; ; t = t[8:] {
		if len(t) < 8 {
			for i := 0; i < len(t); i++ {
				or |= uint64(t[i])
			}
			break
		}
		or |= uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
	}
	return or&0x8080808080808080 == 0 || utf8.ValidString(s)
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
