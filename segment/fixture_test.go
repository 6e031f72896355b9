package segment_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// benchNow is the instant the benchmarks evaluate at.
var benchNow = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

const benchTenant scrm.TenantID = "bench"

var (
	benchCities   = []string{"上海", "杭州", "北京", "深圳", "广州", "成都", "南京", "武汉"}
	benchTiers    = []string{"普通", "银卡", "金卡", "黑金"}
	benchChannels = []string{"wecom", "miniprogram", "official", "store", "douyin"}
	benchSources  = []string{"扫码", "门店", "裂变", "广告", "自然"}
	benchTags     = []string{"拒绝营销", "到店未成交", "咖啡爱好者", "甜点", "价格敏感", "高潜", "宝妈", "学生",
		"白领", "夜猫子", "周末党", "新品尝鲜", "会员日", "拼团", "砍价", "复购", "沉睡唤醒", "生日月", "送礼", "企业采购"}
)

// benchProfile builds customer i's profile: 10 attributes, 5 tags and 3 event
// types (order.paid, page.viewed, message.replied) with 2 to 7 events each
// over the 400 days before benchNow.
func benchProfile(i int) *scrm.Profile {
	r := rand.New(rand.NewPCG(uint64(i), 42))
	id := scrm.CustomerID(fmt.Sprintf("c%07d", i))
	p := scrm.NewProfile(benchTenant, id)
	// Attribute strings are copied, as a store decoding rows would.
	p.SetAttr("city", strings.Clone(benchCities[r.IntN(len(benchCities))]))
	p.SetAttr("gender", strings.Clone([]string{"f", "m"}[r.IntN(2)]))
	p.SetAttr("age", 18+r.IntN(50))
	p.SetAttr("tier", strings.Clone(benchTiers[r.IntN(len(benchTiers))]))
	p.SetAttr("channel", strings.Clone(benchChannels[r.IntN(len(benchChannels))]))
	p.SetAttr("birthday", time.Date(1960+r.IntN(45), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC))
	p.SetAttr("vip", r.IntN(10) == 0)
	p.SetAttr("score", r.Float64()*100)
	p.SetAttr("source", strings.Clone(benchSources[r.IntN(len(benchSources))]))
	p.SetAttr("store", fmt.Sprintf("S%03d", r.IntN(300)))
	for _, k := range r.Perm(len(benchTags))[:5] {
		p.SetTag(benchTags[k], scrm.TagMark{At: benchNow.Add(-time.Duration(r.IntN(90*24)) * time.Hour), Source: "rule:r" + fmt.Sprint(k)})
	}
	type series struct {
		typ    string
		n      int
		amount bool
	}
	all := []series{
		{scrm.EventOrderPaid, 2 + r.IntN(5), true},
		{scrm.EventPageViewed, 2 + r.IntN(6), false},
		{scrm.EventMessageReplied, 2 + r.IntN(3), false},
	}
	for _, s := range all {
		times := make([]time.Time, s.n)
		for k := range times {
			times[k] = benchNow.Add(-time.Duration(r.IntN(400*24*60)) * time.Minute)
		}
		sortTimes(times)
		for k, t := range times {
			e := scrm.Event{ID: fmt.Sprint(k), Tenant: benchTenant, Customer: id, Type: s.typ, Time: t}
			if s.amount {
				e.Amount = decimal.New(int64(1990+r.IntN(50000)), -2)
			}
			p.Apply(e)
		}
	}
	return p
}

func sortTimes(ts []time.Time) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Before(ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// storeFixture is a memory ProfileStore holding n benchProfiles, with the
// heap it took.
type storeFixture struct {
	store     scrm.ProfileStore
	n         int
	heapBytes uint64
	build     time.Duration
}

func buildStore(tb testing.TB, n int, store scrm.ProfileStore) *storeFixture {
	ctx := context.Background()
	before := heapAlloc()
	start := time.Now()
	for i := range n {
		if _, err := store.Save(ctx, scrm.SaveProfileParams{Profile: benchProfile(i)}); err != nil {
			tb.Fatal(err)
		}
	}
	fx := &storeFixture{store: store, n: n, build: time.Since(start)}
	// List once so that the store's sorted index is built, as it is after
	// the first scan of any long-lived store.
	if _, err := store.List(ctx, scrm.ListProfilesParams{Tenant: benchTenant, Limit: 1}); err != nil {
		tb.Fatal(err)
	}
	after := heapAlloc()
	if after > before {
		fx.heapBytes = after - before
	}
	return fx
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// The fixtures are built once per test binary run and shared by the
// benchmarks that need them: a kernel memory ProfileStore, and a scanStore
// (with the zero-copy ProfileScanner) built from the same profiles.
var (
	fixtureMu sync.Mutex
	fixtures  = map[string]*storeFixture{}
)

func fixture(b *testing.B, kind string, n int) *storeFixture {
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	key := fmt.Sprint(kind, n)
	if fx := fixtures[key]; fx != nil {
		return fx
	}
	var store scrm.ProfileStore = scrm.NewMemoryProfileStore()
	if kind == "scanner" {
		store = newScanStore()
	}
	fx := buildStore(b, n, store)
	b.Logf("built %d profiles in a %s store in %s; heap %d bytes (%d per profile)", n, kind, fx.build.Round(time.Millisecond), fx.heapBytes, fx.heapBytes/uint64(n))
	fixtures[key] = fx
	return fx
}
