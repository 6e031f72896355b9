package segment_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/segment"
)

// customer builds a profile: orders (days ago, amount), then n events of
// each other type within the last few days.
func customer(orders [][2]any, others map[string]int) *scrm.Profile {
	p := scrm.NewProfile(tenant, "c1")
	for i, o := range orders {
		p.Apply(scrm.Event{ID: fmt.Sprint("o", i), Tenant: tenant, Customer: "c1", Type: paid,
			Time: t0.Add(-time.Duration(o[0].(int)) * day), Amount: yuan(o[1].(string))})
	}
	for typ, n := range others {
		for i := 0; i < n; i++ {
			p.Apply(scrm.Event{ID: fmt.Sprint(typ, i), Tenant: tenant, Customer: "c1", Type: typ, Time: t0.Add(-time.Duration(i) * time.Hour)})
		}
	}
	return p
}

func TestDefaultValueScore(t *testing.T) {
	v, err := segment.NewValueScorer(segment.DefaultValueModel())
	require.NoError(t, err)

	var best [][2]any
	for i := 0; i < 12; i++ {
		best = append(best, [2]any{i, "500.00"})
	}
	top := customer(best, map[string]int{scrm.EventPageViewed: 30, segment.EventReferralQualified: 6})
	assert.Equal(t, segment.ValueScore{Score: 100, Band: "A"}, v.Score(top, t0))
	assert.Equal(t, segment.ValueScore{Score: 0, Band: "D"}, v.Score(scrm.NewProfile(tenant, "c0"), t0))

	// recency 90 of 180 days: 0.5 × 30 = 15; 3 of 12 orders: 0.25 × 25 =
	// 6.25; ¥1000 of ¥5000: 0.2 × 25 = 5; 6 of 30 engagements: 0.2 × 10 =
	// 2; 1 of 5 referrals: 0.2 × 10 = 2. Total 30.25: band C.
	mid := customer([][2]any{{90, "600.00"}, {120, "300.00"}, {200, "100.00"}},
		map[string]int{scrm.EventMessageReplied: 4, scrm.EventGroupJoined: 2, segment.EventReferralQualified: 1})
	ex := v.Explain(mid, t0)
	assert.Equal(t, segment.ValueScore{Score: 30.25, Band: "C"}, ex.ValueScore)
	assert.Equal(t, ex.ValueScore, v.Score(mid, t0), "Explain and Score agree")
	want := []segment.Contribution{
		{Feature: "recency", Observed: "90 days ago", Normalized: 0.5, Weight: 0.3, Points: 15},
		{Feature: "frequency", Observed: "3 events", Normalized: 0.25, Weight: 0.25, Points: 6.25},
		{Feature: "monetary", Observed: "¥1000.00", Normalized: 0.2, Weight: 0.25, Points: 5},
		{Feature: "engagement", Observed: "6 events", Normalized: 0.2, Weight: 0.1, Points: 2},
		{Feature: "referrals", Observed: "1 event", Normalized: 0.2, Weight: 0.1, Points: 2},
	}
	require.Len(t, ex.Contributions, len(want))
	sum := 0.0
	for i, c := range ex.Contributions {
		assert.Equal(t, want[i].Feature, c.Feature)
		assert.Equal(t, want[i].Observed, c.Observed)
		assert.InDelta(t, want[i].Normalized, c.Normalized, 1e-9, c.Feature)
		assert.InDelta(t, want[i].Weight, c.Weight, 1e-9, c.Feature)
		assert.InDelta(t, want[i].Points, c.Points, 1e-9, c.Feature)
		sum += c.Points
	}
	assert.InDelta(t, ex.Score, sum, 0.005, "the contributions add up to the score")
}

func TestValueScoreAttrFeatureAndBands(t *testing.T) {
	v, err := segment.NewValueScorer(segment.ValueModel{
		Features: []segment.Feature{
			{Kind: segment.FeatureAttr, Attr: "referrals", Cap: 4, Weight: 1},
			{Kind: segment.FeatureAttr, Attr: "nps", Cap: 10, Weight: 1},
			{Kind: segment.FeatureMonetary, Events: []string{paid}, CapAmount: yuan("100"), Weight: 0},
		},
		Bands: []segment.Band{{Name: "金", Min: 75}, {Name: "银", Min: 40}},
	})
	require.NoError(t, err)
	p := scrm.NewProfile(tenant, "c1")
	assert.Equal(t, segment.ValueScore{Score: 0}, v.Score(p, t0), "below every band: no band")
	p.SetAttr("referrals", 3)
	p.SetAttr("nps", "not a number")
	ex := v.Explain(p, t0)
	assert.Equal(t, segment.ValueScore{Score: 37.5}, ex.ValueScore)
	assert.Equal(t, "attr", ex.Contributions[0].Feature, "Name defaults to the kind")
	assert.Equal(t, "3", ex.Contributions[0].Observed)
	assert.Equal(t, "missing", ex.Contributions[1].Observed)
	assert.Zero(t, ex.Contributions[2].Weight, "a zero weight leaves a feature out")
	p.SetAttr("nps", decimal.NewFromInt(9))
	assert.Equal(t, segment.ValueScore{Score: 82.5, Band: "金"}, v.Score(p, t0))
	p.SetAttr("referrals", 100)
	p.SetAttr("nps", -5)
	assert.Equal(t, segment.ValueScore{Score: 50, Band: "银"}, v.Score(p, t0), "features clamp to [0, 1]")
}

