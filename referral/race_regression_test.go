package referral_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// pausingStore wraps the memory store; a hook set for a method runs before
// the call reaches the memory store (the hook may block to force an
// interleaving). Hooks are read under mu so tests can set them at any time.
type pausingStore struct {
	referral.Store
	mu    sync.Mutex
	hooks map[string]func()
}

func (s *pausingStore) hook(method string, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		s.hooks = map[string]func(){}
	}
	s.hooks[method] = f
}

func (s *pausingStore) run(method string) {
	s.mu.Lock()
	f := s.hooks[method]
	s.mu.Unlock()
	if f != nil {
		f()
	}
}

func (s *pausingStore) OpenTeam(ctx context.Context, p referral.OpenTeamParams) (referral.Team, bool, error) {
	s.run("OpenTeam")
	return s.Store.OpenTeam(ctx, p)
}

func (s *pausingStore) Bind(ctx context.Context, p referral.BindParams) (referral.Binding, error) {
	s.run("Bind")
	return s.Store.Bind(ctx, p)
}

func (s *pausingStore) PutGroupBuy(ctx context.Context, p referral.PutGroupBuyParams) error {
	s.run("PutGroupBuy")
	return s.Store.PutGroupBuy(ctx, p)
}

func (s *pausingStore) SaveDraw(ctx context.Context, d referral.Draw) (referral.Draw, bool, error) {
	s.run("SaveDraw")
	return s.Store.SaveDraw(ctx, d)
}

// pauseFirst returns a hook that, the first time it runs, signals reached
// and waits for release; later calls pass straight through.
func pauseFirst(reached chan<- struct{}, release <-chan struct{}) func() {
	var first atomic.Bool
	return func() {
		if first.CompareAndSwap(false, true) {
			close(reached)
			<-release
		}
	}
}

// pausingRig is newRig over a pausingStore, with a NewID safe for
// concurrent use.
func pausingRig(t *testing.T, opts ...func(*referral.Options)) (*rig, *pausingStore) {
	t.Helper()
	ws := &pausingStore{Store: referral.NewMemoryStore()}
	r := &rig{t: t, ctx: context.Background(), clock: scrmtest.NewClock(t0), pstore: scrm.NewMemoryProfileStore(),
		store: ws, rewards: &rewarder{}, events: &events{}}
	var ids atomic.Int64
	o := &referral.Options{
		Options: scrm.Options{Clock: r.clock, Publisher: r.events,
			NewID: func() string { return fmt.Sprintf("id%04d", ids.Add(1)) }},
		Rewarder:   r.rewards,
		CodeSecret: func(scrm.TenantID) []byte { return []byte("test secret, 32 bytes long......") },
		Seed:       func() uint64 { return 42 },
	}
	for _, f := range opts {
		f(o)
	}
	r.svc = referral.New(ws, r.pstore, o)
	r.dispatch = scrm.NewDispatcher(scrm.NewProfiles(r.pstore, &scrm.Options{Clock: r.clock}), r.svc)
	return r, ws
}

type openResult struct {
	team referral.Team
	err  error
}

// openPausedAtInsert starts an Open of gb1 by leader that stops just before
// Store.OpenTeam (after reading the group buy and checking its window)
// until release is closed; done receives its result.
func openPausedAtInsert(r *rig, ws *pausingStore, leader scrm.CustomerID) (release chan struct{}, done chan openResult) {
	reached := make(chan struct{})
	release, done = make(chan struct{}), make(chan openResult)
	ws.hook("OpenTeam", pauseFirst(reached, release))
	go func() {
		tm, err := r.svc.Open(r.ctx, tenant, "gb1", leader)
		done <- openResult{tm, err}
	}()
	<-reached
	return release, done
}

