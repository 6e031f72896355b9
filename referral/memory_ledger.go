package referral

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// The memory store's money ledger, grant ledger and aggregates.

func (s *memoryStore) AddEntries(ctx context.Context, tenant scrm.TenantID, entries []Entry) error {
	const op = "referral.MemoryStore.AddEntries"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return err
	}
	for i, e := range entries {
		if e.ID == "" || len(e.ID) > scrm.MaxIDLength {
			return scrm.CheckID(op, "Entries["+itoa(i)+"].ID", e.ID)
		}
		if _, ok := scrm.ToFen(e.Amount); !ok {
			return scrm.Invalid(op, "Entries["+itoa(i)+"].Amount", "not a whole number of fen: %s", e.Amount)
		}
	}
	mt, err := s.tenant(ctx, op, tenant, true)
	if err != nil {
		return err
	}
	defer mt.mu.Unlock()
	var order *memOrder
	// The new entries are allocated together: one object for the garbage
	// collector rather than one per entry (they live as long as each other).
	block := make([]memEntry, 0, len(entries))
	for i, e := range entries {
		if _, ok := mt.entries.get(e.ID); ok {
			continue
		}
		fen, _ := scrm.ToFen(e.Amount)
		block = append(block, memEntry{Entry: e, fen: fen})
		stored := &block[len(block)-1]
		stored.Amount = decimal.Decimal{}
		stored.Tenant = tenant
		if i == 0 || order == nil || e.Invitee != entries[i-1].Invitee || e.OrderID != entries[i-1].OrderID {
			order = mt.order(e.Invitee, e.OrderID)
			if order.entries == nil {
				order.entries = make([]*memEntry, 0, len(entries)-i)
			}
		}
		if order.refunded && order.refundedAt.Before(e.DueAt) && e.Status == EntryPending {
			stored.Status, stored.ReversedAt = EntryReversed, order.refundedAt
		}
		mt.entries.put(e.ID, stored)
		if stored.Status == EntryPending || stored.Status == EntrySettling {
			mt.open = append(mt.open, stored)
		}
		order.entries = append(order.entries, stored)
		ben := mt.customer(e.Beneficiary, true)
		ben.earned = append(ben.earned, stored)
	}
	return nil
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
	mt, err := s.tenant(ctx, op, p.Tenant, true)
	if err != nil {
		return nil, err
	}
	defer mt.mu.Unlock()
	o := mt.order(p.Invitee, p.OrderID)
	if !o.refunded || p.At.Before(o.refundedAt) {
		o.refunded, o.refundedAt = true, p.At
	}
	var out []Entry
	for _, e := range o.entries {
		if e.Status == EntryPending && e.DueAt.After(p.At) {
			e.Status, e.ReversedAt = EntryReversed, p.At
			out = append(out, e.entry())
		}
	}
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
		if e.Status == p.Status && e.ID > p.Cursor && (p.DueBy.IsZero() || !e.DueAt.After(p.DueBy)) {
			match = append(match, e)
		}
	}
	if p.Status == EntryPending || p.Status == EntrySettling {
		// Drop what was settled or reversed since, then scan what is open.
		mt.open = slices.DeleteFunc(mt.open, func(e *memEntry) bool {
			return e.Status != EntryPending && e.Status != EntrySettling
		})
		for _, e := range mt.open {
			keep(e)
		}
	} else {
		mt.entries.all(keep)
	}
	slices.SortFunc(match, func(a, b *memEntry) int { return strings.Compare(a.ID, b.ID) })
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	var page EntryPage
	if len(match) > limit {
		match = match[:limit]
		page.Next = match[limit-1].ID
	}
	page.Entries = make([]Entry, len(match))
	for i, e := range match {
		page.Entries[i] = e.entry()
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
	e, ok := mt.entries.get(p.ID)
	if !ok {
		return Entry{}, notFound(op, "entry "+p.ID)
	}
	if e.Status != p.From {
		return Entry{}, scrm.Errorf(scrm.ErrConflict, op, "entry %s is %s, not %s", p.ID, e.Status, p.From)
	}
	e.Status = p.To
	switch p.To {
	case EntrySettled:
		e.SettledAt = p.At
	case EntryReversed:
		e.ReversedAt = p.At
	case EntryPending, EntrySettling:
		if p.From != EntryPending && p.From != EntrySettling {
			mt.open = append(mt.open, e)
		}
	}
	return e.entry(), nil
}

func (s *memoryStore) ClaimGrants(ctx context.Context, p ClaimGrantsParams) ([]GrantClaim, error) {
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
	out := make([]GrantClaim, len(p.Records))
	var buf [8]int32
	olds := buf[:0]
	if len(p.Records) > len(buf) {
		olds = make([]int32, 0, len(p.Records))
	}
	olds = olds[:len(p.Records)]
	for i, r := range p.Records {
		olds[i] = -1
		if idx, ok := mt.grants.get(r.Key); ok {
			if err := scrm.CheckReplay(op, r.Key, mt.grantSlab.at(idx).fingerprint(), r.Fingerprint); err != nil {
				return nil, err
			}
			olds[i] = idx
		}
	}
	until := memTimeOf(p.Until)
	for i, r := range p.Records {
		if olds[i] >= 0 {
			if old := mt.grantSlab.at(olds[i]); old.done || old.until.time().After(p.Now) {
				out[i] = GrantClaim{Record: mt.grantRecord(p.Tenant, r.Key, old)}
				continue
			}
		}
		if j := indexKey(p.Records[:i], r.Key); j >= 0 {
			out[i] = GrantClaim{Record: out[j].Record} // the same key twice: claimed once
			continue
		}
		r.Tenant, r.Status, r.ClaimedUntil, r.DoneAt = p.Tenant, GrantClaimed, p.Until, time.Time{}
		g := memGrant{key: r.Key, customer: r.Customer, class: mt.grantClass(r.Program, r.Source, r.Reward), until: until}
		g.setFingerprint(r.Fingerprint)
		if olds[i] >= 0 {
			*mt.grantSlab.at(olds[i]) = g // an expired claim, taken over
		} else {
			mt.grants.put(r.Key, mt.grantSlab.add(g))
		}
		out[i] = GrantClaim{Record: r, Claimed: true}
	}
	return out, nil
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
		mt.entries.all(func(e *memEntry) { entries = append(entries, e) })
		mt.grants.all(func(i int32) {
			if g := mt.grantSlab.at(i); g.done && mt.grantClasses[g.class].program == p.Program {
				st.Rewards++
			}
		})
	}
	var pending, settled, reversed int64
	for _, e := range entries {
		if e.Program != p.Program {
			continue
		}
		switch e.Status {
		case EntryPending, EntrySettling:
			pending += e.fen
		case EntrySettled:
			settled += e.fen
		case EntryReversed:
			reversed += e.fen
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
