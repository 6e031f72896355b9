package coupon

import (
	"errors"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// terms is a validated template compiled for pricing: amounts in fen, scope
// lists as sets, the audience as a Program. It is immutable once built and
// shared by concurrent quotes.
type terms struct {
	t        Template
	loc      *time.Location // the tenant's zone the terms were compiled in
	phase    int
	amount   int64
	minSpend int64
	capFen   int64
	budget   int64 // 0: unlimited
	// paidNum / rateDen is the fraction a percent coupon leaves to pay.
	paidNum  int64
	maxTimes int64
	maxUnits int64
	allItems bool
	products strset
	cats     strset
	exclude  strset
	stores   strset
	channels strset
	group    string
	audience *rule.Program
}

const rateDen = 10_000 // 10^maxRateDecimals

// compileTerms validates t and compiles it; loc is the tenant's time zone,
// for dates in the audience condition.
func compileTerms(t Template, loc *time.Location) (*terms, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	tm := &terms{
		t:        t,
		loc:      loc,
		phase:    t.Kind.phase(),
		amount:   fen(t.Amount),
		minSpend: fen(t.MinSpend),
		capFen:   fen(t.Cap),
		budget:   fen(t.Budget),
		maxTimes: int64(t.MaxTimes),
		maxUnits: int64(t.MaxUnits),
		allItems: len(t.Scope.Products) == 0 && len(t.Scope.Categories) == 0,
		products: newStrset(t.Scope.Products),
		cats:     newStrset(t.Scope.Categories),
		exclude:  newStrset(t.Scope.ExcludeProducts),
		stores:   newStrset(t.Scope.Stores),
		channels: newStrset(t.Scope.Channels),
		group:    t.Group(),
	}
	if t.Kind == KindPercent {
		tm.paidNum = t.Rate.Shift(maxRateDecimals).IntPart()
	}
	if t.Audience != nil {
		p, err := rule.Compile(*t.Audience, &rule.CompileOptions{Location: loc})
		if err != nil {
			field, msg := "", err.Error()
			var se *scrm.Error
			if errors.As(err, &se) {
				field, msg = se.Field, se.Msg
			}
			path := "Audience"
			if field != "" {
				path += "." + field
			}
			return nil, &scrm.Error{Code: scrm.ErrInvalid, Op: "coupon template " + quote(t.ID), Field: path, Msg: msg, Err: err}
		}
		tm.audience = p
	}
	return tm, nil
}

// inScope reports whether an item is in the coupon's item scope.
func (tm *terms) inScope(it *Item) bool {
	if tm.exclude.has(it.SKU) {
		return false
	}
	return tm.allItems || tm.products.has(it.SKU) || (it.Category != "" && tm.cats.has(it.Category))
}

// fen converts an amount already validated by checkMoney.
func fen(d decimal.Decimal) int64 {
	f, _ := scrm.ToFen(d)
	return f
}

// strset is a set of strings: a slice while small, a map when large.
type strset struct {
	small []string
	big   map[string]struct{}
}

// newStrset builds a set of xs. It copies xs: terms are cached and shared,
// and must not change when the template they were compiled from does.
func newStrset(xs []string) strset {
	if len(xs) <= 8 {
		return strset{small: slices.Clone(xs)}
	}
	m := make(map[string]struct{}, len(xs))
	for _, x := range xs {
		m[x] = struct{}{}
	}
	return strset{big: m}
}

func (s strset) empty() bool { return len(s.small) == 0 && len(s.big) == 0 }

func (s strset) has(x string) bool {
	if s.big != nil {
		_, ok := s.big[x]
		return ok
	}
	for _, y := range s.small {
		if y == x {
			return true
		}
	}
	return false
}
