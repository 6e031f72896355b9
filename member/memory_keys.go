package member

import (
	"hash/maphash"
	"strconv"
	"sync"

	"github.com/scrmkit/scrmkit/internal/slots"
	"github.com/scrmkit/scrmkit/scrm"
)

// memKeyTable is a tenant's table of idempotency keys for one of the memory
// store's parts (the points ledger, stored value, check-in make-ups,
// memberships): each key
// maps to the customer and fingerprint it was first used with and an
// outcome the part encodes as bytes. A key is reserved (pending) while its
// update runs, so that concurrent requests with one key run one at a time.
//
// It holds no pointers the garbage collector must follow per key: the index
// maps the key's hash to a record number, records are fixed-size structs in
// chunks that never move, and the strings and outcomes are bytes in arena
// chunks. A tenant's millions of keys then cost a collection nothing.
//
// Keys are spread over keyShards shards by their hash, each with its own
// lock, so that the updates of one large tenant running on many cores do
// not all wait for one lock (each keyed update takes it twice: to reserve
// and to settle). The zero value is ready to use.
type memKeyTable struct {
	once   sync.Once
	seed   maphash.Seed
	shards [keyShards]keyShard
}

// keyShards is the number of a key table's shards, a power of two: a slot
// number carries its shard in its top keyShardBits bits.
const (
	keyShardBits = 4
	keyShards    = 1 << keyShardBits
	keySlotBits  = 31 - keyShardBits
)

// keyShard is one shard of a memKeyTable, padded to a cache line pair of
// its own.
type keyShard struct {
	mu   sync.Mutex
	cond *sync.Cond // signalled when a pending key is settled
	// index indexes recs by the hash of their key (under the table's
	// seed).
	index slots.Index
	recs  [][]memKeyRec
	arena [][]byte
	_     [32]byte
}

// reserve looks key up. A recorded key answers at once: a copy of its
// outcome when the customer and fingerprint match (replayed true),
// ErrConflict when not. A pending key is waited for. A new key is reserved
// and its number returned, to be settled by the caller.
func (k *memKeyTable) reserve(op, key string, customer scrm.CustomerID, fp string) (slot int32, out []byte, replayed bool, err error) {
	k.once.Do(func() { k.seed = maphash.MakeSeed() })
	h := maphash.String(k.seed, key)
	n := h >> (64 - keyShardBits)
	sh := &k.shards[n]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.init()
	if slot, out, replayed, err = sh.reserveHash(op, h, key, customer, fp); slot >= 0 {
		slot |= int32(n) << keySlotBits
	}
	return slot, out, replayed, err
}

// settle records the customer, fingerprint and outcome of a key reserve
// returned slot for, or frees the key when its update failed, and wakes
// the requests waiting for it.
func (k *memKeyTable) settle(key string, slot int32, customer scrm.CustomerID, fp string, out []byte, ok bool) {
	sh := &k.shards[slot>>keySlotBits]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var h uint64
	if !ok {
		h = maphash.String(k.seed, key) // only a failed update's key is unindexed
	}
	sh.settle(h, key, slot&(1<<keySlotBits-1), customer, fp, out, ok)
}

// memKeyRec is one key's record: the key, customer, fingerprint and outcome
// are stored one after the other in the arena from (chunk, off).
type memKeyRec struct {
	chunk, off             int32
	klen, clen, flen, olen int32
	pending                bool
}

// The chunk sizes of key records and their arena.
const (
	keyRecChunk   = 4096
	keyArenaChunk = 64 << 10
)

func (k *keyShard) rec(i int32) *memKeyRec { return &k.recs[i/keyRecChunk][i%keyRecChunk] }

func (k *keyShard) bytes(r *memKeyRec, from, n int32) []byte {
	off := r.off + from
	return k.arena[r.chunk][off : off+n]
}

// find returns the number of the record of key, whose hash is h, or -1.
func (k *keyShard) find(h uint64, key string) int32 {
	return k.index.Find(slots.Tag(h), func(i int32) bool {
		r := k.rec(i)
		return string(k.bytes(r, 0, r.klen)) == key
	})
}

