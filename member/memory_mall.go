package member

import (
	"context"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/scrmkit/scrmkit/internal/slots"
	"github.com/scrmkit/scrmkit/scrm"
)

// memMall is the memory store's state of the points mall (积分商城). Its
// zero value is ready: tenants are created on first write.
//
// Locks: mu guards tenants; a mallTenant's mu guards its maps and the
// records in them; a mallItem's mu guards the item, its counts, and every
// change of the state of its exchanges (which is why a charge or refund
// holds it across the ledger update, and a change of a record holds both).
// The order is item, then tenant (and the ledger's locks inside
// Store.Update); a tenant's mu is never held while taking an item's.
type memMall struct {
	tenants tenantTable[mallTenant]
	txs     sync.Pool // *mallTx, recycled once a step returns
}

// mallTx is an ExchangeTx with the record it points to.
type mallTx struct {
	tx  ExchangeTx
	rec ExchangeRecord
}

// tx returns a recycled mallTx whose tx.Exchange points to its rec; put
// recycles it.
func (m *memMall) tx() *mallTx {
	w, _ := m.txs.Get().(*mallTx)
	if w == nil {
		w = &mallTx{}
	}
	w.tx.Exchange = &w.rec
	return w
}

func (m *memMall) put(w *mallTx) {
	*w = mallTx{}
	m.txs.Put(w)
}

// recChunk is the number of records in a chunk of mallTenant.recs.
const recChunk = 256

type mallTenant struct {
	mu   sync.RWMutex
	cond sync.Cond // signalled when a reserved key is settled
	// items are never removed.
	items map[string]*mallItem
	// byKey indexes the records by the hash of their key (under seed): it
	// holds no pointers for the garbage collector to scan and grows
	// without reading the keys. Records are kept packed (memExchange, no
	// pointers, so the chunks are not scanned by the garbage collector) in
	// recs, in chunks of recChunk that are never moved (so pointers to
	// records stay valid), n of them used. A record is zero but for its key
	// (its state 0) while a charge holds the key, and becomes zero, a hole,
	// when the charge fails and the key is freed. Records are changed in
	// place, field by field, with mu held for writing and the record's item
	// locked; a refund repacks the whole record.
	byKey slots.Index
	seed  maphash.Seed
	recs  [][]memExchange
	n     int
	// tenant is the records' Tenant; arena holds what they refer to.
	tenant scrm.TenantID
	arena  recArena
	// byCustomer lists the indexes of a customer's records in the order
	// charged; pending holds those of the pending ones.
	byCustomer map[scrm.CustomerID][]int
	pending    map[int]struct{}
}

// rec returns the record numbered i; called with mu held.
func (mt *mallTenant) rec(i int) *memExchange { return &mt.recs[i/recChunk][i%recChunk] }

// find returns the number of the record of key (saved or reserved), or -1;
// called with mu held.
func (mt *mallTenant) find(key string) int {
	return mt.findHash(maphash.String(mt.seed, key), key)
}

// findHash is find with the key's hash h.
func (mt *mallTenant) findHash(h uint64, key string) int {
	return int(mt.byKey.Find(slots.Tag(h), func(i int32) bool { return string(mt.arena.bytesOf(mt.rec(int(i)).key)) == key }))
}

// record returns the saved record of key, or nil; called with mu held.
func (mt *mallTenant) record(key string) *memExchange {
	if i := mt.find(key); i >= 0 {
		if r := mt.rec(i); r.state != 0 {
			return r
		}
	}
	return nil
}

// reserve returns the number of the record of key as i, or, when there is
// none, reserves a record for it (zero but for its Key) and returns its
// number as r (i and r are -1 when not returned); called with mu held.
func (mt *mallTenant) reserve(key string) (i, r int) {
	return mt.reserveHash(maphash.String(mt.seed, key), key)
}

