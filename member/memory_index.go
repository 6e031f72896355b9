package member

import (
	"strconv"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// timeIndex is an ordered set of (time, customer) pairs: a skip list, so
// that inserting, removing and listing from a point cost O(log n) whatever
// the distribution of times. The memory store keeps one per tenant for
// DueAt and one for NextExpiry, which is what lets Sweep visit only the
// accounts that are due instead of scanning all of them. It is not safe for
// concurrent use; the store guards it.
type timeIndex struct {
	head  idxNode
	level int
	rng   uint64
}

type idxKey struct {
	at int64 // UnixNano
	c  scrm.CustomerID
}

func (k idxKey) less(o idxKey) bool {
	if k.at != o.at {
		return k.at < o.at
	}
	return k.c < o.c
}

type idxNode struct {
	key  idxKey
	next []*idxNode
}

const idxMaxLevel = 24

func newTimeIndex() *timeIndex {
	return &timeIndex{head: idxNode{next: make([]*idxNode, idxMaxLevel)}, level: 1, rng: 0x9E3779B97F4A7C15}
}

func (x *timeIndex) randomLevel() int {
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
	return lvl
}

// path fills update with the last node before k on every level.
func (x *timeIndex) path(k idxKey, update *[idxMaxLevel]*idxNode) {
	n := &x.head
	for i := x.level - 1; i >= 0; i-- {
		for n.next[i] != nil && n.next[i].key.less(k) {
			n = n.next[i]
		}
		update[i] = n
	}
}

func (x *timeIndex) insert(k idxKey) {
	var update [idxMaxLevel]*idxNode
	x.path(k, &update)
	if nx := update[0].next[0]; nx != nil && nx.key == k {
		return
	}
	lvl := x.randomLevel()
	for i := x.level; i < lvl; i++ {
		update[i] = &x.head
	}
	if lvl > x.level {
		x.level = lvl
	}
	n := &idxNode{key: k, next: make([]*idxNode, lvl)}
	for i := 0; i < lvl; i++ {
		n.next[i] = update[i].next[i]
		update[i].next[i] = n
	}
}

func (x *timeIndex) remove(k idxKey) {
	var update [idxMaxLevel]*idxNode
	x.path(k, &update)
	n := update[0].next[0]
	if n == nil || n.key != k {
		return
	}
	for i := 0; i < len(n.next); i++ {
		update[i].next[i] = n.next[i]
	}
	for x.level > 1 && x.head.next[x.level-1] == nil {
		x.level--
	}
}

// after returns the first node whose key is greater than k, or the first
// node when k is nil.
func (x *timeIndex) after(k *idxKey) *idxNode {
	if k == nil {
		return x.head.next[0]
	}
	n := &x.head
	for i := x.level - 1; i >= 0; i-- {
		for n.next[i] != nil && !k.less(n.next[i].key) {
			n = n.next[i]
		}
	}
	return n.next[0]
}

// list pages through the keys at or before `before`, after cursor.
func (x *timeIndex) list(op string, p ListDueParams) (DuePage, error) {
	var from *idxKey
	if p.Cursor != "" {
		k, err := parseIdxCursor(p.Cursor)
		if err != nil {
			return DuePage{}, scrm.Invalid(op, "Cursor", "malformed cursor")
		}
		from = &k
	}
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	end := p.Before.UnixNano()
	var page DuePage
	for n := x.after(from); n != nil && n.key.at <= end; n = n.next[0] {
		if len(page.Accounts) == limit {
			last := page.Accounts[limit-1]
			page.Next = idxCursor(idxKey{at: last.At.UnixNano(), c: last.Customer})
			break
		}
		page.Accounts = append(page.Accounts, DueAccount{Customer: n.key.c, At: time.Unix(0, n.key.at)})
	}
	return page, nil
}

func idxCursor(k idxKey) string {
	return strconv.FormatInt(k.at, 10) + "." + string(k.c)
}

func parseIdxCursor(s string) (idxKey, error) {
	at, c, ok := strings.Cut(s, ".")
	if !ok {
		return idxKey{}, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return idxKey{}, err
	}
	return idxKey{at: n, c: scrm.CustomerID(c)}, nil
}
