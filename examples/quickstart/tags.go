package main

import (
	"sort"
	"strings"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

// defineTags sets up the tag library before any event arrives: an exclusive
// spending group kept current by rules, a repeat-buyer tag, a new-lead tag
// that SOPs react to, and a keyword tag for customers who refuse marketing.
func (a *app) defineTags() error {
	ctx := a.ctx
	if _, err := a.tags.PutGroup(ctx, tenant, tagging.Group{ID: "消费能力", Name: "spending power", Exclusive: true}); err != nil {
		return err
	}
	for _, t := range []tagging.Tag{
		{ID: "高", Group: "消费能力", Kind: tagging.KindRule},
		{ID: "中", Group: "消费能力", Kind: tagging.KindRule},
		{ID: "低", Group: "消费能力", Kind: tagging.KindRule},
		{ID: "复购", Description: "repeat buyer", Kind: tagging.KindRule},
		{ID: "新客", Description: "new lead, no order yet", Kind: tagging.KindRule},
		{ID: "拒绝营销", Description: "asked not to be messaged", Kind: tagging.KindKeyword},
	} {
		if _, err := a.tags.PutTag(ctx, tenant, t); err != nil {
			return err
		}
	}
	spent := func(min string) rule.Condition {
		return rule.Event(scrm.EventOrderPaid).Within(90 * day).SumGte(scrm.Yuan(min))
	}
	newLead, err := rule.ParseCondition([]byte(`{"all": [
		{"event": "customer.added", "within": "7d"},
		{"not": {"event": "order.paid"}}]}`))
	if err != nil {
		return err
	}
	for _, r := range []tagging.Rule{
		{ID: "spend-high", Tag: "高", When: spent("500"), Priority: 3, Sync: true},
		{ID: "spend-mid", Tag: "中", When: spent("200"), Priority: 2, Sync: true},
		{ID: "spend-low", Tag: "低", When: spent("0.01"), Priority: 1, Sync: true},
		{ID: "repeat", Tag: "复购", When: rule.Event(scrm.EventOrderPaid).CountGte(2)},
		{ID: "new-lead", Tag: "新客", When: newLead, Sync: true},
		{ID: "refuse", Tag: "拒绝营销", Keywords: []string{"不需要", "别发了", "退订"}},
	} {
		if _, err := a.tags.PutRule(ctx, tenant, r); err != nil {
			return err
		}
	}
	return nil
}

// showTags is part 2: the tags the events of part 1 left on each customer.
func (a *app) showTags() error {
	a.printf("\n== 2. tags\n")
	page, err := a.profiles.Store().List(a.ctx, scrm.ListProfilesParams{Tenant: tenant})
	if err != nil {
		return err
	}
	for _, p := range page.Profiles {
		marks := p.Tags()
		names := make([]string, 0, len(marks))
		for name, m := range marks {
			names = append(names, name+" ("+m.Source+")")
		}
		sort.Strings(names)
		a.printf("- %s: %s\n", p.Customer, strings.Join(names, ", "))
	}
	n, err := a.tags.Count(a.ctx, tenant, "复购")
	if err != nil {
		return err
	}
	a.printf("customers tagged 复购: %d\n", n)
	hist, err := a.tags.History(a.ctx, tenant, "C001")
	if err != nil {
		return err
	}
	a.printf("history of C001, newest first:\n")
	for _, h := range hist {
		a.printf("  %s %-7s %s by %s\n", a.local(h.At, "01-02 15:04"), h.Action, h.Tag, h.Source)
	}
	return nil
}
