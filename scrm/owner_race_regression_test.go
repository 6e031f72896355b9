package scrm_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// pausingAssignStaffStore wraps a StaffStore: the first Assign call made
// while armed signals reached and waits for release before it reaches the
// store, opening the window between Team.Handle's staff lookup and its
// assignment.
type pausingAssignStaffStore struct {
	scrm.StaffStore
	mu      sync.Mutex
	armed   bool
	reached chan struct{}
	release chan struct{}
}

func (s *pausingAssignStaffStore) Assign(ctx context.Context, p scrm.AssignParams) (scrm.AssignResult, error) {
	s.mu.Lock()
	pause := s.armed
	s.armed = false
	s.mu.Unlock()
	if pause {
		close(s.reached)
		<-s.release
	}
	return s.StaffStore.Assign(ctx, p)
}

// TestTeamHandleStaffLeavingMidEventGivesCustomerToStoreRule: Team.Handle
// promises that a customer.added naming a staff member gets that staff
// member when active, and otherwise "the store rule for Props "store" or,
// when that is empty, for the store of the (inactive) staff member found"
// (scrm/owner.go, Team.Handle). That holds too when the staff member is
// active at the lookup and leaves (Deactivate) before the Assign: Assign
// fails with ErrInvalid "Staff", and the store rule of the staff member's
// store applies, so the customer is never left unowned. Forced
// interleaving, once through Props "staff" and once through Props
// "channel_code": Handle(customer.added c9, staff s1) looks s1 up (active)
// and pauses; Deactivate(s1) hands s1's customers to s2 (same store);
// Handle resumes. Expected: c9 owned by s2 (store rule of s1's store,
// exactly as when s1 left before the event).
func TestTeamHandleStaffLeavingMidEventGivesCustomerToStoreRule(t *testing.T) {
	for _, prop := range []string{"staff", "channel_code"} {
		t.Run(prop, func(t *testing.T) {
			ctx := context.Background()
			const tenant scrm.TenantID = "t13"
			store := &pausingAssignStaffStore{StaffStore: scrm.NewMemoryStaffStore(),
				reached: make(chan struct{}), release: make(chan struct{})}
			clock := scrmtest.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
			team := scrm.NewTeam(store, &scrm.Options{Clock: clock})
			require.NoError(t, team.PutStaff(ctx, scrm.Staff{Tenant: tenant, ID: "s1", Store: "jingan", Active: true, Codes: []string{"code-s1"}}))
			require.NoError(t, team.PutStaff(ctx, scrm.Staff{Tenant: tenant, ID: "s2", Store: "jingan", Active: true}))
			_, err := team.Assign(ctx, scrm.AssignRequest{Tenant: tenant, Customer: "c0", Staff: "s1"})
			require.NoError(t, err)
			value := "s1"
			if prop == "channel_code" {
				value = "code-s1"
			}

			store.mu.Lock()
			store.armed = true
			store.mu.Unlock()
			handleErr := make(chan error, 1)
			go func() {
				handleErr <- team.Handle(ctx, scrm.Event{ID: "add-c9", Tenant: tenant, Customer: "c9",
					Type: scrm.EventCustomerAdded, Time: clock.Now(), Props: map[string]any{prop: value}})
			}()
			<-store.reached // Handle found s1 active and is about to assign
			res, err := team.Deactivate(ctx, scrm.DeactivateRequest{Tenant: tenant, Staff: "s1", IdempotencyKey: "s1-leaves"})
			require.NoError(t, err)
			require.Len(t, res.Changes, 1, "c0 goes to s2")
			close(store.release)
			require.NoError(t, <-handleErr)

			// Control: an event naming s1 after s1 left gives the customer to s2.
			require.NoError(t, team.Handle(ctx, scrm.Event{ID: "add-c8", Tenant: tenant, Customer: "c8",
				Type: scrm.EventCustomerAdded, Time: clock.Now(), Props: map[string]any{prop: value}}))
			owner, err := team.Owner(ctx, tenant, "c8")
			require.NoError(t, err)
			require.Equal(t, "s2", owner, "control: s1 already gone at the event")

			owner, err = team.Owner(ctx, tenant, "c9")
			require.NoError(t, err, "customer c9, added through s1 who left while the event was handled, has an owner")
			require.Equal(t, "s2", owner, "by the store rule of s1's store")
		})
	}
}
