package referraltest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

func entry(id string, invitee scrm.CustomerID, order string, amount string, due time.Time) referral.Entry {
	return referral.Entry{Tenant: tenant, ID: id, Program: "p1", Kind: referral.EntryCommission, Level: 1,
		Beneficiary: "alice", Invitee: invitee, OrderID: order, Amount: scrm.Yuan(amount),
		Status: referral.EntryPending, CreatedAt: t0, DueAt: due}
}

func listAll(t *testing.T, s referral.Store, status referral.EntryStatus, dueBy time.Time) []referral.Entry {
	t.Helper()
	var out []referral.Entry
	cursor := ""
	for {
		page, err := s.ListEntries(ctx, referral.ListEntriesParams{Tenant: tenant, Status: status, DueBy: dueBy, Cursor: cursor, Limit: 3})
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Entries), 3)
		out = append(out, page.Entries...)
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

// addEntries adds entries, requiring success, and returns what AddEntries
// reports reversed.
func addEntries(t *testing.T, s referral.Store, entries ...referral.Entry) []referral.Entry {
	t.Helper()
	rev, err := s.AddEntries(ctx, tenant, entries)
	require.NoError(t, err)
	return rev
}

func testEntries(t *testing.T, newStore func(t *testing.T) referral.Store) {
	due := t0.Add(7 * 24 * time.Hour)
	t.Run("AddIdempotentAndList", func(t *testing.T) {
		s := newStore(t)
		var es []referral.Entry
		for i := range 8 {
			es = append(es, entry(string(cid("e%d", i)), cid("b%d", i), "o1", "12.34", due.Add(time.Duration(i)*time.Hour)))
		}
		assert.Empty(t, addEntries(t, s, es...), "none of an order not refunded is reversed")
		changed := es[0]
		changed.Amount = scrm.Yuan("999")
		assert.Empty(t, addEntries(t, s, changed), "an existing ID is left as it is")

		all := listAll(t, s, referral.EntryPending, time.Time{})
		require.Len(t, all, 8)
		for i, e := range all {
			assert.Equal(t, es[i].ID, e.ID, "ID order")
			assert.True(t, e.Amount.Equal(scrm.Yuan("12.34")))
			sameTime(t, es[i].DueAt, e.DueAt)
			assert.Equal(t, tenant, e.Tenant)
		}
		dueNow := listAll(t, s, referral.EntryPending, due.Add(2*time.Hour))
		assert.Len(t, dueNow, 3)
		assert.Empty(t, listAll(t, s, referral.EntrySettled, time.Time{}))
		page, err := s.ListEntries(ctx, referral.ListEntriesParams{Tenant: other, Status: referral.EntryPending})
		require.NoError(t, err)
		assert.Empty(t, page.Entries)

		_, err = s.AddEntries(ctx, tenant, []referral.Entry{entry("", "b", "o", "1", due)})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		_, err = s.AddEntries(ctx, tenant, []referral.Entry{entry("ok", "b", "o", "1", due), entry("sub-fen", "b", "o", "0.001", due)})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		assert.Len(t, listAll(t, s, referral.EntryPending, time.Time{}), 8, "nothing written")
	})
	t.Run("StatusCompareAndSet", func(t *testing.T) {
		s := newStore(t)
		addEntries(t, s, entry("e1", "bob", "o1", "5", due))
		_, err := s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "nope", From: referral.EntryPending, To: referral.EntrySettling})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "e1", From: referral.EntrySettling, To: referral.EntrySettled})
		assert.ErrorIs(t, err, scrm.ErrConflict)

		n := race(20, func(int) error {
			_, err := s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "e1", From: referral.EntryPending, To: referral.EntrySettling, At: due})
			return err
		}, func(err error) { assert.ErrorIs(t, err, scrm.ErrConflict) })
		assert.Equal(t, 1, n, "exactly one caller moves it")
		assert.Len(t, listAll(t, s, referral.EntrySettling, time.Time{}), 1)
		assert.Empty(t, listAll(t, s, referral.EntryPending, time.Time{}))

		e, err := s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "e1", From: referral.EntrySettling, To: referral.EntrySettled, At: due.Add(time.Minute)})
		require.NoError(t, err)
		assert.Equal(t, referral.EntrySettled, e.Status)
		sameTime(t, due.Add(time.Minute), e.SettledAt)
		settled := listAll(t, s, referral.EntrySettled, time.Time{})
		require.Len(t, settled, 1)
		sameTime(t, due.Add(time.Minute), settled[0].SettledAt)
		_, err = s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: other, ID: "e1", From: referral.EntrySettled, To: referral.EntryReversed})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
	t.Run("NotPaidBeforeItsDueAt", func(t *testing.T) {
		s := newStore(t)
		addEntries(t, s, entry("e1", "bob", "o1", "5", due))
		for _, to := range []referral.EntryStatus{referral.EntrySettling, referral.EntrySettled} {
			_, err := s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "e1", From: referral.EntryPending, To: to, At: due.Add(-time.Second)})
			refused(t, err, scrm.ErrConflict, referral.ReasonEntryNotDue)
		}
		// Whatever DueAt a caller believes the entry has: the stored one
		// decides.
		n := race(20, func(int) error {
			_, err := s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "e1", From: referral.EntryPending, To: referral.EntrySettling, At: t0})
			return err
		}, func(err error) { refused(t, err, scrm.ErrConflict, referral.ReasonEntryNotDue) })
		assert.Zero(t, n)
		pending := listAll(t, s, referral.EntryPending, time.Time{})
		require.Len(t, pending, 1, "nothing written")
		sameTime(t, due, pending[0].DueAt)

		rev, err := s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, Invitee: "bob", OrderID: "o1", At: due.Add(-time.Hour)})
		require.NoError(t, err)
		assert.Len(t, rev, 1, "a refund inside the window still reverses it")

		addEntries(t, s, entry("e2", "carol", "o2", "5", due))
		e, err := s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "e2", From: referral.EntryPending, To: referral.EntrySettling, At: due})
		require.NoError(t, err, "due at DueAt")
		assert.Equal(t, referral.EntrySettling, e.Status)
		_, err = s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "e2", From: referral.EntryPending, To: referral.EntrySettling, At: due})
		assert.ErrorIs(t, err, scrm.ErrConflict)
		assert.Empty(t, referral.ReasonOf(err), "a status mismatch carries no Reason")
	})
	t.Run("ReverseOrder", func(t *testing.T) {
		s := newStore(t)
		addEntries(t, s,
			entry("pct", "bob", "o1", "3", due), entry("c1", "bob", "o1", "5", due),
			entry("other-order", "bob", "o2", "7", due), entry("paid", "bob", "o1", "1", due),
			entry("carol", "carol", "o1", "9", due),
		)
		// Settled when due; the refund below is delivered late.
		_, err := s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: "paid", From: referral.EntryPending, To: referral.EntrySettling, At: due})
		require.NoError(t, err)

		late, err := s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, Invitee: "bob", OrderID: "o1", At: due})
		require.NoError(t, err)
		assert.Empty(t, late, "a refund at or after DueAt reverses nothing")

		refundAt := t0.Add(24 * time.Hour)
		checkReversed := func(t *testing.T, got []referral.Entry, want ...string) {
			t.Helper()
			ids := []string{}
			for _, e := range got {
				ids = append(ids, e.ID)
				assert.Equal(t, referral.EntryReversed, e.Status, e.ID)
				assert.Equal(t, tenant, e.Tenant, e.ID)
				sameTime(t, refundAt, e.ReversedAt)
			}
			assert.ElementsMatch(t, want, ids)
		}
		rev, err := s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, Invitee: "bob", OrderID: "o1", At: refundAt})
		require.NoError(t, err)
		checkReversed(t, rev, "pct", "c1") // pending entries of that order only
		again, err := s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, Invitee: "bob", OrderID: "o1", At: refundAt.Add(time.Hour)})
		require.NoError(t, err)
		// A replay (here a later refund) moves nothing more but returns
		// the order's reversed entries again, as stored, so their events
		// can be published again.
		checkReversed(t, again, "pct", "c1")
		assert.Len(t, listAll(t, s, referral.EntryReversed, time.Time{}), 2)
		assert.Len(t, listAll(t, s, referral.EntryPending, time.Time{}), 2) // other-order, carol

		// Entries of a refunded order added later are born reversed,
		// unless due before the refund, and AddEntries returns them.
		born := addEntries(t, s, entry("late-l2", "bob", "o1", "2", due), entry("early", "bob", "o1", "2", t0.Add(time.Hour)))
		checkReversed(t, born, "late-l2")
		require.Len(t, born, 1)
		assert.True(t, born[0].Amount.Equal(scrm.Yuan("2")))
		assert.Equal(t, "p1", born[0].Program)
		assert.Equal(t, scrm.CustomerID("alice"), born[0].Beneficiary)
		assert.Equal(t, "o1", born[0].OrderID)
		sameTime(t, due, born[0].DueAt)
		rev = listAll(t, s, referral.EntryReversed, time.Time{})
		assert.Len(t, rev, 3)
		pending := listAll(t, s, referral.EntryPending, time.Time{})
		assert.Len(t, pending, 3)

		// Adding them again (a redelivered qualifying event) returns the
		// reversed ones again, those reversed by ReverseOrder included;
		// ReverseOrder returns those born reversed too.
		checkReversed(t, addEntries(t, s, entry("late-l2", "bob", "o1", "2", due), entry("early", "bob", "o1", "2", t0.Add(time.Hour)),
			entry("pct", "bob", "o1", "3", due)), "late-l2", "pct")
		rev, err = s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, Invitee: "bob", OrderID: "o1", At: refundAt})
		require.NoError(t, err)
		checkReversed(t, rev, "pct", "c1", "late-l2")
		other, err := s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, Invitee: "carol", OrderID: "o9", At: refundAt})
		require.NoError(t, err)
		assert.Empty(t, other, "an order without entries")
	})
	t.Run("TenantsAreIsolated", func(t *testing.T) {
		// Entry IDs and orders are per tenant: another tenant's entry of
		// the same ID is inserted, and its refund reverses only its own.
		s := newStore(t)
		addEntries(t, s, entry("e1", "bob", "o1", "5", due))
		theirs := entry("e1", "bob", "o1", "7", due)
		theirs.Tenant = other
		_, err := s.AddEntries(ctx, other, []referral.Entry{theirs})
		require.NoError(t, err)
		page, err := s.ListEntries(ctx, referral.ListEntriesParams{Tenant: other, Status: referral.EntryPending})
		require.NoError(t, err)
		require.Len(t, page.Entries, 1, "the other tenant's e1 is its own entry")
		assert.True(t, page.Entries[0].Amount.Equal(scrm.Yuan("7")))
		assert.Equal(t, other, page.Entries[0].Tenant)

		rev, err := s.ReverseOrder(ctx, referral.ReverseParams{Tenant: other, Invitee: "bob", OrderID: "o1", At: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Len(t, rev, 1)
		assert.Equal(t, other, rev[0].Tenant)
		assert.True(t, rev[0].Amount.Equal(scrm.Yuan("7")))
		mine := listAll(t, s, referral.EntryPending, time.Time{})
		require.Len(t, mine, 1, "another tenant's refund leaves this tenant's entries alone")
		assert.True(t, mine[0].Amount.Equal(scrm.Yuan("5")))
		assert.Empty(t, listAll(t, s, referral.EntryReversed, time.Time{}))
	})
	t.Run("RefundBeforeEntries", func(t *testing.T) {
		s := newStore(t)
		rev, err := s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, Invitee: "bob", OrderID: "o1", At: t0})
		require.NoError(t, err)
		assert.Empty(t, rev)
		born := addEntries(t, s, entry("pct", "bob", "o1", "3", due), entry("c1", "bob", "o1", "5", due), entry("o2", "bob", "o2", "5", due))
		ids := []string{}
		for _, e := range born {
			ids = append(ids, e.ID)
			assert.Equal(t, referral.EntryReversed, e.Status)
			sameTime(t, t0, e.ReversedAt)
		}
		assert.Equal(t, []string{"pct", "c1"}, ids, "the entries of the refunded order, in the order given")
		rev, err = s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, Invitee: "bob", OrderID: "o1", At: t0})
		require.NoError(t, err)
		assert.Len(t, rev, 2, "a redelivered refund returns them")
		none, err := s.AddEntries(ctx, other, []referral.Entry{entry("pct", "bob", "o1", "3", due)})
		require.NoError(t, err)
		assert.Empty(t, none, "another tenant's refund does not count")
	})
}

