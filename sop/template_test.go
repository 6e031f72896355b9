package sop_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/sop"
)

// setProfile sets attributes and tags on a stored profile.
func (e *env) setProfile(customer scrm.CustomerID, attrs map[string]any, tags ...string) {
	e.t.Helper()
	_, _, err := scrm.UpdateProfile(e.ctx, e.profiles, "t1", customer, "", func(p *scrm.Profile) error {
		for k, v := range attrs {
			p.SetAttr(k, v)
		}
		for _, tg := range tags {
			p.SetTag(tg, scrm.TagMark{At: e.clock.Now(), Source: "test"})
		}
		return nil
	})
	require.NoError(e.t, err)
}

func (e *env) putTemplate(t sop.Template) sop.Template {
	e.t.Helper()
	if t.Tenant == "" {
		t.Tenant = "t1"
	}
	out, err := e.svc.PutTemplate(e.ctx, t)
	require.NoError(e.t, err)
	return out
}

// couponTemplate is a WeCom template with a VIP variant and a 高价值
// segment variant.
func couponTemplate() sop.Template {
	return sop.Template{
		ID: "coupon-remind", Name: "券到期提醒", Channel: scrm.ChannelWeCom,
		Body: "{{.Name}}，您的{{yuan .CouponAmount}}元券明天到期",
		Variants: []sop.TemplateVariant{
			{When: rule.HasTag("VIP"), Body: "尊敬的{{.Name}}会员，您的{{yuan .CouponAmount}}元专享券明天到期，{{.Staff}}为您保留"},
			{When: rule.InSegment("高价值"), Body: "{{.Name}}，{{yuan .CouponAmount}}元券明天到期，别错过"},
		},
		Required: []string{"Name", "CouponAmount"},
	}
}

func TestRenderExactText(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	e.putTemplate(couponTemplate())
	e.putTemplate(sop.Template{ID: "hello", Channel: scrm.ChannelSMS,
		Body:     `{{default "亲" .Nick}}，{{if .City}}{{.City}}店{{else}}门店{{end}}欢迎您{{with .Points}}，积分{{.}}{{end}}`,
		Optional: []string{"Nick", "City", "Points"}})

	e.setProfile("plain", map[string]any{"Name": "王芳"})
	e.setProfile("vip", map[string]any{"Name": "李雷"}, "VIP")
	e.setProfile("both", map[string]any{"Name": "韩梅"}, "VIP")
	e.setProfile("seg", map[string]any{"Name": "张伟", "CouponAmount": scrm.Yuan("5")}) // a decimal attribute
	_, _, err := scrm.UpdateProfile(e.ctx, e.profiles, "t1", "both", "", func(p *scrm.Profile) error {
		p.SetSegment("高价值", true)
		return nil
	})
	require.NoError(t, err)
	_, _, err = scrm.UpdateProfile(e.ctx, e.profiles, "t1", "seg", "", func(p *scrm.Profile) error {
		p.SetSegment("高价值", true)
		return nil
	})
	require.NoError(t, err)
	e.setProfile("nick", map[string]any{"Nick": "小王", "City": "上海", "Points": int64(120)})

	vars := map[string]string{"CouponAmount": "10"}
	for _, tc := range []struct {
		name     string
		req      sop.RenderRequest
		body     string
		variant  int
		segments int
	}{
		{"default body", sop.RenderRequest{Template: "coupon-remind", Customer: "plain", Vars: vars},
			"王芳，您的10.00元券明天到期", 0, 1},
		{"VIP variant", sop.RenderRequest{Template: "coupon-remind", Customer: "vip", Vars: vars, Staff: "店长小李"},
			"尊敬的李雷会员，您的10.00元专享券明天到期，店长小李为您保留", 1, 1},
		{"first matching variant wins", sop.RenderRequest{Template: "coupon-remind", Customer: "both", Vars: vars, Staff: "店长小李"},
			"尊敬的韩梅会员，您的10.00元专享券明天到期，店长小李为您保留", 1, 1},
		{"segment variant, attribute amount", sop.RenderRequest{Template: "coupon-remind", Customer: "seg"},
			"张伟，5.00元券明天到期，别错过", 2, 1},
		{"action Vars win over attributes", sop.RenderRequest{Template: "coupon-remind", Customer: "seg", Vars: map[string]string{"CouponAmount": "8.5", "Name": "张先生"}},
			"张先生，8.50元券明天到期，别错过", 2, 1},
		{"optional variables missing", sop.RenderRequest{Template: "hello", Customer: "nobody"},
			"亲，门店欢迎您", 0, 1},
		{"optional variables present", sop.RenderRequest{Template: "hello", Customer: "nick"},
			"小王，上海店欢迎您，积分120", 0, 1},
		{"sample profile", sop.RenderRequest{Template: "coupon-remind", Profile: sampleVIP(), Vars: vars, Staff: "s1"},
			"尊敬的样例会员，您的10.00元专享券明天到期，s1为您保留", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Tenant = "t1"
			r, err := e.svc.Render(e.ctx, tc.req)
			require.NoError(t, err)
			assert.Equal(t, tc.body, r.Body)
			assert.Equal(t, tc.variant, r.Variant)
			assert.Equal(t, int64(1), r.Version)
			assert.Equal(t, len([]rune(tc.body)), r.Runes)
			assert.Equal(t, len(tc.body), r.Bytes)
			assert.Equal(t, tc.segments, r.Segments)
		})
	}
}

