package sop_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/sop"
)

func configService(t *testing.T) *sop.Service {
	t.Helper()
	clk := scrmtest.NewClock(time.Date(2026, 3, 10, 12, 0, 0, 0, scrm.DefaultLocation()))
	return sop.New(sop.NewMemoryStore(), scrm.NewMemoryProfileStore(), &sop.Options{
		Options: scrm.Options{Clock: clk},
		Channel: scrmtest.NewRecorder(),
	})
}

// A content template typed into an admin UI must not be able to make a
// rendering allocate without bound: the body is at most MaxTemplateBody
// (16 KiB) and the rendered text is refused when over the channel's
// ContentLimit (WeCom: 4000 bytes), so rendering needs at most a few
// times that. PutTemplate accepts the 34-byte body
// `{{range 5000000}}0123456789{{end}}` (text/template ranges over an
// integer), and every rendering of it then builds 50 MB (allocating over
// 200 MB) before the limit
// check refuses it; with `{{range 1000000000}}` it takes 10 GB and kills
// the host process (every RunDue of a step naming the template does it
// again). Cause: sop/template_compile.go compileBody accepts any
// text/template construct (range over integers, printf with a huge
// width), and template_render.go execute writes into an unbounded
// bytes.Buffer.
func TestTemplateRenderIsBounded(t *testing.T) {
	ctx := context.Background()
	svc := configService(t)
	body := `{{range 5000000}}0123456789{{end}}`
	if _, err := svc.PutTemplate(ctx, sop.Template{Tenant: "t1", ID: "boom", Channel: scrm.ChannelWeCom, Body: body}); err != nil {
		t.Logf("PutTemplate refused the body: %v", err)
		return // refusing it is a fine fix
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := svc.Render(ctx, sop.RenderRequest{Tenant: "t1", Template: "boom"})
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("Render: %v; allocated %d bytes", err, alloc)
	if alloc > 4<<20 {
		t.Fatalf("rendering a %d-byte body allocated %d MB (the WeCom limit is 4000 bytes)", len(body), alloc>>20)
	}
}

// A Reward action of kind "points" with no Points grants nothing: member,
// the Rewarder holding points, refuses it at run time ("Reward.Points:
// must be positive"), so every job of the step fails. member's own
// configuration refuses such a reward up front; PutPlaybook's checkAction
// (sop/compile.go) runs only scrm.Grant.Validate, which checks signs, so
// an operator's empty points field is saved.
func TestPlaybookRefusesRewardWithoutPoints(t *testing.T) {
	ctx := context.Background()
	clk := scrmtest.NewClock(time.Date(2026, 3, 10, 12, 0, 0, 0, scrm.DefaultLocation()))
	svc := sop.New(sop.NewMemoryStore(), scrm.NewMemoryProfileStore(), &sop.Options{
		Options:  scrm.Options{Clock: clk},
		Rewarder: scrm.RewarderFunc(func(context.Context, scrm.Grant) error { return nil }),
	})
	_, err := svc.PutPlaybook(ctx, sop.Playbook{Tenant: "t1", ID: "welcome",
		Trigger: sop.Trigger{Event: scrm.EventCustomerAdded},
		Steps: []sop.Step{{ID: "gift", Action: sop.Action{Kind: sop.Reward,
			Reward: scrm.Reward{Kind: scrm.RewardPoints}}}}})
	var se *scrm.Error
	if !errors.Is(err, scrm.ErrInvalid) || !errors.As(err, &se) || se.Field != "Steps[0].Action.Reward.Points" {
		t.Fatalf("want ErrInvalid naming Steps[0].Action.Reward.Points, got %v", err)
	}
}

// A printf in a template body may not ask for a huge width or precision,
// nor take one from an argument or use a format that is not a constant:
// "%999999999d" makes fmt build a gigabyte before any limit sees the text.
func TestTemplatePrintfWidthBounded(t *testing.T) {
	ctx := context.Background()
	svc := configService(t)
	for _, body := range []string{
		`{{printf "%999999999d" 1}}`,
		`{{printf "%.99999f" 1.5}}`,
		`{{printf "%*d" 100000000 1}}`,
		`{{printf .Name 1}}`,
	} {
		_, err := svc.PutTemplate(ctx, sop.Template{Tenant: "t1", ID: "p", Channel: scrm.ChannelWeCom, Body: body,
			Optional: []string{"Name"}})
		if !errors.Is(err, scrm.ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", body, err)
		}
	}
	_, err := svc.PutTemplate(ctx, sop.Template{Tenant: "t1", ID: "ok", Channel: scrm.ChannelWeCom, Body: `{{printf "%05.2f" 3.14159}} 元`})
	if err != nil {
		t.Fatalf("a modest width is fine: %v", err)
	}
	r, err := svc.Render(ctx, sop.RenderRequest{Tenant: "t1", Template: "ok"})
	if err != nil || r.Body != "03.14 元" {
		t.Fatalf("Render = %q, %v", r.Body, err)
	}
}
