package sop_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

// Many goroutines run RunDue, Exit, Enroll (re-entry), Pause and Resume at
// once over one Store with a 1-a-day cap; afterwards, with time moved past
// every lease, each job is final, a customer never got more messages a day
// than the cap allows, each message ID went out once, and the stats count
// every job once.
func TestConcurrentRunExitResumeKeepsCaps(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	e := newEnv(t, start)
	_, err := e.svc.SetPolicy(e.ctx, "t1", sop.Policy{Caps: []sop.Cap{{Channel: scrm.ChannelWeCom, Max: 1, Per: sop.Day}}})
	require.NoError(t, err)
	e.put(sop.Playbook{ID: "p", Reentry: sop.Reentry{Mode: sop.Always}, Steps: []sop.Step{
		{ID: "a", Action: msg(scrm.ChannelWeCom, "a")},
		{ID: "b", After: time.Minute, Action: msg(scrm.ChannelWeCom, "b")},
	}})
	customers := []scrm.CustomerID{"c1", "c2", "c3"}
	for _, c := range customers {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: c})
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				c := customers[(g+i)%len(customers)]
				switch (g + i) % 5 {
				case 0, 1:
					_, err := e.svc.RunDue(e.ctx, sop.RunRequest{Worker: fmt.Sprintf("w%d", g)})
					require.NoError(t, err)
				case 2:
					_, err := e.svc.Exit(e.ctx, sop.ExitRequest{Tenant: "t1", Playbook: "p", Customer: c, Reason: "x"})
					require.NoError(t, err)
				case 3:
					_, _ = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: c})
				case 4:
					if i%2 == 0 {
						_, _ = e.svc.Pause(e.ctx, "t1", "p")
					} else {
						_, _ = e.svc.Resume(e.ctx, "t1", "p")
					}
				}
				if g == 0 && i%10 == 0 {
					e.clock.Advance(20 * time.Second)
				}
			}
		}()
	}
	wg.Wait()
	_, _ = e.svc.Resume(e.ctx, "t1", "p")
	ids := map[string]int{}
	for _, c := range customers {
		perDay := map[string]int{}
		for _, m := range e.rec.For(c) {
			ids[m.ID]++
			for _, ts := range e.sentAt[m.ID] {
				perDay[ts.In(shanghai).Format("2006-01-02")]++
			}
		}
		for d, n := range perDay {
			require.LessOrEqual(t, n, 1, "%s got %d messages on %s", c, n, d)
		}
	}
	for id, n := range ids {
		require.Equal(t, 1, n, "%s sent %d times", id, n)
	}
	st, err := e.svc.Stats(e.ctx, "t1", "p")
	require.NoError(t, err)
	for _, s := range st.Steps {
		require.LessOrEqual(t, s.Sent+s.Skipped+s.Failed+s.Cancelled, s.Enrolled, "%+v", s)
	}
}
