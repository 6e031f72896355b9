package scrm

import (
	"context"
	"errors"
	"time"
)

// FutureTolerance is how far after its clock an event's Time may be for
// Profiles to fold it in, to allow for the clocks of different machines. An
// event dated later (a year mistyped in an import, a device with a wrong
// clock) would sit in the profile as the customer's newest activity for
// years, so Profiles refuses it.
const FutureTolerance = 5 * time.Minute

// Profiles folds events into profiles. It is the first Handler a Dispatcher
// runs, so every later handler reads a profile that already includes the
// event. Each event is applied at most once per ID per tenant, and events of
// a customer absorbed by a merge go to the survivor.
//
// A *Profiles is safe for concurrent use; set Limits before first use.
type Profiles struct {
	store ProfileStore
	opts  Options
	// Limits bound the windowed history each profile keeps; zero fields mean
	// the defaults (400 days, 2048 entries per event type).
	Limits ProfileLimits
}

// NewProfiles returns a Profiles over store. It uses opts.Clock to refuse
// events dated in the future (see Handle); opts may be nil.
func NewProfiles(store ProfileStore, opts *Options) *Profiles {
	return &Profiles{store: store, opts: opts.WithDefaults()}
}

// Store returns the ProfileStore the Profiles writes to.
func (p *Profiles) Store() ProfileStore { return p.store }

// Handle validates e and folds it into its customer's profile. A
// customer.merged event folds the absorbed profile (Props "from") into the
// survivor (Props "into", which must be e.Customer) and marks the absorbed
// one, so later events of the absorbed ID go to the survivor. Replaying an
// event changes nothing.
//
// A customer is absorbed at most once and merges never form a cycle, so
// each customer's history counts in exactly one live profile. A
// customer.merged event that would break this is refused and nothing is
// written: ErrInvalid naming "Props.into" when into was itself absorbed into
// from, directly or through a chain of merges, and ErrConflict when from was
// already absorbed into a customer other than into. An event whose Time is
// more than FutureTolerance after the Options.Clock is refused with
// ErrInvalid naming "Time", and nothing is written.
func (p *Profiles) Handle(ctx context.Context, e Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if now := p.opts.Clock.Now(); e.Time.After(now.Add(FutureTolerance)) {
		return Invalid("scrm.Profiles.Handle", "Time", "%s is more than %s after the clock (%s)",
			e.Time.Format(time.RFC3339), FutureTolerance, now.Format(time.RFC3339))
	}
	if e.Type == EventCustomerMerged {
		return p.merge(ctx, e)
	}
	_, _, err := UpdateProfile(ctx, p.store, e.Tenant, e.Customer, e.ID, func(pr *Profile) error {
		pr.ApplyWithLimits(e, p.Limits)
		return nil
	})
	return err
}

