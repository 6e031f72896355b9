package coupon

import (
	"context"
	"hash/maphash"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// NewMemoryStore returns an in-memory Store, safe for concurrent use: the
// default store, and what the benchmarks run on. It copies values in and out
// and keeps idempotency keys for as long as it lives.
//
// Each tenant has a read-write lock. Claims, the hot path of flash sales,
// share it for reading and lock only the shards of their key, customer and
// coupon IDs, taking stock with an atomic compare-and-swap, so claims on one
// template run in parallel. Everything that changes existing coupons or
// orders (Lock, Confirm, Release, Refund, Revoke, Expire), claims with codes
// and listings of a whole tenant lock it for writing.
func NewMemoryStore() Store {
	return &memoryStore{tenants: make(map[scrm.TenantID]*memTenant), seed: maphash.MakeSeed()}
}

type memoryStore struct {
	mu      sync.RWMutex
	tenants map[scrm.TenantID]*memTenant
	seed    maphash.Seed
}

var (
	_ Store             = (*memoryStore)(nil)
	_ TemplateVersioner = (*memoryStore)(nil)
)

// memShards is the number of claim shards per tenant.
const memShards = 64

type memTenant struct {
	mu        sync.RWMutex
	seed      maphash.Seed
	templates map[string]*memTemplate
	codes     map[string]*Code
	// codeClaims index the shared codes' claims: the first coupon each
	// customer got with each shared code.
	codeClaims map[codeClaim]string
	orders     map[string]*memOrder
	lockKeys   map[string]string // lock key → order ID
	// sorted holds every coupon ID in order for ListCoupons; IDs added
	// since the last listing wait in the shards' pending lists.
	sorted []string
	shards [memShards]memShard
}

// memShard holds the coupons whose ID hashes to it, the customers whose ID
// hashes to it (with their coupons) and the claim keys that hash to it.
type memShard struct {
	mu         sync.Mutex
	coupons    hindex[*Coupon]
	byCustomer hindex[[]*Coupon] // never empty slices
	claimKeys  hindex[*claimRecord]
	pending    []string
}

// codeClaim is a customer's claim with a shared code.
type codeClaim struct {
	code     string
	customer scrm.CustomerID
}

type memTemplate struct {
	t Template
	// stats, apart from Issued and Claimed, change with the tenant locked
	// for writing; issued and claimed are taken by claims holding it for
	// reading.
	stats           Stats
	issued, claimed atomic.Int64
}

func (tp *memTemplate) snapshot() Stats {
	st := tp.stats
	st.Issued, st.Claimed = tp.issued.Load(), tp.claimed.Load()
	return st
}

type claimRecord struct {
	key         string
	fingerprint string
	coupons     []Coupon  // the coupons inserted, stored here
	ptrs        []*Coupon // pointers into coupons
	one         [1]Coupon // storage when only one coupon is inserted
	onePtr      [1]*Coupon
}

type memOrder struct {
	o           Order
	fingerprint string
	refunds     map[string]refundRecord // by idempotency key
}

type refundRecord struct {
	fingerprint string
	refund      Refund
}

func (s *memoryStore) tenant(t scrm.TenantID, create bool) *memTenant {
	s.mu.RLock()
	mt := s.tenants[t]
	s.mu.RUnlock()
	if mt != nil || !create {
		return mt
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mt = s.tenants[t]; mt == nil {
		mt = &memTenant{
			seed:       s.seed,
			templates:  make(map[string]*memTemplate),
			codes:      make(map[string]*Code),
			codeClaims: make(map[codeClaim]string),
			orders:     make(map[string]*memOrder),
			lockKeys:   make(map[string]string),
		}
		for i := range mt.shards {
			sh := &mt.shards[i]
			sh.coupons = newHindex(couponKey)
			sh.byCustomer = newHindex(customerKey)
			sh.claimKeys = newHindex(recordKey)
		}
		s.tenants[t] = mt
	}
	return mt
}

// locked runs fn with the tenant locked for writing, creating the tenant
// when create is set; without it, a tenant never written to runs fn with nil.
// With the lock held for writing, fn may use every shard without locking it.
func (s *memoryStore) locked(t scrm.TenantID, create bool, fn func(mt *memTenant) error) error {
	mt := s.tenant(t, create)
	if mt == nil {
		return fn(nil)
	}
	mt.mu.Lock()
	defer mt.mu.Unlock()
	return fn(mt)
}

// rlocked runs fn with the tenant locked for reading: fn may read templates,
// codes, orders and the fields of existing coupons (which change only with
// the tenant locked for writing), and must lock a shard to use its maps.
func (s *memoryStore) rlocked(t scrm.TenantID, fn func(mt *memTenant) error) error {
	mt := s.tenant(t, false)
	if mt == nil {
		return fn(nil)
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	return fn(mt)
}

// hash returns the hash of a key (coupon ID, customer ID, claim key), which
// picks its shard and keys it in the shard's indexes.
func (mt *memTenant) hash(key string) uint64 { return maphash.String(mt.seed, key) }

func shardOf(h uint64) int { return int(h % memShards) }

func (mt *memTenant) shardOf(key string) int { return shardOf(mt.hash(key)) }

// coupon returns the coupon with an ID; the caller holds the tenant lock
// for writing, or for reading and the coupon's shard.
func (mt *memTenant) coupon(id string) *Coupon {
	if mt == nil {
		return nil
	}
	h := mt.hash(id)
	c, _, _ := mt.shards[shardOf(h)].coupons.get(h, id)
	return c
}

// readCoupon returns the coupon with an ID; the caller holds the tenant
// lock for reading.
func (mt *memTenant) readCoupon(id string) *Coupon {
	if mt == nil {
		return nil
	}
	h := mt.hash(id)
	sh := &mt.shards[shardOf(h)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c, _, _ := sh.coupons.get(h, id)
	return c
}

// eachCoupon calls fn for every coupon until it returns false; the caller
// holds the tenant lock for writing.
func (mt *memTenant) eachCoupon(fn func(*Coupon) bool) {
	for i := range mt.shards {
		if !mt.shards[i].coupons.each(fn) {
			return
		}
	}
}

func (s *memoryStore) PutTemplate(ctx context.Context, t Template) (int64, error) {
	const op = "coupon.MemoryStore.PutTemplate"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return 0, err
	}
	if err := scrm.CheckID(op, "Tenant", string(t.Tenant)); err != nil {
		return 0, err
	}
	if err := scrm.CheckID(op, "ID", t.ID); err != nil {
		return 0, err
	}
	c := t.Clone()
	var v int64
	err := s.locked(t.Tenant, true, func(mt *memTenant) error {
		cur := mt.templates[t.ID]
		var stored int64
		if cur != nil {
			stored = cur.t.Version
		}
		if err := scrm.CheckVersion(op, "template", t.ID, t.Version, stored); err != nil {
			return err
		}
		if cur != nil && cur.issued.Load() > 0 && !cur.t.SameTerms(t) {
			return scrm.Errorf(scrm.ErrConflict, op, "template %q has issued %d coupons: its terms cannot change; create a new template", t.ID, cur.issued.Load())
		}
		v = stored + 1
		c.Version = v
		if cur == nil {
			mt.templates[t.ID] = &memTemplate{t: c, stats: Stats{Tenant: t.Tenant, Template: t.ID}}
		} else {
			cur.t = c
		}
		return nil
	})
	return v, err
}

func (s *memoryStore) Template(ctx context.Context, tenant scrm.TenantID, id string) (Template, error) {
	const op = "coupon.MemoryStore.Template"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Template{}, err
	}
	var out Template
	err := s.rlocked(tenant, func(mt *memTenant) error {
		tp := mt.template(id)
		if tp == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "template %q", id)
		}
		out = tp.t.Clone()
		return nil
	})
	return out, err
}

