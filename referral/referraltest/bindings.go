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

func testBindings(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetBinding(ctx, tenant, "bob")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		b := binding("bob", "alice", t0)
		b.Signals = referral.Signals{Device: "dev-1", IP: "10.0.0.1", Phone: "13900139000"}
		b.IdempotencyKey, b.Fingerprint = "k1", "fp1"
		got := mustBind(t, s, b)
		stored, err := s.GetBinding(ctx, tenant, "bob")
		require.NoError(t, err)
		for _, g := range []referral.Binding{got, stored} {
			sameTime(t, t0, g.At)
			g.At = b.At
			assert.Equal(t, b, g)
		}
		sig, err := s.GetSignals(ctx, tenant, "bob")
		require.NoError(t, err)
		assert.Equal(t, []string{"dev-1"}, sig.Devices, "the invitee's signals are recorded")
		assert.Equal(t, []string{"13900139000"}, sig.Phones)
		_, err = s.GetBinding(ctx, other, "bob")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
	t.Run("StaffBinding", func(t *testing.T) {
		s := newStore(t)
		b := binding("bob", "", t0)
		b.Staff = "staff-1"
		got := mustBind(t, s, b)
		assert.Equal(t, "staff-1", got.Staff)
		b2 := binding("carol", "", t0)
		_, err := s.Bind(ctx, referral.BindParams{Binding: b2})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "neither inviter nor staff")
		b2.Inviter, b2.Staff = "alice", "staff-1"
		_, err = s.Bind(ctx, referral.BindParams{Binding: b2})
		assert.ErrorIs(t, err, scrm.ErrInvalid, "both inviter and staff")
		_, err = s.GetBinding(ctx, tenant, "carol")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
	})
	t.Run("FirstBindingWins", func(t *testing.T) {
		s := newStore(t)
		mustBind(t, s, binding("bob", "alice", t0))
		_, err := s.Bind(ctx, referral.BindParams{Binding: binding("bob", "carol", t0.Add(time.Minute))})
		refused(t, err, scrm.ErrConflict, referral.ReasonAlreadyBound)
		got, err := s.GetBinding(ctx, tenant, "bob")
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("alice"), got.Inviter)
		other := binding("bob", "carol", t0)
		other.Tenant = "t2"
		mustBind(t, s, other) // another tenant's bob
	})
	t.Run("ConcurrentFirstBindingWins", func(t *testing.T) {
		s := newStore(t)
		n := race(40, func(i int) error {
			_, err := s.Bind(ctx, referral.BindParams{Binding: binding("bob", cid("inv%02d", i), t0)})
			return err
		}, func(err error) { refused(t, err, scrm.ErrConflict, referral.ReasonAlreadyBound) })
		assert.Equal(t, 1, n)
	})
	t.Run("KeyUniqueWithinTenant", func(t *testing.T) {
		s := newStore(t)
		b := binding("bob", "alice", t0)
		b.IdempotencyKey, b.Fingerprint = "k1", "fp-bob"
		mustBind(t, s, b)
		c := binding("carol", "alice", t0)
		c.IdempotencyKey, c.Fingerprint = "k1", "fp-carol"
		c.Signals = referral.Signals{Device: "dev-c", Phone: "13900139001"}
		_, err := s.Bind(ctx, referral.BindParams{Binding: c})
		require.ErrorIs(t, err, scrm.ErrConflict, "the key bound bob")
		assert.False(t, errors.Is(err, referral.ReasonAlreadyBound), "carol is not bound: %v", err)
		_, err = s.GetBinding(ctx, tenant, "carol")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		sig, err := s.GetSignals(ctx, tenant, "carol")
		require.NoError(t, err)
		assert.Empty(t, sig.Devices, "nothing written")
		assert.Empty(t, sig.Phones, "nothing written")

		c.IdempotencyKey = "k2"
		mustBind(t, s, c) // another key binds her
		d := binding("dave", "alice", t0)
		mustBind(t, s, d) // no key: nothing to be unique
		e := binding("erin", "alice", t0)
		mustBind(t, s, e)
		o := binding("carol", "alice", t0)
		o.Tenant, o.IdempotencyKey = other, "k1"
		mustBind(t, s, o) // keys are unique per tenant
	})
	t.Run("ConcurrentKeyBindsOnce", func(t *testing.T) {
		s := newStore(t)
		const n = 40
		invitee := func(i int) scrm.CustomerID { return cid("b%02d", i) }
		won := make([]bool, n)
		ok := race(n, func(i int) error {
			b := binding(invitee(i), "alice", t0)
			b.IdempotencyKey, b.Fingerprint = "k", string(invitee(i))
			b.Signals = referral.Signals{Device: "dev-" + string(invitee(i))}
			_, err := s.Bind(ctx, referral.BindParams{Binding: b})
			won[i] = err == nil
			return err
		}, func(err error) {
			assert.ErrorIs(t, err, scrm.ErrConflict)
			assert.False(t, errors.Is(err, referral.ReasonAlreadyBound), "%v", err)
		})
		require.Equal(t, 1, ok, "one key binds one invitee")
		for i := range n {
			got, err := s.GetBinding(ctx, tenant, invitee(i))
			sig, serr := s.GetSignals(ctx, tenant, invitee(i))
			require.NoError(t, serr)
			if won[i] {
				require.NoError(t, err)
				assert.Equal(t, "k", got.IdempotencyKey)
				assert.Equal(t, []string{"dev-" + string(invitee(i))}, sig.Devices)
				continue
			}
			assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written for %s", invitee(i))
			assert.Empty(t, sig.Devices, "nothing written for %s", invitee(i))
		}
		// The losers were not counted against alice either.
		limit := referral.BindLimit{By: referral.LimitByInviter, Value: "alice", Max: 2, Reason: referral.ReasonInviterRate}
		mustBind(t, s, binding("x1", "alice", t0), limit)
		_, err := s.Bind(ctx, referral.BindParams{Binding: binding("x2", "alice", t0), Limits: []referral.BindLimit{limit}})
		refused(t, err, scrm.ErrForbidden, referral.ReasonInviterRate)
	})
	t.Run("SelfAndCycles", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Bind(ctx, referral.BindParams{Binding: binding("alice", "alice", t0)})
		refused(t, err, scrm.ErrForbidden, referral.ReasonSelfReferral)
		mustBind(t, s, binding("b", "a", t0)) // a → b → c → d
		mustBind(t, s, binding("c", "b", t0))
		mustBind(t, s, binding("d", "c", t0))
		_, err = s.Bind(ctx, referral.BindParams{Binding: binding("a", "d", t0)})
		refused(t, err, scrm.ErrForbidden, referral.ReasonCycle)
		_, err = s.Bind(ctx, referral.BindParams{Binding: binding("a", "b", t0)})
		refused(t, err, scrm.ErrForbidden, referral.ReasonCycle)
		_, err = s.GetBinding(ctx, tenant, "a")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		mustBind(t, s, binding("a", "z", t0)) // not a cycle
	})
	t.Run("Limits", func(t *testing.T) {
		s := newStore(t)
		hour := referral.BindLimit{By: referral.LimitByInviter, Value: "alice", Since: t0.Add(-time.Hour), Max: 2, Reason: referral.ReasonInviterRate}
		old := binding("b0", "alice", t0.Add(-2*time.Hour)) // outside the window
		mustBind(t, s, old)
		mustBind(t, s, binding("b1", "alice", t0.Add(-30*time.Minute)), hour)
		mustBind(t, s, binding("b2", "alice", t0), hour)
		_, err := s.Bind(ctx, referral.BindParams{Binding: binding("b3", "alice", t0), Limits: []referral.BindLimit{hour}})
		refused(t, err, scrm.ErrForbidden, referral.ReasonInviterRate)
		_, err = s.GetBinding(ctx, tenant, "b3")
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		review := hour
		review.Review = true
		got := mustBind(t, s, binding("b3", "alice", t0), review)
		assert.Equal(t, referral.StatusReview, got.Status)
		assert.Equal(t, []referral.Reason{referral.ReasonInviterRate}, got.Flags)

		dev := func(invitee scrm.CustomerID, device, ip string) referral.Binding {
			b := binding(invitee, "zed", t0)
			b.Signals = referral.Signals{Device: device, IP: ip}
			return b
		}
		devLimit := referral.BindLimit{By: referral.LimitByDevice, Value: "d1", Max: 1, Reason: referral.ReasonDeviceLimit}
		mustBind(t, s, dev("c1", "d1", "1.1.1.1"), devLimit)
		_, err = s.Bind(ctx, referral.BindParams{Binding: dev("c2", "d1", "2.2.2.2"), Limits: []referral.BindLimit{devLimit}})
		refused(t, err, scrm.ErrForbidden, referral.ReasonDeviceLimit)
		ipLimit := referral.BindLimit{By: referral.LimitByIP, Value: "1.1.1.1", Max: 1, Reason: referral.ReasonIPLimit, Review: true}
		got = mustBind(t, s, dev("c3", "d9", "1.1.1.1"), ipLimit)
		assert.Equal(t, referral.StatusReview, got.Status)
		assert.Equal(t, []referral.Reason{referral.ReasonIPLimit}, got.Flags)
	})
	t.Run("LimitsCountEveryStatus", func(t *testing.T) {
		// Bindings under review or rejected count towards a limit as active
		// ones do: a fraudster's held bindings do not free places.
		s := newStore(t)
		limit := referral.BindLimit{By: referral.LimitByInviter, Value: "alice", Max: 1, Reason: referral.ReasonInviterRate, Review: true}
		mustBind(t, s, binding("b1", "alice", t0), limit)
		held := mustBind(t, s, binding("b2", "alice", t0), limit)
		require.Equal(t, referral.StatusReview, held.Status)
		limit.Max, limit.Review = 2, false
		_, err := s.Bind(ctx, referral.BindParams{Binding: binding("b3", "alice", t0), Limits: []referral.BindLimit{limit}})
		refused(t, err, scrm.ErrForbidden, referral.ReasonInviterRate)
		_, err = s.Review(ctx, referral.ReviewParams{Tenant: tenant, Invitee: "b2", Approve: false, At: t0})
		require.NoError(t, err)
		_, err = s.Bind(ctx, referral.BindParams{Binding: binding("b3", "alice", t0), Limits: []referral.BindLimit{limit}})
		refused(t, err, scrm.ErrForbidden, referral.ReasonInviterRate)
		_, err = s.GetBinding(ctx, tenant, "b3")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
	})
	t.Run("LimitOnAnotherInviter", func(t *testing.T) {
		// A limit counts the bindings whose field equals its Value, which
		// need not be the new binding's own.
		s := newStore(t)
		mustBind(t, s, binding("b1", "alice", t0))
		mustBind(t, s, binding("b2", "alice", t0))
		limit := referral.BindLimit{By: referral.LimitByInviter, Value: "alice", Max: 2, Reason: referral.ReasonInviterRate}
		_, err := s.Bind(ctx, referral.BindParams{Binding: binding("b3", "bob", t0), Limits: []referral.BindLimit{limit}})
		refused(t, err, scrm.ErrForbidden, referral.ReasonInviterRate)
		_, err = s.GetBinding(ctx, tenant, "b3")
		assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
		limit.Max = 3
		mustBind(t, s, binding("b3", "bob", t0), limit)
		limit.Value = "nobody"
		limit.Max = 1
		mustBind(t, s, binding("b4", "bob", t0), limit)
	})
	t.Run("ConcurrentLimit", func(t *testing.T) {
		s := newStore(t)
		limit := referral.BindLimit{By: referral.LimitByInviter, Value: "alice", Since: t0.Add(-time.Hour), Max: 5, Reason: referral.ReasonInviterRate}
		n := race(40, func(i int) error {
			_, err := s.Bind(ctx, referral.BindParams{Binding: binding(cid("b%02d", i), "alice", t0), Limits: []referral.BindLimit{limit}})
			return err
		}, func(err error) { refused(t, err, scrm.ErrForbidden, referral.ReasonInviterRate) })
		assert.Equal(t, 5, n, "exactly the limit wins")
	})
	t.Run("CopiesNotAliases", func(t *testing.T) {
		s := newStore(t)
		b := binding("bob", "alice", t0)
		b.Status, b.Flags = referral.StatusReview, []referral.Reason{referral.ReasonSameDevice}
		got := mustBind(t, s, b)
		b.Flags[0] = "changed"
		got.Flags[0] = "changed"
		again, err := s.GetBinding(ctx, tenant, "bob")
		require.NoError(t, err)
		assert.Equal(t, []referral.Reason{referral.ReasonSameDevice}, again.Flags)
	})
	t.Run("Review", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Review(ctx, referral.ReviewParams{Tenant: tenant, Invitee: "nobody", Approve: true, At: t0})
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		active := mustBind(t, s, binding("bob", "alice", t0))
		_, err = s.Review(ctx, referral.ReviewParams{Tenant: tenant, Invitee: active.Invitee, Approve: true, At: t0})
		refused(t, err, scrm.ErrConflict, referral.ReasonNotInReview)

		for _, approve := range []bool{true, false} {
			invitee := cid("held-%v", approve)
			b := binding(invitee, "alice", t0)
			b.Status = referral.StatusReview
			mustBind(t, s, b)
			res, err := s.Review(ctx, referral.ReviewParams{Tenant: tenant, Invitee: invitee, Approve: approve, At: t0.Add(time.Hour)})
			require.NoError(t, err)
			want := referral.StatusRejected
			if approve {
				want = referral.StatusActive
			}
			assert.Equal(t, want, res.Binding.Status)
			sameTime(t, t0.Add(time.Hour), res.Binding.ReviewedAt)
			assert.Nil(t, res.Qualification)
			got, err := s.GetBinding(ctx, tenant, invitee)
			require.NoError(t, err)
			assert.Equal(t, want, got.Status)
			_, err = s.Review(ctx, referral.ReviewParams{Tenant: tenant, Invitee: invitee, Approve: approve, At: t0})
			refused(t, err, scrm.ErrConflict, referral.ReasonNotInReview)
		}
	})
}