// reserveHash is reserve with the key's hash h.
func (mt *mallTenant) reserveHash(h uint64, key string) (i, r int) {
	if i = mt.findHash(h, key); i >= 0 {
		return i, -1
	}
	r = mt.newRec()
	mt.rec(r).key = mt.arena.putStr(key)
	mt.byKey.Insert(slots.Tag(h), int32(r))
	return -1, r
}

// unreserve frees the reserved record r of key; called with mu held.
func (mt *mallTenant) unreserve(key string, r int) {
	mt.unreserveHash(maphash.String(mt.seed, key), r)
}

// unreserveHash is unreserve with the key's hash h.
func (mt *mallTenant) unreserveHash(h uint64, r int) {
	mt.byKey.Remove(slots.Tag(h), int32(r))
	*mt.rec(r) = memExchange{}
	if r == mt.n-1 {
		mt.n--
	}
}

// newRec reserves the next record and returns its number; called with mu
// held.
func (mt *mallTenant) newRec() int {
	if mt.n == len(mt.recs)*recChunk {
		mt.recs = append(mt.recs, make([]memExchange, recChunk))
	}
	mt.n++
	return mt.n - 1
}

type mallItem struct {
	mu     sync.Mutex
	item   CatalogItem
	bought map[scrm.CustomerID]int64
}

func (m *memMall) tenant(t scrm.TenantID, create bool) *mallTenant {
	return m.tenants.get(t, create, func() *mallTenant {
		mt := &mallTenant{
			items:      make(map[string]*mallItem),
			seed:       maphash.MakeSeed(),
			byCustomer: make(map[scrm.CustomerID][]int),
			pending:    make(map[int]struct{}),
			tenant:     t,
		}
		mt.cond.L = &mt.mu
		return mt
	})
}

func (mt *mallTenant) item(id string) *mallItem {
	mt.mu.RLock()
	it := mt.items[id]
	mt.mu.RUnlock()
	return it
}

func (s *memoryStore) PutCatalogItem(ctx context.Context, item CatalogItem) (CatalogItem, error) {
	const op = "member.MemoryStore.PutCatalogItem"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return CatalogItem{}, err
	}
	if err := scrm.CheckID(op, "Tenant", string(item.Tenant)); err != nil {
		return CatalogItem{}, err
	}
	if err := scrm.CheckID(op, "ID", item.ID); err != nil {
		return CatalogItem{}, err
	}
	c := item.Clone()
	mt := s.mall.tenant(item.Tenant, true)
	mt.mu.Lock()
	it := mt.items[item.ID]
	if it == nil {
		if item.Version != 0 {
			mt.mu.Unlock()
			return CatalogItem{}, scrm.Errorf(scrm.ErrConflict, op, "catalog item %q does not exist (version %d given)", item.ID, item.Version)
		}
		c.Version, c.Sold = 1, 0
		mt.items[item.ID] = &mallItem{item: c, bought: make(map[scrm.CustomerID]int64)}
		mt.mu.Unlock()
		return c.Clone(), nil
	}
	mt.mu.Unlock()
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.item.Version != item.Version {
		return CatalogItem{}, scrm.Errorf(scrm.ErrConflict, op, "catalog item %q is at version %d, not %d", item.ID, it.item.Version, item.Version)
	}
	c.Version, c.Sold, c.CreatedAt = it.item.Version+1, it.item.Sold, it.item.CreatedAt
	it.item = c
	return c.Clone(), nil
}

func (s *memoryStore) CatalogItem(ctx context.Context, tenant scrm.TenantID, id string) (CatalogItem, error) {
	const op = "member.MemoryStore.CatalogItem"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return CatalogItem{}, err
	}
	if mt := s.mall.tenant(tenant, false); mt != nil {
		if it := mt.item(id); it != nil {
			it.mu.Lock()
			c := it.item.Clone()
			it.mu.Unlock()
			return c, nil
		}
	}
	return CatalogItem{}, scrm.Errorf(scrm.ErrNotFound, op, "no catalog item %q", id)
}