func (s *memoryStore) TemplateVersion(ctx context.Context, tenant scrm.TenantID, id string) (int64, error) {
	const op = "coupon.MemoryStore.TemplateVersion"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return 0, err
	}
	var v int64
	err := s.rlocked(tenant, func(mt *memTenant) error {
		tp := mt.template(id)
		if tp == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "template %q", id)
		}
		v = tp.t.Version
		return nil
	})
	return v, err
}

func (mt *memTenant) template(id string) *memTemplate {
	if mt == nil {
		return nil
	}
	return mt.templates[id]
}

func (s *memoryStore) Stats(ctx context.Context, tenant scrm.TenantID, id string) (Stats, error) {
	const op = "coupon.MemoryStore.Stats"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Stats{}, err
	}
	var out Stats
	err := s.rlocked(tenant, func(mt *memTenant) error {
		tp := mt.template(id)
		if tp == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "template %q", id)
		}
		out = tp.snapshot()
		return nil
	})
	return out, err
}

func (s *memoryStore) Claim(ctx context.Context, p ClaimParams) (ClaimResult, error) {
	const op = "coupon.MemoryStore.Claim"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ClaimResult{}, err
	}
	if err := checkClaimParams(op, p); err != nil {
		return ClaimResult{}, err
	}
	// Allocate before taking any lock: allocation may assist the garbage
	// collector, which must not happen while other claims wait.
	n := len(p.Coupons)
	rec := &claimRecord{fingerprint: p.Fingerprint}
	if n == 1 { // the common case, in one allocation
		rec.one[0] = p.Coupons[0]
		rec.onePtr[0] = &rec.one[0]
		rec.coupons, rec.ptrs = rec.one[:], rec.onePtr[:]
	} else {
		rec.coupons, rec.ptrs = make([]Coupon, n), make([]*Coupon, n)
		copy(rec.coupons, p.Coupons)
		for i := range rec.coupons {
			rec.ptrs[i] = &rec.coupons[i]
		}
	}
	res := ClaimResult{Coupons: p.Coupons} // the caller's own values
	mt := s.tenant(p.Tenant, true)
	var err error
	if p.Code != "" || n > maxShardedClaim {
		// Codes are shared by all shards; large issues would lock many.
		mt.mu.Lock()
		err = mt.claim(op, p, rec, &res)
		mt.mu.Unlock()
	} else {
		mt.mu.RLock()
		var idx [maxShardedClaim + 2]int
		held := mt.lockShards(append(idx[:0], mt.shardOf(p.IdempotencyKey), mt.shardOf(string(p.Customer))), p.Coupons)
		err = mt.claim(op, p, rec, &res)
		for _, i := range held {
			mt.shards[i].mu.Unlock()
		}
		mt.mu.RUnlock()
	}
	if err != nil {
		return ClaimResult{}, err
	}
	return res, nil
}

