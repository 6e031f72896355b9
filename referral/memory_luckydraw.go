package referral

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// The memory store's lucky draws.

type memLucky struct {
	lotteries map[string]*memLottery
	keywords  map[string][]string   // keyword → IDs of the lotteries that have it
	byKey     hashIndex[*memDraw]   // idempotency key → live draw
	customers hashIndex[*memDrawer] // per customer, across lotteries
	open      []*memDraw            // every draw that was unfinished at some point, compacted as it grows
	openLimit int                   // compact open when it reaches this length
}

type memLottery struct {
	l     Lottery
	table *oddsTable // l's prizes as its draws share them; replaced with l
	seq   int64      // the highest Seq handed out
	// held[i] counts the live draws that won l.Prizes[i]; retired keeps
	// the counts of prizes a replacement removed, in case they come back.
	held    []int
	retired map[string]int
	draws   []*memDraw // every draw in Seq order, cancelled ones marked gone
	won     []*memDraw // the draws that won a prize, in Seq order
}

// oddsTable is what the draws of one version of a lottery share: every
// draw would otherwise keep its own copy of the prizes' IDs, weights and
// rewards, which the garbage collector would trace.
type oddsTable struct {
	tenant  scrm.TenantID
	lottery string
	seed    uint64
	noPrize int
	cost    int64
	prizes  []Prize
}

// memDrawer is one customer's draws.
type memDrawer struct {
	id    scrm.CustomerID
	draws []*memDraw // of every lottery, in the order drawn
	days  []dayCount // live draws per lottery and day
}

type dayCount struct {
	lottery, day string
	n            int
}

// count returns a pointer to the customer's count of a lottery's draws on
// a day, adding it when asked.
func (c *memDrawer) count(lottery, day string, add bool) *int {
	for i := len(c.days) - 1; i >= 0; i-- {
		if d := &c.days[i]; d.day == day && d.lottery == lottery {
			return &d.n
		}
	}
	if !add {
		return nil
	}
	c.days = append(c.days, dayCount{lottery: lottery, day: day})
	return &c.days[len(c.days)-1].n
}

// memDraw is a stored draw, compact: its prizes are its table's, their
// stock left before the draw in left, its times in Unix nanoseconds.
type memDraw struct {
	key, id, day string
	customer     scrm.CustomerID
	t            *oddsTable
	left         []int32
	seq          int64
	at, settled  int64
	granted      int64 // 0: not granted
	claimedUntil int64 // the claim on the prize's grant
	prize        int16 // index in t.prizes; -1: nothing
	pending      bool
	paid         bool // entered with EnterLotteryParams.Paid: never cancelled
	gone         bool // cancelled
}

func (d *memDraw) won() bool { return d.prize >= 0 }

func (d *memDraw) unfinished() bool {
	return !d.gone && (d.pending || (d.won() && d.granted == 0))
}

// result returns the draw as a DrawResult of its own.
func (d *memDraw) result() DrawResult {
	r := DrawResult{
		Tenant: d.t.tenant, ID: d.id, Lottery: d.t.lottery, Customer: d.customer, IdempotencyKey: d.key,
		Seq: d.seq, Seed: d.t.seed, Odds: make([]PrizeOdds, len(d.left)), NoPrizeWeight: d.t.noPrize,
		Cost: d.t.cost, Day: d.day, At: time.Unix(0, d.at), Status: DrawSettled,
	}
	for i, n := range d.left {
		r.Odds[i] = PrizeOdds{Prize: d.t.prizes[i].ID, Weight: d.t.prizes[i].Weight, Left: int(n)}
	}
	if d.won() {
		r.Prize, r.Reward = d.t.prizes[d.prize].ID, d.t.prizes[d.prize].Reward
	}
	if d.pending {
		r.Status = DrawPending
	} else {
		r.SettledAt = time.Unix(0, d.settled)
	}
	if d.granted != 0 {
		r.GrantedAt = time.Unix(0, d.granted)
	}
	return r
}

