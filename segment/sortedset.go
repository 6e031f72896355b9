package segment

import (
	"slices"

	"github.com/scrmkit/scrmkit/scrm"
)

// idSet is an ordered set of customer IDs kept as a list of sorted blocks,
// so that inserting or deleting one ID costs a binary search plus moving at
// most a block (not the whole set), and paging from a cursor is a binary
// search. The zero value is an empty set.
type idSet struct {
	blocks [][]scrm.CustomerID // each non-empty, sorted; blocks in order
	n      int
}

const idBlock = 512

// find returns the block that holds id or where it would be inserted.
func (s *idSet) find(id scrm.CustomerID) int {
	b, _ := slices.BinarySearchFunc(s.blocks, id, func(blk []scrm.CustomerID, id scrm.CustomerID) int {
		switch last := blk[len(blk)-1]; {
		case last < id:
			return -1
		case last > id:
			return 1
		}
		return 0
	})
	return b
}

// insert adds id; it reports false when id was already there.
func (s *idSet) insert(id scrm.CustomerID) bool {
	if len(s.blocks) == 0 {
		s.blocks = append(s.blocks, make([]scrm.CustomerID, 0, 16))
		s.blocks[0] = append(s.blocks[0], id)
		s.n++
		return true
	}
	b := s.find(id)
	if b == len(s.blocks) {
		b-- // after every ID: append to the last block
	}
	blk := s.blocks[b]
	i, found := slices.BinarySearch(blk, id)
	if found {
		return false
	}
	blk = slices.Insert(blk, i, id)
	if len(blk) > idBlock {
		half := len(blk) / 2
		right := append(make([]scrm.CustomerID, 0, idBlock), blk[half:]...)
		blk = blk[:half:half]
		s.blocks = slices.Insert(s.blocks, b+1, right)
	}
	s.blocks[b] = blk
	s.n++
	return true
}

// remove deletes id; it reports false when id was not there.
func (s *idSet) remove(id scrm.CustomerID) bool {
	b := s.find(id)
	if b == len(s.blocks) {
		return false
	}
	blk := s.blocks[b]
	i, found := slices.BinarySearch(blk, id)
	if !found {
		return false
	}
	blk = slices.Delete(blk, i, i+1)
	if len(blk) == 0 {
		s.blocks = slices.Delete(s.blocks, b, b+1)
	} else {
		s.blocks[b] = blk
	}
	s.n--
	return true
}

// after appends to out up to limit IDs greater than cursor, in order, and
// reports whether more remain.
func (s *idSet) after(cursor string, limit int, out []scrm.CustomerID) ([]scrm.CustomerID, bool) {
	c := scrm.CustomerID(cursor)
	b, _ := slices.BinarySearchFunc(s.blocks, c, func(blk []scrm.CustomerID, c scrm.CustomerID) int {
		if blk[len(blk)-1] <= c {
			return -1
		}
		return 1
	})
	for ; b < len(s.blocks); b++ {
		blk := s.blocks[b]
		i, _ := slices.BinarySearchFunc(blk, c, func(id, c scrm.CustomerID) int {
			if id <= c {
				return -1
			}
			return 1
		})
		for ; i < len(blk); i++ {
			if len(out) == limit {
				return out, true
			}
			out = append(out, blk[i])
		}
	}
	return out, false
}
