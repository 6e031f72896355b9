package scrm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// NewDirectory promises "opts.Logger for diagnostics (identities masked)",
// Identity's doc says "an Identity can be logged as is", and DESIGN §2 says
// PII (phone numbers) is masked in logs. slog only resolves LogValuer on the
// top-level value, not on a slice's elements, so ResolveDetail logs the new
// customer's identities as a list whose own LogValue masks each one: a JSON
// handler (the usual production handler) never writes the full phone
// number or e-mail address.
func TestDirectoryCreateLogMasksIdentities(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := scrmtest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	dir := scrm.NewDirectory(nil, &scrm.Options{Clock: clock, Logger: logger})
	_, err := dir.Resolve(context.Background(), "t1",
		scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"},
		scrm.Identity{Kind: scrm.IdentityEmail, Value: "zhang.san@example.com"})
	require.NoError(t, err)
	out := buf.String()
	require.True(t, strings.Contains(out, "customer created"), "the creation is logged: %s", out)
	assert.NotContains(t, out, "13800138000", "raw phone number in the log: %s", out)
	assert.NotContains(t, out, "zhang.san@example.com", "raw e-mail in the log: %s", out)
	assert.Contains(t, out, "phone:138****8000", "the masked identity is logged: %s", out)
}

// SetAttr promises "Values are normalized to a small set of types so that
// they survive a store round trip", and MarshalJSON is the stored form "for
// stores that keep profiles as documents". A float attribute that a host
// computed as NaN or ±Inf (an average over zero orders) compares with
// nothing and cannot be encoded, so SetAttr deletes the attribute instead
// of storing it: the profile stays encodable.
func TestProfileNonFiniteFloatAttrIsDeleted(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), float32(math.Inf(-1))} {
		p := scrm.NewProfile("t1", "c1")
		p.SetAttr("avg_order", 12.5)
		p.SetAttr("avg_order", v)
		p.SetAttr("city", "上海")
		_, ok := p.Attr("avg_order")
		assert.False(t, ok, "a non-finite float deletes the attribute")
		b, err := json.Marshal(p)
		if !assert.NoError(t, err, "encoding a profile with attribute %v", v) {
			continue
		}
		var back scrm.Profile
		require.NoError(t, json.Unmarshal(b, &back))
		got, _ := back.Attr("city")
		assert.Equal(t, "上海", got)
	}
}

// Directory.SetAttrs, which can report an error, refuses a NaN or infinite
// float (also inside a list or behind a pointer) with ErrInvalid naming the
// attribute, and writes nothing.
func TestDirectorySetAttrsRefusesNonFiniteFloat(t *testing.T) {
	ctx := context.Background()
	var published []scrm.Event
	pub := scrm.PublisherFunc(func(_ context.Context, e scrm.Event) error {
		published = append(published, e)
		return nil
	})
	dir := scrm.NewDirectory(nil, &scrm.Options{Publisher: pub})
	c, err := dir.Resolve(ctx, "t1", scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"})
	require.NoError(t, err)
	inf := math.Inf(1)
	for _, v := range []any{math.NaN(), float32(math.Inf(-1)), &inf, []any{1.0, math.NaN()}} {
		err := dir.SetAttrs(ctx, "t1", c, map[string]any{"city": "上海", "avg_order": v})
		require.ErrorIs(t, err, scrm.ErrInvalid, "%v", v)
		assert.Contains(t, err.Error(), `Attrs["avg_order"]`)
	}
	cust, err := dir.Get(ctx, "t1", c)
	require.NoError(t, err)
	assert.Empty(t, cust.Attrs, "nothing written")
	assert.Empty(t, published, "nothing published")
	require.NoError(t, dir.SetAttrs(ctx, "t1", c, map[string]any{"avg_order": 12.5}))
}

// Dispatcher.Publish "Called from inside a handler with the ctx that handler
// received, it queues e behind the current event", and the cascade's lock
// exists because "handlers may publish from goroutines of their own". A
// handler that hands its ctx to work finishing after the outer Publish
// returned (a goroutine, a callback) publishes into a cascade whose loop has
// ended: Publish then delivers the event itself and reports the result.
func TestPublishAfterCascadeEndedIsDelivered(t *testing.T) {
	var saved context.Context
	var seen []string
	d := scrm.NewDispatcher(scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
		seen = append(seen, e.ID)
		if saved == nil {
			saved = ctx // e.g. passed to a goroutine that publishes when its work is done
		}
		return nil
	}))
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, d.Publish(context.Background(), scrm.Event{ID: "root", Tenant: "t1", Customer: "c1", Type: "x", Time: at}))
	err := d.Publish(saved, scrm.Event{ID: "late", Tenant: "t1", Customer: "c1", Type: "x", Time: at})
	require.NoError(t, err)
	assert.Equal(t, []string{"root", "late"}, seen, "Publish returned nil, so the event was delivered, once")
}

