package scrm_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

var asyncT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func asyncEvent(id, typ string) scrm.Event {
	return scrm.Event{ID: id, Tenant: "t1", Customer: "c1", Type: typ, Time: asyncT0}
}

// Dispatcher doc: "A cascade deeper than MaxDepth is cut off ... at most this
// many levels below the event the host published" (DefaultMaxDepth). An
// event published from a goroutine a handler of the root event started
// (Publish's doc explicitly allows "from a goroutine ... of the handler")
// is one level below the root: the ctx a handler receives carries the
// event it is delivered, and Publish takes the new event's depth and chain
// from it, not from whatever event the cascade happens to be delivering at
// that moment. With MaxDepth 1, root A's handler publishes B synchronously
// and C from its goroutine while B is being delivered: C, a child of A, is
// queued and delivered.
func TestAsyncPublishDepthCountsFromItsOwnEvent(t *testing.T) {
	ctx := context.Background()
	var d *scrm.Dispatcher
	inB := make(chan struct{})
	cErr := make(chan error, 1)
	var delivered []string
	d = scrm.NewDispatcher(scrm.HandlerFunc(func(hctx context.Context, e scrm.Event) error {
		delivered = append(delivered, e.Type)
		switch e.Type {
		case "a":
			go func() {
				<-inB
				cErr <- d.Publish(hctx, asyncEvent("c1", "c"))
			}()
			return d.Publish(hctx, asyncEvent("b1", "b"))
		case "b":
			close(inB)
			// The goroutine's Publish queues (or refuses) at once.
			if err := <-cErr; err != nil {
				return err
			}
		}
		return nil
	}))
	d.MaxDepth = 1
	err := d.Publish(ctx, asyncEvent("a1", "a"))
	if err != nil {
		t.Errorf("Publish(a) = %v; c, published by a's handler (depth 1), refused as too deep; delivered %v", err, delivered)
	}
	if len(delivered) != 3 {
		t.Errorf("delivered %v, want a, b, c", delivered)
	}
}

// Same on the path commit 39eb564 added: after the outer Publish returned,
// a goroutine of the root's handler publishes with the handler's ctx.
// Publish's doc says it is then delivered "like a top-level Publish", one
// level below the root whose handler received the ctx (not below the last
// event the finished cascade delivered), so a root whose cascade reached
// MaxDepth can still have an asynchronous child delivered.
func TestLateAsyncPublishIsOneLevelBelowItsEvent(t *testing.T) {
	ctx := context.Background()
	var d *scrm.Dispatcher
	var rootCtx context.Context
	var delivered []string
	d = scrm.NewDispatcher(scrm.HandlerFunc(func(hctx context.Context, e scrm.Event) error {
		delivered = append(delivered, e.Type)
		if e.Type == "a" {
			rootCtx = hctx
			return d.Publish(hctx, asyncEvent("b1", "b"))
		}
		return nil
	}))
	d.MaxDepth = 1
	if err := d.Publish(ctx, asyncEvent("a1", "a")); err != nil {
		t.Fatal(err)
	}
	// A callback of a's handler that outlives it (a payment webhook, say).
	if err := d.Publish(rootCtx, asyncEvent("c1", "c")); err != nil {
		t.Errorf("late Publish(c) from a's handler ctx = %v, want nil (c is one level below a); delivered %v", err, delivered)
	}
	if len(delivered) != 3 || delivered[2] != "c" {
		t.Errorf("delivered %v, want a, b, c", delivered)
	}
}

