package bakery_test

import (
	"context"
	"fmt"

	"github.com/scrmkit/scrmkit/examples/quickstart/bakery"
)

// A short run: 100 people over three weeks. The figures are the ones the
// run computes; the same seed prints the same figures.
func ExampleRun() {
	r, err := bakery.Run(context.Background(), bakery.Config{Customers: 100, Days: 21, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d customers (%d merged duplicates), %d orders, ¥%s\n", r.Customers, r.Merged, r.Orders, r.Revenue.StringFixed(2))
	for _, s := range r.KPIs.Funnel.Steps {
		fmt.Printf("%-12s %3d\n", s.Name, s.Customers)
	}
	fmt.Printf("story of %s: %d moments, starting with: %s\n", r.Story.Customer, len(r.Story.Lines), r.Story.Lines[0].Text)
	// Output:
	// 100 customers (2 merged duplicates), 73 orders, ¥3057.80
	// added        100
	// joined group  46
	// first order   18
	// second order   5
	// story of C00001: 20 moments, starting with: scans the channel code of 大刘 (静安店) and adds 大刘 on WeCom (campaign 开春上新): customer C00001
}
