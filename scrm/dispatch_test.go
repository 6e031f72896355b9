package scrm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

func ev(id, typ string) scrm.Event {
	return scrm.Event{ID: id, Tenant: "t1", Customer: "c1", Type: typ, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func TestDispatcherOrderAndBreadthFirst(t *testing.T) {
	ctx := context.Background()
	var log []string
	var d *scrm.Dispatcher
	record := func(name string) scrm.Handler {
		return scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
			log = append(log, name+":"+e.ID)
			return nil
		})
	}
	// h1 fans out: the root causes a and b; a causes a1. Breadth-first means
	// every handler sees root, then a, then b, then a1.
	spawn := scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
		switch e.ID {
		case "root":
			require.NoError(t, d.Publish(ctx, ev("a", "x")))
			require.NoError(t, d.Publish(ctx, ev("b", "x")))
		case "a":
			require.NoError(t, d.Publish(ctx, ev("a1", "x")))
		}
		return nil
	})
	d = scrm.NewDispatcher(record("h1"), spawn, record("h2"))
	require.NoError(t, d.Publish(ctx, ev("root", "x")))
	assert.Equal(t, []string{
		"h1:root", "h2:root",
		"h1:a", "h2:a",
		"h1:b", "h2:b",
		"h1:a1", "h2:a1",
	}, log)
}

func TestDispatcherCascadeBound(t *testing.T) {
	ctx := context.Background()
	var d *scrm.Dispatcher
	n := 0
	// Two rules that trigger each other forever.
	loop := scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
		n++
		next := "tag.applied"
		if e.Type == "tag.applied" {
			next = "segment.entered"
		}
		_ = d.Publish(ctx, ev(fmt.Sprint("e", n), next)) // the handler drops the error; Publish still reports it
		return nil
	})
	d = scrm.NewDispatcher(loop)
	d.MaxDepth = 3
	err := d.Publish(ctx, ev("root", "order.paid"))
	require.ErrorIs(t, err, scrm.ErrExhausted)
	assert.Contains(t, err.Error(), "deeper than 3")
	assert.Contains(t, err.Error(), "order.paid → tag.applied → segment.entered → tag.applied → segment.entered")
	assert.Equal(t, 4, n, "the root and three levels are delivered")
	assert.Equal(t, 1, strings.Count(err.Error(), "deeper than"), "reported once")
}

func TestDispatcherErrorsDoNotStopDelivery(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	var got []string
	d := scrm.NewDispatcher(
		scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error { return boom }),
		scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error { got = append(got, e.ID); return nil }),
	)
	err := d.Publish(ctx, ev("e1", "x"))
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, []string{"e1"}, got)

	err = d.Publish(ctx, scrm.Event{Tenant: "t1"})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, []string{"e1"}, got, "an invalid event reaches no handler")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, d.Publish(cctx, ev("e2", "x")), context.Canceled)
}

func TestDispatcherConcurrentPublish(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	count := map[string]int{}
	var d *scrm.Dispatcher
	d = scrm.NewDispatcher(scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
		mu.Lock()
		count[e.ID]++
		mu.Unlock()
		if !strings.HasSuffix(e.ID, "-child") {
			return d.Publish(ctx, ev(e.ID+"-child", "y"))
		}
		return nil
	}))
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			assert.NoError(t, d.Publish(ctx, ev(fmt.Sprint("e", i), "x")))
		}(i)
	}
	wg.Wait()
	assert.Len(t, count, 100)
	for id, n := range count {
		assert.Equal(t, 1, n, id)
	}
}
