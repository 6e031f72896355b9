package member

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// AdjustRequest is an operator's correction of a customer's points or growth
// value.
type AdjustRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	IdempotencyKey string
	// Points and Growth are signed changes; at least one is non-zero.
	// Added points expire as if earned now.
	Points int64
	Growth int64
	// Reason and Operator are required and recorded on the journal entry.
	Reason   string
	Operator string
}

// maxNoteLength bounds free-text fields recorded in the journal.
const maxNoteLength = 1000

// Adjust applies an operator's correction. Removed points are taken in
// spending order and removed growth value never goes below zero: asking for
// more than there is fails with ErrExhausted rather than creating debt.
// Gained growth may upgrade the tier (with its rewards); lost growth may
// downgrade it, straight to the tier the remaining growth qualifies for
// (whatever TierPolicy.Downgrade says).
//
// Errors: ErrInvalid for a malformed request (both changes zero, no Reason or
// Operator); ErrExhausted when the spendable points or the growth value are
// short; ErrNotFound when the tenant has no program; ErrConflict for a reused
// key.
func (s *Service) Adjust(ctx context.Context, req AdjustRequest) (EarnResult, error) {
	const op = "member.Adjust"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return EarnResult{}, err
	}
	switch {
	case req.Points == 0 && req.Growth == 0:
		return EarnResult{}, scrm.Invalid(op, "Points", "Points or Growth must change")
	case req.Points > maxPoints || req.Points < -maxPoints:
		return EarnResult{}, scrm.Invalid(op, "Points", "out of range: %d", req.Points)
	case req.Growth > maxPoints || req.Growth < -maxPoints:
		return EarnResult{}, scrm.Invalid(op, "Growth", "out of range: %d", req.Growth)
	}
	if err := checkNote(op, "Reason", req.Reason, true); err != nil {
		return EarnResult{}, err
	}
	if err := checkNote(op, "Operator", req.Operator, true); err != nil {
		return EarnResult{}, err
	}
	fp := s.newFingerprint(op).str(string(req.Customer)).int(req.Points).int(req.Growth).str(req.Reason).str(req.Operator).sum()
	out, replayed, err := s.update(ctx, op, UpdateParams{
		Tenant: req.Tenant, Customer: req.Customer, IdempotencyKey: req.IdempotencyKey, Fingerprint: fp,
	}, func(e *engine) error {
		if req.Points < 0 && e.a.Points() < -req.Points {
			return scrm.Errorf(scrm.ErrExhausted, op, "cannot remove %d points: %d spendable", -req.Points, max(e.a.Points(), 0))
		}
		if req.Growth < 0 && e.a.Growth < -req.Growth {
			return scrm.Errorf(scrm.ErrExhausted, op, "cannot remove %d growth: %d held", -req.Growth, e.a.Growth)
		}
		if err := checkRoom(op, e.a, "Points", req.Points, "Growth", req.Growth); err != nil {
			return err
		}
		ent := e.entry(EntryAdjust)
		ent.Note, ent.Operator = req.Reason, req.Operator
		if req.Points > 0 {
			credit(e.a, ent, req.Points, e.c.expiry(e.now), e.now.UnixNano(), 0)
		} else if req.Points < 0 {
			spend(e.a, ent, -req.Points, 0)
		}
		if req.Growth > 0 {
			e.addGrowth(ent, req.Growth, e.now)
			e.evaluate(e.now, upOnly, "upgrade", rewardGrant)
		} else if req.Growth < 0 {
			e.removeGrowth(ent, -req.Growth, 0)
			e.evaluate(e.now, byLoss, "downgrade", rewardGrant)
		}
		return nil
	})
	return earnResult(out, replayed, s.opts.LocationOf(req.Tenant)), err
}

func checkNote(op, field, s string, required bool) error {
	switch {
	case s == "" && required:
		return scrm.Invalid(op, field, "required")
	case len(s) > maxNoteLength:
		return scrm.Invalid(op, field, "longer than %d bytes", maxNoteLength)
	case !scrm.ValidUTF8(s):
		return scrm.Invalid(op, field, "not valid UTF-8")
	}
	return nil
}

// Grant implements scrm.Rewarder for kinds "points" (a lot expiring as if
// earned now), "growth" (which may upgrade the tier, with its rewards) and
// "stored_value" (Reward.Amount credited to the stored-value bonus balance,
// see TopUp), keyed by g.IdempotencyKey; g.Source is recorded as the entry's
// note. Points and growth keys live in the points ledger, stored-value keys
// in the stored-value ledger.
//
// Errors: ErrInvalid for an invalid grant, another kind ("Reward.Kind"),
// zero points ("Reward.Points") or a zero amount ("Reward.Amount");
// ErrNotFound when the tenant has no program (points and growth only);
// ErrConflict for a key reused with another payload.
func (s *Service) Grant(ctx context.Context, g scrm.Grant) error {
	const op = "member.Grant"
	if err := g.Validate(); err != nil {
		return err
	}
	if g.Reward.Kind == scrm.RewardStoredValue {
		return s.grantStoredValue(ctx, g)
	}
	if g.Reward.Kind != scrm.RewardPoints && g.Reward.Kind != scrm.RewardGrowth {
		return scrm.Invalid(op, "Reward.Kind", "member holds kinds %q, %q and %q, not %q", scrm.RewardPoints, scrm.RewardGrowth, scrm.RewardStoredValue, g.Reward.Kind)
	}
	if g.Reward.Points <= 0 || g.Reward.Points > maxPoints {
		return scrm.Invalid(op, "Reward.Points", "must be positive, got %d", g.Reward.Points)
	}
	if err := checkNote(op, "Source", g.Source, false); err != nil {
		return err
	}
	fp := s.newFingerprint(op).str(string(g.Customer)).str(string(g.Reward.Kind)).int(g.Reward.Points).str(g.Reward.Note).str(g.Source).sum()
	_, _, err := s.updateArgs(ctx, op, UpdateParams{
		Tenant: g.Tenant, Customer: g.Customer, IdempotencyKey: g.IdempotencyKey, Fingerprint: fp,
	}, grantStep, earnArgs{}, grantArgs{kind: g.Reward.Kind, points: g.Reward.Points, source: g.Source})
	return err
}

