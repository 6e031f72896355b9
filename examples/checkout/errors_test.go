package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bad requests get the status of their error class and a JSON error
// naming the field, and change nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	item := `{"sku":"oolong-250g","category":"tea","price":"58.00","quantity":1}`
	cart := func(extra string) string {
		return `{"customer":"alice","order_id":"X1","items":[` + item + `]` + extra + `}`
	}
	tooMany := make([]string, maxItems+1)
	for i := range tooMany {
		tooMany[i] = item
	}
	for _, tc := range []struct {
		name   string
		path   string
		body   string
		status int
		code   string
		field  string
	}{
		{"empty body", "/quote", ``, 400, "invalid", ""},
		{"not JSON", "/quote", `{"customer":`, 400, "invalid", ""},
		{"two objects", "/quote", cart("") + `{}`, 400, "invalid", ""},
		{"unknown field", "/quote", cart(`,"discount":"5.00"`), 400, "invalid", "discount"},
		{"money as a number", "/quote", `{"customer":"alice","items":[{"sku":"a","price":58,"quantity":1}]}`, 400, "invalid", "items.price"},
		{"quantity as a string", "/quote", `{"customer":"alice","items":[{"sku":"a","price":"58","quantity":"1"}]}`, 400, "invalid", "items.quantity"},
		{"sub-fen price", "/quote", `{"customer":"alice","items":[{"sku":"a","price":"58.001","quantity":1}]}`, 400, "invalid", "items[0].price"},
		{"negative price", "/quote", `{"customer":"alice","items":[{"sku":"a","price":"-1.00","quantity":1}]}`, 400, "invalid", "items[0].price"},
		{"exponent price", "/quote", `{"customer":"alice","items":[{"sku":"a","price":"1e3","quantity":1}]}`, 400, "invalid", "items[0].price"},
		{"huge price", "/quote", `{"customer":"alice","items":[{"sku":"a","price":"1000000.01","quantity":1}]}`, 400, "invalid", "items[0].price"},
		{"zero quantity", "/quote", `{"customer":"alice","items":[{"sku":"a","price":"1.00","quantity":0}]}`, 400, "invalid", "items[0].quantity"},
		{"no sku", "/quote", `{"customer":"alice","items":[{"price":"1.00","quantity":1}]}`, 400, "invalid", "items[0].sku"},
		{"no customer", "/quote", `{"items":[` + item + `]}`, 400, "invalid", "customer"},
		{"no items", "/quote", `{"customer":"alice","items":[]}`, 400, "invalid", "items"},
		{"too many items", "/quote", `{"customer":"alice","items":[` + strings.Join(tooMany, ",") + `]}`, 400, "invalid", "items"},
		{"bad shipping", "/quote", cart(`,"shipping":"six"`), 400, "invalid", "shipping"},
		{"negative points", "/quote", cart(`,"points":-100`), 400, "invalid", "points"},
		{"coupon twice", "/quote", cart(`,"coupons":["CP0001","CP0001"]`), 400, "invalid", "coupons[1]"},
		{"unknown coupon", "/quote", cart(`,"coupons":["CP9999"]`), 404, "not_found", ""},
		{"another customer's coupon", "/quote", cart(`,"coupons":["CP0004"]`), 403, "forbidden", ""},
		{"points off the step", "/quote", cart(`,"points":150`), 400, "invalid", "points"},
		{"points below the minimum", "/quote", cart(`,"points":50`), 400, "invalid", "points"},
		{"points over half the order", "/quote", cart(`,"points":2500`), 400, "invalid", "points"},
		{"body too large", "/quote", `{"customer":"alice","store":"` + strings.Repeat("x", maxBody) + `"}`, 413, "too_large", ""},

		{"checkout without order", "/checkout", `{"customer":"alice","items":[` + item + `]}`, 400, "invalid", "order_id"},
		{"checkout key too long", "/checkout", cart(`,"idempotency_key":"` + strings.Repeat("k", maxIDLen+1) + `"`), 400, "invalid", "idempotency_key"},
		{"coupon that does not apply", "/checkout", cart(`,"coupons":["CP0001","CP0002"]`), 403, "forbidden", "coupons[1]"},
		{"more points than the balance", "/checkout", `{"customer":"bob","order_id":"X2","points":1000,"items":[` + item + `]}`, 422, "exhausted", "points"},

		{"payment without order", "/payments/callback", `{"payment_id":"wx","status":"paid","amount":"1.00"}`, 400, "invalid", "order_id"},
		{"payment bad status", "/payments/callback", `{"order_id":"X1","payment_id":"wx","status":"ok"}`, 400, "invalid", "status"},
		{"payment without amount", "/payments/callback", `{"order_id":"X1","payment_id":"wx","status":"paid"}`, 400, "invalid", "amount"},
		{"payment of no order", "/payments/callback", `{"order_id":"X1","payment_id":"wx","status":"paid","amount":"1.00"}`, 404, "not_found", "order_id"},

		{"refund without key", "/refund", `{"order_id":"X1"}`, 400, "invalid", "idempotency_key"},
		{"refund negative quantity", "/refund", `{"order_id":"X1","idempotency_key":"r","lines":[{"line":0,"quantity":-1}]}`, 400, "invalid", "lines[0].quantity"},
		{"refund line twice", "/refund", `{"order_id":"X1","idempotency_key":"r","lines":[{"line":0},{"line":0}]}`, 400, "invalid", "lines[1].line"},
		{"refund of no order", "/refund", `{"order_id":"X1","idempotency_key":"r"}`, 404, "not_found", "order_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			er := e.fails(tc.status, http.MethodPost, tc.path, tc.body)
			assert.Equal(t, tc.code, er.Code)
			assert.Equal(t, tc.field, er.Field)
		})
	}
	// Nothing was written: alice's and bob's points and coupons are as seeded.
	assert.Equal(t, int64(5000), e.account("alice").Points)
	assert.Equal(t, int64(0), e.account("alice").Held)
	assert.Equal(t, int64(800), e.account("bob").Points)
	var alice customerResponse
	e.ok(http.MethodGet, "/customers/alice", nil, &alice)
	for _, c := range alice.Coupons {
		assert.Equal(t, "available", c.State)
	}
}

