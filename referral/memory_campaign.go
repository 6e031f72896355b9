package referral

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// The memory store's group buys, draws and bargain sessions.

func (s *memoryStore) OpenTeam(ctx context.Context, p OpenTeamParams) (Team, bool, error) {
	const op = "referral.MemoryStore.OpenTeam"
	t := p.Team.clone()
	if err := checkTenantID(op, t.Tenant, "Team.ID", t.ID); err != nil {
		return Team{}, false, err
	}
	mt, err := s.tenant(ctx, op, t.Tenant, true)
	if err != nil {
		return Team{}, false, err
	}
	defer mt.mu.Unlock()
	lk := leaderKey{t.GroupBuy, t.Leader}
	if id, ok := mt.leaders[lk]; ok {
		if old := mt.teams[id]; old.Status == TeamOpen && old.ExpiresAt.After(p.Now) {
			return old.clone(), false, nil
		}
	}
	if d, ok := mt.draws[t.GroupBuy]; ok {
		return Team{}, false, refuse(scrm.ErrExpired, op, ReasonNotRunning,
			"group buy "+t.GroupBuy+" was drawn at "+d.At.Format(time.RFC3339)+": it takes no new teams")
	}
	if p.GroupBuyRevision != 0 {
		if rev := mt.groupBuys[t.GroupBuy].Revision; rev != p.GroupBuyRevision {
			return Team{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "GroupBuyRevision",
				Msg: fmt.Sprintf("group buy %s is at revision %d, not %d", t.GroupBuy, rev, p.GroupBuyRevision)}
		}
	}
	if _, ok := mt.teams[t.ID]; ok {
		return Team{}, false, scrm.Errorf(scrm.ErrConflict, op, "team %s exists", t.ID)
	}
	mt.teams[t.ID] = t
	mt.leaders[lk] = t.ID
	mt.teamKinds[t.GroupBuy] |= kindOf(&t)
	if t.Status == TeamOpen {
		mt.openTeams[t.ID] = struct{}{}
	} else if !t.Reported {
		mt.unreported[t.ID] = struct{}{}
	}
	return t.clone(), true, nil
}

func (s *memoryStore) JoinTeam(ctx context.Context, p JoinTeamParams) (Team, error) {
	const op = "referral.MemoryStore.JoinTeam"
	mt, err := s.tenant(ctx, op, p.Tenant, false)
	if err != nil {
		return Team{}, err
	}
	if mt == nil {
		return Team{}, notFound(op, "team "+p.Team)
	}
	defer mt.mu.Unlock()
	t, ok := mt.teams[p.Team]
	switch {
	case !ok:
		return Team{}, notFound(op, "team "+p.Team)
	case t.Status == TeamFailed || (t.Status == TeamOpen && !t.ExpiresAt.After(p.Now)):
		return Team{}, refuse(scrm.ErrExpired, op, ReasonTeamClosed, "team "+t.ID+" closed at "+t.ExpiresAt.Format(time.RFC3339))
	case t.Has(p.Customer):
		return Team{}, refuse(scrm.ErrConflict, op, ReasonAlreadyJoined, string(p.Customer)+" is in team "+t.ID+" already")
	case t.Status == TeamSucceeded || len(t.Members) >= t.Size:
		return Team{}, refuse(scrm.ErrExhausted, op, ReasonTeamFull, "team "+t.ID+" is full")
	}
	t = t.clone()
	t.Members = append(t.Members, Member{Customer: p.Customer, JoinedAt: p.Now})
	if len(t.Members) == t.Size {
		t.Status, t.ClosedAt = TeamSucceeded, p.Now
		delete(mt.openTeams, t.ID)
		mt.unreported[t.ID] = struct{}{}
	}
	mt.teams[t.ID] = t
	return t.clone(), nil
}

func (s *memoryStore) GetTeam(ctx context.Context, tenant scrm.TenantID, id string) (Team, error) {
	const op = "referral.MemoryStore.GetTeam"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return Team{}, err
	}
	if mt == nil {
		return Team{}, notFound(op, "team "+id)
	}
	defer mt.mu.Unlock()
	t, ok := mt.teams[id]
	if !ok {
		return Team{}, notFound(op, "team "+id)
	}
	return t.clone(), nil
}

