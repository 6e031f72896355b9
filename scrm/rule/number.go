package rule

import (
	"cmp"
	"encoding/json"
	"math"
	"math/bits"
	"reflect"
	"strconv"

	"github.com/shopspring/decimal"
)

// Limits on numeric constants, so that hostile input ("1e9999") cannot make
// Compile build huge big.Ints. Far beyond any count, amount or score.
const (
	maxNumberText = 64
	maxNumberExp  = 40
)

// intForm says how a numeric constant compares with an int64.
type intForm uint8

const (
	intExact intForm = iota // the constant is the integer i
	intFrac                 // the constant lies strictly between i and i+1
	intAbove                // the constant is above every int64
	intBelow                // the constant is below every int64
)

// number is a numeric constant compiled into every form Eval needs, so that
// comparing it with an attribute never parses, allocates or does decimal
// arithmetic on the common paths.
type number struct {
	d    decimal.Decimal // exact value
	text string          // as written, for descriptions

	// fixed: d == coef * 10^exp with |coef| < 10^18.
	fixed bool
	coef  int64
	exp   int32

	iform intForm
	i     int64

	f   float64 // nearest float64
	f32 float32 // nearest float32, for float32 attributes
}

// newNumber compiles d; text is how it was written ("" to use d.String()).
// It reports a message when d is out of the supported range.
func newNumber(d decimal.Decimal, text string) (number, string) {
	if d.NumDigits() > maxNumberText || d.Exponent() > maxNumberExp || d.Exponent() < -maxNumberExp {
		return number{}, "number out of range"
	}
	if text == "" {
		text = d.String()
	}
	n := number{d: d, text: text}
	if d.NumDigits() <= 18 {
		n.fixed, n.coef, n.exp = true, d.CoefficientInt64(), d.Exponent()
	}
	fl := d.Floor()
	bi := fl.BigInt()
	switch {
	case !bi.IsInt64() && bi.Sign() > 0:
		n.iform = intAbove
	case !bi.IsInt64():
		n.iform = intBelow
	case fl.Equal(d):
		n.iform, n.i = intExact, bi.Int64()
	default:
		n.iform, n.i = intFrac, bi.Int64()
	}
	n.f, _ = d.Float64()
	n.f32 = float32(n.f)
	return n, ""
}

// parseNumber compiles a constant from a Go value: any integer or float
// kind, json.Number, decimal.Decimal, and (when strs) a numeric string.
// ok == false means v is not a number at all; msg != "" means it is one but
// unusable (NaN, out of range).
func parseNumber(v any, strs bool) (n number, ok bool, msg string) {
	switch x := v.(type) {
	case json.Number:
		return parseNumberText(string(x))
	case string:
		if !strs {
			return number{}, false, ""
		}
		n, ok, msg := parseNumberText(x)
		return n, ok, msg
	case decimal.Decimal:
		n, msg := newNumber(x, "")
		return n, true, msg
	case *decimal.Decimal:
		if x == nil {
			return number{}, false, ""
		}
		n, msg := newNumber(*x, "")
		return n, true, msg
	case float64:
		return floatNumber(x, 64)
	case float32:
		return floatNumber(float64(x), 32)
	case bool:
		return number{}, false, ""
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, msg := newNumber(decimal.NewFromInt(rv.Int()), "")
		return n, true, msg
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, msg := newNumber(decimal.NewFromUint64(rv.Uint()), "")
		return n, true, msg
	case reflect.Float32, reflect.Float64:
		return floatNumber(rv.Float(), 64)
	}
	return number{}, false, ""
}

func parseNumberText(s string) (number, bool, string) {
	if len(s) > maxNumberText {
		return number{}, true, "number too long"
	}
	d, err := decimal.NewFromString(s)
	switch {
	case err != nil && isJSONNumber(s):
		return number{}, true, "number out of range"
	case err != nil:
		return number{}, false, ""
	}
	n, msg := newNumber(d, s)
	return n, true, msg
}

func floatNumber(f float64, bitSize int) (number, bool, string) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return number{}, true, "number must be finite"
	}
	text := strconv.FormatFloat(f, 'g', -1, bitSize)
	d, err := decimal.NewFromString(text)
	if err != nil {
		return number{}, true, "number out of range"
	}
	n, msg := newNumber(d, text)
	return n, true, msg
}

// cmpNum compares an attribute value with a constant: -1, 0 or +1, and
// ok == false when v is not a number (or is NaN). Values of named numeric
// types (type Level int) compare by their kind. It does not allocate for
// any integer kind, float, json.Number in plain decimal notation, or a
// decimal.Decimal with at most 18 digits.
func cmpNum(v any, c *number) (int, bool) {
	switch x := v.(type) {
	case int:
		return cmpInt(int64(x), c), true
	case int64:
		return cmpInt(x, c), true
	case int32:
		return cmpInt(int64(x), c), true
	case int16:
		return cmpInt(int64(x), c), true
	case int8:
		return cmpInt(int64(x), c), true
	case uint:
		return cmpUint(uint64(x), c), true
	case uint64:
		return cmpUint(x, c), true
	case uint32:
		return cmpInt(int64(x), c), true
	case uint16:
		return cmpInt(int64(x), c), true
	case uint8:
		return cmpInt(int64(x), c), true
	case float64:
		if x != x {
			return 0, false
		}
		return cmp.Compare(x, c.f), true
	case float32:
		if x != x {
			return 0, false
		}
		return cmp.Compare(x, c.f32), true
	case json.Number:
		return cmpText(string(x), c)
	case decimal.Decimal:
		return cmpDec(x, c), true
	case *decimal.Decimal:
		if x == nil {
			return 0, false
		}
		return cmpDec(*x, c), true
	}
	return cmpKind(v, c)
}

