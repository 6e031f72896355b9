package scrm

import "time"

// Clock tells the time. Services never call time.Now; they ask the Clock in
// their Options, so tests and simulations can drive time (see
// scrmtest.NewClock).
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to the Clock interface.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// SystemClock returns the wall clock.
func SystemClock() Clock { return ClockFunc(time.Now) }

// DefaultLocation returns the time zone calendar logic uses when a tenant has
// none configured: Asia/Shanghai. When the host has no time zone database
// (a scratch container without time/tzdata), it falls back to a fixed UTC+8
// zone named "CST", which is exact for China: it has observed no daylight
// saving time since 1991.
func DefaultLocation() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}
