// Command checkout is a checkout service on scrmkit: a net/http JSON API
// that embeds the coupon and member packages to price carts with coupons
// and points, take them at checkout, settle them when the payment provider
// calls back, and split refunds between cash and points exactly.
//
//	POST /quote              price a cart: the best coupons, the points usable, the cash due
//	POST /checkout           lock the coupons and hold the points (idempotent)
//	POST /payments/callback  paid: confirm coupons, capture points, earn; failed: give them back
//	POST /refund             refund units: the cash and the points to give back (idempotent)
//	GET  /orders/{id}        an order
//	GET  /customers/{id}     a customer's points and coupons
//
// Money is a decimal string of yuan ("58.00") in and out, never a float.
// See server for the error codes and statuses.
//
// By default it runs a demo and exits: it starts the service on a random
// local port, on the in-memory stores with a simulated clock, and a
// scripted client takes one customer through the whole flow (quote,
// checkout, a retried checkout, payment, partial and full refund), another
// through a failed payment, and shows the errors bad requests get, printing
// every request and response. It takes well under a second:
//
//	go run ./examples/checkout
//
// With -demo=false it serves the same shop (two seeded customers, alice and
// bob, with coupons and points) on -addr, on the system clock, until
// interrupted:
//
//	go run ./examples/checkout -demo=false -addr 127.0.0.1:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(1)
	}
}

// run parses the flags and runs the demo, or serves until ctx is done or
// the process is interrupted.
func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("checkout", flag.ContinueOnError)
	fs.SetOutput(w)
	demo := fs.Bool("demo", true, "run a scripted client through the whole flow on a random local port, then exit")
	addr := fs.String("addr", "127.0.0.1:8080", "the address to serve on, with -demo=false")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *demo {
		return runDemo(ctx, w)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, *addr, w)
}

// serve runs the shop on the system clock at addr until ctx is done.
func serve(ctx context.Context, addr string, w io.Writer) error {
	sh, err := newShop(ctx, scrm.SystemClock(), nil)
	if err != nil {
		return err
	}
	srv, err := start(addr, newServer(sh, slog.New(slog.NewTextHandler(os.Stderr, nil))))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "checkout: serving shop %s on %s\n", sh.tenant, srv.url)
	for _, c := range sh.Customers {
		fmt.Fprintf(w, "  customer %s: %d points, coupons %v\n", c.ID, c.Points, c.Coupons)
	}
	fmt.Fprintf(w, "try:\n  curl -s %s/quote -d '{\"customer\":\"alice\",\"items\":[{\"sku\":\"oolong\",\"category\":\"tea\",\"price\":\"58.00\",\"quantity\":2}]}'\n", srv.url)
	select {
	case <-ctx.Done():
		return srv.stop()
	case err := <-srv.done:
		return err
	}
}

// httpServer is a running http.Server.
type httpServer struct {
	url  string
	hs   *http.Server
	done chan error // receives Serve's error once it returns
}

// start serves h on addr ("127.0.0.1:0" picks a free port) in a goroutine
// that stop ends.
func start(addr string, h http.Handler) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &httpServer{
		url: "http://" + ln.Addr().String(),
		hs: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.hs.Serve(ln) }()
	return s, nil
}

// stop shuts the server down, letting requests in flight finish (for at
// most 5 seconds), and waits for its goroutine to end.
func (s *httpServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.hs.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
