// Package referral grows a tenant's private-domain pool through its
// customers (老带新, fission): invite codes, binding with fraud checks,
// qualification and rewards for both sides, reward ladders, two-level
// distribution commission with a settlement delay and refund reversal,
// group buys (拼团, including lottery teams), bargains (砍价) and lucky
// draws (抽奖).
//
// The merchant pays for every one of these, so the package is built to pay
// real new customers exactly once and to stop fraud before money moves:
//
//   - Codes (Service.Code, Service.StaffCode) are short, stable and
//     unguessable: an HMAC of the tenant and customer under a per-tenant
//     secret, in Crockford base32 with a check character (ParseCode).
//   - Service.Bind ties an invitee to a code's owner once, permanently, and
//     refuses self-referrals, existing customers (a paid order in their
//     profile before binding), cycles, bindings outside the program's
//     window and whatever the program's FraudPolicy rejects; suspicious
//     bindings it lets through are held for review (Service.Approve,
//     Service.Reject). Every refusal carries a Reason.
//   - Service.Handle, a scrm.Handler placed after scrm.Profiles in the
//     Dispatcher, marks invitees qualified once and grants the rewards
//     through Options.Rewarder (usually a scrm.RewardRouter over the member
//     and coupon services), each with an idempotency key derived from the
//     program, inviter and invitee, and claimed in the Store's grant ledger
//     first, so that 50 deliveries of one event make one grant.
//   - Percent rewards and commissions wait in a ledger for the return
//     window (Program.SettleAfter, as it was when they were recorded: each
//     entry keeps its own DueAt); a refund before then reduces them in
//     proportion to the amount refunded, counting each refund once, and
//     reverses them when the whole order is refunded; Service.Settle pays
//     what is left.
//   - Group buys (Service.Open, Service.Join, Service.DrawGroupBuy) and bargains
//     (Service.Start, Service.Help) keep their counts in the Store, which
//     enforces them atomically: N customers racing for a team's last place
//     get one place; helps racing on a session each cut once and sum to
//     exactly Price − Floor. Their random outcomes come from a seed recorded
//     with them, so they can be recomputed (DrawWinners, Bargain.Plan).
//   - Lucky draws (Service.SaveLottery, Service.Draw, or a customer replying
//     the lottery's Keyword through Service.Handle) pick a prize or nothing
//     by weight, atomically in the Store, so that a prize is never won more
//     often than its Stock and a customer never draws more than
//     PerCustomerPerDay times a local day. An entry cost in points is
//     charged through Options.PointsSpender once the draw is held, and the
//     prize granted through Options.Rewarder, each once per draw. Each
//     draw's record holds the lottery's seed, the draw's number and the
//     odds it was drawn with, so DrawResult.Audit recomputes it; Results
//     and Winners page through them.
//
// Time comes from Options.Clock; nothing runs in the background. Expired
// teams are finished when touched and by Service.Sweep, which the host calls
// periodically, as it does Service.Settle; Sweep also finishes lucky draws
// whose entry charge or prize grant failed, and publishes team outcomes and
// bargain completions whose events could not be published at the time.
//
// A Store keeps everything; NewMemoryStore is the in-memory one and
// referraltest.RunStoreTests the conformance suite for others.
package referral
