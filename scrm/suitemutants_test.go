package scrm_test

// Mutation tests of the kernel's conformance suites (scrmtest.Run*StoreTests):
// each mutant is a memory store with one method broken the way a plausible
// host implementation would break it. TestKMSuiteMutants runs the suite
// against every mutant in a child process (TestKMSuiteMutantChild) and
// requires the suite to fail it, in the subtest named.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// kmMutEnv names the mutant a child process runs its suite against.
const kmMutEnv = "SCRMKIT_KERNEL_MUTANT"

// kmSuiteMutant is one broken store and where its suite must catch it.
type kmSuiteMutant struct {
	name string
	// run is the path of the suite's subtests to run (a -test.run pattern
	// beneath TestKMSuiteMutantChild); want is the subtest that must fail.
	run, want string
	// suite runs the conformance suite against fresh mutants.
	suite func(t *testing.T)
}

// kmDir, kmProf, kmStaff and kmGroup run one suite against the mutant mk
// builds around a fresh memory store.
func kmDir(mk func(scrm.DirectoryStore) scrm.DirectoryStore) func(*testing.T) {
	return func(t *testing.T) {
		scrmtest.RunDirectoryStoreTests(t, func(*testing.T) scrm.DirectoryStore { return mk(scrm.NewMemoryDirectoryStore()) })
	}
}

func kmProf(mk func(scrm.ProfileStore) scrm.ProfileStore) func(*testing.T) {
	return func(t *testing.T) {
		scrmtest.RunProfileStoreTests(t, func(*testing.T) scrm.ProfileStore { return mk(scrm.NewMemoryProfileStore()) })
	}
}

func kmStaff(mk func(scrm.StaffStore) scrm.StaffStore) func(*testing.T) {
	return func(t *testing.T) {
		scrmtest.RunStaffStoreTests(t, func(*testing.T) scrm.StaffStore { return mk(scrm.NewMemoryStaffStore()) })
	}
}

func kmGroup(mk func(scrm.GroupStore) scrm.GroupStore) func(*testing.T) {
	return func(t *testing.T) {
		scrmtest.RunGroupStoreTests(t, func(*testing.T) scrm.GroupStore { return mk(scrm.NewMemoryGroupStore()) })
	}
}

