package referral

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// The memory store's money ledger, grant ledger and aggregates.

func (s *memoryStore) AddEntries(ctx context.Context, tenant scrm.TenantID, entries []Entry) ([]Entry, error) {
	const op = "referral.MemoryStore.AddEntries"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return nil, err
	}
	var buf [4]int64
	fens := buf[:0]
	for i, e := range entries {
		if e.ID == "" || len(e.ID) > scrm.MaxIDLength {
			return nil, scrm.CheckID(op, "Entries["+itoa(i)+"].ID", e.ID)
		}
		fen, ok := scrm.ToFen(e.Amount)
		if !ok {
			return nil, scrm.Invalid(op, "Entries["+itoa(i)+"].Amount", "not a whole number of fen: %s", e.Amount)
		}
		if !e.Gross.IsZero() {
			if gross, ok := scrm.ToFen(e.Gross); !ok || gross != fen {
				return nil, scrm.Invalid(op, "Entries["+itoa(i)+"].Gross", "%s is not the entry's Amount %s", e.Gross, e.Amount)
			}
		}
		fens = append(fens, fen)
	}
	return s.addEntriesFen(ctx, tenant, entries, fens)
}

// addEntriesFen implements entryAdder.
func (s *memoryStore) addEntriesFen(ctx context.Context, tenant scrm.TenantID, entries []Entry, fens []int64) ([]Entry, error) {
	const op = "referral.MemoryStore.AddEntries"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return nil, err
	}
	var buf [4]int64
	bases := buf[:0]
	for i := range entries {
		e := &entries[i] // not a copy: an Entry is large
		if e.ID == "" || len(e.ID) > scrm.MaxIDLength {
			return nil, scrm.CheckID(op, "Entries["+itoa(i)+"].ID", e.ID)
		}
		base, ok := scrm.ToFen(e.Base)
		if !ok || base < 0 {
			return nil, scrm.Invalid(op, "Entries["+itoa(i)+"].Base", "not a non-negative whole number of fen: %s", e.Base)
		}
		bases = append(bases, base)
	}
	mt, err := s.tenant(ctx, op, tenant, true)
	if err != nil {
		return nil, err
	}
	defer mt.mu.Unlock()
	var order *memOrder
	var ben *memCustomer
	var changed []Entry // nil, and no allocation, in the usual case
	for i := range entries {
		mt.entries.touch(entries[i].ID)
	}
	for i := range entries {
		e := &entries[i]
		idx, sl, ok := mt.entries.find(e.ID)
		if ok {
			if old := mt.entrySlab.at(idx); old.changed() {
				changed = append(changed, old.entry(tenant)) // a replay: its event may not have been published
			}
			continue
		}
		idx, chunk, off := mt.entrySlab.add(newMemEntry(e, fens[i], bases[i]))
		stored := &chunk[off]
		if i == 0 || order == nil || e.Invitee != entries[i-1].Invitee || e.OrderID != entries[i-1].OrderID {
			order = mt.order(e.Invitee, e.OrderID)
		}
		order.applyRefunds(stored) // refunds delivered before the order
		mt.entries.store(sl, idx)
		if stored.status == EntryPending || stored.status == EntrySettling {
			mt.open = append(mt.open, stored)
		}
		order.add(chunk, off)
		if ben == nil || ben.id != e.Beneficiary {
			ben = mt.customer(e.Beneficiary, true) // an inviter often gets two entries in a row
		}
		ben.earned = append(ben.earned, stored)
		if stored.changed() {
			changed = append(changed, stored.entry(tenant))
		}
	}
	return changed, nil
}

// order returns the state of an invitee's order, creating it.
func (mt *memTenant) order(invitee scrm.CustomerID, id string) *memOrder {
	mc := mt.customer(invitee, true)
	for i := range mc.orders {
		if mc.orders[i].id == id {
			return &mc.orders[i]
		}
	}
	mc.orders = append(mc.orders, memOrder{id: id})
	return &mc.orders[len(mc.orders)-1]
}

