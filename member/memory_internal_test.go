package member

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/internal/slots"
	"github.com/scrmkit/scrmkit/scrm"
)

// TestKeyHashCollisions drives a memory store's key table through keys
// whose hashes collide (one hash forced for all), which real keys
// practically never do: each is still told apart, answered with its own
// outcome, and unlinked alone.
func TestKeyHashCollisions(t *testing.T) {
	var k keyShard
	k.init()
	const h = 42
	keys := []string{"a", "bb", "ccc"}
	placed := make([]int32, len(keys))
	for n, key := range keys {
		slot, _, replayed, err := k.reserveHash("op", h, key, "c1", "fp-"+key)
		require.NoError(t, err, key)
		require.False(t, replayed, key)
		placed[n] = slot
		k.settle(h, key, slot, "c1", "fp-"+key, []byte("out-"+key), true)
	}
	assert.Equal(t, 3, k.index.Len())
	for n, key := range keys {
		_, out, replayed, err := k.reserveHash("op", h, key, "c1", "fp-"+key)
		require.NoError(t, err, key)
		assert.True(t, replayed, key)
		assert.Equal(t, "out-"+key, string(out))
		assert.Equal(t, placed[n], k.find(h, key), key)
		_, _, _, err = k.reserveHash("op", h, key, "c1", "other")
		assert.ErrorIs(t, err, scrm.ErrConflict, key)
	}
	assert.Equal(t, int32(-1), k.find(h, "dddd"))

	// Unlink from the middle, the start and the end of the probe.
	k.index.Remove(slots.Tag(h), placed[1])
	assert.Equal(t, int32(-1), k.find(h, "bb"))
	assert.Equal(t, placed[0], k.find(h, "a"))
	assert.Equal(t, placed[2], k.find(h, "ccc"))
	k.index.Remove(slots.Tag(h), placed[2])
	assert.Equal(t, int32(-1), k.find(h, "ccc"))
	assert.Equal(t, placed[0], k.find(h, "a"))
	k.index.Remove(slots.Tag(h), placed[0])
	assert.Equal(t, int32(-1), k.find(h, "a"))
	assert.Zero(t, k.index.Len())
}

// TestOrderHashCollisions does the same for an account's order records.
func TestOrderHashCollisions(t *testing.T) {
	a := &memAccount{}
	var pos []int32
	for _, id := range []string{"x", "y"} {
		pos = append(pos, a.putOrder(&OrderRecord{OrderID: id}))
		a.orders.Insert(7, pos[len(pos)-1])
	}
	assert.Equal(t, pos[1], a.findOrder(7, "y"))
	assert.Equal(t, pos[0], a.findOrder(7, "x"))
	assert.Equal(t, int32(-1), a.findOrder(7, "z"))
	assert.Equal(t, int32(-1), a.findOrder(8, "x"))
}

// TestOrderEncoding round-trips order records through their encoding,
// with the values the common case does not have: decimals too large for an
// int64 and zero ones, empty but not nil SpentLots, times with a monotonic
// clock reading and in other locations.
func TestOrderEncoding(t *testing.T) {
	big := decimal.RequireFromString("123456789012345678901234.5678")
	shanghai := time.FixedZone("CST", 8*3600)
	orders := []OrderRecord{
		{OrderID: "a"},
		{OrderID: "b", Earned: true, Paid: big, EarnedAt: time.Now(), Points: -5, Month: 24314, Refunded: decimal.Zero,
			OrderAmount: decimal.New(-12345, -2), SpentLots: []LotMove{}},
		{OrderID: "c", EarnedAt: time.Date(2026, 3, 1, 10, 0, 0, 5, shanghai), SpentLots: []LotMove{{Lot: 1, Points: -3, Held: 2, Expiry: 1 << 60}},
			Held: 1, Spent: 2, PointsClawed: 3, GrowthClawed: 4, Returned: 5, Lot: 6, Growth: 7, SpentValue: decimal.New(500, -2),
			SpentAt: time.Date(2026, 3, 1, 9, 0, 0, 7, shanghai)},
		{OrderID: "d", SpentValue: big},
	}
	a := &memAccount{}
	pos := make([]int32, len(orders))
	for i := range orders {
		pos[i] = a.putOrder(&orders[i])
		a.journal.add([]Entry{{Seq: int64(i + 1), Kind: EntryEarn}}) // records and entries interleave
	}
	pos[0] = a.putOrder(&OrderRecord{OrderID: "a", Points: 1}) // changed
	orders[0].Points = 1
	for i, want := range orders {
		got := a.order(pos[i])
		assert.Equal(t, want.OrderID, string(a.orderID(pos[i])))
		assert.True(t, want.Paid.Equal(got.Paid) && want.Paid.Exponent() == got.Paid.Exponent(), "Paid %s", got.Paid)
		assert.True(t, want.OrderAmount.Equal(got.OrderAmount), "OrderAmount %s", got.OrderAmount)
		assert.True(t, want.Refunded.Equal(got.Refunded), "Refunded %s", got.Refunded)
		assert.True(t, want.SpentValue.Equal(got.SpentValue), "SpentValue %s", got.SpentValue)
		assert.True(t, want.EarnedAt == got.EarnedAt, "EarnedAt %v", got.EarnedAt)
		assert.True(t, want.SpentAt.Equal(got.SpentAt) && want.SpentAt.Location().String() == got.SpentAt.Location().String(), "SpentAt %v", got.SpentAt)
		want.Paid, want.OrderAmount, want.Refunded, want.EarnedAt = got.Paid, got.OrderAmount, got.Refunded, got.EarnedAt
		want.SpentValue, want.SpentAt = got.SpentValue, got.SpentAt
		assert.Equal(t, want, got)
	}
	es, _ := a.journal.page(0, 10)
	assert.Len(t, es, len(orders), "entries skip records")
}