// merge handles a customer.merged event. It refuses, writing nothing, a
// merge whose into leads back to from through MergedInto links (a cycle),
// and a from already marked as merged into another customer than into: that
// other merge folded from's history already, and folding it again would
// count it twice. A from already marked as merged into into itself is the
// crash-recovery case: this event wrote the mark and failed before the fold,
// so the fold is done now, once, guarded by the event ID. (An event with
// another ID repeating a merge that completed cannot be told from it;
// MergeEvent's IDs are deterministic per pair, so that takes a hand-built
// event.) The cycle check reads before the mark is written, so two opposite
// merges handled at the same instant could both pass it; loading either
// profile then fails with ErrConflict (merge chain too long) rather than
// looping.
func (p *Profiles) merge(ctx context.Context, e Event) error {
	const op = "scrm.Profiles.merge"
	from, into := CustomerID(e.Prop("from")), CustomerID(e.Prop("into"))
	if into == "" {
		into = e.Customer
	}
	switch {
	case from == "":
		return Invalid(op, "Props.from", "required on %s", EventCustomerMerged)
	case into != e.Customer:
		return Invalid(op, "Props.into", "must equal the event's Customer %s, got %s", e.Customer, into)
	case from == into:
		return Invalid(op, "Props.from", "a customer cannot be merged into itself")
	}
	done, err := p.store.Applied(ctx, e.Tenant, e.ID)
	if err != nil {
		return Wrap(nil, op, err)
	}
	if done {
		return nil
	}
	// Marking from as merged into a customer whose chain of merges leads
	// back to from would close a cycle: neither profile could be read again.
	cycle, err := mergedVia(ctx, p.store, e.Tenant, into, from)
	if err != nil {
		return Wrap(nil, op, err)
	}
	if cycle {
		return Invalid(op, "Props.into", "%s was already merged into %s; merging %s into it would close a cycle", into, from, from)
	}
	// First mark the absorbed profile, so that from now on its events go to
	// the survivor; then fold what it held into the survivor. A crash between
	// the two is healed by replaying the event: the mark is found and the
	// fold, guarded by the event ID, happens once.
	var absorbed *Profile
	already := errors.New("already merged")
	_, _, err = UpdateProfile(ctx, p.store, e.Tenant, from, "", func(pr *Profile) error {
		if pr.Customer != from {
			return already // UpdateProfile followed an existing MergedInto
		}
		pr.MergedInto = into
		absorbed = pr.Clone()
		return nil
	})
	if errors.Is(err, already) {
		absorbed, err = p.store.Get(ctx, e.Tenant, from)
		if err == nil && absorbed.MergedInto != into {
			// Another merge absorbed from and folded its history into
			// another survivor: folding it here too would count it twice.
			return Errorf(ErrConflict, op, "customer %s/%s was already merged into %s, not %s",
				e.Tenant, from, absorbed.MergedInto, into)
		}
	}
	if err != nil {
		return Wrap(nil, op, err)
	}
	_, _, err = UpdateProfile(ctx, p.store, e.Tenant, into, e.ID, func(pr *Profile) error {
		pr.Absorb(absorbed)
		pr.ApplyWithLimits(e, p.Limits)
		return nil
	})
	return err
}

// mergedVia reports whether the chain of MergedInto links from customer id
// passes through target, i.e. whether id was absorbed into target directly
// or through later merges.
func mergedVia(ctx context.Context, store ProfileStore, tenant TenantID, id, target CustomerID) (bool, error) {
	for hop := 0; hop <= maxMergeHops; hop++ {
		pr, err := store.Get(ctx, tenant, id)
		switch {
		case errors.Is(err, ErrNotFound):
			return false, nil // no profile, so no MergedInto
		case err != nil:
			return false, err
		case pr.MergedInto == "":
			return false, nil
		case pr.MergedInto == target:
			return true, nil
		}
		id = pr.MergedInto
	}
	return false, Errorf(ErrConflict, "scrm.Profiles", "profile %s/%s: merge chain longer than %d", tenant, id, maxMergeHops)
}

// Get returns a customer's profile, following merges to the survivor.
// Errors: ErrNotFound when no event or write has created it yet.
func (p *Profiles) Get(ctx context.Context, tenant TenantID, id CustomerID) (*Profile, error) {
	const op = "scrm.Profiles.Get"
	if err := CheckID(op, "tenant", string(tenant)); err != nil {
		return nil, err
	}
	if err := CheckID(op, "id", string(id)); err != nil {
		return nil, err
	}
	pr, err := loadFollowing(ctx, p.store, tenant, id)
	if err != nil {
		return nil, err
	}
	if pr.Version == 0 {
		return nil, Errorf(ErrNotFound, op, "profile %s/%s", tenant, pr.Customer)
	}
	return pr, nil
}

// Update changes a customer's profile with fn under optimistic concurrency;
// see UpdateProfile. It is how hosts set attributes directly.
func (p *Profiles) Update(ctx context.Context, tenant TenantID, id CustomerID, fn func(*Profile) error) (*Profile, error) {
	pr, _, err := UpdateProfile(ctx, p.store, tenant, id, "", fn)
	return pr, err
}