func sampleVIP() *scrm.Profile {
	p := scrm.NewProfile("t1", "sample")
	p.SetAttr("Name", "样例")
	p.SetTag("VIP", scrm.TagMark{At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	return p
}

func TestRenderFailures(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0), func(o *sop.Options) {
		o.ContentLimits = map[string]sop.ContentLimit{scrm.ChannelSMS: {Segments: 1}}
	})
	e.putTemplate(couponTemplate())
	e.putTemplate(sop.Template{ID: "sms", Channel: scrm.ChannelSMS, Body: "【小店】{{.Text}}", Required: []string{"Text"}})
	e.putTemplate(sop.Template{ID: "opt", Channel: scrm.ChannelSMS, Body: "{{.Nick}}", Optional: []string{"Nick"}})
	e.setProfile("c1", map[string]any{"Name": "王芳"})
	e.setProfile("blank", map[string]any{"Name": "  "})

	for _, tc := range []struct {
		name  string
		req   sop.RenderRequest
		field string
		msg   string
	}{
		{"missing variable", sop.RenderRequest{Template: "coupon-remind", Customer: "c1"}, "Vars.CouponAmount", "missing"},
		{"missing attribute", sop.RenderRequest{Template: "coupon-remind", Customer: "nobody", Vars: map[string]string{"CouponAmount": "10"}}, "Vars.Name", "missing"},
		{"blank attribute", sop.RenderRequest{Template: "coupon-remind", Customer: "blank", Vars: map[string]string{"CouponAmount": "10"}}, "Vars.Name", "blank"},
		{"blank var", sop.RenderRequest{Template: "coupon-remind", Customer: "c1", Vars: map[string]string{"CouponAmount": ""}}, "Vars.CouponAmount", "blank"},
		{"exec error", sop.RenderRequest{Template: "coupon-remind", Customer: "c1", Vars: map[string]string{"CouponAmount": "ten"}}, "Body", "not an amount"},
		{"over the SMS limit", sop.RenderRequest{Template: "sms", Vars: map[string]string{"Text": strings.Repeat("字", 67)}}, "Body", "71 characters: 2 SMS segments, more than 1"},
		{"blank text", sop.RenderRequest{Template: "opt"}, "Body", "renders as blank text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Tenant = "t1"
			_, err := e.svc.Render(e.ctx, tc.req)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			assert.Equal(t, tc.field, fieldOf(t, err))
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	r, err := e.svc.Render(e.ctx, sop.RenderRequest{Tenant: "t1", Template: "sms", Vars: map[string]string{"Text": strings.Repeat("字", 66)}})
	require.NoError(t, err)
	assert.Equal(t, 70, r.Runes, "70 characters: one segment")
	assert.Equal(t, 1, r.Segments)
	assert.Equal(t, "template sms v1 variant 0: 70 characters, 210 bytes, 1 SMS segments", r.String(), "no text in logs")

	_, err = e.svc.Render(e.ctx, sop.RenderRequest{Tenant: "t1", Template: "nope"})
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = e.svc.Render(e.ctx, sop.RenderRequest{Tenant: "t1"})
	assert.Equal(t, "Template", fieldOf(t, err))
}

func TestSMSSegments(t *testing.T) {
	for _, tc := range []struct {
		runes, want int
	}{{0, 0}, {1, 1}, {70, 1}, {71, 2}, {134, 2}, {135, 3}, {201, 3}, {202, 4}} {
		assert.Equal(t, tc.want, sop.SMSSegments(strings.Repeat("券", tc.runes)), "%d Chinese characters", tc.runes)
		assert.Equal(t, tc.want, sop.SMSSegments(strings.Repeat("a", tc.runes)), "%d ASCII characters", tc.runes)
	}
}

func TestTemplateBadInput(t *testing.T) {
	good := couponTemplate
	for _, tc := range []struct {
		name  string
		edit  func(*sop.Template)
		field string
	}{
		{"no tenant", func(t *sop.Template) { t.Tenant = "" }, "Tenant"},
		{"no ID", func(t *sop.Template) { t.ID = "" }, "ID"},
		{"negative version", func(t *sop.Template) { t.Version = -1 }, "Version"},
		{"no channel", func(t *sop.Template) { t.Channel = "" }, "Channel"},
		{"unknown channel", func(t *sop.Template) { t.Channel = "fax" }, "Channel"},
		{"empty body", func(t *sop.Template) { t.Body = " \n" }, "Body"},
		{"parse error", func(t *sop.Template) { t.Body = "{{.Name" }, "Body"},
		{"unknown function", func(t *sop.Template) { t.Body = "{{upper .Name}}" }, "Body"},
		{"undeclared variable", func(t *sop.Template) { t.Body = "{{.Nmae}} {{.CouponAmount}}" }, "Body"},
		{"undeclared via $", func(t *sop.Template) { t.Variants[0].Body = "{{with .Name}}{{$.Coupon}}{{end}}" }, "Variants[0].Body"},
		{"whole data", func(t *sop.Template) { t.Body = "{{.}} {{.Name}} {{.CouponAmount}}" }, "Body"},
		{"whole data via $", func(t *sop.Template) { t.Variants[1].Body = "{{range $k, $v := $}}{{$k}}{{end}}" }, "Variants[1].Body"},
		{"nested template", func(t *sop.Template) { t.Body = `{{define "x"}}hi{{end}}{{.Name}}{{.CouponAmount}}` }, "Body"},
		{"template call", func(t *sop.Template) { t.Body = `{{template "x" .}}{{.Name}}{{.CouponAmount}}` }, "Body"},
		{"variant without When", func(t *sop.Template) { t.Variants[1].When = rule.Condition{} }, "Variants[1].When"},
		{"variant with a bad When", func(t *sop.Template) {
			t.Variants[1].When = rule.All(rule.HasTag("x"), rule.Event(scrm.EventOrderPaid).Count(rule.Cmp{}))
		}, "Variants[1].When.all[1].count"},
		{"variant without body", func(t *sop.Template) { t.Variants[0].Body = "" }, "Variants[0].Body"},
		{"too many variants", func(t *sop.Template) {
			for range sop.MaxTemplateVariants {
				t.Variants = append(t.Variants, sop.TemplateVariant{When: rule.HasTag("x"), Body: "x"})
			}
		}, "Variants"},
		{"required is not a name", func(t *sop.Template) { t.Required = append(t.Required, "coupon-amount") }, "Required[2]"},
		{"required twice", func(t *sop.Template) { t.Required = append(t.Required, "Name") }, "Required[2]"},
		{"optional and required", func(t *sop.Template) { t.Optional = []string{"Name"} }, "Optional[0]"},
		{"required and read by no body", func(t *sop.Template) { t.Required = append(t.Required, "Unused") }, "Required[2]"},
		{"body too long", func(t *sop.Template) { t.Body = strings.Repeat("x", sop.MaxTemplateBody+1) }, "Body"},
		{"invalid UTF-8", func(t *sop.Template) { t.Body = "\xff{{.Name}}{{.CouponAmount}}" }, "Body"},
		{"WeCom text over 4000 bytes", func(t *sop.Template) {
			t.Variants[1].Body = strings.Repeat("字", 1334) + "{{.Name}}"
		}, "Variants[1].Body"},
		{"SMS fixed text over 3 segments", func(t *sop.Template) {
			t.Channel = scrm.ChannelSMS
			t.Body = "{{.Name}}" + strings.Repeat("字", 202) + "{{.CouponAmount}}"
		}, "Body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, at(2026, 3, 2, 10, 0))
			tp := good()
			tp.Tenant = "t1"
			tc.edit(&tp)
			_, err := e.svc.PutTemplate(e.ctx, tp)
			require.ErrorIs(t, err, scrm.ErrInvalid)
			assert.Equal(t, tc.field, fieldOf(t, err), "%v", err)
			all, err := e.store.ListTemplates(e.ctx, "t1")
			require.NoError(t, err)
			assert.Empty(t, all, "nothing written")
		})
	}
	// At the limit is fine: 201 fixed characters are 3 segments.
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	e.putTemplate(sop.Template{ID: "sms", Channel: scrm.ChannelSMS, Body: strings.Repeat("字", 201)})
	e.putTemplate(sop.Template{ID: "wecom", Channel: scrm.ChannelWeCom, Body: strings.Repeat("字", 1333) + "a"})
}

func TestTemplateVersions(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	v1 := e.putTemplate(couponTemplate())
	assert.Equal(t, int64(1), v1.Version)
	assert.True(t, v1.UpdatedAt.Equal(e.clock.Now()))
	dup := couponTemplate()
	dup.Tenant = "t1"
	_, err := e.svc.PutTemplate(e.ctx, dup)
	assert.ErrorIs(t, err, scrm.ErrConflict, "Version 0 creates; one exists")

	e.setProfile("c1", map[string]any{"Name": "王芳"})
	req := sop.RenderRequest{Tenant: "t1", Template: "coupon-remind", Customer: "c1", Vars: map[string]string{"CouponAmount": "10"}}
	r, err := e.svc.Render(e.ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "王芳，您的10.00元券明天到期", r.Body)

	v1.Body = "{{.Name}}：{{yuan .CouponAmount}}元券明天到期"
	v2 := e.putTemplate(v1)
	assert.Equal(t, int64(2), v2.Version)
	r, err = e.svc.Render(e.ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "王芳：10.00元券明天到期", r.Body, "the latest version renders")
	assert.Equal(t, int64(2), r.Version)
	_, err = e.svc.PutTemplate(e.ctx, v1)
	assert.ErrorIs(t, err, scrm.ErrConflict, "stale version")

	got, err := e.svc.Template(e.ctx, "t1", "coupon-remind")
	require.NoError(t, err)
	assert.Equal(t, v2.Body, got.Body)
	list, err := e.svc.Templates(e.ctx, "t1")
	require.NoError(t, err)
	require.Len(t, list, 1)
	_, err = e.svc.Template(e.ctx, "t1", "nope")
	assert.ErrorIs(t, err, scrm.ErrNotFound)
}

func TestPlaybookMessagesRenderTemplates(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	e := newEnv(t, start)
	e.putTemplate(couponTemplate())
	e.put(sop.Playbook{ID: "remind", Trigger: sop.Trigger{Event: "coupon.expiring"}, Steps: []sop.Step{
		{ID: "wecom", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "coupon-remind",
			Staff: "店长小李", Vars: map[string]string{"CouponAmount": "20"}}},
		{ID: "legacy", After: time.Hour, Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeChatTemplate,
			Template: "TMPL_7x9", Vars: map[string]string{"amount": "20"}}},
	}})
	e.setProfile("amy", map[string]any{"Name": "王芳"})
	e.setProfile("bob", map[string]any{"Name": "李雷"}, "VIP")
	for _, c := range []scrm.CustomerID{"amy", "bob", "cat"} { // cat has no Name
		e.publish(c, "coupon.expiring", nil)
	}
	r := e.runUntil(start.Add(2*time.Hour), 30*time.Minute)
	assert.Equal(t, 5, r.Sent)
	assert.Equal(t, 1, r.Failed)

	body := func(c scrm.CustomerID, step string) (scrm.Message, bool) {
		for _, m := range e.rec.For(c) {
			if m.ID == sop.JobID("t1", "remind", c, 1, step) {
				return m, true
			}
		}
		return scrm.Message{}, false
	}
	m, ok := body("amy", "wecom")
	require.True(t, ok)
	assert.Equal(t, "王芳，您的20.00元券明天到期", m.Body)
	assert.Equal(t, "coupon-remind", m.Template)
	assert.Equal(t, "20", m.Vars["CouponAmount"])
	m, ok = body("bob", "wecom")
	require.True(t, ok)
	assert.Equal(t, "尊敬的李雷会员，您的20.00元专享券明天到期，店长小李为您保留", m.Body)

	_, ok = body("cat", "wecom")
	assert.False(t, ok, "never sent half-filled")
	jobs, err := e.svc.Jobs(e.ctx, "t1", "cat")
	require.NoError(t, err)
	require.Len(t, jobs, 2)
	assert.Equal(t, sop.JobFailed, jobs[0].State)
	assert.Equal(t, `sop template "coupon-remind": Vars.Name: missing: in neither the action's Vars nor the customer's attributes (Body reads it)`, jobs[0].Reason)

	// A name that is not a content template passes through to the channel.
	m, ok = body("cat", "legacy")
	require.True(t, ok)
	assert.Equal(t, "TMPL_7x9", m.Template)
	assert.Empty(t, m.Body, "the channel renders its own template")
	assert.Equal(t, map[string]string{"amount": "20"}, m.Vars)

	st := stepStats(t, e, "remind")
	assert.Equal(t, int64(2), st["wecom"].Sent)
	assert.Equal(t, int64(1), st["wecom"].Failed)
	assert.Equal(t, int64(3), st["legacy"].Sent)
}