// TestJournalEncoding does the same for journal entries.
func TestJournalEncoding(t *testing.T) {
	es := []Entry{
		{Seq: 1, Kind: EntryEarn, At: time.Now(), Points: 5, Growth: 5, Key: "k", OrderID: "o", Lots: []LotMove{{Lot: 1, Points: 5, Expiry: 99}}},
		{Seq: 2, Kind: "custom", At: time.Date(2026, 1, 1, 0, 0, 0, 1, time.UTC), Held: -1, Debt: 2, Forgiven: 3, Forfeited: 4, Program: 5,
			Note: "n", HoldID: "h", From: "f", To: "t", Operator: "op", Lots: []LotMove{{Lot: 1}, {Lot: 2, Held: -7}}},
		{Seq: 3, Kind: EntryTier},
	}
	var j journal
	j.add(append([]Entry(nil), es...))
	got, next := j.page(0, 10)
	assert.Zero(t, next)
	require.Len(t, got, len(es))
	for i := range es {
		assert.True(t, es[i].At == got[i].At, "At %v", got[i].At)
		got[i].At = es[i].At
	}
	assert.Equal(t, es, got)
	assert.Equal(t, es[1:2], j.copyFrom(2, 1))
}

// TestJournalPositionsAfterLongEntry: an entry too long for a chunk gets a
// larger chunk of its own; the order records and entries written after it
// must still get positions that read them back (a position keeps the
// offset in journalShift bits), and the entries must page back intact.
func TestJournalPositionsAfterLongEntry(t *testing.T) {
	var j journal
	at := time.Unix(1700000000, 0).UTC()
	lots := make([]LotMove, 300)
	for i := range lots {
		lots[i] = LotMove{Lot: int64(i + 1), Points: -1}
	}
	type rec struct {
		pos  int32
		want string
	}
	var recs []rec
	seq := int64(0)
	for round := 0; round < 3; round++ {
		seq++
		j.add([]Entry{{Seq: seq, Kind: EntrySpend, At: at, Points: -300, Lots: lots}})
		for i := 0; i < 300; i++ {
			want := fmt.Sprintf("order-%d-%03d-padding-padding", round, i)
			recs = append(recs, rec{j.addRecord([]byte(want)), want})
			if i%10 == 0 {
				seq++
				j.add([]Entry{{Seq: seq, Kind: EntryEarn, At: at, Points: 5, Key: want}})
			}
		}
	}
	for _, r := range recs {
		got := j.record(r.pos)
		require.LessOrEqual(t, got.i+len(r.want), len(got.b), r.want)
		require.Equal(t, r.want, string(got.b[got.i:got.i+len(r.want)]))
	}
	es, _ := j.page(0, int(seq)+1)
	require.Len(t, es, int(seq))
	for i, e := range es {
		require.Equal(t, int64(i+1), e.Seq)
		if e.Kind == EntrySpend {
			require.Equal(t, lots, e.Lots)
		}
	}
}

