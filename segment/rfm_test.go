package segment_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/segment"
)

// buyer returns a profile with one order.paid per (days ago, amount) pair.
func buyer(id scrm.CustomerID, now time.Time, orders ...any) *scrm.Profile {
	p := scrm.NewProfile(tenant, id)
	for i := 0; i+1 < len(orders); i += 2 {
		p.Apply(scrm.Event{ID: fmt.Sprint(id, i), Tenant: tenant, Customer: id, Type: scrm.EventOrderPaid,
			Time: now.Add(-time.Duration(orders[i].(int)) * day), Amount: scrm.Yuan(orders[i+1].(string))})
	}
	return p
}

func thresholds() segment.RFMConfig {
	return segment.RFMConfig{
		Recency:   [4]time.Duration{7 * day, 30 * day, 90 * day, 180 * day},
		Frequency: [4]int64{2, 3, 5, 8},
		Monetary:  [4]decimal.Decimal{yuan("100"), yuan("300"), yuan("800"), yuan("2000")},
	}
}

func TestScoreRFMThresholds(t *testing.T) {
	now := t0
	profiles := []*scrm.Profile{
		buyer("fresh-big", now, 1, "1500.00", 20, "600.00", 40, "100.00"),                         // R 5, F 3, M 5
		buyer("old-small", now, 200, "50.00"),                                                     // R 1, F 1, M 1
		buyer("edges", now, 7, "100.00", 30, "200.00"),                                            // R 5 (exactly 7d), F 2, M 3 (exactly 300)
		buyer("outside-window", now, 400, "999.00"),                                               // not scored
		scrm.NewProfile(tenant, "prospect"),                                                       // not scored
		buyer("loyal", now, 100, "20.00", 110, "20.00", 120, "20.00", 130, "20.00", 140, "20.00"), // R 2, F 4, M 2
		buyer("whale", now, 31, "3000.00", 32, "10.00", 33, "10.00", 34, "10.00", 35, "10.00", 36, "10.00", 37, "10.00", 38, "10.00"), // R 3, F 5, M 5
	}
	scores, err := segment.ScoreRFM(profiles, thresholds(), now)
	require.NoError(t, err)
	require.Len(t, scores, len(profiles))
	type rfm struct{ R, F, M int }
	want := map[scrm.CustomerID]rfm{
		"fresh-big": {5, 3, 5}, "old-small": {1, 1, 1}, "edges": {5, 2, 3},
		"loyal": {2, 4, 2}, "whale": {3, 5, 5},
	}
	for i, sc := range scores {
		assert.Equal(t, profiles[i].Customer, sc.Customer, "scores come in input order")
		w, scored := want[sc.Customer]
		assert.Equal(t, scored, sc.Scored, "%s", sc.Customer)
		assert.Equal(t, w, rfm{sc.R, sc.F, sc.M}, "%s", sc.Customer)
		if !scored {
			assert.Empty(t, sc.Class)
			assert.True(t, sc.Monetary.IsZero())
		}
	}
	assert.True(t, scores[0].Monetary.Equal(yuan("2200.00")))
	assert.Equal(t, int64(3), scores[0].Frequency)
	assert.Equal(t, day, scores[0].Recency)

	// Means over the 5 scored: R 16/5, F 15/5, M 16/5. High is strictly
	// above: fresh-big R5 F3 M5 → R high, F low (3 is not above 3), M high.
	classes := map[scrm.CustomerID]segment.RFMClass{}
	for _, sc := range scores {
		classes[sc.Customer] = sc.Class
	}
	assert.Equal(t, segment.ImportantDevelop, classes["fresh-big"])
	assert.Equal(t, segment.GeneralRetain, classes["old-small"])
	assert.Equal(t, segment.GeneralDevelop, classes["edges"])
	assert.Equal(t, segment.GeneralKeep, classes["loyal"])
	assert.Equal(t, segment.ImportantKeep, classes["whale"])
}

func TestScoreRFMRefunds(t *testing.T) {
	p := buyer("c1", t0, 1, "500.00", 2, "300.00")
	p.Apply(scrm.Event{ID: "r1", Tenant: tenant, Customer: "c1", Type: scrm.EventOrderRefunded, Time: t0, Amount: yuan("300.00")})
	cfg := thresholds()
	cfg.RefundEvent = scrm.EventOrderRefunded
	scores, err := segment.ScoreRFM([]*scrm.Profile{p}, cfg, t0)
	require.NoError(t, err)
	assert.True(t, scores[0].Monetary.Equal(yuan("500.00")), "got %s", scores[0].Monetary)
	assert.Equal(t, int64(2), scores[0].Frequency, "refunds do not reduce F")
	assert.Equal(t, 3, scores[0].M)
}

