package main

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The demo runs the whole flow over real HTTP and checks every status on
// the way; its story must stay true.
func TestDemo(t *testing.T) {
	before := runtime.NumGoroutine()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), nil, &out))
	waitGoroutines(t, before) // the server and the client's connections are gone
	s := out.String()
	for _, want := range []string{
		`"reason": "min_spend"`,
		`"shortfall": "39.00"`,
		`"cash_due": "93.94"`,
		"← 200 OK (Idempotent-Replayed: true)",
		`"points_earned": 93`,
		`"cash": "31.25"`,
		`"points_returned": 1662`,
		`"cash": "62.69"`,
		`"cash_refunded": "93.94"`,
		`"state": "cancelled"`,
		"← 400 Bad Request",
		"← 405 Method Not Allowed",
		"← 409 Conflict",
		"← 422 Unprocessable Entity",
	} {
		assert.Contains(t, s, want)
	}
	// Alice's balance at the start, and after the refunds, in the refund's
	// response and in the order's.
	assert.Equal(t, 3, strings.Count(s, `"points": 5000,`+"\n    \"held\": 0,\n    \"growth\": 0"))
}

// waitGoroutines waits for the goroutines to be no more than before: those
// a test started have ended. (Not assert.Eventually: it runs its condition
// in a goroutine of its own.)
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if runtime.NumGoroutine() <= before {
			return
		}
	}
	t.Errorf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
}

// Flags: help, unknown flags and arguments.
func TestRunFlags(t *testing.T) {
	var out bytes.Buffer
	assert.ErrorIs(t, run(context.Background(), []string{"-h"}, &out), flag.ErrHelp)
	assert.Contains(t, out.String(), "-demo")
	assert.Error(t, run(context.Background(), []string{"-nope"}, &out))
	assert.Error(t, run(context.Background(), []string{"extra"}, &out))
	assert.Error(t, run(context.Background(), []string{"-demo=false", "-addr", "not-an-address"}, &out))
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Serving: the seeded shop answers on the address, and cancelling the
// context shuts the server down cleanly.
func TestServe(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- serve(ctx, "127.0.0.1:0", &out) }()

	addr := regexp.MustCompile(`on (http://\S+)`)
	var url string
	require.Eventually(t, func() bool {
		m := addr.FindStringSubmatch(out.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 5*time.Second, 10*time.Millisecond)
	assert.Contains(t, out.String(), "customer alice: 5000 points")

	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	resp, err := client.Get(url + "/customers/alice")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	client.CloseIdleConnections()

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after its context was cancelled")
	}
	waitGoroutines(t, before)
}
