package coupon

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/scrmkit/scrmkit/scrm"
)

// MaxCodesPerCall bounds GenerateCodes' n.
const MaxCodesPerCall = 100_000

// GenerateCodes creates n single-use codes for a template and returns them
// formatted for people ("7KQ4-M9XD-F2HB"); see CodeAlphabet for the format.
// Generating codes does not take stock: each claim does, so codes beyond the
// stock fail with ErrExhausted when claimed. Errors: ErrInvalid (n outside
// [1, MaxCodesPerCall]); ErrNotFound (no such template).
func (s *Service) GenerateCodes(ctx context.Context, tenant scrm.TenantID, template string, n int) ([]string, error) {
	const op = "coupon.GenerateCodes"
	if err := checkIDs(op, "tenant", string(tenant), "template", template); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxCodesPerCall {
		return nil, scrm.Invalid(op, "n", "must be in [1, %d], got %d", MaxCodesPerCall, n)
	}
	if _, err := s.termsOf(ctx, op, tenant, template); err != nil {
		return nil, err
	}
	now := s.opts.Clock.Now()
	// A collision among 55-bit codes is all but impossible; should the store
	// report one, draw the whole batch again.
	var err error
	for range 3 {
		codes := make([]Code, 0, n)
		seen := make(map[string]struct{}, n)
		for len(codes) < n {
			c, rerr := newCode(s.opts.Random)
			if rerr != nil {
				return nil, scrm.Wrap(scrm.ErrUnavailable, op, rerr)
			}
			if _, dup := seen[c]; dup {
				continue
			}
			seen[c] = struct{}{}
			codes = append(codes, Code{Tenant: tenant, Code: c, Template: template, CreatedAt: now})
		}
		if err = s.store.PutCodes(ctx, tenant, codes); err == nil {
			out := make([]string, n)
			for i, c := range codes {
				out[i] = FormatCode(c.Code)
			}
			return out, nil
		}
		if !errors.Is(err, scrm.ErrConflict) {
			break
		}
	}
	return nil, scrm.Wrap(nil, op, err)
}

// PutSharedCode creates a shared code (口令) for a template: a word the
// merchant publishes, such as "SUMMER2026", that many customers may claim
// with, each at most once, within the template's stock and limits. Case,
// spaces and hyphens do not matter.
//
// A paid voucher (Template.Price above zero) cannot have one: a published
// word proves no purchase, so it would give the voucher away. Sell
// single-use codes (GenerateCodes) instead. Should the template get a price
// after its shared code was created, ClaimCode refuses the code with
// ErrForbidden.
//
// Errors: ErrInvalid (4 to 32 characters of A-Z and 0-9, and not shaped like
// a generated code; Field "Code"), or a paid template (Field "template");
// ErrNotFound (no such template); ErrConflict (the code exists).
func (s *Service) PutSharedCode(ctx context.Context, tenant scrm.TenantID, template, code string) (Code, error) {
	const op = "coupon.PutSharedCode"
	if err := checkIDs(op, "tenant", string(tenant), "template", template); err != nil {
		return Code{}, err
	}
	n := normalizeCode(code)
	if err := checkSharedCode(op, n); err != nil {
		return Code{}, err
	}
	tm, err := s.termsOf(ctx, op, tenant, template)
	if err != nil {
		return Code{}, err
	}
	if tm.t.Price.IsPositive() {
		return Code{}, scrm.Invalid(op, "template", "template %q is a paid voucher (%s): a shared code would give it away; sell single-use codes (GenerateCodes)",
			template, tm.t.Price.StringFixed(2))
	}
	c := Code{Tenant: tenant, Code: n, Template: template, Shared: true, CreatedAt: s.opts.Clock.Now()}
	if err := s.store.PutCodes(ctx, tenant, []Code{c}); err != nil {
		return Code{}, scrm.Wrap(nil, op, err)
	}
	return c, nil
}

// CodeRequest is a customer entering a code.
type CodeRequest struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	Code     string // as typed; case, spaces and hyphens do not matter
	Channel  string
	// IdempotencyKey is optional: by default a single-use code is its own
	// key and a shared code is keyed by code and customer, so entering a
	// code twice gets the same coupon. With a key of its own, a second
	// claim of the same code by the customer fails with ErrConflict: a key
	// never lets a customer claim a code twice.
	IdempotencyKey string
}

