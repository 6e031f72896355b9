package scrm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

func ExampleDirectory_Resolve() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	n := 0
	dir := scrm.NewDirectory(scrm.NewMemoryDirectoryStore(), &scrm.Options{
		Clock: scrm.ClockFunc(func() time.Time { return now }),
		NewID: func() string { n++; return fmt.Sprintf("C%d", n) },
		Publisher: scrm.PublisherFunc(func(_ context.Context, e scrm.Event) error {
			fmt.Println("published:", e.Type, e.Prop("from"), "->", e.Prop("into"), "id", e.ID)
			return nil
		}),
	})

	// A shopper registers in the store with a phone number ...
	phone := scrm.Identity{Kind: scrm.IdentityPhone, Value: "+86 138-0013-8000"}
	a, _ := dir.Resolve(ctx, "acme", phone)
	// ... and an hour later follows the official account: a new customer.
	now = now.Add(time.Hour)
	unionID := scrm.Identity{Kind: scrm.IdentityUnionID, Value: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"}
	b, _ := dir.Resolve(ctx, "acme", unionID)
	fmt.Println("customers:", a, b)

	// Binding the phone in the mini program links the two identities: the
	// newer customer is merged into the older one.
	now = now.Add(time.Hour)
	r, _ := dir.ResolveDetail(ctx, "acme", unionID, phone)
	fmt.Println("resolved:", r.Customer, "merged:", r.Merged)

	c, _ := dir.Get(ctx, "acme", b) // follows the merge
	fmt.Println(c)

	// Output:
	// customers: C1 C2
	// published: customer.merged C2 -> C1 id merge:C2:C1
	// resolved: C1 merged: [C2]
	// customer acme/C1 [phone:138****8000 wechat_unionid:o6_b***]
}
