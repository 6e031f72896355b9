// Package bakery simulates a bakery chain's private domain (私域) on
// scrmkit for 90 days, end to end, on the in-memory stores and a simulated
// clock, and reports what it did: the story of one customer and the KPIs.
// It is the core of examples/quickstart.
//
// # The chain
//
// 麦香坊 has three stores in Shanghai (徐汇店, 静安店, 浦东店) with two or three
// staff each, and one WeCom customer group per store. A few thousand
// generated people (seeded, so a run is reproducible) arrive over the
// period:
//
//   - at the till, by the store's QR code, or by a staff member's channel
//     code (员工渠道码), as customer.added events with Props "store",
//     "staff", "channel_code" and "campaign";
//   - by a friend's invite code (老带新): the friend binds with
//     referral.Service.Bind and gets a coupon, and when their first order
//     of ¥30+ comes within 14 days both sides are rewarded, once;
//   - about one in twenty arrives a second time under a new OpenID (the
//     official account of another store). The Directory creates a second
//     customer, and when the mini-program's login links the OpenID to the
//     person's UnionID a minute later, merges it into the first (OneID);
//     the host then ends the duplicate's SOP enrollments, so nobody is
//     welcomed twice.
//
// The operator's setup (see setup.go): rule tags (新客, 复购, 常客, 社群成员,
// an exclusive 消费力 group) and a keyword tag (拒绝营销) that the delivery
// policy suppresses; a dynamic segment 沉睡 (no order for 21 days) refreshed
// nightly; a member program with tiers by growth value, points ×2 on
// Wednesdays (会员日) and a cake coupon for reaching 金卡; five coupon
// templates; and SOPs: a welcome with a new-customer coupon and a group
// invitation the next morning, a day-4 reminder while the 新客 tag holds,
// a weekend wake-up coupon for the dormant, and a weekly calendar of group
// posts — the 21:30 晚间清货 every night and the Wednesday 会员日 morning.
// No message goes out in the quiet hours (22:00–08:00): the policy defers it.
//
// # The people
//
// Each person has a persona (heavy, regular, occasional, one-off) that sets
// a daily purchase probability and how fast interest fades. Coupons in the
// wallet, a recent touch, weekends and member days raise it; the group
// invitation, the reminder, the wake-up coupon and the clearance post make
// people act; a repeat buyer sometimes invites a friend. See behave.go for
// the model and its constants. Orders go through the coupon checkout
// (Best, Lock, Confirm) and are published as order.paid with their items.
//
// # The run
//
// One scrm.Dispatcher wires Profiles, tagging, segment, member, referral
// and sop, and a last handler that logs every event. The simulated clock
// advances action by action; the SOP scheduler runs every five simulated
// minutes and before every action; at 02:00 the host sweeps coupons,
// points and time-based tags and refreshes the dormant segment. Messages go
// to a scrmtest.Recorder. The whole run is single-threaded and
// deterministic.
//
// # The report
//
// Result.Story tells one customer's journey (arrival, welcome, tags,
// coupons, orders with their points, tier changes, a friend they brought),
// chosen to show as much of the demo as possible. Result.KPIs holds the
// funnel, repurchase rate, retention cohorts, RFM classes, coupon
// redemption and the referral K-factor, every figure computed by package
// scrm/metrics (RFM by package segment). WriteText prints both;
// WriteHTML writes them as one page with SVG charts.
//
//	r, err := bakery.Run(ctx, bakery.Config{Customers: 3000})
//	if err != nil { ... }
//	r.WriteText(os.Stdout)
package bakery