// Handlers publishing from goroutines of their own, some while the cascade
// is still delivering and some just as or after its loop ends: every event
// (and every event its handlers publish in turn) reaches the handler
// exactly once, whichever party delivers it.
func TestPublishFromHandlerGoroutinesDeliversEachEventOnce(t *testing.T) {
	const roots, workers = 20, 8
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	var d *scrm.Dispatcher
	d = scrm.NewDispatcher(scrm.HandlerFunc(func(ctx context.Context, e scrm.Event) error {
		mu.Lock()
		seen[e.ID]++
		mu.Unlock()
		switch {
		case strings.HasPrefix(e.ID, "root"):
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < w*50; i++ { // spread the publishes over the loop's end
						_ = fmt.Sprint(i)
					}
					err := d.Publish(ctx, scrm.Event{ID: fmt.Sprintf("late-%s-%d", e.ID, w), Tenant: "t1", Customer: "c1", Type: "late", Time: at})
					assert.NoError(t, err)
				}()
			}
		case strings.HasPrefix(e.ID, "late"):
			return d.Publish(ctx, scrm.Event{ID: "child-" + e.ID, Tenant: "t1", Customer: "c1", Type: "child", Time: at})
		}
		return nil
	}))
	var outer sync.WaitGroup
	for r := 0; r < roots; r++ {
		outer.Add(1)
		go func() {
			defer outer.Done()
			assert.NoError(t, d.Publish(context.Background(), scrm.Event{ID: fmt.Sprint("root", r), Tenant: "t1", Customer: "c1", Type: "root", Time: at}))
		}()
	}
	outer.Wait()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, seen, roots*(1+2*workers))
	for id, n := range seen {
		assert.Equal(t, 1, n, "event %s delivered %d times", id, n)
	}
}

// MergeEvent's ID "is deterministic, so publishing it again (after a
// failed Publish) has no further effect" and Event.ID is "unique per
// tenant". When customer IDs contain ':' (host NewID schemes like "wx:123")
// the ID carries the length of from, so merging "a:b" into "c" and "a" into
// "b:c" get different IDs, and Profiles folds both merges: the absorbed
// customers' orders reach the survivor's profile.
func TestMergeEventIDsDistinct(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	e1 := scrm.MergeEvent("t1", "a:b", "c", at)
	e2 := scrm.MergeEvent("t1", "a", "b:c", at)
	require.NotEqual(t, e1.Props["from"], e2.Props["from"])
	assert.NotEqual(t, e1.ID, e2.ID, "two different merges share the event ID %q", e1.ID)

	ctx := context.Background()
	p := scrm.NewProfiles(scrm.NewMemoryProfileStore(), nil)
	for _, e := range []scrm.Event{
		{ID: "o1", Tenant: "t1", Customer: "a:b", Type: scrm.EventOrderPaid, Time: at, Amount: scrm.Yuan("10")},
		{ID: "o2", Tenant: "t1", Customer: "a", Type: scrm.EventOrderPaid, Time: at, Amount: scrm.Yuan("20")},
		e1, e2,
	} {
		require.NoError(t, p.Handle(ctx, e))
	}
	pr, err := scrm.LoadProfile(ctx, p.Store(), "t1", "b:c")
	require.NoError(t, err)
	assert.Equal(t, "20", pr.Sum(scrm.EventOrderPaid, time.Time{}).String(), "customer a's order folded into b:c")
}

