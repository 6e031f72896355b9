package coupon

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// ClaimRequest is a customer claiming a coupon (领券).
type ClaimRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	Template       string
	IdempotencyKey string // required; a retry with the same key gets the same coupon
	Channel        string // where the customer claimed it, recorded on the coupon
}

// IssueRequest is the system issuing coupons to a customer (发券): a reward,
// a compensation, a purchase of a paid voucher.
type IssueRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	Template       string
	IdempotencyKey string // required
	Count          int    // how many; 0 means 1; at most MaxIssueCount
	Source         string // who issues: "sop:welcome", "purchase:o1"; default "issue"
	// CheckAudience applies the template's Audience, as Claim does.
	CheckAudience bool
}

// MaxIssueCount bounds IssueRequest.Count.
const MaxIssueCount = 100

// Claim gives the customer one coupon of the template, if the customer is
// in its Audience, the claim window is open, and stock and the per-customer
// and per-day limits allow (the day is the tenant's local day). The coupon's
// validity is fixed now: the template's window, or Days from now through the
// end of the last local day.
//
// The same IdempotencyKey with the same request returns the same coupon,
// even if the request would now be refused; with another request,
// ErrConflict.
//
// Errors: ErrInvalid (a missing field); ErrNotFound (no such template);
// ErrForbidden (not in the audience, or a paid voucher, which is sold and
// Issued instead); ErrExpired (outside the claim window, or the template's
// validity has ended); ErrExhausted with Field "Stock", "PerCustomer" or
// "PerCustomerPerDay".
func (s *Service) Claim(ctx context.Context, req ClaimRequest) (Coupon, error) {
	const op = "coupon.Claim"
	if err := checkIDs(op, "Tenant", string(req.Tenant), "Customer", string(req.Customer),
		"Template", req.Template, "IdempotencyKey", req.IdempotencyKey); err != nil {
		return Coupon{}, err
	}
	if len(req.Channel) > scrm.MaxIDLength {
		return Coupon{}, scrm.Invalid(op, "Channel", "longer than %d bytes", scrm.MaxIDLength)
	}
	c, _, _, err := s.claim(ctx, claimArgs{
		op: op, tenant: req.Tenant, customer: req.Customer, template: req.Template,
		key: req.IdempotencyKey, count: 1, claimed: true, source: "claim", channel: req.Channel,
		fingerprint: fingerprint("claim", string(req.Tenant), string(req.Customer), req.Template, req.Channel),
		single:      true,
	})
	return c, err
}

// Issue gives the customer Count coupons of the template, all or none,
// within stock and the per-customer and per-day limits; the audience is
// checked only with CheckAudience, and the claim window not at all. Replays
// and errors are as for Claim (ErrForbidden only with CheckAudience; a paid
// voucher may be issued).
func (s *Service) Issue(ctx context.Context, req IssueRequest) ([]Coupon, error) {
	const op = "coupon.Issue"
	if err := checkIDs(op, "Tenant", string(req.Tenant), "Customer", string(req.Customer),
		"Template", req.Template, "IdempotencyKey", req.IdempotencyKey); err != nil {
		return nil, err
	}
	if req.Count < 0 || req.Count > MaxIssueCount {
		return nil, scrm.Invalid(op, "Count", "must be in [0, %d], got %d", MaxIssueCount, req.Count)
	}
	if len(req.Source) > scrm.MaxIDLength {
		return nil, scrm.Invalid(op, "Source", "longer than %d bytes", scrm.MaxIDLength)
	}
	cs, _, err := s.issue(ctx, op, req, "")
	return cs, err
}

// issue issues req's coupons, recording fp as the idempotency fingerprint;
// "" means req's own (Issue's), so that a replay of one kind of request is
// never taken for another. replayed reports that the key had issued them
// before (see claim).
func (s *Service) issue(ctx context.Context, op string, req IssueRequest, fp string) (cs []Coupon, replayed bool, err error) {
	req = req.normalized()
	if fp == "" {
		fp = req.fingerprint()
	}
	_, cs, replayed, err = s.claim(ctx, claimArgs{
		op: op, tenant: req.Tenant, customer: req.Customer, template: req.Template,
		key: req.IdempotencyKey, count: req.Count, source: req.Source, audience: req.CheckAudience,
		fingerprint: fp,
	})
	return cs, replayed, err
}

// normalized fills in the defaults of Count and Source.
func (r IssueRequest) normalized() IssueRequest {
	r.Count = max(r.Count, 1)
	if r.Source == "" {
		r.Source = "issue"
	}
	return r
}

// fingerprint is the idempotency fingerprint of a normalized Issue.
func (r IssueRequest) fingerprint() string {
	return fingerprint("issue", string(r.Tenant), string(r.Customer), r.Template, itoa(r.Count), r.Source, strconv.FormatBool(r.CheckAudience))
}

