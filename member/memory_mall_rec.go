package member

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// memExchange is how the memory store keeps an ExchangeRecord: compact and
// free of pointers, so that the chunks of records, which are retained for
// the store's life, are never scanned by the garbage collector, and a
// change of state writes a few words in place instead of copying a whole
// record (with write barriers). Its strings live in the tenant's byte arena
// (key, fingerprint, reason) or are interned per tenant as small ints
// (customer, tier, the item as charged); its lots live in the tenant's lot
// arena; its times are kept as seconds, nanoseconds and an interned
// location. The tenant is the mallTenant's.
type memExchange struct {
	key, fp, reason strRef
	lots            lotRef
	cust, snap      int32
	tier            int32
	state           uint8 // see exchangeStates; 0 while reserved, or a hole
	bal             [4]int64
	returned        int64
	forfeited       int64
	unclawed        int64
	attempt         int64
	lease           memTime
	created         memTime
	settled         memTime
}

// exchangeStates are the states a memExchange numbers, 0 being none.
var exchangeStates = [...]ExchangeState{"", ExchangePending, ExchangeDone, ExchangeRefunded}

func stateNum(s ExchangeState) uint8 {
	for i, v := range exchangeStates {
		if v == s {
			return uint8(i)
		}
	}
	return 0
}

// strRef is a string in a byte arena: its chunk, offset and length.
type strRef struct{ c, off, n int32 }

// lotRef is a slice of a lot arena, as strRef; n is -1 for a nil slice.
type lotRef struct{ c, off, n int32 }

// memTime is a time.Time without its monotonic reading: Unix seconds,
// nanoseconds and the tenant's number of its location (recArena.zones).
type memTime struct {
	sec  int64
	nsec int32
	loc  int32
}

// itemSnap is an item as exchanges record it.
type itemSnap struct {
	item    string
	name    string
	version int64
	points  int64
	reward  scrm.Reward
}

// recArenaChunk and lotChunk size the chunks of the arenas; longer values get
// a chunk of their own.
const (
	recArenaChunk = 16 << 10
	lotChunk      = 512
)

// recArena holds what the records of a tenant refer to; called with the
// tenant's mu held. Chunks are only appended to, never moved.
type recArena struct {
	bytes [][]byte
	lots  [][]LotMove
	strs  []string // interned customers and tiers
	strIx map[string]int32
	snaps []itemSnap
	// snapIx is the latest snap of each item and version.
	snapIx map[snapKey]int32
	// lastSnap is the snap made or found last: most records repeat it.
	lastSnap int32
	zones    zones
}

type snapKey struct {
	item    string
	version int64
}

func (a *recArena) putStr(s string) strRef {
	n := len(s)
	if n == 0 {
		return strRef{}
	}
	a.bytes = growChunks(a.bytes, n, recArenaChunk, recArenaChunk)
	last := len(a.bytes) - 1
	b := a.bytes[last]
	off := len(b)
	a.bytes[last] = append(b, s...)
	return strRef{int32(last), int32(off), int32(n)}
}

// bytesOf returns the bytes of r, which the caller must not keep.
func (a *recArena) bytesOf(r strRef) []byte {
	if r.n == 0 {
		return nil
	}
	return a.bytes[r.c][r.off : r.off+r.n]
}

func (a *recArena) str(r strRef) string { return string(a.bytesOf(r)) }

func (a *recArena) putLots(l []LotMove) lotRef {
	if l == nil {
		return lotRef{n: -1}
	}
	n := len(l)
	if n == 0 {
		return lotRef{}
	}
	a.lots = growChunks(a.lots, n, lotChunk, lotChunk)
	last := len(a.lots) - 1
	c := a.lots[last]
	off := len(c)
	a.lots[last] = append(c, l...)
	return lotRef{int32(last), int32(off), int32(n)}
}

func (a *recArena) lotsOf(r lotRef) []LotMove {
	switch {
	case r.n < 0:
		return nil
	case r.n == 0:
		return []LotMove{}
	}
	return append([]LotMove(nil), a.lots[r.c][r.off:r.off+r.n]...)
}

