package scrmtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Recorder is a scrm.Channel that records every message it is asked to send
// instead of sending it. Unlike a real channel it does not deduplicate by
// Message.ID: every accepted Send is recorded, so a test can catch a
// duplicate send with Duplicates. It is safe for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	clock scrm.Clock
	sent  []scrm.Message
	fails []error
	seq   int
}

var _ scrm.Channel = (*Recorder)(nil)

// NewRecorder returns an empty Recorder. Receipts carry a zero SentAt unless
// a clock is set with WithClock.
func NewRecorder() *Recorder { return &Recorder{} }

// WithClock makes receipts carry c's time and returns r.
func (r *Recorder) WithClock(c scrm.Clock) *Recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock = c
	return r
}

// Send records m and returns a receipt, or, when FailNext queued an error,
// returns that error and records nothing. A message that fails
// scrm.Message.Validate is rejected with its error.
func (r *Recorder) Send(ctx context.Context, m scrm.Message) (scrm.Receipt, error) {
	if err := scrm.CheckContext(ctx, "scrmtest.Recorder.Send"); err != nil {
		return scrm.Receipt{}, err
	}
	if err := m.Validate(); err != nil {
		return scrm.Receipt{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.fails) > 0 {
		err := r.fails[0]
		r.fails = r.fails[1:]
		return scrm.Receipt{}, err
	}
	m.Vars = copyVars(m.Vars)
	r.sent = append(r.sent, m)
	r.seq++
	var at time.Time
	if r.clock != nil {
		at = r.clock.Now()
	}
	return scrm.Receipt{MessageID: m.ID, ProviderID: fmt.Sprintf("rec-%d", r.seq), SentAt: at}, nil
}

// FailNext makes the next Send return err (queued: call it twice to fail
// twice).
func (r *Recorder) FailNext(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fails = append(r.fails, err)
}

// Messages returns every recorded message, in the order sent.
func (r *Recorder) Messages() []scrm.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]scrm.Message, len(r.sent))
	for i, m := range r.sent {
		m.Vars = copyVars(m.Vars)
		out[i] = m
	}
	return out
}

// For returns the messages recorded for one customer, in the order sent.
func (r *Recorder) For(customer scrm.CustomerID) []scrm.Message {
	var out []scrm.Message
	for _, m := range r.Messages() {
		if m.Customer == customer {
			out = append(out, m)
		}
	}
	return out
}

// Duplicates returns the IDs recorded more than once, in the order their
// second send happened.
func (r *Recorder) Duplicates() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := make(map[string]int, len(r.sent))
	var dups []string
	for _, m := range r.sent {
		seen[m.ID]++
		if seen[m.ID] == 2 {
			dups = append(dups, m.ID)
		}
	}
	return dups
}

// Reset forgets every recorded message and queued failure.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent, r.fails = nil, nil
}

func copyVars(v map[string]string) map[string]string {
	if v == nil {
		return nil
	}
	out := make(map[string]string, len(v))
	for k, s := range v {
		out[k] = s
	}
	return out
}
