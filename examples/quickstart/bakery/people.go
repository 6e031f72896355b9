package bakery

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// persona is the kind of customer a person is: how often they buy, how
// fast they lose interest.
type persona uint8

const (
	heavy      persona = iota // 每天路过的常客
	regular                   // 每周一两次
	occasional                // 偶尔
	oneOff                    // 来过一次
)

// String describes the persona in a story.
func (p persona) String() string {
	return [...]string{"a heavy buyer", "a regular", "an occasional buyer", "a one-off visitor"}[p]
}

// via is how a person first arrives.
type via uint8

const (
	viaStoreQR via = iota // scanned the store's QR code at the till
	viaStaff              // added a staff member by her channel code
	viaFriend             // followed a friend's invite (老带新)
)

// person is one simulated human: the traits that drive their behaviour and
// the little the simulation needs to remember about them. The services hold
// the real state (profiles, wallets, accounts); the simulation only keeps
// what a person would know (do I hold a coupon? am I in the group?).
type person struct {
	idx     int
	kind    persona
	shop    int // home store
	staff   int // the staff member who owns the relationship, in the shop
	via     via
	fav     string  // favourite category
	base    float64 // daily purchase probability at full interest
	decay   float64 // daily loss of interest
	lift    float64 // how much a coupon in the wallet raises the purchase rate
	invite  float64 // probability of inviting a friend after an order
	twice   bool    // will arrive a second time under another identity
	arrival time.Time

	// Identities (fake, but shaped like the real ones).
	external, union, openid, phone string

	// State.
	arrived    bool
	id         scrm.CustomerID // the live customer ID
	dup        scrm.CustomerID // the duplicate absorbed by the merge
	interest   float64
	inGroup    bool
	phoneBound bool
	orders     int
	lastTouch  time.Time
	coupons    int // coupons held (issued - redeemed - expired)
	inviter    int // index of the person who invited them; -1 for none
}

// population draws n people with arrival times over the period.
func population(rng *rand.Rand, cfg Config, shops []shop) []*person {
	days := cfg.Days
	weights := make([]float64, days)
	total := 0.0
	for d := range days {
		w := 1.0
		if d < 14 {
			w += 0.6 // the spring launch brings people in
		}
		if campaignOn(cfg.Start.AddDate(0, 0, d)) == "五一" {
			w += 1.0
		}
		weights[d] = w
		total += w
	}
	people := make([]*person, cfg.Customers)
	for i := range people {
		p := &person{idx: i, inviter: -1}
		r := rng.Float64()
		switch {
		case r < 0.12:
			p.kind, p.base, p.decay = heavy, 0.12, 0.006
		case r < 0.45:
			p.kind, p.base, p.decay = regular, 0.045, 0.015
		case r < 0.80:
			p.kind, p.base, p.decay = occasional, 0.012, 0.03
		default:
			p.kind, p.base, p.decay = oneOff, 0.004, 0.05
		}
		p.base *= 0.7 + 0.6*rng.Float64()
		p.interest = 0.6 + 0.4*rng.Float64()
		p.lift = 0.2 + 0.8*rng.Float64()
		p.invite = 0.015
		if rng.Float64() < 0.05 {
			p.invite = 0.25 // a KOC (关键意见消费者): shares everything
		}
		p.twice = rng.Float64() < 0.06
		p.shop = pickWeighted(rng, len(shops), func(i int) float64 { return shops[i].Weight })
		p.staff = rng.IntN(len(shops[p.shop].Staff))
		p.via = viaStoreQR
		if rng.Float64() < 0.45 {
			p.via = viaStaff
		}
		p.fav = pickCategory(rng)
		// Arrival: a day weighted by the campaigns, a time in opening hours.
		x := rng.Float64() * total
		d := 0
		for d < days-1 && x >= weights[d] {
			x -= weights[d]
			d++
		}
		p.arrival = daypart(rng, cfg.Start.AddDate(0, 0, d))
		p.external = fmt.Sprintf("wmEXT%05d%06x", i, rng.Uint32()&0xffffff)
		p.union = fmt.Sprintf("oUNION%05d%06x", i, rng.Uint32()&0xffffff)
		p.openid = fmt.Sprintf("oOA%05d%06x", i, rng.Uint32()&0xffffff)
		p.phone = fmt.Sprintf("138%08d", (i*9973+12345)%100_000_000) // distinct for distinct i
		people[i] = p
	}
	return people
}

// pickWeighted returns an index in [0, n) with probability proportional to
// weight(i).
func pickWeighted(rng *rand.Rand, n int, weight func(int) float64) int {
	total := 0.0
	for i := range n {
		total += weight(i)
	}
	x := rng.Float64() * total
	for i := range n - 1 {
		if x < weight(i) {
			return i
		}
		x -= weight(i)
	}
	return n - 1
}

// pickCategory draws a favourite category: bread lovers dominate a bakery.
func pickCategory(rng *rand.Rand) string {
	cats := [...]string{catBread, catCake, catPastry, catDrink}
	w := [...]float64{0.5, 0.2, 0.2, 0.1}
	return cats[pickWeighted(rng, len(cats), func(i int) float64 { return w[i] })]
}

// daypart draws a time on the local day d when people buy bread: breakfast,
// lunch, afternoon tea or after work.
func daypart(rng *rand.Rand, d time.Time) time.Time {
	parts := [...]struct {
		from, to int // minutes after midnight
		w        float64
	}{{7 * 60, 9*60 + 30, 0.30}, {11*60 + 30, 13*60 + 30, 0.25}, {14*60 + 30, 17*60 + 30, 0.20}, {17*60 + 30, 21 * 60, 0.25}}
	i := pickWeighted(rng, len(parts), func(i int) float64 { return parts[i].w })
	m := parts[i].from + rng.IntN(parts[i].to-parts[i].from)
	y, mo, dd := d.Date()
	return time.Date(y, mo, dd, 0, m, 0, 0, d.Location())
}

// campaignOn names the marketing campaign running on local day t.
func campaignOn(t time.Time) string {
	_, m, d := t.Date()
	switch {
	case (m == time.April && d >= 29) || (m == time.May && d <= 5):
		return "五一"
	case m == time.March || (m == time.February && d > 20):
		return "开春上新"
	}
	return "日常"
}
