package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

// env is a freshly seeded shop behind the server, on a simulated clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *scrmtest.Clock
	shop  *shop
	srv   *server
	// alice's seeded coupons: new-10, 200-30, tea-88; bob's: new-10.
	alice, bob []string
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv on the member store members.
func newEnvWith(t *testing.T, members member.Store) *env {
	t.Helper()
	ctx := context.Background()
	clock := scrmtest.NewClock(time.Date(2026, 3, 3, 10, 0, 0, 0, scrm.DefaultLocation()))
	sh, err := newShop(ctx, clock, members)
	require.NoError(t, err)
	return &env{t: t, ctx: ctx, clock: clock, shop: sh, srv: newServer(sh, nil),
		alice: sh.Customers[0].Coupons, bob: sh.Customers[1].Coupons}
}

// do sends a request to the server; body is sent as is when a string,
// else as JSON.
func (e *env) do(method, path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	var payload []byte
	switch b := body.(type) {
	case nil:
	case string:
		payload = []byte(b)
	default:
		var err error
		payload, err = json.Marshal(b)
		require.NoError(e.t, err)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(payload))
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

// ok sends a request that must succeed and decodes its response into out.
func (e *env) ok(method, path string, body, out any) *httptest.ResponseRecorder {
	e.t.Helper()
	rec := e.do(method, path, body)
	require.Equal(e.t, http.StatusOK, rec.Code, "%s %s: %s", method, path, rec.Body)
	if out != nil {
		require.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), out))
	}
	return rec
}

// fails sends a request that must fail with status, and returns its error.
func (e *env) fails(status int, method, path string, body any) errorJSON {
	e.t.Helper()
	rec := e.do(method, path, body)
	require.Equal(e.t, status, rec.Code, "%s %s: %s", method, path, rec.Body)
	assert.Equal(e.t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	var er errorResponse
	require.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), &er), rec.Body.String())
	assert.Equal(e.t, status, er.Error.Status)
	assert.NotEmpty(e.t, er.Error.Message)
	return er.Error
}

// account returns a customer's membership account.
func (e *env) account(c scrm.CustomerID) member.Account {
	e.t.Helper()
	a, err := e.shop.members.Account(e.ctx, tenant, c)
	require.NoError(e.t, err)
	return a
}

// dec parses money for assertions.
func dec(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(s)
	require.NoError(t, err, s)
	return d
}

// assertYuan checks a money string against an exact amount.
func assertYuan(t *testing.T, want, got string, msgAndArgs ...any) {
	t.Helper()
	assert.True(t, dec(t, want).Equal(dec(t, got)), append([]any{"want ¥%s, got ¥%s", want, got}, msgAndArgs...)...)
}

// teaCart is alice's cart: two tins of oolong (tea) and a teapot, with
// shipping; ¥161.00 + ¥6.00.
func teaCart(customer, orderID string) cartRequest {
	return cartRequest{Customer: customer, OrderID: orderID, Shipping: "6.00", Items: []itemJSON{
		{SKU: "oolong-250g", Category: "tea", Price: "58.00", Quantity: 2},
		{SKU: "teapot", Category: "ware", Price: "45.00", Quantity: 1},
	}}
}

// list makes the coupons field of a request; list() is [], no coupons.
func list(ids ...string) *[]string {
	if ids == nil {
		ids = []string{}
	}
	return &ids
}
