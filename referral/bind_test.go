package referral_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestBindRefusals(t *testing.T) {
	dev := referral.Signals{Device: "device-1"}
	tests := []struct {
		name     string
		program  referral.Program
		setup    func(r *rig)
		req      func(r *rig) referral.BindRequest
		sentinel error
		reason   referral.Reason
		field    string // for ErrInvalid
	}{
		{
			name: "malformed code", sentinel: scrm.ErrInvalid, field: "Code",
			req: func(r *rig) referral.BindRequest { return referral.BindRequest{Code: "ABC"} },
		},
		{
			name: "code with a typo", sentinel: scrm.ErrInvalid, field: "Code",
			req: func(r *rig) referral.BindRequest {
				c := []byte(r.code("A"))
				c[3] = map[bool]byte{true: 'X', false: 'Y'}[c[3] != 'X']
				return referral.BindRequest{Code: string(c)}
			},
		},
		{
			name: "unknown code", sentinel: scrm.ErrNotFound, reason: referral.ReasonUnknownCode,
			req: func(r *rig) referral.BindRequest {
				other, err := r.svc.Code(r.ctx, "t2", "A") // well formed, but not this tenant's
				require.NoError(t, err)
				return referral.BindRequest{Code: other}
			},
		},
		{
			name: "unknown program", sentinel: scrm.ErrNotFound,
			req: func(r *rig) referral.BindRequest { return referral.BindRequest{Program: "nope"} },
		},
		{
			name: "program ended", sentinel: scrm.ErrExpired, reason: referral.ReasonNotRunning,
			program: referral.Program{Start: t0.Add(-48 * time.Hour), End: t0.Add(-time.Hour)},
		},
		{
			name: "program not started", sentinel: scrm.ErrExpired, reason: referral.ReasonNotRunning,
			program: referral.Program{Start: t0.Add(time.Hour)},
		},
		{
			name: "self-referral", sentinel: scrm.ErrForbidden, reason: referral.ReasonSelfReferral,
			req: func(r *rig) referral.BindRequest { return referral.BindRequest{Invitee: "A"} },
		},
		{
			name: "already bound", sentinel: scrm.ErrConflict, reason: referral.ReasonAlreadyBound,
			setup: func(r *rig) { r.mustBind("B", "Z") },
		},
		{
			// A bound invitee is told so before any other refusal, with or
			// without an idempotency key (Bind looks the binding up late
			// when there is no key).
			name: "already bound, and paid since", sentinel: scrm.ErrConflict, reason: referral.ReasonAlreadyBound,
			setup: func(r *rig) { r.mustBind("B", "Z"); r.pay("B", "10.00", "o0") },
		},
		{
			name: "already bound, with the inviter's device", sentinel: scrm.ErrConflict, reason: referral.ReasonAlreadyBound,
			setup: func(r *rig) {
				r.mustBind("B", "Z")
				require.NoError(t, r.svc.Observe(r.ctx, tenant, "A", dev))
			},
			req: func(r *rig) referral.BindRequest { return referral.BindRequest{Signals: dev} },
		},
		{
			name: "already a customer", sentinel: scrm.ErrForbidden, reason: referral.ReasonExistingCustomer,
			setup: func(r *rig) {
				r.clock.Advance(-24 * time.Hour)
				r.pay("B", "10.00", "o0")
				r.clock.Set(t0)
			},
		},
		{
			name: "cycle", sentinel: scrm.ErrForbidden, reason: referral.ReasonCycle,
			setup: func(r *rig) { r.mustBind("A", "C"); r.mustBind("C", "B") }, // B → C → A; now A invites B
		},
		{
			name: "same device as the inviter", sentinel: scrm.ErrForbidden, reason: referral.ReasonSameDevice,
			setup: func(r *rig) { require.NoError(t, r.svc.Observe(r.ctx, tenant, "A", dev)) },
			req:   func(r *rig) referral.BindRequest { return referral.BindRequest{Signals: dev} },
		},
		{
			name: "same phone as the inviter", sentinel: scrm.ErrForbidden, reason: referral.ReasonSamePhone,
			setup: func(r *rig) {
				require.NoError(t, r.svc.Observe(r.ctx, tenant, "A", referral.Signals{Phone: "13800138000"}))
			},
			req: func(r *rig) referral.BindRequest {
				return referral.BindRequest{Signals: referral.Signals{Phone: "+86 138-0013-8000"}}
			},
		},
		{
			name: "inviter's device recorded by the inviter's own binding", sentinel: scrm.ErrForbidden, reason: referral.ReasonSameDevice,
			setup: func(r *rig) { r.mustBind("A", "Z", dev) },
			req:   func(r *rig) referral.BindRequest { return referral.BindRequest{Signals: dev} },
		},
		{
			name: "too many bindings for one inviter in an hour", sentinel: scrm.ErrForbidden, reason: referral.ReasonInviterRate,
			program: referral.Program{Fraud: referral.FraudPolicy{PerInviter: referral.Limit{Max: 2}}},
			setup: func(r *rig) {
				r.clock.Advance(-59 * time.Minute)
				r.mustBind("X1", "A")
				r.mustBind("X2", "A")
				r.clock.Set(t0)
			},
		},
		{
			name: "too many bindings from one device", sentinel: scrm.ErrForbidden, reason: referral.ReasonDeviceLimit,
			program: referral.Program{Fraud: referral.FraudPolicy{PerDevice: referral.Limit{Max: 1}}},
			setup:   func(r *rig) { r.mustBind("X1", "Z", dev) },
			req:     func(r *rig) referral.BindRequest { return referral.BindRequest{Signals: dev} },
		},
		{
			name: "too many bindings from one IPv6 /64", sentinel: scrm.ErrForbidden, reason: referral.ReasonIPLimit,
			program: referral.Program{Fraud: referral.FraudPolicy{PerIP: referral.Limit{Max: 1, Within: 24 * time.Hour}}},
			setup:   func(r *rig) { r.mustBind("X1", "Z", referral.Signals{IP: "2001:db8:1:2::10"}) },
			req: func(r *rig) referral.BindRequest {
				return referral.BindRequest{Signals: referral.Signals{IP: "2001:db8:1:2:aaaa::99"}}
			},
		},
		{
			name: "bad phone", sentinel: scrm.ErrInvalid, field: "Signals.Phone",
			req: func(r *rig) referral.BindRequest {
				return referral.BindRequest{Signals: referral.Signals{Phone: "12ab"}}
			},
		},
		{
			name: "bad IP", sentinel: scrm.ErrInvalid, field: "Signals.IP",
			req: func(r *rig) referral.BindRequest { return referral.BindRequest{Signals: referral.Signals{IP: "1.2.3"}} },
		},
		{
			name: "missing invitee", sentinel: scrm.ErrInvalid, field: "Invitee",
			req: func(r *rig) referral.BindRequest { return referral.BindRequest{Invitee: "-"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.save(tt.program)
			if tt.setup != nil {
				tt.setup(r)
			}
			before, beforeErr := r.svc.Binding(r.ctx, tenant, "B")
			req := referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: "B", Code: r.code("A")}
			if tt.req != nil {
				over := tt.req(r)
				if over.Program != "" {
					req.Program = over.Program
				}
				if over.Invitee == "-" {
					req.Invitee = ""
				} else if over.Invitee != "" {
					req.Invitee = over.Invitee
				}
				if over.Code != "" {
					req.Code = over.Code
				}
				req.Signals = over.Signals
			}
			granted := len(r.rewards.Calls())
			_, err := r.svc.Bind(r.ctx, req)
			require.ErrorIs(t, err, tt.sentinel, "%v", err)
			if tt.reason != "" {
				requireRefused(t, err, tt.sentinel, tt.reason)
			}
			if tt.field != "" {
				var se *scrm.Error
				require.ErrorAs(t, err, &se)
				assert.Equal(t, tt.field, se.Field)
			}
			// Nothing written: B's binding is what it was, nothing granted.
			after, afterErr := r.svc.Binding(r.ctx, tenant, "B")
			assert.Equal(t, beforeErr == nil, afterErr == nil)
			assert.Equal(t, before, after)
			assert.Len(t, r.rewards.Calls(), granted)
		})
	}
}

