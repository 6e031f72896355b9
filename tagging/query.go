package tagging

import (
	"context"
	"fmt"
	"strings"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// History returns every change of the customer's tags, newest first: who
// (By, Source, Rule), when (At), why (Reason, Cause). A customer merged into
// another gets the survivor's history, which includes its own. A customer
// with no history gets an empty list. Use ListHistory to page.
func (s *Service) History(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) ([]HistoryEntry, error) {
	var out []HistoryEntry
	p := ListHistoryParams{Tenant: tenant, Customer: customer, Limit: 1000}
	for {
		page, err := s.ListHistory(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Entries...)
		if page.Next == "" {
			return out, nil
		}
		p.Cursor = page.Next
	}
}

// ListHistory returns one page of a customer's history, newest first,
// following merges like History.
func (s *Service) ListHistory(ctx context.Context, p ListHistoryParams) (HistoryPage, error) {
	const op = "tagging.History"
	if err := scrm.CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return HistoryPage{}, err
	}
	if err := scrm.CheckID(op, "Customer", string(p.Customer)); err != nil {
		return HistoryPage{}, err
	}
	pr, err := s.load(ctx, p.Tenant, p.Customer)
	if err != nil {
		return HistoryPage{}, err
	}
	p.Customer = pr.Customer
	page, err := s.store.ListHistory(ctx, p)
	return page, scrm.Wrap(nil, op, err)
}

// Count returns how many customers carry the tag. Expired tags count until
// Sweep removes them (they no longer match rules in the meantime): run
// sweeps at least as often as counts need to be exact. Errors: ErrInvalid
// (Field "tag") for a tag the tenant has not defined.
func (s *Service) Count(ctx context.Context, tenant scrm.TenantID, tag string) (int, error) {
	const op = "tagging.Count"
	if err := s.checkDefined(ctx, op, tenant, tag); err != nil {
		return 0, err
	}
	n, err := s.store.Count(ctx, tenant, tag)
	return n, scrm.Wrap(nil, op, err)
}

// Customers returns a page of the customers carrying the tag, in customer
// ID order, with their marks; pass the page's Next as cursor for the
// following one. limit 0 means 100, more than 1000 means 1000. Like Count,
// it includes expired tags until Sweep removes them.
func (s *Service) Customers(ctx context.Context, tenant scrm.TenantID, tag, cursor string, limit int) (CustomerPage, error) {
	const op = "tagging.Customers"
	if err := s.checkDefined(ctx, op, tenant, tag); err != nil {
		return CustomerPage{}, err
	}
	page, err := s.store.Customers(ctx, ListCustomersParams{Tenant: tenant, Tag: tag, Cursor: cursor, Limit: limit})
	return page, scrm.Wrap(nil, op, err)
}

func (s *Service) checkDefined(ctx context.Context, op string, tenant scrm.TenantID, tag string) error {
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return err
	}
	if err := checkTagID(op, "tag", tag); err != nil {
		return err
	}
	tr, err := s.rules(ctx, tenant)
	if err != nil {
		return err
	}
	if tr.tags[tag] == nil {
		return scrm.Invalid(op, "tag", "unknown tag %q", tag)
	}
	return nil
}

// Explain tells why a rule does or does not hold for a customer now: the
// condition's trace (see rule.Program.Explain), for operator UIs. For a
// keyword rule it explains When (keywords match replies, not profiles);
// a keyword rule without When gets a trace that says so. Errors:
// ErrNotFound for an unknown rule; ErrInvalid for a stored rule that no
// longer compiles.
func (s *Service) Explain(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, ruleID string) (rule.Trace, error) {
	const op = "tagging.Explain"
	if err := scrm.CheckID(op, "tenant", string(tenant)); err != nil {
		return rule.Trace{}, err
	}
	if err := scrm.CheckID(op, "customer", string(customer)); err != nil {
		return rule.Trace{}, err
	}
	tr, err := s.rules(ctx, tenant)
	if err != nil {
		return rule.Trace{}, err
	}
	r := tr.byID[ruleID]
	if r == nil {
		if err := tr.broken[ruleID]; err != nil {
			return rule.Trace{}, err
		}
		return rule.Trace{}, scrm.Errorf(scrm.ErrNotFound, op, "rule %q", ruleID)
	}
	p, err := s.load(ctx, tenant, customer)
	if err != nil {
		return rule.Trace{}, err
	}
	if r.prog == nil {
		return rule.Trace{Desc: fmt.Sprintf("keywords %s (%s): matched against replies", strings.Join(r.kw.keywords, ", "), r.kw.mode), Result: true}, nil
	}
	return r.prog.Explain(p, s.now()), nil
}
