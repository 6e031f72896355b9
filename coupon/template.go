package coupon

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// Kind is what a coupon takes off.
type Kind string

// The kinds of coupon. In one order they apply in this order: gift, then cash
// and threshold, then percent (on what remains), then free shipping.
const (
	// KindCash takes Amount off the in-scope items (无门槛券, or with a
	// MinSpend).
	KindCash Kind = "cash"
	// KindThreshold takes Amount off when the in-scope items reach MinSpend
	// (满减); with Every, Amount off for each full MinSpend (每满减), at most
	// MaxTimes times.
	KindThreshold Kind = "threshold"
	// KindPercent makes the in-scope items cost Rate of their price (折扣券),
	// taking at most Cap off.
	KindPercent Kind = "percent"
	// KindFreeShipping takes the shipping fee off (包邮券), at most Cap.
	KindFreeShipping Kind = "free_shipping"
	// KindGift makes one unit of GiftSKU in the cart free (赠品券).
	KindGift Kind = "gift"
)

// phase orders the kinds for application.
func (k Kind) phase() int {
	switch k {
	case KindGift:
		return 0
	case KindCash, KindThreshold:
		return 1
	case KindPercent:
		return 2
	case KindFreeShipping:
		return 3
	}
	return 4
}

func (k Kind) valid() bool { return k.phase() < 4 }

// Scope says where a coupon can be used. Empty lists do not restrict.
//
// An item is in scope when Products and Categories are both empty, or its SKU
// is in Products, or its Category is in Categories; and in every case its SKU
// is not in ExcludeProducts. Stores and Channels, when set, must contain the
// cart's Store and Channel.
type Scope struct {
	Products        []string
	Categories      []string
	ExcludeProducts []string
	Stores          []string
	Channels        []string
}

func (s Scope) clone() Scope {
	return Scope{
		Products:        slices.Clone(s.Products),
		Categories:      slices.Clone(s.Categories),
		ExcludeProducts: slices.Clone(s.ExcludeProducts),
		Stores:          slices.Clone(s.Stores),
		Channels:        slices.Clone(s.Channels),
	}
}

// Validity says when coupons of a template can be used: either a fixed window
// [From, To) (From zero: from issue), or Days: the day of issue in the
// tenant's time zone counts as day 1 and the coupon is valid from the instant
// of issue through the end of local day Days (Days 1: until the day it was
// claimed ends, usually at midnight; where a daylight-saving gap swallows
// midnight, when the next day begins after the gap). Exactly one form must
// be set.
type Validity struct {
	From, To time.Time
	Days     int
}

// window returns the validity of a coupon issued at now in loc. Day Days
// ends where the next local date begins (scrm.DayStart), which is not
// always at midnight: a daylight-saving gap can swallow it.
func (v Validity) window(now time.Time, loc *time.Location) (from, to time.Time) {
	if v.Days > 0 {
		y, m, d := now.In(loc).Date()
		return now, scrm.DayStart(y, m, d+v.Days, loc)
	}
	from = v.From
	if from.IsZero() {
		from = now
	}
	return from, v.To
}