// maxShardedClaim is the most coupons one claim inserts on the sharded path.
const maxShardedClaim = 4

// lockShards locks the shards in idx and those of the coupons' IDs, each
// once and in ascending order so that claims never deadlock, and returns
// them.
func (mt *memTenant) lockShards(idx []int, cs []Coupon) []int {
	for _, c := range cs {
		idx = append(idx, mt.shardOf(c.ID))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		mt.shards[i].mu.Lock()
	}
	return idx
}

// claim is Store.Claim with the locks held: the tenant's for writing, or for
// reading with the shards of the key, the customer and the coupon IDs.
func (mt *memTenant) claim(op string, p ClaimParams, rec *claimRecord, res *ClaimResult) error {
	kh := mt.hash(p.IdempotencyKey)
	keys := &mt.shards[shardOf(kh)]
	old, seen, keyTaken := keys.claimKeys.get(kh, p.IdempotencyKey)
	if seen {
		if err := scrm.CheckReplay(op, p.IdempotencyKey, old.fingerprint, p.Fingerprint); err != nil {
			return err
		}
		res.Coupons = make([]Coupon, len(old.ptrs))
		for i, c := range old.ptrs {
			res.Coupons[i] = *c
		}
		res.Replayed = true
		return nil
	}
	tp := mt.templates[p.Template]
	if tp == nil {
		return scrm.Errorf(scrm.ErrNotFound, op, "template %q", p.Template)
	}
	n := len(rec.ptrs)
	t := &tp.t
	ch := mt.hash(string(p.Customer))
	cust := &mt.shards[shardOf(ch)]
	held, _, custTaken := cust.byCustomer.get(ch, string(p.Customer))
	if t.PerCustomer > 0 || t.PerCustomerPerDay > 0 {
		// A customer holds few coupons: counting them beats keeping
		// counters.
		all, today := 0, 0
		for _, c := range held {
			if c.Template == p.Template {
				all++
				if !c.IssuedAt.Before(p.DayStart) && c.IssuedAt.Before(p.DayEnd) {
					today++
				}
			}
		}
		if t.PerCustomer > 0 && all+n > t.PerCustomer {
			return &scrm.Error{Code: scrm.ErrExhausted, Op: op, Field: "PerCustomer",
				Msg: "customer reached the limit of " + itoa(t.PerCustomer) + " per customer"}
		}
		if t.PerCustomerPerDay > 0 && today+n > t.PerCustomerPerDay {
			return &scrm.Error{Code: scrm.ErrExhausted, Op: op, Field: "PerCustomerPerDay",
				Msg: "customer reached the limit of " + itoa(t.PerCustomerPerDay) + " per day"}
		}
	}
	var code *Code
	if p.Code != "" {
		if code = mt.codes[p.Code]; code == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "no such code")
		}
		if code.Template != p.Template {
			return scrm.Invalid(op, "Code", "the code is of another template")
		}
		if !code.Shared && code.Customer != "" {
			return scrm.Errorf(scrm.ErrConflict, op, "the code was already used")
		}
		if code.Shared {
			if id, ok := mt.codeClaims[codeClaim{p.Code, p.Customer}]; ok {
				return &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "Code",
					Msg: "the customer already claimed coupon " + quote(id) + " with the shared code"}
			}
		}
	}
	if p.Claimed && t.Price.IsPositive() && (code == nil || code.Shared) {
		// Priced since the Service checked: only a single-use code proves
		// a purchase.
		return scrm.Errorf(scrm.ErrForbidden, op, "template %q is a paid voucher (%s): claiming it needs a single-use code", t.ID, t.Price.StringFixed(2))
	}
	// Hash each ID once; remember whether its slot is taken, for set. A
	// slot shared with an earlier coupon of this claim counts as taken.
	var idh [maxShardedClaim]uint64
	var idTaken [maxShardedClaim]bool
	for i, c := range rec.coupons {
		h := mt.hash(c.ID)
		_, exists, taken := mt.shards[shardOf(h)].coupons.get(h, c.ID)
		if exists || slices.ContainsFunc(rec.coupons[:i], func(x Coupon) bool { return x.ID == c.ID }) {
			return scrm.Errorf(scrm.ErrConflict, op, "coupon %q exists", c.ID)
		}
		if i < maxShardedClaim {
			idh[i], idTaken[i] = h, taken || slices.Contains(idh[:i], h)
		}
	}
	// Stock last: once taken, nothing can fail, so it is never given back
	// (a give-back could make a concurrent claim see the stock exhausted).
	for {
		cur := tp.issued.Load()
		if t.Stock > 0 && cur+int64(n) > t.Stock {
			return &scrm.Error{Code: scrm.ErrExhausted, Op: op, Field: "Stock", Msg: "template " + quote(t.ID) + " is out of stock"}
		}
		if tp.issued.CompareAndSwap(cur, cur+int64(n)) {
			break
		}
	}
	if p.Claimed {
		tp.claimed.Add(int64(n))
	}
	for i, c := range rec.ptrs {
		var h uint64
		var taken bool
		if i < maxShardedClaim {
			h, taken = idh[i], idTaken[i]
		} else { // large issues, on the exclusive path: look again
			h = mt.hash(c.ID)
			_, _, taken = mt.shards[shardOf(h)].coupons.get(h, c.ID)
		}
		sh := &mt.shards[shardOf(h)]
		sh.coupons.set(h, c.ID, c, taken)
		sh.pending = append(sh.pending, c.ID)
	}
	if held == nil {
		// A new customer shares the record's slice.
		cust.byCustomer.set(ch, string(p.Customer), rec.ptrs[:n:n], custTaken)
	} else {
		cust.byCustomer.set(ch, string(p.Customer), append(held, rec.ptrs...), custTaken)
	}
	if code != nil {
		code.Uses++
		if code.Shared {
			mt.codeClaims[codeClaim{p.Code, p.Customer}] = p.Coupons[0].ID
		} else {
			code.Customer, code.Coupon, code.UsedAt = p.Customer, p.Coupons[0].ID, p.Coupons[0].IssuedAt
		}
	}
	rec.key = p.IdempotencyKey
	keys.claimKeys.set(kh, p.IdempotencyKey, rec, keyTaken)
	return nil
}

