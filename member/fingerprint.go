package member

import (
	"encoding/binary"
	"math/bits"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// fingerprint builds the payload digest of a request for its idempotency
// record. It plays the part of scrm.Fingerprint (a digest of the payload's
// values, 16 bytes in hex) without its JSON encoding and SHA-256, which cost
// most of the Earn path's 3 µs budget: the payload is written in a compact
// binary encoding in which every value is tagged or length-prefixed (so
// that two payloads encode alike only when their values are alike), and
// hashed 16 bytes at a time (see hash128). Decimals are encoded by value
// (10.0 and 10 digest alike), times as Unix nanoseconds.
//
// The digest is stable across processes and machines (stores keep it), but
// not across scrmkit versions that change this encoding: a request replayed
// across such an upgrade under an old key is refused with ErrConflict
// rather than answered, which moves no value.
type fingerprint struct {
	buf []byte
}

// newFingerprint starts a fingerprint of an operation; add the payload's
// values with the methods, each of which returns the fingerprint extended,
// and finish it with sum. The methods take and return values, so that the
// buffer newFingerprint makes stays on the caller's stack (a fingerprint
// behind a pointer would put it on the heap, or need a pool).
func (s *Service) newFingerprint(op string) fingerprint {
	return fingerprint{buf: make([]byte, 0, 192)}.str(op)
}

func (f fingerprint) str(s string) fingerprint {
	f.buf = append(binary.AppendUvarint(f.buf, uint64(len(s))), s...)
	return f
}

func (f fingerprint) int(i int64) fingerprint {
	f.buf = binary.AppendVarint(f.buf, i)
	return f
}

func (f fingerprint) dec(d decimal.Decimal) fingerprint {
	if fen, ok := scrm.ToFen(d); ok {
		return f.fen(fen)
	}
	f.buf = append(f.buf, 'd')
	return f.str(d.String())
}

// fen adds an amount already converted to fen, as dec adds it.
func (f fingerprint) fen(fen int64) fingerprint {
	f.buf = append(f.buf, 'f')
	return f.int(fen)
}

func (f fingerprint) time(t time.Time) fingerprint {
	if t.IsZero() {
		f.buf = append(f.buf, 'z')
		return f
	}
	f.buf = append(f.buf, 't')
	return f.int(t.UnixNano())
}

func (f fingerprint) items(items []scrm.OrderItem) fingerprint {
	f = f.int(int64(len(items)))
	for _, it := range items {
		f = f.str(it.SKU).str(it.Category).dec(it.Price).int(int64(it.Quantity))
	}
	return f
}

// sum returns the 128-bit hash of the encoding in hex.
func (f fingerprint) sum() string {
	hi, lo := hash128(f.buf)
	var out [32]byte
	putHex(out[:16], hi)
	putHex(out[16:], lo)
	return string(out[:])
}

// putHex writes x to b[:16] as 16 lowercase hex digits, as hex.Encode
// writes x's big-endian bytes, but eight digits per step: each 32-bit half
// is spread one nibble per byte, and every byte turned into its digit at
// once ('0'+n, plus 'a'-'0'-10 where n >= 10).
func putHex(b []byte, x uint64) {
	for i, h := range [2]uint64{x >> 32, x & 0xffffffff} {
		v := (h | h<<16) & 0x0000ffff0000ffff
		v = (v | v<<8) & 0x00ff00ff00ff00ff
		v = (v | v<<4) & 0x0f0f0f0f0f0f0f0f
		over9 := (v + 0x0606060606060606) >> 4 & 0x0101010101010101
		binary.BigEndian.PutUint64(b[8*i:], v+0x3030303030303030+over9*('a'-'0'-10))
	}
}

// The odd constants hash128 mixes with.
const (
	fpK0 = 0xa0761d6478bd642f
	fpK1 = 0xe7037ed1a0b428db
	fpK2 = 0x8ebc6af09c88c6e3
	fpK3 = 0x589965cc75374cc3
	fpK4 = 0x1d8e4e27c47d124f
)

// hash128 hashes p to 128 bits in two lanes, each folding a 16-byte block
// per 64×64→128-bit multiply (the construction of wyhash), the last block
// padded with zeros and the length mixed in first. It is several times
// faster than byte-at-a-time FNV-1a; it is not cryptographic, and need not
// be: the fingerprint only tells apart payloads sent under one idempotency
// key by the same host.
func hash128(p []byte) (hi, lo uint64) {
	n := uint64(len(p))
	h1, h2 := fpK0^n, fpK1^bits.RotateLeft64(n, 32)
	for {
		var a, b uint64
		if len(p) >= 16 {
			a, b = binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[8:])
			p = p[16:]
		} else {
			var t [16]byte
			copy(t[:], p)
			a, b = binary.LittleEndian.Uint64(t[:]), binary.LittleEndian.Uint64(t[8:])
			p = nil
		}
		h1 = fpMix(a^h1^fpK2, b^fpK3)
		h2 = fpMix(b^h2^fpK4, a^fpK0)
		if p == nil {
			break
		}
	}
	return fpMix(h1^fpK1, h2^fpK2), fpMix(h2^fpK3, h1^fpK4)
}

// fpMix folds the 128-bit product of a and b to 64 bits.
func fpMix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