// MergeEvent keeps its published IDs for usual customer IDs (no ':'),
// short and long, and gives every other pair an ID of a form that none of
// them can take, also when long IDs contain NUL bytes.
func TestMergeEventIDForms(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	id := func(from, into string) string {
		return scrm.MergeEvent("t1", scrm.CustomerID(from), scrm.CustomerID(into), at).ID
	}
	assert.Equal(t, "merge:C2:C1", id("C2", "C1"))
	assert.Equal(t, "merge:3:a:b:c", id("a:b", "c"))
	assert.Equal(t, "merge:1:a:b:c", id("a", "b:c"))
	long := strings.Repeat("x", 100)
	assert.Equal(t, "merge:2f84cf9869693c173fb168e7803eae68c32288197ca6fd9cd3a5a853526837da", id(long, long),
		"the long-ID hash of usual IDs is unchanged")
	ids := map[string]bool{}
	for _, pair := range [][2]string{
		{long + "\x00a", "b"}, {long, "a\x00b"}, {long + ":a", "b"}, {long, "a:b"}, {long, long}, {long + "a", "b"},
	} {
		got := id(pair[0], pair[1])
		assert.LessOrEqual(t, len(got), scrm.MaxIDLength)
		assert.False(t, ids[got], "%q shared by two merges", got)
		ids[got] = true
	}
}

// Directory.SetAttrs publishes customer.attrs_set after the store write "so
// that profiles, which rules read, carry the same attributes". Two SetAttrs
// calls for one customer (a CRM edit and an import) whose events reach
// Profiles in the other order than their writes (the first caller was
// descheduled between its write and its Publish; a queue redelivered) leave
// the profile with the newer value: the profile remembers the time of the
// event that set each attribute and ignores an older one, so the profile
// agrees with the Directory.
func TestSetAttrsOutOfOrderDeliveryKeepsNewest(t *testing.T) {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	profiles := scrm.NewProfiles(scrm.NewMemoryProfileStore(), &scrm.Options{Clock: clock})
	arrived, release := make(chan struct{}), make(chan struct{})
	first := true
	var mu sync.Mutex
	pub := scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error {
		if e.Type == scrm.EventAttrsSet {
			mu.Lock()
			hold := first
			first = false
			mu.Unlock()
			if hold {
				close(arrived)
				<-release // the first caller is descheduled here
			}
		}
		return profiles.Handle(ctx, e)
	})
	dir := scrm.NewDirectory(nil, &scrm.Options{Clock: clock, Publisher: pub})
	c, err := dir.Resolve(ctx, "t1", scrm.Identity{Kind: scrm.IdentityPhone, Value: "13800138000"})
	require.NoError(t, err)

	done := make(chan error)
	go func() { done <- dir.SetAttrs(ctx, "t1", c, map[string]any{"city": "上海"}) }()
	<-arrived
	clock.Advance(time.Minute)
	require.NoError(t, dir.SetAttrs(ctx, "t1", c, map[string]any{"city": "北京"}))
	close(release)
	require.NoError(t, <-done)

	cust, err := dir.Get(ctx, "t1", c)
	require.NoError(t, err)
	require.Equal(t, "北京", cust.Attrs["city"], "the Directory keeps the later write")
	p, err := profiles.Get(ctx, "t1", c)
	require.NoError(t, err)
	got, _ := p.Attr("city")
	assert.Equal(t, "北京", got, "the profile must agree with the Directory")
}

// attrsSet builds a customer.attrs_set event.
func attrsSet(id string, at time.Time, attrs map[string]any) scrm.Event {
	return scrm.Event{ID: id, Tenant: "t1", Customer: "c1", Type: scrm.EventAttrsSet, Time: at,
		Props: map[string]any{"attrs": attrs}}
}

