package scrm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

func TestMemoryDirectoryStore(t *testing.T) {
	scrmtest.RunDirectoryStoreTests(t, func(*testing.T) scrm.DirectoryStore {
		return scrm.NewMemoryDirectoryStore()
	})
}

func TestNormalizeIdentity(t *testing.T) {
	const long = "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	tests := []struct {
		kind     scrm.IdentityKind
		in       string
		want     string // when badField is empty
		badField string // "Kind" or "Value"
	}{
		{scrm.IdentityPhone, "13800138000", "13800138000", ""},
		{scrm.IdentityPhone, "+86 138 0013 8000", "13800138000", ""},
		{scrm.IdentityPhone, "0086-13800138000", "13800138000", ""},
		{scrm.IdentityPhone, "86 13800138000", "13800138000", ""},
		{scrm.IdentityPhone, "138-0013-8000", "13800138000", ""},
		{scrm.IdentityPhone, "  138.0013.8000\t", "13800138000", ""},
		{scrm.IdentityPhone, "(+86) 13800138000", "13800138000", ""},
		{scrm.IdentityPhone, "+8613800138000", "13800138000", ""},
		{scrm.IdentityPhone, "+1 (415) 555-0100", "+14155550100", ""},
		{scrm.IdentityPhone, "00 44 20 7946 0958", "+442079460958", ""},
		{scrm.IdentityPhone, "+852 6123 4567", "+85261234567", ""},
		{scrm.IdentityPhone, "+1234567", "+1234567", ""},
		{scrm.IdentityPhone, "", "", "Value"},
		{scrm.IdentityPhone, "   ", "", "Value"},
		{scrm.IdentityPhone, "12345", "", "Value"},
		{scrm.IdentityPhone, "1380013800a", "", "Value"},
		{scrm.IdentityPhone, "tel:13800138000", "", "Value"},
		{scrm.IdentityPhone, "23800138000", "", "Value"},      // 11 digits, not a mobile
		{scrm.IdentityPhone, "138001380001", "", "Value"},     // 12 digits
		{scrm.IdentityPhone, "1380013800", "", "Value"},       // 10 digits
		{scrm.IdentityPhone, "+86 10 6552 9988", "", "Value"}, // landline
		{scrm.IdentityPhone, "+86 23800138000", "", "Value"},
		{scrm.IdentityPhone, "+0123456789", "", "Value"},
		{scrm.IdentityPhone, "+123456", "", "Value"},           // 6 digits
		{scrm.IdentityPhone, "+1234567890123456", "", "Value"}, // 16 digits
		{scrm.IdentityPhone, "++8613800138000", "", "Value"},
		{scrm.IdentityPhone, "138+00138000", "", "Value"},
		{scrm.IdentityPhone, "+", "", "Value"},
		{scrm.IdentityPhone, "---", "", "Value"},
		{scrm.IdentityEmail, " Alice@Example.COM ", "alice@example.com", ""},
		{scrm.IdentityEmail, "a@x", "a@x", ""},
		{scrm.IdentityEmail, "alice", "", "Value"},
		{scrm.IdentityEmail, "a@b@c", "", "Value"},
		{scrm.IdentityEmail, "@x.com", "", "Value"},
		{scrm.IdentityEmail, "a@", "", "Value"},
		{scrm.IdentityEmail, "a b@x.com", "", "Value"},
		{scrm.IdentityUnionID, " o6_bmjrPTlm6_2sgVt7hMZOPfL2M ", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", ""},
		{scrm.IdentityOpenID, "AbC", "AbC", ""}, // case-sensitive
		{scrm.IdentityMemberNo, "M 001", "M 001", ""},
		{"douyin_openid", "x", "x", ""}, // the set of kinds is open
		{scrm.IdentityMemberNo, long[:scrm.MaxIDLength], long[:scrm.MaxIDLength], ""},
		{scrm.IdentityMemberNo, long, "", "Value"},
		{scrm.IdentityMemberNo, "\xff", "", "Value"},
		{"", "x", "", "Kind"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%q", tt.kind, tt.in), func(t *testing.T) {
			got, err := scrm.NormalizeIdentity(scrm.Identity{Kind: tt.kind, Value: tt.in})
			if tt.badField != "" {
				require.ErrorIs(t, err, scrm.ErrInvalid)
				var e *scrm.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tt.badField, e.Field)
				if len(tt.in) >= 11 {
					assert.NotContains(t, err.Error(), strings.TrimSpace(tt.in), "the error masks the value")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, scrm.Identity{Kind: tt.kind, Value: tt.want}, got)
			again, err := scrm.NormalizeIdentity(got)
			require.NoError(t, err)
			assert.Equal(t, got, again, "normalizing is idempotent")
		})
	}
}

