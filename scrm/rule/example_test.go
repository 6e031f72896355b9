package rule_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// ExampleCompile decodes a condition as an operator UI saves it, compiles
// it once and evaluates it against a customer profile.
func ExampleCompile() {
	const saved = `{"all": [
	  {"attr": "city", "op": "in", "value": ["上海", "杭州"]},
	  {"event": "order.paid", "within": "30d", "count": {"gte": 2}},
	  {"event": "order.paid", "within": "90d", "sum": {"gte": "500.00"}},
	  {"not": {"segment": "blacklist"}}
	]}`
	var c rule.Condition
	if err := json.Unmarshal([]byte(saved), &c); err != nil {
		fmt.Println(err)
		return
	}
	p, err := rule.Compile(c, nil)
	if err != nil {
		fmt.Println(err)
		return
	}

	loc := scrm.DefaultLocation()
	now := time.Date(2024, 6, 15, 12, 0, 0, 0, loc)
	profile := scrm.NewProfile("t1", "c1")
	profile.SetAttr("city", "杭州")
	for i, amount := range []string{"320.00", "199.00"} {
		profile.Apply(scrm.Event{
			ID: fmt.Sprint("o", i), Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
			Time: now.AddDate(0, 0, -10*(i+1)), Amount: scrm.Yuan(amount),
		})
	}
	fmt.Println("matches:", p.Eval(profile, now))

	profile.SetSegment("blacklist", true)
	fmt.Println("blacklisted:", p.Eval(profile, now))

	// A bad condition is reported with its path.
	_, err = rule.Compile(rule.Condition{All: []rule.Condition{
		rule.InSegment("vip"),
		{Event: scrm.EventOrderPaid, Sum: &rule.Cmp{Gte: "abc"}},
	}}, nil)
	fmt.Println(err)
	// Output:
	// matches: true
	// blacklisted: false
	// rule.Compile: all[1].sum.gte: want a decimal, got "abc"
}

// Example_builders builds a condition in Go instead of JSON.
func Example_builders() {
	day := 24 * time.Hour
	c := rule.All(
		rule.Attr("tier").In("gold", "platinum"),
		rule.Event(scrm.EventOrderPaid).Within(90*day).SumGte(scrm.Yuan("1000.00")),
		rule.Any(
			rule.Attr("birthday").BirthdayWithin(7),
			rule.Not(rule.Event(scrm.EventOrderPaid).LastWithin(30*day)),
		),
	)
	fmt.Println(c)

	p := rule.MustCompile(c, nil)
	fmt.Println(p)
	fmt.Println(p.Deps())
	// Output:
	// {"all":[{"attr":"tier","op":"in","value":["gold","platinum"]},{"event":"order.paid","within":"90d","sum":{"gte":1000.00}},{"any":[{"attr":"birthday","op":"birthdayWithin","value":"1w"},{"not":{"event":"order.paid","last":{"within":"30d"}}}]}]}
	// all(attr tier in ["gold", "platinum"], event order.paid within 90d sum >= 1000.00, any(attr birthday birthdayWithin 1w, not(event order.paid last within 30d)))
	// {[birthday tier] [order.paid] [] [] true}
}

// ExampleProgram_Explain shows why a customer does or does not match.
func ExampleProgram_Explain() {
	loc := scrm.DefaultLocation()
	now := time.Date(2024, 6, 15, 12, 0, 0, 0, loc)
	p := rule.MustCompile(rule.All(
		rule.Attr("city").Eq("上海"),
		rule.Event(scrm.EventOrderPaid).Within(30*24*time.Hour).CountGte(2),
		rule.TagAppliedWithin("到店未成交", 7*24*time.Hour),
	), nil)

	profile := scrm.NewProfile("t1", "c1")
	profile.SetAttr("city", "上海")
	profile.Apply(scrm.Event{ID: "o1", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
		Time: now.Add(-72 * time.Hour), Amount: scrm.Yuan("88.00")})
	profile.SetTag("到店未成交", scrm.TagMark{At: now.Add(-24 * time.Hour), Source: "manual"})

	fmt.Print(p.Explain(profile, now))
	// Output:
	// false all
	//   true  attr city eq "上海" (observed "上海")
	//   false event order.paid within 30d count >= 2 (observed 1)
	//   true  tag 到店未成交 appliedWithin 1w (applied 2024-06-14T12:00:00+08:00)
}
