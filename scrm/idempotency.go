package scrm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Fingerprint returns a stable digest of a request's payload, for
// idempotency records: a store keeps the fingerprint beside the key, and a
// replay with the same key is accepted only if its fingerprint is equal (see
// CheckReplay). Each part is JSON-encoded, so the digest depends on values,
// not on memory layout; decimals encode by value (10.0 and 10 are equal).
// Leave out of the payload what legitimately differs between retries, such
// as the time of the attempt.
func Fingerprint(parts ...any) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range parts {
		if err := enc.Encode(p); err != nil {
			// Unencodable values (channels, funcs) still get a stable,
			// distinct digest from their type and formatting.
			_, _ = h.Write([]byte(err.Error()))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// CheckReplay decides what to do with a request whose idempotency key was
// seen before: nil when the stored fingerprint equals the new one (a replay:
// return the original result and change nothing), else an ErrConflict error
// naming the IdempotencyKey field.
func CheckReplay(op, key, stored, fingerprint string) error {
	if stored == fingerprint {
		return nil
	}
	return &Error{Code: ErrConflict, Op: op, Field: "IdempotencyKey",
		Msg: "key " + quoteKey(key) + " was already used with a different payload"}
}

func quoteKey(k string) string {
	b, _ := json.Marshal(k)
	return string(b)
}
