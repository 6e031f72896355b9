// Package rule is the condition language shared by every scrmkit package:
// tag rules, segments, coupon audiences, SOP triggers and exits, referral
// qualification.
//
// A Condition is plain data. It round-trips through JSON, the form an
// operator UI saves, and can be built in Go with All, Any, Not, Attr, Event,
// HasTag and InSegment:
//
//	{"all": [
//	  {"attr": "city", "op": "in", "value": ["上海", "杭州"]},
//	  {"event": "order.paid", "within": "30d", "count": {"gte": 2}},
//	  {"event": "order.paid", "within": "90d", "sum": {"gte": "500.00"}},
//	  {"event": "order.paid", "last": {"olderThan": "30d"}},
//	  {"tag": "到店未成交", "appliedWithin": "7d"},
//	  {"not": {"segment": "blacklist"}},
//	  {"any": [{"attr": "tier", "op": "eq", "value": "gold"},
//	           {"attr": "birthday", "op": "birthdayWithin", "value": "7d"}]}
//	]}
//
// Compile validates a Condition, reporting the path of the first problem
// (all[2].sum.gte) in an error matching scrm.ErrInvalid, and returns a
// Program. Program.Eval evaluates it against an Env (a *scrm.Profile, or
// the host's own read model) at an instant, without allocating;
// Program.Explain says why it matched or not; Program.Deps lists what it
// reads.
//
// # Node kinds
//
// Every condition object has exactly one kind:
//
//   - {"all": [...]}, {"any": [...]}: every / some child holds. An empty
//     list is a compile error.
//   - {"not": {...}}: the child does not hold.
//   - {"attr": name, "op": op, "value": v}: an attribute comparison.
//   - {"event": type, "within": d, "count": {...}, "sum": {...},
//     "last": {...}}: activity. within limits count and sum to events at or
//     after now-within; without it they cover all the Env holds. count and
//     sum take bounds {"eq", "ne", "gt", "gte", "lt", "lte"}, all of which
//     must hold; count bounds are non-negative integers, sum bounds decimals
//     in yuan (numbers or strings, never rounded through float64). last
//     takes {"olderThan": d} (the latest event is before now-d) and/or
//     {"within": d} (at or after now-d); a customer without such events
//     matches neither, so use not or any to include them. within has no
//     effect on last and, alone with last, is a compile error. An event node
//     with none of count, sum and last means count >= 1. When several are
//     given, all must hold.
//   - {"tag": name, "appliedWithin": d}: the customer has the tag, it has
//     not expired (see TagExpirer) and, with appliedWithin, it was applied at
//     or after now-d.
//   - {"segment": name}: the customer is in the segment.
//
// # Attribute operators
//
//	eq, ne           a string, number or bool constant
//	gt, gte, lt, lte a number (or numeric string, "500.00")
//	between          [low, high], both ends included; low <= high
//	in, nin          a non-empty list of strings or of numbers (not mixed);
//	                 for a list attribute, in means some element is in the
//	                 list and nin means none is
//	contains         a substring of a string attribute, or an element
//	                 (string or number) of a list attribute
//	prefix           a string attribute starts with the string
//	exists           value true (the default when absent) or false
//	before, after    an RFC 3339 instant, or a date "2006-01-02" in the
//	                 compile Location: before a date means before the day
//	                 starts, after a date means after the day ends
//	within           a time attribute lies in [now-d, now]
//	olderThan        a time attribute is before now-d
//	birthdayWithin   d, a whole number of days: the next anniversary of the
//	                 birthday's month and day falls on a local date from
//	                 today through today+d (today counts; across New Year
//	                 it is next year's). "0d" means today only; it is the
//	                 one zero duration an operand may be. A 29 February
//	                 birthday is celebrated on 28 February in non-leap years.
//
// An empty list for in / nin is a compile error rather than a rule that
// never (or always) matches: an operator UI that saves one has a bug.
//
// # Missing attributes and types
//
// An attribute the Env does not have, or has with a nil value, is missing.
// A missing attribute makes every operator false except ne and nin (true)
// and exists false (true).
//
// Eval accepts attribute values of type string, bool, every int and uint
// kind, float32 and float64, json.Number, decimal.Decimal, time.Time,
// []string and []any; values of named types of these kinds (type Level
// int, type Tier string: a host's enums) compare as their kind, json.Number
// counting as a number, not a string, and other lists of these kinds (type
// Tags []string, []Tier, []int) as lists: contains, in and nin look at
// their elements. Numbers compare exactly across kinds: an int attribute against an integer constant as int64, floats as
// floats, and decimals (and json.Numbers in plain notation) exactly. Time attributes
// may be time.Time or strings "2006-01-02" (the day's start in the
// Location) or RFC 3339; birthdays may be time.Time (its calendar date in
// its own location), "YYYY-MM-DD", "MM-DD" or RFC 3339 (the date in the
// offset it carries, as a time.Time reads after a JSON round trip; see
// scrm.BirthdayOf). A zero time.Time counts as
// no time. A value whose type does not compare with the operator's
// constant (a bool against "gold", a string against gt 5, a string "5"
// against eq 5) makes the operator false, ne and nin included; Eval never
// panics.
//
// Without a Schema the operator and the value decide the type: eq "5" is a
// string comparison, eq 5 a numeric one. With CompileOptions.Schema
// declaring an attribute's Type, mixing types is a compile error, never a
// silent false.
//
// # Durations and time
//
// Durations are written "90s", "90m", "12h", "30d", "2w" (see Duration).
// Windows are computed from the now passed to Eval: a rule is a pure
// function of the Env and now. Deps.TimeBased tells callers which programs
// need re-evaluating as time passes.
//
// # Capabilities
//
// Like database/sql drivers, an Env may implement optional interfaces that
// Eval finds by type assertion: TagExpirer (tags stop matching at their
// expiry) and FenSummer (sums compared in int64 fen, without allocating).
// *scrm.Profile implements both.
//
// # Concurrency
//
// Conditions are values: do not mutate one while another goroutine
// compiles or encodes it. A Program is immutable and safe for concurrent
// use; Compile keeps no reference to the Condition.
package rule