// Per attribute, the latest customer.attrs_set event wins whatever the
// delivery order, the same for deletions; of two events with the same
// Time the one applied last wins; the times survive the JSON form; and a
// direct SetAttr sets the value with no event time, so the next event sets
// it whatever its Time.
func TestProfileAttrsSetOrderedByEventTime(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	p := scrm.NewProfile("t1", "c1")
	p.Apply(attrsSet("e2", t0.Add(2*time.Minute), map[string]any{"city": "北京", "level": 2}))
	p.Apply(attrsSet("e1", t0, map[string]any{"city": "上海", "level": 1, "vip": true}))
	city, _ := p.Attr("city")
	level, _ := p.Attr("level")
	vip, _ := p.Attr("vip")
	assert.Equal(t, "北京", city)
	assert.Equal(t, int64(2), level)
	assert.Equal(t, true, vip, "an attribute the later event did not set is set by the older one")

	// The times survive the stored form.
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var back scrm.Profile
	require.NoError(t, json.Unmarshal(b, &back))
	back.Apply(attrsSet("e0", t0.Add(time.Minute), map[string]any{"city": "广州", "vip": nil}))
	city, _ = back.Attr("city")
	assert.Equal(t, "北京", city, "JSON lost the time of the event that set city")
	_, ok := back.Attr("vip")
	assert.False(t, ok, "a later deletion applies")

	// Same Time: the one applied last wins.
	back.Apply(attrsSet("e3", t0.Add(2*time.Minute), map[string]any{"city": "深圳"}))
	city, _ = back.Attr("city")
	assert.Equal(t, "深圳", city)

	// A direct SetAttr carries no event time.
	back.SetAttr("city", "杭州")
	city, _ = back.Attr("city")
	assert.Equal(t, "杭州", city)
	back.Apply(attrsSet("e4", t0, map[string]any{"city": "南京"}))
	city, _ = back.Attr("city")
	assert.Equal(t, "南京", city, "after SetAttr, the next event sets the attribute")

	// Absorb keeps the times of the attributes it takes.
	q := scrm.NewProfile("t1", "c2")
	q.Absorb(p)
	q.Apply(attrsSet("e5", t0.Add(time.Minute), map[string]any{"city": "广州"}))
	city, _ = q.Attr("city")
	assert.Equal(t, "北京", city)
}

// Event.Validate accepts any time up to the year 2200, and the horizon is
// measured back from the newest event of the same type. One order dated in
// the future by mistake (an import that typed 2036 for 2026, a POS with a
// wrong clock) is more than a horizon ahead of every other order, so it
// does not count as the newest for the horizon: the kept entries stay, every
// real order after it enters the windows, and "within 30d" sees the
// customer's real orders (count and sum).
func TestFutureDatedEventKeepsLaterWindows(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	p := scrm.NewProfile("t1", "c1")
	for i := 12; i >= 1; i-- {
		p.Apply(scrm.Event{ID: fmt.Sprint("m", i), Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
			Time: now.AddDate(0, -i, 0), Amount: scrm.Yuan("100")})
	}
	p.Apply(scrm.Event{ID: "typo", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
		Time: now.AddDate(10, 0, 0), Amount: scrm.Yuan("1")})
	p.Apply(scrm.Event{ID: "r1", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid, Time: now.Add(-5 * day), Amount: scrm.Yuan("50")})
	p.Apply(scrm.Event{ID: "r2", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid, Time: now.Add(-day), Amount: scrm.Yuan("70")})

	// m1 (2026-02-01, 28 days back), r1 and r2.
	since, until := now.Add(-30*day), now.Add(day)
	n := p.Count(scrm.EventOrderPaid, since) - p.Count(scrm.EventOrderPaid, until)
	assert.Equal(t, int64(3), n, "orders in the last 30 days")
	s := p.Sum(scrm.EventOrderPaid, since).Sub(p.Sum(scrm.EventOrderPaid, until))
	assert.Equal(t, "220", s.String(), "amount in the last 30 days")
	// The whole year is still kept.
	n = p.Count(scrm.EventOrderPaid, now.AddDate(-1, 0, -1)) - p.Count(scrm.EventOrderPaid, until)
	assert.Equal(t, int64(14), n, "orders in the last year")
}

