package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scrmkit/scrmkit/examples/quickstart/bakery"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The quickstart's story must stay true: one merge, each rule matching the
// customer it was written for, tags from rules and keywords, and touches at
// the right local times that stop when the customer buys.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	s := out.String()
	for _, want := range []string{
		// 1. OneID, profiles, rules
		"event: C002 merged into C001",
		"Get(C002) now returns C001 with 2 identities",
		"- C001 李雷 (上海): orders 3, spent ¥385.00",
		"matches: 高价值复购 (repeat buyer, high value)\n- C003",
		"matches: 沪杭新客待转化 (new lead in 上海/杭州, no order yet)\n- C004",
		"matches: 沉睡预警 (no order for 30 days)\n",
		"true  event page.viewed within 1w count >= 1 (observed 1)",
		// 2. tags
		"- C001: 中 (rule:spend-mid), 复购 (rule:repeat)\n",
		"- C003: 拒绝营销 (keyword:refuse), 新客 (rule:new-lead)\n",
		"customers tagged 复购: 1\n",
		// segments: a refresh with its diff, an event-driven entry, RFM.
		"refresh high-value: evaluated 3, entered [C001], exited [], size 1",
		"C004 pays ¥268.00: in high-value true, size 2",
		"  C003      (no order in the window)",
		// 3. touches: quiet hours defer the welcome to 08:00, day-N at 10:00,
		// the purchase ends the sequence, and 韩梅梅 (拒绝营销) gets nothing.
		"Tue 11-03 08:00  → C006 欢迎语+新人券 via wecom",
		"Tue 11-03 10:00  → C006 品牌故事 via wecom",
		"Thu 11-05 10:00  → C006 爆品推荐 via wecom",
		"stats new-lead/day8: enrolled 3, sent 0, deferred 0, skipped 1, cancelled 2",
		// 4. members: member-day points, upgrade with its reward, points at
		// checkout capped at half the order, refund downgrade, expiry.
		"¥800 on member day:          C001 points  2356  growth  1056  tier 金卡",
		"checkout of ¥60: 2300 points pay ¥23.00, ¥37.00 by WeChat Pay",
		"after a ¥400 refund:         C001 points     0  growth   656  tier 银卡",
		"2028-01-01 sweep expired 492 points",
		// 5. coupons: per-customer limit, best combination, lock exclusivity.
		"second 满200减30: coupon.Claim: coupon.MemoryStore.Claim: PerCustomer: customer reached the limit of 1 per customer",
		"quote for 2 lattes (¥64.00): 200-30 rejected: min_spend, short by ¥136.00",
		"takes ¥59.62 off, payable ¥189.38",
		"refund one bag: pay back ¥71.92 (coupon share ¥26.08), whole order refunded: false",
		"another order with the same coupons: coupon.Lock: Coupons[0]: coupon CP009: locked", // Best lists coupons in application order
		"C004 earns points on the ¥189.38 paid: balance 226",                                 // 189 × 1.2 (银卡)
		// 6. referral: self-referral refused, rewards once despite a
		// redelivered order, commission after the return window.
		"C004 binding her own code: self_referral",
		"after a ¥88 first order (delivered twice): coupons [new-10], points 288",
		"C004: coupons [beans-88]; invited 1, qualified 1, commission pending ¥8.80",
		"after the return window: settled 1 commission, ¥8.80, paid into C004's stored value (bonus ¥8.80)",
		// 8. the desk: owner from the channel code, the template rendered
		// per customer (variant for the repeat buyer), tasks follow the
		// customers when their owner leaves.
		"(小美) scans 小张's channel code qr-zhang: owner xiaozhang (channel_code)",
		"join 静安店福利群: size 2",
		`→ C015 group-welcome: "小美，欢迎加入静安店福利群！每晚 21:30 清货特价"`,
		`→ C001 group-welcome: "李雷老朋友，欢迎加入静安店福利群！每周三会员日积分翻倍"`,
		"join rate (加群率) of store jingan: 1 added, 1 joined a group within 7 days (100.0%)",
		"小张 leaves (离职继承): 2 customers move to xiaoli\nopen tasks of xiaozhang: none\nopen tasks of xiaoli: [入群回访 (call after joining) for C001",
		"[01-20 17:00 xiaozhang → xiaoli (departure)]",
		// 9. the points mall (limit 1, a retry replays) and a keyword draw
		// that costs points, is limited per day and audits from its seed.
		"mall: C015 exchanges 300 points for 10 元无门槛券: balance 68, reward coupon new-10 (done)",
		"the same request again (a retry): replayed true, balance 68",
		"a second exchange: member.MemoryStore.ChargeExchange: PerCustomer:",
		`draw: C015 replies "抽奖": draw #1 costs 20 points, wins beans (coupon); audit from the recorded seed: ok`,
		"a second draw the same day: referral.Draw: referral.MemoryStore.EnterLottery: the customer drew 1 times on 2028-01-20: daily_limit",
		"C015's points now: 48",
		// 10. check-in with a make-up, a plan from trial to break-even,
		// stored value with its bonus.
		"check-in Tue 01-25: streak 1, rewards 5 points\nmake-up Mon 01-24 (补签): cost 10 points, streak 4, no ladder reward",
		"check-in Thu 01-27: streak 7, rewards 50 points + coupon new-10\ncheck-in again the same day: replayed true",
		"Fri 02-04  order A3101 of ¥30.00 costs her ¥20.40 (rate 0.68), saving ¥9.60",
		"1 term settled with ¥6.00 stored value (开卡保本)",
		"top-up ¥300 (充300送40+100积分): principal ¥300.00, bonus ¥46.00",
		"pays ¥100 from stored value: ¥86.71 principal + ¥13.29 bonus (in proportion); left ¥213.29 + ¥32.71",
		"pays ¥500: member.Pay: Amount: balance 246.00 is short of 500.00",
		"C015's points now: 213",
	} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, "限时优惠", "no touch after the purchase")
	assert.NotContains(t, s, "→ C003", "no touch to a customer who refused marketing")
	assert.NotContains(t, s, "13800138000", "phone numbers are masked")
}

// Part B, small: the simulation prints its story and KPI tables and writes
// an HTML report with both charts.
func TestSimulate(t *testing.T) {
	var out bytes.Buffer
	path := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, simulate(context.Background(), &out, bakery.Config{Customers: 200, Days: 30}, path))
	s := out.String()
	for _, want := range []string{"200 customers over 30 days", "Retention by month of joining", "RFM classes", "report with charts: " + path} {
		assert.Contains(t, s, want)
	}
	html, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(html), "<svg"), "the funnel chart and the cohort heatmap")
}
