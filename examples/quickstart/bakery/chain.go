package bakery

import (
	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// shop is one store of the chain, with its staff and its customer group
// (门店福利群), where the nightly clearance is posted.
type shop struct {
	ID, Name string
	Group    string  // the WeCom customer group of the store
	Weight   float64 // share of the walk-in arrivals
	Staff    []clerk
}

// clerk is one staff member, who adds customers on WeCom with a personal
// channel code (员工渠道码).
type clerk struct {
	ID, Name string
	Code     string // the channel code, from referral.Service.StaffCode
}

// chainShops returns the chain: three stores in Shanghai, 2–3 staff each.
func chainShops() []shop {
	return []shop{
		{ID: "xuhui", Name: "徐汇店", Group: "徐汇店福利群", Weight: 0.40, Staff: []clerk{
			{ID: "xh-wang", Name: "小王"}, {ID: "xh-li", Name: "小李"}, {ID: "xh-zhao", Name: "老赵"}}},
		{ID: "jingan", Name: "静安店", Group: "静安店福利群", Weight: 0.35, Staff: []clerk{
			{ID: "ja-fang", Name: "阿芳"}, {ID: "ja-liu", Name: "大刘"}}},
		{ID: "pudong", Name: "浦东店", Group: "浦东店福利群", Weight: 0.25, Staff: []clerk{
			{ID: "pd-chen", Name: "小陈"}, {ID: "pd-zhou", Name: "小周"}, {ID: "pd-sun", Name: "孙姐"}}},
	}
}

// product is one item of the menu.
type product struct {
	SKU, Name, Category string
	Price               decimal.Decimal
	Bread               bool // sold at the nightly clearance
}

// Product categories. 蛋糕 is the scope of the gold tier's cake coupon.
const (
	catBread  = "面包"
	catCake   = "蛋糕"
	catPastry = "甜点"
	catDrink  = "饮品"
)

// menu returns what the bakery sells.
func menu() []product {
	return []product{
		{"baguette", "法棍", catBread, scrm.Yuan("12.00"), true},
		{"toast", "全麦吐司", catBread, scrm.Yuan("18.00"), true},
		{"croissant", "黄油可颂", catBread, scrm.Yuan("9.50"), true},
		{"floss", "肉松面包", catBread, scrm.Yuan("8.00"), true},
		{"strawberry-slice", "草莓奶油切块", catCake, scrm.Yuan("28.00"), false},
		{"basque", "巴斯克芝士", catCake, scrm.Yuan("32.00"), false},
		{"birthday-6", "6寸生日蛋糕", catCake, scrm.Yuan("168.00"), false},
		{"egg-tart", "葡式蛋挞", catPastry, scrm.Yuan("7.00"), false},
		{"macaron", "马卡龙", catPastry, scrm.Yuan("12.00"), false},
		{"latte", "拿铁", catDrink, scrm.Yuan("22.00"), false},
		{"soy-milk", "现磨豆浆", catDrink, scrm.Yuan("6.00"), false},
	}
}