func qual(invitee scrm.CustomerID, event string) referral.Qualification {
	return referral.Qualification{Tenant: tenant, Program: "p1", Invitee: invitee, EventID: event, OrderID: "o-" + event,
		Amount: scrm.Yuan("128.80"), At: t0.Add(time.Hour)}
}

func testQualifications(t *testing.T, newStore func(t *testing.T) referral.Store) {
	t.Run("OnceAndRoundTrip", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.Qualify(ctx, referral.QualifyParams{Qualification: qual("bob", "e1")})
		assert.ErrorIs(t, err, scrm.ErrNotFound, "not bound")
		mustBind(t, s, binding("bob", "alice", t0))
		q, created, err := s.Qualify(ctx, referral.QualifyParams{Qualification: qual("bob", "e1")})
		require.NoError(t, err)
		assert.True(t, created)
		assert.Equal(t, scrm.CustomerID("alice"), q.Inviter, "copied from the binding")
		assert.Equal(t, referral.StatusActive, q.Status)
		assert.Equal(t, 1, q.Rank)
		assert.True(t, q.Rewarded)

		again, created, err := s.Qualify(ctx, referral.QualifyParams{Qualification: qual("bob", "e2")})
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, "e1", again.EventID, "the first qualification stands")

		got, err := s.GetQualification(ctx, tenant, "p1", "bob")
		require.NoError(t, err)
		assert.True(t, got.Amount.Equal(scrm.Yuan("128.8")))
		sameTime(t, t0.Add(time.Hour), got.At)
		assert.Equal(t, "o-e1", got.OrderID)
		_, err = s.GetQualification(ctx, tenant, "p2", "bob")
		assert.ErrorIs(t, err, scrm.ErrNotFound)
		_, err = s.GetQualification(ctx, other, "p1", "bob")
		assert.ErrorIs(t, err, scrm.ErrNotFound)

		q2 := qual("bob", "e3")
		q2.Program = "p2"
		_, _, err = s.Qualify(ctx, referral.QualifyParams{Qualification: q2})
		assert.ErrorIs(t, err, scrm.ErrNotFound, "bound under another program")
	})
	t.Run("RanksAndMaxPerInviterUnderConcurrency", func(t *testing.T) {
		s := newStore(t)
		const n = 30
		for i := range n {
			mustBind(t, s, binding(cid("b%02d", i), "alice", t0))
		}
		ranks := make([]int, n)
		rewarded := make([]bool, n)
		ok := race(n, func(i int) error {
			q, _, err := s.Qualify(ctx, referral.QualifyParams{Qualification: qual(cid("b%02d", i), string(cid("e%02d", i))), MaxPerInviter: 3})
			ranks[i], rewarded[i] = q.Rank, q.Rewarded
			return err
		}, func(err error) { t.Error(err) })
		require.Equal(t, n, ok)
		seen := map[int]bool{}
		wins := 0
		for i, r := range ranks {
			assert.False(t, seen[r], "rank %d given twice", r)
			seen[r] = true
			assert.True(t, r >= 1 && r <= n)
			assert.Equal(t, r <= 3, rewarded[i])
			if rewarded[i] {
				wins++
			}
		}
		assert.Equal(t, 3, wins, "exactly MaxPerInviter are rewarded")
	})
	t.Run("RanksArePerInviterProgramAndTenant", func(t *testing.T) {
		// Rank counts the inviter's active qualifications in this program
		// of this tenant only: those in another program or tenant neither
		// take ranks nor use up MaxPerInviter.
		s := newStore(t)
		for _, tn := range []scrm.TenantID{tenant, other} {
			for _, program := range []string{"p2", "p3"} {
				b := binding(cid("x-%s", program), "alice", t0)
				b.Tenant, b.Program = tn, program
				mustBind(t, s, b)
				q := qual(b.Invitee, "e-"+program)
				q.Tenant, q.Program = tn, program
				got, _, err := s.Qualify(ctx, referral.QualifyParams{Qualification: q, MaxPerInviter: 1})
				require.NoError(t, err)
				assert.Equal(t, 1, got.Rank, "%s %s: the first of alice's there", tn, program)
				assert.True(t, got.Rewarded, "%s %s", tn, program)
			}
		}
		mustBind(t, s, binding("b1", "alice", t0))
		mustBind(t, s, binding("b2", "alice", t0))
		q, created, err := s.Qualify(ctx, referral.QualifyParams{Qualification: qual("b1", "e1"), MaxPerInviter: 1})
		require.NoError(t, err)
		require.True(t, created)
		assert.Equal(t, 1, q.Rank, "the first in p1 of this tenant")
		assert.True(t, q.Rewarded, "within MaxPerInviter 1 of p1")
		q, _, err = s.Qualify(ctx, referral.QualifyParams{Qualification: qual("b2", "e2"), MaxPerInviter: 1})
		require.NoError(t, err)
		assert.Equal(t, 2, q.Rank)
		assert.False(t, q.Rewarded, "past MaxPerInviter 1")
		got, err := s.GetQualification(ctx, tenant, "p1", "b1")
		require.NoError(t, err)
		assert.Equal(t, 1, got.Rank)
		assert.True(t, got.Rewarded)
	})
	t.Run("StaffHeldAndRejected", func(t *testing.T) {
		s := newStore(t)
		staff := binding("s1", "", t0)
		staff.Staff = "staff-1"
		mustBind(t, s, staff)
		q, _, err := s.Qualify(ctx, referral.QualifyParams{Qualification: qual("s1", "e1")})
		require.NoError(t, err)
		assert.Equal(t, "staff-1", q.Staff)
		assert.Zero(t, q.Rank)
		assert.False(t, q.Rewarded)

		held := binding("h1", "alice", t0)
		held.Status = referral.StatusReview
		mustBind(t, s, held)
		mustBind(t, s, binding("a1", "alice", t0))
		q, _, err = s.Qualify(ctx, referral.QualifyParams{Qualification: qual("h1", "e2")})
		require.NoError(t, err)
		assert.Equal(t, referral.StatusReview, q.Status)
		assert.Zero(t, q.Rank)
		q, _, err = s.Qualify(ctx, referral.QualifyParams{Qualification: qual("a1", "e3")})
		require.NoError(t, err)
		assert.Equal(t, 1, q.Rank, "a held qualification takes no rank")
		res, err := s.Review(ctx, referral.ReviewParams{Tenant: tenant, Invitee: "h1", Approve: true, At: t0, MaxPerInviter: 1})
		require.NoError(t, err)
		require.NotNil(t, res.Qualification)
		assert.Equal(t, referral.StatusActive, res.Qualification.Status)
		assert.Equal(t, 2, res.Qualification.Rank, "ranked on approval")
		assert.False(t, res.Qualification.Rewarded, "past MaxPerInviter 1")
		got, err := s.GetQualification(ctx, tenant, "p1", "h1")
		require.NoError(t, err)
		assert.Equal(t, 2, got.Rank)

		rej := binding("r1", "alice", t0)
		rej.Status = referral.StatusReview
		mustBind(t, s, rej)
		_, _, err = s.Qualify(ctx, referral.QualifyParams{Qualification: qual("r1", "e4")})
		require.NoError(t, err)
		res, err = s.Review(ctx, referral.ReviewParams{Tenant: tenant, Invitee: "r1", Approve: false, At: t0})
		require.NoError(t, err)
		assert.Equal(t, referral.StatusRejected, res.Qualification.Status)

		rej2 := binding("r2", "alice", t0)
		rej2.Status = referral.StatusReview
		mustBind(t, s, rej2)
		_, err = s.Review(ctx, referral.ReviewParams{Tenant: tenant, Invitee: "r2", Approve: false, At: t0})
		require.NoError(t, err)
		_, _, err = s.Qualify(ctx, referral.QualifyParams{Qualification: qual("r2", "e5")})
		refused(t, err, scrm.ErrForbidden, referral.ReasonRejected)
	})
}
