package metrics

import (
	"math"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// checkWindow validates a half-open window [from, to); zero ends are open.
func checkWindow(op string, from, to time.Time) error {
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return scrm.Invalid(op, "To", "must be after From (%s), got %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return nil
}

// window is [from, to) in unix nanoseconds, open ends as the extremes.
type window struct{ from, to int64 }

func windowOf(from, to time.Time) window {
	w := window{from: nanosOf(from), to: math.MaxInt64}
	if !to.IsZero() {
		w.to = nanosOf(to)
	}
	return w
}

func (w window) has(t int64) bool { return t >= w.from && t < w.to }