func TestTemplateRenderedAtRunTime(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	e := newEnv(t, start)
	// The playbook first, the template later: the link is by name, looked
	// up when the job runs.
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "s", After: time.Hour, Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelSMS, Template: "t-sms"}},
	}})
	_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	e.setProfile("c1", map[string]any{"Name": "王芳"}, "VIP")
	e.putTemplate(sop.Template{ID: "t-sms", Channel: scrm.ChannelSMS, Body: "【小店】{{.Name}}，春季上新",
		Variants: []sop.TemplateVariant{{When: rule.HasTag("VIP"), Body: "【小店】{{.Name}}，VIP专场今晚开启"}}, Required: []string{"Name"}})
	e.runUntil(start.Add(time.Hour), time.Hour)
	msgs := e.rec.For("c1")
	require.Len(t, msgs, 1)
	assert.Equal(t, "【小店】王芳，VIP专场今晚开启", msgs[0].Body)
}

func TestTemplateChannelMustMatch(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	e.putTemplate(couponTemplate()) // WeCom
	_, err := e.svc.PutPlaybook(e.ctx, sop.Playbook{Tenant: "t1", ID: "p", Steps: []sop.Step{
		{ID: "s", Variants: []sop.Variant{
			{Weight: 1, Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "coupon-remind"}},
			{Weight: 1, Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelSMS, Template: "coupon-remind"}},
		}},
	}})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Steps[0].Variants[1].Action.Channel", fieldOf(t, err))
	_, err = e.svc.Playbook(e.ctx, "t1", "p")
	assert.ErrorIs(t, err, scrm.ErrNotFound, "nothing written")

	e.put(sop.Playbook{ID: "q", Steps: []sop.Step{
		{ID: "s", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelSMS, Template: "later"}},
	}})
	_, err = e.svc.PutTemplate(e.ctx, sop.Template{Tenant: "t1", ID: "later", Channel: scrm.ChannelWeCom, Body: "hi"})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Channel", fieldOf(t, err))
	assert.Contains(t, err.Error(), `playbook "q" step "s" sends this template on sms`)

	_, err = e.svc.PutCalendar(e.ctx, sop.Calendar{Tenant: "t1", ID: "cal", Entries: []sop.Entry{
		{Weekday: time.Monday, At: "10:00", Groups: []string{"g"}, Channel: scrm.ChannelWeComGroup, Template: "coupon-remind"},
	}})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Equal(t, "Entries[0].Channel", fieldOf(t, err))
}

