package rule

import (
	"time"

	"github.com/shopspring/decimal"
)

// Env is what a Program reads about one customer. *scrm.Profile implements
// it, so a profile can be evaluated directly; hosts with their own read model
// implement it themselves.
//
// Implementations must be safe to call from the goroutine that calls Eval;
// a Program never keeps an Env after Eval returns. Eval calls Env methods
// once per node it visits and never retains the values they return, so an
// Env that returns values it already holds (no boxing, no copying) keeps
// evaluation allocation-free.
type Env interface {
	// Attr returns the value of an attribute and whether it is set. A set
	// attribute holding nil is treated as missing.
	Attr(name string) (any, bool)
	// Tag returns when a tag was applied and whether the customer has it.
	Tag(tag string) (appliedAt time.Time, ok bool)
	// InSegment reports whether the customer is a member of segment.
	InSegment(segment string) bool
	// Count returns how many events of eventType happened at or after
	// since. A zero since means all time.
	Count(eventType string, since time.Time) int64
	// Sum returns the total Amount of the events of eventType at or after
	// since. A zero since means all time.
	Sum(eventType string, since time.Time) decimal.Decimal
	// Last returns the time of the latest event of eventType and whether
	// there is one.
	Last(eventType string) (time.Time, bool)
}

// TagExpirer is an optional capability of an Env, found by type assertion as
// in database/sql: a tag whose expiry is non-zero and not after the
// evaluation time does not match, even if Env.Tag still reports it.
// *scrm.Profile implements it.
type TagExpirer interface {
	// TagExpiry returns when the tag expires; a zero time or ok == false
	// means it does not.
	TagExpiry(tag string) (expires time.Time, ok bool)
}

// FenSummer is an optional capability of an Env, found by type assertion:
// it gives an event sum in fen (0.01 yuan) as an int64, so that sum
// conditions whose bounds are whole fen compare without decimal arithmetic
// (and without allocating). *scrm.Profile implements it.
//
// SumFen must agree with Env.Sum: Sum(eventType, since) equals fen/100
// whenever ok is true. ok == false means the Env cannot give the sum
// exactly in fen (sub-fen amounts, overflow); Eval then falls back to Sum.
type FenSummer interface {
	SumFen(eventType string, since time.Time) (fen int64, ok bool)
}