func TestIdentityStringMasks(t *testing.T) {
	tests := []struct {
		id   scrm.Identity
		want string
	}{
		{scrm.Identity{Kind: scrm.IdentityPhone, Value: "13812345678"}, "138****5678"},
		{scrm.Identity{Kind: scrm.IdentityPhone, Value: "+14155550100"}, "+141****0100"},
		{scrm.Identity{Kind: scrm.IdentityPhone, Value: "+1234567"}, "+1****7"},
		{scrm.Identity{Kind: scrm.IdentityEmail, Value: "alice@x.com"}, "a***@x.com"},
		{scrm.Identity{Kind: scrm.IdentityUnionID, Value: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"}, "o6_b***"},
		{scrm.Identity{Kind: scrm.IdentityMemberNo, Value: "M0001"}, "M***"},
		{scrm.Identity{Kind: scrm.IdentityMemberNo, Value: "张三丰会员"}, "张***"},
		{scrm.Identity{Kind: scrm.IdentityMemberNo, Value: "ab"}, "***"},
		{scrm.Identity{Kind: scrm.IdentityMemberNo}, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.id.String(), "%s", tt.id.Kind)
	}

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x",
		"identity", scrm.Identity{Kind: scrm.IdentityPhone, Value: "13812345678"},
		"customer", scrm.Customer{Tenant: "t1", ID: "c1", Identities: []scrm.Identity{{Kind: scrm.IdentityEmail, Value: "alice@x.com"}},
			Attrs: map[string]any{"name": "张三"}})
	out := buf.String()
	assert.Contains(t, out, `"identity":{"kind":"phone","value":"138****5678"}`)
	assert.Contains(t, out, "email:a***@x.com")
	for _, raw := range []string{"13812345678", "alice@x.com", "张三"} {
		assert.NotContains(t, out, raw)
	}
}

// dirEnv is a Directory over a memory store with a hand-driven clock,
// sequential IDs and a recording publisher.
type dirEnv struct {
	t     *testing.T
	dir   *scrm.Directory
	store scrm.DirectoryStore
	logs  bytes.Buffer

	mu         sync.Mutex
	now        time.Time
	n          int
	events     []scrm.Event
	publishErr error
}

func newDirEnv(t *testing.T) *dirEnv {
	e := &dirEnv{t: t, store: scrm.NewMemoryDirectoryStore(), now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	e.dir = scrm.NewDirectory(e.store, &scrm.Options{
		Clock: scrm.ClockFunc(func() time.Time {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.now
		}),
		NewID: func() string {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.n++
			return fmt.Sprintf("C%d", e.n)
		},
		Publisher: scrm.PublisherFunc(func(_ context.Context, ev scrm.Event) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			if err := ev.Validate(); err != nil {
				return err
			}
			e.events = append(e.events, ev)
			return e.publishErr
		}),
		Logger: slog.New(slog.NewTextHandler(&e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return e
}

func (e *dirEnv) advance(d time.Duration) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
	return e.now
}

func (e *dirEnv) takeEvents() []scrm.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	ev := e.events
	e.events = nil
	return ev
}

func (e *dirEnv) resolve(ids ...scrm.Identity) scrm.Resolution {
	e.t.Helper()
	r, err := e.dir.ResolveDetail(context.Background(), "t1", ids...)
	require.NoError(e.t, err)
	return r
}

func phone(v string) scrm.Identity { return scrm.Identity{Kind: scrm.IdentityPhone, Value: v} }
func union(v string) scrm.Identity { return scrm.Identity{Kind: scrm.IdentityUnionID, Value: v} }
func email(v string) scrm.Identity { return scrm.Identity{Kind: scrm.IdentityEmail, Value: v} }

func TestDirectoryResolvePhoneForms(t *testing.T) {
	e := newDirEnv(t)
	first := e.resolve(phone("+86 138 0013 8000"))
	assert.True(t, first.Created)
	for _, form := range []string{"0086-13800138000", "86 13800138000", "138-0013-8000", "13800138000", " (+86)138.0013.8000 "} {
		r := e.resolve(phone(form))
		assert.Equal(t, scrm.Resolution{Customer: first.Customer}, r, form)
	}
	c, err := e.dir.Get(context.Background(), "t1", first.Customer)
	require.NoError(t, err)
	assert.Equal(t, []scrm.Identity{phone("13800138000")}, c.Identities, "stored once, normalized")
	assert.Equal(t, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), c.CreatedAt)

	// Two spellings of one phone in one call are one identity.
	r := e.resolve(phone("13900139000"), phone("+86 139-0013-9000"))
	c, err = e.dir.Get(context.Background(), "t1", r.Customer)
	require.NoError(t, err)
	assert.Equal(t, []scrm.Identity{phone("13900139000")}, c.Identities)
	assert.Empty(t, e.takeEvents())
}

func TestDirectoryCreateAndAttach(t *testing.T) {
	ctx := context.Background()
	e := newDirEnv(t)
	r := e.resolve(phone("13800138000"))
	assert.Equal(t, scrm.Resolution{Customer: "C1", Created: true}, r)

	e.advance(time.Hour)
	r = e.resolve(phone("13800138000"), union("u1"), phone("13900139000"))
	assert.Equal(t, scrm.Resolution{Customer: "C1"}, r, "unknown identities attach to the known customer")

	c, err := e.dir.Get(ctx, "t1", "C1")
	require.NoError(t, err)
	assert.Equal(t, []scrm.Identity{phone("13800138000"), union("u1"), phone("13900139000")}, c.Identities)
	id, err := e.dir.Lookup(ctx, "t1", phone("139 0013 9000"))
	require.NoError(t, err)
	assert.Equal(t, scrm.CustomerID("C1"), id)
	assert.Empty(t, e.takeEvents())
}

func TestDirectoryMergePublishes(t *testing.T) {
	ctx := context.Background()
	e := newDirEnv(t)
	a := e.resolve(phone("13800138000")).Customer
	require.NoError(t, e.dir.SetAttrs(ctx, "t1", a, map[string]any{"name": "A"}))
	e.advance(time.Hour)
	b := e.resolve(union("u1")).Customer
	require.NoError(t, e.dir.SetAttrs(ctx, "t1", b, map[string]any{"name": "B", "city": "上海"}))
	set := e.takeEvents()
	require.Len(t, set, 2, "SetAttrs publishes customer.attrs_set")
	assert.Equal(t, scrm.EventAttrsSet, set[1].Type)
	assert.Equal(t, b, set[1].Customer)
	assert.Equal(t, map[string]any{"name": "B", "city": "上海"}, set[1].Props["attrs"])
	mergedAt := e.advance(time.Hour)

	r := e.resolve(union("u1"), phone("+8613800138000"))
	assert.Equal(t, scrm.Resolution{Customer: a, Merged: []scrm.CustomerID{b}}, r)

	assert.Equal(t, []scrm.Event{{
		ID:       "merge:C2:C1",
		Tenant:   "t1",
		Customer: a,
		Type:     scrm.EventCustomerMerged,
		Time:     mergedAt,
		Props:    map[string]any{"from": b, "into": a},
	}}, e.takeEvents())

	got, err := e.dir.Get(ctx, "t1", b)
	require.NoError(t, err)
	assert.Equal(t, a, got.ID, "Get on an absorbed customer returns the survivor")
	assert.Empty(t, got.MergedInto)
	assert.Equal(t, []scrm.Identity{phone("13800138000"), union("u1")}, got.Identities)
	assert.Equal(t, map[string]any{"name": "A", "city": "上海"}, got.Attrs)

	raw, err := e.store.Get(ctx, "t1", b)
	require.NoError(t, err)
	assert.Equal(t, a, raw.MergedInto)

	// Linked already: no further merge, no event.
	e.advance(time.Hour)
	assert.Equal(t, scrm.Resolution{Customer: a}, e.resolve(phone("13800138000"), union("u1")))
	assert.Empty(t, e.takeEvents())
	assert.Contains(t, e.logs.String(), "customers merged")
	assert.NotContains(t, e.logs.String(), "13800138000", "logs mask phone numbers")
}

func TestDirectoryMergeThree(t *testing.T) {
	ctx := context.Background()
	e := newDirEnv(t)
	a := e.resolve(phone("13800138000")).Customer
	e.advance(time.Minute)
	b := e.resolve(union("u1")).Customer
	e.advance(time.Minute)
	c := e.resolve(email("c@x.com")).Customer
	e.advance(time.Minute)

	r := e.resolve(email("C@X.com"), union("u1"), phone("13800138000"), scrm.Identity{Kind: scrm.IdentityMemberNo, Value: "M1"})
	assert.Equal(t, scrm.Resolution{Customer: a, Merged: []scrm.CustomerID{b, c}}, r)
	evs := e.takeEvents()
	require.Len(t, evs, 2)
	for i, from := range []scrm.CustomerID{b, c} {
		assert.Equal(t, "merge:"+string(from)+":"+string(a), evs[i].ID)
		assert.Equal(t, from, evs[i].Props["from"])
		assert.Equal(t, a, evs[i].Props["into"])
		assert.Equal(t, a, evs[i].Customer)
	}
	for _, id := range []scrm.CustomerID{a, b, c} {
		got, err := e.dir.Get(ctx, "t1", id)
		require.NoError(t, err)
		assert.Equal(t, a, got.ID)
		assert.Len(t, got.Identities, 4)
	}
}

func TestDirectoryMergeChain(t *testing.T) {
	ctx := context.Background()
	e := newDirEnv(t)
	c := e.resolve(email("c@x.com")).Customer // oldest
	e.advance(time.Minute)
	a := e.resolve(phone("13800138000")).Customer
	e.advance(time.Minute)
	b := e.resolve(union("u1")).Customer
	e.advance(time.Minute)

	// A absorbs B ...
	assert.Equal(t, scrm.Resolution{Customer: a, Merged: []scrm.CustomerID{b}}, e.resolve(phone("13800138000"), union("u1")))
	// ... then C absorbs A, the survivor of the first merge.
	assert.Equal(t, scrm.Resolution{Customer: c, Merged: []scrm.CustomerID{a}}, e.resolve(union("u1"), email("c@x.com")))

	var ids []string
	for _, ev := range e.takeEvents() {
		ids = append(ids, ev.ID)
	}
	assert.Equal(t, []string{"merge:" + string(b) + ":" + string(a), "merge:" + string(a) + ":" + string(c)}, ids)

	for _, id := range []scrm.CustomerID{a, b, c} {
		got, err := e.dir.Get(ctx, "t1", id)
		require.NoError(t, err)
		assert.Equal(t, c, got.ID, "Get(%s)", id)
		assert.ElementsMatch(t, []scrm.Identity{email("c@x.com"), phone("13800138000"), union("u1")}, got.Identities)
	}
	require.NoError(t, e.dir.SetAttrs(ctx, "t1", b, map[string]any{"via": "b"}))
	got, err := e.dir.Get(ctx, "t1", c)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"via": "b"}, got.Attrs, "SetAttrs follows merges")

	page, err := e.dir.List(ctx, scrm.ListCustomersParams{Tenant: "t1"})
	require.NoError(t, err)
	require.Len(t, page.Customers, 1)
	assert.Equal(t, c, page.Customers[0].ID)
}

