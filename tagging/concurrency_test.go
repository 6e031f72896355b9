package tagging_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

// Many goroutines applying tags of one exclusive group to one customer end
// with exactly one of them on the profile, and an index that agrees.
func TestConcurrentExclusiveApplies(t *testing.T) {
	h := newHarness(t)
	h.group("风格偏好", true)
	styles := []string{"休闲风", "时尚风", "商务风", "运动风"}
	for _, s := range styles {
		h.tag(s, "风格偏好")
	}
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: "c1", Tag: styles[i%len(styles)], By: fmt.Sprint("staff", i)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	tags := h.tags("c1")
	require.Len(t, tags, 1, "exactly one tag of the exclusive group")
	total := 0
	for _, s := range styles {
		c := h.count(s)
		total += c
		page, err := h.svc.Customers(h.ctx, tenant, s, "", 0)
		require.NoError(t, err)
		assert.Len(t, page.Customers, c)
		if s == tags[0] {
			assert.Equal(t, 1, c, "the index has the profile's tag")
		}
	}
	assert.Equal(t, 1, total, "and nothing else")

	// Every application and every replacement is in the history.
	hist, err := h.svc.History(h.ctx, tenant, "c1")
	require.NoError(t, err)
	applied, removed := 0, 0
	for _, e := range hist {
		switch e.Action {
		case tagging.ActionRemoved:
			removed++
		default:
			applied++
		}
	}
	assert.Equal(t, n, applied)
	assert.Equal(t, n-1-countRefreshes(hist), removed, "each application but the first replaced the previous style, unless it refreshed it")
}

func countRefreshes(hist []tagging.HistoryEntry) int {
	n := 0
	for _, e := range hist {
		if e.Action == tagging.ActionRefreshed {
			n++
		}
	}
	return n
}

// Rules racing on one customer through the Dispatcher (events of one
// customer arriving on several goroutines) leave one tag per exclusive group.
func TestConcurrentRuleEvaluation(t *testing.T) {
	h := newHarness(t)
	h.group("level", true)
	for i := 0; i < 4; i++ {
		h.tag(fmt.Sprint("L", i), "level")
		h.rule(tagging.Rule{ID: fmt.Sprint("r", i), Tag: fmt.Sprint("L", i), Priority: i,
			When: rule.Attr(fmt.Sprint("a", i)).Eq(true)})
	}
	const n = 40
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := scrm.Event{ID: fmt.Sprint("e", i), Tenant: tenant, Customer: "c1", Type: scrm.EventAttrsSet, Time: t0,
				Props: map[string]any{"attrs": map[string]any{fmt.Sprint("a", i%4): true}}}
			assert.NoError(t, h.d.Publish(h.ctx, e))
		}()
	}
	wg.Wait()
	tags := h.tags("c1")
	require.Len(t, tags, 1)
	total := 0
	for i := 0; i < 4; i++ {
		total += h.count(fmt.Sprint("L", i))
	}
	assert.Equal(t, 1, total)
	assert.Equal(t, 1, h.count(tags[0]))
}

// Many customers tagged at once are all counted.
func TestConcurrentCounts(t *testing.T) {
	h := newHarness(t)
	h.tag("vip", "")
	const n = 200
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := scrm.CustomerID(fmt.Sprintf("c%03d", i))
			_, err := h.svc.Apply(h.ctx, tagging.ApplyRequest{Tenant: tenant, Customer: c, Tag: "vip"})
			assert.NoError(t, err)
			if i%2 == 0 {
				_, err = h.svc.Remove(h.ctx, tagging.RemoveRequest{Tenant: tenant, Customer: c, Tag: "vip"})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, n/2, h.count("vip"))
	var all []scrm.CustomerID
	cursor := ""
	for {
		page, err := h.svc.Customers(h.ctx, tenant, "vip", cursor, 7)
		require.NoError(t, err)
		for _, c := range page.Customers {
			all = append(all, c.Customer)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	require.Len(t, all, n/2)
	for i := 1; i < len(all); i++ {
		assert.Less(t, all[i-1], all[i])
	}
}
