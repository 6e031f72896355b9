package coupon

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Quote prices cart with the given coupons of the cart's customer at the
// Clock's now; see Evaluate for the rules, and Quote.Rejected for why a
// coupon does not apply (not_started, expired, min_spend with the
// Shortfall, out_of_scope, stacking, budget, locked, ...). Nothing is
// written. With no coupons it prices the cart alone.
//
// Errors: ErrInvalid (a malformed cart: empty, negative prices or
// quantities, sub-fen amounts); ErrNotFound (a coupon ID unknown in the
// tenant); ErrForbidden (a coupon of another customer).
func (s *Service) Quote(ctx context.Context, cart Cart, couponIDs []string) (Quote, error) {
	const op = "coupon.Quote"
	pc, err := priceCart(op, cart)
	if err != nil {
		return Quote{}, err
	}
	for i, id := range couponIDs {
		if err := scrm.CheckID(op, "couponIDs["+itoa(i)+"]", id); err != nil {
			return Quote{}, err
		}
	}
	now := s.opts.Clock.Now()
	var cs []Coupon
	if len(couponIDs) > 0 {
		if cs, err = s.store.Coupons(ctx, cart.Tenant, couponIDs); err != nil {
			return Quote{}, scrm.Wrap(nil, op, err)
		}
	}
	offers, err := s.offers(ctx, op, &cart, cs, now)
	if err != nil {
		return Quote{}, err
	}
	return evaluate(&cart, pc, offers, now), nil
}

// Best picks, from the customer's wallet, the combination of coupons that
// takes the most off cart under the stacking rules, and prices the cart with
// it (Quote.Applied lists the chosen coupons; Quote.Coupons gives their IDs
// for Lock). Ties prefer coupons that expire sooner, then fewer coupons. See
// Select for how the search stays fast with many coupons. Errors: as Quote.
func (s *Service) Best(ctx context.Context, cart Cart) (Quote, error) {
	const op = "coupon.Best"
	pc, err := priceCart(op, cart)
	if err != nil {
		return Quote{}, err
	}
	now := s.opts.Clock.Now()
	var usable []Coupon
	for cur := ""; ; {
		page, err := s.store.ListCoupons(ctx, ListCouponsParams{Tenant: cart.Tenant, Customer: cart.Customer, Cursor: cur, Limit: 1000})
		if err != nil {
			return Quote{}, scrm.Wrap(nil, op, err)
		}
		kept := page.Coupons[:0]
		for _, c := range page.Coupons {
			if c.ValidAt(now) && (c.State == StateAvailable || c.State == StateLocked && cart.OrderID != "" && c.Order == cart.OrderID) {
				kept = append(kept, c)
			}
		}
		if usable == nil {
			usable = kept
		} else {
			usable = append(usable, kept...)
		}
		if cur = page.Next; cur == "" {
			break
		}
	}
	offers, err := s.offers(ctx, op, &cart, usable, now)
	if err != nil {
		return Quote{}, err
	}
	chosen := selectBest(&cart, pc, offers, now, s.opts.BestNodes)
	return evaluate(&cart, pc, chosen, now), nil
}

// offers loads the templates, budgets and (when rechecked) audiences of
// coupons for pricing.
func (s *Service) offers(ctx context.Context, op string, cart *Cart, cs []Coupon, now time.Time) ([]*offer, error) {
	// Offers of one template share its terms, budget and audience; a
	// wallet holds few templates, so a slice beats a map.
	type tmplInfo struct {
		id   string
		tm   *terms
		left int64
		in   int8 // audience: 0 unknown, 1 in, -1 out
	}
	infos := make([]tmplInfo, 0, len(cs))
	offers := make([]offer, len(cs))
	out := make([]*offer, len(cs))
	// own is what the order being quoted again reserves per template,
	// loaded with the first template that has a budget.
	var own []TemplateAmount
	ownLoaded := cart.OrderID == ""
	for i, c := range cs {
		if c.Customer != cart.Customer {
			return nil, scrm.Errorf(scrm.ErrForbidden, op, "coupon %s belongs to another customer", c.ID)
		}
		var info *tmplInfo
		for k := range infos {
			if infos[k].id == c.Template {
				info = &infos[k]
				break
			}
		}
		if info == nil {
			tm, err := s.termsOf(ctx, op, cart.Tenant, c.Template)
			if err != nil {
				return nil, err
			}
			infos = append(infos, tmplInfo{id: c.Template, tm: tm})
			info = &infos[len(infos)-1]
			if tm.budget > 0 {
				st, err := s.store.Stats(ctx, cart.Tenant, c.Template)
				if err != nil {
					return nil, scrm.Wrap(nil, op, err)
				}
				if !ownLoaded {
					if own, err = s.ownReservation(ctx, op, cart); err != nil {
						return nil, err
					}
					ownLoaded = true
				}
				// Coupons locked to cart.OrderID are available to it, and
				// so is the budget it reserved for them.
				reserved := fen(st.Reserved)
				for _, ta := range own {
					if ta.Template == c.Template {
						reserved -= fen(ta.Discount)
					}
				}
				info.left = max(0, tm.budget-fen(st.Discount)-max(0, reserved))
			}
			if tm.t.RecheckAudience {
				ok, err := s.inAudience(ctx, tm, cart.Tenant, cart.Customer, now)
				if err != nil {
					return nil, err
				}
				info.in = -1
				if ok {
					info.in = 1
				}
			}
		}
		offers[i] = offer{c: c, tm: info.tm, budgetLeft: info.left, outOfAudience: info.in < 0}
		out[i] = &offers[i]
	}
	return out, nil
}