func TestDirectoryPublishFailure(t *testing.T) {
	ctx := context.Background()
	e := newDirEnv(t)
	a := e.resolve(phone("13800138000")).Customer
	e.advance(time.Minute)
	b := e.resolve(union("u1")).Customer
	at := e.advance(time.Minute)

	boom := errors.New("broker down")
	e.publishErr = boom
	r, err := e.dir.ResolveDetail(ctx, "t1", phone("13800138000"), union("u1"))
	require.ErrorIs(t, err, boom)
	require.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.Equal(t, scrm.Resolution{Customer: a, Merged: []scrm.CustomerID{b}}, r, "the resolution is returned with the error")
	id, err := e.dir.Resolve(ctx, "t1", union("u1"))
	require.NoError(t, err)
	assert.Equal(t, a, id, "the merge stays")
	got, err := e.dir.Get(ctx, "t1", b)
	require.NoError(t, err)
	assert.Equal(t, a, got.ID)

	failed := e.takeEvents()
	require.Len(t, failed, 1)
	assert.Equal(t, scrm.MergeEvent("t1", b, a, at), failed[0], "the host can rebuild the same event to publish again")
}

func TestDirectoryValidation(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tenant scrm.TenantID
		ids    []scrm.Identity
		field  string
	}{
		{"no tenant", "", []scrm.Identity{phone("13800138000")}, "Tenant"},
		{"no identities", "t1", nil, "Identities"},
		{"bad phone", "t1", []scrm.Identity{phone("13800138000"), phone("12345")}, "Identities[1].Value"},
		{"no kind", "t1", []scrm.Identity{{Value: "x"}}, "Identities[0].Kind"},
		{"empty value", "t1", []scrm.Identity{phone("13800138000"), union("u1"), union("  ")}, "Identities[2].Value"},
		{"bad email", "t1", []scrm.Identity{phone("13800138000"), email("nope")}, "Identities[1].Value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDirEnv(t)
			id, err := e.dir.Resolve(ctx, tt.tenant, tt.ids...)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			assert.Empty(t, id)
			var se *scrm.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.field, se.Field)
			assert.Contains(t, err.Error(), tt.field+": ")

			_, err = e.store.Lookup(ctx, "t1", phone("13800138000"))
			assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")
			page, err := e.store.List(ctx, scrm.ListCustomersParams{Tenant: "t1"})
			require.NoError(t, err)
			assert.Empty(t, page.Customers, "nothing written")
			assert.Empty(t, e.takeEvents())
		})
	}

	e := newDirEnv(t)
	c := e.resolve(phone("13800138000")).Customer
	checks := []struct {
		field string
		err   error
	}{
		{"Identity.Value", func() error { _, err := e.dir.Lookup(ctx, "t1", phone("abc")); return err }()},
		{"Identity.Kind", func() error { _, err := e.dir.Lookup(ctx, "t1", scrm.Identity{Value: "x"}); return err }()},
		{"Tenant", func() error { _, err := e.dir.Lookup(ctx, "", phone("13800138000")); return err }()},
		{"ID", func() error { _, err := e.dir.Get(ctx, "t1", ""); return err }()},
		{"ID", e.dir.SetAttrs(ctx, "t1", "", map[string]any{"a": "b"})},
		{`Attrs[""]`, e.dir.SetAttrs(ctx, "t1", c, map[string]any{"ok": "1", "": "x"})},
		{"Tenant", func() error { _, err := e.dir.List(ctx, scrm.ListCustomersParams{}); return err }()},
	}
	for _, ch := range checks {
		require.ErrorIs(t, ch.err, scrm.ErrInvalid, ch.field)
		var se *scrm.Error
		require.ErrorAs(t, ch.err, &se)
		assert.Equal(t, ch.field, se.Field)
	}
	got, err := e.dir.Get(ctx, "t1", c)
	require.NoError(t, err)
	assert.Empty(t, got.Attrs, "a rejected SetAttrs writes nothing")
}

