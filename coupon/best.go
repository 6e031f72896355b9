package coupon

import (
	"slices"
	"time"
)

// DefaultBestNodes is the default bound on the combinations Best examines;
// see Options.BestNodes.
const DefaultBestNodes = 200_000

// Select chooses, among the offered coupons, the combination that takes the
// most off cart at now under the stacking rules, and prices the cart with it:
// the pure function behind Service.Best. Ties prefer the combination whose
// coupons expire sooner (compared soonest first), then fewer coupons. The
// returned Quote lists the chosen coupons in Applied and no rejections.
//
// The search is exact (coupons apply in the canonical order of Evaluate, so
// a combination has one total): it drops coupons that cannot apply or take
// nothing off, keeps one coupon per template (the soonest to expire: coupons
// of one template apply at the same point of the order and take the same
// off, see Evaluate), tries the exclusive coupons alone, seeds the search
// with a greedy combination (per group, the coupon taking the most off
// alone), and searches the rest by branch and bound, one coupon per stack
// group, pruning every branch whose upper bound cannot beat the best found.
// The bound is what is chosen plus, per remaining group, the most any of its
// coupons could still take: no more than alone on the whole cart, than what
// is left to pay on its in-scope lines (on shipping for free shipping), or
// (percent) than its rate of that, and in all no more than what is left to
// pay. It is sound because a coupon takes only from its own lines and its
// discount only shrinks as earlier coupons take their part, by at most that
// part, so adding a coupon never lowers the total. DefaultBestNodes bounds the
// branches examined; past it the best combination found is returned (a wallet
// of 50 coupons of 50 templates takes about a hundred). Errors are those of
// Evaluate.
func Select(cart Cart, offers []Offer, now time.Time) (Quote, error) {
	const op = "coupon.Select"
	pc, os, err := prepareOffers(op, cart, offers)
	if err != nil {
		return Quote{}, err
	}
	chosen := selectBest(&cart, pc, os, now, DefaultBestNodes)
	return evaluate(&cart, pc, chosen, now), nil
}

// selectBest returns the chosen offers in application order. maxNodes bounds
// the search; past it the best combination found so far is returned.
func selectBest(cart *Cart, pc *pricedCart, offers []*offer, now time.Time, maxNodes int) []*offer {
	n := len(pc.amount)
	w, alloc := make([]int64, n), make([]int64, n)
	// One candidate per template: the soonest to expire.
	var cands []*prep
	byTemplate := make(map[string]int, len(offers))
	for i, o := range offers {
		p := prepare(cart, pc, o, now, i)
		if p.reason != "" {
			continue
		}
		if k, ok := byTemplate[o.c.Template]; ok {
			if c := cands[k].o.c; sooner(o.c, c) {
				cands[k] = &p
			}
			continue
		}
		byTemplate[o.c.Template] = len(cands)
		cands = append(cands, &p)
	}
	kept := cands[:0]
	for _, p := range cands {
		item, ship := p.apply(pc, pc.amount, pc.shipping, w, alloc)
		if p.solo = item + ship; p.solo > 0 {
			kept = append(kept, p)
		}
	}
	cands = kept

	s := &search{pc: pc, w: w, alloc: alloc, maxNodes: maxNodes}
	var plain []*prep
	for _, p := range cands {
		if !p.o.tm.t.Exclusive {
			plain = append(plain, p)
			continue
		}
		if p.o.tm.budget > 0 && p.solo > p.o.budgetLeft {
			continue
		}
		s.offer([]*prep{p}, p.solo)
	}
	// Candidates are searched in application order, so that what the
	// search computes is what Evaluate computes for the chosen ones.
	slices.SortFunc(plain, applyOrder)
	s.run(plain)
	out := make([]*offer, len(s.best))
	for i, p := range s.best {
		out[i] = p.o
	}
	return out
}

// sooner reports whether a should be kept over b among coupons of one
// template: it expires sooner, or at the same time with a smaller ID.
func sooner(a, b Coupon) bool {
	if c := a.ValidTo.Compare(b.ValidTo); c != 0 {
		return c < 0
	}
	return a.ID < b.ID
}

// search is one branch-and-bound run over candidates sorted in application
// order.
type search struct {
	pc       *pricedCart
	w, alloc []int64
	cands    []*prep
	group    []int // group index of each candidate
	used     []bool
	gmax     []int64
	gstamp   []int
	stamp    int
	rems     [][]int64 // what is left per line, per depth
	ships    []int64   // what is left of shipping, per depth
	chosen   []*prep
	best     []*prep
	bestSum  int64
	haveBest bool
	nodes    int
	maxNodes int
}

func (s *search) run(cands []*prep) {
	if len(cands) == 0 {
		return
	}
	s.cands = cands
	s.group = make([]int, len(cands))
	names := map[string]int{}
	for i, p := range cands {
		g, ok := names[p.o.tm.group]
		if !ok {
			g = len(names)
			names[p.o.tm.group] = g
		}
		s.group[i] = g
	}
	s.used = make([]bool, len(names))
	s.gmax = make([]int64, len(names))
	s.gstamp = make([]int, len(names))
	depth := min(len(names), len(cands)) + 1
	n := len(s.pc.amount)
	buf := make([]int64, depth*n)
	s.rems = make([][]int64, depth)
	for d := range s.rems {
		s.rems[d] = buf[d*n : (d+1)*n : (d+1)*n]
	}
	copy(s.rems[0], s.pc.amount)
	s.ships = make([]int64, depth)
	s.ships[0] = s.pc.shipping
	s.greedy()
	s.visit(0, 0, 0, s.pc.subtotal)
}