func TestTemplateStoredUnderOtherLimitsFailsJobs(t *testing.T) {
	start := at(2026, 3, 2, 10, 0)
	e := newEnv(t, start, func(o *sop.Options) {
		o.ContentLimits = map[string]sop.ContentLimit{scrm.ChannelSMS: {Segments: 5}}
	})
	e.putTemplate(sop.Template{ID: "long", Channel: scrm.ChannelSMS, Body: strings.Repeat("字", 250)})
	// A second Service over the same store with the default limit (3
	// segments) cannot load it: its jobs fail rather than send "long" as a
	// channel-side template name.
	strict := sop.New(e.store, e.profiles, &sop.Options{Options: scrm.Options{Clock: e.clock}, Channel: e.rec})
	_, err := strict.PutPlaybook(e.ctx, sop.Playbook{Tenant: "t1", ID: "p", Steps: []sop.Step{
		{ID: "s", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelSMS, Template: "long"}},
	}})
	require.NoError(t, err)
	_, err = strict.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	res, err := strict.RunDue(e.ctx, sop.RunRequest{Worker: "w"})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Failed)
	assert.Empty(t, e.rec.Messages())
	jobs, err := strict.Jobs(e.ctx, "t1", "c1")
	require.NoError(t, err)
	assert.Contains(t, jobs[0].Reason, "250 characters: 4 SMS segments, more than 3")
	_, err = strict.Render(e.ctx, sop.RenderRequest{Tenant: "t1", Template: "long"})
	assert.ErrorIs(t, err, scrm.ErrInvalid)
}

