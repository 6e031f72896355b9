package member

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/scrmkit/scrmkit/scrm"
)

// ruleCache keeps a service's current check-in rules and plans per tenant,
// checked against the store's version numbers on every use (so that several
// services over one store stay current), and remembers whether anybody
// listens to the events check-ins, plans and the points mall publish.
type ruleCache struct {
	// noEvents is set when Options.Publisher was left nil: events are then
	// not even built.
	noEvents bool

	checkIns newest[*CheckInRule]
	plans    newest[*planSet]

	// works recycles RunPlans' per-membership work (plan_run.go).
	works sync.Pool // *planWork
}

// newest keeps per tenant the newest of the values put: a service's
// compiled program, check-in rule or plans, by their version. Every
// request reads it and puts are rare (a new version), so a read takes no
// lock: the tenant's slot is found in a tenantTable and its value loaded
// atomically. The zero value is empty.
type newest[V any] struct {
	t tenantTable[newestSlot[V]]
}

type newestSlot[V any] struct {
	mu sync.Mutex // serializes puts
	v  atomic.Pointer[V]
}

// get returns the tenant's value (the zero V when none).
func (c *newest[V]) get(t scrm.TenantID) V {
	if sl := c.t.get(t, false, nil); sl != nil {
		if v := sl.v.Load(); v != nil {
			return *v
		}
	}
	var zero V
	return zero
}

// put keeps v for the tenant unless the value kept is newer, as version
// tells.
func (c *newest[V]) put(t scrm.TenantID, v V, version func(V) int64) {
	sl := c.t.get(t, true, func() *newestSlot[V] { return &newestSlot[V]{} })
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if old := sl.v.Load(); old == nil || version(*old) <= version(v) {
		sl.v.Store(&v)
	}
}

// planSet is a tenant's plans as of a store revision: every version of
// each, by ID. It is immutable once built.
type planSet struct {
	revision int64
	versions map[string][]*Plan // index Version-1
	ids      []string           // sorted
	sources  map[string]string  // "plan:<id>:" by ID, for grants' Source
	// multiplier tells whether any plan version has a points multiplier,
	// which is all Earn needs to know to skip reading memberships.
	multiplier bool
}

func newPlanSet(rev int64, all []Plan) *planSet {
	ps := &planSet{revision: rev, versions: make(map[string][]*Plan), sources: make(map[string]string)}
	for i := range all {
		p := all[i].Clone()
		vs := ps.versions[p.ID]
		if vs == nil {
			ps.ids = append(ps.ids, p.ID)
			for _, what := range []string{"birthday", "coupon_pack", "break_even"} {
				ps.sources[p.ID+"\x00"+what] = "plan:" + p.ID + ":" + what
			}
		}
		for int64(len(vs)) < p.Version {
			vs = append(vs, nil)
		}
		vs[p.Version-1] = &p
		ps.versions[p.ID] = vs
		if !p.Benefits.PointsMultiplier.IsZero() {
			ps.multiplier = true
		}
	}
	slices.Sort(ps.ids)
	return ps
}

// source returns the Source of plan id's grants of a kind of benefit,
// "plan:<id>:<what>".
func (ps *planSet) source(id, what string) string {
	if src, ok := ps.sources[id+"\x00"+what]; ok {
		return src
	}
	return "plan:" + id + ":" + what
}

// newest returns the newest version of plan id, or nil.
func (ps *planSet) newest(id string) *Plan {
	if vs := ps.versions[id]; len(vs) > 0 {
		return vs[len(vs)-1]
	}
	return nil
}

// version returns version v of plan id, or nil.
func (ps *planSet) version(id string, v int64) *Plan {
	if vs := ps.versions[id]; v >= 1 && v <= int64(len(vs)) {
		return vs[v-1]
	}
	return nil
}
