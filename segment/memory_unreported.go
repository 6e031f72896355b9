package segment

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/scrmkit/scrmkit/scrm"
)

// keepUnreported records u, a change ApplyMembership just flipped, as
// unreported; a change already kept stays as first kept. The caller holds
// mt's write lock.
func (mt *memoryTenant) keepUnreported(ms *memorySegment, u Unreported) {
	if ms.unreported == nil {
		ms.unreported = make(map[scrm.CustomerID][]Unreported)
	}
	us := ms.unreported[u.Customer]
	i, found := slices.BinarySearchFunc(us, u.MembershipChange, compareKept)
	if found {
		return
	}
	ms.unreported[u.Customer] = slices.Insert(us, i, u)
	ms.pending.insert(u.Customer)
	mt.unreported++
}

// compareKept orders one customer's unreported changes: by Version, exits
// before entries.
func compareKept(u Unreported, c MembershipChange) int {
	return compareChange(u.MembershipChange, c)
}

func compareChange(a, b MembershipChange) int {
	if c := cmp.Compare(a.Version, b.Version); c != 0 {
		return c
	}
	switch {
	case a.In == b.In:
		return 0
	case b.In:
		return -1
	}
	return 1
}

// compareUnreported is the order of ListUnreported: segment, customer,
// Version, exits before entries.
func compareUnreported(a, b *Unreported) int {
	if c := strings.Compare(a.Segment, b.Segment); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Customer), string(b.Customer)); c != 0 {
		return c
	}
	return compareChange(a.MembershipChange, b.MembershipChange)
}

func (s *memoryStore) ListUnreported(ctx context.Context, p ListUnreportedParams) (UnreportedPage, error) {
	const op = "segment.MemoryStore.ListUnreported"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return UnreportedPage{}, err
	}
	after, err := parseUnreportedCursor(op, p.Cursor)
	if err != nil {
		return UnreportedPage{}, err
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	mt := s.tenant(p.Tenant, false)
	if mt == nil {
		if p.Segment != "" {
			return UnreportedPage{}, notFound(op, p.Tenant, p.Segment)
		}
		return UnreportedPage{}, nil
	}
	mt.mu.RLock()
	defer mt.mu.RUnlock()
	var ids []string
	if p.Segment != "" {
		if mt.segments[p.Segment] == nil {
			return UnreportedPage{}, notFound(op, p.Tenant, p.Segment)
		}
		ids = []string{p.Segment}
	}
	if mt.unreported == 0 {
		return UnreportedPage{}, nil
	}
	if p.Segment == "" {
		for id, ms := range mt.segments {
			if len(ms.unreported) > 0 {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
	}
	// Collect one more than the page holds, to know whether more remain.
	var out []Unreported
	add := func(us []Unreported) {
		for i := range us {
			if len(out) > limit {
				return
			}
			if after == nil || compareUnreported(&us[i], after) > 0 {
				out = append(out, us[i])
			}
		}
	}
	for _, id := range ids {
		if len(out) > limit {
			break
		}
		if after != nil && id < after.Segment {
			continue
		}
		ms := mt.segments[id]
		if p.Customer != "" {
			add(ms.unreported[p.Customer])
			continue
		}
		cursor := ""
		if after != nil && id == after.Segment {
			add(ms.unreported[after.Customer])
			cursor = string(after.Customer)
		}
		for len(out) <= limit {
			cs, more := ms.pending.after(cursor, limit+1-len(out), nil)
			for _, c := range cs {
				add(ms.unreported[c])
			}
			if !more || len(cs) == 0 {
				break
			}
			cursor = string(cs[len(cs)-1])
		}
	}
	page := UnreportedPage{Changes: out}
	if len(out) > limit {
		page.Changes = out[:limit]
		page.Next = unreportedCursor(&out[limit-1])
	}
	return page, nil
}

func (s *memoryStore) MarkReported(ctx context.Context, p MarkReportedParams) error {
	const op = "segment.MemoryStore.MarkReported"
	if err := scrm.CheckContext(ctx, op); err != nil {
		return err
	}
	for i, c := range p.Changes {
		field := "Changes[" + strconv.Itoa(i) + "]"
		if err := scrm.CheckID(op, field+".Customer", string(c.Customer)); err != nil {
			return err
		}
		if c.Version < 0 {
			return scrm.Invalid(op, field+".Version", "must not be negative, got %d", c.Version)
		}
	}
	mt := s.tenant(p.Tenant, false)
	if mt == nil {
		return notFound(op, p.Tenant, p.Segment)
	}
	mt.mu.Lock()
	defer mt.mu.Unlock()
	ms := mt.segments[p.Segment]
	if ms == nil {
		return notFound(op, p.Tenant, p.Segment)
	}
	for _, c := range p.Changes {
		us := ms.unreported[c.Customer]
		i, found := slices.BinarySearchFunc(us, c, compareKept)
		if !found {
			continue
		}
		mt.unreported--
		if len(us) == 1 {
			delete(ms.unreported, c.Customer)
			ms.pending.remove(c.Customer)
			continue
		}
		ms.unreported[c.Customer] = slices.Delete(us, i, i+1)
	}
	return nil
}

// unreportedCursor encodes the position of u as a ListUnreported cursor:
// the segment and customer IDs length-prefixed (IDs may hold any
// character), then the version and 0 or 1 for In.
func unreportedCursor(u *Unreported) string {
	in := "0"
	if u.In {
		in = "1"
	}
	return strconv.Itoa(len(u.Segment)) + ":" + u.Segment +
		strconv.Itoa(len(u.Customer)) + ":" + string(u.Customer) +
		strconv.FormatInt(u.Version, 10) + ":" + in
}

// parseUnreportedCursor decodes a cursor made by unreportedCursor; nil for
// the empty cursor.
func parseUnreportedCursor(op, cursor string) (*Unreported, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := scrm.Invalid(op, "Cursor", "not a cursor ListUnreported returned: %q", cursor)
	rest := cursor
	field := func() (string, bool) {
		n, tail, ok := strings.Cut(rest, ":")
		if !ok {
			return "", false
		}
		k, err := strconv.Atoi(n)
		if err != nil || k < 0 || k > len(tail) {
			return "", false
		}
		rest = tail[k:]
		return tail[:k], true
	}
	seg, ok1 := field()
	cust, ok2 := field()
	ver, in, ok3 := strings.Cut(rest, ":")
	v, err := strconv.ParseInt(ver, 10, 64)
	if !ok1 || !ok2 || !ok3 || err != nil || (in != "0" && in != "1") {
		return nil, bad
	}
	return &Unreported{Segment: seg, MembershipChange: MembershipChange{Customer: scrm.CustomerID(cust), Version: v, In: in == "1"}}, nil
}
