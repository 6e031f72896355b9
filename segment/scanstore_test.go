package segment_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/segment"
)

// scanStore is a small in-memory scrm.ProfileStore with the
// segment.ProfileScanner capability, to test and measure the zero-copy scan
// path: the kernel's memory store does not have it. It passes the kernel's
// ProfileStore conformance suite.
type scanStore struct {
	mu      sync.Mutex
	tenants map[scrm.TenantID]*scanTenant
}

type scanTenant struct {
	profiles map[scrm.CustomerID]*scrm.Profile
	applied  map[string]struct{}
	sorted   []scrm.CustomerID
	pending  []scrm.CustomerID
}

var (
	_ scrm.ProfileStore      = (*scanStore)(nil)
	_ segment.ProfileScanner = (*scanStore)(nil)
)

func newScanStore() *scanStore { return &scanStore{tenants: make(map[scrm.TenantID]*scanTenant)} }

func (s *scanStore) tenant(t scrm.TenantID) *scanTenant {
	st := s.tenants[t]
	if st == nil {
		st = &scanTenant{profiles: make(map[scrm.CustomerID]*scrm.Profile), applied: make(map[string]struct{})}
		s.tenants[t] = st
	}
	return st
}

func (s *scanStore) Get(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (*scrm.Profile, error) {
	if err := scrm.CheckContext(ctx, "scanStore.Get"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.tenant(tenant).profiles[customer]
	if p == nil {
		return nil, scrm.Errorf(scrm.ErrNotFound, "scanStore.Get", "profile %s/%s", tenant, customer)
	}
	return p.Clone(), nil
}

func (s *scanStore) Save(ctx context.Context, params scrm.SaveProfileParams) (int64, error) {
	const op = "scanStore.Save"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return 0, err
	}
	p := params.Profile
	if p == nil {
		return 0, scrm.Invalid(op, "Profile", "required")
	}
	if err := scrm.CheckID(op, "Profile.Tenant", string(p.Tenant)); err != nil {
		return 0, err
	}
	if err := scrm.CheckID(op, "Profile.Customer", string(p.Customer)); err != nil {
		return 0, err
	}
	c := p.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.tenant(p.Tenant)
	cur := st.profiles[p.Customer]
	var stored int64
	if cur != nil {
		stored = cur.Version
	}
	if stored != p.Version {
		return 0, scrm.Errorf(scrm.ErrConflict, op, "version %d, stored %d", p.Version, stored)
	}
	if params.EventID != "" {
		if _, dup := st.applied[params.EventID]; dup {
			return 0, scrm.Errorf(scrm.ErrConflict, op, "event %q already applied", params.EventID)
		}
		st.applied[params.EventID] = struct{}{}
	}
	if cur == nil {
		st.pending = append(st.pending, p.Customer)
	}
	c.Version = stored + 1
	st.profiles[p.Customer] = c
	return c.Version, nil
}

func (s *scanStore) Applied(ctx context.Context, tenant scrm.TenantID, eventID string) (bool, error) {
	if err := scrm.CheckContext(ctx, "scanStore.Applied"); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.tenant(tenant).applied[eventID]
	return ok, nil
}

func (s *scanStore) List(ctx context.Context, params scrm.ListProfilesParams) (scrm.ProfilePage, error) {
	var page scrm.ProfilePage
	next, err := s.ScanProfiles(ctx, params, func(p *scrm.Profile) error {
		page.Profiles = append(page.Profiles, p.Clone())
		return nil
	})
	page.Next = next
	return page, err
}

func (s *scanStore) ScanProfiles(ctx context.Context, params scrm.ListProfilesParams, fn func(*scrm.Profile) error) (string, error) {
	if err := scrm.CheckContext(ctx, "scanStore.ScanProfiles"); err != nil {
		return "", err
	}
	limit := scrm.PageLimit(params.Limit, 100, 1000)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.tenant(params.Tenant)
	if len(st.pending) > 0 {
		st.sorted = append(st.sorted, st.pending...)
		slices.Sort(st.sorted)
		st.pending = st.pending[:0]
	}
	i, _ := slices.BinarySearch(st.sorted, scrm.CustomerID(params.Cursor))
	if i < len(st.sorted) && string(st.sorted[i]) == params.Cursor {
		i++
	}
	n := 0
	var last scrm.CustomerID
	for ; i < len(st.sorted) && n < limit; i++ {
		p := st.profiles[st.sorted[i]]
		if p.MergedInto != "" {
			continue
		}
		if err := fn(p); err != nil {
			return "", err
		}
		n++
		last = p.Customer
	}
	if n == limit && i < len(st.sorted) {
		return string(last), nil
	}
	return "", nil
}

func TestScanStoreConformance(t *testing.T) {
	scrmtest.RunProfileStoreTests(t, func(*testing.T) scrm.ProfileStore { return newScanStore() })
}

// all returns the tenant's stored profiles themselves, in ID order, for
// benchmarks that read many profiles without the cost of copies; callers
// must not change them.
func (s *scanStore) all(tenant scrm.TenantID) []*scrm.Profile {
	var out []*scrm.Profile
	cursor := ""
	for {
		next, _ := s.ScanProfiles(context.Background(), scrm.ListProfilesParams{Tenant: tenant, Cursor: cursor, Limit: 1000}, func(p *scrm.Profile) error {
			out = append(out, p)
			return nil
		})
		if next == "" {
			return out
		}
		cursor = next
	}
}
