package member

import (
	"slices"
	"sync"

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

	mu       sync.RWMutex
	checkIns map[scrm.TenantID]*CheckInRule
	plans    map[scrm.TenantID]*planSet

	// works recycles RunPlans' per-membership work (plan_run.go).
	works sync.Pool // *planWork
}

func (c *ruleCache) checkIn(t scrm.TenantID) *CheckInRule {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.checkIns[t]
}

func (c *ruleCache) putCheckIn(t scrm.TenantID, r *CheckInRule) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checkIns == nil {
		c.checkIns = make(map[scrm.TenantID]*CheckInRule)
	}
	if old := c.checkIns[t]; old == nil || old.Version <= r.Version {
		c.checkIns[t] = r
	}
}

func (c *ruleCache) planSet(t scrm.TenantID) *planSet {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.plans[t]
}

func (c *ruleCache) putPlanSet(t scrm.TenantID, ps *planSet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.plans == nil {
		c.plans = make(map[scrm.TenantID]*planSet)
	}
	if old := c.plans[t]; old == nil || old.revision <= ps.revision {
		c.plans[t] = ps
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