func (s *memoryStore) ExpireTeams(ctx context.Context, p ExpireTeamsParams) ([]Team, error) {
	const op = "referral.MemoryStore.ExpireTeams"
	mt, err := s.tenant(ctx, op, p.Tenant, false)
	if err != nil || mt == nil {
		return nil, err
	}
	defer mt.mu.Unlock()
	var ids []string
	for id := range mt.openTeams {
		t := mt.teams[id]
		if (p.Team == "" || id == p.Team) && (p.GroupBuy == "" || t.GroupBuy == p.GroupBuy) && !t.ExpiresAt.After(p.Now) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if p.Limit > 0 && len(ids) > p.Limit {
		ids = ids[:p.Limit]
	}
	out := make([]Team, len(ids))
	for i, id := range ids {
		t := mt.teams[id]
		t.Status, t.ClosedAt = TeamFailed, t.ExpiresAt
		mt.teams[id] = t
		delete(mt.openTeams, id)
		mt.unreported[id] = struct{}{}
		out[i] = t.clone()
	}
	return out, nil
}

func (s *memoryStore) ListTeams(ctx context.Context, p ListTeamsParams) (TeamPage, error) {
	const op = "referral.MemoryStore.ListTeams"
	mt, err := s.tenant(ctx, op, p.Tenant, false)
	if err != nil || mt == nil {
		return TeamPage{}, err
	}
	defer mt.mu.Unlock()
	var ids []string
	match := func(id string) {
		t := mt.teams[id]
		if id > p.Cursor && (p.GroupBuy == "" || t.GroupBuy == p.GroupBuy) && (p.Status == "" || t.Status == p.Status) {
			ids = append(ids, id)
		}
	}
	if p.Unreported {
		for id := range mt.unreported {
			match(id)
		}
	} else {
		for id := range mt.teams {
			match(id)
		}
	}
	slices.Sort(ids)
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	var page TeamPage
	if len(ids) > limit {
		ids = ids[:limit]
		page.Next = ids[limit-1]
	}
	page.Teams = make([]Team, len(ids))
	for i, id := range ids {
		page.Teams[i] = mt.teams[id].clone()
	}
	return page, nil
}

func (s *memoryStore) MarkTeamReported(ctx context.Context, tenant scrm.TenantID, id string) error {
	const op = "referral.MemoryStore.MarkTeamReported"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return err
	}
	if mt == nil {
		return notFound(op, "team "+id)
	}
	defer mt.mu.Unlock()
	t, ok := mt.teams[id]
	if !ok {
		return notFound(op, "team "+id)
	}
	t.Reported = true
	mt.teams[id] = t
	delete(mt.unreported, id)
	return nil
}

func (s *memoryStore) SaveDraw(ctx context.Context, d Draw) (Draw, bool, error) {
	const op = "referral.MemoryStore.SaveDraw"
	if err := checkTenantID(op, d.Tenant, "GroupBuy", d.GroupBuy); err != nil {
		return Draw{}, false, err
	}
	mt, err := s.tenant(ctx, op, d.Tenant, true)
	if err != nil {
		return Draw{}, false, err
	}
	defer mt.mu.Unlock()
	if old, ok := mt.draws[d.GroupBuy]; ok {
		return old.clone(), false, nil
	}
	if d.GroupBuyRevision != 0 {
		if rev := mt.groupBuys[d.GroupBuy].Revision; rev != d.GroupBuyRevision {
			return Draw{}, false, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "GroupBuyRevision",
				Msg: fmt.Sprintf("group buy %s is at revision %d, not %d", d.GroupBuy, rev, d.GroupBuyRevision)}
		}
	}
	mt.draws[d.GroupBuy] = d.clone()
	return d.clone(), true, nil
}

func (s *memoryStore) GetDraw(ctx context.Context, tenant scrm.TenantID, groupBuy string) (Draw, error) {
	const op = "referral.MemoryStore.GetDraw"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return Draw{}, err
	}
	if mt == nil {
		return Draw{}, notFound(op, "no draw of group buy "+groupBuy)
	}
	defer mt.mu.Unlock()
	d, ok := mt.draws[groupBuy]
	if !ok {
		return Draw{}, notFound(op, "no draw of group buy "+groupBuy)
	}
	return d.clone(), nil
}

// ---- bargain sessions

func (s *memoryStore) StartSession(ctx context.Context, p StartSessionParams) (Session, bool, error) {
	const op = "referral.MemoryStore.StartSession"
	sess := p.Session.clone()
	if err := checkTenantID(op, sess.Tenant, "Session.ID", sess.ID); err != nil {
		return Session{}, false, err
	}
	mt, err := s.tenant(ctx, op, sess.Tenant, true)
	if err != nil {
		return Session{}, false, err
	}
	defer mt.mu.Unlock()
	ok := leaderKey{sess.Bargain, sess.Owner}
	if id, found := mt.starters[ok]; found {
		if old := mt.sessions[id]; !old.Expired(p.Now) {
			return old.clone(), false, nil
		}
	}
	if _, found := mt.sessions[sess.ID]; found {
		return Session{}, false, scrm.Errorf(scrm.ErrConflict, op, "session %s exists", sess.ID)
	}
	stored := sess.clone()
	mt.sessions[sess.ID] = &stored
	mt.starters[ok] = sess.ID
	if stored.Completed() && !stored.Reported {
		mt.unreportedSessions[sess.ID] = struct{}{}
	}
	return sess.clone(), true, nil
}

