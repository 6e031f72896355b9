package scrm_test

// More kernel store mutants (see suitemutants_test.go): ownership reads,
// staff listings and channel codes, group listings.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/scrm"
)

// kmSuiteMutants2 extends kmSuiteMutants; kmSuiteMutantsList runs both.
var kmSuiteMutants2 = []kmSuiteMutant{
	// Gaps the suites had: each has its own conformance case now.
	{"StaffCodeIndexAcrossTenants", "CodesPerTenant", "CodesPerTenant",
		kmStaff(func(s scrm.StaffStore) scrm.StaffStore {
			return &kmStaffCodeGlobal{StaffStore: s, byCode: map[string]string{}}
		})},
	{"StaffCodeCheckThenWrite", "ConcurrentPutStaffOneCodeHolder", "ConcurrentPutStaffOneCodeHolder",
		kmStaff(func(s scrm.StaffStore) scrm.StaffStore {
			return &kmStaffCodeRace{StaffStore: s, codes: map[string][]string{}, holder: map[string]string{}}
		})},

	// Mutants the suites already caught.
	{"StaffHistoryNewestFirst", "TransferAll", "TransferAll",
		kmStaff(func(s scrm.StaffStore) scrm.StaffStore { return &kmStaffHistoryReversed{StaffStore: s} })},
	{"StaffOwnerFirstChange", "TransferAll", "TransferAll",
		kmStaff(func(s scrm.StaffStore) scrm.StaffStore { return &kmStaffOwnerFirst{StaffStore: s} })},
	{"StaffCustomersOfKeepsFormer", "TransferAll", "TransferAll",
		kmStaff(func(s scrm.StaffStore) scrm.StaffStore {
			return &kmStaffFormer{StaffStore: s, former: map[string][]scrm.CustomerID{}}
		})},
	{"StaffListIgnoresStore", "ListStaffPages", "ListStaffPages",
		kmStaff(func(s scrm.StaffStore) scrm.StaffStore { return &kmStaffListAllStores{StaffStore: s} })},
	{"GroupMembersCursorInclusive", "MembersPages", "MembersPages",
		kmGroup(func(s scrm.GroupStore) scrm.GroupStore { return &kmGroupMembersInclusive{GroupStore: s} })},
	{"GroupSizeCountsLeavers", "JoinLeave", "JoinLeave",
		kmGroup(func(s scrm.GroupStore) scrm.GroupStore {
			return &kmGroupSizeEver{GroupStore: s, joined: map[string]map[scrm.CustomerID]bool{}}
		})},
}

// ---- StaffStore mutants ----

// kmStaffCodeGlobal keeps a channel-code index keyed by the code alone
// (an upsert, the tenant left out of the key) and resolves a code to the
// staff member of that ID in the caller's tenant: a code two tenants use
// resolves to whichever tenant put it last.
type kmStaffCodeGlobal struct {
	scrm.StaffStore
	mu     sync.Mutex
	byCode map[string]string
}

func (m *kmStaffCodeGlobal) PutStaff(ctx context.Context, s scrm.Staff) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.StaffStore.PutStaff(ctx, s); err != nil {
		return err
	}
	for _, c := range s.Codes {
		m.byCode[c] = s.ID
	}
	return nil
}

func (m *kmStaffCodeGlobal) StaffByCode(ctx context.Context, tenant scrm.TenantID, code string) (scrm.Staff, error) {
	if _, err := m.StaffStore.StaffByCode(ctx, tenant, code); err != nil && !errors.Is(err, scrm.ErrNotFound) {
		return scrm.Staff{}, err
	}
	m.mu.Lock()
	id, ok := m.byCode[code]
	m.mu.Unlock()
	if ok {
		if st, err := m.GetStaff(ctx, tenant, id); err == nil && slices.Contains(st.Codes, code) {
			return st, nil
		}
	}
	return scrm.Staff{}, scrm.Errorf(scrm.ErrNotFound, "km", "no staff holds code %s", code)
}

