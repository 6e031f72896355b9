package sop_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/sop"
)

// A content template with a VIP variant (千人千面): the playbook's message
// names the template, the Service renders it for each customer from their
// attributes and the step's Vars, and the channel gets the text in
// Message.Body. A customer without the Name the template requires gets
// nothing: the job fails with the reason.
func ExampleService_PutTemplate() {
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, scrm.DefaultLocation()))
	rec := scrmtest.NewRecorder()
	profiles := scrm.NewMemoryProfileStore()
	svc := sop.New(nil, profiles, &sop.Options{Options: scrm.Options{Clock: clock}, Channel: rec})

	_, err := svc.PutTemplate(ctx, sop.Template{
		Tenant: "shop", ID: "coupon-remind", Channel: scrm.ChannelWeCom,
		Body: "{{.Name}}，您的{{yuan .CouponAmount}}元券明天到期",
		Variants: []sop.TemplateVariant{
			{When: rule.HasTag("VIP"), Body: "尊敬的{{.Name}}会员，您的{{yuan .CouponAmount}}元专享券明天到期"},
		},
		Required: []string{"Name", "CouponAmount"},
	})
	if err != nil {
		panic(err)
	}
	_, err = svc.PutPlaybook(ctx, sop.Playbook{Tenant: "shop", ID: "remind", Steps: []sop.Step{{
		ID: "msg", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "coupon-remind",
			Vars: map[string]string{"CouponAmount": "20"}},
	}}})
	if err != nil {
		panic(err)
	}
	// Profiles: the host's attributes, and the tags the tagging service set.
	set := func(c scrm.CustomerID, name string, tags ...string) {
		_, _, err := scrm.UpdateProfile(ctx, profiles, "shop", c, "", func(p *scrm.Profile) error {
			if name != "" {
				p.SetAttr("Name", name)
			}
			for _, t := range tags {
				p.SetTag(t, scrm.TagMark{At: clock.Now()})
			}
			return nil
		})
		if err != nil {
			panic(err)
		}
	}
	set("amy", "王芳")
	set("bob", "李雷", "VIP")
	set("cat", "")
	for _, c := range []scrm.CustomerID{"amy", "bob", "cat"} {
		if _, err := svc.Enroll(ctx, sop.EnrollRequest{Tenant: "shop", Playbook: "remind", Customer: c}); err != nil {
			panic(err)
		}
	}
	res, err := svc.RunDue(ctx, sop.RunRequest{Worker: "example"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("sent %d, failed %d\n", res.Sent, res.Failed)
	for _, m := range rec.Messages() {
		fmt.Printf("%s: %s\n", m.Customer, m.Body)
	}
	jobs, _ := svc.Jobs(ctx, "shop", "cat")
	fmt.Printf("cat: %s: %s\n", jobs[0].State, jobs[0].Reason)
	// Output:
	// sent 2, failed 1
	// amy: 王芳，您的20.00元券明天到期
	// bob: 尊敬的李雷会员，您的20.00元专享券明天到期
	// cat: failed: sop template "coupon-remind": Vars.Name: missing: in neither the action's Vars nor the customer's attributes (Body reads it)
}

// Render previews a template for a sample customer, with its length in SMS
// segments.
func ExampleService_Render() {
	ctx := context.Background()
	svc := sop.New(nil, scrm.NewMemoryProfileStore(), nil)
	_, err := svc.PutTemplate(ctx, sop.Template{
		Tenant: "shop", ID: "sms-birthday", Channel: scrm.ChannelSMS,
		Body:     `【小店】{{default "亲爱的顾客" .Name}}，生日快乐！{{yuan .Amount}}元生日券已到账，回T退订`,
		Required: []string{"Amount"}, Optional: []string{"Name"},
	})
	if err != nil {
		panic(err)
	}
	sample := scrm.NewProfile("shop", "sample")
	sample.SetAttr("Name", "王芳")
	for _, p := range []*scrm.Profile{sample, scrm.NewProfile("shop", "anonymous")} {
		r, err := svc.Render(ctx, sop.RenderRequest{Tenant: "shop", Template: "sms-birthday", Profile: p,
			Vars: map[string]string{"Amount": "30"}})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s (%d characters, %d segment)\n", r.Body, r.Runes, r.Segments)
	}
	// Output:
	// 【小店】王芳，生日快乐！30.00元生日券已到账，回T退订 (29 characters, 1 segment)
	// 【小店】亲爱的顾客，生日快乐！30.00元生日券已到账，回T退订 (32 characters, 1 segment)
}
