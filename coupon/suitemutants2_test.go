package coupon_test

// The mutants of cmMutants beyond Refund: claims, codes, coupons, orders,
// templates and tenant isolation. Each embeds the memory store and
// overrides what it breaks; where the break is a lost update or a partial
// write the memory store cannot be made to do, the mutant keeps its effect
// beside the store (a stats overlay, a spent code) and reports it.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/scrm"
)

func cmConflict(op, field string) error {
	return &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: field, Msg: "mutant"}
}

// cmTenants remembers the tenants that stored templates, for the mutants
// that read across tenants.
type cmTenants struct {
	mu   sync.Mutex
	seen []scrm.TenantID
}

func (c *cmTenants) note(t scrm.TenantID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.seen, t) {
		c.seen = append(c.seen, t)
	}
}

// others returns the tenants seen other than t.
func (c *cmTenants) others(t scrm.TenantID) []scrm.TenantID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(c.seen), func(o scrm.TenantID) bool { return o == t })
}

// cmStats adds to the templates' counters what a mutant did beside the
// store (counted twice, leaked).
type cmStats struct {
	mu    sync.Mutex
	delta map[string]coupon.Stats // tenant + template → what to add
}

func (c *cmStats) add(tenant scrm.TenantID, template string, fn func(st *coupon.Stats)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.delta == nil {
		c.delta = map[string]coupon.Stats{}
	}
	k := string(tenant) + "\x00" + template
	st := c.delta[k]
	fn(&st)
	c.delta[k] = st
}

func (c *cmStats) apply(st coupon.Stats) coupon.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.delta[string(st.Tenant)+"\x00"+st.Template]
	if !ok {
		return st
	}
	st.Locked += d.Locked
	st.Redeemed += d.Redeemed
	st.Reserved = st.Reserved.Add(d.Reserved)
	st.Discount = st.Discount.Add(d.Discount)
	st.GMV = st.GMV.Add(d.GMV)
	return st
}

// ---- Claims ----

// cmClaimBatchPartial inserts a batch coupon by coupon and stops at the
// first coupon ID that exists, without rolling back those it inserted.
type cmClaimBatchPartial struct{ coupon.Store }

func (m *cmClaimBatchPartial) Claim(ctx context.Context, p coupon.ClaimParams) (coupon.ClaimResult, error) {
	if _, err := m.Store.ClaimByKey(ctx, p.Tenant, p.IdempotencyKey); err == nil || len(p.Coupons) < 2 {
		return m.Store.Claim(ctx, p)
	}
	for i, c := range p.Coupons {
		if _, err := m.Store.Coupon(ctx, p.Tenant, c.ID); err == nil {
			if i > 0 {
				q := p
				q.Coupons = p.Coupons[:i]
				_, _ = m.Store.Claim(ctx, q)
			}
			return coupon.ClaimResult{}, cmConflict("mutant.Claim", "Coupons")
		}
	}
	return m.Store.Claim(ctx, p)
}

// cmPerCustomer checks PerCustomer itself, counting the customer's coupons
// that count says count; the limit is kept beside the store.
type cmPerCustomer struct {
	coupon.Store
	count func(p coupon.ClaimParams, c coupon.Coupon) bool
	mu    sync.Mutex // held from the count to the insert
	limit map[string]int
}

func (m *cmPerCustomer) PutTemplate(ctx context.Context, t coupon.Template) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := t.PerCustomer
	t.PerCustomer = 0
	v, err := m.Store.PutTemplate(ctx, t)
	if err == nil {
		if m.limit == nil {
			m.limit = map[string]int{}
		}
		m.limit[string(t.Tenant)+"\x00"+t.ID] = limit
	}
	return v, err
}

func (m *cmPerCustomer) Template(ctx context.Context, tenant scrm.TenantID, id string) (coupon.Template, error) {
	t, err := m.Store.Template(ctx, tenant, id)
	m.mu.Lock()
	t.PerCustomer = m.limit[string(tenant)+"\x00"+id]
	m.mu.Unlock()
	return t, err
}