// TestJournalCopyAt: the entries of every add, decoded from the position
// add returned, are those it wrote (the same as reading them by
// Seq), with records between adds and adds spanning chunks.
func TestJournalCopyAt(t *testing.T) {
	var j journal
	at := time.Unix(1700000000, 0).UTC()
	type added struct {
		pos   int32
		first int64
		n     int
	}
	var adds []added
	seq := int64(0)
	for i := 0; i < 400; i++ {
		n := 1 + i%3
		es := make([]Entry, n)
		for k := range es {
			seq++
			es[k] = Entry{Seq: seq, Kind: EntryEarn, At: at, Points: seq, Key: fmt.Sprintf("key-%d", i)}
			if i%50 == 0 {
				es[k].Lots = make([]LotMove, 250) // longer than a chunk
			}
		}
		adds = append(adds, added{j.add(es), es[0].Seq, n})
		j.addRecord([]byte(fmt.Sprintf("order-%d", i)))
	}
	for _, a := range adds {
		got := j.decodeAt(a.pos, a.n)
		require.Equal(t, j.copyFrom(a.first, a.n), got)
		require.Equal(t, got, j.copyAt(a.pos, a.first, a.n))
	}
}

// TestJournalRandom writes random runs of entries (some longer than a
// chunk) and records (some longer than a chunk) and reads everything back:
// every record from its position, every add's entries from theirs, and all
// entries by pages of Seq.
func TestJournalRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 5; round++ {
		var j journal
		at := time.Unix(1700000000, 0).In(time.FixedZone("CST", 8*3600))
		type rec struct {
			pos int32
			b   []byte
		}
		type added struct {
			pos int32
			es  []Entry
		}
		var recs []rec
		var adds []added
		var all []Entry
		seq := int64(0)
		for op := 0; op < 600; op++ {
			if rng.IntN(2) == 0 {
				b := make([]byte, 1+rng.IntN(60))
				if rng.IntN(40) == 0 {
					b = make([]byte, journalBytes+rng.IntN(3000))
				}
				for i := range b {
					b[i] = byte(rng.IntN(256))
				}
				recs = append(recs, rec{j.addRecord(b), b})
				continue
			}
			es := make([]Entry, 1+rng.IntN(3))
			for k := range es {
				seq++
				e := Entry{Seq: seq, Kind: EntryEarn, At: at.Add(time.Duration(seq) * time.Second), Points: rng.Int64N(1000), Note: fmt.Sprint("n", seq)}
				if rng.IntN(20) == 0 {
					e.Lots = make([]LotMove, 1+rng.IntN(400))
					for i := range e.Lots {
						e.Lots[i] = LotMove{Lot: int64(i + 1), Points: -rng.Int64N(100)}
					}
				}
				es[k] = e
			}
			pos := j.add(es)
			// add hands back the entries as the journal keeps them.
			adds = append(adds, added{pos, slices.Clone(es)})
			all = append(all, es...)
		}
		for _, r := range recs {
			got := j.record(r.pos)
			require.LessOrEqual(t, got.i+len(r.b), len(got.b))
			require.Equal(t, r.b, got.b[got.i:got.i+len(r.b)])
		}
		for _, a := range adds {
			require.Equal(t, a.es, j.decodeAt(a.pos, len(a.es)))
		}
		var paged []Entry
		for after := int64(0); ; {
			page, next := j.page(after, 37)
			paged = append(paged, page...)
			if next == 0 {
				break
			}
			after = next
		}
		require.Equal(t, all, paged)
	}
}

// TestTenantTableConcurrent has 8 goroutines get-or-create 300 tenants in
// different orders while others only look them up (through the table's
// growth from 8 slots to 1024): every tenant is made exactly once, all
// goroutines get the same state for it, a lookup without create never
// makes one, and every tenant is found afterwards.
func TestTenantTableConcurrent(t *testing.T) {
	var x tenantTable[int]
	const tenants = 300
	var made [tenants]atomic.Int32
	got := make([][tenants]*int, 8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for k := range tenants {
				i := (k*7 + g*37) % tenants
				got[g][i] = x.get(scrm.TenantID("t"+strconv.Itoa(i)), true, func() *int {
					made[i].Add(1)
					v := i
					return &v
				})
			}
		}()
		go func() {
			defer wg.Done()
			for i := range tenants {
				if v := x.get(scrm.TenantID("t"+strconv.Itoa(i)), false, nil); v != nil && *v != i {
					t.Errorf("tenant %d has the state of %d", i, *v)
				}
				if v := x.get(scrm.TenantID("absent"+strconv.Itoa(i)), false, nil); v != nil {
					t.Errorf("absent%d found", i)
				}
			}
		}()
	}
	wg.Wait()
	for i := range tenants {
		require.Equal(t, int32(1), made[i].Load(), "tenant %d made once", i)
		v := x.get(scrm.TenantID("t"+strconv.Itoa(i)), false, nil)
		require.NotNil(t, v)
		require.Equal(t, i, *v)
		for g := range 8 {
			require.Same(t, v, got[g][i], "goroutine %d, tenant %d", g, i)
		}
	}
	require.Len(t, x.tab.Load().slots, 1024)
}
