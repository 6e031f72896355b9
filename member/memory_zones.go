package member

import "time"

// zones numbers the locations of the times a memory store keeps as Unix
// seconds, nanoseconds and a zone number, so that a time comes back in the
// location it was stored with. The first location is kept inline: nearly
// all the times of an account (or a tenant) are in one zone, and numbering
// or finding it then reads no memory beyond the record's owner. The zero
// value is empty.
type zones struct {
	first *time.Location
	rest  []*time.Location
}

// number returns the number of loc, adding it when new.
func (z *zones) number(loc *time.Location) int {
	if z.first == loc || z.first == nil {
		z.first = loc
		return 0
	}
	for i, l := range z.rest {
		if l == loc {
			return i + 1
		}
	}
	z.rest = append(z.rest, loc)
	return len(z.rest)
}

// loc returns the location numbered i.
func (z *zones) loc(i int) *time.Location {
	if i == 0 {
		return z.first
	}
	return z.rest[i-1]
}

// exact tells whether t is given back exactly by its Unix seconds and
// nanoseconds in loc, its location: not when it carries a monotonic clock
// reading, which == compares too.
func exact(t time.Time, sec, nsec int64, loc *time.Location) bool {
	return time.Unix(sec, nsec).In(loc) == t
}