func TestTaskAndPostTemplates(t *testing.T) {
	start := at(2026, 3, 2, 9, 0) // a Monday
	e := newEnv(t, start)
	e.putTemplate(sop.Template{ID: "script", Channel: scrm.ChannelWeCom,
		Body: "{{.Name}}您好，我是{{.Staff}}，上次的{{.Product}}用得怎么样？", Required: []string{"Name", "Product"}})
	e.putTemplate(sop.Template{ID: "group-post", Channel: scrm.ChannelWeComGroup,
		Body: "本周{{.Theme}}：{{.Staff}}在群里等你", Required: []string{"Theme"}})
	e.put(sop.Playbook{ID: "care", Steps: []sop.Step{
		{ID: "call", Action: sop.Action{Kind: sop.Task, Staff: "小李", Template: "script", Vars: map[string]string{"Product": "面霜"}}},
	}})
	e.setProfile("c1", map[string]any{"Name": "王芳"})
	for _, c := range []scrm.CustomerID{"c1", "c2"} {
		_, err := e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "care", Customer: c})
		require.NoError(t, err)
	}
	_, err := e.svc.PutCalendar(e.ctx, sop.Calendar{Tenant: "t1", ID: "weekly", Entries: []sop.Entry{
		{Weekday: time.Monday, At: "10:00", Groups: []string{"g1"}, Channel: scrm.ChannelWeComGroup, Template: "group-post",
			Staff: "小李", Vars: map[string]string{"Theme": "会员日"}},
	}})
	require.NoError(t, err)
	e.runUntil(start.Add(time.Hour), time.Hour)

	tasks, err := e.svc.Tasks(e.ctx, "t1", "小李", "")
	require.NoError(t, err)
	require.Len(t, tasks, 1, "c2 has no Name: no half-filled script")
	assert.Equal(t, "王芳您好，我是小李，上次的面霜用得怎么样？", tasks[0].Body)
	jobs, err := e.svc.Jobs(e.ctx, "t1", "c2")
	require.NoError(t, err)
	assert.Equal(t, sop.JobFailed, jobs[0].State)
	assert.Contains(t, jobs[0].Reason, "Vars.Name: missing")

	msgs := e.rec.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "g1", msgs[0].Group)
	assert.Equal(t, "本周会员日：小李在群里等你", msgs[0].Body)
}