// Bad requests about an existing order: its state, its idempotency key,
// its customer, the amount paid, the units left.
func TestBadInputOnAnOrder(t *testing.T) {
	e := newEnv(t)
	chk := checkoutRequest{cartRequest: teaCart("alice", "A1"), IdempotencyKey: "k1"}
	chk.Points = 1000
	var c checkoutResponse
	e.ok(http.MethodPost, "/checkout", chk, &c)

	other := chk
	other.Points = 2000
	assert.Equal(t, "idempotency_key", e.fails(http.StatusConflict, http.MethodPost, "/checkout", other).Field)
	other.IdempotencyKey = "k2"
	assert.Equal(t, "order_id", e.fails(http.StatusConflict, http.MethodPost, "/checkout", other).Field)
	bob := checkoutRequest{cartRequest: teaCart("bob", "A1"), IdempotencyKey: "k1"}
	assert.Equal(t, "order_id", e.fails(http.StatusConflict, http.MethodPost, "/checkout", bob).Field)

	e.fails(http.StatusConflict, http.MethodPost, "/refund", refundRequest{OrderID: "A1", IdempotencyKey: "r1"})
	er := e.fails(http.StatusConflict, http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx", Status: "paid", Amount: "100.00"})
	assert.Equal(t, "amount", er.Field)
	assert.Contains(t, er.Message, c.CashDue)
	e.ok(http.MethodPost, "/payments/callback", paymentRequest{OrderID: "A1", PaymentID: "wx", Status: "paid", Amount: c.CashDue}, nil)

	for _, tc := range []struct {
		lines []refundLineJSON
		field string
	}{
		{[]refundLineJSON{{Line: 2}}, "lines[0].line"},
		{[]refundLineJSON{{Line: 0, Quantity: 3}}, "lines[0].quantity"},
	} {
		er := e.fails(http.StatusBadRequest, http.MethodPost, "/refund", refundRequest{OrderID: "A1", IdempotencyKey: "r1", Lines: tc.lines})
		assert.Equal(t, tc.field, er.Field)
	}
	e.ok(http.MethodPost, "/refund", refundRequest{OrderID: "A1", IdempotencyKey: "r1", Lines: []refundLineJSON{{Line: 1}}}, nil)
	er = e.fails(http.StatusBadRequest, http.MethodPost, "/refund", refundRequest{OrderID: "A1", IdempotencyKey: "r2", Lines: []refundLineJSON{{Line: 1}}})
	assert.Equal(t, "lines[0].quantity", er.Field)
}

// Wrong methods get 405 with Allow; unknown paths 404; a body that is not
// JSON 400; all as JSON.
func TestRouting(t *testing.T) {
	e := newEnv(t)
	for path, allow := range map[string]string{
		"/quote": "POST", "/checkout": "POST", "/payments/callback": "POST", "/refund": "POST",
		"/orders/A1": "GET", "/customers/alice": "GET",
	} {
		method := http.MethodGet
		if allow == http.MethodGet {
			method = http.MethodPost
		}
		rec := e.do(method, path, nil)
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code, path)
		assert.Equal(t, allow, rec.Header().Get("Allow"), path)
		assert.Contains(t, rec.Body.String(), `"code": "method_not_allowed"`)
	}
	assert.Equal(t, "not_found", e.fails(http.StatusNotFound, http.MethodGet, "/nope", nil).Code)
	assert.Equal(t, "not_found", e.fails(http.StatusNotFound, http.MethodGet, "/orders/A404", nil).Code)

	req := `{"customer":"alice","items":[{"sku":"a","price":"1.00","quantity":1}]}`
	rec := e.do(http.MethodPost, "/quote", req)
	require.Equal(t, http.StatusOK, rec.Code)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded"} {
		hreq := httptest.NewRequest(http.MethodPost, "/quote", strings.NewReader(req))
		hreq.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, hreq)
		assert.Equal(t, http.StatusBadRequest, rec.Code, ct)
		assert.Contains(t, rec.Body.String(), `the Content-Type header must be application/json`)
	}
}

// snake writes Go field names as JSON ones.
func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"points":            "points",
		"items[2].price":    "items[2].price",
		"Points":            "points",
		"OrderAmount":       "order_amount",
		"Lines[0].Quantity": "lines[0].quantity",
		"IdempotencyKey":    "idempotency_key",
		"Cart.Items[1].SKU": "cart.items[1].sku",
	} {
		assert.Equal(t, want, snake(in), in)
	}
}
