package scrm

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// ProfileStore keeps profiles and the IDs of the events already folded into
// them. Implementations must be safe for concurrent use and must copy
// profiles in and out: a caller never shares memory with the store.
//
// Every method honours ctx: a done context returns an error matching
// ErrUnavailable that wraps ctx.Err(), and writes nothing.
type ProfileStore interface {
	// Get returns a copy of the stored profile with its stored Version.
	// Errors: ErrNotFound when none is stored.
	Get(ctx context.Context, tenant TenantID, customer CustomerID) (*Profile, error)

	// Save stores a copy of params.Profile if the stored version still equals
	// params.Profile.Version (0 meaning "nothing stored yet"), with the stored
	// Version set to that plus one, which it returns. When params.EventID is
	// non-empty it is recorded as applied for the tenant in the same atomic
	// step. Errors: ErrConflict, and nothing written, when the version does
	// not match or the event ID was already recorded (call Applied to tell
	// which); ErrInvalid for a nil profile or missing tenant or customer.
	Save(ctx context.Context, params SaveProfileParams) (version int64, err error)

	// Applied reports whether eventID was recorded for the tenant by Save.
	Applied(ctx context.Context, tenant TenantID, eventID string) (bool, error)

	// List returns the tenant's profiles in customer ID order, starting after
	// params.Cursor (empty: from the start), at most params.Limit of them
	// (0 means 100; more than 1000 means 1000). ProfilePage.Next is the
	// cursor for the next page, empty after the last one. Absorbed profiles
	// (MergedInto set) are skipped. Profiles saved during a scan are seen if
	// their ID sorts after the cursor.
	List(ctx context.Context, params ListProfilesParams) (ProfilePage, error)
}

// ProfileUpdater is an optional ProfileStore capability, found by type
// assertion: an atomic read-modify-write of one profile under the store's own
// lock (a SELECT ... FOR UPDATE in SQL). UpdateProfile prefers it to
// optimistic retries, so that a hot profile written by many goroutines at
// once does not retry itself to exhaustion.
//
// UpdateProfile has exactly the semantics of the package function
// UpdateProfile: it follows MergedInto links to the survivor, starts from an
// empty profile when none is stored, records params.EventID at most once per
// tenant (a replay does not call fn and returns applied false), saves with
// the version incremented only when fn returns nil, and returns a copy of
// the profile as saved. fn runs while the store holds its lock: it must be
// quick and must not call the store.
type ProfileUpdater interface {
	UpdateProfile(ctx context.Context, params UpdateProfileParams, fn func(*Profile) error) (p *Profile, applied bool, err error)
}

// ProfileScanner is an optional ProfileStore capability, found by type
// assertion: a read-only scan that hands each stored profile to fn without
// copying it. Whole-tenant passes (segment refreshes, RFM, sweeps) use it
// when the store has it and List otherwise; on a large tenant the copies
// List makes, and the garbage they leave, cost several times the work done
// on each profile.
//
// ScanProfiles visits the profiles List would return for params, in the same
// order, and returns the same Next cursor. fn must treat the profile as
// read-only and must not keep it after fn returns (its strings, such as
// Customer, are immutable and may be kept). An error from fn stops the scan
// and is returned.
type ProfileScanner interface {
	ScanProfiles(ctx context.Context, params ListProfilesParams, fn func(*Profile) error) (next string, err error)
}

// UpdateProfileParams are the inputs of ProfileUpdater.UpdateProfile.
type UpdateProfileParams struct {
	Tenant   TenantID
	Customer CustomerID
	EventID  string // optional
}

// SaveProfileParams are the inputs of ProfileStore.Save.
type SaveProfileParams struct {
	Profile *Profile // saved if its Version equals the stored one
	EventID string   // optional: recorded as applied, at most once per tenant
}

// ListProfilesParams are the inputs of ProfileStore.List.
type ListProfilesParams struct {
	Tenant TenantID
	Cursor string
	Limit  int
}

// ProfilePage is one page of ProfileStore.List.
type ProfilePage struct {
	Profiles []*Profile
	Next     string // cursor of the next page; empty when this was the last
}

// PageLimit normalizes a requested page size: 0 or less means def, and more
// than max means max. Stores use it so that every List in scrmkit pages the
// same way.
func PageLimit(limit, def, max int) int {
	switch {
	case limit <= 0:
		return def
	case limit > max:
		return max
	}
	return limit
}

// CheckContext returns an error matching ErrUnavailable and wrapping
// ctx.Err() when ctx is done, else nil. Stores call it first thing.
func CheckContext(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return &Error{Code: ErrUnavailable, Op: op, Err: err}
	}
	return nil
}

// maxMergeHops bounds how many MergedInto links are followed.
const maxMergeHops = 16

// maxUpdateAttempts bounds UpdateProfile's optimistic retries.
const maxUpdateAttempts = 64