// TestOpenRacingTheDrawTakesNoTeam: Open reads the group buy (running, a
// lottery) and then inserts the team with OpenTeam. When, between the two,
// the operator ends the campaign early (SaveGroupBuy with an earlier End,
// which SaveGroupBuy's doc allows) and draws it (DrawGroupBuy), Open keeps
// its doc's promise: "A lottery group buy takes no new team once drawn ...
// the draw would never enter it" (ErrExpired carrying ReasonNotRunning),
// since the Store refuses a team of a drawn group buy. Otherwise the team
// would open after the draw, fill, be reported succeeded as a lottery team
// (its members paid and wait for a draw), and never be drawn nor refunded.
func TestOpenRacingTheDrawTakesNoTeam(t *testing.T) {
	r, ws := pausingRig(t)
	g := saveGroupBuy(t, r, referral.GroupBuy{Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"),
		End: t0.Add(48 * time.Hour), Lottery: &referral.Lottery{Winners: 1}})
	first, err := r.svc.Open(r.ctx, tenant, "gb1", "L1")
	require.NoError(t, err)
	_, err = r.svc.Join(r.ctx, tenant, first.ID, "M1")
	require.NoError(t, err)

	release, done := openPausedAtInsert(r, ws, "L2") // Open has read the group buy and checked its window

	g.End = t0.Add(-2 * time.Hour) // the operator ends the campaign now ...
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g))
	d, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1") // ... and draws it
	require.NoError(t, err)
	close(release)
	got := <-done

	if got.err == nil {
		// The harm: the late team fills, is reported as a successful
		// lottery team, and the (final) draw never enters it.
		full, jerr := r.svc.Join(r.ctx, tenant, got.team.ID, "M2")
		require.NoError(t, jerr)
		again, derr := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
		require.NoError(t, derr)
		t.Errorf("Open opened lottery team %s (status after Join: %s, Lottery %v) after group buy gb1 was drawn at %s; "+
			"the draw's %d entrants do not include it (entrants %v): its members paid %s and are never drawn nor refunded",
			got.team.ID, full.Status, full.Lottery, d.At.Format(time.RFC3339), len(again.Entrants), again.Entrants, full.Price)
		return
	}
	requireRefused(t, got.err, scrm.ErrExpired, referral.ReasonNotRunning)
}

// TestOpenRacingLotteryRemovalOpensUnderTheStoredKind: SaveGroupBuy's doc
// promises "once any team was opened as a lottery team, removing the
// Lottery ... is refused (its members wait for that draw)". It lists the
// teams, then puts; Open reads the group buy (a lottery) and inserts its
// team with a later OpenTeam. With Open between its read and OpenTeam
// while the operator removes the Lottery, the outcome is one of the two
// orders: the save is refused (a lottery team opened first), or Open,
// finding the group buy saved since it read it, reads it again and opens a
// regular team (the save came first). Never a lottery team of a group buy
// without a Lottery, which would fill, be reported succeeded with
// "lottery": true, and never be drawn (DrawGroupBuy refuses: not a
// lottery) nor refunded.
func TestOpenRacingLotteryRemovalOpensUnderTheStoredKind(t *testing.T) {
	r, ws := pausingRig(t)
	g := saveGroupBuy(t, r, referral.GroupBuy{Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"),
		End: t0.Add(48 * time.Hour), Lottery: &referral.Lottery{Winners: 1}})

	release, done := openPausedAtInsert(r, ws, "L1")

	g.Lottery = nil
	saveErr := r.svc.SaveGroupBuy(r.ctx, g)
	close(release)
	got := <-done
	if saveErr != nil || got.err != nil {
		return // one of the two was refused: the promise holds
	}
	stored, err := r.svc.GroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err)
	if !got.team.Lottery && stored.Lottery == nil {
		return // the save came first: Open opened a regular team of the regular group buy
	}
	full, err := r.svc.Join(r.ctx, tenant, got.team.ID, "M1")
	require.NoError(t, err)
	r.clock.Set(t0.Add(50 * time.Hour))
	_, drawErr := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
	t.Errorf("SaveGroupBuy removed the Lottery (stored Lottery %v) while Open opened lottery team %s (Lottery %v, status %s); "+
		"its members wait for a draw that DrawGroupBuy refuses: %v", stored.Lottery, full.ID, full.Lottery, full.Status, drawErr)
}

