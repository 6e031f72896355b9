package metrics

// grid holds one accumulator per (period, key). It is a dense array when
// that takes at most maxDense cells, which covers stores and staff by week
// or month, and a map otherwise (thousands of channel codes over years),
// so memory follows the cells actually used.
type grid[T any] struct {
	keys  int
	dense []T
	cells map[[2]int]*T
}

const maxDense = 1 << 20

func newGrid[T any](periods, keys int) grid[T] {
	if periods*keys <= maxDense {
		return grid[T]{keys: keys, dense: make([]T, periods*keys)}
	}
	return grid[T]{keys: keys, cells: map[[2]int]*T{}}
}

func (g *grid[T]) at(period, key int) *T {
	if g.cells == nil {
		return &g.dense[period*g.keys+key]
	}
	p := g.cells[[2]int{period, key}]
	if p == nil {
		p = new(T)
		g.cells[[2]int{period, key}] = p
	}
	return p
}

// each calls fn for every cell (in no particular order for the map form).
func (g *grid[T]) each(fn func(period, key int, v *T)) {
	if g.cells == nil {
		for i := range g.dense {
			fn(i/g.keys, i%g.keys, &g.dense[i])
		}
		return
	}
	for k, v := range g.cells {
		fn(k[0], k[1], v)
	}
}