func grantRecord(key, fp string) referral.GrantRecord {
	return referral.GrantRecord{Tenant: tenant, Key: key, Program: "p1", Customer: "alice",
		Reward: scrm.Reward{Kind: scrm.RewardStoredValue, Amount: scrm.Yuan("12.80")}, Source: "referral:p1", Fingerprint: fp}
}

func claim(t *testing.T, s referral.Store, now time.Time, recs ...referral.GrantRecord) []referral.GrantClaim {
	t.Helper()
	got, err := s.ClaimGrants(ctx, referral.ClaimGrantsParams{Tenant: tenant, Records: recs, Now: now, Until: now.Add(time.Minute)})
	require.NoError(t, err)
	require.Len(t, got, len(recs))
	return got
}

func testGrants(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Run("ClaimCompleteRelease", func(t *testing.T) {
		s := newStore(t)
		c := claim(t, s, t0, grantRecord("k1", "fp"))
		assert.True(t, c[0].Claimed)
		assert.Equal(t, referral.GrantClaimed, c[0].Record.Status)
		sameTime(t, t0.Add(time.Minute), c[0].Record.ClaimedUntil)

		c = claim(t, s, t0.Add(time.Second), grantRecord("k1", "fp"), grantRecord("k2", "fp"))
		assert.False(t, c[0].Claimed, "held by the first claimant")
		assert.Equal(t, referral.GrantClaimed, c[0].Record.Status)
		assert.True(t, c[1].Claimed)

		c = claim(t, s, t0, grantRecord("k3", "fp"), grantRecord("k1", "other"))
		assert.ErrorIs(t, c[1].Err, scrm.ErrConflict, "same key, other payload, while in flight")
		assert.False(t, c[1].Claimed)
		assert.Equal(t, "fp", c[1].Record.Fingerprint, "the record in flight is left as it is")
		assert.NoError(t, c[0].Err)
		assert.True(t, c[0].Claimed, "the conflict is the key's alone: the others of the call go ahead")

		err := s.CompleteGrants(ctx, tenant, []string{"k1", "nope"}, t0)
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		c = claim(t, s, t0.Add(time.Second), grantRecord("k1", "fp"))
		assert.Equal(t, referral.GrantClaimed, c[0].Record.Status, "nothing written")

		require.NoError(t, s.CompleteGrants(ctx, tenant, []string{"k1"}, t0.Add(2*time.Second)))
		require.NoError(t, s.CompleteGrants(ctx, tenant, []string{"k1"}, t0.Add(3*time.Second)), "completing twice changes nothing")
		c = claim(t, s, t0.Add(time.Hour), grantRecord("k1", "fp"))
		assert.False(t, c[0].Claimed, "a done grant is never claimed again")
		assert.Equal(t, referral.GrantDone, c[0].Record.Status)
		sameTime(t, t0.Add(2*time.Second), c[0].Record.DoneAt)
		assert.True(t, c[0].Record.Reward.Amount.Equal(scrm.Yuan("12.8")))
		assert.Equal(t, scrm.CustomerID("alice"), c[0].Record.Customer)
		require.NoError(t, s.ReleaseGrants(ctx, tenant, []string{"k1", "missing"}))
		c = claim(t, s, t0.Add(time.Hour), grantRecord("k1", "fp"))
		assert.False(t, c[0].Claimed, "release leaves a done grant alone")

		require.NoError(t, s.ReleaseGrants(ctx, tenant, []string{"k2"}))
		c = claim(t, s, t0, grantRecord("k2", "fp2"))
		assert.True(t, c[0].Claimed, "a released claim can be taken again, even with another payload")
		c = claim(t, s, t0.Add(time.Minute), grantRecord("k2", "fp2"))
		assert.True(t, c[0].Claimed, "an expired lease can be taken over")

		theirs, err := s.ClaimGrants(ctx, referral.ClaimGrantsParams{Tenant: other, Records: []referral.GrantRecord{grantRecord("k1", "fp")}, Now: t0, Until: t0.Add(time.Minute)})
		require.NoError(t, err)
		assert.True(t, theirs[0].Claimed, "keys are per tenant")
	})
	t.Run("CompleteAndReleaseArePerTenant", func(t *testing.T) {
		// Keys are not unique across tenants: completing or releasing a key
		// in one tenant leaves another tenant's grant of the same key alone,
		// so that it is made exactly once there too.
		s := newStore(t)
		claimOther := func(now time.Time, rec referral.GrantRecord) referral.GrantClaim {
			t.Helper()
			rec.Tenant = other
			got, err := s.ClaimGrants(ctx, referral.ClaimGrantsParams{Tenant: other, Records: []referral.GrantRecord{rec}, Now: now, Until: now.Add(time.Minute)})
			require.NoError(t, err)
			require.Len(t, got, 1)
			return got[0]
		}
		assert.True(t, claim(t, s, t0, grantRecord("k1", "fp"), grantRecord("k2", "fp"))[0].Claimed)
		assert.True(t, claimOther(t0, grantRecord("k1", "fp")).Claimed)

		require.NoError(t, s.ReleaseGrants(ctx, other, []string{"k1"}))
		c := claim(t, s, t0.Add(time.Second), grantRecord("k1", "fp"))
		assert.False(t, c[0].Claimed, "another tenant's release leaves this tenant's claim in flight")
		assert.Equal(t, referral.GrantClaimed, c[0].Record.Status)

		assert.True(t, claimOther(t0.Add(time.Second), grantRecord("k1", "fp")).Claimed, "released in the other tenant")
		require.NoError(t, s.CompleteGrants(ctx, other, []string{"k1"}, t0.Add(2*time.Second)))
		c = claim(t, s, t0.Add(3*time.Second), grantRecord("k1", "fp"))
		assert.Equal(t, referral.GrantClaimed, c[0].Record.Status, "another tenant's completion leaves this tenant's grant to be made")
		assert.Equal(t, referral.GrantDone, claimOther(t0.Add(3*time.Second), grantRecord("k1", "fp")).Record.Status)

		err := s.CompleteGrants(ctx, other, []string{"k2"}, t0.Add(2*time.Second))
		assert.ErrorIs(t, err, scrm.ErrNotFound, "k2 has no record in the other tenant")
		c = claim(t, s, t0.Add(3*time.Second), grantRecord("k2", "fp"))
		assert.Equal(t, referral.GrantClaimed, c[0].Record.Status, "nothing written")
	})
	t.Run("SameKeyTwiceInOneCall", func(t *testing.T) {
		s := newStore(t)
		c := claim(t, s, t0, grantRecord("k", "fp"), grantRecord("k", "fp"))
		assert.True(t, c[0].Claimed)
		assert.False(t, c[1].Claimed, "one claim per key")
		assert.NoError(t, c[1].Err)
		c = claim(t, s, t0, grantRecord("k2", "fp"), grantRecord("k2", "other"))
		assert.True(t, c[0].Claimed)
		assert.False(t, c[1].Claimed)
		assert.ErrorIs(t, c[1].Err, scrm.ErrConflict, "one call, one key, two payloads")
	})
	t.Run("DoneStaysDoneWhateverThePayload", func(t *testing.T) {
		// A program edited after a grant changes the payload under the
		// grant's key: the grant stays done, is not claimed again, and
		// does not fail the other grants of the call (the retry of a
		// failed one among them).
		s := newStore(t)
		require.True(t, claim(t, s, t0, grantRecord("done", "fp"))[0].Claimed)
		require.NoError(t, s.CompleteGrants(ctx, tenant, []string{"done"}, t0))
		edited := grantRecord("done", "edited")
		edited.Reward.Amount = scrm.Yuan("20.00")
		c := claim(t, s, t0.Add(time.Second), grantRecord("retry", "fp"), edited, grantRecord("new", "fp"))
		assert.NoError(t, c[1].Err)
		assert.False(t, c[1].Claimed, "never granted again")
		assert.Equal(t, referral.GrantDone, c[1].Record.Status)
		assert.Equal(t, "fp", c[1].Record.Fingerprint, "the record as it was granted")
		assert.True(t, c[1].Record.Reward.Amount.Equal(scrm.Yuan("12.80")))
		for _, i := range []int{0, 2} {
			assert.NoError(t, c[i].Err)
			assert.True(t, c[i].Claimed)
		}
	})
	t.Run("ExpiredClaimTakenOverWithItsPayload", func(t *testing.T) {
		s := newStore(t)
		require.True(t, claim(t, s, t0, grantRecord("k", "fp"))[0].Claimed)
		c := claim(t, s, t0.Add(time.Minute), grantRecord("k", "fp2"))
		assert.NoError(t, c[0].Err)
		assert.True(t, c[0].Claimed, "nobody is granting it: the new payload takes it")
		assert.Equal(t, "fp2", c[0].Record.Fingerprint)
		c = claim(t, s, t0.Add(time.Minute+time.Second), grantRecord("k", "fp"))
		assert.ErrorIs(t, c[0].Err, scrm.ErrConflict, "now fp2 is in flight")
		assert.False(t, c[0].Claimed)
		assert.Equal(t, "fp2", c[0].Record.Fingerprint)
	})
	t.Run("ConcurrentClaims", func(t *testing.T) {
		s := newStore(t)
		n := race(50, func(int) error {
			c, err := s.ClaimGrants(ctx, referral.ClaimGrantsParams{Tenant: tenant, Now: t0, Until: t0.Add(time.Minute),
				Records: []referral.GrantRecord{grantRecord("k", "fp")}})
			if err == nil && !c[0].Claimed {
				return errNotClaimed
			}
			return err
		}, func(err error) { assert.ErrorIs(t, err, errNotClaimed) })
		assert.Equal(t, 1, n, "exactly one claimant")
	})
}

