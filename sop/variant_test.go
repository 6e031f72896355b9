package sop_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

func abPlaybook() sop.Playbook {
	return sop.Playbook{ID: "ab", Reentry: sop.Reentry{Mode: sop.Always},
		Steps: []sop.Step{{ID: "offer", Variants: []sop.Variant{
			{ID: "A", Weight: 1, Action: msg(scrm.ChannelWeCom, "offer-a")},
			{ID: "B", Weight: 3, Action: msg(scrm.ChannelWeCom, "offer-b")},
		}}}}
}

func TestABArmsStablePerCustomer(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	e := newEnv(t, start)
	e.put(abPlaybook())
	const n = 2000
	arm := make(map[scrm.CustomerID]string, n)
	for i := range n {
		c := scrm.CustomerID(fmt.Sprintf("c%04d", i))
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "ab", Customer: c})
		require.NoError(t, err)
		a, err := e.svc.Arm(e.ctx, "t1", "ab", "offer", c)
		require.NoError(t, err)
		arm[c] = a
	}
	e.run()
	// Enroll everyone again (re-entry Always): the same arm each time.
	e.clock.Advance(time.Hour)
	for c := range arm {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "ab", Customer: c})
		require.NoError(t, err)
	}
	e.run()
	counts := map[string]int{}
	byCustomer := map[scrm.CustomerID][]scrm.Message{}
	for _, m := range e.rec.Messages() {
		byCustomer[m.Customer] = append(byCustomer[m.Customer], m)
	}
	for c, a := range arm {
		msgs := byCustomer[c]
		require.Len(t, msgs, 2)
		want := map[string]string{"A": "offer-a", "B": "offer-b"}[a]
		assert.Equal(t, want, msgs[0].Template, string(c))
		assert.Equal(t, want, msgs[1].Template, string(c))
		jobs, err := e.svc.Jobs(e.ctx, "t1", c)
		require.NoError(t, err)
		assert.Equal(t, a, jobs[0].Variant)
		counts[a]++
	}
	// Weights 1:3 over 2000 customers: A near 500. The hash is fixed, so
	// this is a property of the hash, not a flaky sample.
	assert.InDelta(t, 500, counts["A"], 75)
	assert.Equal(t, n, counts["A"]+counts["B"])

	// Another Service (another process) assigns the same arms.
	other := newEnv(t, start)
	other.put(abPlaybook())
	for c, a := range arm {
		got, err := other.svc.Arm(other.ctx, "t1", "ab", "offer", c)
		require.NoError(t, err)
		require.Equal(t, a, got)
	}

	st := stepStats(t, e, "ab")
	assert.Equal(t, int64(2*counts["A"]), st["offer/A"].Sent)
	assert.Equal(t, int64(2*counts["B"]), st["offer/B"].Enrolled)
}

func TestVariantWithZeroWeightNeverChosen(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{{ID: "s", Variants: []sop.Variant{
		{Weight: 0, Action: msg(scrm.ChannelWeCom, "off")},
		{Weight: 5, Action: msg(scrm.ChannelWeCom, "on")},
	}}}})
	for i := range 200 {
		a, err := e.svc.Arm(e.ctx, "t1", "p", "s", scrm.CustomerID(fmt.Sprintf("c%d", i)))
		require.NoError(t, err)
		require.Equal(t, "B", a, "default IDs are A, B, ... by position")
	}
	_, err := e.svc.Arm(e.ctx, "t1", "p", "nope", "c1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
}