// cmpKind compares a value of a named numeric type (type Level int) by its
// reflect kind. It is the slow path of cmpNum, taken only when v's type is
// none of the exact types above.
func cmpKind(v any, c *number) (int, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cmpInt(rv.Int(), c), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return cmpUint(rv.Uint(), c), true
	case reflect.Float64:
		f := rv.Float()
		if f != f {
			return 0, false
		}
		return cmp.Compare(f, c.f), true
	case reflect.Float32:
		f := float32(rv.Float())
		if f != f {
			return 0, false
		}
		return cmp.Compare(f, c.f32), true
	}
	return 0, false
}

func cmpInt(x int64, c *number) int {
	switch c.iform {
	case intExact:
		return cmp.Compare(x, c.i)
	case intFrac:
		if x <= c.i {
			return -1
		}
		return 1
	case intAbove:
		return -1
	}
	return 1
}

func cmpUint(x uint64, c *number) int {
	if x <= math.MaxInt64 {
		return cmpInt(int64(x), c)
	}
	if c.iform != intAbove {
		return 1
	}
	// Both beyond int64: rare enough to afford a big.Int.
	return decimal.NewFromUint64(x).Cmp(c.d)
}

// cmpDec compares a decimal with a constant without allocating when both
// fit the fixed form or share an exponent.
func cmpDec(x decimal.Decimal, c *number) int {
	if c.fixed && x.NumDigits() <= 18 {
		return cmpFixed(x.CoefficientInt64(), x.Exponent(), c.coef, c.exp)
	}
	return x.Cmp(c.d)
}

// cmpText compares a json.Number attribute. Plain decimal notation with at
// most 18 significant digits is parsed by hand, without allocating; other
// forms ("1.8e1", long fractions) are parsed exactly as decimals, which
// allocates.
func cmpText(s string, c *number) (int, bool) {
	if coef, exp, ok := parseFixed(s); ok && c.fixed {
		return cmpFixed(coef, exp, c.coef, c.exp), true
	}
	if len(s) > maxNumberText*4 {
		return 0, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0, false
	}
	return d.Cmp(c.d), true
}

// parseFixed parses "[-]digits[.digits]" with at most 18 significant
// digits into coef * 10^exp.
func parseFixed(s string) (coef int64, exp int32, ok bool) {
	i, neg := 0, false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, i = s[0] == '-', 1
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return 0, 0, false
	}
	frac := 0
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		frac = i - fs
		if frac == 0 || frac > 1000 {
			return 0, 0, false
		}
	}
	if i != len(s) {
		return 0, 0, false
	}
	sig := 0
	for j := start; j < len(s); j++ {
		c := s[j]
		if c == '.' || (sig == 0 && c == '0') {
			continue
		}
		if sig++; sig > 18 {
			return 0, 0, false
		}
		coef = coef*10 + int64(c-'0')
	}
	if neg {
		coef = -coef
	}
	return coef, int32(-frac), true
}

// cmpFixed compares a*10^ea with b*10^eb, where |a|, |b| < 10^18.
func cmpFixed(a int64, ea int32, b int64, eb int32) int {
	sa, sb := sign64(a), sign64(b)
	if sa != sb {
		return cmp.Compare(int64(sa), int64(sb))
	}
	if sa == 0 {
		return 0
	}
	ua, ub := uint64(a), uint64(b)
	if sa < 0 {
		ua, ub = uint64(-a), uint64(-b)
	}
	var r int
	switch diff := int64(ea) - int64(eb); {
	case diff == 0:
		r = cmp.Compare(ua, ub)
	case diff > 0:
		r = cmpScaled(ua, diff, ub)
	default:
		r = -cmpScaled(ub, -diff, ua)
	}
	return r * sa
}

// cmpScaled compares u*10^k with w, for u >= 1, k >= 1, w < 10^18.
func cmpScaled(u uint64, k int64, w uint64) int {
	if k > 18 {
		return 1 // u*10^k >= 10^19 > w
	}
	p := uint64(1)
	for ; k > 0; k-- {
		p *= 10
	}
	hi, lo := bits.Mul64(u, p)
	if hi != 0 {
		return 1
	}
	return cmp.Compare(lo, w)
}

func sign64(a int64) int {
	switch {
	case a < 0:
		return -1
	case a > 0:
		return 1
	}
	return 0
}