func (m *cmPerCustomer) Claim(ctx context.Context, p coupon.ClaimParams) (coupon.ClaimResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := m.limit[string(p.Tenant)+"\x00"+p.Template]
	if _, err := m.Store.ClaimByKey(ctx, p.Tenant, p.IdempotencyKey); err == nil || limit == 0 || ctx.Err() != nil {
		return m.Store.Claim(ctx, p)
	}
	n := 0
	for cur := ""; ; {
		page, err := m.Store.ListCoupons(ctx, coupon.ListCouponsParams{Tenant: p.Tenant, Customer: p.Customer, Cursor: cur, Limit: 1000})
		if err != nil {
			return coupon.ClaimResult{}, err
		}
		for _, c := range page.Coupons {
			if m.count(p, c) {
				n++
			}
		}
		if cur = page.Next; cur == "" {
			break
		}
	}
	if n+len(p.Coupons) > limit {
		return coupon.ClaimResult{}, &scrm.Error{Code: scrm.ErrExhausted, Op: "mutant.Claim", Field: "PerCustomer", Msg: "mutant"}
	}
	return m.Store.Claim(ctx, p)
}

// cmPerCustomerAnyTemplate counts all the customer's coupons against a
// template's PerCustomer (a count without the template in its WHERE).
func cmPerCustomerAnyTemplate() coupon.Store {
	return &cmPerCustomer{Store: coupon.NewMemoryStore(), count: func(coupon.ClaimParams, coupon.Coupon) bool { return true }}
}

// cmPerCustomerClaimedOnly counts only the template's coupons the
// customer claimed against PerCustomer, not those the system issued.
func cmPerCustomerClaimedOnly() coupon.Store {
	return &cmPerCustomer{Store: coupon.NewMemoryStore(), count: func(p coupon.ClaimParams, c coupon.Coupon) bool {
		return c.Template == p.Template && c.Claimed
	}}
}

// cmKeepsLimits updates a template without its limits (Stock, PerCustomer,
// PerCustomerPerDay, Budget): the UPDATE lists the other columns.
type cmKeepsLimits struct{ coupon.Store }

func (m *cmKeepsLimits) PutTemplate(ctx context.Context, t coupon.Template) (int64, error) {
	if t.Version > 0 {
		if cur, err := m.Store.Template(ctx, t.Tenant, t.ID); err == nil {
			t.Stock, t.PerCustomer, t.PerCustomerPerDay, t.Budget = cur.Stock, cur.PerCustomer, cur.PerCustomerPerDay, cur.Budget
		}
	}
	return m.Store.PutTemplate(ctx, t)
}

// cmClaimReplayNotMarked answers a replay without Replayed.
type cmClaimReplayNotMarked struct{ coupon.Store }

func (m *cmClaimReplayNotMarked) Claim(ctx context.Context, p coupon.ClaimParams) (coupon.ClaimResult, error) {
	res, err := m.Store.Claim(ctx, p)
	res.Replayed = false
	return res, err
}

// cmClaimReplayAnyFingerprint answers a key stored before as a replay
// whatever the fingerprint.
type cmClaimReplayAnyFingerprint struct{ coupon.Store }

func (m *cmClaimReplayAnyFingerprint) Claim(ctx context.Context, p coupon.ClaimParams) (coupon.ClaimResult, error) {
	res, err := m.Store.Claim(ctx, p)
	if errors.Is(err, scrm.ErrConflict) {
		if rec, rerr := m.Store.ClaimByKey(ctx, p.Tenant, p.IdempotencyKey); rerr == nil {
			return coupon.ClaimResult{Coupons: rec.Coupons, Replayed: true}, nil
		}
	}
	return res, err
}

// cmClaimKeyCheckThenAct looks the key up, then inserts: of concurrent
// first claims with one key, each is told it inserted its own coupons.
type cmClaimKeyCheckThenAct struct {
	coupon.Store
	ov mutants.Overlap // widens the read-to-write window
}

func (m *cmClaimKeyCheckThenAct) Claim(ctx context.Context, p coupon.ClaimParams) (coupon.ClaimResult, error) {
	_, seen := m.Store.ClaimByKey(ctx, p.Tenant, p.IdempotencyKey)
	m.ov.Wait()
	res, err := m.Store.Claim(ctx, p)
	if err == nil && res.Replayed && seen != nil {
		return coupon.ClaimResult{Coupons: p.Coupons}, nil
	}
	return res, err
}

// cmStockCheckThenAct reads the issued count, then inserts: concurrent
// claims oversell the stock. The stock is kept beside the store.
type cmStockCheckThenAct struct {
	ov mutants.Overlap // widens the read-to-write window
	coupon.Store
	mu    sync.Mutex
	stock map[string]int64
}

