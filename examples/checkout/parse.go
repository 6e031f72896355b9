package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

// errTooLarge marks a body over maxBody; the server answers 413.
var errTooLarge = errors.New("request body too large")

// decode reads one JSON object from the request body into v: at most
// maxBody bytes, no unknown fields, nothing after the object. Errors are
// ErrInvalid naming the field where the JSON says which, or errTooLarge.
func decode(w http.ResponseWriter, r *http.Request, op string, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return scrm.Errorf(scrm.ErrInvalid, op, "the Content-Type header must be application/json, got %q", ct)
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.More() || dec.Decode(&struct{}{}) != io.EOF {
			return scrm.Invalid(op, "", "the body must hold one JSON object")
		}
		return nil
	}
	var (
		tooLarge *http.MaxBytesError
		typ      *json.UnmarshalTypeError
		syntax   *json.SyntaxError
	)
	switch {
	case errors.As(err, &tooLarge):
		return fmt.Errorf("%w: the limit is %d bytes", errTooLarge, maxBody)
	case errors.As(err, &typ):
		what := "a " + typ.Value
		if typ.Value == "number" && typ.Type.Kind() == reflect.String {
			what = "a JSON number; money goes in a string, like \"58.00\""
		}
		// encoding/json names the field by its path without list indexes:
		// "items.price".
		return scrm.Invalid(op, typ.Field, "must be %s, got %s", typ.Type, what)
	case errors.As(err, &syntax):
		return scrm.Invalid(op, "", "malformed JSON at byte %d: %v", syntax.Offset, err)
	case errors.Is(err, io.EOF):
		return scrm.Invalid(op, "", "the body is empty; a JSON object is required")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for this one.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return scrm.Invalid(op, name, "unknown field")
	default:
		return scrm.Invalid(op, "", "malformed JSON: %v", err)
	}
}

// checkID checks a required identifier.
func checkID(op, name, id string) error {
	switch {
	case id == "":
		return scrm.Invalid(op, name, "required")
	case len(id) > maxIDLen:
		return scrm.Invalid(op, name, "longer than %d bytes", maxIDLen)
	}
	return scrm.CheckID(op, name, id)
}

