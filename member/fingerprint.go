package member

import (
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"strconv"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// fingerprint builds the payload digest of a request for its idempotency
// record. It plays the part of scrm.Fingerprint (a digest of the payload's
// values, 16 bytes in hex) without its JSON encoding and SHA-256, which cost
// most of the Earn path's 3 µs budget: the payload is written in a
// length-prefixed encoding and hashed with 128-bit FNV-1a. Decimals are
// encoded by value (10.0 and 10 digest alike), times as Unix nanoseconds.
type fingerprint struct {
	buf  []byte
	arr  [192]byte
	pool *sync.Pool
}

// newFingerprint starts a fingerprint of an operation; finish it with sum,
// which recycles it.
func (s *Service) newFingerprint(op string) *fingerprint {
	f, _ := s.fps.Get().(*fingerprint)
	if f == nil {
		f = &fingerprint{pool: &s.fps}
	}
	f.buf = f.arr[:0]
	return f.str(op)
}

func (f *fingerprint) str(s string) *fingerprint {
	f.buf = strconv.AppendInt(f.buf, int64(len(s)), 10)
	f.buf = append(f.buf, ':')
	f.buf = append(f.buf, s...)
	return f
}

func (f *fingerprint) int(i int64) *fingerprint {
	f.buf = strconv.AppendInt(f.buf, i, 10)
	f.buf = append(f.buf, ';')
	return f
}

func (f *fingerprint) dec(d decimal.Decimal) *fingerprint {
	if fen, ok := scrm.ToFen(d); ok {
		f.buf = append(f.buf, 'f')
		return f.int(fen)
	}
	return f.str(d.String())
}

func (f *fingerprint) time(t time.Time) *fingerprint {
	if t.IsZero() {
		return f.str("")
	}
	return f.int(t.UnixNano())
}

func (f *fingerprint) items(items []scrm.OrderItem) *fingerprint {
	f.int(int64(len(items)))
	for _, it := range items {
		f.str(it.SKU).str(it.Category).dec(it.Price).int(int64(it.Quantity))
	}
	return f
}

// sum returns the 128-bit FNV-1a hash of the encoding in hex. A
// cryptographic hash is not needed: the fingerprint only tells apart
// payloads sent under one idempotency key by the same host.
func (f *fingerprint) sum() string {
	hi, lo := uint64(0x6c62272e07bb0142), uint64(0x62b821756295c58d)
	for _, b := range f.buf {
		lo ^= uint64(b)
		// × the FNV-128 prime, 2^88 + 0x13b, modulo 2^128.
		h, l := bits.Mul64(lo, 0x13b)
		hi = hi*0x13b + h + lo<<24
		lo = l
	}
	if f.pool != nil && cap(f.buf) == len(f.arr) {
		f.pool.Put(f)
	}
	var out [16]byte
	binary.BigEndian.PutUint64(out[:8], hi)
	binary.BigEndian.PutUint64(out[8:], lo)
	return hex.EncodeToString(out[:])
}