func TestRenderIsSafeForConcurrentUse(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	e.putTemplate(couponTemplate())
	p := sampleVIP()
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			for range 200 {
				r, err := e.svc.Render(context.Background(), sop.RenderRequest{Tenant: "t1", Template: "coupon-remind",
					Profile: p, Vars: map[string]string{"CouponAmount": "3"}, Staff: "s"})
				if err == nil && r.Body != "尊敬的样例会员，您的3.00元专享券明天到期，s为您保留" {
					err = errors.New("wrong body " + r.Body)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 16 {
		assert.NoError(t, <-errs)
	}
}

// A nil amount on the profile holds no value: a Required variable reading
// it is missing, so the task is not created and the message not sent.
func TestRequiredNilAttributeFailsTheJob(t *testing.T) {
	e := newEnv(t, at(2026, 3, 2, 10, 0))
	e.putTemplate(sop.Template{ID: "balance", Channel: scrm.ChannelWeCom,
		Body: "{{.Name}}，您的余额还有{{yuan .Balance}}元", Required: []string{"Name", "Balance"}})
	e.put(sop.Playbook{ID: "p", Steps: []sop.Step{
		{ID: "call", Action: sop.Action{Kind: sop.Task, Staff: "小李", Template: "balance"}},
		{ID: "msg", Action: sop.Action{Kind: sop.Message, Channel: scrm.ChannelWeCom, Template: "balance"}},
	}})
	e.setProfile("c1", map[string]any{"Name": "王芳", "Balance": (*decimal.Decimal)(nil)})
	_, err := e.svc.Render(e.ctx, sop.RenderRequest{Tenant: "t1", Template: "balance", Customer: "c1"})
	require.ErrorIs(t, err, scrm.ErrInvalid)
	assert.Contains(t, err.Error(), "Vars.Balance: missing")

	_, err = e.svc.Enroll(e.ctx, sop.EnrollRequest{Tenant: "t1", Playbook: "p", Customer: "c1"})
	require.NoError(t, err)
	r := e.run()
	assert.Equal(t, 2, r.Failed)
	assert.Empty(t, e.rec.Messages(), "never sent half-filled")
	tasks, err := e.svc.Tasks(e.ctx, "t1", "小李", "")
	require.NoError(t, err)
	assert.Empty(t, tasks)
	jobs, err := e.svc.Jobs(e.ctx, "t1", "c1")
	require.NoError(t, err)
	require.Len(t, jobs, 2)
	for _, j := range jobs {
		assert.Equal(t, sop.JobFailed, j.State)
		assert.Contains(t, j.Reason, "Vars.Balance: missing")
	}
}
