package referral

import (
	"encoding/hex"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// The memory store's grant ledger keeps one small, nearly pointer-free
// record per key: the ledger grows by a record per reward ever granted, and
// a pointer-dense ledger makes the garbage collector trace all of it on
// every cycle. What grants share (program, source and reward) is stored once
// per tenant as a grantClass; times are kept as seconds and nanoseconds;
// the Service's fingerprints are not kept at all (fpDerived: they are a
// function of the record's payload), others in the Service's form (32 hex
// digits) as 16 bytes.

// memGrant is a GrantRecord as the memory store keeps it (its key is the
// map key, its tenant the map's).
type memGrant struct {
	key      string
	customer scrm.CustomerID
	fpText   string   // the fingerprint, when it is not 32 lower-case hex digits
	fp       [16]byte // the fingerprint's bytes, when fpHex
	fpHex    bool
	// fpDerived: the fingerprint is grantFingerprint of the record's own
	// payload (as the Service's are), derived when asked for rather than
	// computed and kept.
	fpDerived bool
	done      bool
	class     int32
	until     memTime // ClaimedUntil
	doneAt    memTime // DoneAt
}

// grantSlab stores the ledger's records in chunks of grantChunk, so that
// the map of keys holds small values (an index) and growing the ledger
// copies at most one chunk. Released records' slots are reused.
type grantSlab struct {
	chunks [][]memGrant
	n      int32 // slots used, live or free
	free   []int32
}

const grantChunk = 1024

func (s *grantSlab) at(i int32) *memGrant { return &s.chunks[i/grantChunk][i%grantChunk] }

// add stores g and returns its index.
func (s *grantSlab) add(g memGrant) int32 {
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		*s.at(i) = g
		return i
	}
	if s.n%grantChunk == 0 {
		size := grantChunk
		if s.n == 0 {
			size = 8 // a tenant with few grants keeps a small slab: the first chunk grows
		}
		s.chunks = append(s.chunks, make([]memGrant, 0, size))
	}
	last := &s.chunks[len(s.chunks)-1]
	*last = append(*last, g)
	i := s.n
	s.n++
	return i
}

// remove frees slot i.
func (s *grantSlab) remove(i int32) {
	*s.at(i) = memGrant{}
	s.free = append(s.free, i)
}

// grantClass is what many grant records share.
type grantClass struct {
	program, source string
	reward          scrm.Reward
}

// grantClassKey identifies a grantClass; the reward's amount is in its
// canonical string form (so 12.8 and 12.80 are one class).
type grantClassKey struct {
	program, source, kind, template, note, amount string
	points                                        int64
	count                                         int
}

// grantClass returns the index of the class of a grant, adding it.
func (mt *memTenant) grantClass(program, source string, r scrm.Reward) int32 {
	// Most grants are of one of the latest classes: comparing their fields
	// spares hashing six strings and formatting the amount.
	for i, n := int32(len(mt.grantClasses))-1, 0; i >= 0 && n < 4; i, n = i-1, n+1 {
		if c := &mt.grantClasses[i]; c.program == program && c.source == source && sameReward(c.reward, r) {
			return i
		}
	}
	k := grantClassKey{program: program, source: source, kind: string(r.Kind), template: r.Template, note: r.Note,
		points: r.Points, count: r.Count}
	if !r.Amount.IsZero() {
		k.amount = r.Amount.String()
	}
	if i, ok := mt.classIndex[k]; ok {
		return i
	}
	i := int32(len(mt.grantClasses))
	mt.grantClasses = append(mt.grantClasses, grantClass{program: program, source: source, reward: r})
	mt.classIndex[k] = i
	return i
}

// sameReward reports whether a and b are of one grantClass: equal but for
// the amount's exponent.
func sameReward(a, b scrm.Reward) bool {
	return a.Kind == b.Kind && a.Template == b.Template && a.Note == b.Note && a.Points == b.Points &&
		a.Count == b.Count && (a.Amount.IsZero() && b.Amount.IsZero() || a.Amount.Equal(b.Amount)) // Equal allocates for a zero Decimal
}

// grantRecord returns the record of key as a GrantRecord.
func (mt *memTenant) grantRecord(tenant scrm.TenantID, key string, g *memGrant) GrantRecord {
	c := mt.grantClasses[g.class]
	r := GrantRecord{Tenant: tenant, Key: key, Program: c.program, Customer: g.customer, Reward: c.reward,
		Source: c.source, Fingerprint: mt.fingerprint(tenant, key, g), Status: GrantClaimed, ClaimedUntil: g.until.time()}
	if g.done {
		r.Status, r.DoneAt = GrantDone, g.doneAt.time()
	}
	return r
}

func (g *memGrant) setFingerprint(fp string) {
	g.fpHex, g.fpText = false, ""
	if len(fp) == 2*len(g.fp) {
		// Decode and check in one pass, lower-case digits only, so that
		// fingerprint gives back exactly fp.
		var b [16]byte
		ok := true
		for i := range b {
			hi, ok1 := lowerHexDigit(fp[2*i])
			lo, ok2 := lowerHexDigit(fp[2*i+1])
			ok = ok && ok1 && ok2
			b[i] = hi<<4 | lo
		}
		if ok {
			g.fp, g.fpHex = b, true
			return
		}
	}
	g.fpText = fp
}

func lowerHexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// fingerprint returns the fingerprint of the record of key.
func (mt *memTenant) fingerprint(tenant scrm.TenantID, key string, g *memGrant) string {
	if g.fpDerived {
		c := &mt.grantClasses[g.class]
		return grantFingerprint(scrm.Grant{Tenant: tenant, Customer: g.customer, Reward: c.reward, IdempotencyKey: key, Source: c.source})
	}
	return g.fingerprint()
}

// samePayload reports whether r, whose fingerprint is derived, has the
// payload of g, whose fingerprint is derived too (and whose key is r's):
// whether their fingerprints are equal, without computing them.
func (mt *memTenant) samePayload(g *memGrant, r *GrantRecord) bool {
	c := &mt.grantClasses[g.class]
	return g.customer == r.Customer && c.source == r.Source && sameReward(c.reward, r.Reward)
}

func (g *memGrant) fingerprint() string {
	if g.fpHex {
		return hex.EncodeToString(g.fp[:])
	}
	return g.fpText
}

// memTime is a time.Time without its location (a pointer): the instant
// only, which is what the Store promises for stored times.
type memTime struct {
	sec  int64
	nsec int32
	set  bool // false: the zero time
}

func memTimeOf(t time.Time) memTime {
	if t.IsZero() {
		return memTime{}
	}
	return memTime{sec: t.Unix(), nsec: int32(t.Nanosecond()), set: true}
}

func (m memTime) time() time.Time {
	if !m.set {
		return time.Time{}
	}
	return time.Unix(m.sec, int64(m.nsec)).UTC()
}