func TestDirectoryNewIDInvalid(t *testing.T) {
	dir := scrm.NewDirectory(nil, &scrm.Options{NewID: func() string { return "" }})
	_, err := dir.Resolve(context.Background(), "t1", phone("13800138000"))
	require.ErrorIs(t, err, scrm.ErrInvalid)
	var se *scrm.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "Options.NewID", se.Field)
}

func TestDirectoryNotFound(t *testing.T) {
	ctx := context.Background()
	dir := scrm.NewDirectory(nil, nil)
	_, err := dir.Get(ctx, "t1", "nobody")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = dir.Lookup(ctx, "t1", phone("13800138000"))
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	assert.ErrorIs(t, dir.SetAttrs(ctx, "t1", "nobody", map[string]any{"a": "b"}), scrm.ErrNotFound)

	id, err := dir.Resolve(ctx, "t1", phone("13800138000"))
	require.NoError(t, err)
	assert.Len(t, id, 26, "the default NewID")
	_, err = dir.Get(ctx, "t2", id)
	assert.ErrorIs(t, err, scrm.ErrNotFound, "another tenant's customer")
}

func TestDirectoryCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := scrm.NewDirectory(nil, nil)
	_, err := dir.Resolve(ctx, "t1", phone("13800138000"))
	assert.ErrorIs(t, err, scrm.ErrUnavailable)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = dir.Get(ctx, "t1", "c1")
	assert.ErrorIs(t, err, context.Canceled)
}

