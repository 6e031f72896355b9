package referral

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// NewMemoryStore returns an in-memory Store, safe for concurrent use. It
// copies values in and out and keeps each tenant behind its own lock, so
// every method is trivially atomic and tenants never contend. It is the
// store a nil New argument uses, and what the benchmarks run on.
func NewMemoryStore() Store {
	return &memoryStore{tenants: make(map[scrm.TenantID]*memTenant), seed: maphash.MakeSeed()}
}

type memoryStore struct {
	mu      sync.Mutex
	tenants map[scrm.TenantID]*memTenant
	seed    maphash.Seed // of the tenants' hash indexes
}

var (
	_ Store             = (*memoryStore)(nil)
	_ ProgramRevisioner = (*memoryStore)(nil)
)

type leaderKey struct {
	campaign string
	customer scrm.CustomerID
}

type memTenant struct {
	mu sync.Mutex

	programs map[string]Program
	progRev  int64 // ProgramRevision: PutProgram calls so far
	codes    map[string]CodeRecord
	owners   map[Owner]string

	// Everything about one customer sits together, so that handling an
	// event touches few large maps.
	customers idIndex // index in custSlab
	custSlab  slab[memCustomer]
	byProgram map[string][]scrm.CustomerID // invitees bound under a program
	bindKeys  idIndex                      // bindings' idempotency keys: index in custSlab of the invitee
	times     map[LimitBy]*timeIndex       // binding times by device and IP

	entries   idIndex // by ID: index in entrySlab
	entrySlab slab[memEntry]
	open      []*memEntry // every entry that was pending at some point; compacted by ListEntries
	grants    idIndex     // the grant ledger: key → record in grantSlab
	grantSlab grantSlab

	// What grants share (program, source, reward), stored once: the
	// ledger's records refer to it by index.
	grantClasses []grantClass
	classIndex   map[grantClassKey]int32

	groupBuys  map[string]GroupBuy
	teams      map[string]Team
	openTeams  map[string]struct{}
	unreported map[string]struct{}
	leaders    map[leaderKey]string // the leader's latest team of a group buy
	draws      map[string]Draw
	teamKinds  map[string]teamKind // by group buy: the kinds of team opened

	bargains map[string]Bargain
	sessions map[string]*Session
	starters map[leaderKey]string // the owner's latest session of a bargain
	// unreportedSessions holds the completed sessions whose completion
	// is not marked reported.
	unreportedSessions map[string]struct{}

	lucky *memLucky // lucky draws; nil until the tenant's first lottery
}

// memCustomer is one customer's state as invitee, inviter and beneficiary.
type memCustomer struct {
	id        scrm.CustomerID
	bind      Binding // as invitee, when bound (in place: one object less per customer)
	bound     bool
	signals   KnownSignals
	quals     []Qualification   // as invitee, one per program (pointers into it last only while the lock is held)
	orders    []memOrder        // as invitee: entries and refund per order (few; pointers likewise)
	invitees  []scrm.CustomerID // bound under this customer's code
	bindTimes []int64           // their binding times (Unix ns), sorted
	earned    []*memEntry       // entries this customer is the beneficiary of
	// Per program: active qualified invitees as inviter (ranks) and done
	// grants, rather than a map per customer. The first program's are
	// kept in place (most customers have one), the others in a slice.
	count1  programCount
	counted bool // count1 is in use
	counts  []programCount
}

// memEntry is an Entry as the memory store keeps it: the amount in fen
// (no big.Int), times without their location and no tenant (the map's),
// so that the ledger, which grows by entries per qualification, is smaller
// and has fewer pointers for the garbage collector to trace.
type memEntry struct {
	id, program, orderID            string
	beneficiary, invitee            scrm.CustomerID
	kind                            EntryKind
	status                          EntryStatus
	level                           int
	fen                             int64 // Amount
	base                            int64 // Base
	created, due, settled, reversed memTime
	// refunds is what refunds did to the entry; nil while they did
	// nothing (Gross is the Amount, Refunded 0), as for most entries,
	// which thereby stay small.
	refunds *memEntryRefunds
}