// Grant implements scrm.Rewarder for rewards of kind "coupon": it issues
// Reward.Count coupons (0 means 1) of Reward.Template, with the grant's
// IdempotencyKey and Source, so a grant happens at most once: a replay with
// the same Reward and Source returns nil, one with another (any field of the
// Reward, the Note included) ErrConflict, as does a key used by Issue.
// Errors are Issue's (ErrInvalid for a Source longer than scrm.MaxIDLength);
// ErrInvalid for another kind or a missing template.
func (s *Service) Grant(ctx context.Context, g scrm.Grant) error {
	const op = "coupon.Grant"
	if err := g.Validate(); err != nil {
		return err
	}
	if g.Reward.Kind != scrm.RewardCoupon {
		return scrm.Invalid(op, "Reward.Kind", "want %q, got %q", scrm.RewardCoupon, g.Reward.Kind)
	}
	if err := scrm.CheckID(op, "Reward.Template", g.Reward.Template); err != nil {
		return err
	}
	if g.Reward.Count > MaxIssueCount {
		return scrm.Invalid(op, "Reward.Count", "at most %d, got %d", MaxIssueCount, g.Reward.Count)
	}
	if len(g.Source) > scrm.MaxIDLength {
		return scrm.Invalid(op, "Source", "longer than %d bytes", scrm.MaxIDLength)
	}
	src := g.Source
	if src == "" {
		src = "grant"
	}
	_, _, err := s.issue(ctx, op, IssueRequest{Tenant: g.Tenant, Customer: g.Customer, Template: g.Reward.Template,
		IdempotencyKey: g.IdempotencyKey, Count: g.Reward.Count, Source: src}, grantFingerprint(g, src))
	return err
}

// grantFingerprint is the idempotency fingerprint of a Grant: the whole
// Reward (Count defaulted, Amount by value) and the defaulted Source, under
// its own operation name so that an Issue with the same key conflicts.
func grantFingerprint(g scrm.Grant, src string) string {
	r := g.Reward
	return fingerprint("grant", string(g.Tenant), string(g.Customer), string(r.Kind),
		strconv.FormatInt(r.Points, 10), r.Amount.String(), r.Template, itoa(max(r.Count, 1)), r.Note, src)
}

type claimArgs struct {
	op          string
	tenant      scrm.TenantID
	customer    scrm.CustomerID
	template    string
	key         string
	fingerprint string
	count       int
	claimed     bool // customer-initiated: claim window, price
	audience    bool // check the audience (always when claimed)
	source      string
	channel     string
	code        string
	shared      bool // code is a shared code, which proves no purchase
	// single claims return their coupon by value and no slice, so that the
	// params' slice can be pooled.
	single bool
}

// claim checks a claim or issue and has the store insert the coupons. A
// single claim returns its coupon as one, others return them as all.
// replayed reports that the key had inserted them before: found by the
// refusal's lookup, or answered so by Store.Claim (ClaimResult.Replayed),
// which is how an attempt learns that another one with its key, in flight
// at the same time, inserted first.
func (s *Service) claim(ctx context.Context, a claimArgs) (one Coupon, all []Coupon, replayed bool, err error) {
	tm, err := s.termsOf(ctx, a.op, a.tenant, a.template)
	if err != nil {
		return Coupon{}, nil, false, err
	}
	now := s.opts.Clock.Now()
	if err := s.mayClaim(ctx, tm, a, now); err != nil {
		// The first attempt may have succeeded before the refusal held.
		if rec, rerr := s.store.ClaimByKey(ctx, a.tenant, a.key); rerr == nil {
			if cerr := scrm.CheckReplay(a.op, a.key, rec.Fingerprint, a.fingerprint); cerr != nil {
				return Coupon{}, nil, false, cerr
			}
			one, all = a.result(rec.Coupons)
			return one, all, true, s.emitIssued(ctx, rec.Coupons)
		}
		return Coupon{}, nil, false, err
	}
	loc := s.opts.LocationOf(a.tenant)
	from, to := tm.t.Validity.window(now, loc)
	var cs []Coupon
	if a.single {
		// Stores copy what they keep, so the params' slice can be reused:
		// on the hottest path that spares the collector a coupon per claim.
		buf, _ := s.oneBufs.Get().(*[1]Coupon)
		if buf == nil {
			buf = new([1]Coupon)
		}
		defer func() { *buf = [1]Coupon{}; s.oneBufs.Put(buf) }()
		cs = buf[:]
	} else {
		cs = make([]Coupon, a.count)
	}
	for i := range cs {
		cs[i] = Coupon{Tenant: a.tenant, ID: s.opts.NewID(), Template: a.template, Customer: a.customer,
			State: StateAvailable, ValidFrom: from, ValidTo: to, IssuedAt: now, Claimed: a.claimed,
			Source: a.source, Channel: a.channel, Code: a.code}
	}
	p := ClaimParams{Tenant: a.tenant, Template: a.template, Customer: a.customer, Coupons: cs,
		Claimed: a.claimed, IdempotencyKey: a.key, Fingerprint: a.fingerprint, Code: a.code}
	// Always, not only when the template read has a per-day limit: the
	// store enforces the limits stored when it inserts, which may have
	// gained one since.
	p.DayStart, p.DayEnd = localDay(now, loc)
	res, err := s.store.Claim(ctx, p)
	if err != nil {
		return Coupon{}, nil, false, scrm.Wrap(nil, a.op, err)
	}
	one, all = a.result(res.Coupons)
	return one, all, res.Replayed, s.emitIssued(ctx, res.Coupons)
}

