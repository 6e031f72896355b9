package sop

import (
	"cmp"
	"context"
	"slices"

	"github.com/scrmkit/scrmkit/scrm"
)

// The memory store's content templates and task reassignment.

// reassignRecord remembers a ReassignTasks call made with an idempotency
// key.
type reassignRecord struct {
	fingerprint string
	moved       []string
}

// indexTask files a task under its staff member.
func (t *mtenant) indexTask(tk *StaffTask) {
	m := t.byStaff[tk.Staff]
	if m == nil {
		m = make(map[string]*StaffTask)
		t.byStaff[tk.Staff] = m
	}
	m[tk.ID] = tk
}

func (s *memoryStore) PutTemplate(ctx context.Context, params PutTemplateParams) (Template, error) {
	const op = "sop.MemoryStore.PutTemplate"
	tp := params.Template
	if err := begin(ctx, op, tp.Tenant); err != nil {
		return Template{}, err
	}
	if err := scrm.CheckID(op, "ID", tp.ID); err != nil {
		return Template{}, err
	}
	c := cloneTemplate(tp)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tp.Tenant, true)
	var stored int64
	if cur := t.templates[tp.ID]; cur != nil {
		stored = cur.Version
	}
	if err := scrm.CheckVersion(op, "template", tp.ID, tp.Version, stored); err != nil {
		return Template{}, err
	}
	c.Version = stored + 1
	c.UpdatedAt = params.At
	t.templates[tp.ID] = &c
	t.revision++
	return cloneTemplate(c), nil
}

func (s *memoryStore) GetTemplate(ctx context.Context, tenant scrm.TenantID, id string) (Template, error) {
	const op = "sop.MemoryStore.GetTemplate"
	if err := begin(ctx, op, tenant); err != nil {
		return Template{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenant(tenant, false); t != nil {
		if tp := t.templates[id]; tp != nil {
			return cloneTemplate(*tp), nil
		}
	}
	return Template{}, scrm.Errorf(scrm.ErrNotFound, op, "template %q", id)
}

func (s *memoryStore) ListTemplates(ctx context.Context, tenant scrm.TenantID) ([]Template, error) {
	if err := begin(ctx, "sop.MemoryStore.ListTemplates", tenant); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenant, false)
	if t == nil || len(t.templates) == 0 {
		return nil, nil
	}
	out := make([]Template, 0, len(t.templates))
	for _, tp := range t.templates {
		out = append(out, cloneTemplate(*tp))
	}
	slices.SortFunc(out, func(a, b Template) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *memoryStore) ReassignTasks(ctx context.Context, params ReassignTasksParams) (ReassignTasksResult, error) {
	const op = "sop.MemoryStore.ReassignTasks"
	if err := begin(ctx, op, params.Tenant); err != nil {
		return ReassignTasksResult{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(params.Customer)); err != nil {
		return ReassignTasksResult{}, err
	}
	if err := scrm.CheckID(op, "To", params.To); err != nil {
		return ReassignTasksResult{}, err
	}
	var fp string
	if params.IdempotencyKey != "" {
		fp = scrm.Fingerprint(params.Customer, params.From, params.To)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(params.Tenant, params.IdempotencyKey != "")
	if t == nil {
		return ReassignTasksResult{}, nil
	}
	if params.IdempotencyKey != "" {
		if rec, ok := t.reassigns[params.IdempotencyKey]; ok {
			if err := scrm.CheckReplay(op, params.IdempotencyKey, rec.fingerprint, fp); err != nil {
				return ReassignTasksResult{}, err
			}
			return ReassignTasksResult{Moved: slices.Clone(rec.moved), Replayed: true}, nil
		}
	}
	var moved []string
	for _, tk := range t.byCust[params.Customer] {
		if tk.State != TaskOpen || tk.Staff == params.To || (params.From != "" && tk.Staff != params.From) {
			continue
		}
		delete(t.byStaff[tk.Staff], tk.ID)
		if len(t.byStaff[tk.Staff]) == 0 {
			delete(t.byStaff, tk.Staff)
		}
		tk.MovedFrom, tk.MovedAt, tk.Staff = tk.Staff, params.At, params.To
		t.indexTask(tk)
		moved = append(moved, tk.ID)
	}
	slices.Sort(moved)
	if params.IdempotencyKey != "" {
		t.reassigns[params.IdempotencyKey] = reassignRecord{fingerprint: fp, moved: moved}
	}
	return ReassignTasksResult{Moved: slices.Clone(moved)}, nil
}