func (s *memoryStore) GetSession(ctx context.Context, tenant scrm.TenantID, id string) (Session, error) {
	const op = "referral.MemoryStore.GetSession"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return Session{}, err
	}
	if mt == nil {
		return Session{}, notFound(op, "session "+id)
	}
	defer mt.mu.Unlock()
	sess, ok := mt.sessions[id]
	if !ok {
		return Session{}, notFound(op, "session "+id)
	}
	return sess.clone(), nil
}

func (s *memoryStore) Help(ctx context.Context, p HelpParams) (Session, error) {
	const op = "referral.MemoryStore.Help"
	mt, err := s.tenant(ctx, op, p.Tenant, false)
	if err != nil {
		return Session{}, err
	}
	if mt == nil {
		return Session{}, notFound(op, "session "+p.Session)
	}
	defer mt.mu.Unlock()
	sess, ok := mt.sessions[p.Session]
	if !ok {
		return Session{}, notFound(op, "session "+p.Session)
	}
	if err := helpRefusal(op, *sess, p.Cut.Helper, p.Now); err != nil {
		return Session{}, err
	}
	if p.Cut.Index != len(sess.Cuts)+1 {
		return Session{}, scrm.Errorf(scrm.ErrConflict, op, "help %d of session %s is taken", p.Cut.Index, sess.ID)
	}
	if err := checkCut(op, *sess, p.Cut); err != nil {
		return Session{}, err
	}
	// The stored Cuts are never handed out (every read clones), so they can
	// grow in place.
	sess.Cuts = append(sess.Cuts, p.Cut)
	sess.Price = p.Cut.Price
	if p.Cut.Index == sess.Terms.Helpers {
		sess.CompletedAt = p.Now
		mt.unreportedSessions[sess.ID] = struct{}{}
	}
	return sess.clone(), nil
}

func (s *memoryStore) ListSessions(ctx context.Context, p ListSessionsParams) (SessionPage, error) {
	const op = "referral.MemoryStore.ListSessions"
	mt, err := s.tenant(ctx, op, p.Tenant, false)
	if err != nil || mt == nil {
		return SessionPage{}, err
	}
	defer mt.mu.Unlock()
	var ids []string
	match := func(id string) {
		if id > p.Cursor && (p.Bargain == "" || mt.sessions[id].Bargain == p.Bargain) {
			ids = append(ids, id)
		}
	}
	if p.Unreported {
		for id := range mt.unreportedSessions {
			match(id)
		}
	} else {
		for id := range mt.sessions {
			match(id)
		}
	}
	slices.Sort(ids)
	limit := scrm.PageLimit(p.Limit, 100, 1000)
	var page SessionPage
	if len(ids) > limit {
		ids = ids[:limit]
		page.Next = ids[limit-1]
	}
	page.Sessions = make([]Session, len(ids))
	for i, id := range ids {
		page.Sessions[i] = mt.sessions[id].clone()
	}
	return page, nil
}

func (s *memoryStore) MarkSessionReported(ctx context.Context, tenant scrm.TenantID, id string) error {
	const op = "referral.MemoryStore.MarkSessionReported"
	mt, err := s.tenant(ctx, op, tenant, false)
	if err != nil {
		return err
	}
	if mt == nil {
		return notFound(op, "session "+id)
	}
	defer mt.mu.Unlock()
	sess, ok := mt.sessions[id]
	if !ok {
		return notFound(op, "session "+id)
	}
	sess.Reported = true
	delete(mt.unreportedSessions, id)
	return nil
}

// checkCut validates a help against the session's invariants.
func checkCut(op string, sess Session, c Cut) error {
	amount, ok := scrm.ToFen(c.Amount)
	if !ok || amount <= 0 {
		return scrm.Invalid(op, "Cut.Amount", "must be a positive amount of whole fen, got %s", c.Amount)
	}
	price, _ := scrm.ToFen(sess.Price)
	floor, _ := scrm.ToFen(sess.Terms.Floor)
	after := price - amount
	switch left := sess.Terms.Helpers - c.Index; {
	case after < floor+int64(left):
		return scrm.Invalid(op, "Cut.Amount", "%s leaves too little for the %d helps to come above the floor %s", c.Amount, left, sess.Terms.Floor)
	case left == 0 && after != floor:
		return scrm.Invalid(op, "Cut.Amount", "the last help must reach the floor %s exactly", sess.Terms.Floor)
	}
	if p, ok := scrm.ToFen(c.Price); !ok || p != after {
		return scrm.Invalid(op, "Cut.Price", "must be the price after the cut, %s, got %s", scrm.FromFen(after), c.Price)
	}
	return nil
}
