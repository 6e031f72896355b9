package scrm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

func TestMemoryProfileStore(t *testing.T) {
	scrmtest.RunProfileStoreTests(t, func(t *testing.T) scrm.ProfileStore { return scrm.NewMemoryProfileStore() })
}

var day = 24 * time.Hour

func paid(id string, at time.Time, amount string) scrm.Event {
	return scrm.Event{ID: id, Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid, Time: at, Amount: scrm.Yuan(amount)}
}

func TestProfileWindowedAggregates(t *testing.T) {
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	p := scrm.NewProfile("t1", "c1")
	// One order every 10 days for 600 days back: older than the 400-day
	// horizon (measured from the newest order) leaves the window entries.
	for i := 60; i >= 0; i-- {
		p.Apply(paid(fmt.Sprint("o", i), now.Add(-time.Duration(i)*10*day), "10.01"))
	}
	tests := []struct {
		name  string
		since time.Time
		count int64
		sum   string
	}{
		{"all time", time.Time{}, 61, "610.61"},
		{"before the first", now.Add(-1000 * day), 61, "610.61"},
		{"exactly the first", now.Add(-600 * day), 61, "610.61"},
		{"30 days, boundary inclusive", now.Add(-30 * day), 4, "40.04"},
		{"30 days minus a second", now.Add(-30*day + time.Second), 3, "30.03"},
		{"90 days", now.Add(-90 * day), 10, "100.10"},
		{"365 days", now.Add(-365 * day), 37, "370.37"},
		{"400 days, the horizon", now.Add(-400 * day), 41, "410.41"},
		{"after the last", now.Add(time.Second), 0, "0"},
		{"exactly the last", now, 1, "10.01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.count, p.Count(scrm.EventOrderPaid, tt.since))
			assert.True(t, scrm.Yuan(tt.sum).Equal(p.Sum(scrm.EventOrderPaid, tt.since)), "sum %s", p.Sum(scrm.EventOrderPaid, tt.since))
			fen, ok := p.SumFen(scrm.EventOrderPaid, tt.since)
			assert.True(t, ok)
			assert.True(t, scrm.Yuan(tt.sum).Equal(scrm.FromFen(fen)))
		})
	}
	// A window reaching past the horizon counts only what is kept.
	assert.Equal(t, int64(41), p.Count(scrm.EventOrderPaid, now.Add(-500*day)))

	first, ok := p.First(scrm.EventOrderPaid)
	require.True(t, ok)
	assert.Equal(t, now.Add(-600*day), first)
	last, ok := p.Last(scrm.EventOrderPaid)
	require.True(t, ok)
	assert.Equal(t, now, last)
	_, ok = p.Last(scrm.EventOrderRefunded)
	assert.False(t, ok)
	assert.Zero(t, p.Count(scrm.EventOrderRefunded, time.Time{}))
	assert.True(t, p.Sum(scrm.EventOrderRefunded, time.Time{}).IsZero())
}

func TestProfileLateEventsAndLimits(t *testing.T) {
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	p := scrm.NewProfile("t1", "c1")
	p.Apply(paid("a", now, "1"))
	p.Apply(paid("b", now.Add(-20*day), "2"))
	p.Apply(paid("c", now.Add(-5*day), "4"))
	assert.Equal(t, int64(2), p.Count(scrm.EventOrderPaid, now.Add(-10*day)))
	assert.True(t, scrm.Yuan("5").Equal(p.Sum(scrm.EventOrderPaid, now.Add(-10*day))))
	assert.True(t, scrm.Yuan("7").Equal(p.Sum(scrm.EventOrderPaid, now.Add(-30*day))))

	// Many events of one type are coalesced by day past MaxEntries, and
	// nothing is lost from all-time or day-aligned windows.
	q := scrm.NewProfile("t1", "c1")
	limits := scrm.ProfileLimits{MaxEntries: 64}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 100*24; i++ { // hourly for 100 days
		q.ApplyWithLimits(scrm.Event{ID: fmt.Sprint(i), Tenant: "t1", Customer: "c1", Type: scrm.EventPageViewed, Time: base.Add(time.Duration(i) * time.Hour), Amount: scrm.Yuan("0.01")}, limits)
	}
	assert.Equal(t, int64(2400), q.Count(scrm.EventPageViewed, time.Time{}))
	assert.Equal(t, int64(2400), q.Count(scrm.EventPageViewed, base.Add(time.Second)), "coalesced entries keep the day's latest time")
	assert.Equal(t, int64(24*10), q.Count(scrm.EventPageViewed, base.Add(90*day)))
	assert.True(t, scrm.Yuan("2.40").Equal(q.Sum(scrm.EventPageViewed, base.Add(90*day))))
}