func (m *cmStockCheckThenAct) PutTemplate(ctx context.Context, t coupon.Template) (int64, error) {
	stock := t.Stock
	t.Stock = 0
	v, err := m.Store.PutTemplate(ctx, t)
	if err == nil {
		m.mu.Lock()
		if m.stock == nil {
			m.stock = map[string]int64{}
		}
		m.stock[string(t.Tenant)+"\x00"+t.ID] = stock
		m.mu.Unlock()
	}
	return v, err
}

func (m *cmStockCheckThenAct) Template(ctx context.Context, tenant scrm.TenantID, id string) (coupon.Template, error) {
	t, err := m.Store.Template(ctx, tenant, id)
	m.mu.Lock()
	t.Stock = m.stock[string(tenant)+"\x00"+id]
	m.mu.Unlock()
	return t, err
}

func (m *cmStockCheckThenAct) Claim(ctx context.Context, p coupon.ClaimParams) (coupon.ClaimResult, error) {
	m.mu.Lock()
	stock := m.stock[string(p.Tenant)+"\x00"+p.Template]
	m.mu.Unlock()
	if _, err := m.Store.ClaimByKey(ctx, p.Tenant, p.IdempotencyKey); err != nil && stock > 0 {
		st, err := m.Store.Stats(ctx, p.Tenant, p.Template)
		if err == nil && st.Issued+int64(len(p.Coupons)) > stock {
			return coupon.ClaimResult{}, &scrm.Error{Code: scrm.ErrExhausted, Op: "mutant.Claim", Field: "Stock", Msg: "mutant"}
		}
		m.ov.Wait()
	}
	return m.Store.Claim(ctx, p)
}

// ---- Codes ----

// cmCodeSpentFirst marks a single-use code used before inserting the
// coupon, and keeps it so when the claim is refused.
type cmCodeSpentFirst struct {
	coupon.Store
	mu    sync.Mutex
	spent map[string]scrm.CustomerID // tenant + code → who spent it
}

func (m *cmCodeSpentFirst) Claim(ctx context.Context, p coupon.ClaimParams) (coupon.ClaimResult, error) {
	if p.Code == "" {
		return m.Store.Claim(ctx, p)
	}
	if _, err := m.Store.ClaimByKey(ctx, p.Tenant, p.IdempotencyKey); err == nil {
		return m.Store.Claim(ctx, p)
	}
	k := string(p.Tenant) + "\x00" + p.Code
	m.mu.Lock()
	_, spent := m.spent[k]
	m.mu.Unlock()
	if spent {
		return coupon.ClaimResult{}, cmConflict("mutant.Claim", "Code")
	}
	if c, err := m.Store.Code(ctx, p.Tenant, p.Code); err == nil && !c.Shared && c.Customer == "" && c.Template == p.Template {
		m.mu.Lock()
		if m.spent == nil {
			m.spent = map[string]scrm.CustomerID{}
		}
		m.spent[k] = p.Customer
		m.mu.Unlock()
	}
	return m.Store.Claim(ctx, p)
}

func (m *cmCodeSpentFirst) Code(ctx context.Context, tenant scrm.TenantID, code string) (coupon.Code, error) {
	c, err := m.Store.Code(ctx, tenant, code)
	m.mu.Lock()
	who, spent := m.spent[string(tenant)+"\x00"+code]
	m.mu.Unlock()
	if err == nil && spent && c.Customer == "" {
		c.Customer, c.Uses = who, c.Uses+1
	}
	return c, err
}

// ---- Coupons ----

// cmRevokeAgainRestamps revokes a revoked coupon again, stamping ClosedAt
// anew (an UPDATE ... WHERE state IN ('available', 'revoked')).
type cmRevokeAgainRestamps struct{ coupon.Store }

func (m *cmRevokeAgainRestamps) Revoke(ctx context.Context, p coupon.RevokeParams) (coupon.Coupon, error) {
	c, err := m.Store.Revoke(ctx, p)
	if err == nil {
		c.ClosedAt = p.Now
	}
	return c, err
}

// cmCouponsSorted returns Coupons in ID order, not in the order asked.
type cmCouponsSorted struct{ coupon.Store }

