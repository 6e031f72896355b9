package coupon

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// fingerprint is scrm.Fingerprint for payloads that are a few strings, as
// claims are: the same role (a stable digest for idempotency records, equal
// across processes and restarts), a fraction of the cost on the hottest path,
// since it hashes the length-prefixed parts directly instead of encoding them
// as JSON. The first part names the operation, so the digests of different
// requests never collide.
func fingerprint(parts ...string) string {
	var stack [256]byte
	buf := stack[:0]
	for _, p := range parts {
		buf = binary.AppendUvarint(buf, uint64(len(p)))
		buf = append(buf, p...)
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:16])
}