var kmSuiteMutants = []kmSuiteMutant{
	// Gaps the suites had: each has its own conformance case now.
	{"DirSetAttrsReadModifyWrite", "ConcurrentSetAttrsLoseNothing", "ConcurrentSetAttrsLoseNothing",
		kmDir(func(s scrm.DirectoryStore) scrm.DirectoryStore { return &kmDirAttrsRMW{DirectoryStore: s} })},
	{"ProfileEventRecordedBeforeVersionCheck", "VersionConflictRecordsNoEvent", "VersionConflictRecordsNoEvent",
		kmProf(func(s scrm.ProfileStore) scrm.ProfileStore {
			return &kmProfEventFirst{ProfileStore: s, seen: map[string]bool{}}
		})},
	{"ProfileUpdaterEventIDsPerCustomer", "UpdaterEventIDsPerTenant", "UpdaterEventIDsPerTenant",
		kmProf(func(s scrm.ProfileStore) scrm.ProfileStore { return &kmProfUpdaterPerCustomer{ProfileStore: s} })},
	{"ProfileUpdaterReplayReturnsEmpty", "UpdaterReplayReturnsStored", "UpdaterReplayReturnsStored",
		kmProf(func(s scrm.ProfileStore) scrm.ProfileStore { return &kmProfReplayEmpty{ProfileStore: s} })},
	{"StaffRoundRobinAcrossTenants", "RoundRobinPerTenant", "RoundRobinPerTenant",
		kmStaff(func(s scrm.StaffStore) scrm.StaffStore {
			return &kmStaffOwnCounter{StaffStore: s, rr: map[string]uint64{}}
		})},
	{"StaffTransfersTakeNoTurns", "StoreRuleTransferTakesTurns", "StoreRuleTransferTakesTurns",
		kmStaff(func(s scrm.StaffStore) scrm.StaffStore {
			return &kmStaffOwnCounter{StaffStore: s, perTenant: true, rr: map[string]uint64{}}
		})},
	{"StaffReplayForgetsDeactivated", "DeactivateReplayReturnsOriginal", "DeactivateReplayReturnsOriginal",
		kmStaff(func(s scrm.StaffStore) scrm.StaffStore { return &kmStaffReplayDeactivated{StaffStore: s} })},
	{"GroupPutClearsMembership", "PutGroupKeepsMembership", "PutGroupKeepsMembership",
		kmGroup(func(s scrm.GroupStore) scrm.GroupStore { return &kmGroupPutResets{GroupStore: s} })},
	{"GroupFirstOwnerLastWriteWins", "FirstOwnerEarliestKept", "FirstOwnerEarliestKept",
		kmGroup(func(s scrm.GroupStore) scrm.GroupStore { return &kmGroupOwnerLWW{GroupStore: s} })},
	{"GroupAddTieFirstArrival", "EarliestAddTieByEventID", "EarliestAddTieByEventID",
		kmGroup(func(s scrm.GroupStore) scrm.GroupStore {
			return &kmGroupAddTie{GroupStore: s, first: map[string]time.Time{}}
		})},
	{"GroupStaleJoinUncounted", "StaleJoinStillCounts", "StaleJoinStillCounts",
		kmGroup(func(s scrm.GroupStore) scrm.GroupStore {
			return &kmGroupStaleJoin{GroupStore: s, latest: map[string]time.Time{}, seen: map[string]bool{}}
		})},
	{"GroupJoinStrictlyAfterAdd", "JoinAtAddCounts", "JoinAtAddCounts",
		kmGroup(func(s scrm.GroupStore) scrm.GroupStore { return &kmGroupStrictJoin{GroupStore: s} })},
	{"GroupsOfByJoinTime", "GroupsOfInGroupIDOrder", "GroupsOfInGroupIDOrder",
		kmGroup(func(s scrm.GroupStore) scrm.GroupStore { return &kmGroupsOfByTime{GroupStore: s} })},

	// Mutants the suites already caught.
	{"DirGetSharesAttrs", "CopiesNotAliases", "CopiesNotAliases",
		kmDir(func(s scrm.DirectoryStore) scrm.DirectoryStore {
			return &kmDirSharedGet{DirectoryStore: s, cache: map[scrm.CustomerID]scrm.Customer{}}
		})},
	{"DirListCursorInclusive", "ListPages", "ListPages",
		kmDir(func(s scrm.DirectoryStore) scrm.DirectoryStore { return &kmDirListInclusive{DirectoryStore: s} })},
	{"ProfileSaveIgnoresVersion", "VersionConflict", "VersionConflict",
		kmProf(func(s scrm.ProfileStore) scrm.ProfileStore { return &kmProfNoVersion{ProfileStore: s} })},
	{"ProfileSaveEventIDsPerCustomer", "EventIDRecordedOnce", "EventIDRecordedOnce",
		kmProf(func(s scrm.ProfileStore) scrm.ProfileStore { return &kmProfSavePerCustomer{ProfileStore: s} })},
	{"StaffReplayIgnoresFingerprint", "TransferIdempotent", "TransferIdempotent",
		kmStaff(func(s scrm.StaffStore) scrm.StaffStore {
			return &kmStaffNoFingerprint{StaffStore: s, done: map[string]scrm.TransferResult{}}
		})},
	{"StaffAssignOwnedDoesNothing", "AssignNamed", "AssignNamed",
		kmStaff(func(s scrm.StaffStore) scrm.StaffStore { return &kmStaffAssignNoConflict{StaffStore: s} })},
	{"GroupEventIDsPerPair", "EventIDOnce", "EventIDOnce",
		kmGroup(func(s scrm.GroupStore) scrm.GroupStore { return &kmGroupEventPerPair{GroupStore: s} })},
	{"GroupLastArrivalWins", "OutOfOrder", "OutOfOrder",
		kmGroup(func(s scrm.GroupStore) scrm.GroupStore { return &kmGroupLastArrival{GroupStore: s} })},
}

// kmSuiteMutantsList converts kmSuiteMutants for package mutants
// (each Suite captures its own element).
func kmSuiteMutantsList() []mutants.Mutant {
	all := slices.Concat(kmSuiteMutants, kmSuiteMutants2)
	ms := make([]mutants.Mutant, 0, len(all))
	for _, m := range all {
		ms = append(ms, mutants.Mutant{Name: m.name, Run: m.run, Want: m.want,
			Suite: m.suite})
	}
	return ms
}

