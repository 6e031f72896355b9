package member

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// FuzzParseBirthday: the birthday of a request or a profile attribute is
// outside input; it must never panic, and what it accepts must be a real
// date of a leap year.
func FuzzParseBirthday(f *testing.F) {
	for _, s := range []string{"02-29", "1990-03-10", "13-01", "00-00", "2023-02-29", "12-31", "1-1", "", "2000-02-30x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, d, ok := parseBirthday(s)
		if !ok {
			return
		}
		if m < 1 || m > 12 || d < 1 || d > 31 {
			t.Fatalf("%q parsed as %d-%d", s, m, d)
		}
		if got := time.Date(2000, time.Month(m), d, 0, 0, 0, 0, time.UTC); got.Month() != time.Month(m) || got.Day() != d {
			t.Fatalf("%q parsed as %d-%d, not a date", s, m, d)
		}
	})
}

// TestPlanIndexMoves: the memory store's DueAt index (a skip list whose
// nodes are the memberships, with a finger for inserts) stays ordered by
// (DueAt, customer) through random moves, runs of moves to one time in
// customer order (what RunPlans does), and removals.
func TestPlanIndexMoves(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := newPlanIndex()
	ms := make([]*plMember, 2000)
	perm := rng.Perm(len(ms))
	for i := range ms {
		ms[i] = &plMember{cust: scrm.CustomerID(fmt.Sprintf("c%05d", perm[i]))}
	}
	move := func(m *plMember, at int64, ok bool) {
		if m.dueOK {
			x.remove(m)
		}
		m.dueAt, m.dueOK = at, ok
		if ok {
			x.insert(m)
		}
	}
	check := func() {
		var want []*plMember
		for _, m := range ms {
			if m.dueOK {
				want = append(want, m)
			}
		}
		slices.SortFunc(want, func(a, b *plMember) int {
			if a.before(b.dueAt, b.cust) {
				return -1
			}
			return 1
		})
		var got []*plMember
		for m := x.head[0]; m != nil; m = m.next0 {
			got = append(got, m)
		}
		require.Equal(t, len(want), len(got))
		for i := range want {
			require.Same(t, want[i], got[i], "position %d", i)
		}
		for i := 1; i < x.level; i++ { // every level is a sorted sublist
			for m := x.head[i]; m != nil && m.up[i-1] != nil; m = m.up[i-1] {
				n := m.up[i-1]
				require.True(t, m.before(n.dueAt, n.cust))
			}
		}
	}
	for round := 0; round < 30; round++ {
		switch round % 3 {
		case 0: // random moves, some out of the index
			for _, m := range ms {
				move(m, int64(rng.IntN(50)), rng.IntN(10) != 0)
			}
		case 1: // the due ones in order to one later time, as RunPlans does
			var due []*plMember
			for m := x.head[0]; m != nil && m.dueAt <= 25; m = m.next0 {
				due = append(due, m)
			}
			for _, m := range due {
				move(m, 100+int64(round), true)
			}
		default: // moves interleaved with removals of finger nodes
			for i, m := range ms {
				if i%3 == 0 {
					move(m, int64(rng.IntN(200)), rng.IntN(4) != 0)
				}
			}
		}
		check()
	}
}