// memEntryRefunds is what refunds did to an entry.
type memEntryRefunds struct {
	gross, refunded int64   // Gross, Refunded
	reduced         memTime // ReducedAt
}

// newMemEntry returns e as the memory store keeps it, its Amount and Gross
// being fen and its Base base (fen).
func newMemEntry(e *Entry, fen, base int64) memEntry {
	return memEntry{id: e.ID, program: e.Program, orderID: e.OrderID, beneficiary: e.Beneficiary, invitee: e.Invitee,
		kind: e.Kind, status: e.Status, level: e.Level, fen: fen, base: base,
		created: memTimeOf(e.CreatedAt), due: memTimeOf(e.DueAt), settled: memTimeOf(e.SettledAt), reversed: memTimeOf(e.ReversedAt)}
}

// gross returns the entry's Gross in fen.
func (e *memEntry) gross() int64 {
	if e.refunds == nil {
		return e.fen
	}
	return e.refunds.gross
}

// setRefunds records what refunds did: the amount fen (of gross), the
// refunds counted and the time of the latest that reduced it.
func (e *memEntry) setRefunds(fen, gross, refunded int64, reduced memTime) {
	e.fen = fen
	if e.refunds == nil {
		if fen == gross && refunded == 0 && !reduced.set {
			return
		}
		e.refunds = &memEntryRefunds{}
	}
	*e.refunds = memEntryRefunds{gross: gross, refunded: refunded, reduced: reduced}
}

// entry returns the Entry, of tenant.
func (e *memEntry) entry(tenant scrm.TenantID) Entry {
	amount := scrm.FromFen(e.fen)
	out := Entry{Tenant: tenant, ID: e.id, Program: e.program, Kind: e.kind, Level: e.level,
		Beneficiary: e.beneficiary, Invitee: e.invitee, OrderID: e.orderID, Amount: amount,
		Gross: amount, Base: fenDecimal(e.base), Status: e.status, // decimals are immutable: Amount and Gross may share one
		CreatedAt: e.created.time(), DueAt: e.due.time(), SettledAt: e.settled.time(), ReversedAt: e.reversed.time()}
	if r := e.refunds; r != nil {
		if r.gross != e.fen {
			out.Gross = fenDecimal(r.gross)
		}
		out.Refunded, out.ReducedAt = fenDecimal(r.refunded), r.reduced.time()
	}
	return out
}

// fenDecimal is scrm.FromFen, without an allocation for 0 (the zero
// Decimal).
func fenDecimal(fen int64) decimal.Decimal {
	if fen == 0 {
		return decimal.Decimal{}
	}
	return scrm.FromFen(fen)
}

// changed reports whether refunds changed the entry: reversed it, or
// reduced its Amount below Gross.
func (e *memEntry) changed() bool {
	return e.status == EntryReversed || e.refunds != nil && e.fen < e.refunds.gross
}

// slab stores values in chunks that never move: an index can then hold
// int32s (an idIndex, which has no pointers for the garbage collector to
// scan), values are not allocated one by one, and pointers to them stay
// valid. The memory store keeps its entries and customers in slabs.
type slab[T any] struct {
	chunks [][]T
	n      int32
}

const (
	firstSlabChunk = 16  // the first chunk's size: a tenant with few values keeps a small slab
	slabChunk      = 256 // the others'
)

// loc returns where value i is.
func (s *slab[T]) loc(i int32) (chunk, off int) {
	if i < firstSlabChunk {
		return 0, int(i)
	}
	j := int(i) - firstSlabChunk
	return 1 + j/slabChunk, j % slabChunk
}

func (s *slab[T]) at(i int32) *T {
	c, o := s.loc(i)
	return &s.chunks[c][o]
}