// parseMoney parses an amount of yuan written as a decimal string: digits,
// optionally a point and one or two more digits. Signs, exponents and
// sub-fen digits are refused, as are amounts over maxPrice.
func parseMoney(op, name, s string) (decimal.Decimal, error) {
	whole, frac, dot := strings.Cut(s, ".")
	ok := whole != "" && len(whole) <= 10 && digits(whole) && (!dot || (len(frac) >= 1 && len(frac) <= 2 && digits(frac)))
	if !ok {
		return decimal.Decimal{}, scrm.Invalid(op, name, `must be a decimal string of yuan with at most 2 decimals, like "58.00", got %q`, s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, scrm.Invalid(op, name, "not a decimal: %v", err)
	}
	if limit := decimal.New(maxPrice, 0); d.GreaterThan(limit) {
		return decimal.Decimal{}, scrm.Invalid(op, name, "must be at most %s, got %s", yuan(limit), s)
	}
	return d, nil
}

// digits reports whether s is made of ASCII digits only.
func digits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// cartInput is a validated cartRequest.
type cartInput struct {
	cart    coupon.Cart
	best    bool     // choose the best combination from the wallet
	coupons []string // the coupons asked for, when !best
	points  int64
}

// parse validates the request and builds the cart of tenant. Errors are
// ErrInvalid naming the JSON field.
func (c cartRequest) parse(op string, tenant scrm.TenantID, needOrder bool) (cartInput, error) {
	in := cartInput{cart: coupon.Cart{Tenant: tenant, Customer: scrm.CustomerID(c.Customer), OrderID: c.OrderID,
		Store: c.Store, Channel: c.Channel}}
	if err := checkID(op, "customer", c.Customer); err != nil {
		return in, err
	}
	if needOrder || c.OrderID != "" {
		if err := checkID(op, "order_id", c.OrderID); err != nil {
			return in, err
		}
	}
	for _, f := range [...]struct{ name, v string }{{"store", c.Store}, {"channel", c.Channel}} {
		if len(f.v) > maxIDLen {
			return in, scrm.Invalid(op, f.name, "longer than %d bytes", maxIDLen)
		}
	}
	switch {
	case len(c.Items) == 0:
		return in, scrm.Invalid(op, "items", "required: at least one item")
	case len(c.Items) > maxItems:
		return in, scrm.Invalid(op, "items", "at most %d lines, got %d", maxItems, len(c.Items))
	}
	in.cart.Items = make([]coupon.Item, len(c.Items))
	for i, it := range c.Items {
		if err := checkID(op, field("items", i, "sku"), it.SKU); err != nil {
			return in, err
		}
		if len(it.Category) > maxIDLen {
			return in, scrm.Invalid(op, field("items", i, "category"), "longer than %d bytes", maxIDLen)
		}
		price, err := parseMoney(op, field("items", i, "price"), it.Price)
		if err != nil {
			return in, err
		}
		if it.Quantity < 1 || it.Quantity > maxQuantity {
			return in, scrm.Invalid(op, field("items", i, "quantity"), "must be in [1, %d], got %d", maxQuantity, it.Quantity)
		}
		in.cart.Items[i] = coupon.Item{SKU: it.SKU, Category: it.Category, Price: price, Quantity: it.Quantity}
	}
	in.cart.Shipping = decimal.Zero
	if c.Shipping != "" {
		s, err := parseMoney(op, "shipping", c.Shipping)
		if err != nil {
			return in, err
		}
		in.cart.Shipping = s
	}
	if c.Coupons == nil {
		in.best = true
	} else {
		if len(*c.Coupons) > maxCoupons {
			return in, scrm.Invalid(op, "coupons", "at most %d coupons, got %d", maxCoupons, len(*c.Coupons))
		}
		seen := make(map[string]bool, len(*c.Coupons))
		for i, id := range *c.Coupons {
			name := fmt.Sprintf("coupons[%d]", i)
			if err := checkID(op, name, id); err != nil {
				return in, err
			}
			if seen[id] {
				return in, scrm.Invalid(op, name, "coupon %q given twice", id)
			}
			seen[id] = true
		}
		in.coupons = append([]string{}, *c.Coupons...)
	}
	if c.Points < 0 {
		return in, scrm.Invalid(op, "points", "must not be negative, got %d", c.Points)
	}
	in.points = c.Points
	return in, nil
}

// fingerprint is the digest of what the customer asked for, for the
// checkout's idempotency record.
func (in cartInput) fingerprint() string {
	return scrm.Fingerprint(in.cart, in.best, in.coupons, in.points)
}

// paymentInput is a validated paymentRequest.
type paymentInput struct {
	orderID, paymentID, status string
	amount                     decimal.Decimal
}

func (p paymentRequest) parse(op string) (paymentInput, error) {
	in := paymentInput{orderID: p.OrderID, paymentID: p.PaymentID, status: p.Status, amount: decimal.Zero}
	if err := checkID(op, "order_id", p.OrderID); err != nil {
		return in, err
	}
	if err := checkID(op, "payment_id", p.PaymentID); err != nil {
		return in, err
	}
	switch p.Status {
	case paymentPaid:
		a, err := parseMoney(op, "amount", p.Amount)
		if err != nil {
			return in, err
		}
		in.amount = a
	case paymentFailed:
		if p.Amount != "" {
			if _, err := parseMoney(op, "amount", p.Amount); err != nil {
				return in, err
			}
		}
	default:
		return in, scrm.Invalid(op, "status", "must be %q or %q, got %q", paymentPaid, paymentFailed, p.Status)
	}
	return in, nil
}

// refundInput is a validated refundRequest.
type refundInput struct {
	orderID, key string
	lines        []coupon.RefundLine
}

func (r refundRequest) parse(op string) (refundInput, error) {
	in := refundInput{orderID: r.OrderID, key: r.IdempotencyKey}
	if err := checkID(op, "order_id", r.OrderID); err != nil {
		return in, err
	}
	if err := checkID(op, "idempotency_key", r.IdempotencyKey); err != nil {
		return in, err
	}
	if len(r.Lines) > maxItems {
		return in, scrm.Invalid(op, "lines", "at most %d lines, got %d", maxItems, len(r.Lines))
	}
	seen := make(map[int]bool, len(r.Lines))
	for i, l := range r.Lines {
		switch {
		case l.Line < 0 || l.Line >= maxItems:
			return in, scrm.Invalid(op, field("lines", i, "line"), "no line %d", l.Line)
		case seen[l.Line]:
			return in, scrm.Invalid(op, field("lines", i, "line"), "line %d given twice", l.Line)
		case l.Quantity < 0:
			return in, scrm.Invalid(op, field("lines", i, "quantity"), "must not be negative, got %d", l.Quantity)
		}
		seen[l.Line] = true
		in.lines = append(in.lines, coupon.RefundLine{Line: l.Line, Quantity: l.Quantity})
	}
	return in, nil
}
