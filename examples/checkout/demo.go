package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// runDemo starts the service on a random local port over a freshly seeded
// shop whose clock stands at 2026-03-03 10:00 in Shanghai, runs the script
// against it over real HTTP, and stops it.
func runDemo(ctx context.Context, w io.Writer) error {
	clock := scrmtest.NewClock(time.Date(2026, 3, 3, 10, 0, 0, 0, scrm.DefaultLocation()))
	sh, err := newShop(ctx, clock, nil)
	if err != nil {
		return err
	}
	srv, err := start("127.0.0.1:0", newServer(sh, nil))
	if err != nil {
		return err
	}
	transport := &http.Transport{}
	c := &client{base: srv.url, http: &http.Client{Transport: transport, Timeout: 10 * time.Second}, w: w}
	err = script(ctx, c, clock, sh.Customers[0].Coupons)
	transport.CloseIdleConnections()
	if serr := srv.stop(); err == nil {
		err = serr
	}
	return err
}

// client is the scripted client: it prints every request and response.
type client struct {
	base string
	http *http.Client
	w    io.Writer
}

// say prints a line of narration.
func (c *client) say(format string, args ...any) { fmt.Fprintf(c.w, "\n## "+format+"\n", args...) }

// call sends a request with body (nil for none, a string sent as is, else
// JSON), prints both sides, checks the status is want and decodes the
// response into out when out is not nil. It returns the response's
// headers and body.
func (c *client) call(ctx context.Context, method, path string, body any, want int, out any) (http.Header, []byte, error) {
	var payload []byte
	switch b := body.(type) {
	case nil:
	case string:
		payload = []byte(b)
	default:
		var err error
		if payload, err = json.Marshal(b); err != nil {
			return nil, nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return nil, nil, err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	fmt.Fprintf(c.w, "→ %s %s", method, path)
	if payload != nil {
		fmt.Fprintf(c.w, " %s", payload)
	}
	fmt.Fprintln(c.w)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(c.w, "← %s", resp.Status)
	if resp.Header.Get("Idempotent-Replayed") != "" {
		fmt.Fprintf(c.w, " (Idempotent-Replayed: %s)", resp.Header.Get("Idempotent-Replayed"))
	}
	fmt.Fprintf(c.w, "\n%s", got)
	if resp.StatusCode != want {
		return nil, nil, fmt.Errorf("%s %s: status %d, want %d", method, path, resp.StatusCode, want)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.Header, got, nil
}

// aliceCart is two tins of oolong and a teapot, with shipping.
func aliceCart() cartRequest {
	return cartRequest{Customer: "alice", OrderID: "A1001", Shipping: "6.00", Items: []itemJSON{
		{SKU: "oolong-250g", Category: "tea", Price: "58.00", Quantity: 2},
		{SKU: "teapot", Category: "ware", Price: "45.00", Quantity: 1},
	}}
}

// script is the demo: the whole flow for alice, whose coupons are
// aliceCoupons, a failed payment for bob, and bad requests. It returns an
// error when a response is not what the flow expects.
func script(ctx context.Context, c *client, clock *scrmtest.Clock, aliceCoupons []string) error {
	c.say("1. alice has 5000 points and three coupons")
	if _, _, err := c.call(ctx, http.MethodGet, "/customers/alice", nil, http.StatusOK, nil); err != nil {
		return err
	}

	c.say("2. quote her cart with all three coupons: one does not apply, and the quote says why")
	cart := aliceCart()
	cart.Coupons = &aliceCoupons
	if _, _, err := c.call(ctx, http.MethodPost, "/quote", cart, http.StatusOK, nil); err != nil {
		return err
	}

	c.say("3. quote it with no coupons named: the best combination, and the points usable on the rest")
	var q quoteResponse
	if _, _, err := c.call(ctx, http.MethodPost, "/quote", aliceCart(), http.StatusOK, &q); err != nil {
		return err
	}

	c.say("4. check out with those coupons and the most points: coupons locked, points held")
	chk := checkoutRequest{cartRequest: aliceCart(), IdempotencyKey: "chk-A1001"}
	chosen := make([]string, len(q.Coupons))
	for i, a := range q.Coupons {
		chosen[i] = a.Coupon
	}
	chk.Coupons, chk.Points = &chosen, q.Points.Max
	var order checkoutResponse
	_, first, err := c.call(ctx, http.MethodPost, "/checkout", chk, http.StatusOK, &order)
	if err != nil {
		return err
	}

	c.say("5. the app retries the same checkout (a flaky network): the same response, nothing taken twice")
	h, again, err := c.call(ctx, http.MethodPost, "/checkout", chk, http.StatusOK, nil)
	if err != nil {
		return err
	}
	if h.Get("Idempotent-Replayed") != "true" || !bytes.Equal(first, again) {
		return fmt.Errorf("retried checkout: want the first response replayed")
	}

	c.say("6. WeChat Pay calls back: ¥%s paid. Coupons redeemed, points spent, the cash earns points", order.CashDue)
	pay := paymentRequest{OrderID: "A1001", PaymentID: "wx-4200001", Status: paymentPaid, Amount: order.CashDue}
	if _, _, err := c.call(ctx, http.MethodPost, "/payments/callback", pay, http.StatusOK, nil); err != nil {
		return err
	}
	if _, _, err := c.call(ctx, http.MethodGet, "/customers/alice", nil, http.StatusOK, nil); err != nil {
		return err
	}

	clock.Advance(24 * time.Hour)
	c.say("7. the next day one tin comes back: its price less its exact share of the coupons, split into cash and points")
	part := refundRequest{OrderID: "A1001", IdempotencyKey: "rf-A1001-1", Lines: []refundLineJSON{{Line: 0, Quantity: 1}}}
	if _, _, err := c.call(ctx, http.MethodPost, "/refund", part, http.StatusOK, nil); err != nil {
		return err
	}

	c.say("8. then the rest: the cash refunded adds up to the cash paid, every point is back, the coupons return to the wallet")
	rest := refundRequest{OrderID: "A1001", IdempotencyKey: "rf-A1001-2"}
	if _, _, err := c.call(ctx, http.MethodPost, "/refund", rest, http.StatusOK, nil); err != nil {
		return err
	}
	if _, _, err := c.call(ctx, http.MethodGet, "/orders/A1001", nil, http.StatusOK, nil); err != nil {
		return err
	}

	c.say("9. bob checks out with his coupon and points, and the payment fails: both come back")
	bob := checkoutRequest{cartRequest: cartRequest{Customer: "bob", OrderID: "B2001", Points: 800,
		Items: []itemJSON{{SKU: "oolong-250g", Category: "tea", Price: "58.00", Quantity: 1}}}}
	if _, _, err := c.call(ctx, http.MethodPost, "/checkout", bob, http.StatusOK, nil); err != nil {
		return err
	}
	failed := paymentRequest{OrderID: "B2001", PaymentID: "wx-4200002", Status: paymentFailed}
	if _, _, err := c.call(ctx, http.MethodPost, "/payments/callback", failed, http.StatusOK, nil); err != nil {
		return err
	}
	if _, _, err := c.call(ctx, http.MethodGet, "/customers/bob", nil, http.StatusOK, nil); err != nil {
		return err
	}

	c.say("10. bad requests get a status and a JSON error naming the field")
	for _, bad := range []struct {
		method, path string
		body         any
		want         int
	}{
		{http.MethodPost, "/quote", `{"customer":"bob","items":[{"sku":"oolong-250g","price":58,"quantity":1}]}`, http.StatusBadRequest},
		{http.MethodPost, "/quote", `{"customer":"bob","items":[{"sku":"oolong-250g","price":"58.001","quantity":1}]}`, http.StatusBadRequest},
		{http.MethodPost, "/checkout", strings.Replace(`{"customer":"bob","order_id":"B2002","points":2000,"items":[ITEM]}`,
			"ITEM", `{"sku":"oolong-250g","price":"58.00","quantity":1}`, 1), http.StatusUnprocessableEntity},
		{http.MethodPost, "/checkout", `{"customer":"alice","order_id":"A1001","idempotency_key":"chk-A1001","items":[{"sku":"teapot","price":"45.00","quantity":1}]}`, http.StatusConflict},
		{http.MethodPost, "/refund", `{"order_id":"Z9999","idempotency_key":"rf-1"}`, http.StatusNotFound},
		{http.MethodGet, "/checkout", nil, http.StatusMethodNotAllowed},
	} {
		if _, _, err := c.call(ctx, bad.method, bad.path, bad.body, bad.want, nil); err != nil {
			return err
		}
	}
	return nil
}