// result hands the claimed coupons back: the first by value for a single
// claim, else the slice.
func (a claimArgs) result(cs []Coupon) (Coupon, []Coupon) {
	if a.single {
		return cs[0], nil
	}
	return Coupon{}, cs
}

// mayClaim checks what the store cannot: price, windows, audience.
func (s *Service) mayClaim(ctx context.Context, tm *terms, a claimArgs, now time.Time) error {
	t := &tm.t
	if !t.Validity.To.IsZero() && !now.Before(t.Validity.To) {
		return scrm.Errorf(scrm.ErrExpired, a.op, "template %q: its coupons' validity ended at %s", t.ID, t.Validity.To.Format(time.RFC3339))
	}
	if a.claimed {
		switch {
		case a.code == "" && t.Price.IsPositive():
			return scrm.Errorf(scrm.ErrForbidden, a.op, "template %q is a paid voucher (%s): sell it, then Issue it", t.ID, t.Price.StringFixed(2))
		case a.shared && t.Price.IsPositive():
			// PutSharedCode refuses paid templates; this one got its
			// price after its shared code was created.
			return scrm.Errorf(scrm.ErrForbidden, a.op, "template %q is a paid voucher (%s): a shared code cannot claim it", t.ID, t.Price.StringFixed(2))
		case !t.ClaimFrom.IsZero() && now.Before(t.ClaimFrom):
			return scrm.Errorf(scrm.ErrExpired, a.op, "template %q: claiming starts at %s", t.ID, t.ClaimFrom.Format(time.RFC3339))
		case !t.ClaimTo.IsZero() && !now.Before(t.ClaimTo):
			return scrm.Errorf(scrm.ErrExpired, a.op, "template %q: claiming ended at %s", t.ID, t.ClaimTo.Format(time.RFC3339))
		}
	}
	if a.claimed || a.audience {
		ok, err := s.inAudience(ctx, tm, a.tenant, a.customer, now)
		if err != nil {
			return err
		}
		if !ok {
			return scrm.Errorf(scrm.ErrForbidden, a.op, "customer is not in the audience of template %q", t.ID)
		}
	}
	return nil
}

func (s *Service) emitIssued(ctx context.Context, cs []Coupon) error {
	if !s.publish {
		return nil
	}
	for _, c := range cs {
		if err := s.emit(ctx, scrm.Event{ID: eventID(EventIssued, c.ID), Tenant: c.Tenant, Customer: c.Customer,
			Type: EventIssued, Time: c.IssuedAt,
			Props: map[string]any{"coupon": c.ID, "template": c.Template, "source": c.Source}}); err != nil {
			return err
		}
	}
	return nil
}

// BatchRequest issues one coupon of a template to each of many customers
// (定向发券), resumably: each customer's issue has its own key derived from
// IdempotencyKey, so running the same batch again after a failure issues
// only what is missing and reports the rest as issued (Replayed), publishing
// their EventIssued again with the same IDs (so none whose publish failed is
// lost).
type BatchRequest struct {
	Tenant         scrm.TenantID
	Template       string
	Customers      []scrm.CustomerID // at most MaxBatch
	IdempotencyKey string
	Source         string // default "batch"
	CheckAudience  bool
}

// MaxBatch bounds BatchRequest.Customers.
const MaxBatch = 100_000

// BatchResult reports a batch per customer, in the order given.
type BatchResult struct {
	Issued  []BatchIssued
	Skipped []BatchSkipped
}

// BatchIssued is a customer who has the batch's coupon.
type BatchIssued struct {
	Customer scrm.CustomerID
	Coupon   string
	Replayed bool // issued by an earlier run of the batch
}

