package sop_test

// More mutants of the conformance suite, for the Store methods the first
// set left alone (CompleteTask, EndEnrollments, ListPlaybooks, Start); they
// are listed in smMutants.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/scrmkit/scrmkit/internal/mutants"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/sop"
)

// smTaskCount keeps the task counters itself, the way a host that bumps a
// stats row after updating the task would: with check unset it counts
// every completion, a replay of a done task included; with check set it
// reads the task's state first and counts when it was open, but not in the
// same atomic step, so concurrent completions of one task all count it.
type smTaskCount struct {
	sop.Store
	check bool
	ov    mutants.Overlap // widens the read-to-write window
	mu    sync.Mutex
	done  map[string]bool     // tenant/task → completed
	count map[string][2]int64 // tenant/playbook/step → TasksDone, TasksLate
}

func newSMTaskCount(check bool) *smTaskCount {
	return &smTaskCount{Store: sop.NewMemoryStore(), check: check, done: map[string]bool{}, count: map[string][2]int64{}}
}

func (m *smTaskCount) CompleteTask(ctx context.Context, p sop.CompleteTaskParams) (sop.StaffTask, error) {
	k := string(p.Tenant) + "/" + p.ID
	m.mu.Lock()
	was := m.done[k]
	m.mu.Unlock()
	if m.check {
		m.ov.Wait()
	}
	tk, err := m.Store.CompleteTask(ctx, p)
	if err != nil {
		return tk, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done[k] = true
	if !m.check || !was {
		sk := string(p.Tenant) + "/" + tk.Playbook + "/" + tk.Step
		c := m.count[sk]
		c[0]++
		if !tk.OnTime {
			c[1]++
		}
		m.count[sk] = c
	}
	return tk, nil
}

func (m *smTaskCount) Stats(ctx context.Context, tenant scrm.TenantID, playbook string) ([]sop.StepStats, error) {
	rows, err := m.Store.Stats(ctx, tenant, playbook)
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, r := range rows {
		if r.Variant == "" {
			c := m.count[string(tenant)+"/"+playbook+"/"+r.Step]
			rows[i].TasksDone, rows[i].TasksLate = c[0], c[1]
		}
	}
	return rows, err
}

// smEndWide ends more than the enrollments named: with wide "playbook"
// the customer's in every playbook of the tenant (a WHERE clause without
// the playbook), with wide "customer" every customer's in the playbook (a
// WHERE clause without the customer).
type smEndWide struct {
	sop.Store
	wide      string
	mu        sync.Mutex
	customers map[string][]scrm.CustomerID // tenant/playbook → enrolled
}

func newSMEndWide(wide string) *smEndWide {
	return &smEndWide{Store: sop.NewMemoryStore(), wide: wide, customers: map[string][]scrm.CustomerID{}}
}

func (m *smEndWide) Enroll(ctx context.Context, p sop.EnrollParams) (sop.EnrollResult, error) {
	res, err := m.Store.Enroll(ctx, p)
	if err == nil {
		m.mu.Lock()
		k := string(p.Tenant) + "/" + p.Playbook
		if !slices.Contains(m.customers[k], p.Customer) {
			m.customers[k] = append(m.customers[k], p.Customer)
		}
		m.mu.Unlock()
	}
	return res, err
}

func (m *smEndWide) EndEnrollments(ctx context.Context, p sop.EndEnrollmentsParams) ([]sop.Enrollment, error) {
	ended, err := m.Store.EndEnrollments(ctx, p)
	if err != nil {
		return ended, err
	}
	var others []sop.EndEnrollmentsParams
	switch m.wide {
	case "playbook":
		pbs, err := m.Store.ListPlaybooks(ctx, p.Tenant)
		if err != nil {
			return nil, err
		}
		for _, pb := range pbs {
			if pb.ID != p.Playbook {
				o := p
				o.Playbook, o.Seq = pb.ID, 0
				others = append(others, o)
			}
		}
	case "customer":
		m.mu.Lock()
		for _, c := range m.customers[string(p.Tenant)+"/"+p.Playbook] {
			if c != p.Customer {
				o := p
				o.Customer, o.Seq = c, 0
				others = append(others, o)
			}
		}
		m.mu.Unlock()
	}
	for _, o := range others {
		more, err := m.Store.EndEnrollments(ctx, o)
		if err != nil {
			return nil, err
		}
		ended = append(ended, more...)
	}
	return ended, nil
}

// smTenants remembers every tenant that stored a playbook, for the
// mutants that read across tenants.
type smTenants struct {
	sop.Store
	mu      sync.Mutex
	tenants []scrm.TenantID
	tasks   map[string]scrm.TenantID // task ID → its tenant
}

func newSMTenants() *smTenants {
	return &smTenants{Store: sop.NewMemoryStore(), tasks: map[string]scrm.TenantID{}}
}

func (m *smTenants) PutPlaybook(ctx context.Context, p sop.PutPlaybookParams) (sop.PutPlaybookResult, error) {
	res, err := m.Store.PutPlaybook(ctx, p)
	if err == nil {
		m.mu.Lock()
		if !slices.Contains(m.tenants, p.Playbook.Tenant) {
			m.tenants = append(m.tenants, p.Playbook.Tenant)
		}
		m.mu.Unlock()
	}
	return res, err
}

func (m *smTenants) Complete(ctx context.Context, p sop.CompleteParams) (sop.Job, error) {
	j, err := m.Store.Complete(ctx, p)
	if err == nil && p.Task != nil {
		m.mu.Lock()
		m.tasks[p.Task.ID] = p.Tenant
		m.mu.Unlock()
	}
	return j, err
}

// smListPlaybooksAnyTenant lists every tenant's playbooks (a query
// without the tenant): the Service then enrolls a tenant's customers in
// another tenant's playbooks.
type smListPlaybooksAnyTenant struct{ *smTenants }

func (m *smListPlaybooksAnyTenant) ListPlaybooks(ctx context.Context, tenant scrm.TenantID) ([]sop.Playbook, error) {
	if _, err := m.Store.ListPlaybooks(ctx, tenant); err != nil {
		return nil, err
	}
	m.mu.Lock()
	tenants := slices.Clone(m.tenants)
	m.mu.Unlock()
	var out []sop.Playbook
	for _, tn := range tenants {
		pbs, err := m.Store.ListPlaybooks(ctx, tn)
		if err != nil {
			return nil, err
		}
		out = append(out, pbs...)
	}
	slices.SortStableFunc(out, func(a, b sop.Playbook) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// smCompleteTaskAnyTenant finds a task by its ID alone: a task of another
// tenant is completed (and counted) when asked as this one.
type smCompleteTaskAnyTenant struct{ *smTenants }

func (m *smCompleteTaskAnyTenant) CompleteTask(ctx context.Context, p sop.CompleteTaskParams) (sop.StaffTask, error) {
	tk, err := m.Store.CompleteTask(ctx, p)
	if errors.Is(err, scrm.ErrNotFound) {
		m.mu.Lock()
		tenant, ok := m.tasks[p.ID]
		m.mu.Unlock()
		if ok {
			p.Tenant = tenant
			return m.Store.CompleteTask(ctx, p)
		}
	}
	return tk, err
}

// smStartAnyWorker lets whoever asks start a leased job.
type smStartAnyWorker struct{ *smLeases }

func (m *smStartAnyWorker) Start(ctx context.Context, p sop.StartParams) (sop.StartResult, error) {
	if w, _, ok := m.holder(p.Job); ok {
		p.Worker = w
	}
	return m.Store.Start(ctx, p)
}
