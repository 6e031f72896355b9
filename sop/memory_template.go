package sop

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// The memory store's content templates and task reassignment.

// reassignRecord remembers a ReassignTasks call made with an idempotency
// key.
type reassignRecord struct {
	fingerprint string
	moved       []string
	stale       bool
}

// ownerMark is the newest ordered owner change ReassignTasks applied to a
// customer (see ReassignTasksParams.ChangedAt).
type ownerMark struct {
	at  time.Time
	seq int64
	id  string
	to  string
}

// compare orders m against another change: by change number alone when
// both have one, else by time, number, then ID.
func (m ownerMark) compare(o ownerMark) int {
	if m.seq > 0 && o.seq > 0 {
		return cmp.Compare(m.seq, o.seq)
	}
	if c := m.at.Compare(o.at); c != 0 {
		return c
	}
	if c := cmp.Compare(m.seq, o.seq); c != 0 {
		return c
	}
	return strings.Compare(m.id, o.id)
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
	if err := t.checkRevision(op, params.CheckRevision, params.Revision); err != nil {
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
	ordered := !params.ChangedAt.IsZero()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(params.Tenant, params.IdempotencyKey != "" || ordered)
	if t == nil {
		return ReassignTasksResult{}, nil
	}
	if params.IdempotencyKey != "" {
		if rec, ok := t.reassigns[params.IdempotencyKey]; ok {
			if err := scrm.CheckReplay(op, params.IdempotencyKey, rec.fingerprint, fp); err != nil {
				return ReassignTasksResult{}, err
			}
			return ReassignTasksResult{Moved: slices.Clone(rec.moved), Replayed: true, Stale: rec.stale}, nil
		}
	}
	to, stale := params.To, false
	if ordered {
		m := ownerMark{at: params.ChangedAt.Round(0), seq: params.ChangeSeq, id: params.ChangeID, to: params.To}
		if cur, ok := t.owners[params.Customer]; ok && m.compare(cur) < 0 {
			// A late change: From's tasks go where the newest change
			// sent the customer. A late first owner (no From) moves
			// nothing: the open tasks now are those of owners after it
			// (moved by their own changes) or of staff who never owned
			// the customer, which stay.
			to, stale = cur.to, true
		} else {
			t.owners[params.Customer] = m
		}
	}
	var moved []string
	for _, tk := range t.byCust[params.Customer] {
		if stale && params.From == "" {
			break // a late first owner
		}
		if tk.State != TaskOpen || tk.Staff == to || (params.From != "" && tk.Staff != params.From) {
			continue
		}
		delete(t.byStaff[tk.Staff], tk.ID)
		if len(t.byStaff[tk.Staff]) == 0 {
			delete(t.byStaff, tk.Staff)
		}
		tk.MovedFrom, tk.MovedAt, tk.Staff = tk.Staff, params.At, to
		t.indexTask(tk)
		moved = append(moved, tk.ID)
	}
	slices.Sort(moved)
	if params.IdempotencyKey != "" {
		t.reassigns[params.IdempotencyKey] = reassignRecord{fingerprint: fp, moved: moved, stale: stale}
	}
	return ReassignTasksResult{Moved: slices.Clone(moved), Stale: stale}, nil
}
