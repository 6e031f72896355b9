package scrm_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/scrmkit/scrmkit/scrm"
)

// An order.paid that came through a message queue as JSON: its items are
// read as if the event had been built in Go, and a malformed item is
// refused, naming the field.
func ExampleEvent_OrderItems() {
	const body = `{"ID":"ev-1","Type":"order.paid","Amount":"44.50",
		"Props":{"order_id":20261103001,"items":[
			{"sku":"latte","category":"coffee","price":"16.00","quantity":2},
			{"SKU":"bagel","Category":"bakery","Price":12.5,"Quantity":1}]}}`
	var ev scrm.Event
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&ev); err != nil {
		panic(err)
	}
	items, err := ev.OrderItems("host")
	fmt.Println(err)
	for _, it := range items {
		fmt.Printf("%s (%s): %s × %d\n", it.SKU, it.Category, it.Price, it.Quantity)
	}
	order, _ := ev.IDProp("host", "order_id")
	fmt.Println("order", order)

	ev.Props["items"] = []any{map[string]any{"sku": "latte", "price": "16,00"}}
	_, err = ev.OrderItems("host")
	fmt.Println(err)
	// Output:
	// <nil>
	// latte (coffee): 16 × 2
	// bagel (bakery): 12.5 × 1
	// order 20261103001
	// host: Props.items[0].price: must be a decimal amount without an exponent (a string or a number), got string 16,00
}

// Birthdays as hosts keep them: a date, a month and day, a time.Time, or
// the RFC 3339 string a time.Time becomes after a JSON round trip (its
// date read in its own offset).
func ExampleBirthdayOf() {
	for _, v := range []any{"1990-03-20", "03-20", "1990-03-20T00:00:00+08:00", "02-29", "2023-02-29"} {
		m, d, ok := scrm.BirthdayOf(v)
		fmt.Println(v, m, d, ok)
	}
	// Output:
	// 1990-03-20 3 20 true
	// 03-20 3 20 true
	// 1990-03-20T00:00:00+08:00 3 20 true
	// 02-29 2 29 true
	// 2023-02-29 0 0 false
}