func (m *cmCouponsSorted) Coupons(ctx context.Context, tenant scrm.TenantID, ids []string) ([]coupon.Coupon, error) {
	cs, err := m.Store.Coupons(ctx, tenant, ids)
	slices.SortFunc(cs, func(a, b coupon.Coupon) int { return strings.Compare(a.ID, b.ID) })
	return cs, err
}

// cmListCursorInclusive lists from the cursor on, including it (ID >=
// cursor).
type cmListCursorInclusive struct{ coupon.Store }

func (m *cmListCursorInclusive) ListCoupons(ctx context.Context, p coupon.ListCouponsParams) (coupon.CouponPage, error) {
	if p.Cursor != "" {
		if c, err := m.Store.Coupon(ctx, p.Tenant, p.Cursor); err == nil {
			limit := p.Limit
			if limit <= 0 {
				limit = 100
			}
			p.Limit = limit - 1
			page, err := m.Store.ListCoupons(ctx, p)
			page.Coupons = append([]coupon.Coupon{c}, page.Coupons...)
			return page, err
		}
	}
	return m.Store.ListCoupons(ctx, p)
}

// cmExpireNoLimit expires every coupon due, whatever the limit.
type cmExpireNoLimit struct{ coupon.Store }

func (m *cmExpireNoLimit) Expire(ctx context.Context, p coupon.ExpireParams) ([]coupon.Coupon, error) {
	p.Limit = 0
	return m.Store.Expire(ctx, p)
}

// ---- Tenant isolation ----

// cmAcrossTenants is the base of the mutants that read or write across
// tenants: it remembers the tenants.
type cmAcrossTenants struct {
	coupon.Store
	tenants cmTenants
}

func (m *cmAcrossTenants) PutTemplate(ctx context.Context, t coupon.Template) (int64, error) {
	m.tenants.note(t.Tenant)
	return m.Store.PutTemplate(ctx, t)
}

// cmListCustomerAcrossTenants lists a customer's coupons by customer ID
// alone (an index on customer without the tenant).
type cmListCustomerAcrossTenants struct{ cmAcrossTenants }

func (m *cmListCustomerAcrossTenants) ListCoupons(ctx context.Context, p coupon.ListCouponsParams) (coupon.CouponPage, error) {
	page, err := m.Store.ListCoupons(ctx, p)
	if err != nil || p.Customer == "" {
		return page, err
	}
	for _, t := range m.tenants.others(p.Tenant) {
		q := p
		q.Tenant, q.Limit = t, 1000
		more, err := m.Store.ListCoupons(ctx, q)
		if err != nil {
			return coupon.CouponPage{}, err
		}
		page.Coupons = append(page.Coupons, more.Coupons...)
	}
	slices.SortStableFunc(page.Coupons, func(a, b coupon.Coupon) int { return strings.Compare(a.ID, b.ID) })
	return page, nil
}

// cmCouponsAcrossTenants finds coupons of other tenants by ID (a lookup by
// primary key without the tenant).
type cmCouponsAcrossTenants struct{ cmAcrossTenants }

func (m *cmCouponsAcrossTenants) find(ctx context.Context, tenant scrm.TenantID, id string) (coupon.Coupon, error) {
	c, err := m.Store.Coupon(ctx, tenant, id)
	if err == nil {
		return c, nil
	}
	for _, t := range m.tenants.others(tenant) {
		if c, oerr := m.Store.Coupon(ctx, t, id); oerr == nil {
			return c, nil
		}
	}
	return c, err
}

func (m *cmCouponsAcrossTenants) Coupon(ctx context.Context, tenant scrm.TenantID, id string) (coupon.Coupon, error) {
	return m.find(ctx, tenant, id)
}