func (s *memoryStore) ReverseOrder(ctx context.Context, p ReverseParams) ([]Entry, error) {
	const op = "referral.MemoryStore.ReverseOrder"
	if err := checkTenantID(op, p.Tenant, "OrderID", p.OrderID); err != nil {
		return nil, err
	}
	if err := scrm.CheckID(op, "Invitee", string(p.Invitee)); err != nil {
		return nil, err
	}
	r := memRefund{id: p.RefundID, at: p.At, whole: p.Amount.IsZero()}
	if !r.whole {
		fen, ok := scrm.ToFen(p.Amount)
		if !ok || fen < 0 {
			return nil, scrm.Invalid(op, "Amount", "not a non-negative whole number of fen: %s", p.Amount)
		}
		r.fen = fen
	}
	if len(p.RefundID) > scrm.MaxIDLength {
		return nil, scrm.CheckID(op, "RefundID", p.RefundID)
	}
	mt, err := s.tenant(ctx, op, p.Tenant, true)
	if err != nil {
		return nil, err
	}
	defer mt.mu.Unlock()
	o := mt.order(p.Invitee, p.OrderID)
	if o.addRefund(r) { // else a redelivery: nothing changes
		o.each(o.applyRefunds)
	}
	var out []Entry
	o.each(func(e *memEntry) {
		if e.changed() {
			// Changed now, or before: a redelivered refund publishes again.
			out = append(out, e.entry(p.Tenant))
		}
	})
	return out, nil
}

func (s *memoryStore) ListEntries(ctx context.Context, p ListEntriesParams) (EntryPage, error) {
	const op = "referral.MemoryStore.ListEntries"
	mt, err := s.tenant(ctx, op, p.Tenant, false)
	if err != nil || mt == nil {
		return EntryPage{}, err
	}
	defer mt.mu.Unlock()
	var match []*memEntry
	keep := func(e *memEntry) {
		if e.status == p.Status && e.id > p.Cursor && (p.DueBy.IsZero() || !e.due.time().After(p.DueBy)) {
			match = append(match, e)
		}
	}
	if p.Status == EntryPending || p.Status == EntrySettling {
		// Drop what was settled or reversed since, then scan what is open.
		mt.open = slices.DeleteFunc(mt.open, func(e *memEntry) bool {
			return e.status != EntryPending && e.status != EntrySettling
		})
		for _, e := range mt.open {
			keep(e)
		}
	} else {
		mt.entrySlab.all(keep)
	}
	slices.SortFunc(match, func(a, b *memEntry) int { return strings.Compare(a.id, b.id) })
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	var page EntryPage
	if len(match) > limit {
		match = match[:limit]
		page.Next = match[limit-1].id
	}
	page.Entries = make([]Entry, len(match))
	for i, e := range match {
		page.Entries[i] = e.entry(p.Tenant)
	}
	return page, nil
}

func (s *memoryStore) SetEntryStatus(ctx context.Context, p SetEntryStatusParams) (Entry, error) {
	const op = "referral.MemoryStore.SetEntryStatus"
	mt, err := s.tenant(ctx, op, p.Tenant, false)
	if err != nil {
		return Entry{}, err
	}
	if mt == nil {
		return Entry{}, notFound(op, "entry "+p.ID)
	}
	defer mt.mu.Unlock()
	i, ok := mt.entries.get(p.ID)
	if !ok {
		return Entry{}, notFound(op, "entry "+p.ID)
	}
	e := mt.entrySlab.at(i)
	if e.status != p.From {
		return Entry{}, scrm.Errorf(scrm.ErrConflict, op, "entry %s is %s, not %s", p.ID, e.status, p.From)
	}
	if p.From == EntryPending && (p.To == EntrySettling || p.To == EntrySettled) && e.due.time().After(p.At) {
		return Entry{}, refuse(scrm.ErrConflict, op, ReasonEntryNotDue,
			"entry "+p.ID+" is due at "+e.due.time().Format(time.RFC3339)+", not by "+p.At.Format(time.RFC3339))
	}
	e.status = p.To
	switch p.To {
	case EntrySettled:
		e.settled = memTimeOf(p.At)
	case EntryReversed:
		e.reversed = memTimeOf(p.At)
	case EntryPending, EntrySettling:
		if p.From != EntryPending && p.From != EntrySettling {
			mt.open = append(mt.open, e)
		}
	}
	return e.entry(p.Tenant), nil
}

func (s *memoryStore) ClaimGrants(ctx context.Context, p ClaimGrantsParams) ([]GrantClaim, error) {
	return s.claimGrantsInto(ctx, p, false, nil)
}