// add stores v and returns its index, and the chunk it is in (to its
// capacity) and its offset there.
func (s *slab[T]) add(v T) (i int32, chunk []T, off int) {
	c, o := s.loc(s.n)
	if c == len(s.chunks) {
		size := slabChunk
		if c == 0 {
			size = firstSlabChunk
		}
		s.chunks = append(s.chunks, make([]T, 0, size))
	}
	s.chunks[c] = append(s.chunks[c], v) // within its capacity: the chunk does not move
	i, s.n = s.n, s.n+1
	return i, s.chunks[c][:cap(s.chunks[c])], o
}

// all calls f with every value.
func (s *slab[T]) all(f func(*T)) {
	for c := range s.chunks {
		for o := range s.chunks[c] {
			f(&s.chunks[c][o])
		}
	}
}

type programCount struct {
	program string
	ranked  int // active qualified invitees
	granted int // done grants
}

// count returns the customer's counts in a program, adding them.
func (mc *memCustomer) count(program string) *programCount {
	switch {
	case !mc.counted:
		mc.count1, mc.counted = programCount{program: program}, true
		return &mc.count1
	case mc.count1.program == program:
		return &mc.count1
	}
	for i := range mc.counts {
		if mc.counts[i].program == program {
			return &mc.counts[i]
		}
	}
	mc.counts = append(mc.counts, programCount{program: program})
	return &mc.counts[len(mc.counts)-1]
}

func (mc *memCustomer) addGranted(program string) { mc.count(program).granted++ }

func (mc *memCustomer) grantedIn(program string) int {
	if mc.counted && mc.count1.program == program {
		return mc.count1.granted
	}
	for _, c := range mc.counts {
		if c.program == program {
			return c.granted
		}
	}
	return 0
}

// memOrder is an invitee's order. Its entries are a run of one chunk of
// the entrySlab (first: usually all of them, without a slice of pointers
// to allocate), then any others (more), in the order they came.
type memOrder struct {
	id      string
	first   []memEntry
	more    []*memEntry
	refunds []memRefund // in time order (the earliest first); equal times in the order recorded
}

// memRefund is one refund of an order (Store.ReverseOrder).
type memRefund struct {
	id    string // RefundID; may be empty
	at    time.Time
	fen   int64 // the amount refunded; unused when whole
	whole bool  // the whole order (a zero Amount)
}

// addRefund records r, keeping the refunds in time order, unless the
// order has a refund of r's non-empty ID: then it reports false and
// records nothing.
func (o *memOrder) addRefund(r memRefund) bool {
	if r.id != "" {
		for i := range o.refunds {
			if o.refunds[i].id == r.id {
				return false
			}
		}
	}
	i := len(o.refunds)
	for i > 0 && r.at.Before(o.refunds[i-1].at) {
		i--
	}
	o.refunds = slices.Insert(o.refunds, i, r)
	return true
}

// applyRefunds brings a pending entry up to date with the order's refunds
// before its DueAt (see Store.ReverseOrder), from its gross each time: it
// reverses it, with ReversedAt the time of the refund with which they
// reached its Base (or its amount 0), or sets its amount to gross −
// round_half_up(gross × R ÷ base) fen. Entries of another status, and
// orders without refunds, are left alone.
func (o *memOrder) applyRefunds(e *memEntry) {
	if e.status != EntryPending || len(o.refunds) == 0 {
		return
	}
	due, gross := e.due.time(), e.gross()
	total, fen := int64(0), gross // after the refunds counted so far; total < e.base
	var at memTime                // of the latest refund counted that lowered the amount
	for _, r := range o.refunds {
		if !r.at.Before(due) {
			break // and so are the later ones
		}
		partial, next := !r.whole && e.base > 0 && r.fen < e.base-total, int64(0)
		if partial {
			next = gross - mulDivRound(gross, total+r.fen, e.base)
		}
		if next <= 0 {
			// Reversed: it keeps the amount it had before this refund.
			refunded := e.base
			if partial {
				refunded = total + r.fen // its amount came to 0 before the refunds reached Base
			}
			e.status, e.reversed = EntryReversed, memTimeOf(r.at)
			e.setRefunds(fen, gross, refunded, at)
			return
		}
		if next < fen {
			at = memTimeOf(r.at) // a refund that rounds to no fen off leaves ReducedAt alone
		}
		total, fen = total+r.fen, next
	}
	e.setRefunds(fen, gross, total, at)
}

