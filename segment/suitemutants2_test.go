package segment_test

// More mutants of the conformance suite, for the membership reads (Members,
// Contains, Size, GetSegment) and ListUnreported; they are listed in
// gmMutants.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/segment"
)

// gmTenants remembers every tenant that created a segment, for the
// mutants that read across tenants.
type gmTenants struct {
	segment.Store
	mu      sync.Mutex
	tenants []scrm.TenantID
}

func newGMTenants() *gmTenants { return &gmTenants{Store: segment.NewMemoryStore()} }

func (m *gmTenants) CreateSegment(ctx context.Context, seg segment.Segment) (segment.Segment, error) {
	got, err := m.Store.CreateSegment(ctx, seg)
	if err == nil {
		m.mu.Lock()
		if !slices.Contains(m.tenants, seg.Tenant) {
			m.tenants = append(m.tenants, seg.Tenant)
		}
		m.mu.Unlock()
	}
	return got, err
}

// others returns the tenants other than tenant.
func (m *gmTenants) others(tenant scrm.TenantID) []scrm.TenantID {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []scrm.TenantID
	for _, t := range m.tenants {
		if t != tenant {
			out = append(out, t)
		}
	}
	return out
}

// gmContainsAnyTenant looks a membership up by segment and customer alone
// (a query without the tenant): another tenant's c1 is a member here.
type gmContainsAnyTenant struct{ *gmTenants }

func (m *gmContainsAnyTenant) Contains(ctx context.Context, tenant scrm.TenantID, seg string, customer scrm.CustomerID) (bool, error) {
	ok, err := m.Store.Contains(ctx, tenant, seg, customer)
	if err != nil || ok {
		return ok, err
	}
	for _, t := range m.others(tenant) {
		if in, err := m.Store.Contains(ctx, t, seg, customer); err == nil && in {
			return true, nil
		}
	}
	return false, nil
}

// gmSizeAnyTenant counts the members of every tenant's segment of that ID.
type gmSizeAnyTenant struct{ *gmTenants }

func (m *gmSizeAnyTenant) Size(ctx context.Context, tenant scrm.TenantID, seg string) (int, error) {
	n, err := m.Store.Size(ctx, tenant, seg)
	if err != nil {
		return n, err
	}
	for _, t := range m.others(tenant) {
		if k, err := m.Store.Size(ctx, t, seg); err == nil {
			n += k
		}
	}
	return n, nil
}

// gmGetSegmentAnyTenant finds a segment by its ID alone.
type gmGetSegmentAnyTenant struct{ *gmTenants }

func (m *gmGetSegmentAnyTenant) GetSegment(ctx context.Context, tenant scrm.TenantID, id string) (segment.Segment, error) {
	seg, err := m.Store.GetSegment(ctx, tenant, id)
	if errors.Is(err, scrm.ErrNotFound) {
		for _, t := range m.others(tenant) {
			if got, err := m.Store.GetSegment(ctx, t, id); err == nil {
				return got, nil
			}
		}
	}
	return seg, err
}

// gmMembers pages through members the mutant's own way: it orders them
// with cmp and starts after (or, with inclusive, at) the cursor.
type gmMembers struct {
	segment.Store
	cmp       func(a, b string) int
	inclusive bool
}

// gmCollate orders IDs the way a database collation would: case folded
// and punctuation ignored first, bytes only to break ties.
func gmCollate(a, b string) int {
	key := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '-' || r == '_' {
				return -1
			}
			return r
		}, strings.ToLower(s))
	}
	return cmp.Or(strings.Compare(key(a), key(b)), strings.Compare(a, b))
}

func (m *gmMembers) Members(ctx context.Context, p segment.ListMembersParams) (segment.MemberPage, error) {
	var all []scrm.CustomerID
	q := segment.ListMembersParams{Tenant: p.Tenant, Segment: p.Segment, Limit: 1000}
	for {
		page, err := m.Store.Members(ctx, q)
		if err != nil {
			return segment.MemberPage{}, err
		}
		all = append(all, page.Customers...)
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	slices.SortFunc(all, func(a, b scrm.CustomerID) int { return m.cmp(string(a), string(b)) })
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	var out segment.MemberPage
	for _, c := range all {
		if p.Cursor != "" {
			d := m.cmp(string(c), p.Cursor)
			if d < 0 || (d == 0 && !m.inclusive) {
				continue
			}
		}
		if len(out.Customers) == limit {
			out.Next = string(out.Customers[limit-1])
			break
		}
		out.Customers = append(out.Customers, c)
	}
	return out, nil
}

// gmUnreportedCursorNoIn keys its cursor by segment, customer and Version,
// without the In: a page that ends on a customer's exit skips the entry at
// the same version, whose event is then never published.
type gmUnreportedCursorNoIn struct{ segment.Store }

func (m *gmUnreportedCursorNoIn) ListUnreported(ctx context.Context, p segment.ListUnreportedParams) (segment.UnreportedPage, error) {
	var all []segment.Unreported
	q := p
	q.Cursor, q.Limit = "", 1000
	for {
		page, err := m.Store.ListUnreported(ctx, q)
		if err != nil {
			return segment.UnreportedPage{}, err
		}
		all = append(all, page.Changes...)
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	key := func(u segment.Unreported) string {
		return fmt.Sprintf("%s\x00%s\x00%020d", u.Segment, u.Customer, u.Version)
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	var out segment.UnreportedPage
	for _, u := range all {
		if p.Cursor != "" && key(u) <= p.Cursor {
			continue
		}
		if len(out.Changes) == limit {
			out.Next = key(out.Changes[limit-1])
			break
		}
		out.Changes = append(out.Changes, u)
	}
	return out, nil
}