func (s *memoryStore) ListCatalog(ctx context.Context, p ListCatalogParams) (CatalogPage, error) {
	const op = "member.MemoryStore.ListCatalog"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return CatalogPage{}, err
	}
	mt := s.mall.tenant(p.Tenant, false)
	if mt == nil {
		return CatalogPage{}, nil
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	mt.mu.RLock()
	ids := make([]string, 0, len(mt.items))
	for id := range mt.items {
		if id > p.Cursor {
			ids = append(ids, id)
		}
	}
	mt.mu.RUnlock()
	slices.Sort(ids)
	var page CatalogPage
	if len(ids) > limit {
		ids = ids[:limit]
		page.Next = ids[limit-1]
	}
	page.Items = make([]CatalogItem, 0, len(ids))
	for _, id := range ids {
		it := mt.item(id)
		it.mu.Lock()
		page.Items = append(page.Items, it.item.Clone())
		it.mu.Unlock()
	}
	return page, nil
}

func (s *memoryStore) ChargeExchange(ctx context.Context, p ChargeExchangeParams, fn func(tx *ExchangeTx) error) (ChargeExchangeResult, error) {
	const op = "member.MemoryStore.ChargeExchange"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ChargeExchangeResult{}, err
	}
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return ChargeExchangeResult{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return ChargeExchangeResult{}, err
	}
	if err := scrm.CheckID(op, "Item", p.Item); err != nil {
		return ChargeExchangeResult{}, err
	}
	if err := scrm.CheckID(op, "IdempotencyKey", p.Key); err != nil {
		return ChargeExchangeResult{}, err
	}
	mt := s.mall.tenant(p.Tenant, true)

	// Reserve the key (a record with only its Key), or answer from its
	// record.
	mt.mu.Lock()
	var slot int
	for {
		i, r := mt.reserve(p.Key)
		if r >= 0 {
			slot = r
			break
		}
		rec := mt.rec(i)
		if rec.state == 0 {
			mt.cond.Wait()
			continue
		}
		c := mt.arena.unpack(mt.tenant, rec)
		mt.mu.Unlock()
		if c.Customer != p.Customer {
			return ChargeExchangeResult{}, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
				Msg: "key " + strconv.Quote(p.Key) + " was already used for another customer"}
		}
		if err := scrm.CheckReplay(op, p.Key, c.Fingerprint, p.Fingerprint); err != nil {
			return ChargeExchangeResult{}, err
		}
		return ChargeExchangeResult{Exchange: c, Replayed: true}, nil
	}
	it := mt.items[p.Item]
	mt.mu.Unlock()
	release := func() {
		mt.mu.Lock()
		mt.unreserve(p.Key, slot)
		mt.cond.Broadcast()
		mt.mu.Unlock()
	}
	if it == nil {
		release()
		return ChargeExchangeResult{}, scrm.Errorf(scrm.ErrNotFound, op, "no catalog item %q", p.Item)
	}

	it.mu.Lock()
	defer it.mu.Unlock()
	bought := it.bought[p.Customer]
	if err := checkMallCounts(op, &it.item, bought); err != nil {
		release()
		return ChargeExchangeResult{}, err
	}
	w := s.mall.tx()
	defer s.mall.put(w)
	tx := &w.tx
	tx.Item, tx.Bought = it.item.Clone(), bought
	out, _, err := s.Update(ctx, UpdateParams{Tenant: p.Tenant, Customer: p.Customer},
		func(ltx *LedgerTx) error {
			w.rec = ExchangeRecord{}
			tx.Ledger, tx.Exchange = ltx, &w.rec
			if err := fn(tx); err != nil {
				return err
			}
			r := tx.Exchange
			if r == nil || r.Tenant != p.Tenant || r.Key != p.Key || r.Customer != p.Customer || r.Item != p.Item || r.State != ExchangePending {
				return scrm.Invalid(op, "Exchange", "fn must set a pending exchange record of the params' tenant, key, customer and item")
			}
			return nil
		})
	if err != nil {
		release()
		return ChargeExchangeResult{}, err
	}

	// Commit: nothing below fails. The store keeps a packed copy of the
	// record fn filled, so the record itself (and its Lots, which fn made
	// and does not keep) can be handed back without a copy.
	r := tx.Exchange
	r.Fingerprint, r.Attempt = p.Fingerprint, 1
	it.item.Sold++
	it.bought[p.Customer] = bought + 1
	mt.mu.Lock()
	mt.arena.pack(mt.rec(slot), r)
	mt.byCustomer[p.Customer] = append(mt.byCustomer[p.Customer], slot)
	mt.pending[slot] = struct{}{}
	mt.cond.Broadcast()
	mt.mu.Unlock()
	return ChargeExchangeResult{Exchange: *r, Outcome: out}, nil
}