// The horizon rule: measured back from the newest entry at most a horizon
// after the entry before it. An event alone more than a horizon ahead of the
// others prunes nothing (keeping entries only costs memory, which
// MaxEntries bounds); real history still ages out once events close to each
// other arrive, and an outlier becomes the reference once events close to
// it do.
func TestHorizonIgnoresLoneOutlier(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	limits := scrm.ProfileLimits{Horizon: 10 * day}
	order := func(p *scrm.Profile, id string, at time.Time) {
		p.ApplyWithLimits(scrm.Event{ID: id, Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid, Time: at, Amount: scrm.Yuan("1")}, limits)
	}
	window := func(p *scrm.Profile, from, to time.Time) int64 {
		return p.Count(scrm.EventOrderPaid, from) - p.Count(scrm.EventOrderPaid, to)
	}
	p := scrm.NewProfile("t1", "c1")
	order(p, "a", t0)
	order(p, "b", t0.Add(day))
	order(p, "far", t0.Add(100*day)) // alone far ahead: prunes nothing
	// (A window starting at or before the first event is the all-time
	// count; b is counted by a window starting after a.)
	b := t0.Add(time.Hour)
	assert.Equal(t, int64(1), window(p, b, t0.Add(2*day)))
	order(p, "c", t0.Add(20*day)) // alone too, 19 days after b
	assert.Equal(t, int64(1), window(p, b, t0.Add(2*day)))
	order(p, "d", t0.Add(25*day)) // history moves on: a and b age out of the horizon
	assert.Equal(t, int64(0), window(p, b, t0.Add(2*day)), "entries older than the horizon are pruned")
	assert.Equal(t, int64(2), window(p, t0.Add(19*day), t0.Add(26*day)))
	order(p, "late", t0.Add(2*day)) // older than the horizon before d: all-time only
	assert.Equal(t, int64(0), window(p, b, t0.Add(3*day)))
	assert.Equal(t, int64(6), p.Count(scrm.EventOrderPaid, time.Time{}), "all-time counts stay exact")
	order(p, "near", t0.Add(99*day)) // the outlier is now confirmed: c and d age out
	assert.Equal(t, int64(0), window(p, t0.Add(19*day), t0.Add(26*day)))
	assert.Equal(t, int64(2), window(p, t0.Add(95*day), t0.Add(101*day)))
}

// Profiles, which has a clock, refuses an event dated more than
// FutureTolerance after it with ErrInvalid naming "Time", and writes
// nothing; an event within the tolerance is folded in.
func TestProfilesRefusesFutureDatedEvent(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	profiles := scrm.NewProfiles(scrm.NewMemoryProfileStore(), &scrm.Options{Clock: scrmtest.NewClock(now)})
	err := profiles.Handle(ctx, scrm.Event{ID: "typo", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
		Time: now.AddDate(10, 0, 0), Amount: scrm.Yuan("1")})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	var se *scrm.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "Time", se.Field)
	_, err = profiles.Get(ctx, "t1", "c1")
	assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
	applied, err := profiles.Store().Applied(ctx, "t1", "typo")
	require.NoError(t, err)
	assert.False(t, applied, "the event ID is not recorded, so a corrected event can be applied")

	require.NoError(t, profiles.Handle(ctx, scrm.Event{ID: "skew", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
		Time: now.Add(scrm.FutureTolerance), Amount: scrm.Yuan("1")}))
	p, err := profiles.Get(ctx, "t1", "c1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.Count(scrm.EventOrderPaid, time.Time{}))
}

// FindProfile "is LoadProfile for callers that only ask whether a customer
// did something: a customer with no stored profile gives nil and no error".
// For a customer absorbed by a merge whose survivor has no profile yet (the
// window Profiles.merge heals on replay: the absorbed profile is marked,
// the fold into the survivor has not happened or failed), FindProfile
// agrees with LoadProfile: the survivor's empty profile, no error, so hot
// paths (a first order, an invitee) see a customer who did nothing.
func TestFindProfileAbsorbedIntoCustomerWithoutProfile(t *testing.T) {
	ctx := context.Background()
	st := scrm.NewMemoryProfileStore()
	p := scrm.NewProfile("t1", "B")
	p.MergedInto = "A"
	_, err := st.Save(ctx, scrm.SaveProfileParams{Profile: p})
	require.NoError(t, err)
	_, err = scrm.LoadProfile(ctx, st, "t1", "B")
	require.NoError(t, err, "LoadProfile gives A's empty profile")
	f, err := scrm.FindProfile(ctx, st, "t1", "B")
	assert.NoError(t, err)
	if f != nil {
		assert.Equal(t, int64(0), f.Count(scrm.EventOrderPaid, time.Time{}))
		assert.Equal(t, scrm.CustomerID("A"), f.Customer)
	}
}
