package sop_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/sop"
)

var shanghai = scrm.DefaultLocation()

// at returns a Shanghai wall-clock time.
func at(y int, mo time.Month, d, hh, mm int) time.Time {
	return time.Date(y, mo, d, hh, mm, 0, 0, shanghai)
}

// env is a wired Service on a fake clock with a recording channel that
// also notes when each message was sent.
type env struct {
	t        *testing.T
	ctx      context.Context
	clock    *scrmtest.Clock
	rec      *scrmtest.Recorder
	profiles scrm.ProfileStore
	store    sop.Store
	svc      *sop.Service
	d        *scrm.Dispatcher

	mu      sync.Mutex
	sentAt  map[string][]time.Time // message ID → send times
	grants  []scrm.Grant
	tagReqs []sop.TagRequest
	events  int
}

func newEnv(t *testing.T, start time.Time, tweak ...func(*sop.Options)) *env {
	t.Helper()
	e := &env{
		t: t, ctx: context.Background(), clock: scrmtest.NewClock(start), rec: scrmtest.NewRecorder(),
		profiles: scrm.NewMemoryProfileStore(), store: sop.NewMemoryStore(), sentAt: make(map[string][]time.Time),
	}
	opts := &sop.Options{
		Options: scrm.Options{Clock: e.clock},
		Channel: scrm.ChannelFunc(func(ctx context.Context, m scrm.Message) (scrm.Receipt, error) {
			r, err := e.rec.Send(ctx, m)
			if err == nil {
				e.mu.Lock()
				e.sentAt[m.ID] = append(e.sentAt[m.ID], e.clock.Now())
				e.mu.Unlock()
			}
			return r, err
		}),
		Rewarder: scrm.RewarderFunc(func(_ context.Context, g scrm.Grant) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.grants = append(e.grants, g)
			return nil
		}),
		Tagger: tagger{e},
	}
	for _, f := range tweak {
		f(opts)
	}
	e.svc = sop.New(e.store, e.profiles, opts)
	e.d = scrm.NewDispatcher(scrm.NewProfiles(e.profiles, nil), e.svc)
	return e
}

type tagger struct{ e *env }

func (tg tagger) Apply(_ context.Context, r sop.TagRequest) error {
	tg.e.mu.Lock()
	defer tg.e.mu.Unlock()
	tg.e.tagReqs = append(tg.e.tagReqs, r)
	return nil
}

func (tg tagger) Remove(_ context.Context, r sop.TagRequest) error {
	tg.e.mu.Lock()
	defer tg.e.mu.Unlock()
	r.Tag = "-" + r.Tag
	tg.e.tagReqs = append(tg.e.tagReqs, r)
	return nil
}

func (e *env) put(p sop.Playbook) sop.Playbook {
	e.t.Helper()
	if p.Tenant == "" {
		p.Tenant = "t1"
	}
	out, err := e.svc.PutPlaybook(e.ctx, p)
	require.NoError(e.t, err)
	return out
}

// publish sends an event of the given type through the dispatcher, at the
// clock's time.
func (e *env) publish(customer scrm.CustomerID, typ string, props map[string]any) {
	e.t.Helper()
	e.mu.Lock()
	e.events++
	id := fmt.Sprintf("e%d", e.events)
	e.mu.Unlock()
	require.NoError(e.t, e.d.Publish(e.ctx, scrm.Event{ID: id, Tenant: "t1", Customer: customer, Type: typ,
		Time: e.clock.Now(), Props: props}))
}

// run calls RunDue until nothing is claimed and sums the results.
func (e *env) run() sop.RunResult {
	e.t.Helper()
	var total sop.RunResult
	for {
		r, err := e.svc.RunDue(e.ctx, sop.RunRequest{Worker: "w1"})
		require.NoError(e.t, err)
		if r.Claimed == 0 {
			return total
		}
		total.Claimed += r.Claimed
		total.Sent += r.Sent
		total.Deferred += r.Deferred
		total.Skipped += r.Skipped
		total.Failed += r.Failed
		total.Retried += r.Retried
		total.Cancelled += r.Cancelled
		total.Lost += r.Lost
	}
}

// runUntil advances the clock by step until end, running due jobs at each
// tick, and returns the summed results.
func (e *env) runUntil(end time.Time, step time.Duration) sop.RunResult {
	e.t.Helper()
	total := e.run()
	for e.clock.Now().Before(end) {
		e.clock.Advance(step)
		r := e.run()
		total.Claimed += r.Claimed
		total.Sent += r.Sent
		total.Deferred += r.Deferred
		total.Skipped += r.Skipped
		total.Failed += r.Failed
		total.Retried += r.Retried
		total.Cancelled += r.Cancelled
		total.Lost += r.Lost
	}
	return total
}

// sends returns the send times of a customer's messages, in order, as local
// times in loc.
func (e *env) sends(customer scrm.CustomerID, loc *time.Location) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, m := range e.rec.For(customer) {
		for _, t := range e.sentAt[m.ID] {
			out = append(out, t.In(loc).Format("2006-01-02 15:04 Mon")+" "+m.Template)
		}
	}
	return dedupe(out)
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func msg(channel, template string) sop.Action {
	return sop.Action{Kind: sop.Message, Channel: channel, Template: template}
}

func stepStats(t *testing.T, e *env, playbook string) map[string]sop.StepStats {
	t.Helper()
	st, err := e.svc.Stats(e.ctx, "t1", playbook)
	require.NoError(t, err)
	out := make(map[string]sop.StepStats)
	for _, r := range st.Steps {
		k := r.Step
		if r.Variant != "" {
			k += "/" + r.Variant
		}
		out[k] = r
	}
	return out
}