// checkMallCounts checks an item's stock and a customer's count of it.
func checkMallCounts(op string, it *CatalogItem, bought int64) error {
	if it.Stock > 0 && it.Sold >= it.Stock {
		return &scrm.Error{Code: scrm.ErrExhausted, Op: op, Field: "Stock",
			Msg: "catalog item " + strconv.Quote(it.ID) + " is sold out (stock " + strconv.FormatInt(it.Stock, 10) + ")"}
	}
	if it.PerCustomer > 0 && bought >= it.PerCustomer {
		return &scrm.Error{Code: scrm.ErrExhausted, Op: op, Field: "PerCustomer",
			Msg: "the customer already has " + strconv.FormatInt(bought, 10) + " of catalog item " + strconv.Quote(it.ID) +
				" (limit " + strconv.FormatInt(it.PerCustomer, 10) + " per customer)"}
	}
	return nil
}

// lockedExchange finds the record of key and locks its item; the caller
// unlocks the item. Records change only under their item's lock (and the
// tenant's), so the record's fields read with the item locked are current
// until then; what they refer to in the tenant's arena is read with the
// tenant's mu held.
func (s *memoryStore) lockedExchange(op string, tenant scrm.TenantID, key string) (*mallTenant, *mallItem, *memExchange, int, error) {
	if mt := s.mall.tenant(tenant, false); mt != nil {
		mt.mu.RLock()
		var x *memExchange
		i := mt.find(key)
		var it *mallItem
		if i >= 0 {
			if x = mt.rec(i); x.state != 0 {
				it = mt.items[mt.arena.snaps[x.snap].item]
			}
		}
		mt.mu.RUnlock()
		if it != nil {
			it.mu.Lock()
			return mt, it, x, i, nil // records are never moved or removed
		}
	}
	return nil, nil, nil, -1, scrm.Errorf(scrm.ErrNotFound, op, "no exchange under key %q", key)
}

// copyOut returns a copy of the stored record x.
func (mt *mallTenant) copyOut(x *memExchange) ExchangeRecord {
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	return mt.arena.unpack(mt.tenant, x)
}

func (s *memoryStore) ClaimExchange(ctx context.Context, p ClaimExchangeParams) (ExchangeRecord, error) {
	const op = "member.MemoryStore.ClaimExchange"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ExchangeRecord{}, err
	}
	mt, it, x, _, err := s.lockedExchange(op, p.Tenant, p.Key)
	if err != nil {
		return ExchangeRecord{}, err
	}
	defer it.mu.Unlock()
	if exchangeStates[x.state] != ExchangePending {
		return mt.copyOut(x), nil
	}
	mt.mu.RLock()
	lease := mt.arena.time(x.lease)
	mt.mu.RUnlock()
	if lease.After(p.Now) {
		return ExchangeRecord{}, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "LeaseUntil",
			Msg: "exchange " + strconv.Quote(p.Key) + " is in progress until " + lease.Format("2006-01-02T15:04:05.000Z07:00")}
	}
	mt.mu.Lock()
	x.attempt++
	x.lease = mt.arena.putTime(p.Until)
	c := mt.arena.unpack(mt.tenant, x)
	mt.mu.Unlock()
	return c, nil
}