// TestScoreRFMQuantilesMatchDefinition compares quantile scores with the
// documented definition computed naively, on data full of ties.
func TestScoreRFMQuantilesMatchDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	now := t0
	var profiles []*scrm.Profile
	for i := 0; i < 777; i++ {
		var orders []any
		for k := 0; k < []int{0, 1, 1, 1, 2, 3, 8}[r.IntN(7)]; k++ {
			orders = append(orders, r.IntN(60)*5, []string{"9.90", "9.90", "50.00", "128.00"}[r.IntN(4)])
		}
		profiles = append(profiles, buyer(scrm.CustomerID(fmt.Sprintf("c%03d", i)), now, orders...))
	}
	scores, err := segment.ScoreRFM(profiles, segment.RFMConfig{Quantiles: true}, now)
	require.NoError(t, err)

	var lasts, counts, amounts []int64
	for _, sc := range scores {
		if sc.Scored {
			lasts = append(lasts, -int64(sc.Recency)) // more recent is better
			counts = append(counts, sc.Frequency)
			fen, _ := scrm.ToFen(sc.Monetary)
			amounts = append(amounts, fen)
		}
	}
	n := len(lasts)
	require.Greater(t, n, 500)
	naive := func(pop []int64, v int64) int {
		b := 0
		for _, x := range pop {
			if x < v {
				b++
			}
		}
		return 1 + 5*b/n
	}
	var sumR, sumF, sumM int
	for _, sc := range scores {
		if !sc.Scored {
			continue
		}
		fen, _ := scrm.ToFen(sc.Monetary)
		assert.Equal(t, naive(lasts, -int64(sc.Recency)), sc.R, "%s R", sc.Customer)
		assert.Equal(t, naive(counts, sc.Frequency), sc.F, "%s F", sc.Customer)
		assert.Equal(t, naive(amounts, fen), sc.M, "%s M", sc.Customer)
		sumR, sumF, sumM = sumR+sc.R, sumF+sc.F, sumM+sc.M
	}
	for _, sc := range scores {
		if !sc.Scored {
			continue
		}
		high := func(s, sum int) bool { return float64(s) > float64(sum)/float64(n) }
		rh, fh, mh := high(sc.R, sumR), high(sc.F, sumF), high(sc.M, sumM)
		want := map[[3]bool]segment.RFMClass{
			{true, true, true}: segment.ImportantValue, {true, false, true}: segment.ImportantDevelop,
			{false, true, true}: segment.ImportantKeep, {false, false, true}: segment.ImportantRetain,
			{true, true, false}: segment.GeneralValue, {true, false, false}: segment.GeneralDevelop,
			{false, true, false}: segment.GeneralKeep, {false, false, false}: segment.GeneralRetain,
		}[[3]bool{rh, fh, mh}]
		assert.Equal(t, want, sc.Class, "%s", sc.Customer)
	}
}

func TestScoreRFMQuantileTies(t *testing.T) {
	// 6 of 10 bought once, 3 twice, 1 five times: the once-buyers share
	// F = 1, and the twice-buyers jump to 1 + ⌊5·6/10⌋ = 4.
	var profiles []*scrm.Profile
	for i := 0; i < 10; i++ {
		orders := []any{1, "10.00"}
		switch {
		case i >= 9:
			orders = []any{1, "10.00", 2, "10.00", 3, "10.00", 4, "10.00", 5, "10.00"}
		case i >= 6:
			orders = []any{1, "10.00", 2, "10.00"}
		}
		profiles = append(profiles, buyer(scrm.CustomerID(fmt.Sprint("c", i)), t0, orders...))
	}
	scores, err := segment.ScoreRFM(profiles, segment.RFMConfig{Quantiles: true}, t0)
	require.NoError(t, err)
	var fs []int
	for _, sc := range scores {
		fs = append(fs, sc.F)
	}
	assert.Equal(t, []int{1, 1, 1, 1, 1, 1, 4, 4, 4, 5}, fs)
}