func (s *memoryStore) ClaimByKey(ctx context.Context, tenant scrm.TenantID, key string) (ClaimRecord, error) {
	const op = "coupon.MemoryStore.ClaimByKey"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return ClaimRecord{}, err
	}
	var out ClaimRecord
	err := s.rlocked(tenant, func(mt *memTenant) error {
		var rec *claimRecord
		if mt != nil {
			h := mt.hash(key)
			sh := &mt.shards[shardOf(h)]
			sh.mu.Lock()
			rec, _, _ = sh.claimKeys.get(h, key)
			sh.mu.Unlock()
		}
		if rec == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "no claim with key %q", key)
		}
		out.Fingerprint = rec.fingerprint
		out.Coupons = make([]Coupon, len(rec.ptrs))
		for i, c := range rec.ptrs {
			out.Coupons[i] = *c
		}
		return nil
	})
	return out, err
}

func checkClaimParams(op string, p ClaimParams) error {
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "Template", p.Template); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "IdempotencyKey", p.IdempotencyKey); err != nil {
		return err
	}
	if len(p.Coupons) == 0 {
		return scrm.Invalid(op, "Coupons", "none to insert")
	}
	for i, c := range p.Coupons {
		if c.Tenant != p.Tenant || c.Template != p.Template || c.Customer != p.Customer {
			return scrm.Invalid(op, "Coupons["+itoa(i)+"]", "not of the params' tenant, template and customer")
		}
		if c.ID == "" || len(c.ID) > scrm.MaxIDLength || !scrm.ValidUTF8(c.ID) {
			return scrm.CheckID(op, "Coupons["+itoa(i)+"].ID", c.ID) // names the field only on error
		}
	}
	return nil
}

