package sop

import (
	"context"
	"slices"

	"github.com/scrmkit/scrmkit/scrm"
)

// Stats returns a playbook's counters per step and variant, in the order of
// its steps (and of each step's variants); see StepStats. Errors:
// ErrNotFound for an unknown playbook.
func (s *Service) Stats(ctx context.Context, tenant scrm.TenantID, playbook string) (Stats, error) {
	const op = "sop.Stats"
	pb, err := s.store.GetPlaybook(ctx, tenant, playbook)
	if err != nil {
		return Stats{}, scrm.Wrap(nil, op, err)
	}
	rows, err := s.store.Stats(ctx, tenant, playbook)
	if err != nil {
		return Stats{}, scrm.Wrap(nil, op, err)
	}
	rank := make(map[[2]string]int)
	for i, st := range pb.Steps {
		rank[[2]string{st.ID, ""}] = i * (MaxVariants + 1)
		for k, v := range st.Variants {
			id := v.ID
			if id == "" {
				id = string(rune('A' + k))
			}
			rank[[2]string{st.ID, id}] = i*(MaxVariants+1) + k + 1
		}
	}
	pos := func(r StepStats) int {
		if p, ok := rank[[2]string{r.Step, r.Variant}]; ok {
			return p
		}
		return len(pb.Steps) * (MaxVariants + 1)
	}
	slices.SortStableFunc(rows, func(a, b StepStats) int { return pos(a) - pos(b) })
	return Stats{Tenant: tenant, Playbook: playbook, Steps: rows}, nil
}
