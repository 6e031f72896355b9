package member

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/scrmkit/scrmkit/internal/slots"
	"github.com/scrmkit/scrmkit/scrm"
)

// memStoredValues is the memory store's state of stored-value accounts (储值):
// per tenant, the top-up rule versions, the accounts (each with its own
// lock, payments and journal) and the idempotency keys.
type memStoredValues struct {
	tenants tenantTable[svTenant]
	txs     sync.Pool // *svTx
}

type svTenant struct {
	rules    versions[TopUpRule]
	accounts customerTable[svAccount]
	keys     memKeyTable
	seed     maphash.Seed // hashes order IDs for svAccount.payments
}

type svAccount struct {
	mu    sync.Mutex
	state ValueAccount // Version 0 until first saved
	// payments indexes pays by the hash of the order ID (under the
	// tenant's seed); the values are places in pays (see svPlace).
	payments slots.Index
	pays     [][]svPay
	journal  [][]svEntry // the entries in Seq order, from 1 without gaps
	n        int         // the number of entries
	strs     svArena     // the strings of pays and journal
	times    svTimes     // the locations (and odd times) of their times
}

// The account's payments and journal entries are kept as fixed-size
// records without pointers (svPay, svEntry), their strings as bytes in an
// arena and their times as Unix seconds and nanoseconds, in chunks that
// are never moved: appending never copies what is already there, a
// payment costs no allocation of its own, and a tenant's millions of
// payments and entries cost the garbage collector nothing to scan. Reads
// (replays, refunds, pages of the journal) decode them, and are rare.

// svChunkShift bounds a chunk of records to 1<<svChunkShift of them; a
// place (see svPlace) is a chunk's number shifted by it, plus the offset.
const svChunkShift = 8

// svAppend appends v to chunks, in the last chunk when it has room or a
// new one of twice its size (at most 1<<svChunkShift), and returns its
// place: the chunk's number << svChunkShift | the offset in it.
func svAppend[T any](chunks [][]T, v T) ([][]T, int32) {
	chunks = growChunks(chunks, 1, 1, 1<<svChunkShift)
	l := len(chunks) - 1
	chunks[l] = append(chunks[l], v)
	if l >= 1<<(31-svChunkShift) {
		// Millions of records for one customer's account; fail loudly
		// rather than hand out a place that wraps.
		panic("member: a stored-value account outgrew the memory store")
	}
	return chunks, int32(l<<svChunkShift | (len(chunks[l]) - 1))
}

// svPlace returns the record at place in chunks (see svAppend).
func svPlace[T any](chunks [][]T, place int32) *T {
	return &chunks[place>>svChunkShift][place&(1<<svChunkShift-1)]
}

// svArena keeps strings as bytes in chunks that are never moved.
type svArena struct {
	chunks [][]byte
}

// svStr is where svArena.put put a run of strings.
type svStr struct {
	chunk, off int32
}

// put appends the strings, contiguously, and returns where they start.
func (a *svArena) put(s1, s2, s3, s4 string) svStr {
	n := len(s1) + len(s2) + len(s3) + len(s4)
	if n == 0 {
		return svStr{}
	}
	a.chunks = growChunks(a.chunks, n, 128, 16<<10)
	last := len(a.chunks) - 1
	off := len(a.chunks[last])
	b := append(a.chunks[last], s1...)
	b = append(b, s2...)
	b = append(b, s3...)
	a.chunks[last] = append(b, s4...)
	return svStr{chunk: int32(last), off: int32(off)}
}

// bytes returns n bytes from s plus from.
func (a *svArena) bytes(s svStr, from, n int32) []byte {
	if n == 0 {
		return nil
	}
	off := s.off + from
	return a.chunks[s.chunk][off : off+n]
}

// svTime is a time as svTimes keeps it.
type svTime struct {
	sec  int64
	nsec int32
	// loc is the number of the location in svTimes.zones, or, for a time
	// that Unix seconds, nanoseconds and a location would not give back
	// exactly (one with a monotonic clock reading), -1 - its number in
	// svTimes.ats, which keeps it whole.
	loc int32
}

// svTimes holds what svTime refers to.
type svTimes struct {
	zones zones
	ats   []time.Time
}

