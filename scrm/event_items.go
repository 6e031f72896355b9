package scrm

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"

	"github.com/shopspring/decimal"
)

// OrderItems returns the "items" property of an order event as hosts'
// events carry it: a []OrderItem, or a []*OrderItem (nil entries skipped),
// as built in Go; or, after the event was decoded from JSON (a queue
// between services, say), a []any or []map[string]any of objects whose keys
// are OrderItem's field names ("SKU", "Category", "Price", "Quantity") or
// the same in lower case ("sku", "category", "price", "quantity"); other
// keys are ignored. In such an object SKU and Category are strings. Price
// is a decimal.Decimal; a string or a json.Number (a decoder with
// UseNumber: exact) of digits with an optional sign and fraction and no
// exponent ("12.50"); an integer; or a float64, taken at its shortest
// decimal form (12.5 → "12.5": exact for any price a JSON encoder wrote
// with at most 15 significant digits). Quantity is an integer, or a
// json.Number or float64 holding one, within ±2^31. OrderItems returns
// nil when the prop is missing or nil. Anything else is an ErrInvalid
// error of op naming the field ("Props.items[2].Price"). Values are not
// checked beyond their form: the service that reads them checks prices
// and quantities.
func (e Event) OrderItems(op string) ([]OrderItem, error) {
	const field = "Props.items"
	switch v := e.Props["items"].(type) {
	case nil:
		return nil, nil
	case []OrderItem:
		return v, nil
	case []*OrderItem:
		out := make([]OrderItem, 0, len(v))
		for _, it := range v {
			if it != nil {
				out = append(out, *it)
			}
		}
		return out, nil
	case []map[string]any:
		out := make([]OrderItem, len(v))
		for i, m := range v {
			it, err := itemFromMap(op, field+"["+strconv.Itoa(i)+"]", m)
			if err != nil {
				return nil, err
			}
			out[i] = it
		}
		return out, nil
	case []any:
		out := make([]OrderItem, len(v))
		for i, x := range v {
			f := field + "[" + strconv.Itoa(i) + "]"
			switch y := x.(type) {
			case map[string]any:
				it, err := itemFromMap(op, f, y)
				if err != nil {
					return nil, err
				}
				out[i] = it
			case OrderItem:
				out[i] = y
			case *OrderItem:
				if y == nil {
					return nil, Invalid(op, f, "must be an order item, got nil")
				}
				out[i] = *y
			default:
				return nil, Invalid(op, f, "must be an order item (an object), got %T", x)
			}
		}
		return out, nil
	default:
		return nil, Invalid(op, field, "must be a list of order items, got %T", v)
	}
}

// Items returns the "items" property of an order event in any of the forms
// OrderItems accepts, or nil when it is missing or malformed. Services that
// must not lose a malformed list silently call OrderItems.
func (e Event) Items() []OrderItem {
	items, err := e.OrderItems("scrm.Event.Items")
	if err != nil {
		return nil
	}
	return items
}

// itemValue returns m[name], or m[lower] when m has no name key.
func itemValue(m map[string]any, name, lower string) (any, string, bool) {
	if v, ok := m[name]; ok {
		return v, name, true
	}
	v, ok := m[lower]
	return v, lower, ok
}

// itemFromMap decodes one order item from a JSON object (see OrderItems).
func itemFromMap(op, field string, m map[string]any) (OrderItem, error) {
	var it OrderItem
	for _, f := range [...]struct {
		name, lower string
		dst         *string
	}{{"SKU", "sku", &it.SKU}, {"Category", "category", &it.Category}} {
		v, key, ok := itemValue(m, f.name, f.lower)
		if !ok || v == nil {
			continue
		}
		s, isString := v.(string)
		if !isString {
			return OrderItem{}, Invalid(op, field+"."+key, "must be a string, got %T", v)
		}
		*f.dst = s
	}
	if v, key, ok := itemValue(m, "Price", "price"); ok && v != nil {
		p, err := itemPrice(v)
		if err != nil {
			return OrderItem{}, Invalid(op, field+"."+key, "%s, got %T %v", err, v, v)
		}
		it.Price = p
	}
	if v, key, ok := itemValue(m, "Quantity", "quantity"); ok && v != nil {
		q, err := itemQuantity(v)
		if err != nil {
			return OrderItem{}, Invalid(op, field+"."+key, "%s, got %T %v", err, v, v)
		}
		it.Quantity = q
	}
	return it, nil
}

// The reasons itemPrice and itemQuantity refuse a value.
const (
	badItemPrice    = "must be a decimal amount without an exponent (a string or a number)"
	badItemQuantity = "must be an integer within ±2^31"
)

// itemPrice decodes a price (see OrderItems).
func itemPrice(v any) (decimal.Decimal, error) {
	switch x := v.(type) {
	case decimal.Decimal:
		return x, nil
	case string:
		return decimalString(x)
	case json.Number:
		return decimalString(string(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return decimal.Decimal{}, errors.New(badItemPrice)
		}
		return decimalString(strconv.FormatFloat(x, 'f', -1, 64))
	case int:
		return decimal.NewFromInt(int64(x)), nil
	case int64:
		return decimal.NewFromInt(x), nil
	case int32:
		return decimal.NewFromInt(int64(x)), nil
	}
	return decimal.Decimal{}, errors.New(badItemPrice)
}

// decimalString parses a plain decimal amount: digits with an optional sign
// and fraction, no exponent (decimal.NewFromString accepts "1e400000000",
// whose expansion a later rounding would pay for).
func decimalString(s string) (decimal.Decimal, error) {
	digits := s
	if len(digits) > 0 && (digits[0] == '-' || digits[0] == '+') {
		digits = digits[1:]
	}
	seenDot, seenDigit := false, false
	for i := 0; i < len(digits); i++ {
		switch c := digits[i]; {
		case c >= '0' && c <= '9':
			seenDigit = true
		case c == '.' && !seenDot:
			seenDot = true
		default:
			return decimal.Decimal{}, errors.New(badItemPrice)
		}
	}
	if !seenDigit || len(digits) > 40 {
		return decimal.Decimal{}, errors.New(badItemPrice)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, errors.New(badItemPrice)
	}
	return d, nil
}

// itemQuantity decodes a quantity (see OrderItems).
func itemQuantity(v any) (int, error) {
	var f float64
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, errors.New(badItemQuantity)
		}
		return int(x), nil
	case int32:
		return int(x), nil
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 32)
		if err == nil {
			return int(n), nil
		}
		if f, err = strconv.ParseFloat(string(x), 64); err != nil {
			return 0, errors.New(badItemQuantity)
		}
	case float64:
		f = x
	default:
		return 0, errors.New(badItemQuantity)
	}
	if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, errors.New(badItemQuantity)
	}
	return int(f), nil
}