var errNotClaimed = errors.New("not claimed")

func testStats(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Run("CountsAndLeaderboard", func(t *testing.T) { testStatsCounts(t, newStore) })
	t.Run("MoneyByEntryStatus", func(t *testing.T) {
		// Pending is what is not paid yet (pending or settling), Settled
		// what was paid, Reversed what refunds cancelled; for an inviter,
		// only the entries for them, and only the program's.
		s := newStore(t)
		due := t0.Add(time.Hour)
		bobs := entry("bobs", "x9", "o9", "32.00", due)
		bobs.Beneficiary = "bob"
		otherProgram := entry("p2", "x8", "o8", "64.00", due)
		otherProgram.Program = "p2"
		addEntries(t, s, entry("pending", "x1", "o1", "1.00", due), entry("settling", "x2", "o2", "2.00", due),
			entry("settled", "x3", "o3", "4.00", due), entry("reversed", "x4", "o4", "8.00", due), bobs, otherProgram)
		for id, to := range map[string]referral.EntryStatus{"settling": referral.EntrySettling, "settled": referral.EntrySettled} {
			_, err := s.SetEntryStatus(ctx, referral.SetEntryStatusParams{Tenant: tenant, ID: id, From: referral.EntryPending, To: to, At: due})
			require.NoError(t, err)
		}
		_, err := s.ReverseOrder(ctx, referral.ReverseParams{Tenant: tenant, Invitee: "x4", OrderID: "o4", At: t0})
		require.NoError(t, err)

		st, err := s.Stats(ctx, referral.StatsParams{Tenant: tenant, Program: "p1", Inviter: "alice"})
		require.NoError(t, err)
		assert.True(t, st.Pending.Equal(scrm.Yuan("3.00")), "pending and settling: got %s", st.Pending)
		assert.True(t, st.Settled.Equal(scrm.Yuan("4.00")), "settled: got %s", st.Settled)
		assert.True(t, st.Reversed.Equal(scrm.Yuan("8.00")), "reversed: got %s", st.Reversed)
		all, err := s.Stats(ctx, referral.StatsParams{Tenant: tenant, Program: "p1"})
		require.NoError(t, err)
		assert.True(t, all.Pending.Equal(scrm.Yuan("35.00")), "bob's too: got %s", all.Pending)
		assert.True(t, all.Settled.Equal(scrm.Yuan("4.00")), "got %s", all.Settled)
		assert.True(t, all.Reversed.Equal(scrm.Yuan("8.00")), "got %s", all.Reversed)
	})
	t.Run("LeaderboardOrder", func(t *testing.T) {
		// Ranked by active qualifications first, then active or
		// under-review bindings (rejected ones do not count), then ID.
		s := newStore(t)
		bind := func(invitee, inviter scrm.CustomerID, status referral.Status) {
			b := binding(invitee, inviter, t0)
			b.Status = status
			mustBind(t, s, b)
		}
		for i := range 3 {
			bind(cid("a%d", i), "a", referral.StatusActive) // most bindings, none qualified
		}
		bind("c0", "c", referral.StatusActive)
		bind("b0", "b", referral.StatusActive)
		bind("d0", "d", referral.StatusReview)
		for i := range 4 {
			bind(cid("e%d", i), "e", referral.StatusReview)
		}
		for i := range 4 {
			_, err := s.Review(ctx, referral.ReviewParams{Tenant: tenant, Invitee: cid("e%d", i), Approve: false, At: t0})
			require.NoError(t, err)
		}
		for _, c := range []scrm.CustomerID{"b0", "c0"} {
			_, _, err := s.Qualify(ctx, referral.QualifyParams{Qualification: qual(c, "e-"+string(c))})
			require.NoError(t, err)
		}
		top, err := s.Leaderboard(ctx, referral.LeaderboardParams{Tenant: tenant, Program: "p1"})
		require.NoError(t, err)
		assert.Equal(t, []referral.Standing{
			{Rank: 1, Inviter: "b", Bound: 1, Qualified: 1},
			{Rank: 2, Inviter: "c", Bound: 1, Qualified: 1},
			{Rank: 3, Inviter: "a", Bound: 3},
			{Rank: 4, Inviter: "d", Bound: 1},
		}, top)
		two, err := s.Leaderboard(ctx, referral.LeaderboardParams{Tenant: tenant, Program: "p1", Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, top[:2], two)
	})
}

func testStatsCounts(t *testing.T, newStore func(t *testing.T) referral.Store) {
	s := newStore(t)
	for i, inviter := range []scrm.CustomerID{"a", "a", "a", "b", "b", "c"} {
		mustBind(t, s, binding(cid("x%d", i), inviter, t0))
	}
	staff := binding("s1", "", t0)
	staff.Staff = "st"
	mustBind(t, s, staff)
	held := binding("h1", "c", t0)
	held.Status = referral.StatusReview
	mustBind(t, s, held)
	for _, c := range []scrm.CustomerID{"x0", "x1", "x3", "s1"} {
		_, _, err := s.Qualify(ctx, referral.QualifyParams{Qualification: qual(c, "e-"+string(c))})
		require.NoError(t, err)
	}
	e := entry("e1", "x0", "o", "10", t0)
	e.Beneficiary = "a"
	addEntries(t, s, e)
	g1 := grantRecord("g1", "fp")
	g1.Customer = "a"
	require.True(t, claim(t, s, t0, g1)[0].Claimed)
	require.NoError(t, s.CompleteGrants(ctx, tenant, []string{"g1"}, t0))

	st, err := s.Stats(ctx, referral.StatsParams{Tenant: tenant, Program: "p1", Inviter: "a"})
	require.NoError(t, err)
	assert.Equal(t, 3, st.Bound)
	assert.Equal(t, 2, st.Qualified)
	assert.Equal(t, 1, st.Rewards)
	assert.True(t, st.Pending.Equal(scrm.Yuan("10")))
	assert.True(t, st.QualifiedAmount.Equal(scrm.Yuan("257.60")))

	all, err := s.Stats(ctx, referral.StatsParams{Tenant: tenant, Program: "p1"})
	require.NoError(t, err)
	assert.Equal(t, 3, all.Inviters)
	assert.Equal(t, 8, all.Bound)
	assert.Equal(t, 1, all.Review)
	assert.Equal(t, 4, all.Qualified)
	assert.Equal(t, 1, all.StaffBound)
	assert.Equal(t, 1, all.StaffQualified)

	top, err := s.Leaderboard(ctx, referral.LeaderboardParams{Tenant: tenant, Program: "p1", Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, []referral.Standing{
		{Rank: 1, Inviter: "a", Bound: 3, Qualified: 2},
		{Rank: 2, Inviter: "b", Bound: 2, Qualified: 1},
	}, top)
	staffTop, err := s.Leaderboard(ctx, referral.LeaderboardParams{Tenant: tenant, Program: "p1", Staff: true})
	require.NoError(t, err)
	assert.Equal(t, []referral.Standing{{Rank: 1, Staff: "st", Bound: 1, Qualified: 1}}, staffTop)

	none, err := s.Stats(ctx, referral.StatsParams{Tenant: other, Program: "p1", Inviter: "a"})
	require.NoError(t, err)
	assert.Zero(t, none.Bound)
	assert.True(t, none.Pending.IsZero())
}