// settleable checks that the record x of key may move from pending to to
// under attempt; done is true when x is already there. Called with x's item
// locked.
func settleable(op, key string, x *memExchange, to ExchangeState, attempt int64) (done bool, err error) {
	switch st := exchangeStates[x.state]; {
	case st == to:
		return true, nil
	case st != ExchangePending:
		return false, scrm.Errorf(scrm.ErrConflict, op, "exchange %q is %s", key, st)
	case x.attempt != attempt:
		return false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "Attempt",
			Msg: "exchange " + strconv.Quote(key) + " was taken over (attempt " + strconv.FormatInt(x.attempt, 10) + ", not " + strconv.FormatInt(attempt, 10) + ")"}
	}
	return false, nil
}

func (s *memoryStore) CompleteExchange(ctx context.Context, p SettleExchangeParams) (ExchangeRecord, error) {
	var r ExchangeRecord
	err := s.complete(ctx, p, &r, nil)
	return r, err
}

// completeExchange is CompleteExchange for the service, which holds the
// record as charged or claimed under p.Attempt: instead of a copy of the
// whole record, it returns the fields a completion can have changed
// (exchangeCompleter).
func (s *memoryStore) completeExchange(ctx context.Context, p SettleExchangeParams) (exchangeSettled, error) {
	var st exchangeSettled
	err := s.complete(ctx, p, nil, &st)
	return st, err
}

// complete completes an exchange and copies it out: all of it to r, or
// when r is nil, the fields exchangeSettled has to st.
func (s *memoryStore) complete(ctx context.Context, p SettleExchangeParams, r *ExchangeRecord, st *exchangeSettled) error {
	const op = "member.MemoryStore.CompleteExchange"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return err
	}
	mt, it, x, slot, err := s.lockedExchange(op, p.Tenant, p.Key)
	if err != nil {
		return err
	}
	defer it.mu.Unlock()
	done, err := settleable(op, p.Key, x, ExchangeDone, p.Attempt)
	if err == nil && !done {
		mt.mu.Lock()
		x.state, x.settled = stateNum(ExchangeDone), mt.arena.putTime(p.At)
		delete(mt.pending, slot)
		mt.mu.Unlock()
	}
	switch {
	case r != nil:
		*r = mt.copyOut(x)
	case err == nil:
		var t ExchangeRecord
		mt.mu.RLock()
		mt.arena.settle(x, &t)
		mt.mu.RUnlock()
		*st = exchangeSettled{State: t.State, Balance: t.Balance, Attempt: t.Attempt, LeaseUntil: t.LeaseUntil, CreatedAt: t.CreatedAt, SettledAt: t.SettledAt}
	}
	return err
}