func (s *memoryStore) Coupon(ctx context.Context, tenant scrm.TenantID, id string) (Coupon, error) {
	const op = "coupon.MemoryStore.Coupon"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Coupon{}, err
	}
	var out Coupon
	err := s.rlocked(tenant, func(mt *memTenant) error {
		c := mt.readCoupon(id)
		if c == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "coupon %q", id)
		}
		out = *c
		return nil
	})
	return out, err
}

func (s *memoryStore) Coupons(ctx context.Context, tenant scrm.TenantID, ids []string) ([]Coupon, error) {
	const op = "coupon.MemoryStore.Coupons"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return nil, err
	}
	out := make([]Coupon, len(ids))
	err := s.rlocked(tenant, func(mt *memTenant) error {
		for i, id := range ids {
			c := mt.readCoupon(id)
			if c == nil {
				return scrm.Errorf(scrm.ErrNotFound, op, "coupon %q", id)
			}
			out[i] = *c
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *memoryStore) ListCoupons(ctx context.Context, p ListCouponsParams) (CouponPage, error) {
	const op = "coupon.MemoryStore.ListCoupons"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return CouponPage{}, err
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	match := func(c *Coupon) bool {
		return (p.Customer == "" || c.Customer == p.Customer) &&
			(p.Template == "" || c.Template == p.Template) &&
			(p.State == "" || c.State == p.State) &&
			(p.ValidToAfter.IsZero() || c.ValidTo.After(p.ValidToAfter)) &&
			(p.ValidToBefore.IsZero() || !c.ValidTo.After(p.ValidToBefore))
	}
	var page CouponPage
	add := func(c *Coupon) bool {
		if !match(c) {
			return true
		}
		if len(page.Coupons) == limit {
			page.Next = page.Coupons[limit-1].ID
			return false
		}
		page.Coupons = append(page.Coupons, *c)
		return true
	}
	if p.Customer != "" {
		err := s.rlocked(p.Tenant, func(mt *memTenant) error {
			if mt == nil {
				return nil
			}
			h := mt.hash(string(p.Customer))
			sh := &mt.shards[shardOf(h)]
			sh.mu.Lock()
			held, _, _ := sh.byCustomer.get(h, string(p.Customer))
			cs := slices.Clone(held)
			sh.mu.Unlock()
			slices.SortFunc(cs, func(a, b *Coupon) int { return strings.Compare(a.ID, b.ID) })
			page.Coupons = make([]Coupon, 0, min(len(cs), limit))
			for _, c := range cs {
				if c.ID > p.Cursor && !add(c) {
					break
				}
			}
			return nil
		})
		return page, err
	}
	err := s.locked(p.Tenant, false, func(mt *memTenant) error {
		if mt == nil {
			return nil
		}
		mt.mergePending()
		i := sort.SearchStrings(mt.sorted, p.Cursor)
		if i < len(mt.sorted) && mt.sorted[i] == p.Cursor {
			i++
		}
		for _, id := range mt.sorted[i:] {
			if !add(mt.coupon(id)) {
				break
			}
		}
		return nil
	})
	return page, err
}

// mergePending folds the IDs added since the last listing into the sorted
// index; the tenant is locked for writing.
func (mt *memTenant) mergePending() {
	var pending []string
	for i := range mt.shards {
		pending = append(pending, mt.shards[i].pending...)
		mt.shards[i].pending = mt.shards[i].pending[:0]
	}
	if len(pending) == 0 {
		return
	}
	slices.Sort(pending)
	merged := make([]string, 0, len(mt.sorted)+len(pending))
	i, j := 0, 0
	for i < len(mt.sorted) || j < len(pending) {
		if j == len(pending) || (i < len(mt.sorted) && mt.sorted[i] < pending[j]) {
			merged = append(merged, mt.sorted[i])
			i++
		} else {
			merged = append(merged, pending[j])
			j++
		}
	}
	mt.sorted = merged
}

func (s *memoryStore) Revoke(ctx context.Context, p RevokeParams) (Coupon, error) {
	const op = "coupon.MemoryStore.Revoke"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Coupon{}, err
	}
	var out Coupon
	err := s.locked(p.Tenant, false, func(mt *memTenant) error {
		c := mt.coupon(p.ID)
		if c == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "coupon %q", p.ID)
		}
		// An available coupon past its validity is expired, marked or not.
		switch st := c.StateAt(p.Now); st {
		case StateAvailable:
			c.State, c.ClosedAt = StateRevoked, p.Now
			if tp := mt.templates[c.Template]; tp != nil {
				tp.stats.Revoked++
			}
		case StateRevoked:
		default:
			return scrm.Errorf(scrm.ErrConflict, op, "coupon %q is %s", p.ID, st)
		}
		out = *c
		return nil
	})
	return out, err
}