// init readies a zero shard; called with mu held.
func (k *keyShard) init() {
	if k.cond == nil {
		k.cond = sync.NewCond(&k.mu)
	}
}

// reserveHash is reserve in the shard, with key's hash h given; called
// with mu held.
func (k *keyShard) reserveHash(op string, h uint64, key string, customer scrm.CustomerID, fp string) (slot int32, out []byte, replayed bool, err error) {
	for {
		i := k.find(h, key)
		if i < 0 {
			break
		}
		r := k.rec(i)
		if r.pending {
			k.cond.Wait()
			continue
		}
		if string(k.bytes(r, r.klen, r.clen)) != string(customer) {
			return -1, nil, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
				Msg: "key " + strconv.Quote(key) + " was already used for another customer"}
		}
		if err := scrm.CheckReplay(op, key, string(k.bytes(r, r.klen+r.clen, r.flen)), fp); err != nil {
			return -1, nil, false, err
		}
		return -1, append([]byte(nil), k.bytes(r, r.klen+r.clen+r.flen, r.olen)...), true, nil
	}
	slot = k.nextSlot()
	k.recs[len(k.recs)-1] = append(k.recs[len(k.recs)-1], memKeyRec{pending: true})
	r := k.rec(slot)
	r.chunk, r.off = k.store(key, "", "", nil)
	r.klen = int32(len(key))
	k.index.Insert(slots.Tag(h), slot)
	return slot, nil, false, nil
}

// nextSlot returns the number the next record appended to the last chunk
// gets, adding a chunk when the last one is full.
func (k *keyShard) nextSlot() int32 {
	last := len(k.recs) - 1
	if last < 0 || len(k.recs[last]) == keyRecChunk {
		c := keyRecChunk
		if last < 0 {
			c = 16 // small tenants need little
		}
		k.recs = append(k.recs, make([]memKeyRec, 0, c))
		last++
	}
	slot := last*keyRecChunk + len(k.recs[last])
	if slot >= 1<<keySlotBits {
		// Hundreds of millions of keys in one shard of one tenant, far
		// beyond a memory store; fail loudly rather than wrap.
		panic("member: a memory store key table is full")
	}
	return int32(slot)
}

// settle is settle in the shard, with key's hash h given when ok is false;
// called with mu held.
func (k *keyShard) settle(h uint64, key string, slot int32, customer scrm.CustomerID, fp string, out []byte, ok bool) {
	r := k.rec(slot)
	if ok {
		// One record's bytes are contiguous: the rest follows the key when
		// nothing was stored after it meanwhile (the usual case), else the
		// key is stored again beside the rest.
		if c := &k.arena[r.chunk]; int(r.off+r.klen) == len(*c) && cap(*c)-len(*c) >= len(customer)+len(fp)+len(out) {
			*c = append(append(append(*c, customer...), fp...), out...)
		} else {
			r.chunk, r.off = k.store(key, string(customer), fp, out)
		}
		r.clen, r.flen, r.olen = int32(len(customer)), int32(len(fp)), int32(len(out))
		r.pending = false
	} else {
		k.index.Remove(slots.Tag(h), slot)
		*r = memKeyRec{} // a hole; failures are rare
	}
	k.cond.Broadcast()
}

// store appends a record's bytes to the arena, contiguously, and returns
// where they start.
func (k *keyShard) store(key, customer, fp string, out []byte) (chunk, off int32) {
	n := len(key) + len(customer) + len(fp) + len(out)
	k.arena = growChunks(k.arena, n, 256, keyArenaChunk) // a shard of a small tenant needs little
	last := len(k.arena) - 1
	off = int32(len(k.arena[last]))
	a := append(k.arena[last], key...)
	a = append(a, customer...)
	a = append(a, fp...)
	k.arena[last] = append(a, out...)
	return int32(last), off
}