func (m *cmCouponsAcrossTenants) Coupons(ctx context.Context, tenant scrm.TenantID, ids []string) ([]coupon.Coupon, error) {
	if err := ctx.Err(); err != nil {
		return m.Store.Coupons(ctx, tenant, ids)
	}
	out := make([]coupon.Coupon, len(ids))
	for i, id := range ids {
		c, err := m.find(ctx, tenant, id)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// cmExpireAcrossTenants sweeps every tenant (an UPDATE without the tenant
// in its WHERE) and returns what it expired.
type cmExpireAcrossTenants struct{ cmAcrossTenants }

func (m *cmExpireAcrossTenants) Expire(ctx context.Context, p coupon.ExpireParams) ([]coupon.Coupon, error) {
	out, err := m.Store.Expire(ctx, p)
	if err != nil {
		return out, err
	}
	for _, t := range m.tenants.others(p.Tenant) {
		q := p
		q.Tenant = t
		more, err := m.Store.Expire(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// cmClaimByKeyAcrossTenants finds claim keys of other tenants.
type cmClaimByKeyAcrossTenants struct{ cmAcrossTenants }

func (m *cmClaimByKeyAcrossTenants) ClaimByKey(ctx context.Context, tenant scrm.TenantID, key string) (coupon.ClaimRecord, error) {
	rec, err := m.Store.ClaimByKey(ctx, tenant, key)
	if err == nil || ctx.Err() != nil {
		return rec, err
	}
	for _, t := range m.tenants.others(tenant) {
		if r, oerr := m.Store.ClaimByKey(ctx, t, key); oerr == nil {
			return r, nil
		}
	}
	return rec, err
}

// ---- Orders ----

// cmLockRefusalLeaks reserves each template's discount before it checks
// the coupons, and keeps the reservation when a coupon is refused.
type cmLockRefusalLeaks struct {
	coupon.Store
	stats cmStats
}

func (m *cmLockRefusalLeaks) Lock(ctx context.Context, p coupon.LockParams) (coupon.LockResult, error) {
	res, err := m.Store.Lock(ctx, p)
	if err != nil && ctx.Err() == nil && scrm.CodeOf(err) != scrm.ErrInvalid && !errors.Is(err, scrm.ErrExhausted) {
		if ex, oerr := m.Store.Order(ctx, p.Order.Tenant, p.Order.ID); oerr == nil && ex.IdempotencyKey == p.Order.IdempotencyKey {
			return res, err // a replay's conflict: nothing reserved
		}
		for _, ta := range p.Order.TemplateDiscounts() {
			m.stats.add(p.Order.Tenant, ta.Template, func(st *coupon.Stats) {
				st.Locked += int64(ta.Coupons)
				st.Reserved = st.Reserved.Add(ta.Discount)
			})
		}
	}
	return res, err
}

func (m *cmLockRefusalLeaks) Stats(ctx context.Context, tenant scrm.TenantID, template string) (coupon.Stats, error) {
	st, err := m.Store.Stats(ctx, tenant, template)
	return m.stats.apply(st), err
}

// cmLockReplayOnlyWhileLocked refuses a lock whose order is no longer
// locked before it looks at the key, so that a replay of a confirmed or
// released order's lock is refused rather than answered.
type cmLockReplayOnlyWhileLocked struct{ coupon.Store }

func (m *cmLockReplayOnlyWhileLocked) Lock(ctx context.Context, p coupon.LockParams) (coupon.LockResult, error) {
	if ex, err := m.Store.Order(ctx, p.Order.Tenant, p.Order.ID); err == nil && ex.IdempotencyKey == p.Order.IdempotencyKey && ex.State != coupon.OrderLocked {
		return coupon.LockResult{}, cmConflict("mutant.Lock", "Order.ID")
	}
	return m.Store.Lock(ctx, p)
}

// cmLockReplayNotMarked answers a lock replay without Replayed.
type cmLockReplayNotMarked struct{ coupon.Store }

func (m *cmLockReplayNotMarked) Lock(ctx context.Context, p coupon.LockParams) (coupon.LockResult, error) {
	res, err := m.Store.Lock(ctx, p)
	res.Replayed = false
	return res, err
}

// cmSettleCheckThenAct reads the order's state, then settles it: of
// concurrent confirms (or releases) of one locked order, each applies the
// settlement to the counters.
type cmSettleCheckThenAct struct {
	ov mutants.Overlap // widens the read-to-write window
	coupon.Store
	stats   cmStats
	release bool // Release is broken; else Confirm
	mu      sync.Mutex
	applied map[string]int // tenant + order → settlements applied
}

func (m *cmSettleCheckThenAct) settle(ctx context.Context, p coupon.OrderParams, fn func(context.Context, coupon.OrderParams) (coupon.Order, error)) (coupon.Order, error) {
	before, err := m.Store.Order(ctx, p.Tenant, p.OrderID)
	if err != nil || before.State != coupon.OrderLocked {
		return fn(ctx, p)
	}
	m.ov.Wait()
	o, err := fn(ctx, p)
	if err != nil {
		return o, err
	}
	k := string(p.Tenant) + "\x00" + p.OrderID
	m.mu.Lock()
	if m.applied == nil {
		m.applied = map[string]int{}
	}
	m.applied[k]++
	again := m.applied[k] > 1
	m.mu.Unlock()
	if again { // what this caller's write did on top of the first
		for _, ta := range before.TemplateDiscounts() {
			m.stats.add(p.Tenant, ta.Template, func(st *coupon.Stats) {
				st.Locked -= int64(ta.Coupons)
				st.Reserved = st.Reserved.Sub(ta.Discount)
				if !m.release {
					st.Redeemed += int64(ta.Coupons)
					st.Discount = st.Discount.Add(ta.Discount)
					st.GMV = st.GMV.Add(before.Quote.Payable)
				}
			})
		}
	}
	return o, nil
}

func (m *cmSettleCheckThenAct) Confirm(ctx context.Context, p coupon.OrderParams) (coupon.Order, error) {
	if m.release {
		return m.Store.Confirm(ctx, p)
	}
	return m.settle(ctx, p, m.Store.Confirm)
}

func (m *cmSettleCheckThenAct) Release(ctx context.Context, p coupon.OrderParams) (coupon.Order, error) {
	if !m.release {
		return m.Store.Release(ctx, p)
	}
	return m.settle(ctx, p, m.Store.Release)
}

func (m *cmSettleCheckThenAct) Stats(ctx context.Context, tenant scrm.TenantID, template string) (coupon.Stats, error) {
	st, err := m.Store.Stats(ctx, tenant, template)
	return m.stats.apply(st), err
}

// cmConfirmAgainRestamps confirms a confirmed order again: a new
// ConfirmedAt and Version.
type cmConfirmAgainRestamps struct{ coupon.Store }

func (m *cmConfirmAgainRestamps) Confirm(ctx context.Context, p coupon.OrderParams) (coupon.Order, error) {
	before, err := m.Store.Order(ctx, p.Tenant, p.OrderID)
	o, err2 := m.Store.Confirm(ctx, p)
	if err == nil && err2 == nil && before.State == coupon.OrderConfirmed {
		o.ConfirmedAt, o.Version = p.Now, o.Version+1
	}
	return o, err2
}

// cmReleaseConfirmed answers the release of a confirmed order as done.
type cmReleaseConfirmed struct{ coupon.Store }

func (m *cmReleaseConfirmed) Release(ctx context.Context, p coupon.OrderParams) (coupon.Order, error) {
	o, err := m.Store.Release(ctx, p)
	if errors.Is(err, scrm.ErrConflict) {
		return m.Store.Order(ctx, p.Tenant, p.OrderID)
	}
	return o, err
}

// ---- Templates ----

// cmPutTemplateCheckThenAct reads the stored version, compares, then
// writes: of concurrent puts of one version, every one succeeds.
type cmPutTemplateCheckThenAct struct {
	ov mutants.Overlap // widens the read-to-write window
	coupon.Store
	mu sync.Mutex // serializes the writes only
}

func (m *cmPutTemplateCheckThenAct) PutTemplate(ctx context.Context, t coupon.Template) (int64, error) {
	tv := m.Store.(coupon.TemplateVersioner)
	stored, err := tv.TemplateVersion(ctx, t.Tenant, t.ID)
	if err != nil && !errors.Is(err, scrm.ErrNotFound) {
		return 0, err
	}
	if t.Version != stored {
		return 0, cmConflict("mutant.PutTemplate", "Version")
	}
	m.ov.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	t.Version, _ = tv.TemplateVersion(ctx, t.Tenant, t.ID)
	return m.Store.PutTemplate(ctx, t)
}

// cmPutTemplateIgnoresVersion overwrites whatever version was read.
type cmPutTemplateIgnoresVersion struct{ coupon.Store }

func (m *cmPutTemplateIgnoresVersion) PutTemplate(ctx context.Context, t coupon.Template) (int64, error) {
	if v, err := m.Store.(coupon.TemplateVersioner).TemplateVersion(ctx, t.Tenant, t.ID); err == nil {
		t.Version = v
	}
	return m.Store.PutTemplate(ctx, t)
}
