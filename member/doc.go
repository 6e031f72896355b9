// Package member runs a loyalty program: tiers by growth value (成长值), a
// points ledger of lots that expire, earn and redeem rules, checkout holds,
// refunds with clawback, and the sweeps and queries around them.
//
// # Wiring
//
//	router := scrm.NewRewardRouter()            // upgrade rewards by kind
//	var bus *scrm.Dispatcher                    // member publishes into the bus it handles
//	svc := member.New(member.NewMemoryStore(), profileStore, &member.Options{
//		Options: scrm.Options{Clock: clock, Publisher: scrm.PublisherFunc(
//			func(ctx context.Context, e scrm.Event) error { return bus.Publish(ctx, e) })},
//		Rewarder: router,
//	})
//	router.Route(scrm.RewardPoints, svc)
//	router.Route(scrm.RewardGrowth, svc)
//	bus = scrm.NewDispatcher(profiles, svc) // order.paid, order.refunded, event rules
//	svc.PutProgram(ctx, program)            // versioned; history is never rewritten
//
// A Service reads customers' profiles only to evaluate tier conditions
// (Tier.When), so New takes the scrm.ProfileStore as its second argument like
// every service that reads profiles; nil is fine when no tier has a
// condition.
//
// # The ledger
//
// Every change of an account is one atomic Store.Update: the store locks the
// account, the service computes the change, and the store saves the account,
// the order and hold records it touched, the journal entries and the
// idempotency record together. The journal explains every balance: summing
// an account's entries gives its points, held points, debt and growth, and
// summing their lot moves gives every lot (see Entry).
//
// Points live in lots, one per expiry instant: points that expire together
// share a lot, so an account has as many lots as distinct expiry dates.
// Spending, holding and clawing back draw from the lot that expires soonest
// (never-expiring points last; ties cannot happen, as equal expiries share a
// lot). The spendable balance is the lots' free points (Remaining - Held)
// minus debt.
//
// Every request first brings the account up to now: lots past their expiry
// expire and ended tier periods close, whether or not Sweep has run, so a
// request never spends an expired point. Sweep does the same for every due
// account (found through Store.ListDue, not by scanning), so that
// points.expired and member.tier_changed are published on time.
//
// # Decisions the issue left open
//
//   - Holds and expiry: held points stay in their lots, marked held, and do
//     not expire while the hold is open, so Capture always gets all of them.
//     Holding does not extend their life: Void returns them to their lots,
//     and those whose lot expired meanwhile expire at once (an "expire" entry
//     and a points.expired event). This matches refunds, which also return
//     spent points only to lots that have not expired.
//   - Refunds undo an order in proportion to the total refunded: floor(x ×
//     refunded / paid) of its points, growth and spent points in total, so
//     partial refunds never undo more than a full one and a full refund
//     undoes exactly everything. Spent points are given back first
//     (latest-expiring lot first), then earned points are clawed back (the
//     order's own lot first). What the balance cannot cover is forgiven
//     (TakeRemaining, the default) or becomes debt (AllowNegative) that later
//     points, returned points and released holds repay first. The proportion
//     base is the amount Earn credited on, or for an order that only
//     redeemed points the order amount of its hold.
//   - An order earns once: a second Earn for the same OrderID under another
//     key is ErrConflict, so an order.paid event and a direct Earn for the
//     same order cannot both pay out.
//   - Tiers: upgrades are immediate at every gain of growth; downgrades only
//     at evaluations caused by a loss (refund clawback, negative Adjust),
//     the end of a Validity period or a month leaving the Rolling window.
//     Refunds downgrade under every policy, so a refunded order cannot buy a
//     tier. Upgrade rewards are granted for every tier reached, crossed tiers
//     included, once per tier per period: ever (Cumulative), per validity
//     period (Validity) or per window (Rolling). Imported tiers grant none.
//   - Points arithmetic: base points are floored, then tier, member-day and
//     category multipliers are applied exactly and the product floored once.
//     Event rules award fixed points without multipliers.
//   - Expiry boundaries are local midnights in the tenant's zone (also
//     across DST gaps): "N days" means through the end of the N-th day after
//     the earning day; "end of the year, K periods later" expires at the
//     start of the following period.
//   - Validity periods run through the end of the same date Months later;
//     the Rolling window is calendar months, the current one included.
//   - Idempotency keys are per tenant and shared by all operations; a key
//     reused with another payload or customer is ErrConflict. Capture and
//     Void have no key: they are idempotent by the hold's state. Sweeps need
//     none. Replays republish the request's events and regrant its rewards
//     under the same deterministic IDs, which completes a request whose
//     publish failed after the ledger was saved.
//   - Redemption: each step must be worth a whole number of fen, so money
//     values are exact; OrderAmount is required on holds only when MaxShare
//     caps the order, and the cap counts every open and captured hold of the
//     order.
//   - Adjust never creates debt: removing more than the spendable points or
//     the growth value is ErrExhausted.
//   - Times in the ledger are kept within 1971–2200; lots and lot moves keep
//     them as Unix nanoseconds (with ExpiresAt methods) so that they hold no
//     pointers, which keeps copies and garbage collection cheap for accounts
//     of many lots.
//
// Merges of customers (customer.merged) are not handled yet: points stay on
// the absorbed customer's account.
package member