// greedy seeds the search with a good combination, so that the bound prunes
// from the start: per group, the candidate that takes the most off alone,
// applied in order.
func (s *search) greedy() {
	pick := make([]int, len(s.used))
	for g := range pick {
		pick[g] = -1
	}
	for i, p := range s.cands {
		if g := s.group[i]; pick[g] < 0 || p.solo > s.cands[pick[g]].solo {
			pick[g] = i
		}
	}
	rem, ship := s.rems[1], s.pc.shipping
	copy(rem, s.pc.amount)
	var set []*prep
	var sum int64
	for i, p := range s.cands {
		if pick[s.group[i]] != i {
			continue
		}
		item, shipOff := p.apply(s.pc, rem, ship, s.w, s.alloc)
		d := item + shipOff
		if d == 0 || (p.o.tm.budget > 0 && d > p.o.budgetLeft) {
			continue
		}
		for j, li := range p.target {
			rem[li] -= s.alloc[j]
		}
		ship -= shipOff
		sum += d
		set = append(set, p)
	}
	if len(set) > 0 {
		s.offer(set, sum)
	}
}

// visit decides candidates k.. given the chosen ones (depth of them, taking
// sum off, leaving itemsLeft on the items).
func (s *search) visit(k, depth int, sum, itemsLeft int64) {
	if k == len(s.cands) || s.nodes >= s.maxNodes {
		return
	}
	s.nodes++
	if s.haveBest && s.bound(k, sum, s.rems[depth], itemsLeft, s.ships[depth]) < s.bestSum {
		return
	}
	p := s.cands[k]
	if g := s.group[k]; !s.used[g] {
		rem, ship := s.rems[depth], s.ships[depth]
		item, shipOff := p.apply(s.pc, rem, ship, s.w, s.alloc)
		d := item + shipOff
		if d > 0 && (p.o.tm.budget == 0 || d <= p.o.budgetLeft) {
			next := s.rems[depth+1]
			copy(next, rem)
			for j, li := range p.target {
				next[li] -= s.alloc[j]
			}
			s.ships[depth+1] = ship - shipOff
			s.used[g] = true
			s.chosen = append(s.chosen, p)
			s.offer(s.chosen, sum+d)
			s.visit(k+1, depth+1, sum+d, itemsLeft-item)
			s.chosen = s.chosen[:len(s.chosen)-1]
			s.used[g] = false
		}
	}
	s.visit(k+1, depth, sum, itemsLeft)
}

// bound is the most any completion of the current choice can take off: sum
// plus, per group not yet used, the largest bound of its candidates k.. (see
// reach), capped by what is left to pay (rem per line, itemsLeft in all,
// shipLeft of shipping).
func (s *search) bound(k int, sum int64, rem []int64, itemsLeft, shipLeft int64) int64 {
	s.stamp++
	var extra int64
	for i := k; i < len(s.cands); i++ {
		g := s.group[i]
		if s.used[g] {
			continue
		}
		b := s.reach(s.cands[i], rem, itemsLeft, shipLeft)
		if s.gstamp[g] != s.stamp {
			s.gstamp[g], s.gmax[g] = s.stamp, b
			extra += b
		} else if b > s.gmax[g] {
			extra += b - s.gmax[g]
			s.gmax[g] = b
		}
	}
	return sum + min(extra, itemsLeft+shipLeft)
}

// reach bounds what candidate p can still take off when rem is left on the
// lines (itemsLeft in all) and shipLeft on shipping: never more than alone
// on the whole cart (each coupon's discount only shrinks as earlier ones
// take their part), nor than what is left on its own lines (shipping for
// free shipping), since it takes from nothing else and later coupons only
// leave less there; a percent coupon takes at most its share of that.
func (s *search) reach(p *prep, rem []int64, itemsLeft, shipLeft int64) int64 {
	tm := p.o.tm
	if tm.t.Kind == KindFreeShipping {
		return min(p.solo, shipLeft)
	}
	left := itemsLeft
	if len(p.target) < len(rem) {
		left = 0
		for _, li := range p.target {
			left += rem[li]
		}
	}
	if tm.t.Kind == KindPercent {
		left = mulDivRound(left, rateDen-tm.paidNum, rateDen)
	}
	return min(p.solo, left)
}

// offer considers a combination taking sum off.
func (s *search) offer(set []*prep, sum int64) {
	if s.haveBest && !better(set, sum, s.best, s.bestSum) {
		return
	}
	s.best = append(s.best[:0:0], set...)
	s.bestSum, s.haveBest = sum, true
}

// better reports whether combination a (taking sa off) beats b: more off;
// then, comparing expiries soonest first, the one whose coupons expire
// sooner; then fewer coupons; then the smaller coupon IDs, so the choice is
// deterministic.
func better(a []*prep, sa int64, b []*prep, sb int64) bool {
	if sa != sb {
		return sa > sb
	}
	var bufA, bufB [16]int64
	ea, eb := expiries(a, bufA[:0]), expiries(b, bufB[:0])
	for i := range min(len(ea), len(eb)) {
		if ea[i] != eb[i] {
			return ea[i] < eb[i]
		}
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	var idA, idB [16]string
	return slices.Compare(ids(a, idA[:0]), ids(b, idB[:0])) < 0
}

// expiries appends the combination's ValidTo instants (Unix nanoseconds,
// which order like the instants for any date a coupon can have), sorted.
func expiries(set []*prep, buf []int64) []int64 {
	for _, p := range set {
		buf = append(buf, p.o.c.ValidTo.UnixNano())
	}
	slices.Sort(buf)
	return buf
}

func ids(set []*prep, buf []string) []string {
	for _, p := range set {
		buf = append(buf, p.o.c.ID)
	}
	slices.Sort(buf)
	return buf
}
