package coupon_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

// tighteningStore is a Store whose template gains a limit the moment a
// claim reaches it: what happens when the merchant tightens a template
// (another Service instance, an admin tool) while a claim is in flight,
// between the Service reading the template and the Store inserting.
type tighteningStore struct {
	coupon.Store
	once    sync.Once
	tighten func(*coupon.Template)
}

func (s *tighteningStore) Claim(ctx context.Context, p coupon.ClaimParams) (coupon.ClaimResult, error) {
	var err error
	if s.tighten != nil {
		s.once.Do(func() {
			var t coupon.Template
			if t, err = s.Store.Template(ctx, p.Tenant, p.Template); err != nil {
				return
			}
			s.tighten(&t)
			_, err = s.Store.PutTemplate(ctx, t)
		})
	}
	if err != nil {
		return coupon.ClaimResult{}, err
	}
	return s.Store.Claim(ctx, p)
}

// Store.Claim enforces "the limits being those stored now", but the Service
// only passes the local day bounds (DayStart, DayEnd) when the template it
// read had a per-day limit. When the limit is added while the claim is in
// flight, the store counts coupons in the empty interval [0, 0) and the
// per-day limit is bypassed.
func TestPerDayLimitAddedDuringClaimIsEnforced(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("20")})
	_, err := e.svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: "c", IdempotencyKey: "k1"})
	require.NoError(t, err)

	st := &tighteningStore{Store: e.store, tighten: func(t *coupon.Template) { t.PerCustomerPerDay = 1 }}
	svc := coupon.New(st, e.profiles, &coupon.Options{Options: scrm.Options{Clock: e.clock}})
	_, err = svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: "c", IdempotencyKey: "k2"})
	assert.ErrorIs(t, err, scrm.ErrExhausted, "the per-day limit stored when the claim is inserted must hold")
	assert.Equal(t, "PerCustomerPerDay", fieldOf(err))

	w, err := e.svc.Wallet(ctx, tenant, "u1")
	require.NoError(t, err)
	assert.Len(t, w, 1, "u1 got 2 coupons today under a limit of 1 per day")
}

// ParseCode promises to name a character outside CodeAlphabet, but it names
// the first byte of its UTF-8 encoding as if it were a Latin-1 character:
// a full-width letter (typed in a Chinese IME's full-width mode) is reported
// as 'ï', an ideographic space as 'ã'.
func TestParseCodeNamesTheCharacterTyped(t *testing.T) {
	for _, c := range []struct {
		in   string
		char rune
	}{
		{"７KQ4-M9XD-F2HB", '７'},           // full-width 7
		{"7KQ4\u3000M9XD-F2HB", '\u3000'}, // ideographic space
		{"7KQ4-M9XD-F2HÉ", 'É'},
	} {
		_, err := coupon.ParseCode(c.in)
		require.ErrorIs(t, err, scrm.ErrInvalid)
		require.True(t, strings.Contains(err.Error(), "not used in codes"), err.Error())
		assert.Contains(t, err.Error(), fmt.Sprintf("%q", c.char), "input %q: the error should name the character typed", c.in)
	}
}

// scrm.Grant: "a Rewarder that sees the same key again with the same payload
// does nothing and returns nil; with a different payload, ErrConflict".
// Coupon's Grant fingerprints only template, count and source, so a replay
// whose Reward differs in Note is taken as the same grant
// and silently returns nil: a caller that reused a key for another reward
// never learns that nothing was granted. member's Grant includes the Note.
func TestGrantReplayWithOtherNoteConflicts(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5")})
	g := scrm.Grant{Tenant: tenant, Customer: "u1", IdempotencyKey: "g1", Source: "sop:welcome",
		Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "c", Note: "welcome gift"}}
	require.NoError(t, e.svc.Grant(ctx, g))
	require.NoError(t, e.svc.Grant(ctx, g), "same payload: a replay")
	g2 := g
	g2.Reward.Note = "birthday gift"
	assert.ErrorIs(t, e.svc.Grant(ctx, g2), scrm.ErrConflict, "same key, different payload (Note)")
}

// A template priced while a claim is in flight is not given away: the store
// refuses a claim of a paid template without a single-use code.
func TestPriceAddedDuringClaimIsEnforced(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("20")})
	st := &tighteningStore{Store: e.store, tighten: func(t *coupon.Template) { t.Price = yuan("9.90") }}
	svc := coupon.New(st, e.profiles, &coupon.Options{Options: scrm.Options{Clock: e.clock}})
	_, err := svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: "u1", Template: "c", IdempotencyKey: "k1"})
	assert.ErrorIs(t, err, scrm.ErrForbidden, "the template became a paid voucher")
	assert.Len(t, mustWallet(t, e, "u1"), 0)
}

// A Grant and an Issue with the same key are different requests.
func TestGrantKeyUsedByIssueConflicts(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5")})
	_, err := e.svc.Issue(ctx, coupon.IssueRequest{Tenant: tenant, Customer: "u1", Template: "c", IdempotencyKey: "g1", Source: "grant"})
	require.NoError(t, err)
	g := scrm.Grant{Tenant: tenant, Customer: "u1", IdempotencyKey: "g1",
		Reward: scrm.Reward{Kind: scrm.RewardCoupon, Template: "c"}}
	assert.ErrorIs(t, e.svc.Grant(ctx, g), scrm.ErrConflict)
	assert.Len(t, mustWallet(t, e, "u1"), 1)
}