// intern returns the number of s, 0 for "".
func (a *recArena) intern(s string) int32 {
	if s == "" {
		return 0
	}
	if i, ok := a.strIx[s]; ok {
		return i
	}
	if a.strIx == nil {
		a.strIx = make(map[string]int32)
		a.strs = append(a.strs, "")
	}
	i := int32(len(a.strs))
	a.strs = append(a.strs, s)
	a.strIx[s] = i
	return i
}

func (a *recArena) snap(r *ExchangeRecord) int32 {
	if a.lastSnap < int32(len(a.snaps)) && a.snaps[a.lastSnap].is(r) {
		return a.lastSnap
	}
	k := snapKey{r.Item, r.ItemVersion}
	if i, ok := a.snapIx[k]; ok && a.snaps[i].is(r) {
		a.lastSnap = i
		return i
	}
	if a.snapIx == nil {
		a.snapIx = make(map[snapKey]int32)
	}
	i := int32(len(a.snaps))
	a.snaps = append(a.snaps, itemSnap{item: r.Item, name: r.ItemName, version: r.ItemVersion, points: r.Points, reward: r.Reward})
	a.snapIx[k] = i
	a.lastSnap = i
	return i
}

// is tells whether r records the item as s does. Rewards compare by
// identity (the Decimal's pointer included), so a record gets back exactly
// the reward it was stored with.
func (s *itemSnap) is(r *ExchangeRecord) bool {
	return s.item == r.Item && s.version == r.ItemVersion && s.name == r.ItemName && s.points == r.Points && s.reward == r.Reward
}

func (a *recArena) putTime(t time.Time) memTime {
	return memTime{sec: t.Unix(), nsec: int32(t.Nanosecond()), loc: int32(a.zones.number(t.Location()))}
}

func (a *recArena) time(m memTime) time.Time {
	return time.Unix(m.sec, int64(m.nsec)).In(a.zones.loc(int(m.loc)))
}

// pack stores r in x, but for its key, which x keeps.
func (a *recArena) pack(x *memExchange, r *ExchangeRecord) {
	key := x.key
	*x = memExchange{
		key: key, fp: a.putStr(r.Fingerprint), reason: a.putStr(r.Reason),
		lots: a.putLots(r.Lots), cust: a.intern(string(r.Customer)), snap: a.snap(r),
		tier: a.intern(r.Balance.Tier), state: stateNum(r.State),
		bal:      [4]int64{r.Balance.Points, r.Balance.Held, r.Balance.Debt, r.Balance.Growth},
		returned: r.Returned, forfeited: r.Forfeited, unclawed: r.Unclawed, attempt: r.Attempt,
		lease: a.putTime(r.LeaseUntil), created: a.putTime(r.CreatedAt), settled: a.putTime(r.SettledAt),
	}
}

// unpack returns a copy of the record x of tenant t.
func (a *recArena) unpack(t scrm.TenantID, x *memExchange) ExchangeRecord {
	s := &a.snaps[x.snap]
	r := ExchangeRecord{
		Tenant: t, Key: a.str(x.key), Fingerprint: a.str(x.fp), Customer: scrm.CustomerID(a.strs[x.cust]),
		Item: s.item, ItemName: s.name, ItemVersion: s.version, Points: s.points, Reward: s.reward,
		Lots: a.lotsOf(x.lots), Reason: a.str(x.reason),
		Returned: x.returned, Forfeited: x.forfeited, Unclawed: x.unclawed, Attempt: x.attempt,
	}
	a.settle(x, &r)
	return r
}

// settle copies into r the fields of x that change once it is charged but
// for Reason: its state, balance, attempt and times.
func (a *recArena) settle(x *memExchange, r *ExchangeRecord) {
	r.State = exchangeStates[x.state]
	r.Balance = Balance{Points: x.bal[0], Held: x.bal[1], Debt: x.bal[2], Growth: x.bal[3]}
	if x.tier != 0 {
		r.Balance.Tier = a.strs[x.tier]
	}
	r.Attempt = x.attempt
	r.LeaseUntil, r.CreatedAt, r.SettledAt = a.time(x.lease), a.time(x.created), a.time(x.settled)
}