func (s *memoryStore) Expire(ctx context.Context, p ExpireParams) ([]Coupon, error) {
	const op = "coupon.MemoryStore.Expire"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	var out []Coupon
	err := s.locked(p.Tenant, false, func(mt *memTenant) error {
		if mt == nil {
			return nil
		}
		mt.eachCoupon(func(c *Coupon) bool {
			if len(out) == limit {
				return false
			}
			if c.State != StateAvailable || c.ValidTo.After(p.Now) {
				return true
			}
			c.State, c.ClosedAt = StateExpired, p.Now
			if tp := mt.templates[c.Template]; tp != nil {
				tp.stats.Expired++
			}
			out = append(out, *c)
			return true
		})
		return nil
	})
	slices.SortFunc(out, func(a, b Coupon) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

func (s *memoryStore) PutCodes(ctx context.Context, tenant scrm.TenantID, codes []Code) error {
	const op = "coupon.MemoryStore.PutCodes"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return err
	}
	for i, c := range codes {
		if c.Tenant != tenant {
			return scrm.Invalid(op, "codes["+itoa(i)+"].Tenant", "want %q, got %q", tenant, c.Tenant)
		}
		if err := scrm.CheckID(op, "codes["+itoa(i)+"].Code", c.Code); err != nil {
			return err
		}
	}
	return s.locked(tenant, true, func(mt *memTenant) error {
		seen := make(map[string]struct{}, len(codes))
		for _, c := range codes {
			if _, dup := seen[c.Code]; dup || mt.codes[c.Code] != nil {
				return scrm.Errorf(scrm.ErrConflict, op, "code exists")
			}
			seen[c.Code] = struct{}{}
			if mt.templates[c.Template] == nil {
				return scrm.Errorf(scrm.ErrNotFound, op, "template %q", c.Template)
			}
		}
		for _, c := range codes {
			cp := new(Code)
			*cp = c
			mt.codes[c.Code] = cp
		}
		return nil
	})
}

func (s *memoryStore) Code(ctx context.Context, tenant scrm.TenantID, code string) (Code, error) {
	const op = "coupon.MemoryStore.Code"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Code{}, err
	}
	var out Code
	err := s.rlocked(tenant, func(mt *memTenant) error {
		if mt == nil || mt.codes[code] == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "no such code")
		}
		out = *mt.codes[code]
		return nil
	})
	return out, err
}

