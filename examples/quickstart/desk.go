package main

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/sop"
)

const (
	deskStore = "jingan"
	deskGroup = "jingan-vip"
)

// setUpDesk sets up the operator's desk: two staff members of one store
// (小张 with a channel code, 小李), the store's WeCom group, a content
// template with a variant for repeat buyers (千人千面), and a playbook that
// welcomes group members with it and gives their owner a follow-up task.
func (a *app) setUpDesk() error {
	ctx := a.ctx
	for _, s := range []scrm.Staff{
		{Tenant: tenant, ID: "xiaozhang", Name: "张小燕", Store: deskStore, Active: true, Codes: []string{"qr-zhang"}},
		{Tenant: tenant, ID: "xiaoli", Name: "李明", Store: deskStore, Active: true},
	} {
		if err := a.team.PutStaff(ctx, s); err != nil {
			return err
		}
	}
	if err := a.groups.PutGroup(ctx, scrm.Group{Tenant: tenant, ID: deskGroup, Name: "静安店福利群", Owner: "xiaozhang", Store: deskStore}); err != nil {
		return err
	}
	if _, err := a.touches.PutTemplate(ctx, sop.Template{
		Tenant: tenant, ID: "group-welcome", Channel: scrm.ChannelWeCom,
		Body: "{{.name}}，欢迎加入{{.Group}}！每晚 21:30 清货特价",
		Variants: []sop.TemplateVariant{
			{When: rule.HasTag("复购"), Body: "{{.name}}老朋友，欢迎加入{{.Group}}！每周三会员日积分翻倍"},
		},
		Required: []string{"name", "Group"},
	}); err != nil {
		return err
	}
	_, err := a.touches.PutPlaybook(ctx, sop.Playbook{
		Tenant: tenant, ID: "group-welcome", Name: "入群欢迎 (group welcome)",
		Trigger: sop.Trigger{Event: scrm.EventGroupJoined},
		Steps: []sop.Step{
			{ID: "hello", After: time.Minute, Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom,
				Template: "group-welcome", Vars: map[string]string{"Group": "静安店福利群"}}},
			{ID: "follow-up", After: time.Hour, Action: sop.Action{Kind: sop.Task, Staff: "xiaozhang",
				Template: "入群回访 (call after joining)", Deadline: 2 * day}},
		},
	})
	return err
}

// showDesk is part 8: a customer arrives through 小张's channel code and
// becomes hers, joins the store group with a repeat buyer, both are welcomed
// with the template rendered for each, 小张 gets a follow-up task per
// customer; then she leaves (离职继承): her customers and their open tasks go
// to 小李, and the history keeps who owned whom.
func (a *app) showDesk() error {
	a.printf("\n== 8. the operator's desk: staff, channel codes, groups, templates, hand-over\n")
	ctx := a.ctx
	if err := a.setUpDesk(); err != nil {
		return err
	}
	at := func() string { return a.local(a.clock.Now(), "Mon 01-02 15:04") }
	xiaomei, err := a.resolve(scrm.Identity{Kind: scrm.IdentityWeComExternal, Value: "wmEXT_5b07"})
	if err != nil {
		return err
	}
	if err := a.publish(xiaomei, scrm.EventAttrsSet, a.clock.Now(), "", map[string]any{"attrs": map[string]any{"name": "小美"}}); err != nil {
		return err
	}
	if err := a.publish(xiaomei, scrm.EventCustomerAdded, a.clock.Now(), "",
		map[string]any{"channel_code": "qr-zhang", "store": deskStore, "campaign": "双12预热"}); err != nil {
		return err
	}
	owner, err := a.team.Ownership(ctx, tenant, xiaomei)
	if err != nil {
		return err
	}
	a.printf("%s  %s (小美) scans 小张's channel code qr-zhang: owner %s (%s)\n", at(), xiaomei, owner.To, owner.Reason)
	// 李雷 (C001), a repeat buyer who came in before staff codes existed, is
	// assigned to 小张 by hand.
	if _, err := a.team.Assign(ctx, scrm.AssignRequest{Tenant: tenant, Customer: "C001", Staff: "xiaozhang"}); err != nil {
		return err
	}
	a.printf("%s  C001 (李雷) is assigned to xiaozhang by the store manager\n", at())

	seen := len(a.channel.Messages())
	for _, c := range []scrm.CustomerID{xiaomei, "C001"} {
		if err := a.publish(c, scrm.EventGroupJoined, a.clock.Now(), "", map[string]any{"group": deskGroup}); err != nil {
			return err
		}
	}
	size, err := a.groups.Size(ctx, tenant, deskGroup)
	if err != nil {
		return err
	}
	a.printf("%s  %s and C001 join 静安店福利群: size %d\n", at(), xiaomei, size)
	for range 4 { // two hours in 30-minute steps
		a.clock.Advance(30 * time.Minute)
		if err := a.runDue(ctx); err != nil {
			return err
		}
	}
	for _, m := range a.channel.Messages()[seen:] {
		if m.Body != "" {
			a.printf("  → %s %s: %q\n", m.Customer, m.Template, m.Body)
		} else {
			a.printf("  → %s %s (channel-side template)\n", m.Customer, m.Template)
		}
	}
	if err := a.printTasks("xiaozhang"); err != nil {
		return err
	}

	rate, err := a.groups.JoinRate(ctx, scrm.JoinRateRequest{Tenant: tenant, By: scrm.JoinRateByStore, From: a.clock.Now().Add(-day)})
	if err != nil {
		return err
	}
	for _, r := range rate.Rows {
		if r.Key != "" {
			a.printf("join rate (加群率) of store %s: %d added, %d joined a group within 7 days (%s%%)\n",
				r.Key, r.Added, r.Joined, r.Rate.Shift(2).StringFixed(1))
		}
	}

	a.clock.Advance(3 * time.Hour)
	res, err := a.team.Deactivate(ctx, scrm.DeactivateRequest{Tenant: tenant, Staff: "xiaozhang", To: "xiaoli", IdempotencyKey: "leave-xiaozhang"})
	if err != nil {
		return err
	}
	a.printf("%s  小张 leaves (离职继承): %d customers move to xiaoli\n", at(), len(res.Changes))
	if err := a.printTasks("xiaozhang"); err != nil {
		return err
	}
	if err := a.printTasks("xiaoli"); err != nil {
		return err
	}
	hist, err := a.team.History(ctx, tenant, xiaomei)
	if err != nil {
		return err
	}
	a.printf("ownership history of %s:", xiaomei)
	for _, h := range hist {
		from := h.From
		if from == "" {
			from = "-"
		}
		a.printf(" [%s %s → %s (%s)]", a.local(h.At, "01-02 15:04"), from, h.To, h.Reason)
	}
	a.printf("\n")
	return nil
}

// printTasks prints a staff member's open tasks.
func (a *app) printTasks(staff string) error {
	tasks, err := a.touches.Tasks(a.ctx, tenant, staff, sop.TaskOpen)
	if err != nil {
		return err
	}
	a.printf("open tasks of %s:", staff)
	if len(tasks) == 0 {
		a.printf(" none")
	}
	for _, t := range tasks {
		a.printf(" [%s for %s, due %s]", t.Template, t.Customer, a.local(t.DueBy, "01-02 15:04"))
	}
	a.printf("\n")
	return nil
}