// kmStaffHistoryReversed lists a customer's changes newest first.
type kmStaffHistoryReversed struct{ scrm.StaffStore }

func (m *kmStaffHistoryReversed) History(ctx context.Context, tenant scrm.TenantID, c scrm.CustomerID) ([]scrm.OwnerChange, error) {
	h, err := m.StaffStore.History(ctx, tenant, c)
	slices.Reverse(h)
	return h, err
}

// kmStaffOwnerFirst answers Owner with the customer's first change (the
// first owner, not the current one).
type kmStaffOwnerFirst struct{ scrm.StaffStore }

func (m *kmStaffOwnerFirst) Owner(ctx context.Context, tenant scrm.TenantID, c scrm.CustomerID) (scrm.OwnerChange, error) {
	ch, err := m.StaffStore.Owner(ctx, tenant, c)
	if err != nil {
		return ch, err
	}
	h, err := m.History(ctx, tenant, c)
	if err != nil || len(h) == 0 {
		return ch, err
	}
	return h[0], nil
}

// kmStaffFormer lists under a staff member the customers transferred away
// from them too (ownership read from the history, not the current owner).
type kmStaffFormer struct {
	scrm.StaffStore
	mu     sync.Mutex
	former map[string][]scrm.CustomerID
}

func (m *kmStaffFormer) Transfer(ctx context.Context, p scrm.TransferParams) (scrm.TransferResult, error) {
	res, err := m.StaffStore.Transfer(ctx, p)
	if err == nil && !res.Replayed {
		m.mu.Lock()
		k := string(p.Tenant) + "\x00" + p.From
		for _, c := range res.Changes {
			if !slices.Contains(m.former[k], c.Customer) {
				m.former[k] = append(m.former[k], c.Customer)
			}
		}
		m.mu.Unlock()
	}
	return res, err
}

func (m *kmStaffFormer) CustomersOf(ctx context.Context, p scrm.CustomersOfParams) (scrm.OwnedPage, error) {
	all, err := m.StaffStore.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: p.Tenant, Staff: p.Staff, Limit: 1000})
	if err != nil {
		return all, err
	}
	m.mu.Lock()
	for _, c := range m.former[string(p.Tenant)+"\x00"+p.Staff] {
		if !slices.Contains(all.Customers, c) {
			all.Customers = append(all.Customers, c)
		}
	}
	m.mu.Unlock()
	slices.Sort(all.Customers)
	var page scrm.OwnedPage
	page.Total = len(all.Customers)
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	for _, c := range all.Customers {
		if p.Cursor != "" && string(c) <= p.Cursor {
			continue
		}
		if len(page.Customers) == limit {
			page.Next = string(page.Customers[limit-1])
			break
		}
		page.Customers = append(page.Customers, c)
	}
	return page, nil
}

// kmStaffListAllStores ignores the Store filter of ListStaff.
type kmStaffListAllStores struct{ scrm.StaffStore }

func (m *kmStaffListAllStores) ListStaff(ctx context.Context, p scrm.ListStaffParams) (scrm.StaffPage, error) {
	p.Store = ""
	return m.StaffStore.ListStaff(ctx, p)
}

// ---- GroupStore mutants ----

// kmGroupMembersInclusive starts a Members page at its cursor.
type kmGroupMembersInclusive struct{ scrm.GroupStore }

func (m *kmGroupMembersInclusive) Members(ctx context.Context, p scrm.ListMembersParams) (scrm.MemberPage, error) {
	if p.Cursor != "" {
		p.Cursor = p.Cursor[:len(p.Cursor)-1]
	}
	return m.GroupStore.Members(ctx, p)
}

// kmGroupSizeEver counts every customer who ever joined the group.
type kmGroupSizeEver struct {
	scrm.GroupStore
	mu     sync.Mutex
	joined map[string]map[scrm.CustomerID]bool
}