func TestBindActiveGrantsInviteeRewards(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{InviteeOnBind: []scrm.Reward{coupon("new-50")}})
	b := r.mustBind("B", "A", referral.Signals{Device: "d1", IP: "10.0.0.1", Phone: "13900139000"})
	assert.Equal(t, referral.StatusActive, b.Status)
	assert.Equal(t, scrm.CustomerID("A"), b.Inviter)
	assert.Equal(t, t0, b.At)
	assert.Equal(t, "13900139000", b.Signals.Phone)
	assert.Equal(t, []string{"new-50"}, templates(r.rewards.For("B")))
	inv, err := r.svc.Inviter(r.ctx, tenant, "B")
	require.NoError(t, err)
	assert.Equal(t, scrm.CustomerID("A"), inv)
	require.Len(t, r.events.Of(referral.EventBound), 1)
	assert.NotContains(t, b.String(), "13900139000", "String masks the phone")

	_, err = r.svc.Inviter(r.ctx, tenant, "nobody")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
}

func TestBindReplayWithIdempotencyKey(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{InviteeOnBind: []scrm.Reward{coupon("new-50")}})
	req := referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: "B", Code: r.code("A"), IdempotencyKey: "bind-B"}
	r.rewards.failNext(scrm.ErrUnavailable)
	first, err := r.svc.Bind(r.ctx, req)
	require.ErrorIs(t, err, scrm.ErrUnavailable, "the grant failed, the binding stands")
	assert.Equal(t, referral.StatusActive, first.Status)
	assert.Empty(t, r.rewards.For("B"))

	r.clock.Advance(time.Minute)
	again, err := r.svc.Bind(r.ctx, req)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Equal(t, []string{"new-50"}, templates(r.rewards.For("B")), "the replay finished the grant")

	_, err = r.svc.Bind(r.ctx, req)
	require.NoError(t, err)
	assert.Len(t, r.rewards.For("B"), 1, "a second replay grants nothing more")

	req.Code = r.code("C")
	_, err = r.svc.Bind(r.ctx, req)
	assert.ErrorIs(t, err, scrm.ErrConflict, "same key, other payload")
	req.IdempotencyKey = ""
	_, err = r.svc.Bind(r.ctx, req)
	requireRefused(t, err, scrm.ErrConflict, referral.ReasonAlreadyBound)
}