// UpdateProfile loads a customer's profile (an empty one when none is
// stored), calls fn on it and saves it. When the store is a ProfileUpdater it
// does so in one locked step; otherwise it saves with optimistic concurrency
// and retries from a fresh load, with a short randomized backoff, when
// another writer got there first. A profile absorbed by a merge redirects the
// update to its survivor. fn may be called several times and must only
// change the profile it is given; when fn returns an error nothing is saved
// and the error is returned.
//
// With a non-empty eventID the update takes effect at most once per event ID
// per tenant: a replay does not call fn and returns the stored profile with
// applied false. It returns the profile as saved.
func UpdateProfile(ctx context.Context, store ProfileStore, tenant TenantID, customer CustomerID, eventID string, fn func(*Profile) error) (p *Profile, applied bool, err error) {
	const op = "scrm.UpdateProfile"
	if err := CheckID(op, "tenant", string(tenant)); err != nil {
		return nil, false, err
	}
	if err := CheckID(op, "customer", string(customer)); err != nil {
		return nil, false, err
	}
	if u, ok := store.(ProfileUpdater); ok {
		p, applied, err := u.UpdateProfile(ctx, UpdateProfileParams{Tenant: tenant, Customer: customer, EventID: eventID}, fn)
		if err != nil {
			return nil, false, Wrap(nil, op, err)
		}
		return p, applied, nil
	}
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		if attempt > 0 {
			backoff(ctx, attempt)
		}
		if eventID != "" {
			done, err := store.Applied(ctx, tenant, eventID)
			if err != nil {
				return nil, false, Wrap(nil, op, err)
			}
			if done {
				p, err := loadFollowing(ctx, store, tenant, customer)
				if errors.Is(err, ErrNotFound) {
					p, err = NewProfile(tenant, customer), nil
				}
				return p, false, err
			}
		}
		p, err := loadFollowing(ctx, store, tenant, customer)
		if errors.Is(err, ErrNotFound) {
			p, err = NewProfile(tenant, customer), nil
		}
		if err != nil {
			return nil, false, err
		}
		if err := fn(p); err != nil {
			return nil, false, err
		}
		v, err := store.Save(ctx, SaveProfileParams{Profile: p, EventID: eventID})
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return nil, false, Wrap(nil, op, err)
		}
		p.Version = v
		return p, true, nil
	}
	return nil, false, Errorf(ErrUnavailable, op, "profile %s/%s: still conflicting after %d attempts", tenant, customer, maxUpdateAttempts)
}

// backoff sleeps a random time below 2^attempt microseconds (at most about
// 4 ms), so that writers colliding on one profile spread out.
func backoff(ctx context.Context, attempt int) {
	ceiling := time.Microsecond << min(attempt, 12)
	t := time.NewTimer(rand.N(ceiling) + time.Microsecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// LoadProfile returns a copy of a customer's profile, following MergedInto
// links to the survivor of merges. A customer with no stored profile gets an
// empty one (Version 0), so rules evaluate as for a customer who did
// nothing. Services that evaluate rules for a customer read profiles with it.
func LoadProfile(ctx context.Context, store ProfileStore, tenant TenantID, customer CustomerID) (*Profile, error) {
	p, err := loadFollowing(ctx, store, tenant, customer)
	if errors.Is(err, ErrNotFound) {
		return NewProfile(tenant, customer), nil
	}
	return p, err
}

// FindProfile is LoadProfile for callers that only ask whether a customer
// did something: a customer with no stored profile gives nil and no error,
// so hot paths that meet many new customers (a first order, a new invitee)
// build no empty profile. A customer absorbed into a survivor that has no
// profile yet gives the survivor's empty profile, as LoadProfile does.
func FindProfile(ctx context.Context, store ProfileStore, tenant TenantID, customer CustomerID) (*Profile, error) {
	p, err := store.Get(ctx, tenant, customer)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, Wrap(nil, "scrm.FindProfile", err)
	case p.MergedInto == "":
		return p, nil
	}
	s, err := loadFollowing(ctx, store, tenant, p.MergedInto)
	if errors.Is(err, ErrNotFound) {
		// The survivor has no profile yet (the merge's fold is still to
		// happen): what LoadProfile gives, a survivor who did nothing.
		return NewProfile(tenant, p.MergedInto), nil
	}
	return s, err
}

// loadFollowing gets a profile, following MergedInto links to the survivor.
func loadFollowing(ctx context.Context, store ProfileStore, tenant TenantID, customer CustomerID) (*Profile, error) {
	id := customer
	for hop := 0; hop <= maxMergeHops; hop++ {
		p, err := store.Get(ctx, tenant, id)
		if err != nil {
			if errors.Is(err, ErrNotFound) && id != customer {
				return NewProfile(tenant, id), nil // a survivor with no profile yet
			}
			return nil, Wrap(nil, "scrm.Profiles", err)
		}
		if p.MergedInto == "" {
			return p, nil
		}
		id = p.MergedInto
	}
	return nil, Errorf(ErrConflict, "scrm.Profiles", "profile %s/%s: merge chain longer than %d", tenant, customer, maxMergeHops)
}