// TestOpenRacingAWinnersChangeOpensUnderTheNewTerms: a lottery's Winners
// may change while it has no lottery team. An Open that read the old
// terms and inserts its team after the change reads the group buy again
// and opens its team under the new terms, so that SaveGroupBuy then keeps
// them (the team's members wait for a draw of that many winners).
func TestOpenRacingAWinnersChangeOpensUnderTheNewTerms(t *testing.T) {
	r, ws := pausingRig(t)
	g := saveGroupBuy(t, r, referral.GroupBuy{Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"),
		End: t0.Add(48 * time.Hour), Lottery: &referral.Lottery{Winners: 1}})

	release, done := openPausedAtInsert(r, ws, "L1")
	g.Lottery = &referral.Lottery{Winners: 5}
	g.Price = scrm.Yuan("2.00")
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g), "no lottery team yet")
	close(release)
	got := <-done
	require.NoError(t, got.err)
	assert.True(t, got.team.Lottery)
	assert.True(t, got.team.Price.Equal(scrm.Yuan("2.00")), "opened under the group buy as saved, not as Open first read it: %s", got.team.Price)

	g.Lottery = &referral.Lottery{Winners: 1}
	requireConflictOn(t, r.svc.SaveGroupBuy(r.ctx, g), "Lottery.Winners")
}

// TestSaveGroupBuyRacingTheDrawKeepsWhatWasDrawn: SaveGroupBuy checks that
// a lottery is not drawn before it moves its End later; a draw made after
// that check and before the save is stored makes the save check again, and
// be refused (naming End) as after the draw: the draw stands on the End it
// was made on, and no team opens after it.
func TestSaveGroupBuyRacingTheDrawKeepsWhatWasDrawn(t *testing.T) {
	r, ws := pausingRig(t)
	end := t0.Add(time.Hour)
	g := saveGroupBuy(t, r, referral.GroupBuy{Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"),
		End: end, Lottery: &referral.Lottery{Winners: 1}})
	fillTeam(t, r, "gb1", "A", "B")
	r.clock.Set(end.Add(2 * time.Hour)) // the draw is due

	reached, release := make(chan struct{}), make(chan struct{})
	ws.hook("PutGroupBuy", pauseFirst(reached, release))
	saved := make(chan error)
	go func() {
		g.End = end.Add(72 * time.Hour) // the operator extends the campaign ...
		saved <- r.svc.SaveGroupBuy(r.ctx, g)
	}()
	<-reached                                          // ... and SaveGroupBuy found no draw
	d, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1") // while the draw is made
	require.NoError(t, err)
	close(release)
	requireConflictOn(t, <-saved, "End")

	stored, err := r.svc.GroupBuy(r.ctx, tenant, "gb1")
	require.NoError(t, err)
	assert.True(t, stored.End.Equal(end), "nothing written: End %s", stored.End)
	_, err = r.svc.Open(r.ctx, tenant, "gb1", "C")
	requireRefused(t, err, scrm.ErrExpired, referral.ReasonNotRunning)
	assert.Len(t, d.Entrants, 2)
}

// TestDrawRacingSaveGroupBuyDrawsOnTheStoredTerms: DrawGroupBuy computes
// the draw from the group buy it read and stores it only while the group
// buy is still that one (Draw.GroupBuyRevision). When the operator extends
// the campaign before the draw is stored, DrawGroupBuy reads it again and
// finds the draw not due: the extension stands and teams open again.
func TestDrawRacingSaveGroupBuyDrawsOnTheStoredTerms(t *testing.T) {
	r, ws := pausingRig(t)
	end := t0.Add(time.Hour)
	g := saveGroupBuy(t, r, referral.GroupBuy{Size: 2, Duration: time.Hour, Price: scrm.Yuan("1.00"),
		End: end, Lottery: &referral.Lottery{Winners: 1}})
	fillTeam(t, r, "gb1", "A", "B")
	r.clock.Set(end.Add(2 * time.Hour))

	reached, release := make(chan struct{}), make(chan struct{})
	ws.hook("SaveDraw", pauseFirst(reached, release))
	type drawResult struct {
		d   referral.Draw
		err error
	}
	drawn := make(chan drawResult)
	go func() {
		d, err := r.svc.DrawGroupBuy(r.ctx, tenant, "gb1")
		drawn <- drawResult{d, err}
	}()
	<-reached // the draw is computed, not stored
	g.End = end.Add(72 * time.Hour)
	require.NoError(t, r.svc.SaveGroupBuy(r.ctx, g), "not drawn yet")
	close(release)
	got := <-drawn
	requireRefused(t, got.err, scrm.ErrForbidden, referral.ReasonDrawNotDue)
	_, err := r.store.GetDraw(r.ctx, tenant, "gb1")
	require.ErrorIs(t, err, scrm.ErrNotFound, "no draw stored over the extended campaign")
	_, err = r.svc.Open(r.ctx, tenant, "gb1", "C")
	require.NoError(t, err, "the extended campaign takes teams")
}