func TestBindReviewApproveReject(t *testing.T) {
	policy := referral.FraudPolicy{
		SameDevice: referral.ActionReview,
		PerIP:      referral.Limit{Max: 1, Action: referral.ActionReview},
	}
	r := newRig(t)
	r.save(referral.Program{Fraud: policy, InviteeOnBind: []scrm.Reward{coupon("new-50")},
		InviteeOnQualify: []scrm.Reward{points(100)}, InviterRewards: []scrm.Reward{coupon("inv-20")}})
	require.NoError(t, r.svc.Observe(r.ctx, tenant, "A", referral.Signals{Device: "d1"}))

	b := r.mustBind("B", "A", referral.Signals{Device: "d1", IP: "10.0.0.1"})
	assert.Equal(t, referral.StatusReview, b.Status)
	assert.Equal(t, []referral.Reason{referral.ReasonSameDevice}, b.Flags)
	c := r.mustBind("C", "A", referral.Signals{IP: "10.0.0.1"})
	assert.Equal(t, referral.StatusReview, c.Status)
	assert.Equal(t, []referral.Reason{referral.ReasonIPLimit}, c.Flags)
	assert.Empty(t, r.rewards.Calls(), "rewards are held while under review")

	// B qualifies while held: nothing moves yet.
	r.clock.Advance(time.Hour)
	r.pay("B", "99.00", "o1")
	assert.Empty(t, r.rewards.Calls())
	st, err := r.svc.Stats(r.ctx, tenant, "p1", "A")
	require.NoError(t, err)
	assert.Equal(t, 2, st.Bound)
	assert.Equal(t, 2, st.Review)
	assert.Equal(t, 0, st.Qualified)

	b, err = r.svc.Approve(r.ctx, tenant, "B")
	require.NoError(t, err)
	assert.Equal(t, referral.StatusActive, b.Status)
	assert.Equal(t, r.clock.Now(), b.ReviewedAt)
	assert.ElementsMatch(t, []string{"new-50", "points:100"}, templates(r.rewards.For("B")))
	assert.Equal(t, []string{"inv-20"}, templates(r.rewards.For("A")))

	_, err = r.svc.Approve(r.ctx, tenant, "B")
	require.NoError(t, err, "approving again is a harmless retry")
	assert.Len(t, r.rewards.Calls(), 3)

	c, err = r.svc.Reject(r.ctx, tenant, "C")
	require.NoError(t, err)
	assert.Equal(t, referral.StatusRejected, c.Status)
	r.pay("C", "99.00", "o2")
	assert.Empty(t, r.rewards.For("C"), "a rejected binding earns nothing")
	_, err = r.svc.Approve(r.ctx, tenant, "C")
	requireRefused(t, err, scrm.ErrConflict, referral.ReasonNotInReview)
	_, err = r.svc.Reject(r.ctx, tenant, "B")
	requireRefused(t, err, scrm.ErrConflict, referral.ReasonNotInReview)
	r.mustBind("D", "Z")
	_, err = r.svc.Approve(r.ctx, tenant, "D")
	requireRefused(t, err, scrm.ErrConflict, referral.ReasonNotInReview)
	_, err = r.bind("C", "Z")
	requireRefused(t, err, scrm.ErrConflict, referral.ReasonAlreadyBound)

	st, err = r.svc.Stats(r.ctx, tenant, "p1", "A")
	require.NoError(t, err)
	assert.True(t, st.QualifiedAmount.Equal(scrm.Yuan("99")), st.QualifiedAmount.String())
	st.QualifiedAmount = decimal.Zero
	assert.Equal(t, referral.Stats{Inviters: 1, Bound: 1, Rejected: 1, Qualified: 1, QualifiedAmount: decimal.Zero,
		Rewards: 1, Pending: st.Pending, Settled: st.Settled, Reversed: st.Reversed}, st)
}

