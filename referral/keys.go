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

// appendKey appends key(parts...) to dst, without allocating in the common
// case (no escaping, not too long).
func appendKey(dst []byte, parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
		for i := 0; i < len(p); i++ {
			if p[i] == ':' || p[i] == '%' { // a plain loop: strings.ContainsAny costs twice as much here
				return append(dst, key(parts...)...)
			}
		}
	}
	if n > scrm.MaxIDLength {
		return append(dst, key(parts...)...)
	}
	for i, p := range parts {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, p...)
	}
	return dst
}

// keyArena builds the keys of one call into one buffer, which then becomes
// one string that they are slices of: one allocation instead of one per
// key. They are kept (by the Store) about as long as each other.
type keyArena struct {
	buf  []byte
	ends []int // of each key in buf
}

// add appends key(parts...).
func (a *keyArena) add(parts ...string) {
	a.buf = appendKey(a.buf, parts...)
	a.ends = append(a.ends, len(a.buf))
}

// addJoined appends a + b, as is (not a key: nothing is escaped).
func (a *keyArena) addJoined(x, y string) {
	a.buf = append(append(a.buf, x...), y...)
	a.ends = append(a.ends, len(a.buf))
}

// key returns the i-th key, from all, the arena's buffer as a string.
func (a *keyArena) key(all string, i int) string {
	start := 0
	if i > 0 {
		start = a.ends[i-1]
	}
	return all[start:a.ends[i]]
}

func (a *keyArena) reset() { a.buf, a.ends = a.buf[:0], a.ends[:0] }
