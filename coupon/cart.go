package coupon

import (
	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Item is one line of a cart: scrm.OrderItem, so that the items of an
// order.paid event and of a cart are one type.
type Item = scrm.OrderItem

// Cart is what a customer is about to buy. Quote, Best and Lock price it.
type Cart struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	// OrderID identifies the order; required by Lock. Coupons locked to this
	// order are treated as available when quoting it again, and so is the
	// budget the order reserved for them.
	OrderID string
	// Store and Channel are checked against the coupons' Scope.Stores and
	// Scope.Channels.
	Store, Channel string
	Items          []Item
	// Shipping is the shipping fee, which only free-shipping coupons take
	// off.
	Shipping decimal.Decimal
}

// maxCartLines bounds the lines of one cart.
const maxCartLines = 10_000

// pricedCart is a validated cart in fen.
type pricedCart struct {
	price, qty, amount []int64
	subtotal, shipping int64
}

// priceCart validates c and converts it to fen. Errors match ErrInvalid and
// name the field: "Items", "Items[2].Price", "Shipping".
func priceCart(op string, c Cart) (*pricedCart, error) {
	if err := scrm.CheckID(op, "Tenant", string(c.Tenant)); err != nil {
		return nil, err
	}
	if err := scrm.CheckID(op, "Customer", string(c.Customer)); err != nil {
		return nil, err
	}
	if c.OrderID != "" {
		if err := scrm.CheckID(op, "OrderID", c.OrderID); err != nil {
			return nil, err
		}
	}
	if len(c.Items) == 0 {
		return nil, scrm.Invalid(op, "Items", "empty cart")
	}
	if len(c.Items) > maxCartLines {
		return nil, scrm.Invalid(op, "Items", "more than %d lines", maxCartLines)
	}
	if err := checkMoney(op, "Shipping", c.Shipping); err != nil {
		return nil, err
	}
	n := len(c.Items)
	buf := make([]int64, 3*n)
	pc := &pricedCart{price: buf[:n:n], qty: buf[n : 2*n : 2*n], amount: buf[2*n:]}
	pc.shipping, _ = scrm.ToFen(c.Shipping)
	for i, it := range c.Items {
		if err := checkItem(op, i, it); err != nil {
			return nil, err
		}
		p, _ := scrm.ToFen(it.Price)
		q := int64(it.Quantity)
		if p > 0 && q > maxAmountFen/p {
			return nil, scrm.Invalid(op, "Items["+itoa(i)+"]", "line total too large")
		}
		pc.price[i], pc.qty[i], pc.amount[i] = p, q, p*q
		pc.subtotal += p * q
		if pc.subtotal > maxAmountFen {
			return nil, scrm.Invalid(op, "Items", "cart total too large")
		}
	}
	return pc, nil
}

// checkItem validates one line; the field names are built only on error.
func checkItem(op string, i int, it Item) error {
	f := func(name string) string { return "Items[" + itoa(i) + "]." + name }
	if it.SKU == "" || len(it.SKU) > scrm.MaxIDLength || !scrm.ValidUTF8(it.SKU) {
		return scrm.CheckID(op, f("SKU"), it.SKU)
	}
	if len(it.Category) > scrm.MaxIDLength {
		return scrm.Invalid(op, f("Category"), "longer than %d bytes", scrm.MaxIDLength)
	}
	if fen, ok := scrm.ToFen(it.Price); !ok || fen < 0 || fen > maxAmountFen {
		return checkMoney(op, f("Price"), it.Price)
	}
	if it.Quantity <= 0 || it.Quantity > MaxQuantity {
		return scrm.Invalid(op, f("Quantity"), "must be in [1, %d], got %d", MaxQuantity, it.Quantity)
	}
	return nil
}