func (s *memoryStore) Lock(ctx context.Context, p LockParams) (LockResult, error) {
	const op = "coupon.MemoryStore.Lock"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return LockResult{}, err
	}
	o := p.Order
	for _, f := range []struct{ name, v string }{{"Order.Tenant", string(o.Tenant)}, {"Order.ID", o.ID},
		{"Order.Customer", string(o.Customer)}, {"Order.IdempotencyKey", o.IdempotencyKey}} {
		if err := scrm.CheckID(op, f.name, f.v); err != nil {
			return LockResult{}, err
		}
	}
	if len(o.Coupons) == 0 {
		return LockResult{}, scrm.Invalid(op, "Order.Coupons", "no coupons to lock")
	}
	for i, id := range o.Coupons {
		if slices.Contains(o.Coupons[:i], id) {
			return LockResult{}, scrm.Invalid(op, "Order.Coupons["+itoa(i)+"]", "coupon %q given twice", id)
		}
	}
	stored := o.Clone()
	stored.State = OrderLocked
	perTemplate := o.TemplateDiscounts()
	var res LockResult
	err := s.locked(o.Tenant, true, func(mt *memTenant) error {
		ex := mt.orders[o.ID]
		if ex != nil {
			if ex.o.IdempotencyKey == o.IdempotencyKey {
				if err := scrm.CheckReplay(op, o.IdempotencyKey, ex.fingerprint, p.Fingerprint); err != nil {
					return err
				}
				res = LockResult{Order: ex.o.Clone(), Replayed: true}
				return nil
			}
			if ex.o.State != OrderReleased {
				return scrm.Errorf(scrm.ErrConflict, op, "order %q is %s with other coupons", o.ID, ex.o.State)
			}
		}
		if other, ok := mt.lockKeys[o.IdempotencyKey]; ok {
			// Keys stay bound to the lock that used them: another order's,
			// or an earlier lock of this one that a new key superseded.
			msg := "key " + quote(o.IdempotencyKey) + " was used by another order"
			if other == o.ID {
				msg = "key " + quote(o.IdempotencyKey) + " was used by an earlier lock of order " + quote(o.ID)
			}
			return &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey", Msg: msg}
		}
		cs := make([]*Coupon, len(o.Coupons))
		for i, id := range o.Coupons {
			c := mt.coupon(id)
			if err := lockable(op, c, id, o.Customer, o.LockedAt); err != nil {
				return err
			}
			cs[i] = c
		}
		for _, ta := range perTemplate {
			tp := mt.templates[ta.Template]
			if tp == nil {
				return scrm.Errorf(scrm.ErrNotFound, op, "template %q", ta.Template)
			}
			if b := tp.t.Budget; b.IsPositive() && tp.stats.Discount.Add(tp.stats.Reserved).Add(ta.Discount).GreaterThan(b) {
				return &scrm.Error{Code: scrm.ErrExhausted, Op: op, Field: "Budget",
					Msg: "template " + quote(ta.Template) + " has not enough budget left"}
			}
		}
		for _, ta := range perTemplate {
			tp := mt.templates[ta.Template]
			tp.stats.Reserved = tp.stats.Reserved.Add(ta.Discount)
			tp.stats.Locked += int64(ta.Coupons)
		}
		for _, c := range cs {
			c.State, c.Order, c.LockedAt, c.Discount = StateLocked, o.ID, o.LockedAt, o.Discount(c.ID)
		}
		if ex != nil {
			stored.Version = ex.o.Version + 1
		} else {
			stored.Version = 1
		}
		mt.orders[o.ID] = &memOrder{o: stored, fingerprint: p.Fingerprint}
		mt.lockKeys[o.IdempotencyKey] = o.ID
		res = LockResult{Order: stored.Clone()}
		return nil
	})
	return res, err
}

// lockable checks that coupon c (nil when not found) can be locked.
func lockable(op string, c *Coupon, id string, customer scrm.CustomerID, now time.Time) error {
	switch {
	case c == nil:
		return scrm.Errorf(scrm.ErrNotFound, op, "coupon %q", id)
	case c.Customer != customer:
		return scrm.Errorf(scrm.ErrForbidden, op, "coupon %q belongs to another customer", id)
	case c.State == StateLocked:
		return scrm.Errorf(scrm.ErrConflict, op, "coupon %q is locked by order %q", id, c.Order)
	case c.State == StateRedeemed:
		return scrm.Errorf(scrm.ErrConflict, op, "coupon %q was used by order %q", id, c.Order)
	case c.State == StateRevoked:
		return scrm.Errorf(scrm.ErrConflict, op, "coupon %q was revoked", id)
	case c.State == StateExpired || !c.ValidAt(now):
		return scrm.Errorf(scrm.ErrExpired, op, "coupon %q is not valid at %s", id, now.Format(time.RFC3339))
	}
	return nil
}

func (s *memoryStore) Confirm(ctx context.Context, p OrderParams) (Order, error) {
	const op = "coupon.MemoryStore.Confirm"
	return s.transition(ctx, op, p, func(mt *memTenant, mo *memOrder) error {
		o := &mo.o
		switch o.State {
		case OrderConfirmed, OrderRefunded:
			return nil
		case OrderReleased:
			return scrm.Errorf(scrm.ErrConflict, op, "order %q was released", o.ID)
		}
		for _, id := range o.Coupons {
			c := mt.coupon(id)
			c.State, c.RedeemedAt = StateRedeemed, p.Now
		}
		for _, ta := range o.TemplateDiscounts() {
			if tp := mt.templates[ta.Template]; tp != nil {
				st := &tp.stats
				st.Locked -= int64(ta.Coupons)
				st.Redeemed += int64(ta.Coupons)
				st.Reserved = st.Reserved.Sub(ta.Discount)
				st.Discount = st.Discount.Add(ta.Discount)
				st.GMV = st.GMV.Add(o.Quote.Payable)
			}
		}
		o.State, o.ConfirmedAt = OrderConfirmed, p.Now
		o.Version++
		return nil
	})
}