// TestBindRetryInFlightIsReplayed: Bind's doc promises that a request
// replayed with its IdempotencyKey and the same program, code and signals
// "returns the binding it made" (DESIGN §2: replaying the same key with the
// same payload returns the original result). When the retry runs while the
// first attempt is still inside (both looked up the invitee's binding
// before either stored it), the one that reaches Store.Bind second is
// refused by the Store as already bound; Bind then reads the binding that
// refused it and, as it carries the request's own key and payload, answers
// with it, as a replay, not as ErrConflict carrying ReasonAlreadyBound.
func TestBindRetryInFlightIsReplayed(t *testing.T) {
	r, ws := pausingRig(t)
	r.save(referral.Program{InviteeOnBind: []scrm.Reward{coupon("new-50")}})
	req := referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: "B", Code: r.code("A"), IdempotencyKey: "bind-B"}

	reached, release := make(chan struct{}), make(chan struct{})
	ws.hook("Bind", pauseFirst(reached, release))
	type res struct {
		b   referral.Binding
		err error
	}
	done := make(chan res)
	go func() {
		b, err := r.svc.Bind(r.ctx, req) // the first attempt, slow to reach the store
		done <- res{b, err}
	}()
	<-reached
	retry, err := r.svc.Bind(r.ctx, req) // the host's retry with the same key
	require.NoError(t, err)
	close(release)
	first := <-done

	require.NoError(t, first.err, "the first attempt, with the same key and payload as the binding stored (key %q), "+
		"must get that binding, not a refusal", retry.IdempotencyKey)
	require.Equal(t, retry, first.b)
}

// TestBindInFlightWithTheKeyForAnotherPayloadConflicts: of two requests
// with one IdempotencyKey and different payloads in flight at once, the
// one that reaches the Store second is refused with ErrConflict naming
// IdempotencyKey (the key was used for another request); one whose
// invitee was bound meanwhile by a request with another key is refused as
// already bound.
func TestBindInFlightWithTheKeyForAnotherPayloadConflicts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		other func(req referral.BindRequest, r *rig) referral.BindRequest
		check func(t *testing.T, err error)
	}{
		{"same key, another code", func(req referral.BindRequest, r *rig) referral.BindRequest {
			req.Code = r.code("C")
			return req
		}, func(t *testing.T, err error) { requireConflictOn(t, err, "IdempotencyKey") }},
		{"another key", func(req referral.BindRequest, _ *rig) referral.BindRequest {
			req.IdempotencyKey = "bind-B-2"
			return req
		}, func(t *testing.T, err error) { requireRefused(t, err, scrm.ErrConflict, referral.ReasonAlreadyBound) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ws := pausingRig(t)
			r.save(referral.Program{})
			req := referral.BindRequest{Tenant: tenant, Program: "p1", Invitee: "B", Code: r.code("A"), IdempotencyKey: "bind-B"}
			other := tc.other(req, r)

			reached, release := make(chan struct{}), make(chan struct{})
			ws.hook("Bind", pauseFirst(reached, release))
			done := make(chan error)
			go func() {
				_, err := r.svc.Bind(r.ctx, other) // slow to reach the store
				done <- err
			}()
			<-reached
			b, err := r.svc.Bind(r.ctx, req)
			require.NoError(t, err)
			close(release)
			tc.check(t, <-done)
			stored, err := r.store.GetBinding(r.ctx, tenant, "B")
			require.NoError(t, err)
			assert.Equal(t, b, stored, "the first binding stands")
		})
	}
}