// Template describes a kind of coupon: what it takes off, where, when, and how
// many can be had. The field names are the contract; see each field.
//
// Templates are versioned: PutTemplate stores one only if its Version equals
// the stored one (0 for a new template). Once a template has issued a coupon,
// its terms (Kind, Amount, MinSpend, Every, MaxTimes, Rate, Cap, GiftSKU,
// MaxUnits) are frozen, so that coupons already in wallets keep the value
// they were claimed for; everything else (scope, limits, budget, stock,
// validity of coupons not yet issued) may change. A coupon's validity is fixed
// when it is issued.
type Template struct {
	Tenant   scrm.TenantID
	ID, Name string
	Kind     Kind
	// Amount is the amount off of cash and threshold coupons, in yuan.
	Amount decimal.Decimal
	// MinSpend is the least the in-scope items must add up to, before any
	// coupon, for the coupon to apply. Required for threshold coupons;
	// optional for the others.
	MinSpend decimal.Decimal
	// Every makes a threshold coupon take Amount off for each full MinSpend
	// (每满减) ...
	Every bool
	// ... at most MaxTimes times (0 = no cap).
	MaxTimes int
	// Rate is the fraction a percent coupon leaves to pay: 0.8 is 8折, 20%
	// off. It must be in (0, 1) with at most 4 decimal places.
	Rate decimal.Decimal
	// Cap is the most a percent or free-shipping coupon takes off (zero: no
	// cap).
	Cap decimal.Decimal
	// GiftSKU is the SKU one unit of which a gift coupon makes free. The SKU
	// must be in the cart; it need not be in Scope, which only decides what
	// counts towards MinSpend.
	GiftSKU string
	// MaxUnits limits the discount to this many in-scope units per order
	// (限购; 0 = all units): the most expensive units by unit price, ties in
	// cart order. MinSpend still counts every in-scope unit.
	MaxUnits int
	Scope    Scope
	Validity Validity
	// ClaimFrom and ClaimTo bound when customers may Claim (zero: no bound).
	// A fixed-window template also stops being claimable when its window has
	// ended. Issue by the system ignores the claim window.
	ClaimFrom, ClaimTo time.Time
	// Stock is how many coupons the template may issue in all (0 =
	// unlimited).
	Stock int64
	// PerCustomer is how many coupons one customer may hold in all, whatever
	// became of them (0 = unlimited).
	PerCustomer int
	// PerCustomerPerDay is how many coupons one customer may get per local
	// day in the tenant's time zone (0 = unlimited).
	PerCustomerPerDay int
	// Budget is the most discount all redemptions together may give (zero =
	// unlimited). A coupon whose discount would overrun it is rejected with
	// ReasonBudget, not applied in part.
	Budget decimal.Decimal
	// Audience, when set, is who may Claim: a condition on the customer's
	// profile, evaluated at the time of the claim.
	Audience *rule.Condition
	// RecheckAudience makes Quote and Lock evaluate Audience again when the
	// coupon is used (a members-only coupon stops working when membership
	// lapses): coupons failing it are rejected with ReasonAudience.
	RecheckAudience bool
	// Exclusive coupons cannot be combined with any other coupon.
	Exclusive bool
	// StackGroup: at most one coupon of a group per order. Empty means the
	// Kind, so by default one coupon of each kind can be combined.
	StackGroup string
	// Price is the sale price of a paid voucher (zero = free). Customers
	// cannot Claim a paid voucher for free: sell it in the host's checkout
	// and Issue it, or sell single-use codes (GenerateCodes) and let
	// customers ClaimCode. A shared code, which anyone may enter, cannot
	// claim it (see PutSharedCode).
	Price decimal.Decimal
	// Version is the stored version; 0 for a template not yet stored.
	Version int64
	// CreatedAt and UpdatedAt are set by the service.
	CreatedAt, UpdatedAt time.Time
}

// Group returns the template's stack group: StackGroup, or the Kind when
// StackGroup is empty.
func (t Template) Group() string {
	if t.StackGroup != "" {
		return t.StackGroup
	}
	return string(t.Kind)
}

// Clone returns a deep copy of t: a store keeps and returns copies, never
// memory a caller can change.
func (t Template) Clone() Template {
	t.Scope = t.Scope.clone()
	t.Audience = rule.ClonePtr(t.Audience)
	return t
}

// SameTerms reports whether t and u give the same value: equal Kind, Amount,
// MinSpend, Every, MaxTimes, Rate, Cap, GiftSKU and MaxUnits. Stores use it
// to refuse changing the terms of a template that has issued coupons.
func (t Template) SameTerms(u Template) bool {
	return t.Kind == u.Kind && t.Amount.Equal(u.Amount) && t.MinSpend.Equal(u.MinSpend) &&
		t.Every == u.Every && t.MaxTimes == u.MaxTimes && t.Rate.Equal(u.Rate) &&
		t.Cap.Equal(u.Cap) && t.GiftSKU == u.GiftSKU && t.MaxUnits == u.MaxUnits
}

// maxAmountFen bounds every amount the package accepts (template amounts,
// unit prices, shipping, cart totals): one hundred billion yuan, so that
// every sum of fen stays exact in 64-bit arithmetic.
const maxAmountFen int64 = 1e13