func (x *svTimes) put(t time.Time) svTime {
	sec, nsec, loc := t.Unix(), t.Nanosecond(), t.Location()
	if exact(t, sec, int64(nsec), loc) {
		return svTime{sec: sec, nsec: int32(nsec), loc: int32(x.zones.number(loc))}
	}
	x.ats = append(x.ats, t)
	return svTime{loc: int32(-len(x.ats))}
}

func (x *svTimes) get(t svTime) time.Time {
	if t.loc < 0 {
		return x.ats[-1-t.loc]
	}
	return time.Unix(t.sec, int64(t.nsec)).In(x.zones.loc(int(t.loc)))
}

// svPay is a ValuePayment as an account keeps it: its order ID then its
// key in the arena from str.
type svPay struct {
	str                    svStr
	orderLen, keyLen       int32
	at                     svTime
	amount, principal      int64
	bonus, refunded        int64
	refPrincipal, refBonus int64
	cycle                  int64
}

// svEntry is a ValueEntry as an account's journal keeps it: its order
// ID, key, note and (for a kind svKindIndex does not number) kind, one after
// the other in the arena from str.
type svEntry struct {
	seq                                 int64
	at                                  svTime
	principal, bonus, bonusPoints, paid int64
	kept, forfeited                     int64
	str                                 svStr
	orderLen, keyLen, noteLen, kindLen  int32
	kind                                uint8 // see svKindIndex
}

// svKindIndex numbers the entry kinds for svEntry.kind (svKindOf is its
// inverse); 0 is any other kind.
func svKindIndex(k ValueEntryKind) uint8 {
	switch k {
	case ValueTopUp:
		return 1
	case ValueGrant:
		return 2
	case ValuePay:
		return 3
	case ValueRefund:
		return 4
	case ValueWithdraw:
		return 5
	}
	return 0
}

func svKindOf(i uint8) ValueEntryKind {
	switch i {
	case 1:
		return ValueTopUp
	case 2:
		return ValueGrant
	case 3:
		return ValuePay
	case 4:
		return ValueRefund
	}
	return ValueWithdraw
}

// putPay stores p as the payment at place, or as a new one when place is
// negative, and returns its place.
func (a *svAccount) putPay(place int32, p *ValuePayment) int32 {
	r := svPay{at: a.times.put(p.At), amount: p.Amount, principal: p.Principal, bonus: p.Bonus,
		refunded: p.Refunded, refPrincipal: p.RefundedPrincipal, refBonus: p.RefundedBonus, cycle: p.Cycle}
	r.orderLen, r.keyLen = int32(len(p.OrderID)), int32(len(p.Key))
	if place >= 0 {
		old := svPlace(a.pays, place)
		if string(a.strs.bytes(old.str, 0, old.orderLen)) == p.OrderID && string(a.strs.bytes(old.str, old.orderLen, old.keyLen)) == p.Key {
			r.str = old.str // the usual update (a refund) keeps the strings
		} else {
			r.str = a.strs.put(p.OrderID, p.Key, "", "")
		}
		*old = r
		return place
	}
	r.str = a.strs.put(p.OrderID, p.Key, "", "")
	a.pays, place = svAppend(a.pays, r)
	return place
}

// payment decodes the payment at place, whose order ID the caller knows.
func (a *svAccount) payment(place int32, orderID string) ValuePayment {
	r := svPlace(a.pays, place)
	return ValuePayment{OrderID: orderID, Key: string(a.strs.bytes(r.str, r.orderLen, r.keyLen)), At: a.times.get(r.at),
		Amount: r.amount, Principal: r.principal, Bonus: r.bonus, Refunded: r.refunded,
		RefundedPrincipal: r.refPrincipal, RefundedBonus: r.refBonus, Cycle: r.cycle}
}