func TestNewValueScorerBadInput(t *testing.T) {
	ok := segment.Feature{Kind: segment.FeatureFrequency, Events: []string{paid}, Cap: 5, Weight: 1}
	with := func(f func(*segment.Feature)) []segment.Feature {
		g := ok
		f(&g)
		return []segment.Feature{ok, g}
	}
	for _, tc := range []struct {
		name  string
		model segment.ValueModel
		field string
	}{
		{"no features", segment.ValueModel{}, "Features"},
		{"all weights zero", segment.ValueModel{Features: with(func(f *segment.Feature) { f.Weight = 0 })[1:]}, "Features"},
		{"all weights zero, several", segment.ValueModel{Features: []segment.Feature{
			{Kind: segment.FeatureFrequency, Events: []string{paid}, Cap: 5},
			{Kind: segment.FeatureAttr, Attr: "x", Cap: 1},
		}}, "Features"},
		{"negative weight", segment.ValueModel{Features: with(func(f *segment.Feature) { f.Weight = -1 })}, "Features[1].Weight"},
		{"NaN weight", segment.ValueModel{Features: with(func(f *segment.Feature) { f.Weight = math.NaN() })}, "Features[1].Weight"},
		{"unknown kind", segment.ValueModel{Features: with(func(f *segment.Feature) { f.Kind = "vibes" })}, "Features[1].Kind"},
		{"recency with two events", segment.ValueModel{Features: with(func(f *segment.Feature) {
			f.Kind, f.Events, f.MaxAge = segment.FeatureRecency, []string{paid, "x"}, day
		})}, "Features[1].Events"},
		{"recency without max age", segment.ValueModel{Features: with(func(f *segment.Feature) { f.Kind = segment.FeatureRecency })}, "Features[1].MaxAge"},
		{"frequency without cap", segment.ValueModel{Features: with(func(f *segment.Feature) { f.Cap = 0 })}, "Features[1].Cap"},
		{"events without events", segment.ValueModel{Features: with(func(f *segment.Feature) { f.Kind, f.Events = segment.FeatureEvents, nil })}, "Features[1].Events"},
		{"events with an empty type", segment.ValueModel{Features: with(func(f *segment.Feature) { f.Kind, f.Events = segment.FeatureEvents, []string{"a", ""} })}, "Features[1].Events[1]"},
		{"monetary cap below the fen", segment.ValueModel{Features: with(func(f *segment.Feature) {
			f.Kind, f.CapAmount = segment.FeatureMonetary, yuan("0.001")
		})}, "Features[1].CapAmount"},
		{"attr without name", segment.ValueModel{Features: with(func(f *segment.Feature) { f.Kind, f.Events = segment.FeatureAttr, nil })}, "Features[1].Attr"},
		{"negative window", segment.ValueModel{Features: with(func(f *segment.Feature) { f.Window = -day })}, "Features[1].Window"},
		{"unnamed band", segment.ValueModel{Features: []segment.Feature{ok}, Bands: []segment.Band{{Min: 10}}}, "Bands[0].Name"},
		{"repeated band", segment.ValueModel{Features: []segment.Feature{ok}, Bands: []segment.Band{{Name: "A", Min: 10}, {Name: "A", Min: 5}}}, "Bands[1].Name"},
		{"bands ascending", segment.ValueModel{Features: []segment.Feature{ok}, Bands: []segment.Band{{Name: "A", Min: 10}, {Name: "B", Min: 50}}}, "Bands[1].Min"},
		{"band above 100", segment.ValueModel{Features: []segment.Feature{ok}, Bands: []segment.Band{{Name: "A", Min: 101}}}, "Bands[0].Min"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := segment.NewValueScorer(tc.model)
			requireField(t, err, tc.field)
		})
	}
}