func (m *kmGroupSizeEver) ApplyMembership(ctx context.Context, p scrm.MembershipParams) (scrm.MembershipResult, error) {
	res, err := m.GroupStore.ApplyMembership(ctx, p)
	if err == nil && p.Joined {
		m.mu.Lock()
		k := string(p.Tenant) + "\x00" + p.Group
		if m.joined[k] == nil {
			m.joined[k] = map[scrm.CustomerID]bool{}
		}
		m.joined[k][p.Customer] = true
		m.mu.Unlock()
	}
	return res, err
}

func (m *kmGroupSizeEver) Size(ctx context.Context, tenant scrm.TenantID, group string) (int, error) {
	if _, err := m.GroupStore.Size(ctx, tenant, group); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.joined[string(tenant)+"\x00"+group]), nil
}

// kmStaffCodeRace keeps channel codes in a table of their own without a
// unique constraint: PutStaff checks that no one else holds the codes,
// then writes them, so that concurrent PutStaff calls each take the same
// code.
type kmStaffCodeRace struct {
	scrm.StaffStore
	ov     mutants.Overlap // widens the check-to-write window
	mu     sync.Mutex
	codes  map[string][]string // tenant + "\x00" + staff ID -> codes
	holder map[string]string   // tenant + "\x00" + code -> staff ID
}

func (m *kmStaffCodeRace) PutStaff(ctx context.Context, s scrm.Staff) error {
	tk := string(s.Tenant) + "\x00"
	m.mu.Lock()
	for i, c := range s.Codes {
		if id, ok := m.holder[tk+c]; ok && id != s.ID {
			m.mu.Unlock()
			return &scrm.Error{Code: scrm.ErrConflict, Op: "km", Field: fmt.Sprintf("Codes[%d]", i), Msg: "code taken"}
		}
	}
	m.mu.Unlock()
	m.ov.Wait()
	bare := s
	bare.Codes = nil
	if err := m.StaffStore.PutStaff(ctx, bare); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.codes[tk+s.ID] {
		if m.holder[tk+c] == s.ID {
			delete(m.holder, tk+c)
		}
	}
	m.codes[tk+s.ID] = slices.Clone(s.Codes)
	for _, c := range s.Codes {
		m.holder[tk+c] = s.ID
	}
	return nil
}

func (m *kmStaffCodeRace) withCodes(st scrm.Staff) scrm.Staff {
	m.mu.Lock()
	defer m.mu.Unlock()
	st.Codes = slices.Clone(m.codes[string(st.Tenant)+"\x00"+st.ID])
	return st
}

func (m *kmStaffCodeRace) GetStaff(ctx context.Context, tenant scrm.TenantID, id string) (scrm.Staff, error) {
	st, err := m.StaffStore.GetStaff(ctx, tenant, id)
	if err != nil {
		return st, err
	}
	return m.withCodes(st), nil
}

func (m *kmStaffCodeRace) StaffByCode(ctx context.Context, tenant scrm.TenantID, code string) (scrm.Staff, error) {
	if _, err := m.StaffStore.StaffByCode(ctx, tenant, code); !errors.Is(err, scrm.ErrNotFound) {
		return scrm.Staff{}, err
	}
	m.mu.Lock()
	id, ok := m.holder[string(tenant)+"\x00"+code]
	m.mu.Unlock()
	if !ok {
		return scrm.Staff{}, scrm.Errorf(scrm.ErrNotFound, "km", "no staff holds code %s", code)
	}
	return m.GetStaff(ctx, tenant, id)
}

func (m *kmStaffCodeRace) ListStaff(ctx context.Context, p scrm.ListStaffParams) (scrm.StaffPage, error) {
	page, err := m.StaffStore.ListStaff(ctx, p)
	for i := range page.Staff {
		page.Staff[i] = m.withCodes(page.Staff[i])
	}
	return page, err
}