// luckyState returns the tenant's lucky-draw state, creating it.
func (mt *memTenant) luckyState(s *memoryStore) *memLucky {
	if mt.lucky == nil {
		mt.lucky = &memLucky{
			lotteries: map[string]*memLottery{}, keywords: map[string][]string{},
			byKey:     newHashIndex(s.seed, func(d *memDraw) string { return d.key }),
			customers: newHashIndex(s.seed, func(c *memDrawer) string { return string(c.id) }),
		}
	}
	return mt.lucky
}

// luckyOf returns the tenant's lucky-draw state with the tenant locked, or
// nils (and nothing locked) when the tenant has none; the caller unlocks
// mt when it is not nil.
func (s *memoryStore) luckyOf(ctx context.Context, op string, tenant scrm.TenantID) (*memTenant, *memLucky, error) {
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil || mt == nil {
		return nil, nil, err
	}
	if mt.lucky == nil {
		mt.mu.Unlock()
		return nil, nil, nil
	}
	return mt, mt.lucky, nil
}

func (s *memoryStore) PutLottery(ctx context.Context, l Lottery) (Lottery, error) {
	const op = "referral.MemoryStore.PutLottery"
	if err := checkTenantID(op, l.Tenant, "ID", l.ID); err != nil {
		return Lottery{}, err
	}
	mt, err := s.tenant(ctx, op, l.Tenant, true)
	if err != nil {
		return Lottery{}, err
	}
	defer mt.mu.Unlock()
	lk := mt.luckyState(s)
	if l.Keyword != "" {
		for _, id := range lk.keywords[l.Keyword] {
			if o := &lk.lotteries[id].l; id != l.ID && o.overlaps(&l) {
				return Lottery{}, scrm.Errorf(scrm.ErrConflict, op, "lottery %s has the keyword %q at the same time", id, l.Keyword)
			}
		}
	}
	l = l.clone()
	ml := lk.lotteries[l.ID]
	if ml == nil {
		ml = &memLottery{retired: map[string]int{}}
		lk.lotteries[l.ID] = ml
	} else {
		l.Seed = ml.l.Seed
		if old := ml.l.Keyword; old != "" {
			lk.keywords[old] = slices.DeleteFunc(lk.keywords[old], func(id string) bool { return id == l.ID })
			if len(lk.keywords[old]) == 0 {
				delete(lk.keywords, old)
			}
		}
		for i, p := range ml.l.Prizes {
			if ml.held[i] > 0 {
				ml.retired[p.ID] = ml.held[i]
			}
		}
	}
	ml.held = make([]int, len(l.Prizes))
	for i, p := range l.Prizes {
		ml.held[i] = ml.retired[p.ID]
		delete(ml.retired, p.ID)
	}
	if l.Keyword != "" {
		lk.keywords[l.Keyword] = append(lk.keywords[l.Keyword], l.ID)
	}
	ml.l = l
	ml.table = &oddsTable{tenant: l.Tenant, lottery: l.ID, seed: l.Seed, noPrize: l.NoPrizeWeight, cost: l.EntryCostPoints,
		prizes: l.clone().Prizes}
	return l.clone(), nil
}

func (s *memoryStore) GetLottery(ctx context.Context, tenant scrm.TenantID, id string) (Lottery, error) {
	const op = "referral.MemoryStore.GetLottery"
	mt, lk, err := s.luckyOf(ctx, op, tenant)
	if err != nil {
		return Lottery{}, err
	}
	if lk == nil {
		return Lottery{}, notFound(op, "lottery "+id)
	}
	defer mt.mu.Unlock()
	ml, ok := lk.lotteries[id]
	if !ok {
		return Lottery{}, notFound(op, "lottery "+id)
	}
	return ml.l.clone(), nil
}

func (s *memoryStore) FindLottery(ctx context.Context, tenant scrm.TenantID, keyword string, at time.Time) (Lottery, error) {
	const op = "referral.MemoryStore.FindLottery"
	mt, lk, err := s.luckyOf(ctx, op, tenant)
	if err != nil {
		return Lottery{}, err
	}
	if lk == nil {
		return Lottery{}, notFound(op, "no lottery has the keyword")
	}
	defer mt.mu.Unlock()
	for _, id := range lk.keywords[keyword] {
		if ml := lk.lotteries[id]; ml.l.running(at) {
			return ml.l.clone(), nil
		}
	}
	return Lottery{}, notFound(op, "no running lottery has the keyword")
}