// addEntries copies es into the journal.
// addEntries copies es into the journal. pay, when not nil, is the
// payment the same update saved as saved: an entry of the payment (its
// order ID and key, no note) shares its strings and, usually, its time.
func (a *svAccount) addEntries(es []ValueEntry, pay *ValuePayment, saved *svPay) {
	for i := range es {
		e := &es[i]
		r := svEntry{seq: e.Seq, principal: e.Principal, bonus: e.Bonus, bonusPoints: e.BonusPoints,
			paid: e.Paid, kept: e.Kept, forfeited: e.Forfeited}
		if pay != nil && e.At == pay.At {
			r.at = saved.at
		} else {
			r.at = a.times.put(e.At)
		}
		kindName := ""
		if r.kind = svKindIndex(e.Kind); r.kind == 0 {
			kindName = string(e.Kind)
		}
		r.orderLen, r.keyLen, r.noteLen, r.kindLen = int32(len(e.OrderID)), int32(len(e.Key)), int32(len(e.Note)), int32(len(kindName))
		if pay != nil && e.Note == "" && kindName == "" && e.OrderID == pay.OrderID && e.Key == pay.Key {
			r.str = saved.str // the same bytes, in the same order
		} else {
			r.str = a.strs.put(e.OrderID, e.Key, e.Note, kindName)
		}
		a.journal, _ = svAppend(a.journal, r)
	}
	a.n += len(es)
}

// entry decodes a journal entry.
func (a *svAccount) entry(r *svEntry) ValueEntry {
	e := ValueEntry{Seq: r.seq, At: a.times.get(r.at), Principal: r.principal, Bonus: r.bonus, BonusPoints: r.bonusPoints,
		Paid: r.paid, Kept: r.kept, Forfeited: r.forfeited}
	at := int32(0)
	for _, p := range [...]struct {
		s *string
		n int32
	}{{&e.OrderID, r.orderLen}, {&e.Key, r.keyLen}, {&e.Note, r.noteLen}} {
		if p.n > 0 {
			*p.s = string(a.strs.bytes(r.str, at, p.n))
		}
		at += p.n
	}
	if r.kind > 0 {
		e.Kind = svKindOf(r.kind)
	} else {
		e.Kind = ValueEntryKind(a.strs.bytes(r.str, at, r.kindLen))
	}
	return e
}

// copyRange decodes the entries numbered from to to-1 (0-based
// positions).
func (a *svAccount) copyRange(from, to int) []ValueEntry {
	if from >= to {
		return nil
	}
	out := make([]ValueEntry, 0, to-from)
	pos := 0
	for _, seg := range a.journal {
		lo, hi := max(from-pos, 0), min(to-pos, len(seg))
		for i := lo; i < hi; i++ {
			out = append(out, a.entry(&seg[i]))
		}
		pos += len(seg)
		if pos >= to {
			break
		}
	}
	return out
}

func (m *memStoredValues) tenant(t scrm.TenantID, create bool) *svTenant {
	return m.tenants.get(t, create, func() *svTenant {
		return &svTenant{seed: maphash.MakeSeed()}
	})
}

func (t *svTenant) account(c scrm.CustomerID, create bool) *svAccount {
	return t.accounts.get(c, create, func() *svAccount { return &svAccount{} })
}

func (s *memoryStore) PutTopUpRule(ctx context.Context, r TopUpRule) (TopUpRule, error) {
	const op = "member.MemoryStore.PutTopUpRule"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return TopUpRule{}, err
	}
	if err := scrm.CheckID(op, "Tenant", string(r.Tenant)); err != nil {
		return TopUpRule{}, err
	}
	return s.values.tenant(r.Tenant, true).rules.put(r, func(r *TopUpRule, v int64) { r.Version = v }), nil
}

func (s *memoryStore) TopUpRule(ctx context.Context, tenant scrm.TenantID, v int64) (TopUpRule, error) {
	const op = "member.MemoryStore.TopUpRule"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return TopUpRule{}, err
	}
	if t := s.values.tenant(tenant, false); t != nil {
		if r, ok := t.rules.get(v); ok {
			return r, nil
		}
	}
	return TopUpRule{}, scrm.Errorf(scrm.ErrNotFound, op, "tenant %q has no top-up rule version %d", tenant, v)
}