// TestKMSuiteMutantChild runs a suite against the mutant named by kmMutEnv;
// it is TestKMSuiteMutants' child process and skips otherwise.
func TestKMSuiteMutantChild(t *testing.T) { mutants.Child(t, kmMutEnv, kmSuiteMutantsList()) }

// TestKMSuiteMutants proves that the conformance suites fail every mutant.
func TestKMSuiteMutants(t *testing.T) {
	mutants.Spawn(t, kmMutEnv, "TestKMSuiteMutantChild", kmSuiteMutantsList())
}

// ---- DirectoryStore mutants ----

// kmDirAttrsRMW implements SetAttrs as a read-modify-write of the whole
// attribute map outside any lock (SELECT attrs; merge; UPDATE ... SET attrs
// = $1, the UPDATE itself atomic: mu), so that concurrent calls lose each
// other's attributes.
type kmDirAttrsRMW struct {
	scrm.DirectoryStore
	ov mutants.Overlap // widens the read-to-write window
	mu sync.Mutex      // the UPDATE: one write of the whole map at a time
}

func (m *kmDirAttrsRMW) SetAttrs(ctx context.Context, p scrm.SetAttrsParams) error {
	c, err := m.Get(ctx, p.Tenant, p.Customer)
	if err != nil {
		return err
	}
	if c.MergedInto != "" {
		if c, err = m.Get(ctx, p.Tenant, c.MergedInto); err != nil {
			return err
		}
	}
	attrs := maps.Clone(c.Attrs)
	if attrs == nil {
		attrs = map[string]any{}
	}
	for k, v := range p.Attrs {
		if v == nil {
			delete(attrs, k)
		} else {
			attrs[k] = v
		}
	}
	m.ov.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, err := m.Get(ctx, p.Tenant, c.ID)
	if err != nil {
		return err
	}
	write := map[string]any{}
	for k := range cur.Attrs {
		if _, ok := attrs[k]; !ok {
			write[k] = nil
		}
	}
	maps.Copy(write, attrs)
	return m.DirectoryStore.SetAttrs(ctx, scrm.SetAttrsParams{Tenant: p.Tenant, Customer: c.ID, Attrs: write})
}

// kmDirSharedGet caches the customers Get returns and hands the same maps
// out again until a write.
type kmDirSharedGet struct {
	scrm.DirectoryStore
	mu    sync.Mutex
	cache map[scrm.CustomerID]scrm.Customer
}

func (m *kmDirSharedGet) Get(ctx context.Context, tenant scrm.TenantID, id scrm.CustomerID) (scrm.Customer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.cache[id]; ok && c.Tenant == tenant {
		return c, nil
	}
	c, err := m.DirectoryStore.Get(ctx, tenant, id)
	if err == nil {
		m.cache[id] = c
	}
	return c, err
}

func (m *kmDirSharedGet) SetAttrs(ctx context.Context, p scrm.SetAttrsParams) error {
	m.mu.Lock()
	clear(m.cache)
	m.mu.Unlock()
	return m.DirectoryStore.SetAttrs(ctx, p)
}

func (m *kmDirSharedGet) Resolve(ctx context.Context, p scrm.ResolveParams) (scrm.ResolveResult, error) {
	m.mu.Lock()
	clear(m.cache)
	m.mu.Unlock()
	return m.DirectoryStore.Resolve(ctx, p)
}

// kmDirListInclusive starts a List page at its cursor (WHERE id >= $1).
type kmDirListInclusive struct{ scrm.DirectoryStore }

func (m *kmDirListInclusive) List(ctx context.Context, p scrm.ListCustomersParams) (scrm.CustomerPage, error) {
	page, err := m.DirectoryStore.List(ctx, p)
	if err != nil || p.Cursor == "" {
		return page, err
	}
	if c, err := m.Get(ctx, p.Tenant, scrm.CustomerID(p.Cursor)); err == nil && c.MergedInto == "" {
		page.Customers = append([]scrm.Customer{c}, page.Customers...)
	}
	return page, nil
}