// claimGrantsInto implements grantClaimer.
func (s *memoryStore) claimGrantsInto(ctx context.Context, p ClaimGrantsParams, derive bool, out []GrantClaim) ([]GrantClaim, error) {
	const op = "referral.MemoryStore.ClaimGrants"
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return nil, err
	}
	for i, r := range p.Records {
		if r.Key == "" || len(r.Key) > scrm.MaxIDLength {
			return nil, scrm.CheckID(op, "Records["+itoa(i)+"].Key", r.Key)
		}
	}
	mt, err := s.tenant(ctx, op, p.Tenant, true)
	if err != nil {
		return nil, err
	}
	defer mt.mu.Unlock()
	if cap(out) < len(p.Records) {
		out = make([]GrantClaim, len(p.Records))
	}
	out = out[:len(p.Records)]
	var buf [8]int32
	var slotBuf [8]idSlot
	olds, slots := buf[:0], slotBuf[:0]
	if len(p.Records) > len(buf) {
		olds, slots = make([]int32, 0, len(p.Records)), make([]idSlot, 0, len(p.Records))
	}
	olds, slots = olds[:len(p.Records)], slots[:len(p.Records)]
	for _, r := range p.Records {
		mt.grants.touch(r.Key)
	}
	for i, r := range p.Records {
		idx, sl, _ := mt.grants.find(r.Key)
		olds[i], slots[i] = idx, sl
	}
	until := memTimeOf(p.Until)
	for i, r := range p.Records {
		if olds[i] >= 0 {
			old := mt.grantSlab.at(olds[i])
			if old.done {
				// Done stays done, whatever the payload now: a program
				// edit must neither grant it again nor fail its event.
				out[i] = GrantClaim{Record: mt.grantRecord(p.Tenant, r.Key, old)}
				continue
			}
			if old.until.time().After(p.Now) {
				out[i] = GrantClaim{Record: mt.grantRecord(p.Tenant, r.Key, old)}
				if !derive || !old.fpDerived || !mt.samePayload(old, &p.Records[i]) {
					fp := r.Fingerprint
					if derive {
						fp = grantFingerprint(scrm.Grant{Tenant: p.Tenant, Customer: r.Customer, Reward: r.Reward, IdempotencyKey: r.Key, Source: r.Source})
					}
					if out[i].Record.Fingerprint != fp {
						out[i].Err = grantInFlight(op, r.Key)
					}
				}
				continue
			}
		}
		if j := indexKey(p.Records[:i], r.Key); j >= 0 {
			// The same key twice: claimed once.
			out[i] = GrantClaim{Record: out[j].Record, Err: out[j].Err}
			if out[i].Err == nil && !sameRecordPayload(&p.Records[j], &p.Records[i], derive) {
				out[i].Err = grantInFlight(op, r.Key)
			}
			continue
		}
		r.Tenant, r.Status, r.ClaimedUntil, r.DoneAt = p.Tenant, GrantClaimed, p.Until, time.Time{}
		g := memGrant{key: r.Key, customer: r.Customer, class: mt.grantClass(r.Program, r.Source, r.Reward), until: until}
		if derive {
			g.fpDerived = true
		} else {
			g.setFingerprint(r.Fingerprint)
		}
		if olds[i] >= 0 {
			*mt.grantSlab.at(olds[i]) = g // an expired claim, taken over
		} else {
			mt.grants.store(slots[i], mt.grantSlab.add(g))
		}
		out[i] = GrantClaim{Record: r, Claimed: true}
	}
	return out, nil
}

// grantInFlight is the error of a record refused because another caller is
// granting its key with a different payload.
func grantInFlight(op, key string) error {
	return &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
		Msg: "key " + strconv.Quote(key) + " is being granted with a different payload"}
}

// sameRecordPayload reports whether two records of one ClaimGrants call
// carry the same payload: the same Fingerprint or, when the fingerprints
// are derived, the same customer, source and reward.
func sameRecordPayload(a, b *GrantRecord, derive bool) bool {
	if derive {
		return a.Customer == b.Customer && a.Source == b.Source && sameReward(a.Reward, b.Reward)
	}
	return a.Fingerprint == b.Fingerprint
}

func indexKey(recs []GrantRecord, key string) int {
	for i, r := range recs {
		if r.Key == key {
			return i
		}
	}
	return -1
}

func (s *memoryStore) CompleteGrants(ctx context.Context, tenant scrm.TenantID, keys []string, at time.Time) error {
	const op = "referral.MemoryStore.CompleteGrants"
	if len(keys) == 0 {
		return scrm.CheckContext(ctx, op)
	}
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return err
	}
	if mt == nil {
		return notFound(op, "grant "+keys[0])
	}
	defer mt.mu.Unlock()
	var buf [8]int32
	idx := buf[:0]
	if len(keys) > len(buf) {
		idx = make([]int32, 0, len(keys))
	}
	for _, k := range keys {
		i, ok := mt.grants.get(k)
		if !ok {
			return notFound(op, "grant "+k)
		}
		idx = append(idx, i)
	}
	doneAt := memTimeOf(at)
	for _, i := range idx {
		r := mt.grantSlab.at(i)
		if r.done {
			continue
		}
		r.done, r.doneAt, r.until = true, doneAt, memTime{}
		mc := mt.customer(r.customer, true)
		mc.addGranted(mt.grantClasses[r.class].program)
	}
	return nil
}