func (s *memoryStore) UpdateStoredValue(ctx context.Context, p ValueParams, fn func(tx *ValueTx) error) (ValueOutcome, bool, error) {
	const op = "member.MemoryStore.UpdateStoredValue"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ValueOutcome{}, false, err
	}
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return ValueOutcome{}, false, err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return ValueOutcome{}, false, err
	}
	t := s.values.tenant(p.Tenant, true)
	slot := int32(-1)
	if p.IdempotencyKey != "" {
		r, enc, replayed, err := t.keys.reserve(op, p.IdempotencyKey, p.Customer, p.Fingerprint)
		if err != nil {
			return ValueOutcome{}, false, err
		}
		if replayed {
			out, first, count, err := decodeValueOutcome(enc)
			if err != nil {
				return ValueOutcome{}, false, scrm.Wrap(scrm.ErrUnavailable, op, err)
			}
			if count > 0 {
				acc := t.account(p.Customer, false)
				acc.mu.Lock()
				out.Entries = acc.copyRange(int(first-1), int(first-1+count))
				acc.mu.Unlock()
			}
			return out, true, nil
		}
		slot = r
	}
	acc := t.account(p.Customer, true)
	acc.mu.Lock()
	out, err := s.values.apply(ctx, op, t.seed, acc, p, fn)
	acc.mu.Unlock()
	if slot >= 0 {
		var enc []byte
		var buf [32]byte // settle copies enc
		if err == nil {
			enc = encodeValueOutcome(buf[:0], out)
		}
		t.keys.settle(p.IdempotencyKey, slot, p.Customer, p.Fingerprint, enc, err == nil)
	}
	if err != nil {
		return ValueOutcome{}, false, err
	}
	return out, false, nil
}

// encodeValueOutcome encodes what an idempotency record keeps of a
// stored-value outcome: the balances and where its entries are in the
// journal (read back on a replay rather than kept twice), then its grants,
// rarely any, as JSON. It appends to dst.
func encodeValueOutcome(dst []byte, out ValueOutcome) []byte {
	var first int64
	if len(out.Entries) > 0 {
		first = out.Entries[0].Seq
	}
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(first))
	binary.LittleEndian.PutUint64(b[8:], uint64(len(out.Entries)))
	binary.LittleEndian.PutUint64(b[16:], uint64(out.Principal))
	binary.LittleEndian.PutUint64(b[24:], uint64(out.Bonus))
	enc := append(dst, b[:]...)
	if len(out.Grants) > 0 {
		js, _ := json.Marshal(out.Grants) // grants always encode
		enc = append(enc, js...)
	}
	return enc
}

func decodeValueOutcome(enc []byte) (out ValueOutcome, first, count int64, err error) {
	if len(enc) < 32 {
		return ValueOutcome{}, 0, 0, errors.New("malformed idempotency record")
	}
	first = int64(binary.LittleEndian.Uint64(enc[0:]))
	count = int64(binary.LittleEndian.Uint64(enc[8:]))
	out.Principal = int64(binary.LittleEndian.Uint64(enc[16:]))
	out.Bonus = int64(binary.LittleEndian.Uint64(enc[24:]))
	if len(enc) > 32 {
		err = json.Unmarshal(enc[32:], &out.Grants)
	}
	return out, first, count, err
}

// findPay returns the place in pays of the payment of orderID, whose
// hash's tag is tag, or -1; called with a.mu held.
func (a *svAccount) findPay(tag uint32, orderID string) int32 {
	return a.payments.Find(tag, func(place int32) bool {
		r := svPlace(a.pays, place)
		return string(a.strs.bytes(r.str, 0, r.orderLen)) == orderID
	})
}

// svTx is a recycled transaction with room for the account and payment
// copies.
type svTx struct {
	tx  ValueTx
	acc ValueAccount
	pay ValuePayment
}

