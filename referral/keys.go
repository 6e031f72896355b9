package referral

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/scrmkit/scrmkit/scrm"
)

// key joins parts with ':' into a deterministic identifier (idempotency
// keys, entry IDs, event IDs). A ':' or '%' inside a part is escaped, so
// distinct parts never produce the same key. When the result would exceed
// scrm.MaxIDLength, it is the first part, ':' and a hash of all parts.
func key(parts ...string) string {
	n := len(parts) - 1
	escape := false
	for _, p := range parts {
		n += len(p)
		for i := 0; i < len(p) && !escape; i++ {
			escape = p[i] == ':' || p[i] == '%'
		}
	}
	if escape {
		esc := strings.NewReplacer("%", "%25", ":", "%3A")
		out := make([]string, len(parts))
		out[0] = parts[0]
		for i, p := range parts[1:] {
			out[i+1] = esc.Replace(p)
		}
		parts, n = out, 0
		for _, p := range parts {
			n += len(p) + 1
		}
	}
	var b strings.Builder
	b.Grow(n)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(p)
	}
	if b.Len() <= scrm.MaxIDLength {
		return b.String()
	}
	sum := sha256.Sum256([]byte(b.String()))
	return parts[0] + ":" + hex.EncodeToString(sum[:20])
}