// BatchSkipped is a customer who did not get a coupon, and why: ReasonStock,
// ReasonPerCustomer, ReasonPerDay, ReasonAudience, ReasonInvalid,
// ReasonConflict or ReasonDuplicate.
type BatchSkipped struct {
	Customer scrm.CustomerID
	Reason   Reason
	Message  string
}

// IssueBatch issues one coupon to each customer; see BatchRequest. A
// customer refused by stock, a limit or the audience is skipped with the
// reason and the batch goes on. It stops at the first failure that is not
// about one customer (no such template, validity over, the store failing,
// ctx done), returning what it did so far with the error; run it again with
// the same key to resume.
func (s *Service) IssueBatch(ctx context.Context, req BatchRequest) (BatchResult, error) {
	const op = "coupon.IssueBatch"
	if err := checkIDs(op, "Tenant", string(req.Tenant), "Template", req.Template, "IdempotencyKey", req.IdempotencyKey); err != nil {
		return BatchResult{}, err
	}
	if len(req.Customers) > MaxBatch {
		return BatchResult{}, scrm.Invalid(op, "Customers", "at most %d per batch, got %d", MaxBatch, len(req.Customers))
	}
	if len(req.Source) > scrm.MaxIDLength {
		return BatchResult{}, scrm.Invalid(op, "Source", "longer than %d bytes", scrm.MaxIDLength)
	}
	src := req.Source
	if src == "" {
		src = "batch"
	}
	var res BatchResult
	seen := make(map[scrm.CustomerID]struct{}, len(req.Customers))
	for i, c := range req.Customers {
		if err := scrm.CheckID(op, "Customers["+itoa(i)+"]", string(c)); err != nil {
			res.Skipped = append(res.Skipped, BatchSkipped{Customer: c, Reason: ReasonInvalid, Message: err.Error()})
			continue
		}
		if _, dup := seen[c]; dup {
			res.Skipped = append(res.Skipped, BatchSkipped{Customer: c, Reason: ReasonDuplicate, Message: "listed twice"})
			continue
		}
		seen[c] = struct{}{}
		ir := IssueRequest{Tenant: req.Tenant, Customer: c, Template: req.Template, Count: 1, Source: src,
			CheckAudience: req.CheckAudience, IdempotencyKey: derivedKey("batch", req.IdempotencyKey, string(c))}
		cs, replayed, err := s.issueOne(ctx, op, ir)
		if err == nil {
			res.Issued = append(res.Issued, BatchIssued{Customer: c, Coupon: cs[0].ID, Replayed: replayed})
			continue
		}
		if r := skipReason(err); r != "" {
			res.Skipped = append(res.Skipped, BatchSkipped{Customer: c, Reason: r, Message: err.Error()})
			continue
		}
		return res, err
	}
	return res, nil
}

// issueOne issues like Issue and tells whether it was a replay: found by
// its lookup of the key, or answered so by the store (a run with the key in
// flight at the same time issued first). A replay publishes the coupons'
// EventIssued again, as any replay does, so that an event whose publish
// failed in an earlier run is not lost.
func (s *Service) issueOne(ctx context.Context, op string, req IssueRequest) ([]Coupon, bool, error) {
	if rec, err := s.store.ClaimByKey(ctx, req.Tenant, req.IdempotencyKey); err == nil {
		if err := scrm.CheckReplay(op, req.IdempotencyKey, rec.Fingerprint, req.normalized().fingerprint()); err != nil {
			return nil, false, err
		}
		return rec.Coupons, true, s.emitIssued(ctx, rec.Coupons)
	} else if !errors.Is(err, scrm.ErrNotFound) {
		return nil, false, scrm.Wrap(nil, op, err)
	}
	return s.issue(ctx, op, req, "")
}

// skipReason classifies an error about one customer of a batch; "" means
// the error is not about the customer and stops the batch.
func skipReason(err error) Reason {
	switch {
	case errors.Is(err, scrm.ErrExhausted):
		switch errField(err) {
		case "PerCustomer":
			return ReasonPerCustomer
		case "PerCustomerPerDay":
			return ReasonPerDay
		}
		return ReasonStock
	case errors.Is(err, scrm.ErrForbidden):
		return ReasonAudience
	case errors.Is(err, scrm.ErrConflict):
		return ReasonConflict
	}
	return ""
}

// errField returns the Field of the outermost *scrm.Error in err's chain
// that names one.
func errField(err error) string {
	for err != nil {
		var se *scrm.Error
		if !errors.As(err, &se) {
			return ""
		}
		if se.Field != "" {
			return se.Field
		}
		err = se.Err
	}
	return ""
}

// derivedKey builds an idempotency key from parts, short enough for any
// store whatever the parts' lengths.
func derivedKey(kind string, parts ...string) string {
	return kind + ":" + fingerprint(parts...)
}