// ClaimCode gives the customer the coupon a code stands for. It claims as
// Claim does (audience, claim window, stock, limits), except that a paid
// voucher may be claimed with a single-use code: the code is the proof of
// purchase. A shared code proves nothing and claims no paid voucher.
//
// Wrong codes are rate-limited per customer (Options.CodeAttempts in a burst,
// then one per Options.CodeRefill), so codes cannot be guessed; past the
// limit every attempt fails with ErrExhausted until time refills it. Correct
// codes cost no attempt.
//
// Each customer gets at most one coupon per code: a shared code the customer
// already claimed with, like a single-use code already spent, is refused
// with ErrConflict unless the request replays the first claim's key.
//
// Errors: ErrInvalid (a malformed code or a mistyped character, caught by the
// check character); ErrNotFound (no such code); ErrConflict (a single-use
// code already spent, or a shared code the customer already claimed with);
// ErrExhausted (too many wrong codes, or stock and limits); ErrForbidden (a
// shared code of a paid voucher); and Claim's.
func (s *Service) ClaimCode(ctx context.Context, req CodeRequest) (Coupon, error) {
	const op = "coupon.ClaimCode"
	if err := checkIDs(op, "Tenant", string(req.Tenant), "Customer", string(req.Customer)); err != nil {
		return Coupon{}, err
	}
	if req.IdempotencyKey != "" {
		if err := scrm.CheckID(op, "IdempotencyKey", req.IdempotencyKey); err != nil {
			return Coupon{}, err
		}
	}
	if len(req.Channel) > scrm.MaxIDLength {
		return Coupon{}, scrm.Invalid(op, "Channel", "longer than %d bytes", scrm.MaxIDLength)
	}
	now := s.opts.Clock.Now()
	attempt, ok := s.codes.reserve(req.Tenant, req.Customer, now)
	if !ok {
		return Coupon{}, scrm.Errorf(scrm.ErrExhausted, op, "too many wrong codes; try again in %s", attempt.wait.Round(time.Second))
	}
	c, err := s.claimCode(ctx, op, req)
	if err == nil || !wrongCode(err) {
		attempt.cancel(now) // right codes, and failures not about the code, cost nothing
	}
	return c, err
}

func (s *Service) claimCode(ctx context.Context, op string, req CodeRequest) (Coupon, error) {
	n := normalizeCode(req.Code)
	if n == "" {
		return Coupon{}, scrm.Invalid(op, "Code", "required")
	}
	if looksGenerated(n) {
		if _, err := ParseCode(n); err != nil {
			return Coupon{}, scrm.Wrap(nil, op, err)
		}
	} else if len(n) > 32 {
		return Coupon{}, scrm.Invalid(op, "Code", "too long")
	}
	code, err := s.store.Code(ctx, req.Tenant, n)
	if err != nil {
		return Coupon{}, scrm.Wrap(nil, op, err)
	}
	key := req.IdempotencyKey
	if key == "" {
		if code.Shared {
			key = derivedKey("code", n, string(req.Customer))
		} else {
			key = derivedKey("code", n)
		}
	}
	if !code.Shared && code.Customer != "" && code.Customer != req.Customer {
		return Coupon{}, scrm.Errorf(scrm.ErrConflict, op, "the code was already used")
	}
	c, _, _, err := s.claim(ctx, claimArgs{
		op: op, tenant: req.Tenant, customer: req.Customer, template: code.Template,
		key: key, count: 1, claimed: true, source: "code", channel: req.Channel, code: n, shared: code.Shared,
		fingerprint: fingerprint("code", string(req.Tenant), string(req.Customer), n), single: true,
	})
	if err != nil {
		if !code.Shared && errors.Is(err, scrm.ErrConflict) {
			return Coupon{}, scrm.Errorf(scrm.ErrConflict, op, "the code was already used")
		}
		return Coupon{}, err
	}
	return c, nil
}

// wrongCode reports whether a ClaimCode error is about the code itself (it
// costs an attempt): malformed, unknown, or spent by another.
func wrongCode(err error) bool {
	if errors.Is(err, scrm.ErrNotFound) || errors.Is(err, scrm.ErrConflict) {
		return true
	}
	return errors.Is(err, scrm.ErrInvalid) && errField(err) == "Code"
}

// codeLimiter keeps a token bucket per customer for wrong codes.
type codeLimiter struct {
	mu    sync.Mutex
	m     map[limiterKey]*rate.Limiter
	every rate.Limit
	burst int
}

type limiterKey struct {
	tenant   scrm.TenantID
	customer scrm.CustomerID
}

// maxLimiters is the map size past which full buckets (customers with no
// recent wrong code, which behave like fresh ones) are dropped.
const maxLimiters = 10_000

type codeAttempt struct {
	r    *rate.Reservation
	wait time.Duration
}

func (a codeAttempt) cancel(now time.Time) { a.r.CancelAt(now) }

// reserve takes one attempt from the customer's bucket at now; ok is false
// when none is left (wait says how long until one is).
func (l *codeLimiter) reserve(tenant scrm.TenantID, customer scrm.CustomerID, now time.Time) (codeAttempt, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[limiterKey]*rate.Limiter)
	}
	k := limiterKey{tenant, customer}
	lim := l.m[k]
	if lim == nil {
		if len(l.m) >= maxLimiters {
			for kk, ll := range l.m {
				if ll.TokensAt(now) >= float64(l.burst) {
					delete(l.m, kk)
				}
			}
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.m[k] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return codeAttempt{wait: d}, false
	}
	return codeAttempt{r: r}, true
}
