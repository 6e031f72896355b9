package member

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// skipIndex is an ordered index of items of type T by (time, customer): a
// skip list, so that inserting, removing and listing from a point cost
// O(log n) whatever the distribution of times. Its nodes live in the
// items themselves (skipNode), so that indexing and moving an item
// allocates nothing (but its levels above the first, drawn once) and
// listing leads straight to it. The memory store keeps one per tenant for
// the ledger accounts' DueAt and NextExpiry (what lets Sweep visit only the
// accounts that are due) and one for the paid memberships' DueAt. It is
// not safe for concurrent use; the store guards it.
//
// A finger, the last node inserted and on every level the last node at or
// before it, lets an insert after it (the next item a sweep moves to the
// same time, usually) start there instead of at the head, among nodes that
// are in cache. A remove of any finger node disables it until the next
// insert.
type skipIndex[T any] struct {
	head   [idxMaxLevel]*skipNode[T]
	level  int
	rng    uint64
	fing   [idxMaxLevel]*skipNode[T]
	fingOK bool
}

// skipNode is an item's node in a skipIndex.
type skipNode[T any] struct {
	item  *T              // the item the node is in; never changes
	c     scrm.CustomerID // the key with at; never changes
	at    int64           // UnixNano
	ok    bool            // false when not linked
	lvl   int8            // 0 until first linked
	next0 *skipNode[T]    // next on level 0
	up    []*skipNode[T]  // next on levels 1 to lvl-1
}

const idxMaxLevel = 24

func newSkipIndex[T any]() skipIndex[T] { return skipIndex[T]{level: 1, rng: 0x9E3779B97F4A7C15} }

// link returns the address of n's next pointer on level i; n nil is the
// head.
func (x *skipIndex[T]) link(n *skipNode[T], i int) **skipNode[T] {
	switch {
	case n == nil:
		return &x.head[i]
	case i == 0:
		return &n.next0
	default:
		return &n.up[i-1]
	}
}

// before tells whether n's key is less than (at, c).
func (n *skipNode[T]) before(at int64, c scrm.CustomerID) bool {
	if n.at != at {
		return n.at < at
	}
	return n.c < c
}

// path fills prev with the last node before the key (at, c) on every level
// (nil for the head), starting from the finger when it is before the key.
func (x *skipIndex[T]) path(at int64, c scrm.CustomerID, prev *[idxMaxLevel]*skipNode[T]) {
	finger := x.fingOK && x.fing[0] != nil && x.fing[0].before(at, c)
	var n *skipNode[T]
	for i := x.level - 1; i >= 0; i-- {
		// Every finger node is before the key: start from the later of
		// it and the node the level above ended at.
		if f := x.fing[i]; finger && f != nil && (n == nil || n.before(f.at, f.c)) {
			n = f
		}
		for {
			if nx := *x.link(n, i); nx != nil && nx.before(at, c) {
				n = nx
				continue
			}
			break
		}
		prev[i] = n
	}
}

// move indexes n at the time at, or takes it out of the index when ok is
// false; it does nothing when n is already there.
func (x *skipIndex[T]) move(n *skipNode[T], at int64, ok bool) {
	if ok == n.ok && (!ok || at == n.at) {
		return
	}
	if n.ok {
		x.remove(n)
	}
	n.at, n.ok = at, ok
	if ok {
		x.insert(n)
	}
}

// insert links n in at its key (n.at, n.c); n must not be linked.
func (x *skipIndex[T]) insert(n *skipNode[T]) {
	if n.lvl == 0 {
		lvl := 1
		for lvl < idxMaxLevel {
			x.rng ^= x.rng << 13
			x.rng ^= x.rng >> 7
			x.rng ^= x.rng << 17
			if x.rng&3 != 0 { // p = 1/4
				break
			}
			lvl++
		}
		n.lvl = int8(lvl)
		if lvl > 1 {
			n.up = make([]*skipNode[T], lvl-1)
		}
	}
	var prev [idxMaxLevel]*skipNode[T]
	x.path(n.at, n.c, &prev)
	lvl := int(n.lvl)
	for i := x.level; i < lvl; i++ {
		prev[i] = nil
	}
	x.level = max(x.level, lvl)
	for i := 0; i < lvl; i++ {
		l := x.link(prev[i], i)
		*x.link(n, i) = *l
		*l = n
	}
	for i := range x.fing {
		switch {
		case i < lvl:
			x.fing[i] = n
		case i < x.level:
			x.fing[i] = prev[i]
		default:
			x.fing[i] = nil
		}
	}
	x.fingOK = true
}

// remove unlinks n, which is linked at its key (n.at, n.c).
func (x *skipIndex[T]) remove(n *skipNode[T]) {
	var prev [idxMaxLevel]*skipNode[T]
	x.path(n.at, n.c, &prev)
	for i := 0; i < int(n.lvl) && i < x.level; i++ {
		if x.fing[i] == n {
			x.fingOK = false
		}
		if l := x.link(prev[i], i); *l == n {
			*l = *x.link(n, i)
			*x.link(n, i) = nil
		}
	}
	for x.level > 1 && x.head[x.level-1] == nil {
		x.level--
	}
}

// after returns the first node whose key is greater than k, or the first
// node when k is nil.
func (x *skipIndex[T]) after(k *idxKey) *skipNode[T] {
	if k == nil {
		return x.head[0]
	}
	var n *skipNode[T]
	for i := x.level - 1; i >= 0; i-- {
		for {
			nx := *x.link(n, i)
			if nx == nil || !(nx.at < k.at || nx.at == k.at && nx.c <= k.c) {
				break
			}
			n = nx
		}
	}
	return *x.link(n, 0)
}

// list pages through the keys at or before p.Before, after p.Cursor.
func (x *skipIndex[T]) list(op string, p ListDueParams) (DuePage, error) {
	from, err := idxFrom(op, p.Cursor)
	if err != nil {
		return DuePage{}, err
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	end := p.Before.UnixNano()
	var page DuePage
	for n := x.after(from); n != nil && n.at <= end; n = n.next0 {
		if len(page.Accounts) == limit {
			last := page.Accounts[limit-1]
			page.Next = idxCursor(idxKey{at: last.At.UnixNano(), c: last.Customer})
			break
		}
		page.Accounts = append(page.Accounts, DueAccount{Customer: n.c, At: time.Unix(0, n.at).In(time.UTC)})
	}
	return page, nil
}

// idxFrom parses a listing cursor: nil for none.
func idxFrom(op, cursor string) (*idxKey, error) {
	if cursor == "" {
		return nil, nil
	}
	k, err := parseIdxCursor(cursor)
	if err != nil {
		return nil, scrm.Invalid(op, "Cursor", "malformed cursor")
	}
	return &k, nil
}
