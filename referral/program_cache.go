package referral

import (
	"context"
	"sync"

	"github.com/scrmkit/scrmkit/scrm"
)

// ProgramRevisioner is an optional interface of a Store that lets the
// Service keep the programs it reads instead of loading and copying one
// from the Store on every Bind and every event. NewMemoryStore implements
// it; a Store without it works as well, reading the program every time.
type ProgramRevisioner interface {
	// ProgramRevision returns the tenant's programs revision: 0 before the
	// tenant's first PutProgram, and a different number after each
	// PutProgram of the tenant (a program read after a call returning r is
	// at least as new as revision r). Errors: ErrUnavailable for a done ctx.
	ProgramRevision(ctx context.Context, tenant scrm.TenantID) (int64, error)
}

// programCache holds the programs the Service read, each with the tenant's
// programs revision read before it: a program is served from the cache
// while the Store's revision still equals the recorded one. Cached programs
// are shared and read-only; they leave the Service only as copies. It keeps
// one entry per program ever read (programs are few).
type programCache struct {
	mu sync.RWMutex
	m  map[programKey]cachedProgram
}

type programKey struct {
	tenant scrm.TenantID
	id     string
}

type cachedProgram struct {
	rev int64
	p   *Program
}

// program returns the stored program, read-only: shared with other calls
// when the Store implements ProgramRevisioner. Errors: as GetProgram.
func (s *Service) program(ctx context.Context, op string, tenant scrm.TenantID, id string) (*Program, error) {
	rs, ok := s.store.(ProgramRevisioner)
	if !ok {
		p, err := s.store.GetProgram(ctx, tenant, id)
		if err != nil {
			return nil, scrm.Wrap(nil, op, err)
		}
		return &p, nil
	}
	rev, err := rs.ProgramRevision(ctx, tenant)
	if err != nil {
		return nil, scrm.Wrap(nil, op, err)
	}
	k := programKey{tenant, id}
	s.programs.mu.RLock()
	c, hit := s.programs.m[k]
	s.programs.mu.RUnlock()
	if hit && c.rev == rev {
		return c.p, nil
	}
	p, err := s.store.GetProgram(ctx, tenant, id)
	if err != nil {
		return nil, scrm.Wrap(nil, op, err)
	}
	s.programs.mu.Lock()
	if s.programs.m == nil {
		s.programs.m = map[programKey]cachedProgram{}
	}
	if old, ok := s.programs.m[k]; !ok || old.rev <= rev {
		s.programs.m[k] = cachedProgram{rev: rev, p: &p}
	}
	s.programs.mu.Unlock()
	return &p, nil
}