// ownReservation returns what the locked order cart.OrderID of the cart's
// customer reserves of each template's budget (nil when there is no such
// order, or it is not locked).
func (s *Service) ownReservation(ctx context.Context, op string, cart *Cart) ([]TemplateAmount, error) {
	o, err := s.store.Order(ctx, cart.Tenant, cart.OrderID)
	if errors.Is(err, scrm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, scrm.Wrap(nil, op, err)
	}
	if o.State != OrderLocked || o.Customer != cart.Customer {
		return nil, nil
	}
	return o.TemplateDiscounts(), nil
}

// LockRequest locks coupons to an order at checkout.
type LockRequest struct {
	Cart           Cart // Cart.OrderID is required
	Coupons        []string
	IdempotencyKey string // required
}

// Lock prices the cart with the coupons and locks them to Cart.OrderID: the
// try of try / confirm / cancel. A coupon locked to one order cannot be
// locked by another until Release; the templates' budgets are reserved.
// Every coupon must apply: call Quote or Best first to learn which do.
//
// The same key and request return the same order; another request with the
// key is ErrConflict. An order holds one lock; after Release it may be
// locked again with a new key (a key of an earlier lock of the order, or of
// another order, is ErrConflict).
//
// Errors: ErrInvalid (a malformed cart, no coupons, a coupon given twice,
// missing OrderID or key); ErrNotFound; ErrForbidden (another customer's
// coupon, or a coupon that does not apply: its Field names it and its message
// the reason); ErrExpired (outside validity); ErrConflict (locked by another
// order, redeemed, revoked; the order already locked); ErrExhausted (budget).
func (s *Service) Lock(ctx context.Context, req LockRequest) (Order, error) {
	const op = "coupon.Lock"
	cart := req.Cart
	pc, err := priceCart(op, cart)
	if err != nil {
		return Order{}, err
	}
	if err := checkIDs(op, "Cart.OrderID", cart.OrderID, "IdempotencyKey", req.IdempotencyKey); err != nil {
		return Order{}, err
	}
	if len(req.Coupons) == 0 {
		return Order{}, scrm.Invalid(op, "Coupons", "no coupons to lock")
	}
	for i, id := range req.Coupons {
		if err := scrm.CheckID(op, "Coupons["+itoa(i)+"]", id); err != nil {
			return Order{}, err
		}
		if slices.Contains(req.Coupons[:i], id) {
			return Order{}, scrm.Invalid(op, "Coupons["+itoa(i)+"]", "coupon %s given twice", id)
		}
	}
	fp := scrm.Fingerprint("lock", cart, req.Coupons)
	base := Order{Tenant: cart.Tenant, ID: cart.OrderID, Customer: cart.Customer, Coupons: req.Coupons,
		IdempotencyKey: req.IdempotencyKey}
	if ex, err := s.store.Order(ctx, cart.Tenant, cart.OrderID); err == nil && ex.IdempotencyKey == req.IdempotencyKey {
		// A replay (or a conflicting reuse of the key): the store answers
		// from the key before looking at anything else.
		res, err := s.store.Lock(ctx, LockParams{Order: base, Fingerprint: fp})
		return res.Order, scrm.Wrap(nil, op, err)
	}
	now := s.opts.Clock.Now()
	cs, err := s.store.Coupons(ctx, cart.Tenant, req.Coupons)
	if err != nil {
		return Order{}, scrm.Wrap(nil, op, err)
	}
	offers, err := s.offers(ctx, op, &cart, cs, now)
	if err != nil {
		return Order{}, err
	}
	q := evaluate(&cart, pc, offers, now)
	if len(q.Rejected) > 0 {
		r := q.Rejected[0]
		i := slices.Index(req.Coupons, r.Coupon)
		return Order{}, &scrm.Error{Code: rejectionCode(r.Reason), Op: op, Field: "Coupons[" + itoa(i) + "]",
			Msg: "coupon " + r.Coupon + ": " + string(r.Reason) + ": " + r.Message}
	}
	o := base
	o.State = OrderLocked
	o.Coupons = q.Coupons()
	o.Cart = cart
	o.Cart.Items = slices.Clone(cart.Items)
	o.Quote = q
	o.LockedAt = now
	res, err := s.store.Lock(ctx, LockParams{Order: o, Fingerprint: fp})
	if err != nil {
		return Order{}, scrm.Wrap(nil, op, err)
	}
	return res.Order, nil
}

