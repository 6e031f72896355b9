package mutants

import (
	"sync"
	"testing"
	"time"
)

// Two concurrent callers release each other at once; a lone caller waits
// Max and no longer.
func TestOverlap(t *testing.T) {
	o := &Overlap{Max: time.Minute}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); o.Wait() }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("two callers did not release each other")
	}

	lone := &Overlap{Max: 20 * time.Millisecond}
	start := time.Now()
	lone.Wait()
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("a lone caller went on after %v, before Max", d)
	}
	// After a lone caller timed out, the next pair still meets.
	var wg2 sync.WaitGroup
	o2 := &Overlap{Max: time.Minute}
	o2.Max = 20 * time.Millisecond
	o2.Wait()
	o2.Max = time.Minute
	for range 2 {
		wg2.Add(1)
		go func() { defer wg2.Done(); o2.Wait() }()
	}
	done2 := make(chan struct{})
	go func() { wg2.Wait(); close(done2) }()
	select {
	case <-done2:
	case <-time.After(10 * time.Second):
		t.Fatal("a pair after a timed-out caller did not meet")
	}
}