func (s *memoryStore) EnterLottery(ctx context.Context, p EnterLotteryParams) (DrawResult, bool, error) {
	const op = "referral.MemoryStore.EnterLottery"
	if err := checkTenantID(op, p.Tenant, "Lottery", p.Lottery); err != nil {
		return DrawResult{}, false, err
	}
	mt, lk, err := s.luckyOf(ctx, op, p.Tenant)
	if err != nil {
		return DrawResult{}, false, err
	}
	if lk == nil {
		return DrawResult{}, false, notFound(op, "lottery "+p.Lottery)
	}
	defer mt.mu.Unlock()
	if d, ok := lk.byKey.get(p.IdempotencyKey); ok {
		if d.customer != p.Customer || d.t.lottery != p.Lottery {
			return DrawResult{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
				Msg: "the key was used for another draw"}
		}
		if p.Paid > 0 && d.pending {
			d.paid = true
		}
		return d.result(), false, nil
	}
	ml, ok := lk.lotteries[p.Lottery]
	if !ok {
		return DrawResult{}, false, notFound(op, "lottery "+p.Lottery)
	}
	l := &ml.l
	// A paid re-entry (see EnterLotteryParams.Paid) is made whatever the
	// window, the daily limit and the stock.
	paid := p.Paid > 0
	if !paid && !l.running(p.Now) {
		return DrawResult{}, false, refuse(scrm.ErrExpired, op, ReasonNotRunning, "lottery "+l.ID+" is not running")
	}
	c, _ := lk.customers.get(string(p.Customer))
	if !paid && l.PerCustomerPerDay > 0 && c != nil {
		if n := c.count(l.ID, p.Day, false); n != nil && *n >= l.PerCustomerPerDay {
			return DrawResult{}, false, refuse(scrm.ErrExhausted, op, ReasonDailyLimit,
				"the customer drew "+strconv.Itoa(l.PerCustomerPerDay)+" times on "+p.Day)
		}
	}
	// The odds on the stack for the pick (a lottery has at most 100
	// prizes; more only from a store fed unvalidated lotteries).
	var buf [16]PrizeOdds
	odds := buf[:0]
	left := make([]int32, len(l.Prizes))
	for i, pr := range l.Prizes {
		left[i] = int32(max(0, pr.Stock-ml.held[i]))
		odds = append(odds, PrizeOdds{Prize: pr.ID, Weight: pr.Weight, Left: int(left[i])})
	}
	if !paid && soldOut(odds) {
		return DrawResult{}, false, refuse(scrm.ErrExhausted, op, ReasonSoldOut, "every prize of lottery "+l.ID+" is gone")
	}
	t := ml.table
	if paid && p.Paid != t.cost {
		// The entry cost changed since the caller was charged: the draw
		// records what was paid.
		tc := *t
		tc.cost = p.Paid
		t = &tc
	}
	d := &memDraw{key: p.IdempotencyKey, id: p.ID, day: p.Day, customer: p.Customer, t: t, left: left,
		seq: ml.seq + 1, at: p.Now.UnixNano(), pending: t.cost > 0, paid: paid,
		prize: int16(PickPrize(l.Seed, ml.seq+1, odds, l.NoPrizeWeight))}
	if !d.pending {
		d.settled = d.at
		if d.won() {
			d.claimedUntil = p.GrantUntil.UnixNano()
		}
	}
	if d.won() {
		ml.held[d.prize]++
		ml.won = append(ml.won, d)
	}
	ml.seq = d.seq
	lk.byKey.put(d.key, d)
	if c == nil {
		c = &memDrawer{id: p.Customer}
		lk.customers.put(string(c.id), c)
	}
	c.draws = append(c.draws, d)
	if n := len(c.days); n > 0 && c.days[n-1].day == p.Day {
		d.day = c.days[n-1].day // share the string
	}
	*c.count(l.ID, p.Day, true)++
	ml.draws = append(ml.draws, d)
	if d.unfinished() {
		if len(lk.open) >= lk.openLimit {
			// Most held draws settle and most prizes are granted within
			// moments: drop the finished ones now and then, so that the
			// list stays about twice the size of what is unfinished.
			lk.compactOpen()
			lk.openLimit = max(1024, 2*len(lk.open))
		}
		lk.open = append(lk.open, d)
	}
	return d.result(), true, nil
}