// rejectionCode maps a rejection to the sentinel Lock reports it with.
func rejectionCode(r Reason) error {
	switch r {
	case ReasonExpired, ReasonNotStarted:
		return scrm.ErrExpired
	case ReasonLocked, ReasonRedeemed, ReasonRevoked:
		return scrm.ErrConflict
	case ReasonBudget:
		return scrm.ErrExhausted
	case ReasonDuplicate:
		return scrm.ErrInvalid
	}
	return scrm.ErrForbidden
}

// Confirm settles a locked order once it is paid: its coupons become
// redeemed, the reserved budget is spent, and the templates' stats count the
// redemption and the order's payable amount. It succeeds even when a
// coupon's validity ended while it was locked: the lock was taken in time.
// Confirming again returns the order unchanged (and publishes its
// EventRedeemed events again, with the same IDs). Errors: ErrNotFound;
// ErrConflict for a released order.
func (s *Service) Confirm(ctx context.Context, tenant scrm.TenantID, orderID string) (Order, error) {
	const op = "coupon.Confirm"
	if err := checkIDs(op, "tenant", string(tenant), "orderID", orderID); err != nil {
		return Order{}, err
	}
	o, err := s.store.Confirm(ctx, OrderParams{Tenant: tenant, OrderID: orderID, Now: s.opts.Clock.Now()})
	if err != nil {
		return Order{}, scrm.Wrap(nil, op, err)
	}
	if s.publish && o.State == OrderConfirmed {
		for _, a := range o.Quote.Applied {
			if err := s.emit(ctx, scrm.Event{ID: eventID(EventRedeemed, a.Coupon, o.ID), Tenant: tenant,
				Customer: o.Customer, Type: EventRedeemed, Time: o.ConfirmedAt, Amount: a.Discount,
				Props: map[string]any{"coupon": a.Coupon, "template": a.Template, "order_id": o.ID}}); err != nil {
				return o, err
			}
		}
	}
	return o, nil
}

// Release cancels a locked order (not paid, timed out): its coupons become
// available again and the reserved budget is returned. Releasing again
// returns the order unchanged. Errors: ErrNotFound; ErrConflict for a
// confirmed order (use Refund).
func (s *Service) Release(ctx context.Context, tenant scrm.TenantID, orderID string) (Order, error) {
	const op = "coupon.Release"
	if err := checkIDs(op, "tenant", string(tenant), "orderID", orderID); err != nil {
		return Order{}, err
	}
	o, err := s.store.Release(ctx, OrderParams{Tenant: tenant, OrderID: orderID, Now: s.opts.Clock.Now()})
	return o, scrm.Wrap(nil, op, err)
}

// Order returns an order as stored. Errors: ErrNotFound.
func (s *Service) Order(ctx context.Context, tenant scrm.TenantID, orderID string) (Order, error) {
	const op = "coupon.Order"
	if err := checkIDs(op, "tenant", string(tenant), "orderID", orderID); err != nil {
		return Order{}, err
	}
	o, err := s.store.Order(ctx, tenant, orderID)
	return o, scrm.Wrap(nil, op, err)
}