func (s *memoryStore) Release(ctx context.Context, p OrderParams) (Order, error) {
	const op = "coupon.MemoryStore.Release"
	return s.transition(ctx, op, p, func(mt *memTenant, mo *memOrder) error {
		o := &mo.o
		switch o.State {
		case OrderReleased:
			return nil
		case OrderConfirmed, OrderRefunded:
			return scrm.Errorf(scrm.ErrConflict, op, "order %q is %s; refund it instead", o.ID, o.State)
		}
		for _, id := range o.Coupons {
			c := mt.coupon(id)
			c.State, c.Order, c.Discount, c.LockedAt = StateAvailable, "", decimal.Zero, time.Time{}
		}
		for _, ta := range o.TemplateDiscounts() {
			if tp := mt.templates[ta.Template]; tp != nil {
				tp.stats.Locked -= int64(ta.Coupons)
				tp.stats.Reserved = tp.stats.Reserved.Sub(ta.Discount)
			}
		}
		o.State, o.ReleasedAt = OrderReleased, p.Now
		o.Version++
		return nil
	})
}

func (s *memoryStore) transition(ctx context.Context, op string, p OrderParams, fn func(*memTenant, *memOrder) error) (Order, error) {
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Order{}, err
	}
	var out Order
	err := s.locked(p.Tenant, false, func(mt *memTenant) error {
		if mt == nil || mt.orders[p.OrderID] == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "order %q", p.OrderID)
		}
		mo := mt.orders[p.OrderID]
		if err := fn(mt, mo); err != nil {
			return err
		}
		out = mo.o.Clone()
		return nil
	})
	return out, err
}

func (s *memoryStore) Refund(ctx context.Context, p RefundParams) (RefundResult, error) {
	const op = "coupon.MemoryStore.Refund"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return RefundResult{}, err
	}
	var res RefundResult
	err := s.locked(p.Tenant, false, func(mt *memTenant) error {
		if mt == nil || mt.orders[p.OrderID] == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "order %q", p.OrderID)
		}
		mo := mt.orders[p.OrderID]
		o := &mo.o
		key := p.Refund.IdempotencyKey
		if key != "" {
			if rec, ok := mo.refunds[key]; ok {
				if err := scrm.CheckReplay(op, key, rec.fingerprint, p.Fingerprint); err != nil {
					return err
				}
				res = RefundResult{Refund: rec.refund.Clone(), Order: o.Clone(), Replayed: true}
				return nil
			}
		}
		if o.State != OrderConfirmed {
			return scrm.Errorf(scrm.ErrConflict, op, "order %q is %s, not confirmed", o.ID, o.State)
		}
		if err := scrm.CheckVersion(op, "order", o.ID, p.Version, o.Version); err != nil {
			return err
		}
		if len(p.Units) != len(o.Cart.Items) {
			return scrm.Invalid(op, "Units", "want %d lines, got %d", len(o.Cart.Items), len(p.Units))
		}
		r := p.Refund.Clone()
		r.Restored, r.Expired = nil, nil
		for _, ta := range p.Templates {
			if tp := mt.templates[ta.Template]; tp != nil {
				tp.stats.Discount = tp.stats.Discount.Sub(ta.Discount)
				tp.stats.GMV = tp.stats.GMV.Sub(ta.GMV)
			}
		}
		if r.Full {
			for _, id := range o.Coupons {
				c := mt.coupon(id)
				tp := mt.templates[c.Template]
				if tp != nil {
					tp.stats.Redeemed--
				}
				c.Order, c.Discount, c.LockedAt, c.RedeemedAt = "", decimal.Zero, time.Time{}, time.Time{}
				if p.Now.Before(c.ValidTo) {
					c.State = StateAvailable
					r.Restored = append(r.Restored, id)
				} else {
					c.State, c.ClosedAt = StateExpired, p.Now
					r.Expired = append(r.Expired, id)
					if tp != nil {
						tp.stats.Expired++
					}
				}
			}
			o.State = OrderRefunded
		}
		o.Refunded = slices.Clone(p.Units)
		o.Refunds = append(o.Refunds, r)
		o.RefundedAt = p.Now
		o.Version++
		if key != "" {
			if mo.refunds == nil {
				mo.refunds = make(map[string]refundRecord)
			}
			mo.refunds[key] = refundRecord{fingerprint: p.Fingerprint, refund: r.Clone()}
		}
		res = RefundResult{Refund: r.Clone(), Order: o.Clone()}
		return nil
	})
	return res, err
}

func (s *memoryStore) Order(ctx context.Context, tenant scrm.TenantID, id string) (Order, error) {
	const op = "coupon.MemoryStore.Order"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return Order{}, err
	}
	var out Order
	err := s.rlocked(tenant, func(mt *memTenant) error {
		if mt == nil || mt.orders[id] == nil {
			return scrm.Errorf(scrm.ErrNotFound, op, "order %q", id)
		}
		out = mt.orders[id].o.Clone()
		return nil
	})
	return out, err
}