// compactOpen drops the finished draws from open.
func (lk *memLucky) compactOpen() {
	lk.open = slices.DeleteFunc(lk.open, func(d *memDraw) bool { return !d.unfinished() })
}

// draw returns a live draw, or nil.
func (lk *memLucky) draw(key string) *memDraw {
	if lk == nil {
		return nil
	}
	d, _ := lk.byKey.get(key)
	return d
}

func (s *memoryStore) GetLotteryDraw(ctx context.Context, tenant scrm.TenantID, key string) (DrawResult, error) {
	var d DrawResult
	err := s.withDraw(ctx, "referral.MemoryStore.GetLotteryDraw", tenant, key, func(_ *memLucky, md *memDraw) error {
		d = md.result()
		return nil
	})
	return d, err
}

func (s *memoryStore) SettleLotteryDraw(ctx context.Context, p SettleLotteryDrawParams) (time.Time, bool, error) {
	const op = "referral.MemoryStore.SettleLotteryDraw"
	mt, lk, err := s.luckyOf(ctx, op, p.Tenant)
	if err != nil {
		return time.Time{}, false, err
	}
	if mt != nil {
		defer mt.mu.Unlock()
	}
	d := lk.draw(p.Key)
	if d == nil {
		return time.Time{}, false, notFound(op, "draw "+p.Key)
	}
	claimed := false
	if d.pending {
		d.pending, d.settled = false, p.At.UnixNano()
		if d.won() {
			d.claimedUntil, claimed = p.GrantUntil.UnixNano(), true
		}
	}
	return time.Unix(0, d.settled), claimed, nil
}

// withDraw runs f on the draw of key with its tenant locked, or returns
// ErrNotFound naming the draw: what the methods that change one draw
// share.
func (s *memoryStore) withDraw(ctx context.Context, op string, tenant scrm.TenantID, key string, f func(lk *memLucky, d *memDraw) error) error {
	mt, lk, err := s.luckyOf(ctx, op, tenant)
	if err != nil {
		return err
	}
	if mt != nil {
		defer mt.mu.Unlock()
	}
	d := lk.draw(key)
	if d == nil {
		return notFound(op, "draw "+key)
	}
	return f(lk, d)
}

func (s *memoryStore) ClaimLotteryGrant(ctx context.Context, p ClaimLotteryGrantParams) (bool, error) {
	const op = "referral.MemoryStore.ClaimLotteryGrant"
	claimed := false
	err := s.withDraw(ctx, op, p.Tenant, p.Key, func(_ *memLucky, d *memDraw) error {
		switch {
		case d.pending:
			return scrm.Errorf(scrm.ErrConflict, op, "draw %s is pending", p.Key)
		case !d.won() || d.granted != 0 || d.claimedUntil > p.Now.UnixNano():
			return nil
		}
		d.claimedUntil, claimed = p.Until.UnixNano(), true
		return nil
	})
	return claimed, err
}

func (s *memoryStore) ReleaseLotteryGrant(ctx context.Context, tenant scrm.TenantID, key string) error {
	return s.withDraw(ctx, "referral.MemoryStore.ReleaseLotteryGrant", tenant, key, func(_ *memLucky, d *memDraw) error {
		d.claimedUntil = 0
		return nil
	})
}

func (s *memoryStore) CancelLotteryDraw(ctx context.Context, tenant scrm.TenantID, key string) error {
	const op = "referral.MemoryStore.CancelLotteryDraw"
	return s.withDraw(ctx, op, tenant, key, func(lk *memLucky, d *memDraw) error {
		switch {
		case !d.pending:
			return scrm.Errorf(scrm.ErrConflict, op, "draw %s is settled", key)
		case d.paid:
			return scrm.Errorf(scrm.ErrConflict, op, "draw %s was paid for", key)
		}
		lk.cancel(key, d)
		return nil
	})
}

