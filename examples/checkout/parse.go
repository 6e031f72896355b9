package main

import (
	"bytes"
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
// maxBody bytes, no unknown fields, no key given twice in an object or
// spelled with other cases than its field (see checkKeys), nothing after
// the object. Errors are ErrInvalid naming the field where the JSON says
// which, or errTooLarge.
func decode(w http.ResponseWriter, r *http.Request, op string, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return scrm.Errorf(scrm.ErrInvalid, op, "the Content-Type header must be application/json, got %q", ct)
		}
	}
	// The body is read whole, to check its keys after decoding it.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return fmt.Errorf("%w: the limit is %d bytes", errTooLarge, maxBody)
	case err != nil:
		return scrm.Invalid(op, "", "reading the body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if dec.More() || dec.Decode(&struct{}{}) != io.EOF {
			return scrm.Invalid(op, "", "the body must hold one JSON object")
		}
		keys := json.NewDecoder(bytes.NewReader(body))
		keys.UseNumber()
		return checkKeys(op, keys, reflect.TypeOf(v), "")
	}
	var (
		typ    *json.UnmarshalTypeError
		syntax *json.SyntaxError
	)
	switch {
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

// checkKeys reads the JSON value dec holds, which decoded into a value of
// type t, and refuses the keys encoding/json accepts although they are not
// exactly a field's name: it matches keys to fields ignoring case
// ("Customer" sets customer) and lets the last of a key given twice win,
// so {"customer":"alice","Customer":"bob"} would quote bob's order while a
// gateway or a log reading the body sees alice's. Errors are ErrInvalid
// naming the key as sent, as a JSON path.
func checkKeys(op string, dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return scrm.Invalid(op, path, "malformed JSON: %v", err)
	}
	switch tok {
	case json.Delim('{'):
		fields := jsonFields(t, nil)
		seen := make(map[string]bool)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return scrm.Invalid(op, path, "malformed JSON: %v", err)
			}
			key, _ := tok.(string)
			name := key
			if path != "" {
				name = path + "." + key
			}
			if seen[key] {
				return scrm.Invalid(op, name, "key %q given twice", key)
			}
			seen[key] = true
			ft, ok := fields[key]
			if !ok {
				for f := range fields {
					if strings.EqualFold(f, key) {
						return scrm.Invalid(op, name, "unknown field %q; field names are case sensitive: %q", key, f)
					}
				}
			}
			if err := checkKeys(op, dec, ft, name); err != nil {
				return err
			}
		}
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkKeys(op, dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	default:
		return nil // a scalar
	}
	_, err = dec.Token() // the closing '}' or ']'
	return err
}

// jsonFields adds the fields of struct type t (and of the structs it
// embeds) to fields, by their JSON names, and returns it; nil for a type
// that is not a struct.
func jsonFields(t reflect.Type, fields map[string]reflect.Type) map[string]reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return fields
	}
	if fields == nil {
		fields = make(map[string]reflect.Type, t.NumField())
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "":
			fields = jsonFields(f.Type, fields)
		case !f.IsExported():
		case name == "":
			fields[f.Name] = f.Type
		default:
			fields[name] = f.Type
		}
	}
	return fields
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
// sub-fen digits are refused, as are amounts over limit yuan (maxPrice for
// prices, maxTotal for what an order is paid).
func parseMoney(op, name, s string, limit int64) (decimal.Decimal, error) {
	whole, frac, dot := strings.Cut(s, ".")
	// 16 digits are more than any limit has: longer is refused unparsed.
	ok := whole != "" && len(whole) <= 16 && digits(whole) && (!dot || (len(frac) >= 1 && len(frac) <= 2 && digits(frac)))
	if !ok {
		return decimal.Decimal{}, scrm.Invalid(op, name, `must be a decimal string of yuan with at most 2 decimals, like "58.00", got %q`, s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, scrm.Invalid(op, name, "not a decimal: %v", err)
	}
	if most := decimal.New(limit, 0); d.GreaterThan(most) {
		return decimal.Decimal{}, scrm.Invalid(op, name, "must be at most %s, got %s", yuan(most), s)
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
		price, err := parseMoney(op, field("items", i, "price"), it.Price, maxPrice)
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
		s, err := parseMoney(op, "shipping", c.Shipping, maxPrice)
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
		a, err := parseMoney(op, "amount", p.Amount, maxTotal)
		if err != nil {
			return in, err
		}
		in.amount = a
	case paymentFailed:
		if p.Amount != "" {
			if _, err := parseMoney(op, "amount", p.Amount, maxTotal); err != nil {
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
	lines        []coupon.RefundLine // nil: everything not yet refunded
}

func (r refundRequest) parse(op string) (refundInput, error) {
	in := refundInput{orderID: r.OrderID, key: r.IdempotencyKey}
	if err := checkID(op, "order_id", r.OrderID); err != nil {
		return in, err
	}
	if err := checkID(op, "idempotency_key", r.IdempotencyKey); err != nil {
		return in, err
	}
	switch {
	case r.Lines != nil && len(r.Lines) == 0:
		// encoding/json leaves an absent (or null) list nil and makes []
		// an empty one: an empty selection is not "everything".
		return in, scrm.Invalid(op, "lines", "empty: list the lines to refund, or leave lines out to refund everything not yet refunded")
	case len(r.Lines) > maxItems:
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