func (s *memoryStore) ReleaseGrants(ctx context.Context, tenant scrm.TenantID, keys []string) error {
	const op = "referral.MemoryStore.ReleaseGrants"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil || mt == nil {
		return err
	}
	defer mt.mu.Unlock()
	for _, k := range keys {
		if i, ok := mt.grants.get(k); ok && !mt.grantSlab.at(i).done {
			mt.grants.delete(k)
			mt.grantSlab.remove(i)
		}
	}
	return nil
}

func (s *memoryStore) Stats(ctx context.Context, p StatsParams) (Stats, error) {
	const op = "referral.MemoryStore.Stats"
	st := Stats{QualifiedAmount: decimal.Zero, Pending: decimal.Zero, Settled: decimal.Zero, Reversed: decimal.Zero}
	mt, err := s.tenant(ctx, op, p.Tenant, false)
	if err != nil || mt == nil {
		return st, err
	}
	defer mt.mu.Unlock()
	invitees := mt.byProgram[p.Program]
	inviter := mt.cust(p.Inviter)
	if p.Inviter != "" {
		invitees = nil
		if inviter != nil {
			invitees = inviter.invitees
		}
	}
	inviters := map[scrm.CustomerID]struct{}{}
	for _, c := range invitees {
		mc := mt.cust(c)
		b := mc.binding()
		if b.Program != p.Program || (p.Staff != "" && b.Staff != p.Staff) {
			continue
		}
		if b.Status == StatusRejected {
			st.Rejected++
			continue
		}
		st.Bound++
		if b.Status == StatusReview {
			st.Review++
		}
		if b.Inviter != "" {
			inviters[b.Inviter] = struct{}{}
		} else {
			st.StaffBound++
		}
		if q := mc.qual(p.Program); q != nil && q.Status == StatusActive {
			st.Qualified++
			st.QualifiedAmount = st.QualifiedAmount.Add(q.Amount)
			if b.Staff != "" {
				st.StaffQualified++
			}
		}
	}
	st.Inviters = len(inviters)
	var entries []*memEntry
	switch {
	case p.Inviter != "":
		if inviter != nil {
			entries = inviter.earned
			st.Rewards = inviter.grantedIn(p.Program)
		}
	case p.Staff == "":
		mt.entrySlab.all(func(e *memEntry) { entries = append(entries, e) })
		mt.grants.all(func(i int32) {
			if g := mt.grantSlab.at(i); g.done && mt.grantClasses[g.class].program == p.Program {
				st.Rewards++
			}
		})
	}
	var pending, settled, reversed int64
	for _, e := range entries {
		if e.program != p.Program {
			continue
		}
		switch e.status {
		case EntryPending, EntrySettling:
			pending += e.fen
			reversed += e.gross() - e.fen // what refunds took off
		case EntrySettled:
			settled += e.fen
			reversed += e.gross() - e.fen
		case EntryReversed:
			reversed += e.gross()
		}
	}
	st.Pending, st.Settled, st.Reversed = scrm.FromFen(pending), scrm.FromFen(settled), scrm.FromFen(reversed)
	return st, nil
}

func (s *memoryStore) Leaderboard(ctx context.Context, p LeaderboardParams) ([]Standing, error) {
	const op = "referral.MemoryStore.Leaderboard"
	mt, err := s.tenant(ctx, op, p.Tenant, false)
	if err != nil || mt == nil {
		return nil, err
	}
	defer mt.mu.Unlock()
	type who struct {
		inviter scrm.CustomerID
		staff   string
	}
	lines := map[who]*Standing{}
	for _, c := range mt.byProgram[p.Program] {
		mc := mt.cust(c)
		b := mc.binding()
		if b.Status == StatusRejected || (p.Staff != (b.Staff != "")) {
			continue
		}
		k := who{b.Inviter, b.Staff}
		l := lines[k]
		if l == nil {
			l = &Standing{Inviter: b.Inviter, Staff: b.Staff}
			lines[k] = l
		}
		l.Bound++
		if q := mc.qual(p.Program); q != nil && q.Status == StatusActive {
			l.Qualified++
		}
	}
	out := make([]Standing, 0, len(lines))
	for _, l := range lines {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Qualified != b.Qualified {
			return a.Qualified > b.Qualified
		}
		if a.Bound != b.Bound {
			return a.Bound > b.Bound
		}
		if a.Inviter != b.Inviter {
			return a.Inviter < b.Inviter
		}
		return a.Staff < b.Staff
	})
	if n := scrm.PageLimit(p.Limit, 10, 1000); len(out) > n {
		out = out[:n]
	}
	for i := range out {
		out[i].Rank = i + 1
	}
	return out, nil
}
