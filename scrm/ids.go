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
	case !utf8.ValidString(id):
		return Invalid(op, field, "not valid UTF-8")
	}
	return nil
}