func (s *memoryStore) RefundExchange(ctx context.Context, p SettleExchangeParams, fn func(tx *ExchangeTx) error) (RefundExchangeResult, error) {
	const op = "member.MemoryStore.RefundExchange"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return RefundExchangeResult{}, err
	}
	mt, it, x, slot, err := s.lockedExchange(op, p.Tenant, p.Key)
	if err != nil {
		return RefundExchangeResult{}, err
	}
	defer it.mu.Unlock()
	done, err := settleable(op, p.Key, x, ExchangeRefunded, p.Attempt)
	if err != nil {
		return RefundExchangeResult{}, err
	}
	r := mt.copyOut(x)
	if done {
		return RefundExchangeResult{Exchange: r}, nil
	}
	bought := it.bought[r.Customer]
	w := s.mall.tx()
	defer s.mall.put(w)
	tx, c := &w.tx, &w.rec
	tx.Item, tx.Bought = it.item.Clone(), bought
	out, _, err := s.Update(ctx, UpdateParams{Tenant: p.Tenant, Customer: r.Customer}, func(ltx *LedgerTx) error {
		*c = r.Clone()
		tx.Ledger, tx.Exchange = ltx, c
		if err := fn(tx); err != nil {
			return err
		}
		if tx.Exchange != c || c.Key != r.Key || c.Customer != r.Customer || c.Item != r.Item || c.Tenant != r.Tenant {
			return scrm.Invalid(op, "Exchange", "fn must not replace the record or change its key, customer or item")
		}
		return nil
	})
	if err != nil {
		return RefundExchangeResult{}, err
	}
	c.State, c.SettledAt, c.Reason = ExchangeRefunded, p.At, p.Reason
	c.Fingerprint, c.Attempt, c.LeaseUntil, c.CreatedAt = r.Fingerprint, r.Attempt, r.LeaseUntil, r.CreatedAt
	it.item.Sold--
	if bought <= 1 {
		delete(it.bought, r.Customer)
	} else {
		it.bought[r.Customer] = bought - 1
	}
	mt.mu.Lock()
	mt.arena.pack(x, c)
	delete(mt.pending, slot)
	mt.mu.Unlock()
	return RefundExchangeResult{Exchange: c.Clone(), Outcome: out, Changed: true}, nil
}

func (s *memoryStore) ExchangeByKey(ctx context.Context, tenant scrm.TenantID, key string) (ExchangeRecord, error) {
	const op = "member.MemoryStore.ExchangeByKey"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ExchangeRecord{}, err
	}
	if mt := s.mall.tenant(tenant, false); mt != nil {
		mt.mu.RLock()
		var c ExchangeRecord
		x := mt.record(key)
		if x != nil {
			c = mt.arena.unpack(mt.tenant, x)
		}
		mt.mu.RUnlock()
		if x != nil {
			return c, nil
		}
	}
	return ExchangeRecord{}, scrm.Errorf(scrm.ErrNotFound, op, "no exchange under key %q", key)
}

func (s *memoryStore) ListExchanges(ctx context.Context, p ListExchangesParams) (ExchangePage, error) {
	const op = "member.MemoryStore.ListExchanges"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ExchangePage{}, err
	}
	// The cursor is the number of the customer's exchanges, in the order
	// charged, that are still to list.
	end := -1
	if p.Cursor != "" {
		n, err := strconv.Atoi(p.Cursor)
		if err != nil || n <= 0 || strings.TrimSpace(p.Cursor) != p.Cursor {
			return ExchangePage{}, scrm.Invalid(op, "Cursor", "malformed cursor")
		}
		end = n
	}
	mt := s.mall.tenant(p.Tenant, false)
	if mt == nil {
		return ExchangePage{}, nil
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	recs := mt.byCustomer[p.Customer]
	if end < 0 || end > len(recs) {
		end = len(recs)
	}
	var page ExchangePage
	i := end - 1
	for ; i >= 0 && len(page.Exchanges) < limit; i-- {
		page.Exchanges = append(page.Exchanges, mt.arena.unpack(mt.tenant, mt.rec(recs[i])))
	}
	if i >= 0 {
		page.Next = strconv.Itoa(i + 1)
	}
	return page, nil
}

func (s *memoryStore) ListPendingExchanges(ctx context.Context, p ListPendingExchangesParams) ([]ExchangeRecord, error) {
	const op = "member.MemoryStore.ListPendingExchanges"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return nil, err
	}
	mt := s.mall.tenant(p.Tenant, false)
	if mt == nil {
		return nil, nil
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	mt.mu.RLock()
	var due []ExchangeRecord
	for i := range mt.pending {
		if r := mt.rec(i); !mt.arena.time(r.lease).After(p.Before) {
			due = append(due, mt.arena.unpack(mt.tenant, r))
		}
	}
	mt.mu.RUnlock()
	slices.SortFunc(due, func(a, b ExchangeRecord) int {
		if c := a.LeaseUntil.Compare(b.LeaseUntil); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return due[:min(len(due), limit):min(len(due), limit)], nil
}