// add adds block[i], an entry just stored (block is its whole chunk, to
// its capacity).
func (o *memOrder) add(block []memEntry, i int) {
	e := &block[i]
	switch n := len(o.first); {
	case n == 0 && o.more == nil:
		o.first = block[i : i+1]
	case n > 0 && o.more == nil && n < cap(o.first) && &o.first[:n+1][n] == e:
		o.first = o.first[:n+1] // the next entry of the same block
	default:
		o.more = append(o.more, e)
	}
}

// each calls f with the order's entries.
func (o *memOrder) each(f func(*memEntry)) {
	for i := range o.first {
		f(&o.first[i])
	}
	for _, e := range o.more {
		f(e)
	}
}

func newMemTenant(seed maphash.Seed) *memTenant {
	mt := &memTenant{
		programs: map[string]Program{}, codes: map[string]CodeRecord{}, owners: map[Owner]string{},
		byProgram:  map[string][]scrm.CustomerID{},
		classIndex: map[grantClassKey]int32{},
		groupBuys:  map[string]GroupBuy{}, teams: map[string]Team{}, openTeams: map[string]struct{}{},
		unreported: map[string]struct{}{}, leaders: map[leaderKey]string{}, draws: map[string]Draw{},
		teamKinds: map[string]teamKind{},
		bargains:  map[string]Bargain{}, sessions: map[string]*Session{}, starters: map[leaderKey]string{},
		unreportedSessions: map[string]struct{}{},
	}
	mt.times = map[LimitBy]*timeIndex{LimitByDevice: newTimeIndex(seed), LimitByIP: newTimeIndex(seed)}
	mt.customers = newIDIndex(seed, func(i int32) string { return string(mt.custSlab.at(i).id) })
	mt.bindKeys = newIDIndex(seed, func(i int32) string { return mt.custSlab.at(i).bind.IdempotencyKey })
	mt.entries = newIDIndex(seed, func(i int32) string { return mt.entrySlab.at(i).id })
	mt.grants = newIDIndex(seed, func(i int32) string { return mt.grantSlab.at(i).key })
	return mt
}

// customer returns the customer's state, creating it if asked.
func (mt *memTenant) customer(c scrm.CustomerID, create bool) *memCustomer {
	mc := mt.cust(c)
	if mc == nil && create {
		mc = mt.addCustomer(c, nil)
	}
	return mc
}

// cust returns the customer's state, or nil.
func (mt *memTenant) cust(c scrm.CustomerID) *memCustomer {
	if i, ok := mt.customers.get(string(c)); ok {
		return mt.custSlab.at(i)
	}
	return nil
}

// addCustomer adds the state of a customer not stored yet, at the slot
// customers.find returned, if any.
func (mt *memTenant) addCustomer(c scrm.CustomerID, sl *idSlot) *memCustomer {
	i, chunk, off := mt.custSlab.add(memCustomer{id: c})
	if sl != nil {
		mt.customers.store(*sl, i)
	} else {
		mt.customers.put(string(c), i)
	}
	return &chunk[off]
}

// binding returns the customer's binding, or nil.
func (mt *memTenant) binding(c scrm.CustomerID) *Binding {
	if mc := mt.cust(c); mc != nil {
		return mc.binding()
	}
	return nil
}

// binding returns the customer's binding, or nil.
func (mc *memCustomer) binding() *Binding {
	if mc == nil || !mc.bound {
		return nil
	}
	return &mc.bind
}