// ---- ProfileStore mutants ----

// kmProfEventFirst records a Save's event ID in a table of its own before
// the versioned write, and keeps it when the version check then fails.
type kmProfEventFirst struct {
	scrm.ProfileStore
	mu   sync.Mutex
	seen map[string]bool
}

func (m *kmProfEventFirst) Save(ctx context.Context, p scrm.SaveProfileParams) (int64, error) {
	if err := scrm.CheckContext(ctx, "km"); err != nil {
		return 0, err
	}
	if p.EventID != "" && p.Profile != nil {
		k := string(p.Profile.Tenant) + "\x00" + p.EventID
		m.mu.Lock()
		dup := m.seen[k]
		m.seen[k] = true
		m.mu.Unlock()
		if dup {
			return 0, scrm.Errorf(scrm.ErrConflict, "km", "event %s already applied", p.EventID)
		}
	}
	return m.ProfileStore.Save(ctx, scrm.SaveProfileParams{Profile: p.Profile})
}

func (m *kmProfEventFirst) Applied(ctx context.Context, tenant scrm.TenantID, eventID string) (bool, error) {
	if _, err := m.ProfileStore.Applied(ctx, tenant, eventID); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[string(tenant)+"\x00"+eventID], nil
}

// kmProfUpdaterPerCustomer is a ProfileUpdater that keys the event IDs it
// records by customer (a composite key (tenant, customer, event)).
type kmProfUpdaterPerCustomer struct{ scrm.ProfileStore }

func (m *kmProfUpdaterPerCustomer) UpdateProfile(ctx context.Context, p scrm.UpdateProfileParams, fn func(*scrm.Profile) error) (*scrm.Profile, bool, error) {
	if p.EventID != "" {
		p.EventID = string(p.Customer) + "/" + p.EventID
	}
	return m.ProfileStore.(scrm.ProfileUpdater).UpdateProfile(ctx, p, fn)
}

// kmProfReplayEmpty is a ProfileUpdater that answers a replayed event with
// an empty profile instead of the stored one.
type kmProfReplayEmpty struct{ scrm.ProfileStore }

func (m *kmProfReplayEmpty) UpdateProfile(ctx context.Context, p scrm.UpdateProfileParams, fn func(*scrm.Profile) error) (*scrm.Profile, bool, error) {
	if p.EventID != "" {
		if done, err := m.Applied(ctx, p.Tenant, p.EventID); err == nil && done {
			return scrm.NewProfile(p.Tenant, p.Customer), false, nil
		}
	}
	return m.ProfileStore.(scrm.ProfileUpdater).UpdateProfile(ctx, p, fn)
}

// kmProfNoVersion saves whatever version is stored (last write wins).
type kmProfNoVersion struct{ scrm.ProfileStore }

func (m *kmProfNoVersion) Save(ctx context.Context, p scrm.SaveProfileParams) (int64, error) {
	if p.Profile != nil {
		c := p.Profile.Clone()
		c.Version = 0
		if cur, err := m.Get(ctx, c.Tenant, c.Customer); err == nil {
			c.Version = cur.Version
		}
		p.Profile = c
	}
	return m.ProfileStore.Save(ctx, p)
}

// kmProfSavePerCustomer keys the event IDs Save records by customer.
type kmProfSavePerCustomer struct{ scrm.ProfileStore }

func (m *kmProfSavePerCustomer) Save(ctx context.Context, p scrm.SaveProfileParams) (int64, error) {
	if p.EventID != "" && p.Profile != nil {
		p.EventID = string(p.Profile.Customer) + "/" + p.EventID
	}
	return m.ProfileStore.Save(ctx, p)
}

// ---- StaffStore mutants ----

// kmStaffOwnCounter picks round-robin owners with a counter of its own
// that Transfer does not advance, keyed by store alone unless perTenant.
type kmStaffOwnCounter struct {
	scrm.StaffStore
	perTenant bool
	mu        sync.Mutex
	rr        map[string]uint64
}