func TestProfileAttrsNormalized(t *testing.T) {
	p := scrm.NewProfile("t1", "c1")
	p.SetAttr("i", 3)
	p.SetAttr("u8", uint8(7))
	p.SetAttr("f32", float32(1.5))
	p.SetAttr("list", []any{"a", "b"})
	p.SetAttr("d", scrm.Yuan("1.20"))
	p.SetAttr("gone", "x")
	p.SetAttr("gone", nil)
	v, _ := p.Attr("i")
	assert.Equal(t, int64(3), v)
	v, _ = p.Attr("u8")
	assert.Equal(t, int64(7), v)
	v, _ = p.Attr("f32")
	assert.Equal(t, 1.5, v)
	v, _ = p.Attr("list")
	assert.Equal(t, []string{"a", "b"}, v)
	_, ok := p.Attr("gone")
	assert.False(t, ok)

	// An attrs_set event sets attributes too.
	p.Apply(scrm.Event{ID: "e", Tenant: "t1", Customer: "c1", Type: scrm.EventAttrsSet, Time: time.Now(), Props: map[string]any{"attrs": map[string]any{"city": "杭州", "i": nil}}})
	v, _ = p.Attr("city")
	assert.Equal(t, "杭州", v)
	_, ok = p.Attr("i")
	assert.False(t, ok)
}

// A nil pointer holds no value: setting one deletes the attribute, as nil
// does, instead of storing a nil that readers would print as "<no value>".
func TestProfileSetAttrNilPointerDeletes(t *testing.T) {
	p := scrm.NewProfile("t1", "c1")
	p.SetAttr("balance", scrm.Yuan("9.90"))
	p.SetAttr("balance", (*decimal.Decimal)(nil))
	_, ok := p.Attr("balance")
	assert.False(t, ok, "a nil *decimal.Decimal deletes the attribute")
	p.SetAttr("nick", (*string)(nil))
	_, ok = p.Attr("nick")
	assert.False(t, ok, "so does any nil pointer")
	assert.Empty(t, p.Attrs())

	d := scrm.Yuan("1.20")
	p.SetAttr("balance", &d)
	v, ok := p.Attr("balance")
	require.True(t, ok)
	assert.True(t, d.Equal(v.(decimal.Decimal)), "a non-nil *decimal.Decimal is stored as its value")

	p.Apply(scrm.Event{ID: "e", Tenant: "t1", Customer: "c1", Type: scrm.EventAttrsSet, Time: time.Now(),
		Props: map[string]any{"attrs": map[string]any{"balance": (*decimal.Decimal)(nil)}}})
	_, ok = p.Attr("balance")
	assert.False(t, ok, "an attrs_set event with a nil pointer deletes too")
}

// A non-nil pointer of any type stores what it points to, normalized as
// the value itself would be, never the pointer's address.
func TestProfileSetAttrPointerStoresValue(t *testing.T) {
	p := scrm.NewProfile("t1", "c1")
	nick, age, vip := "小王", int32(30), true
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	pnick := &nick
	p.SetAttr("nick", &nick)
	p.SetAttr("nick2", &pnick)
	p.SetAttr("age", &age)
	p.SetAttr("vip", &vip)
	p.SetAttr("at", &at)
	for name, want := range map[string]any{"nick": "小王", "nick2": "小王", "age": int64(30), "vip": true, "at": at} {
		v, ok := p.Attr(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, v, name)
	}
	type self *self // a pointer type that can point to itself
	var s self
	s = &s
	p.SetAttr("self", s)
	v, ok := p.Attr("self")
	assert.True(t, ok)
	assert.IsType(t, "", v, "a pointer chain that never ends is stored as a string")
}

func TestProfileJSONRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	p := scrm.NewProfile("t1", "c1")
	p.Version = 7
	p.SetAttr("city", "上海")
	p.SetAttr("n", 42)
	p.SetAttr("f", 0.5)
	p.SetAttr("d", scrm.Yuan("99.90"))
	p.SetAttr("t", t0)
	p.SetAttr("b", false)
	p.SetAttr("l", []string{})
	p.SetAttr("num", json.Number("12345678901234567890"))
	p.SetTag("vip", scrm.TagMark{At: t0, Source: "manual", By: "s1", Expires: t0.Add(day)})
	p.SetSegment("s1", true)
	for i := 0; i < 5; i++ {
		p.Apply(paid(fmt.Sprint(i), t0.Add(time.Duration(i)*day), "10.5"))
	}
	data, err := json.Marshal(p)
	require.NoError(t, err)
	var got scrm.Profile
	require.NoError(t, json.Unmarshal(data, &got))
	assert.Equal(t, p.Attrs(), got.Attrs())
	assert.Equal(t, p.Tags()["vip"].Expires.Unix(), got.Tags()["vip"].Expires.Unix())
	assert.True(t, got.InSegment("s1"))
	assert.Equal(t, int64(7), got.Version)
	assert.Equal(t, int64(3), got.Count(scrm.EventOrderPaid, t0.Add(2*day)))
	assert.True(t, scrm.Yuan("31.5").Equal(got.Sum(scrm.EventOrderPaid, t0.Add(2*day))))
	again, err := json.Marshal(&got)
	require.NoError(t, err)
	assert.JSONEq(t, string(data), string(again))

	assert.ErrorIs(t, json.Unmarshal([]byte(`{"tenant":"t1","bogus":1}`), &got), scrm.ErrInvalid)
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"attrs":{"x":{}}}`), &got), scrm.ErrInvalid)
}

func TestProfileAbsorb(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	a := scrm.NewProfile("t1", "a")
	a.SetAttr("city", "上海")
	a.SetTag("vip", scrm.TagMark{At: t0})
	a.Apply(paid("1", t0, "10"))
	b := scrm.NewProfile("t1", "b")
	b.SetAttr("city", "北京")
	b.SetAttr("gender", "f")
	b.SetTag("vip", scrm.TagMark{At: t0.Add(time.Hour), Source: "newer"})
	b.SetTag("new", scrm.TagMark{At: t0})
	b.SetSegment("s", true)
	b.Apply(paid("2", t0.Add(-day), "5"))
	b.Apply(paid("3", t0.Add(day), "1"))
	a.Absorb(b)
	city, _ := a.Attr("city")
	assert.Equal(t, "上海", city, "the survivor's attributes win")
	g, _ := a.Attr("gender")
	assert.Equal(t, "f", g)
	m, _ := a.TagMark("vip")
	assert.Equal(t, "newer", m.Source, "the later mark wins")
	assert.True(t, a.InSegment("s"))
	assert.Equal(t, int64(3), a.Count(scrm.EventOrderPaid, time.Time{}))
	assert.Equal(t, int64(2), a.Count(scrm.EventOrderPaid, t0))
	assert.True(t, scrm.Yuan("11").Equal(a.Sum(scrm.EventOrderPaid, t0)))
	first, _ := a.First(scrm.EventOrderPaid)
	assert.Equal(t, t0.Add(-day), first)
}

func TestTagExpiry(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	p := scrm.NewProfile("t1", "c1")
	p.SetTag("a", scrm.TagMark{At: t0})
	p.SetTag("b", scrm.TagMark{At: t0, Expires: t0.Add(time.Hour)})
	_, ok := p.TagExpiry("a")
	assert.False(t, ok)
	exp, ok := p.TagExpiry("b")
	assert.True(t, ok)
	assert.Equal(t, t0.Add(time.Hour), exp)
	m, _ := p.TagMark("b")
	assert.True(t, m.Active(t0.Add(time.Hour-time.Nanosecond)))
	assert.False(t, m.Active(t0.Add(time.Hour)))
	p.RemoveTag("b")
	_, ok = p.Tag("b")
	assert.False(t, ok)
}

func TestProfilesHandle(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	store := scrm.NewMemoryProfileStore()
	profiles := scrm.NewProfiles(store, nil)

	_, err := profiles.Get(ctx, "t1", "c1")
	assert.ErrorIs(t, err, scrm.ErrNotFound)

	e := paid("o1", t0, "88.80")
	require.NoError(t, profiles.Handle(ctx, e))
	require.NoError(t, profiles.Handle(ctx, e), "a replay is not an error")
	p, err := profiles.Get(ctx, "t1", "c1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.Count(scrm.EventOrderPaid, time.Time{}), "a replay changes nothing")
	assert.Equal(t, int64(1), p.Version)

	bad := []struct {
		field string
		e     scrm.Event
	}{
		{"ID", scrm.Event{Tenant: "t1", Customer: "c1", Type: "x", Time: t0}},
		{"Tenant", scrm.Event{ID: "1", Customer: "c1", Type: "x", Time: t0}},
		{"Customer", scrm.Event{ID: "1", Tenant: "t1", Type: "x", Time: t0}},
		{"Type", scrm.Event{ID: "1", Tenant: "t1", Customer: "c1", Time: t0}},
		{"Time", scrm.Event{ID: "1", Tenant: "t1", Customer: "c1", Type: "x"}},
		{"Amount", scrm.Event{ID: "1", Tenant: "t1", Customer: "c1", Type: "x", Time: t0, Amount: scrm.Yuan("0.001")}},
	}
	for _, b := range bad {
		err := profiles.Handle(ctx, b.e)
		require.ErrorIs(t, err, scrm.ErrInvalid, b.field)
		var se *scrm.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, b.field, se.Field)
	}
	page, err := store.List(ctx, scrm.ListProfilesParams{Tenant: "t1"})
	require.NoError(t, err)
	assert.Len(t, page.Profiles, 1, "invalid events write nothing")
}

func TestProfilesMerge(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	store := scrm.NewMemoryProfileStore()
	profiles := scrm.NewProfiles(store, nil)
	ev := func(id string, c scrm.CustomerID, at time.Time, amount string) scrm.Event {
		return scrm.Event{ID: id, Tenant: "t1", Customer: c, Type: scrm.EventOrderPaid, Time: at, Amount: scrm.Yuan(amount)}
	}
	require.NoError(t, profiles.Handle(ctx, ev("o1", "old", t0, "10")))
	require.NoError(t, profiles.Handle(ctx, ev("o2", "young", t0.Add(time.Hour), "20")))
	_, err := profiles.Update(ctx, "t1", "young", func(p *scrm.Profile) error {
		p.SetAttr("phone_verified", true)
		return nil
	})
	require.NoError(t, err)

	merged := scrm.Event{ID: "merge:young:old", Tenant: "t1", Customer: "old", Type: scrm.EventCustomerMerged,
		Time: t0.Add(2 * time.Hour), Props: map[string]any{"from": scrm.CustomerID("young"), "into": scrm.CustomerID("old")}}
	require.NoError(t, profiles.Handle(ctx, merged))
	require.NoError(t, profiles.Handle(ctx, merged), "replay")

	p, err := profiles.Get(ctx, "t1", "old")
	require.NoError(t, err)
	assert.Equal(t, int64(2), p.Count(scrm.EventOrderPaid, time.Time{}))
	assert.True(t, scrm.Yuan("30").Equal(p.Sum(scrm.EventOrderPaid, time.Time{})))
	v, _ := p.Attr("phone_verified")
	assert.Equal(t, true, v)

	// The absorbed ID now reads and writes the survivor.
	q, err := profiles.Get(ctx, "t1", "young")
	require.NoError(t, err)
	assert.Equal(t, scrm.CustomerID("old"), q.Customer)
	require.NoError(t, profiles.Handle(ctx, ev("o3", "young", t0.Add(3*time.Hour), "5")))
	p, err = profiles.Get(ctx, "t1", "old")
	require.NoError(t, err)
	assert.Equal(t, int64(3), p.Count(scrm.EventOrderPaid, time.Time{}))
	assert.True(t, scrm.Yuan("35").Equal(p.Sum(scrm.EventOrderPaid, time.Time{})))

	page, err := store.List(ctx, scrm.ListProfilesParams{Tenant: "t1"})
	require.NoError(t, err)
	require.Len(t, page.Profiles, 1)
	assert.Equal(t, scrm.CustomerID("old"), page.Profiles[0].Customer)

	for _, bad := range []map[string]any{
		{"into": "old"},
		{"from": "old", "into": "old"},
		{"from": "x", "into": "someone-else"},
	} {
		e := merged
		e.ID, e.Props = "m2", bad
		assert.ErrorIs(t, profiles.Handle(ctx, e), scrm.ErrInvalid, "%v", bad)
	}
}

func TestProfilesCustomerWithoutProfileMerged(t *testing.T) {
	ctx := context.Background()
	profiles := scrm.NewProfiles(scrm.NewMemoryProfileStore(), nil)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, profiles.Handle(ctx, scrm.Event{ID: "m", Tenant: "t1", Customer: "a", Type: scrm.EventCustomerMerged, Time: t0, Props: map[string]any{"from": "b", "into": "a"}}))
	require.NoError(t, profiles.Handle(ctx, scrm.Event{ID: "x", Tenant: "t1", Customer: "b", Type: "page.viewed", Time: t0}))
	p, err := profiles.Get(ctx, "t1", "a")
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.Count("page.viewed", time.Time{}))
	assert.Equal(t, decimal.Zero.String(), p.Sum("page.viewed", time.Time{}).String())
}

// Clones share event chunks; changes to one must never show in the other.
func TestProfileCloneIndependence(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	build := func(hours ...int) *scrm.Profile {
		p := scrm.NewProfile("t1", "c1")
		for i, h := range hours {
			p.Apply(scrm.Event{ID: fmt.Sprint(i), Tenant: "t1", Customer: "c1", Type: "x", Time: base.Add(time.Duration(h) * time.Hour), Amount: scrm.Yuan("1")})
		}
		return p
	}
	var hours []int
	for h := 0; h < 300; h += 2 {
		hours = append(hours, h)
	}
	p := build(hours...)
	c := p.Clone()
	d := c.Clone()
	// p: appends; c: a late event in the middle; d: a late event in the last chunk.
	p.Apply(scrm.Event{ID: "p", Tenant: "t1", Customer: "c1", Type: "x", Time: base.Add(1000 * time.Hour), Amount: scrm.Yuan("5")})
	c.Apply(scrm.Event{ID: "c", Tenant: "t1", Customer: "c1", Type: "x", Time: base.Add(101 * time.Hour), Amount: scrm.Yuan("7")})
	d.Apply(scrm.Event{ID: "d", Tenant: "t1", Customer: "c1", Type: "x", Time: base.Add(297 * time.Hour), Amount: scrm.Yuan("9")})
	for _, h := range []int{0, 50, 101, 102, 200, 297, 299, 1000} {
		since := base.Add(time.Duration(h) * time.Hour)
		want := func(extraAt int, amount int64) (int64, int64) {
			var n, sum int64
			for _, x := range hours {
				if x >= h {
					n++
					sum++
				}
			}
			if extraAt >= h {
				n++
				sum += amount
			}
			return n, sum
		}
		for name, tc := range map[string]struct {
			p      *scrm.Profile
			at     int
			amount int64
		}{"p": {p, 1000, 5}, "c": {c, 101, 7}, "d": {d, 297, 9}} {
			n, sum := want(tc.at, tc.amount)
			assert.Equal(t, n, tc.p.Count("x", since), "%s count since %dh", name, h)
			assert.True(t, decimal.NewFromInt(sum).Equal(tc.p.Sum("x", since)), "%s sum since %dh: %s", name, h, tc.p.Sum("x", since))
		}
	}
}

func TestProfileTimesEdgeCases(t *testing.T) {
	p := scrm.NewProfile("t1", "c1")
	p.SetTag("zero", scrm.TagMark{})
	at, ok := p.Tag("zero")
	assert.True(t, ok)
	assert.True(t, at.IsZero(), "a zero At stays zero")
	_, ok = p.TagExpiry("zero")
	assert.False(t, ok)

	shanghai := time.FixedZone("CST", 8*3600)
	local := time.Date(2026, 5, 1, 9, 30, 0, 123, shanghai)
	p.SetTag("t", scrm.TagMark{At: local, Expires: local.Add(time.Hour)})
	m, _ := p.TagMark("t")
	assert.True(t, m.At.Equal(local), "instants are kept to the nanosecond")
	assert.True(t, m.Expires.Equal(local.Add(time.Hour)))

	old := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	p.Apply(scrm.Event{ID: "old", Tenant: "t1", Customer: "c1", Type: "x", Time: old})
	first, _ := p.First("x")
	assert.True(t, first.Equal(old))
	assert.Equal(t, int64(1), p.Count("x", old))
	assert.Equal(t, int64(1), p.Count("x", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)), "a since before any event counts all")

	e := scrm.Event{ID: "e", Tenant: "t1", Customer: "c1", Type: "x", Time: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}
	assert.ErrorIs(t, e.Validate(), scrm.ErrInvalid)
}

func TestLoadProfileFollowsMerges(t *testing.T) {
	ctx := context.Background()
	store := scrm.NewMemoryProfileStore()
	p, err := scrm.LoadProfile(ctx, store, "t1", "nobody")
	require.NoError(t, err)
	assert.Equal(t, scrm.CustomerID("nobody"), p.Customer)
	assert.Zero(t, p.Version, "an empty profile for a customer without one")

	profiles := scrm.NewProfiles(store, nil)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, profiles.Handle(ctx, paid("o1", t0, "10")))
	for i, m := range [][2]scrm.CustomerID{{"b", "c1"}, {"c1", "a"}} { // b → c1 → a
		require.NoError(t, profiles.Handle(ctx, scrm.Event{ID: fmt.Sprint("m", i), Tenant: "t1", Customer: m[1],
			Type: scrm.EventCustomerMerged, Time: t0, Props: map[string]any{"from": m[0], "into": m[1]}}))
	}
	p, err = scrm.LoadProfile(ctx, store, "t1", "b")
	require.NoError(t, err)
	assert.Equal(t, scrm.CustomerID("a"), p.Customer)
	assert.Equal(t, int64(1), p.Count(scrm.EventOrderPaid, time.Time{}))
}

func TestFindProfile(t *testing.T) {
	ctx := context.Background()
	store := scrm.NewMemoryProfileStore()
	p, err := scrm.FindProfile(ctx, store, "t1", "nobody")
	require.NoError(t, err)
	assert.Nil(t, p, "no stored profile: nil, no error")

	profiles := scrm.NewProfiles(store, nil)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, profiles.Handle(ctx, scrm.Event{ID: "e1", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid, Time: at, Amount: scrm.Yuan("10")}))
	require.NoError(t, profiles.Handle(ctx, scrm.Event{ID: "e2", Tenant: "t1", Customer: "c2", Type: scrm.EventPageViewed, Time: at}))
	require.NoError(t, profiles.Handle(ctx, scrm.Event{ID: "m1", Tenant: "t1", Customer: "c1", Type: scrm.EventCustomerMerged, Time: at,
		Props: map[string]any{"from": scrm.CustomerID("c2"), "into": scrm.CustomerID("c1")}}))
	p, err = scrm.FindProfile(ctx, store, "t1", "c2")
	require.NoError(t, err)
	require.NotNil(t, p)
	assert.Equal(t, scrm.CustomerID("c1"), p.Customer, "follows the merge to the survivor")
}