// MaxQuantity bounds a cart line's quantity.
const MaxQuantity = 1_000_000

// Limits of a template's lists and counts.
const (
	maxRateDecimals = 4
	maxDays         = 3660
	maxScopeEntries = 10_000
)

// Validate reports the first problem of t as an ErrInvalid error naming the
// field, e.g. `coupon template "t1": Rate: percent discount must be in (0, 1),
// got 1.5`. A nil error means PutTemplate accepts t (apart from Audience,
// which is compiled there).
func (t Template) Validate() error {
	op := "coupon template " + quote(t.ID)
	if err := scrm.CheckID(op, "Tenant", string(t.Tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "ID", t.ID); err != nil {
		return err
	}
	if len(t.Name) > 1000 {
		return scrm.Invalid(op, "Name", "longer than 1000 bytes")
	}
	if !t.Kind.valid() {
		return scrm.Invalid(op, "Kind", "unknown kind %q (want cash, threshold, percent, free_shipping or gift)", t.Kind)
	}
	for _, m := range []struct {
		field string
		v     decimal.Decimal
	}{{"Amount", t.Amount}, {"MinSpend", t.MinSpend}, {"Cap", t.Cap}, {"Budget", t.Budget}, {"Price", t.Price}} {
		if err := checkMoney(op, m.field, m.v); err != nil {
			return err
		}
	}
	if err := t.validateTerms(op); err != nil {
		return err
	}
	if t.MaxUnits < 0 {
		return scrm.Invalid(op, "MaxUnits", "must not be negative, got %d", t.MaxUnits)
	}
	if t.MaxUnits > 0 && (t.Kind == KindFreeShipping || t.Kind == KindGift) {
		return scrm.Invalid(op, "MaxUnits", "does not apply to %s coupons", t.Kind)
	}
	if err := t.Scope.validate(op); err != nil {
		return err
	}
	if err := t.validateTimes(op); err != nil {
		return err
	}
	switch {
	case t.Stock < 0:
		return scrm.Invalid(op, "Stock", "must not be negative, got %d", t.Stock)
	case t.PerCustomer < 0:
		return scrm.Invalid(op, "PerCustomer", "must not be negative, got %d", t.PerCustomer)
	case t.PerCustomerPerDay < 0:
		return scrm.Invalid(op, "PerCustomerPerDay", "must not be negative, got %d", t.PerCustomerPerDay)
	case len(t.StackGroup) > scrm.MaxIDLength:
		return scrm.Invalid(op, "StackGroup", "longer than %d bytes", scrm.MaxIDLength)
	case t.Exclusive && t.StackGroup != "":
		return scrm.Invalid(op, "StackGroup", "an exclusive coupon combines with nothing; leave StackGroup empty")
	case t.RecheckAudience && t.Audience == nil:
		return scrm.Invalid(op, "RecheckAudience", "set without an Audience")
	}
	return nil
}

func (t Template) validateTerms(op string) error {
	notFor := func(field string) error {
		return scrm.Invalid(op, field, "does not apply to %s coupons; leave it zero", t.Kind)
	}
	if t.Kind != KindCash && t.Kind != KindThreshold && !t.Amount.IsZero() {
		return notFor("Amount")
	}
	if t.Kind != KindThreshold {
		if t.Every {
			return notFor("Every")
		}
		if t.MaxTimes != 0 {
			return notFor("MaxTimes")
		}
	}
	if t.Kind != KindPercent && !t.Rate.IsZero() {
		return notFor("Rate")
	}
	if t.Kind != KindPercent && t.Kind != KindFreeShipping && !t.Cap.IsZero() {
		return notFor("Cap")
	}
	if t.Kind != KindGift && t.GiftSKU != "" {
		return notFor("GiftSKU")
	}
	switch t.Kind {
	case KindCash:
		if !t.Amount.IsPositive() {
			return scrm.Invalid(op, "Amount", "cash coupon needs a positive amount, got %s", t.Amount)
		}
	case KindThreshold:
		switch {
		case !t.Amount.IsPositive():
			return scrm.Invalid(op, "Amount", "threshold coupon needs a positive amount, got %s", t.Amount)
		case !t.MinSpend.IsPositive():
			return scrm.Invalid(op, "MinSpend", "threshold coupon needs a positive minimum spend, got %s", t.MinSpend)
		case !t.Every && t.MinSpend.LessThanOrEqual(t.Amount):
			return scrm.Invalid(op, "MinSpend", "must be more than Amount %s, got %s", t.Amount, t.MinSpend)
		case t.Every && t.Amount.GreaterThan(t.MinSpend):
			return scrm.Invalid(op, "Amount", "every-%s coupon cannot take off more than %s each time, got %s", t.MinSpend, t.MinSpend, t.Amount)
		case t.MaxTimes < 0:
			return scrm.Invalid(op, "MaxTimes", "must not be negative, got %d", t.MaxTimes)
		case t.MaxTimes > 0 && !t.Every:
			return scrm.Invalid(op, "MaxTimes", "only applies with Every")
		}
	case KindPercent:
		if !t.Rate.IsPositive() || !t.Rate.LessThan(decimal.NewFromInt(1)) {
			return scrm.Invalid(op, "Rate", "percent discount must be in (0, 1), got %s", t.Rate)
		}
		if !t.Rate.Equal(t.Rate.Round(maxRateDecimals)) {
			return scrm.Invalid(op, "Rate", "at most %d decimal places, got %s", maxRateDecimals, t.Rate)
		}
	case KindGift:
		if err := scrm.CheckID(op, "GiftSKU", t.GiftSKU); err != nil {
			return err
		}
	}
	return nil
}

func (t Template) validateTimes(op string) error {
	v := t.Validity
	switch {
	case v.Days < 0:
		return scrm.Invalid(op, "Validity.Days", "must not be negative, got %d", v.Days)
	case v.Days > maxDays:
		return scrm.Invalid(op, "Validity.Days", "at most %d, got %d", maxDays, v.Days)
	case v.Days > 0 && (!v.From.IsZero() || !v.To.IsZero()):
		return scrm.Invalid(op, "Validity", "set either a window (From, To) or Days, not both")
	case v.Days == 0 && v.To.IsZero():
		return scrm.Invalid(op, "Validity", "set To (a fixed window) or Days (valid N days from claim)")
	case v.Days == 0 && !v.From.IsZero() && !v.To.After(v.From):
		return scrm.Invalid(op, "Validity.To", "window ends (%s) before it starts (%s)", v.To.Format(time.RFC3339), v.From.Format(time.RFC3339))
	case !t.ClaimFrom.IsZero() && !t.ClaimTo.IsZero() && !t.ClaimTo.After(t.ClaimFrom):
		return scrm.Invalid(op, "ClaimTo", "claim window ends (%s) before it starts (%s)", t.ClaimTo.Format(time.RFC3339), t.ClaimFrom.Format(time.RFC3339))
	}
	return nil
}

func (s Scope) validate(op string) error {
	for _, l := range []struct {
		field string
		v     []string
	}{{"Scope.Products", s.Products}, {"Scope.Categories", s.Categories}, {"Scope.ExcludeProducts", s.ExcludeProducts}, {"Scope.Stores", s.Stores}, {"Scope.Channels", s.Channels}} {
		if len(l.v) > maxScopeEntries {
			return scrm.Invalid(op, l.field, "more than %d entries", maxScopeEntries)
		}
		for i, x := range l.v {
			if err := scrm.CheckID(op, l.field+"["+itoa(i)+"]", x); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkMoney accepts zero or a positive amount of whole fen within
// maxAmountFen.
func checkMoney(op, field string, d decimal.Decimal) error {
	if d.IsNegative() {
		return scrm.Invalid(op, field, "must not be negative, got %s", d)
	}
	fen, ok := scrm.ToFen(d)
	if !ok {
		if !scrm.IsFen(d) {
			return scrm.Invalid(op, field, "at most 2 decimal places (fen), got %s", d)
		}
		return scrm.Invalid(op, field, "too large, got %s", d)
	}
	if fen > maxAmountFen {
		return scrm.Invalid(op, field, "at most %s, got %s", scrm.FromFen(maxAmountFen).StringFixed(2), d)
	}
	return nil
}
