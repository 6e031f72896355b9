package sop

import (
	"context"
	"fmt"

	"github.com/scrmkit/scrmkit/scrm"
)

// PutTemplate validates t and stores it: a new template when t.Version is
// 0, a replacement of the version read otherwise (only the latest version
// is kept; there is no delete, so an action that renders a template never
// turns into a channel-side name). Jobs render the version stored when
// their RunDue call read the tenant's templates: a RunDue call reads them
// once per tenant, at its first job of the tenant, and again only for a
// job whose playbook changed since, so a template saved while a batch runs
// is used from the next RunDue call on. It returns the template as stored,
// with its new Version.
//
// Validation parses every body (text/template syntax), checks that each
// reads only declared variables (Required, Optional, the well-known fields)
// and each Required variable is read by some body, that the fixed text of
// each body fits the channel's ContentLimit, and compiles the variants'
// When conditions. A stored playbook that sends the template on another
// channel makes it an error too (those sends would fail); the check and the
// write are one atomic step in the Store, as in PutPlaybook. Errors:
// ErrInvalid naming the field (Body, Variants[1].When, Required[0], ...),
// and nothing written; ErrConflict on a version mismatch; ErrUnavailable
// when the tenant's playbooks and templates kept changing under the check
// (try again).
func (s *Service) PutTemplate(ctx context.Context, t Template) (Template, error) {
	op := fmt.Sprintf("sop template %q", t.ID)
	if _, err := s.compileTemplate(op, t); err != nil {
		return Template{}, err
	}
	for try := 1; ; try++ {
		tc, err := s.tenant(ctx, t.Tenant)
		if err != nil {
			return Template{}, scrm.Wrap(nil, op, err)
		}
		if err := checkTemplateUses(tc, op, t); err != nil {
			return Template{}, err
		}
		out, err := s.store.PutTemplate(ctx, PutTemplateParams{Template: t, At: s.now(), CheckRevision: true, Revision: tc.revision})
		if conflictOn(err, "Revision") {
			if try < maxRevisionTries {
				continue
			}
			return Template{}, revisionUnavailable(op, err)
		}
		if err != nil {
			return Template{}, scrm.Wrap(nil, op, err)
		}
		s.forget(t.Tenant)
		return out, nil
	}
}

// checkTemplateUses checks the stored playbooks of tc that send template
// t: they must send it on t's channel.
func checkTemplateUses(tc *tenantCache, op string, t Template) error {
	for _, cp := range tc.playbooks {
		for i := range cp.steps {
			st := &cp.steps[i]
			for _, a := range st.actions() {
				if (a.Kind == Message || a.Kind == Task) && a.Template == t.ID && a.Channel != "" && a.Channel != t.Channel {
					return scrm.Invalid(op, "Channel", "playbook %q step %q sends this template on %s", cp.pb.ID, st.id, a.Channel)
				}
			}
		}
	}
	return nil
}

// Template returns a stored template. Errors: ErrNotFound.
func (s *Service) Template(ctx context.Context, tenant scrm.TenantID, id string) (Template, error) {
	return s.store.GetTemplate(ctx, tenant, id)
}

// Templates returns the tenant's templates in ID order.
func (s *Service) Templates(ctx context.Context, tenant scrm.TenantID) ([]Template, error) {
	return s.store.ListTemplates(ctx, tenant)
}

// actions returns the step's action, or its variants' actions.
func (st *compiledStep) actions() []Action {
	if len(st.arms) == 0 {
		return []Action{st.action}
	}
	out := make([]Action, len(st.arms))
	for i, v := range st.arms {
		out[i] = v.Action
	}
	return out
}

// checkTemplateRefs checks the actions of p that name a content template of
// tc: they must send on the template's channel.
func checkTemplateRefs(tc *tenantCache, op string, p Playbook) error {
	if len(tc.templates) == 0 {
		return nil
	}
	check := func(f string, a Action) error {
		ct := tc.templates[a.Template]
		if ct == nil || (a.Kind != Message && a.Kind != Task) || a.Channel == "" || a.Channel == ct.t.Channel {
			return nil
		}
		return scrm.Invalid(op, f+".Channel", "template %q is written for %s, not %s", a.Template, ct.t.Channel, a.Channel)
	}
	for i, st := range p.Steps {
		f := fmt.Sprintf("Steps[%d]", i)
		if err := check(f+".Action", st.Action); err != nil {
			return err
		}
		for k, v := range st.Variants {
			if err := check(fmt.Sprintf("%s.Variants[%d].Action", f, k), v.Action); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkEntryTemplates checks the entries of c that name a content template
// of the tenant: they must post on the template's channel.
func (s *Service) checkEntryTemplates(ctx context.Context, op string, c Calendar) error {
	tc, err := s.tenant(ctx, c.Tenant)
	if err != nil {
		return scrm.Wrap(nil, op, err)
	}
	for i, e := range c.Entries {
		if ct := tc.templates[e.Template]; ct != nil && ct.t.Channel != e.Channel {
			return scrm.Invalid(op, fmt.Sprintf("Entries[%d].Channel", i), "template %q is written for %s, not %s", e.Template, ct.t.Channel, e.Channel)
		}
	}
	return nil
}