// qual returns the customer's qualification in a program, or nil.
func (mc *memCustomer) qual(program string) *Qualification {
	if mc == nil {
		return nil
	}
	for i := range mc.quals {
		if mc.quals[i].Program == program {
			return &mc.quals[i]
		}
	}
	return nil
}

// tenant returns the tenant's state, locked, after checking ctx; the caller
// must unlock it. With create false and no such tenant it returns nil.
func (s *memoryStore) tenant(ctx context.Context, op string, t scrm.TenantID, create bool) (*memTenant, error) {
	if err := scrm.CheckContext(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	mt := s.tenants[t]
	if mt == nil && create {
		mt = newMemTenant(s.seed)
		s.tenants[t] = mt
	}
	s.mu.Unlock()
	if mt != nil {
		mt.mu.Lock()
	}
	return mt, nil
}

// notFound is the store's ErrNotFound; built without fmt, since "not
// found" is an ordinary answer on hot paths (a customer with no binding).
func notFound(op, msg string) error {
	return &scrm.Error{Code: scrm.ErrNotFound, Op: op, Msg: msg}
}

func ownerString(o Owner) string {
	if o.Staff != "" {
		return "staff " + o.Staff
	}
	return "customer " + string(o.Customer)
}

// ---- programs, group buys, bargains

func (s *memoryStore) PutProgram(ctx context.Context, p Program) error {
	const op = "referral.MemoryStore.PutProgram"
	if err := checkTenantID(op, p.Tenant, "ID", p.ID); err != nil {
		return err
	}
	mt, err := s.tenant(ctx, op, p.Tenant, true)
	if err != nil {
		return err
	}
	defer mt.mu.Unlock()
	mt.programs[p.ID] = p.clone()
	mt.progRev++
	return nil
}

// ProgramRevision implements ProgramRevisioner.
func (s *memoryStore) ProgramRevision(ctx context.Context, tenant scrm.TenantID) (int64, error) {
	const op = "referral.MemoryStore.ProgramRevision"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil || mt == nil {
		return 0, err
	}
	defer mt.mu.Unlock()
	return mt.progRev, nil
}

func (s *memoryStore) GetProgram(ctx context.Context, tenant scrm.TenantID, id string) (Program, error) {
	const op = "referral.MemoryStore.GetProgram"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return Program{}, err
	}
	if mt == nil {
		return Program{}, notFound(op, "program "+id)
	}
	defer mt.mu.Unlock()
	p, ok := mt.programs[id]
	if !ok {
		return Program{}, notFound(op, "program "+id)
	}
	return p.clone(), nil
}

// teamKind is a set of the kinds of team a group buy has had.
type teamKind uint8

const (
	lotteryTeams teamKind = 1 << iota // a team opened as a lottery team
	regularTeams                      // a team opened as a regular team
)

func kindOf(t *Team) teamKind {
	if t.Lottery {
		return lotteryTeams
	}
	return regularTeams
}

func (s *memoryStore) PutGroupBuy(ctx context.Context, p PutGroupBuyParams) error {
	const op = "referral.MemoryStore.PutGroupBuy"
	g := p.GroupBuy.clone()
	if err := checkTenantID(op, g.Tenant, "ID", g.ID); err != nil {
		return err
	}
	mt, err := s.tenant(ctx, op, g.Tenant, true)
	if err != nil {
		return err
	}
	defer mt.mu.Unlock()
	rev := mt.groupBuys[g.ID].Revision // 0 when none is stored
	kinds := mt.teamKinds[g.ID]
	_, drawn := mt.draws[g.ID]
	conflict := func(field, msg string) error {
		return &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: field, Msg: "group buy " + g.ID + " " + msg}
	}
	switch {
	case rev != p.Revision:
		return conflict("Revision", fmt.Sprintf("is at revision %d, not %d", rev, p.Revision))
	case p.NoLotteryTeams && kinds&lotteryTeams != 0:
		return conflict("NoLotteryTeams", "has a lottery team")
	case p.NoRegularTeams && kinds&regularTeams != 0:
		return conflict("NoRegularTeams", "has a regular team")
	case p.NotDrawn && drawn:
		return conflict("NotDrawn", "was drawn")
	}
	g.Revision = rev + 1
	mt.groupBuys[g.ID] = g
	return nil
}