func TestBindInviterRateWindowSlides(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{Fraud: referral.FraudPolicy{PerInviter: referral.Limit{Max: 2}}})
	r.mustBind("B1", "A")
	r.clock.Advance(30 * time.Minute)
	r.mustBind("B2", "A")
	_, err := r.bind("B3", "A")
	requireRefused(t, err, scrm.ErrForbidden, referral.ReasonInviterRate)
	r.clock.Advance(30*time.Minute + time.Second) // B1 left the window
	r.mustBind("B3", "A")
	r.mustBind("C1", "Z") // other inviters are not limited by A's count
}

func TestBindStaffCode(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{InviteeOnBind: []scrm.Reward{coupon("new-50")}, InviterRewards: []scrm.Reward{coupon("inv-20")},
		Commission: rates("0.1"), Fraud: referral.FraudPolicy{PerInviter: referral.Limit{Max: 1}}})
	code, err := r.svc.StaffCode(r.ctx, tenant, "staff-7")
	require.NoError(t, err)
	again, err := r.svc.StaffCode(r.ctx, tenant, "staff-7")
	require.NoError(t, err)
	assert.Equal(t, code, again)
	assert.NotEqual(t, r.code("staff-7"), code, "a staff code differs from a customer code of the same ID")

	for _, c := range []scrm.CustomerID{"B", "C"} { // staff codes have no per-inviter limit
		b, err := r.svc.Bind(r.ctx, referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: c, Code: code})
		require.NoError(t, err)
		assert.Equal(t, "staff-7", b.Staff)
		assert.Empty(t, b.Inviter)
	}
	_, err = r.svc.Inviter(r.ctx, tenant, "B")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	owner, err := r.svc.CodeOwner(r.ctx, tenant, code)
	require.NoError(t, err)
	assert.Equal(t, referral.Owner{Staff: "staff-7"}, owner)

	r.pay("B", "100.00", "o1")
	assert.Equal(t, []string{"new-50"}, templates(r.rewards.For("B")), "the invitee is rewarded; nobody else")
	assert.Len(t, r.rewards.Calls(), 2)
	rep, err := r.svc.Report(r.ctx, tenant, "p1")
	require.NoError(t, err)
	assert.Equal(t, 2, rep.StaffBound)
	assert.Equal(t, 1, rep.StaffQualified)
	require.Len(t, rep.Staff, 1)
	assert.Equal(t, referral.Standing{Rank: 1, Staff: "staff-7", Bound: 2, Qualified: 1}, rep.Staff[0])
	assert.Zero(t, rep.KFactor, "staff bindings are not word of mouth")
}

func TestBindConcurrentFirstBindingWins(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{InviteeOnBind: []scrm.Reward{coupon("new-50")}})
	const n = 50
	codes := make([]string, n)
	for i := range codes {
		codes[i] = r.code(scrm.CustomerID(fmt.Sprintf("A%02d", i)))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, refused := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.svc.Bind(r.ctx, referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: "B", Code: codes[i]})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won++
			} else if assert.ErrorIs(t, err, referral.ReasonAlreadyBound) {
				refused++
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, won)
	assert.Equal(t, n-1, refused)
	assert.Len(t, r.rewards.For("B"), 1)
}

func TestBindConcurrentInviterLimit(t *testing.T) {
	r := newRig(t)
	r.save(referral.Program{Fraud: referral.FraudPolicy{PerInviter: referral.Limit{Max: 5}}})
	code := r.code("A")
	const n = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.svc.Bind(r.ctx, referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: scrm.CustomerID(fmt.Sprintf("B%02d", i)), Code: code})
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else {
				assert.ErrorIs(t, err, referral.ReasonInviterRate)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 5, won)
}
