package segment

import (
	"context"

	"github.com/scrmkit/scrmkit/scrm"
)

// ProfileScanner is an optional capability of a scrm.ProfileStore, found by
// type assertion as in database/sql: a read-only scan that hands each stored
// profile to fn without copying it. Refresh and RFM use it when the store
// has it, and ProfileStore.List otherwise; on a large tenant the copies
// List makes (and the garbage they leave) cost several times the
// evaluation itself.
//
// ScanProfiles visits the profiles List would return for params, in the same
// order, and returns the same Next cursor. fn must treat the profile as
// read-only and must not retain it after fn returns (strings it returns, such
// as its Customer, are immutable and may be kept), nor call the store: the
// store may hold a lock while fn runs. An error from fn stops the scan and is
// returned.
type ProfileScanner interface {
	ScanProfiles(ctx context.Context, params scrm.ListProfilesParams, fn func(*scrm.Profile) error) (next string, err error)
}

// scanPage reads one page of the tenant's profiles through the store's
// ProfileScanner if it has one, else through List, handing each to fn.
func (s *Service) scanPage(ctx context.Context, params scrm.ListProfilesParams, fn func(*scrm.Profile) error) (string, error) {
	if sc, ok := s.profiles.(ProfileScanner); ok {
		return sc.ScanProfiles(ctx, params, fn)
	}
	page, err := s.profiles.List(ctx, params)
	if err != nil {
		return "", err
	}
	for _, p := range page.Profiles {
		if err := fn(p); err != nil {
			return "", err
		}
	}
	return page.Next, nil
}
