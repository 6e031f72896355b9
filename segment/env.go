package segment

import (
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm/rule"
)

// FirstAttrPrefix starts the name of a derived attribute that Lifecycle
// stage conditions may read: "$first.<event type>" is the time of the
// customer's first event of that type, missing when there is none. It lets a
// stage say "first purchase within 30 days", which the condition language
// cannot say with event counts alone:
//
//	{"attr": "$first.order.paid", "op": "within", "value": "30d"}
//
// The attribute is available when the Env has a First method, as
// *scrm.Profile does.
const FirstAttrPrefix = "$first."

// firster is the optional Env capability behind FirstAttrPrefix.
type firster interface {
	First(eventType string) (time.Time, bool)
}

// firstEnv adds the FirstAttrPrefix attributes to an Env and passes the
// optional rule capabilities through.
type firstEnv struct {
	rule.Env
	first firster
}

func withFirst(env rule.Env) rule.Env {
	f, ok := env.(firster)
	if !ok {
		return env
	}
	return &firstEnv{Env: env, first: f}
}

func (e *firstEnv) Attr(name string) (any, bool) {
	if typ, ok := strings.CutPrefix(name, FirstAttrPrefix); ok {
		t, ok := e.first.First(typ)
		if !ok {
			return nil, false
		}
		return t, true
	}
	return e.Env.Attr(name)
}

func (e *firstEnv) TagExpiry(tag string) (time.Time, bool) {
	if x, ok := e.Env.(rule.TagExpirer); ok {
		return x.TagExpiry(tag)
	}
	return time.Time{}, false
}

func (e *firstEnv) SumFen(eventType string, since time.Time) (int64, bool) {
	if x, ok := e.Env.(rule.FenSummer); ok {
		return x.SumFen(eventType, since)
	}
	return 0, false
}
