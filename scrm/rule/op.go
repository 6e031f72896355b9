package rule

// op is an operator: of an attribute node, or of a count / sum bound.
type op uint8

const (
	opInvalid op = iota
	opEq
	opNe
	opGt
	opGte
	opLt
	opLte
	opIn
	opNin
	opContains
	opPrefix
	opExists
	opBetween
	opBefore
	opAfter
	opWithin
	opOlderThan
	opBirthdayWithin
)

// String returns the operator's name as written in conditions.
func (o op) String() string {
	switch o {
	case opEq:
		return "eq"
	case opNe:
		return "ne"
	case opGt:
		return "gt"
	case opGte:
		return "gte"
	case opLt:
		return "lt"
	case opLte:
		return "lte"
	case opIn:
		return "in"
	case opNin:
		return "nin"
	case opContains:
		return "contains"
	case opPrefix:
		return "prefix"
	case opExists:
		return "exists"
	case opBetween:
		return "between"
	case opBefore:
		return "before"
	case opAfter:
		return "after"
	case opWithin:
		return "within"
	case opOlderThan:
		return "olderThan"
	case opBirthdayWithin:
		return "birthdayWithin"
	}
	return "invalid"
}

// symbol is how a bound reads in descriptions: "count >= 2".
func (o op) symbol() string {
	switch o {
	case opEq:
		return "=="
	case opNe:
		return "!="
	case opGt:
		return ">"
	case opGte:
		return ">="
	case opLt:
		return "<"
	case opLte:
		return "<="
	}
	return o.String()
}

// parseOp returns the operator named s (case-sensitive).
func parseOp(s string) op {
	for o := opEq; o <= opBirthdayWithin; o++ {
		if o.String() == s {
			return o
		}
	}
	return opInvalid
}

// holds reports whether a comparison result r (-1, 0, +1) satisfies o.
func (o op) holds(r int) bool {
	switch o {
	case opEq:
		return r == 0
	case opNe:
		return r != 0
	case opGt:
		return r > 0
	case opGte:
		return r >= 0
	case opLt:
		return r < 0
	case opLte:
		return r <= 0
	}
	return false
}

// appliesTo reports whether o may be used on an attribute declared t.
func (o op) appliesTo(t Type) bool {
	switch o {
	case opExists:
		return true
	case opEq, opNe:
		return t == String || t == Number || t == Bool
	case opGt, opGte, opLt, opLte, opBetween:
		return t == Number
	case opIn, opNin:
		return t == String || t == Number || t == List
	case opContains:
		return t == String || t == List
	case opPrefix:
		return t == String
	case opBefore, opAfter, opWithin, opOlderThan, opBirthdayWithin:
		return t == Time
	}
	return false
}

const opList = "eq, ne, gt, gte, lt, lte, in, nin, contains, prefix, exists, between, before, after, within, olderThan, birthdayWithin"
