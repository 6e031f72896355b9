package main

import (
	"context"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/sop"
)

// defineTouches sets up the delivery policy and two SOP playbooks.
func (a *app) defineTouches() error {
	ctx := a.ctx
	// No touches between 22:00 and 08:00, and none at all to customers who
	// said they don't want them.
	if _, err := a.touches.SetPolicy(ctx, tenant, sop.Policy{
		QuietHours:   &sop.Window{Start: "22:00", End: "08:00"},
		SuppressTags: []string{"拒绝营销"},
	}); err != nil {
		return err
	}
	justAdded := rule.Event(scrm.EventCustomerAdded).Within(day).Happened()
	if _, err := a.touches.PutPlaybook(ctx, sop.Playbook{
		Tenant: tenant, ID: "welcome", Name: "加好友欢迎 (welcome)",
		Trigger: sop.Trigger{Event: scrm.EventCustomerAdded, When: &justAdded},
		Steps: []sop.Step{
			{ID: "hello", After: 5 * time.Minute, Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "欢迎语+新人券"}},
		},
	}); err != nil {
		return err
	}
	bought := rule.Event(scrm.EventOrderPaid).Happened()
	step := func(id string, n int, template string) sop.Step {
		return sop.Step{ID: id, Day: n, At: "10:00", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: template}}
	}
	_, err := a.touches.PutPlaybook(ctx, sop.Playbook{
		Tenant: tenant, ID: "new-lead", Name: "新客培育 (new lead nurture)",
		Trigger: sop.Trigger{Tag: "新客"},
		Steps: []sop.Step{
			step("day1", 1, "品牌故事"), step("day3", 3, "爆品推荐"),
			step("day8", 8, "限时优惠"), step("day15", 15, "社群邀请"),
		},
		Exit: &bought,
	})
	return err
}

// showTouches is part 4: a new customer adds the store manager late at
// night, is tagged 新客 by the rule of part 2, and the SOPs take it from
// there until she buys. The simulated clock runs 16 days in 30-minute steps,
// running due touches at each.
func (a *app) showTouches() error {
	a.printf("\n== 4. touches (SOP)\n")
	sent := a.channel
	a.clock.Set(time.Date(2026, 11, 2, 22, 10, 0, 0, a.loc))
	xiaozhang, err := a.resolve(scrm.Identity{Kind: scrm.IdentityWeComExternal, Value: "wmEXT_9c21"})
	if err != nil {
		return err
	}
	a.printf("%s  %s added the store manager on WeCom\n", a.local(a.clock.Now(), "Mon 01-02 15:04"), xiaozhang)
	if err := a.publish(xiaozhang, scrm.EventCustomerAdded, a.clock.Now(), "", nil); err != nil {
		return err
	}
	a.clock.Set(time.Date(2026, 11, 2, 22, 30, 0, 0, a.loc))
	seen := 0
	boughtAt := time.Date(2026, 11, 7, 12, 30, 0, 0, a.loc)
	end := time.Date(2026, 11, 19, 0, 0, 0, 0, a.loc)
	for ; a.clock.Now().Before(end); a.clock.Advance(30 * time.Minute) {
		if now := a.clock.Now(); now.Equal(boughtAt) {
			a.printf("%s  %s pays ¥36.00 for her first order\n", a.local(now, "Mon 01-02 15:04"), xiaozhang)
			if err := a.publish(xiaozhang, scrm.EventOrderPaid, now, "36.00", nil); err != nil {
				return err
			}
		}
		if err := a.runDue(a.ctx); err != nil {
			return err
		}
		msgs := sent.Messages()
		for _, m := range msgs[seen:] {
			a.printf("%s  → %s %s via %s\n", a.local(a.clock.Now(), "Mon 01-02 15:04"), m.Customer, m.Template, m.Channel)
		}
		seen = len(msgs)
	}
	for _, pb := range []string{"welcome", "new-lead"} {
		st, err := a.touches.Stats(a.ctx, tenant, pb)
		if err != nil {
			return err
		}
		for _, s := range st.Steps {
			a.printf("stats %s/%s: enrolled %d, sent %d, deferred %d, skipped %d, cancelled %d, converted %d\n",
				pb, s.Step, s.Enrolled, s.Sent, s.Deferred, s.Skipped, s.Cancelled, s.Converted)
		}
	}
	return nil
}

// runDue runs every touch that is due now.
func (a *app) runDue(ctx context.Context) error {
	for {
		r, err := a.touches.RunDue(ctx, sop.RunRequest{Worker: "quickstart"})
		if err != nil {
			return err
		}
		if r.Claimed == 0 {
			return nil
		}
	}
}
