package referral

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Options configures a Service. A nil *Options, and every zero field, means
// the default documented on the field.
type Options struct {
	scrm.Options

	// Rewarder grants every reward the service gives: invitee and inviter
	// rewards, ladder rungs, percent rewards, commissions, group-buy
	// consolation prizes and lucky-draw prizes. Usually a *scrm.RewardRouter over the member and
	// coupon services. Default: every grant fails with an error matching
	// scrm.ErrUnavailable, so a host that forgot to configure one loses
	// nothing: the grants are retried once it is set.
	Rewarder scrm.Rewarder

	// CodeSecret returns the tenant's secret key for invite codes (at least
	// 16 bytes is sensible). Codes are an HMAC of the tenant and the customer
	// or staff ID under this key, so nobody without it can work out a
	// customer's code. The store remembers every code it hands out, so codes
	// stay stable even if the key changes; the key only matters for new
	// codes. Default (nil, or an empty result): a random key drawn once per
	// Service.
	CodeSecret func(scrm.TenantID) []byte

	// PercentKind is the reward kind a program's Percent reward is granted
	// as (its Amount carries the money); default scrm.RewardStoredValue. It
	// must carry a money amount: SaveProgram refuses a program with a
	// Percent when it is scrm.RewardPoints, scrm.RewardGrowth or
	// scrm.RewardCoupon.
	PercentKind scrm.RewardKind

	// CommissionKind is the reward kind commissions are paid as (Amount);
	// default scrm.RewardStoredValue. As with PercentKind, SaveProgram
	// refuses a program with a Commission rate when it carries no money
	// amount.
	CommissionKind scrm.RewardKind

	// GrantLease is how long a caller holds the right to make one grant
	// before another caller may retry it, should the first have crashed
	// between claiming and completing it; default one minute. It should
	// exceed the Rewarder's slowest call. Sweep also takes it as the age
	// after which a lucky draw left unfinished is finished by Sweep.
	GrantLease time.Duration

	// Seed returns the seed of a new bargain session, group-buy lottery
	// draw or lucky draw (Lottery.Seed, drawn once per lottery). The seed is
	// recorded with the session or draw, so its random outcome can be
	// recomputed and audited later. Default: 64 bits from crypto/rand.
	Seed func() uint64

	// PointsSpender charges the entry cost of lucky draws
	// (Lottery.EntryCostPoints), usually the member service's Redeem
	// behind a PointsSpenderFunc. Default: none, and SaveLottery refuses a
	// lottery with an entry cost.
	PointsSpender PointsSpender
}

const defaultGrantLease = time.Minute

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	out.Options = out.Options.WithDefaults()
	if out.Rewarder == nil {
		out.Rewarder = scrm.RewarderFunc(func(context.Context, scrm.Grant) error {
			return scrm.Errorf(scrm.ErrUnavailable, "referral", "no Rewarder configured (Options.Rewarder)")
		})
	}
	if out.PercentKind == "" {
		out.PercentKind = scrm.RewardStoredValue
	}
	if out.CommissionKind == "" {
		out.CommissionKind = scrm.RewardStoredValue
	}
	if out.GrantLease <= 0 {
		out.GrantLease = defaultGrantLease
	}
	if out.Seed == nil {
		out.Seed = randomSeed
	}
	return out
}

func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return binary.LittleEndian.Uint64(b[:])
}
