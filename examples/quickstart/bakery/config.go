package bakery

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Tenant is the bakery chain's tenant ID.
const Tenant scrm.TenantID = "maixiang-bakery"

// Defaults of Config.
const (
	DefaultCustomers = 3000
	DefaultDays      = 90
	DefaultSeed      = 2026
)

// MaxCustomers and MaxDays bound a Config, so a typo on the command line
// cannot start a run that never ends.
const (
	MaxCustomers = 200_000
	MaxDays      = 366
)

// Config describes one simulation run. The zero Config is the default run:
// 3,000 people over 90 days from Monday 2 March 2026, seed 2026.
type Config struct {
	// Customers is how many people the run generates; each arrives once
	// (some twice, under a second identity that the Directory merges).
	// 0 means DefaultCustomers.
	Customers int
	// Days is how many days the simulated clock runs; 0 means DefaultDays.
	// People arrive over the whole period, so the last cohorts are short.
	Days int
	// Seed seeds the pseudo-random generator. A run is a pure function of
	// its Config: the same Config prints the same output. 0 means
	// DefaultSeed.
	Seed int64
	// Start is the first simulated day; only its date in the tenant's zone
	// (Asia/Shanghai) counts. The zero time means 2026-03-02, a Monday.
	Start time.Time
}

// withDefaults returns c with its zero fields set, or an error naming the
// field that is out of range.
func (c Config) withDefaults(loc *time.Location) (Config, error) {
	const op = "bakery.Config"
	if c.Customers == 0 {
		c.Customers = DefaultCustomers
	}
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.Customers < 1 || c.Customers > MaxCustomers {
		return c, scrm.Invalid(op, "Customers", "must be in [1, %d], got %d", MaxCustomers, c.Customers)
	}
	if c.Days < 1 || c.Days > MaxDays {
		return c, scrm.Invalid(op, "Days", "must be in [1, %d], got %d", MaxDays, c.Days)
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 3, 2, 0, 0, 0, 0, loc)
	} else {
		y, m, d := c.Start.In(loc).Date()
		c.Start = time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	return c, nil
}