// cancel undoes a pending draw: its key, its count against the customer's
// daily limit and the prize it held.
func (lk *memLucky) cancel(key string, d *memDraw) {
	d.gone = true
	lk.byKey.delete(key)
	c, _ := lk.customers.get(string(d.customer))
	if n := c.count(d.t.lottery, d.day, false); n != nil {
		*n--
	}
	if d.won() {
		ml := lk.lotteries[d.t.lottery]
		id := d.t.prizes[d.prize].ID
		if i := slices.IndexFunc(ml.l.Prizes, func(p Prize) bool { return p.ID == id }); i >= 0 {
			ml.held[i]--
		} else {
			ml.retired[id]--
		}
	}
}

func (s *memoryStore) MarkLotteryDrawGranted(ctx context.Context, tenant scrm.TenantID, key string, at time.Time) error {
	const op = "referral.MemoryStore.MarkLotteryDrawGranted"
	return s.withDraw(ctx, op, tenant, key, func(_ *memLucky, d *memDraw) error {
		switch {
		case d.pending:
			return scrm.Errorf(scrm.ErrConflict, op, "draw %s is pending", key)
		case !d.won():
			return scrm.Errorf(scrm.ErrConflict, op, "draw %s won nothing", key)
		}
		if d.granted == 0 {
			d.granted = at.UnixNano()
		}
		d.claimedUntil = 0
		return nil
	})
}

func (s *memoryStore) ListLotteryDraws(ctx context.Context, p ListLotteryDrawsParams) (DrawResultPage, error) {
	const op = "referral.MemoryStore.ListLotteryDraws"
	if err := scrm.CheckContext(ctx, op); err != nil { // before the cursor: a done ctx is ErrUnavailable whatever the input
		return DrawResultPage{}, err
	}
	var after int64
	if p.Cursor != "" {
		n, err := strconv.ParseInt(p.Cursor, 10, 64)
		if err != nil || n < 0 {
			return DrawResultPage{}, scrm.Invalid(op, "Cursor", "not a cursor of this list: %q", p.Cursor)
		}
		after = n
	}
	mt, lk, err := s.luckyOf(ctx, op, p.Tenant)
	if err != nil || lk == nil {
		return DrawResultPage{}, err
	}
	defer mt.mu.Unlock()
	ml, ok := lk.lotteries[p.Lottery]
	if !ok {
		return DrawResultPage{}, nil
	}
	list := ml.draws
	switch {
	case p.Customer != "":
		// A customer's draws of every lottery, in the order drawn: those
		// of one lottery are in Seq order.
		c, _ := lk.customers.get(string(p.Customer))
		if c == nil {
			return DrawResultPage{}, nil
		}
		list = c.draws
	case p.Won:
		list = ml.won
	}
	i := 0
	if p.Customer == "" {
		i, _ = slices.BinarySearchFunc(list, after+1, func(d *memDraw, seq int64) int { return cmp.Compare(d.seq, seq) })
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	var page DrawResultPage
	for ; i < len(list); i++ {
		d := list[i]
		if d.gone || d.pending || d.t.lottery != p.Lottery || d.seq <= after || (p.Won && !d.won()) {
			continue
		}
		if len(page.Results) == limit {
			page.Next = strconv.FormatInt(page.Results[limit-1].Seq, 10)
			break
		}
		page.Results = append(page.Results, d.result())
	}
	return page, nil
}

func (s *memoryStore) ListUnfinishedLotteryDraws(ctx context.Context, p ListUnfinishedParams) (DrawResultPage, error) {
	const op = "referral.MemoryStore.ListUnfinishedLotteryDraws"
	mt, lk, err := s.luckyOf(ctx, op, p.Tenant)
	if err != nil || lk == nil {
		return DrawResultPage{}, err
	}
	defer mt.mu.Unlock()
	lk.compactOpen()
	before := p.Before.UnixNano()
	var due []*memDraw
	for _, d := range lk.open {
		if d.key > p.Cursor && d.at <= before {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b *memDraw) int { return cmp.Compare(a.key, b.key) })
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	var page DrawResultPage
	if len(due) > limit {
		due = due[:limit]
		page.Next = due[limit-1].key
	}
	page.Results = make([]DrawResult, len(due))
	for i, d := range due {
		page.Results[i] = d.result()
	}
	return page, nil
}
