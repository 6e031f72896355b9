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
// a fingerprint in the Service's form (32 hex digits) is kept as 16 bytes.

// memGrant is a GrantRecord as the memory store keeps it (its key is the
// map key, its tenant the map's).
type memGrant struct {
	key      string
	customer scrm.CustomerID
	fpText   string   // the fingerprint, when it is not 32 lower-case hex digits
	fp       [16]byte // the fingerprint's bytes, when fpHex
	fpHex    bool
	done     bool
	class    int32
	until    memTime // ClaimedUntil
	doneAt   memTime // DoneAt
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

// grantRecord returns the record of key as a GrantRecord.
func (mt *memTenant) grantRecord(tenant scrm.TenantID, key string, g *memGrant) GrantRecord {
	c := mt.grantClasses[g.class]
	r := GrantRecord{Tenant: tenant, Key: key, Program: c.program, Customer: g.customer, Reward: c.reward,
		Source: c.source, Fingerprint: g.fingerprint(), Status: GrantClaimed, ClaimedUntil: g.until.time()}
	if g.done {
		r.Status, r.DoneAt = GrantDone, g.doneAt.time()
	}
	return r
}

func (g *memGrant) setFingerprint(fp string) {
	g.fpHex, g.fpText = false, ""
	if len(fp) == 2*len(g.fp) && isLowerHex(fp) {
		if _, err := hex.Decode(g.fp[:], []byte(fp)); err == nil {
			g.fpHex = true
			return
		}
	}
	g.fpText = fp
}

func (g *memGrant) fingerprint() string {
	if g.fpHex {
		return hex.EncodeToString(g.fp[:])
	}
	return g.fpText
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
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
