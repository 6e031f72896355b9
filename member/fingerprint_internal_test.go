package member

import (
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// TestFingerprintTellsPayloadsApart digests payloads that differ in one
// value, or only in where a boundary between values falls, and requires
// every digest to differ; equal payloads digest alike.
func TestFingerprintTellsPayloadsApart(t *testing.T) {
	s := &Service{}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	fp := func(build func(f fingerprint) fingerprint) string {
		return build(s.newFingerprint("member.Earn")).sum()
	}
	payloads := map[string]func(f fingerprint) fingerprint{
		"base":     func(f fingerprint) fingerprint { return f.str("C1").str("O1").dec(decimal.RequireFromString("10")) },
		"boundary": func(f fingerprint) fingerprint { return f.str("C1O").str("1").dec(decimal.RequireFromString("10")) },
		"amount": func(f fingerprint) fingerprint {
			return f.str("C1").str("O1").dec(decimal.RequireFromString("10.01"))
		},
		"sub-fen": func(f fingerprint) fingerprint {
			return f.str("C1").str("O1").dec(decimal.RequireFromString("10.001"))
		},
		"zero time": func(f fingerprint) fingerprint { return f.str("C1").str("O1").time(time.Time{}) },
		"epoch":     func(f fingerprint) fingerprint { return f.str("C1").str("O1").time(time.Unix(0, 0)) },
		"time":      func(f fingerprint) fingerprint { return f.str("C1").str("O1").time(at) },
		"no items":  func(f fingerprint) fingerprint { return f.str("C1").items(nil) },
		"one item":  func(f fingerprint) fingerprint { return f.str("C1").items([]scrm.OrderItem{{SKU: "A", Quantity: 1}}) },
		"two items": func(f fingerprint) fingerprint {
			return f.str("C1").items([]scrm.OrderItem{{SKU: "A", Quantity: 1}, {SKU: "A", Quantity: 1}})
		},
		"long":         func(f fingerprint) fingerprint { return f.str("C1234567890123456789012345678901234567890") },
		"long, 1 byte": func(f fingerprint) fingerprint { return f.str("C1234567890123456789012345678901234567891") },
	}
	seen := map[string]string{}
	for name, build := range payloads {
		sum := fp(build)
		require.Len(t, sum, 32, name)
		if other, ok := seen[sum]; ok {
			t.Fatalf("%s and %s digest alike: %s", name, other, sum)
		}
		seen[sum] = name
		assert.Equal(t, sum, fp(build), "%s digests differently twice", name)
	}
	assert.Equal(t, fp(payloads["base"]), fp(func(f fingerprint) fingerprint {
		return f.str("C1").str("O1").dec(decimal.RequireFromString("10.00"))
	}), "10 and 10.00 are one amount")
	assert.Equal(t, fp(payloads["base"]), fp(func(f fingerprint) fingerprint {
		return f.str("C1").str("O1").fen(1000)
	}), "an amount added in fen digests as the decimal does (Earn adds it so)")
}

// TestHash128Avalanche flips each bit of a 40-byte input and requires both
// halves of the hash to change, with about half their bits flipped on
// average.
func TestHash128Avalanche(t *testing.T) {
	in := []byte("member.Earn C000123 pay-1234567 f12850 z!")
	hi0, lo0 := hash128(in)
	var flipped, n int
	for i := range in {
		for b := 0; b < 8; b++ {
			in[i] ^= 1 << b
			hi, lo := hash128(in)
			in[i] ^= 1 << b
			require.NotEqual(t, hi0, hi, "byte %d bit %d", i, b)
			require.NotEqual(t, lo0, lo, "byte %d bit %d", i, b)
			flipped += bits.OnesCount64(hi^hi0) + bits.OnesCount64(lo^lo0)
			n += 128
		}
	}
	assert.InDelta(t, 0.5, float64(flipped)/float64(n), 0.05)
}

// TestPutHex checks putHex against hex.Encode of the big-endian bytes, on
// every digit in every position and random values.
func TestPutHex(t *testing.T) {
	xs := []uint64{0, ^uint64(0), 0x0123456789abcdef, 0xfedcba9876543210, 0x9a9a9a9a9a9a9a9a, 0xa0a0a0a0a0a0a0a0}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		xs = append(xs, rng.Uint64())
	}
	for _, x := range xs {
		var be [8]byte
		binary.BigEndian.PutUint64(be[:], x)
		got := make([]byte, 16)
		putHex(got, x)
		require.Equal(t, hex.EncodeToString(be[:]), string(got), "%#x", x)
	}
}

// TestFingerprintEncoding builds random payloads of every length, from a
// few bytes to several times the buffer newFingerprint makes (so that they
// outgrow it at every position), and requires the encoding written by
// append in the plain way, and its digest: a length-prefixed string, a
// zigzag varint, a one-byte tag before fen.
func TestFingerprintEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	svc := &Service{}
	for range 3000 {
		f := svc.newFingerprint("op")
		want := append(binary.AppendUvarint(nil, 2), "op"...)
		for range rng.IntN(40) {
			switch rng.IntN(3) {
			case 0:
				b := make([]byte, rng.IntN(70))
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
				s := string(b)
				f = f.str(s)
				want = append(binary.AppendUvarint(want, uint64(len(s))), s...)
			case 1:
				i := rng.Int64() >> rng.IntN(64)
				f = f.int(i)
				want = binary.AppendVarint(want, i)
			default:
				fen := rng.Int64N(1 << 40)
				f = f.fen(fen)
				want = binary.AppendVarint(append(want, 'f'), fen)
			}
		}
		require.Equal(t, want, f.buf)
		hi, lo := hash128(want)
		var h [32]byte
		putHex(h[:16], hi)
		putHex(h[16:], lo)
		require.Equal(t, string(h[:]), f.sum())
	}
}
