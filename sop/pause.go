package sop

import (
	"context"

	"github.com/scrmkit/scrmkit/scrm"
)

// ResumeResult is the outcome of Resume.
type ResumeResult struct {
	Playbook Playbook
	// Skipped counts the jobs that became due more than Options.Grace
	// before the resume: they are recorded as skipped (reason "paused"),
	// never sent.
	Skipped int
}

// Pause stops every send of a playbook: RunDue claims none of its jobs
// until Resume, and a batch running at that moment starts none of the jobs
// it claimed and has not started yet (they are given back, to run after the
// resume; a job whose action is under way may finish). Customers are still enrolled, and their jobs scheduled,
// while it is paused. Pausing a paused playbook changes nothing. Errors:
// ErrNotFound.
func (s *Service) Pause(ctx context.Context, tenant scrm.TenantID, playbook string) (Playbook, error) {
	const op = "sop.Pause"
	if err := scrm.CheckID(op, "playbook", playbook); err != nil {
		return Playbook{}, err
	}
	res, err := s.store.SetPaused(ctx, SetPausedParams{Tenant: tenant, Playbook: playbook, Paused: true, At: s.now()})
	if err != nil {
		return Playbook{}, scrm.Wrap(nil, op, err)
	}
	s.forget(tenant)
	return res.Playbook, nil
}

// Resume lets a paused playbook send again without blasting its backlog:
// jobs that became due more than Options.Grace ago are skipped (and
// counted as skipped in Stats), those whose worker died before the pause
// included; the others run on the next RunDue, and later ones at their
// time. Resuming a running playbook changes nothing.
// Errors: ErrNotFound.
func (s *Service) Resume(ctx context.Context, tenant scrm.TenantID, playbook string) (ResumeResult, error) {
	const op = "sop.Resume"
	if err := scrm.CheckID(op, "playbook", playbook); err != nil {
		return ResumeResult{}, err
	}
	now := s.now()
	res, err := s.store.SetPaused(ctx, SetPausedParams{Tenant: tenant, Playbook: playbook, Paused: false, At: now,
		SkipDueBefore: now.Add(-s.opts.Grace)})
	if err != nil {
		return ResumeResult{}, scrm.Wrap(nil, op, err)
	}
	s.forget(tenant)
	return ResumeResult{Playbook: res.Playbook, Skipped: res.Skipped}, nil
}