func (s *memoryStore) GetGroupBuy(ctx context.Context, tenant scrm.TenantID, id string) (GroupBuy, error) {
	const op = "referral.MemoryStore.GetGroupBuy"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return GroupBuy{}, err
	}
	if mt == nil {
		return GroupBuy{}, notFound(op, "group buy "+id)
	}
	defer mt.mu.Unlock()
	g, ok := mt.groupBuys[id]
	if !ok {
		return GroupBuy{}, notFound(op, "group buy "+id)
	}
	return g.clone(), nil
}

func (s *memoryStore) PutBargain(ctx context.Context, b Bargain) error {
	const op = "referral.MemoryStore.PutBargain"
	if err := checkTenantID(op, b.Tenant, "ID", b.ID); err != nil {
		return err
	}
	mt, err := s.tenant(ctx, op, b.Tenant, true)
	if err != nil {
		return err
	}
	defer mt.mu.Unlock()
	mt.bargains[b.ID] = b
	return nil
}

func (s *memoryStore) GetBargain(ctx context.Context, tenant scrm.TenantID, id string) (Bargain, error) {
	const op = "referral.MemoryStore.GetBargain"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return Bargain{}, err
	}
	if mt == nil {
		return Bargain{}, notFound(op, "bargain "+id)
	}
	defer mt.mu.Unlock()
	b, ok := mt.bargains[id]
	if !ok {
		return Bargain{}, notFound(op, "bargain "+id)
	}
	return b, nil
}

// ---- codes and signals

func (s *memoryStore) PutCode(ctx context.Context, c CodeRecord) (CodeRecord, error) {
	const op = "referral.MemoryStore.PutCode"
	if err := checkTenantID(op, c.Tenant, "Code", c.Code); err != nil {
		return CodeRecord{}, err
	}
	if (c.Owner.Customer == "") == (c.Owner.Staff == "") {
		return CodeRecord{}, scrm.Invalid(op, "Owner", "exactly one of Customer and Staff is required")
	}
	mt, err := s.tenant(ctx, op, c.Tenant, true)
	if err != nil {
		return CodeRecord{}, err
	}
	defer mt.mu.Unlock()
	if code, ok := mt.owners[c.Owner]; ok {
		return mt.codes[code], nil
	}
	if _, ok := mt.codes[c.Code]; ok {
		return CodeRecord{}, scrm.Errorf(scrm.ErrConflict, op, "code %s belongs to someone else", c.Code)
	}
	mt.codes[c.Code] = c
	mt.owners[c.Owner] = c.Code
	return c, nil
}

func (s *memoryStore) GetCode(ctx context.Context, tenant scrm.TenantID, code string) (CodeRecord, error) {
	const op = "referral.MemoryStore.GetCode"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return CodeRecord{}, err
	}
	if mt == nil {
		return CodeRecord{}, notFound(op, "code "+code)
	}
	defer mt.mu.Unlock()
	c, ok := mt.codes[code]
	if !ok {
		return CodeRecord{}, notFound(op, "code "+code)
	}
	return c, nil
}

func (s *memoryStore) OwnerCode(ctx context.Context, tenant scrm.TenantID, owner Owner) (CodeRecord, error) {
	const op = "referral.MemoryStore.OwnerCode"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return CodeRecord{}, err
	}
	if mt == nil {
		return CodeRecord{}, notFound(op, "no code for "+ownerString(owner))
	}
	defer mt.mu.Unlock()
	code, ok := mt.owners[owner]
	if !ok {
		return CodeRecord{}, notFound(op, "no code for "+ownerString(owner))
	}
	return mt.codes[code], nil
}