func TestScoreRFMBadInput(t *testing.T) {
	some := []*scrm.Profile{buyer("c1", t0, 1, "10.00")}
	cold := []*scrm.Profile{scrm.NewProfile(tenant, "c1"), buyer("c2", t0, 500, "10.00")}
	for _, tc := range []struct {
		name     string
		profiles []*scrm.Profile
		cfg      func(*segment.RFMConfig)
		now      time.Time
		field    string
	}{
		{"quantiles on zero profiles", nil, func(c *segment.RFMConfig) { *c = segment.RFMConfig{Quantiles: true} }, t0, "profiles"},
		{"quantiles on nobody in the window", cold, func(c *segment.RFMConfig) { *c = segment.RFMConfig{Quantiles: true} }, t0, "profiles"},
		{"no thresholds", some, func(c *segment.RFMConfig) { *c = segment.RFMConfig{} }, t0, "Recency"},
		{"thresholds and quantiles", some, func(c *segment.RFMConfig) { c.Quantiles = true }, t0, "Quantiles"},
		{"recency not ascending", some, func(c *segment.RFMConfig) { c.Recency[2] = c.Recency[1] }, t0, "Recency[2]"},
		{"recency zero", some, func(c *segment.RFMConfig) { c.Recency[0] = 0 }, t0, "Recency[0]"},
		{"frequency zero", some, func(c *segment.RFMConfig) { c.Frequency[0] = 0 }, t0, "Frequency[0]"},
		{"frequency not ascending", some, func(c *segment.RFMConfig) { c.Frequency[3] = 4 }, t0, "Frequency[3]"},
		{"monetary below the fen", some, func(c *segment.RFMConfig) { c.Monetary[1] = yuan("300.001") }, t0, "Monetary[1]"},
		{"monetary not ascending", some, func(c *segment.RFMConfig) { c.Monetary[2] = yuan("300") }, t0, "Monetary[2]"},
		{"negative window", some, func(c *segment.RFMConfig) { c.Window = -day }, t0, "Window"},
		{"nil profile", []*scrm.Profile{some[0], nil}, func(*segment.RFMConfig) {}, t0, "profiles[1]"},
		{"zero now", some, func(*segment.RFMConfig) {}, time.Time{}, "now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := thresholds()
			tc.cfg(&cfg)
			_, err := segment.ScoreRFM(tc.profiles, cfg, tc.now)
			requireField(t, err, tc.field)
		})
	}
	scores, err := segment.ScoreRFM(nil, thresholds(), t0)
	require.NoError(t, err, "thresholds need no population")
	assert.Empty(t, scores)
}

func TestScoreRFMSeqAndService(t *testing.T) {
	h := newHarness(t)
	for i, orders := range [][]string{{"10.00"}, {"99.00", "20.00"}, {}, {"500.00", "1.00", "2.00"}} {
		c := scrm.CustomerID(fmt.Sprint("c", i))
		h.attrs(c, map[string]any{"n": i})
		for k, amount := range orders {
			h.order(c, time.Duration(i*10+k)*day, amount)
		}
	}
	var profiles []*scrm.Profile
	for i := 0; i < 4; i++ {
		profiles = append(profiles, h.profile(scrm.CustomerID(fmt.Sprint("c", i))))
	}
	cfg := segment.RFMConfig{Quantiles: true}
	want, err := segment.ScoreRFM(profiles, cfg, h.clock.Now())
	require.NoError(t, err)
	got, err := segment.ScoreRFMSeq(slices.Values(profiles), cfg, h.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, want, got)
	got, err = h.svc.RFM(h.ctx, tenant, cfg)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	_, err = h.svc.RFM(h.ctx, "", cfg)
	requireField(t, err, "tenant")
}

func TestRFMClassNames(t *testing.T) {
	classes := segment.RFMClasses()
	require.Len(t, classes, 8)
	assert.Equal(t, segment.ImportantValue, classes[0])
	assert.Equal(t, "重要价值", string(segment.ImportantValue))
	assert.Equal(t, "一般挽留", string(segment.GeneralRetain))
	seen := map[string]bool{}
	for _, c := range classes {
		assert.NotEmpty(t, c.English())
		assert.False(t, seen[c.English()])
		seen[c.English()] = true
	}
	assert.Equal(t, "Important Value", segment.ImportantValue.English())
	assert.Empty(t, segment.RFMClass("x").English())
}
