// Package member runs a loyalty program: tiers by growth value (成长值), a
// points ledger of lots that expire, earn and redeem rules, checkout holds,
// refunds with clawback, and the sweeps and queries around them; daily
// check-in streaks, paid membership plans with trials and a break-even
// guarantee, stored value with top-up bonuses, and a points mall.
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
//	router.Route(scrm.RewardStoredValue, svc)
//	bus = scrm.NewDispatcher(profiles, svc) // order.paid, order.refunded, event rules
//	svc.PutProgram(ctx, program)            // versioned; history is never rewritten
//	// and, from a scheduler: svc.Sweep(ctx, tenant); svc.RunPlans(ctx, tenant)
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
//     points, returned points and released holds repay first. Forgiven
//     points (held or spent when the clawback came) are still taken from
//     points that come back without being earned, a Void's released points
//     and a refund's returned spent points (AccountState.Unclawed), so
//     neither abandoning a checkout nor refunding the order they were spent
//     on lets a refunded order's points survive; new points never pay them,
//     nor do points held or spent after the clawback that forgave them
//     (AccountState.UnclawedParts).
//     The proportion base is the amount Earn credited on, or for an order
//     that only redeemed points the order amount of its hold, or, when it
//     was given none, what its spent points paid (¥5.00 for 500 points at
//     100 points a yuan).
//   - An order earns once: a second Earn for the same OrderID under another
//     key is ErrConflict, so an order.paid event and a direct Earn for the
//     same order cannot both pay out.
//   - Tiers: upgrades are immediate at every gain of growth; downgrades only
//     at evaluations caused by a loss (refund clawback, negative Adjust),
//     the end of a Validity period or a month leaving the Rolling window.
//     A loss goes straight to the tier the remaining growth qualifies for
//     under every policy and Downgrade mode, so a refunded order cannot buy
//     a tier (not even the one below it); OneDown limits only the
//     time-caused downgrades to one tier per evaluation. Upgrade rewards
//     are granted for every tier reached, crossed tiers included, once per
//     tier per period: ever (Cumulative), per validity period (Validity) or
//     per window (Rolling). Imported tiers grant none.
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
// # Check-in, paid membership and stored value
//
// Three more things merchants run every day live beside the ledger, each
// with its own part of the Store (CheckInStore, PlanStore,
// StoredValueStore) and the same rules: atomic per customer, idempotent,
// tenant-isolated, versioned configuration.
//
//   - Check-in (签到): PutCheckInRule sets a reward ladder by streak day with
//     a cycle and make-ups; CheckIn records one check-in per customer per
//     local day (the store enforces it) and grants the day's rewards through
//     Options.Rewarder; MakeUp (补签) fills a missed day of the month, paying
//     its cost from the points ledger; CheckInCalendar shows a month.
//   - Paid membership (付费会员): PutPlan defines plans (price, period, trial,
//     benefits); StartTrial, Subscribe (renewals extend from the current
//     end), Cancel (optionally pro rata), Membership, RecordSaving and
//     PriceFor serve requests; RunPlans, which the host schedules like
//     Sweep, releases coupon-pack tranches, grants birthday rewards, settles
//     the break-even guarantee as stored value and ends expired terms, each
//     exactly once. A plan's points multiplier applies inside Earn.
//   - Stored value (储值): PutTopUpRule sets top-up bonuses; TopUp, Pay,
//     RefundPayment, Withdraw and Balance keep principal and bonus apart,
//     in fen, so that no fen is ever created or lost. The service's Grant
//     holds kind "stored_value" (to the bonus balance), which is how the
//     break-even guarantee and other packages' rewards pay stored value.
//
// Decisions the issue left open there:
//
//   - Check-in days are the tenant's local dates; a check-in dated before
//     today is accepted only within FutureTolerance (a tap before midnight
//     arriving after it). A make-up fills a day of the current month before
//     today, repairs the streak on both sides and earns no ladder reward;
//     its points are spent first and returned if the make-up then fails. A
//     day's rewards are chosen when it is checked in: a later make-up does
//     not re-price earlier days.
//   - Subscribing during a trial converts it at once (the trial ends, the
//     paid term starts now). A customer tries each plan once, and cannot
//     start a trial while a term runs. A renewal of another plan queues
//     after the current end. Cancel ends the membership now (a tranche or
//     birthday reward due before it is still delivered, once); without
//     ProRata nothing is refunded (prepaid renewals included); with it the
//     unused time of the current term and all of the renewals, and with
//     LessSaved too the current term's refund less what it saved.
//   - Trials get the plan's rates and points multiplier, not its coupon
//     pack, birthday reward or break-even guarantee. Cancelled terms are
//     not settled. The break-even settlement happens 2×FutureTolerance
//     after the term's end; savings are accepted until FutureTolerance
//     after it, so the settlement sees them all.
//   - Coupon-pack tranches fall on days 0–27 of each membership month (from
//     the term's start date), at local midnight but never before the month
//     starts; a birthday reward is granted once a year when the birthday
//     overlaps a paid term (29 February on 28 February in other years).
//   - PriceFor multiplies the plan's, the weekly day's and the tier's rates
//     by default (Options.PlanRates = BestRate takes the lowest) and rounds
//     once, half up, to the fen.
//   - Stored value: a top-up gets the bonus of the highest step it reaches,
//     once. Pay draws proportionally (the bonus part rounded half up) or
//     bonus last (Options.StoredValuePay). Refunds return a payment's
//     parts in its own proportion, floor for the bonus. Withdraw pays out
//     the principal minus the bonus used beyond its fair share of the
//     current cycle (the formula is on Withdraw) and forfeits the bonus.
//     One stored-value payment per order. Amounts are stored in fen.
//   - Idempotency keys of stored value, check-in make-ups and memberships
//     are per tenant within each of those parts (a key of the points ledger
//     does not collide with a top-up's); check-ins need no key (the day is
//     the key) and RecordSaving is idempotent by order.
//
// # Points mall
//
// The points mall (积分商城) sells catalog items for points: PutCatalogItem
// defines an item (price in points, the reward it grants, stock, a limit
// per customer, the tiers that may buy it, a sale window), and Exchange
// runs a purchase in three idempotent steps. First one atomic store step
// (MallStore.ChargeExchange) checks and counts stock and the customer's
// limit, spends the price from the ledger soonest-expiring first and
// records the exchange as pending; then the reward is granted through
// Options.Rewarder; then the exchange is marked done, or, when the grant
// failed, one atomic step returns the points to the lots they came from,
// the stock and the customer's count. A crash between steps leaves a
// pending exchange that a retry with the same key, or ResumeExchanges,
// completes. The mall's idempotency keys are its own, not shared with the
// ledger's.
//
// Merges of customers (customer.merged) are not handled yet: points, check-ins,
// memberships and stored value stay with the absorbed customer.
package member