// apply runs fn on copies of the account's records and saves the result;
// called with a.mu held. It saves copies of the payment and the entries fn
// left in tx (as records without pointers, see svAccount), never tx's
// memory, which may be fn's own, and hands the outcome to the caller as it
// is.
func (m *memStoredValues) apply(ctx context.Context, op string, seed maphash.Seed, a *svAccount, p ValueParams, fn func(tx *ValueTx) error) (ValueOutcome, error) {
	x, _ := m.txs.Get().(*svTx)
	if x == nil {
		x = &svTx{}
	}
	defer func() {
		*x = svTx{}
		m.txs.Put(x)
	}()
	x.acc = a.state
	x.tx.Account = &x.acc
	if a.state.Version == 0 {
		x.acc.Tenant, x.acc.Customer = p.Tenant, p.Customer
	}
	// Look the order up; a new one is indexed on commit (a.mu is held
	// throughout, so no other update can take its place meanwhile).
	reserved, idx := false, int32(-1)
	var otag uint32
	if p.OrderID != "" {
		otag = slots.Tag(maphash.String(seed, p.OrderID))
		if idx = a.findPay(otag, p.OrderID); idx >= 0 {
			x.pay = a.payment(idx, p.OrderID)
			x.tx.Payment = &x.pay
		} else {
			reserved = true
		}
	}
	fail := func(err error) (ValueOutcome, error) {
		return ValueOutcome{}, err
	}
	tx := &x.tx
	if err := fn(tx); err != nil {
		return fail(err)
	}
	if err := scrm.CheckContext(ctx, op); err != nil {
		return fail(err)
	}
	st := tx.Account
	if st.Principal < 0 || st.Bonus < 0 {
		return fail(scrm.Invalid(op, "Account", "balances may not be negative (principal %d, bonus %d fen)", st.Principal, st.Bonus))
	}
	if tx.Payment != nil && tx.Payment.OrderID != p.OrderID {
		return fail(scrm.Invalid(op, "Payment.OrderID", "%q is not the order named by the params (%q)", tx.Payment.OrderID, p.OrderID))
	}
	for i := range tx.Outcome.Entries {
		if tx.Outcome.Entries[i].Seq != a.state.Seq+int64(i)+1 {
			return fail(scrm.Invalid(op, "Outcome.Entries", "entries must continue the journal's Seq"))
		}
	}
	st.Tenant, st.Customer = p.Tenant, p.Customer
	st.Version = a.state.Version + 1
	a.state = *st
	var saved *svPay
	switch {
	case tx.Payment != nil && reserved:
		place := a.putPay(-1, tx.Payment)
		a.payments.Insert(otag, place)
		saved = svPlace(a.pays, place)
	case tx.Payment != nil && idx >= 0:
		saved = svPlace(a.pays, a.putPay(idx, tx.Payment))
	case tx.Payment != nil: // no OrderID in the params: keyed by ""
		otag = slots.Tag(maphash.String(seed, ""))
		place := a.findPay(otag, "")
		if place >= 0 {
			a.putPay(place, tx.Payment)
		} else {
			place = a.putPay(-1, tx.Payment)
			a.payments.Insert(otag, place)
		}
		saved = svPlace(a.pays, place)
	}
	a.addEntries(tx.Outcome.Entries, tx.Payment, saved)
	return tx.Outcome, nil
}

func (s *memoryStore) ValueAccount(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (ValueAccount, error) {
	const op = "member.MemoryStore.ValueAccount"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ValueAccount{}, err
	}
	if t := s.values.tenant(tenant, false); t != nil {
		if a := t.account(customer, false); a != nil {
			a.mu.Lock()
			st := a.state
			a.mu.Unlock()
			if st.Version > 0 {
				return st, nil
			}
		}
	}
	return ValueAccount{}, scrm.Errorf(scrm.ErrNotFound, op, "no stored-value account for customer %q", customer)
}

func (s *memoryStore) ValuePayment(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, orderID string) (ValuePayment, error) {
	const op = "member.MemoryStore.ValuePayment"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ValuePayment{}, err
	}
	if t := s.values.tenant(tenant, false); t != nil {
		if a := t.account(customer, false); a != nil {
			a.mu.Lock()
			i := a.findPay(slots.Tag(maphash.String(t.seed, orderID)), orderID)
			var c ValuePayment
			if i >= 0 {
				c = a.payment(i, orderID)
			}
			a.mu.Unlock()
			if i >= 0 {
				return c, nil
			}
		}
	}
	return ValuePayment{}, scrm.Errorf(scrm.ErrNotFound, op, "customer %q has no stored-value payment for order %q", customer, orderID)
}

func (s *memoryStore) ValueEntries(ctx context.Context, p ListEntriesParams) (ValueEntryPage, error) {
	const op = "member.MemoryStore.ValueEntries"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ValueEntryPage{}, err
	}
	t := s.values.tenant(p.Tenant, false)
	if t == nil {
		return ValueEntryPage{}, nil
	}
	a := t.account(p.Customer, false)
	if a == nil {
		return ValueEntryPage{}, nil
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	a.mu.Lock()
	defer a.mu.Unlock()
	// Seq numbers the journal from 1 without gaps: entry Seq is at
	// position Seq-1.
	i := int(min(max(p.After, 0), int64(a.n)))
	end := min(i+limit, a.n)
	var page ValueEntryPage
	page.Entries = a.copyRange(i, end)
	if end < a.n {
		page.Next = int64(end)
	}
	return page, nil
}
