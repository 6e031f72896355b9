package segment

import (
	"context"

	"github.com/scrmkit/scrmkit/scrm"
)

// ProfileScanner is scrm.ProfileScanner, the optional ProfileStore
// capability Refresh and RFM use to read profiles without copying them.
type ProfileScanner = scrm.ProfileScanner

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