// grantStep is Grant's step, on the engine's grant arguments.
func grantStep(e *engine) error {
	const op = "member.Grant"
	if e.grant.kind == scrm.RewardPoints {
		if err := checkRoom(op, e.a, "Reward.Points", e.grant.points, "", 0); err != nil {
			return err
		}
	} else if err := checkRoom(op, e.a, "", 0, "Reward.Points", e.grant.points); err != nil {
		return err
	}
	ent := e.entry(EntryGrant)
	ent.Note = e.grant.source
	if e.grant.kind == scrm.RewardPoints {
		credit(e.a, ent, e.grant.points, e.c.expiry(e.now), e.now.UnixNano(), 0)
		return nil
	}
	e.addGrowth(ent, e.grant.points, e.now)
	e.evaluate(e.now, upOnly, "upgrade", rewardGrant)
	return nil
}

// ImportRequest moves a customer's balance from another system (a legacy
// CRM) into the ledger, keeping the original expiry of each batch.
type ImportRequest struct {
	Tenant         scrm.TenantID
	Customer       scrm.CustomerID
	IdempotencyKey string
	Lots           []ImportLot
	// Growth is added to the growth value.
	Growth int64
	// Note is recorded on the journal entry (e.g. "migrated from v1").
	Note string
}

// ImportLot is one batch of imported points.
type ImportLot struct {
	Points int64
	// EarnedAt is when the points were earned; zero means now.
	EarnedAt time.Time
	// ExpiresAt is when they expire (zero: never); it must be in the future
	// and before 2200.
	ExpiresAt time.Time
}

// Import credits a balance migrated from another system: each lot keeps its
// expiry (lots expiring at the same instant merge), growth is added and the
// tier follows. An imported tier grants no upgrade rewards: the customer had
// them in the old system, so the tiers reached are recorded as rewarded for
// the current period.
//
// Errors: ErrInvalid for a malformed request (no lots and no growth, a lot
// not positive or already expired); ErrNotFound when the tenant has no
// program; ErrConflict for a reused key.
func (s *Service) Import(ctx context.Context, req ImportRequest) (EarnResult, error) {
	const op = "member.Import"
	if err := checkIDs(op, req.Tenant, req.Customer, req.IdempotencyKey); err != nil {
		return EarnResult{}, err
	}
	if len(req.Lots) == 0 && req.Growth == 0 {
		return EarnResult{}, scrm.Invalid(op, "Lots", "nothing to import")
	}
	if req.Growth < 0 || req.Growth > maxPoints {
		return EarnResult{}, scrm.Invalid(op, "Growth", "must not be negative, got %d", req.Growth)
	}
	if err := checkNote(op, "Note", req.Note, false); err != nil {
		return EarnResult{}, err
	}
	now := s.clock.Now()
	var total int64
	for i, l := range req.Lots {
		if l.Points <= 0 || l.Points > maxPoints {
			return EarnResult{}, scrm.Invalid(op, fmt.Sprintf("Lots[%d].Points", i), "must be positive, got %d", l.Points)
		}
		if total += l.Points; total > maxPoints {
			return EarnResult{}, scrm.Invalid(op, fmt.Sprintf("Lots[%d].Points", i), "total out of range")
		}
		if !l.ExpiresAt.IsZero() && !l.ExpiresAt.After(now) {
			return EarnResult{}, scrm.Invalid(op, fmt.Sprintf("Lots[%d].ExpiresAt", i), "already expired at %s", l.ExpiresAt.Format(time.RFC3339))
		}
		if l.ExpiresAt.Unix() >= maxUnix {
			return EarnResult{}, scrm.Invalid(op, fmt.Sprintf("Lots[%d].ExpiresAt", i), "after 2200; use the zero time for points that never expire")
		}
		if _, err := checkAt(op, l.EarnedAt, now); err != nil {
			return EarnResult{}, scrm.Invalid(op, fmt.Sprintf("Lots[%d].EarnedAt", i), "in the future")
		}
	}
	f := s.newFingerprint(op).str(string(req.Customer)).int(int64(len(req.Lots)))
	for _, l := range req.Lots {
		f = f.int(l.Points).time(l.EarnedAt).time(l.ExpiresAt)
	}
	fp := f.int(req.Growth).str(req.Note).sum()
	out, replayed, err := s.update(ctx, op, UpdateParams{
		Tenant: req.Tenant, Customer: req.Customer, IdempotencyKey: req.IdempotencyKey, Fingerprint: fp,
	}, func(e *engine) error {
		if err := checkRoom(op, e.a, "Lots", total, "Growth", req.Growth); err != nil {
			return err
		}
		ent := e.entry(EntryImport)
		ent.Note = req.Note
		for _, l := range req.Lots {
			earned := l.EarnedAt
			if earned.IsZero() {
				earned = e.now
			}
			credit(e.a, ent, l.Points, nanos(l.ExpiresAt), earned.UnixNano(), 0)
		}
		e.addGrowth(ent, req.Growth, e.now)
		e.evaluate(e.now, upOnly, "upgrade", rewardMark)
		return nil
	})
	return earnResult(out, replayed, s.opts.LocationOf(req.Tenant)), err
}