// Directory.SetAttrs: "Errors: ErrInvalid naming the field (... for a NaN or
// infinite float anywhere in the value, ... including the exported fields
// of structs, which JSON cannot encode), with nothing written". A host's
// struct value with a NaN field (an average over zero orders), directly,
// in a slice or behind a pointer, is refused and no event is published, so
// the directory customer can always be JSON-encoded by a host's store.
func TestSetAttrsRefusesNonFiniteFloatsInStructs(t *testing.T) {
	ctx := context.Background()
	published := 0
	pub := scrm.PublisherFunc(func(context.Context, scrm.Event) error { published++; return nil })
	dir := scrm.NewDirectory(nil, &scrm.Options{Publisher: pub})
	c, err := dir.Resolve(ctx, "t1", scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	type stats struct{ Avg float64 }
	for _, v := range []any{stats{Avg: math.NaN()}, []stats{{Avg: math.Inf(1)}}, &stats{Avg: math.NaN()}} {
		err := dir.SetAttrs(ctx, "t1", c, map[string]any{"stats": v})
		_, jerr := json.Marshal(v)
		if !errors.Is(err, scrm.ErrInvalid) {
			t.Errorf("SetAttrs(%T with a NaN field) = %v, want ErrInvalid (json.Marshal of it: %v); %d events published", v, err, jerr, published)
		}
	}
	if published != 0 {
		t.Errorf("%d events published for refused values", published)
	}
	if err := dir.SetAttrs(ctx, "t1", c, map[string]any{"stats": stats{Avg: 1.5}}); err != nil {
		t.Errorf("SetAttrs(struct with finite fields) = %v", err)
	}
}

// Profile.SetAttr promises values "survive a store round trip"; Directory
// .SetAttrs refuses, with ErrInvalid naming the attribute, a json.Number
// that is not a valid JSON number (json.Number("NaN"), what a host's
// decoder gives for a bad upstream number it re-wraps, or a typo like
// "12,5"), which JSON cannot encode. Nothing reaches the profile, which
// stays JSON-encodable; and Profile.SetAttr (or an attrs_set event from
// elsewhere) stores such a json.Number as its string.
func TestInvalidJSONNumberAttrRefusedAndProfileStaysEncodable(t *testing.T) {
	ctx := context.Background()
	clock := scrmtest.NewClock(asyncT0)
	store := scrm.NewMemoryProfileStore()
	profiles := scrm.NewProfiles(store, &scrm.Options{Clock: clock})
	d := scrm.NewDispatcher(profiles)
	dir := scrm.NewDirectory(nil, &scrm.Options{Clock: clock, Publisher: d})
	c, err := dir.Resolve(ctx, "t1", scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	// A profile to look at afterwards.
	if err := dir.SetAttrs(ctx, "t1", c, map[string]any{"city": "上海"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []json.Number{"NaN", "12,5"} {
		err := dir.SetAttrs(ctx, "t1", c, map[string]any{"score": n})
		var se *scrm.Error
		if !errors.As(err, &se) || se.Code != scrm.ErrInvalid || se.Field != `Attrs["score"]` {
			t.Errorf("SetAttrs(score=json.Number(%q)) = %v, want ErrInvalid naming Attrs[\"score\"]", n, err)
		}
		p, gerr := profiles.Get(ctx, "t1", c)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if _, jerr := p.MarshalJSON(); jerr != nil {
			t.Errorf("SetAttrs(score=json.Number(%q)) = %v; the profile now fails MarshalJSON: %v", n, err, jerr)
		}
	}
	if err := dir.SetAttrs(ctx, "t1", c, map[string]any{"score": []any{json.Number("-1.5e3")}}); err != nil {
		t.Errorf("SetAttrs(valid json.Number) = %v", err)
	}

	p := scrm.NewProfile("t1", "c1")
	p.SetAttr("score", json.Number("12,5"))
	if v, _ := p.Attr("score"); v != "12,5" {
		t.Errorf("SetAttr(json.Number(\"12,5\")) stored %#v, want the string", v)
	}
	p.SetAttr("ok", json.Number("12.5"))
	if v, _ := p.Attr("ok"); v != json.Number("12.5") {
		t.Errorf("SetAttr(json.Number(\"12.5\")) stored %#v, want it as is", v)
	}
	if _, err := p.MarshalJSON(); err != nil {
		t.Errorf("MarshalJSON: %v", err)
	}
}

func activityEntries(t *testing.T, p *scrm.Profile, typ string) int {
	t.Helper()
	raw, err := p.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Activity map[string]struct {
			Entries [][3]int64 `json:"entries"`
		} `json:"activity"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return len(out.Activity[typ].Entries)
}

// ProfileLimits: "Horizon is how long events are kept for windowed counts
// and sums, measured back from the newest event" and "MaxEntries bounds the
// entries kept per event type". Only up to two newest entries, each more
// than a horizon after the one before, are taken as possible outliers
// ahead; past them the horizon is measured from the third newest. A host
// that keeps a short horizon to bound memory (Horizon 1h for "checked in
// within the hour" rules) and a customer who checks in once a day: every
// gap exceeds the horizon, and only the last few check-ins are kept.
func TestShortHorizonSparseEventsStayBounded(t *testing.T) {
	limits := scrm.ProfileLimits{Horizon: time.Hour, MaxEntries: 16}
	p := scrm.NewProfile("t1", "c1")
	for i := range 400 {
		p.ApplyWithLimits(scrm.Event{ID: "x", Tenant: "t1", Customer: "c1", Type: "checkin",
			Time: asyncT0.AddDate(0, 0, i)}, limits)
	}
	if n := activityEntries(t, p, "checkin"); n > limits.MaxEntries {
		t.Errorf("400 daily check-ins with Horizon 1h, MaxEntries 16: %d entries kept, want at most 16 (one is within the horizon)", n)
	}
	last := asyncT0.AddDate(0, 0, 399)
	if n := p.Count("checkin", last.Add(-time.Minute)); n != 1 {
		t.Errorf("check-ins within the hour = %d, want 1", n)
	}
	if n := p.Count("checkin", time.Time{}); n != 400 {
		t.Errorf("all-time check-ins = %d, want 400", n)
	}
}

// ProfileLimits.MaxEntries bounds the entries kept per event type even when
// coalescing per UTC day cannot (one event a day for years within a long
// horizon): adjacent older entries are merged further, all-time counts and
// sums stay exact, and recent windows are still counted event by event.
func TestMaxEntriesBoundsEventsOnDistinctDays(t *testing.T) {
	limits := scrm.ProfileLimits{Horizon: 20 * 365 * 24 * time.Hour, MaxEntries: 64}
	p := scrm.NewProfile("t1", "c1")
	const days = 3000
	for i := range days {
		p.ApplyWithLimits(scrm.Event{ID: "x", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
			Time: asyncT0.AddDate(0, 0, i), Amount: scrm.Yuan("1")}, limits)
		if n := activityEntries(t, p, scrm.EventOrderPaid); n > limits.MaxEntries {
			t.Fatalf("after %d daily orders: %d entries kept, want at most %d", i+1, n, limits.MaxEntries)
		}
	}
	if n := p.Count(scrm.EventOrderPaid, time.Time{}); n != days {
		t.Errorf("all-time count = %d, want %d", n, days)
	}
	if s := p.Sum(scrm.EventOrderPaid, time.Time{}); s.String() != "3000" {
		t.Errorf("all-time sum = %s, want 3000", s)
	}
	last := asyncT0.AddDate(0, 0, days-1)
	if n := p.Count(scrm.EventOrderPaid, last.AddDate(0, 0, -9).Add(-time.Hour)); n != 10 {
		t.Errorf("orders in the last 10 days = %d, want 10", n)
	}
}