// cycleStore is a broken store whose customers were merged into each other.
type cycleStore struct{ scrm.DirectoryStore }

func (cycleStore) Get(_ context.Context, tenant scrm.TenantID, id scrm.CustomerID) (scrm.Customer, error) {
	next := scrm.CustomerID("a")
	if id == "a" {
		next = "b"
	}
	return scrm.Customer{Tenant: tenant, ID: id, MergedInto: next}, nil
}

// plainErrStore fails with an error that is not a *scrm.Error.
type plainErrStore struct{ scrm.DirectoryStore }

func (plainErrStore) Lookup(context.Context, scrm.TenantID, scrm.Identity) (scrm.CustomerID, error) {
	return "", errors.New("connection reset")
}

func TestDirectoryBrokenStores(t *testing.T) {
	ctx := context.Background()
	_, err := scrm.NewDirectory(cycleStore{scrm.NewMemoryDirectoryStore()}, nil).Get(ctx, "t1", "a")
	assert.ErrorIs(t, err, scrm.ErrUnavailable, "a MergedInto cycle ends")

	_, err = scrm.NewDirectory(plainErrStore{scrm.NewMemoryDirectoryStore()}, nil).Resolve(ctx, "t1", phone("13800138000"))
	assert.ErrorIs(t, err, scrm.ErrUnavailable, "an unclassified store error is retryable")
	assert.Contains(t, err.Error(), "connection reset")
}

func TestDirectoryMergeEvent(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ev := scrm.MergeEvent("t1", "b", "a", at)
	require.NoError(t, ev.Validate())
	assert.Equal(t, "merge:b:a", ev.ID)
	assert.Equal(t, "b", ev.Prop("from"))
	assert.Equal(t, "a", ev.Prop("into"))

	long := scrm.CustomerID(strings.Repeat("x", scrm.MaxIDLength))
	ev = scrm.MergeEvent("t1", long, "a", at)
	require.NoError(t, ev.Validate(), "long IDs are hashed into a valid event ID")
	assert.Equal(t, ev.ID, scrm.MergeEvent("t1", long, "a", at.Add(time.Hour)).ID, "deterministic")
	assert.NotEqual(t, ev.ID, scrm.MergeEvent("t1", "a", long, at).ID)
}

func TestDirectoryCustomerString(t *testing.T) {
	c := scrm.Customer{Tenant: "t1", ID: "C1",
		Identities: []scrm.Identity{phone("13812345678"), email("alice@x.com")},
		Attrs:      map[string]any{"name": "张三"}, MergedInto: "C0"}
	assert.Equal(t, "customer t1/C1 [phone:138****5678 email:a***@x.com] attrs=1 merged into C0", c.String())
}