func (m *kmStaffOwnCounter) Assign(ctx context.Context, p scrm.AssignParams) (scrm.AssignResult, error) {
	if p.Staff != "" || p.Store == "" {
		return m.StaffStore.Assign(ctx, p)
	}
	if err := scrm.CheckContext(ctx, "km"); err != nil {
		return scrm.AssignResult{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, err := m.Owner(ctx, p.Tenant, p.Customer); err == nil {
		return scrm.AssignResult{Change: c}, nil
	}
	page, err := m.ListStaff(ctx, scrm.ListStaffParams{Tenant: p.Tenant, Store: p.Store, Limit: 1000})
	if err != nil {
		return scrm.AssignResult{}, err
	}
	var active []string
	for _, s := range page.Staff {
		if s.Active {
			active = append(active, s.ID)
		}
	}
	if len(active) == 0 {
		return m.StaffStore.Assign(ctx, p)
	}
	key := p.Store
	if m.perTenant {
		key = string(p.Tenant) + "/" + p.Store
	}
	n := m.rr[key]
	m.rr[key] = n + 1
	p.Staff = active[n%uint64(len(active))]
	return m.StaffStore.Assign(ctx, p)
}

// kmStaffReplayDeactivated answers a replayed deactivation with
// Deactivated false (it recomputes the flag from the staff member, who is
// inactive already).
type kmStaffReplayDeactivated struct{ scrm.StaffStore }

func (m *kmStaffReplayDeactivated) Transfer(ctx context.Context, p scrm.TransferParams) (scrm.TransferResult, error) {
	res, err := m.StaffStore.Transfer(ctx, p)
	if res.Replayed {
		res.Deactivated = false
	}
	return res, err
}

// kmStaffNoFingerprint replays any earlier transfer under the same key,
// whatever the payload.
type kmStaffNoFingerprint struct {
	scrm.StaffStore
	mu   sync.Mutex
	done map[string]scrm.TransferResult
}

func (m *kmStaffNoFingerprint) Transfer(ctx context.Context, p scrm.TransferParams) (scrm.TransferResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := string(p.Tenant) + "\x00" + p.IdempotencyKey
	if r, ok := m.done[k]; ok {
		r.Changes = slices.Clone(r.Changes)
		r.Replayed = true
		return r, nil
	}
	res, err := m.StaffStore.Transfer(ctx, p)
	if err == nil {
		m.done[k] = scrm.TransferResult{Changes: slices.Clone(res.Changes), Deactivated: res.Deactivated}
	}
	return res, err
}

// kmStaffAssignNoConflict answers a named assignment of a customer owned
// by someone else with the existing owner instead of ErrConflict (INSERT
// ... ON CONFLICT DO NOTHING).
type kmStaffAssignNoConflict struct{ scrm.StaffStore }

func (m *kmStaffAssignNoConflict) Assign(ctx context.Context, p scrm.AssignParams) (scrm.AssignResult, error) {
	res, err := m.StaffStore.Assign(ctx, p)
	var e *scrm.Error
	if errors.As(err, &e) && e.Code == scrm.ErrConflict && e.Field == "Customer" {
		c, oerr := m.Owner(ctx, p.Tenant, p.Customer)
		if oerr == nil {
			return scrm.AssignResult{Change: c}, nil
		}
	}
	return res, err
}

// ---- GroupStore mutants ----

// kmGroupPutResets replaces a group by deleting and re-inserting it, and
// its memberships go with it (ON DELETE CASCADE).
type kmGroupPutResets struct {
	scrm.GroupStore
	n atomic.Int64
}

func (m *kmGroupPutResets) PutGroup(ctx context.Context, g scrm.Group) error {
	if err := m.GroupStore.PutGroup(ctx, g); err != nil {
		return err
	}
	page, err := m.Members(ctx, scrm.ListMembersParams{Tenant: g.Tenant, Group: g.ID, Limit: 1000})
	if err != nil {
		return err
	}
	for _, ms := range page.Members {
		_, err := m.ApplyMembership(ctx, scrm.MembershipParams{Tenant: g.Tenant, Group: g.ID, Customer: ms.Customer,
			At: ms.JoinedAt, EventID: fmt.Sprintf("km-reset-%d", m.n.Add(1))})
		if err != nil {
			return err
		}
	}
	return nil
}

// kmGroupOwnerLWW keeps the last first-owner record it is given rather
// than the earliest (an upsert without a WHERE).
type kmGroupOwnerLWW struct {
	scrm.GroupStore
	n atomic.Int64
}

func (m *kmGroupOwnerLWW) RecordFirstOwner(ctx context.Context, p scrm.AttributionParams) error {
	p.At = time.Unix(0, 0).Add(-time.Duration(m.n.Add(1)) * time.Second) // each call "earlier" than the last
	return m.GroupStore.RecordFirstOwner(ctx, p)
}

// kmGroupAddTie keeps the first customer.added it got among those at the
// same time, whatever their event IDs (WHERE at < $1 only).
type kmGroupAddTie struct {
	scrm.GroupStore
	mu    sync.Mutex
	first map[string]time.Time
}

func (m *kmGroupAddTie) RecordAdded(ctx context.Context, p scrm.AttributionParams) error {
	if err := scrm.CheckContext(ctx, "km"); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := string(p.Tenant) + "\x00" + string(p.Customer)
	if at, ok := m.first[k]; ok && at.Equal(p.At) {
		return nil
	}
	if at, ok := m.first[k]; !ok || p.At.Before(at) {
		m.first[k] = p.At
	}
	return m.GroupStore.RecordAdded(ctx, p)
}

// kmGroupStaleJoin records a join's time only when the join takes effect,
// so a join delivered after a later leave is not counted.
type kmGroupStaleJoin struct {
	scrm.GroupStore
	mu     sync.Mutex
	latest map[string]time.Time
	seen   map[string]bool
}

func (m *kmGroupStaleJoin) ApplyMembership(ctx context.Context, p scrm.MembershipParams) (scrm.MembershipResult, error) {
	if err := scrm.CheckContext(ctx, "km"); err != nil {
		return scrm.MembershipResult{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ek := string(p.Tenant) + "\x00" + p.EventID
	if !m.seen[ek] {
		m.seen[ek] = true
		k := string(p.Tenant) + "\x00" + p.Group + "\x00" + string(p.Customer)
		latest, ok := m.latest[k]
		if p.Joined && ok && p.At.Before(latest) {
			p.Joined = false // older than the state in effect: changes nothing, records no join
		}
		if !ok || p.At.After(latest) {
			m.latest[k] = p.At
		}
	}
	return m.GroupStore.ApplyMembership(ctx, p)
}

// kmGroupStrictJoin counts only joins strictly after AddedAt.
type kmGroupStrictJoin struct{ scrm.GroupStore }

func (m *kmGroupStrictJoin) ListAcquisitions(ctx context.Context, p scrm.ListAcquisitionsParams) (scrm.AcquisitionPage, error) {
	page, err := m.GroupStore.ListAcquisitions(ctx, p)
	for i, a := range page.Acquisitions {
		if a.FirstJoinedAt.Equal(a.AddedAt) {
			page.Acquisitions[i].FirstJoinedAt = time.Time{}
		}
	}
	return page, err
}

// kmGroupsOfByTime returns a customer's memberships oldest join first.
type kmGroupsOfByTime struct{ scrm.GroupStore }

func (m *kmGroupsOfByTime) GroupsOf(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) ([]scrm.Membership, error) {
	ms, err := m.GroupStore.GroupsOf(ctx, tenant, customer)
	slices.SortStableFunc(ms, func(a, b scrm.Membership) int { return a.JoinedAt.Compare(b.JoinedAt) })
	return ms, err
}

// kmGroupEventPerPair keys applied event IDs by (group, customer).
type kmGroupEventPerPair struct{ scrm.GroupStore }

func (m *kmGroupEventPerPair) ApplyMembership(ctx context.Context, p scrm.MembershipParams) (scrm.MembershipResult, error) {
	p.EventID = p.Group + "/" + string(p.Customer) + "/" + p.EventID
	return m.GroupStore.ApplyMembership(ctx, p)
}

// kmGroupLastArrival lets the last event delivered decide membership (it
// stamps events with their arrival).
type kmGroupLastArrival struct {
	scrm.GroupStore
	n atomic.Int64
}

func (m *kmGroupLastArrival) ApplyMembership(ctx context.Context, p scrm.MembershipParams) (scrm.MembershipResult, error) {
	p.At = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(m.n.Add(1)) * time.Second)
	return m.GroupStore.ApplyMembership(ctx, p)
}
