package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode"

	"github.com/scrmkit/scrmkit/scrm"
)

// server is the checkout service: an http.Handler over a shop's coupon and
// member services and its order book.
//
//	POST /quote              price a cart: best coupons, points usable, cash due
//	POST /checkout           lock coupons and hold points for an order (idempotent)
//	POST /payments/callback  the payment provider's notice: confirm, or release
//	POST /refund             refund units of a paid order (idempotent)
//	GET  /orders/{id}        an order
//	GET  /customers/{id}     a customer's points and coupons
//
// Errors are JSON (errorResponse) with the status of their scrm class:
//
//	ErrInvalid     400  bad input; Field names the JSON field
//	ErrForbidden   403  another customer's coupon, or a coupon that does not apply
//	ErrNotFound    404  no such order or coupon
//	ErrConflict    409  idempotency key reused with another body; order in the wrong state
//	ErrExhausted   422  not enough points, budget or stock: the request is
//	                    well formed but cannot be met now (not 409: nothing
//	                    the client sent conflicts with the server's state)
//	ErrExpired     422  a coupon outside its validity
//	ErrUnavailable 503  a store failed; retry with the same idempotency key
//
// and 405 for a wrong method, 413 for a body over 64 KiB, 404 for an unknown
// path. A response to a replayed request (same idempotency key, same body)
// carries the header "Idempotent-Replayed: true" and the first response's body.
type server struct {
	*shop
	orders *orderBook
	log    *slog.Logger
	mux    *http.ServeMux
}

// newServer returns the service over sh. log receives the errors the
// service answers with 500; nil discards them.
func newServer(sh *shop, log *slog.Logger) *server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{shop: sh, orders: newOrderBook(), log: log, mux: http.NewServeMux()}
	s.mux.Handle("/quote", only(http.MethodPost, post(s, "quote", s.quote)))
	s.mux.Handle("/checkout", only(http.MethodPost, post(s, "checkout", s.checkout)))
	s.mux.Handle("/payments/callback", only(http.MethodPost, post(s, "payment", s.payment)))
	s.mux.Handle("/refund", only(http.MethodPost, post(s, "refund", s.refund)))
	s.mux.Handle("/orders/{id}", only(http.MethodGet, get(s, s.order)))
	s.mux.Handle("/customers/{id}", only(http.MethodGet, get(s, s.customer)))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, scrm.Errorf(scrm.ErrNotFound, "route", "no endpoint %s", r.URL.Path))
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// only refuses every method but method with 405 and an Allow header.
func only(method string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeJSON(w, http.StatusMethodNotAllowed, errorResponse{Error: errorJSON{Status: http.StatusMethodNotAllowed,
				Code: "method_not_allowed", Message: fmt.Sprintf("%s %s: method not allowed; use %s", r.Method, r.URL.Path, method)}})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// post adapts a JSON endpoint: it decodes the body into Req, calls fn, and
// writes its response, or the error. fn reports whether the response is a
// replay of an earlier request.
func post[Req, Resp any](s *server, op string, fn func(ctx context.Context, req Req) (Resp, bool, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := decode(w, r, op, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		resp, replayed, err := fn(r.Context(), req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

// get adapts a read endpoint named by the {id} of its path.
func get[Resp any](s *server, fn func(ctx context.Context, id string) (Resp, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := fn(r.Context(), r.PathValue("id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to do
}

// fail writes err as an errorResponse with its status.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := errorJSON{Message: err.Error()}
	var se *scrm.Error
	switch {
	case errors.Is(err, errTooLarge):
		e.Status, e.Code = http.StatusRequestEntityTooLarge, "too_large"
	case errors.As(err, &se):
		// The outermost error's class decides: a service may wrap a store
		// error of another class.
		e.Status, e.Code = statusOf(se.Code)
		e.Field = snake(fieldOf(err))
	default:
		e.Status, e.Code = http.StatusInternalServerError, "internal"
	}
	if e.Status == http.StatusInternalServerError {
		s.log.Error("checkout: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e.Message = "internal error"
	}
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, errorResponse{Error: e})
}

// statusOf maps an scrm error class to an HTTP status and a code.
func statusOf(code error) (int, string) {
	switch code {
	case scrm.ErrInvalid:
		return http.StatusBadRequest, "invalid"
	case scrm.ErrForbidden:
		return http.StatusForbidden, "forbidden"
	case scrm.ErrNotFound:
		return http.StatusNotFound, "not_found"
	case scrm.ErrConflict:
		return http.StatusConflict, "conflict"
	case scrm.ErrExhausted:
		return http.StatusUnprocessableEntity, "exhausted"
	case scrm.ErrExpired:
		return http.StatusUnprocessableEntity, "expired"
	case scrm.ErrUnavailable:
		return http.StatusServiceUnavailable, "unavailable"
	}
	return http.StatusInternalServerError, "internal"
}

// fieldOf returns the first Field named along err's chain of *scrm.Error:
// a service may wrap the error of its store, which names the field.
func fieldOf(err error) string {
	var se *scrm.Error
	for errors.As(err, &se) {
		if se.Field != "" {
			return se.Field
		}
		err = se.Err
	}
	return ""
}

// snake writes the Go field names the libraries report the way the JSON
// API names fields ("Lines[0].Quantity" is "lines[0].quantity",
// "OrderAmount" is "order_amount"); names that are already JSON pass
// unchanged.
func snake(name string) string {
	var b strings.Builder
	var prev rune
	for _, c := range name {
		if unicode.IsUpper(c) && (unicode.IsLower(prev) || unicode.IsDigit(prev)) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
		prev = c
	}
	return b.String()
}
