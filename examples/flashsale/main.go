// Command flashsale is a flash sale (秒杀) on scrmkit's coupon package:
// 100,000 members race for a voucher with a stock of 10,000 and a limit of
// one per member, on every core, each member tapping "claim" one to three
// times. It prints the claims per second and then proves, from the store,
// that nothing was oversold and no member got more than one:
//
//   - the members got exactly min(members, stock) coupons;
//   - the template's counters (issued, claimed) say the same;
//   - listing the template's coupons from the store finds as many, each
//     held by a different member;
//   - every tap got an answer: a coupon, "sold out" (ErrExhausted, field
//     Stock) or "over the limit" (ErrExhausted, field PerCustomer).
//
// It runs on the in-memory store with a clock standing at the opening
// minute, so it needs no setup and finishes in about a second:
//
//	go run ./examples/flashsale
//	go run ./examples/flashsale -members 1000000 -stock 50000 -attempts 5
//
// It exits with status 1 when an invariant is broken.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "flashsale:", err)
		os.Exit(1)
	}
}

// run parses the flags, runs the sale, prints the report and returns an
// error when the sale broke an invariant.
func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("flashsale", flag.ContinueOnError)
	fs.SetOutput(w)
	var cfg config
	fs.IntVar(&cfg.Members, "members", 100_000, "members racing for the voucher")
	fs.Int64Var(&cfg.Stock, "stock", 10_000, "vouchers in stock")
	fs.IntVar(&cfg.Attempts, "attempts", 3, "each member taps claim 1 to this many times")
	fs.IntVar(&cfg.Workers, "workers", 0, "goroutines claiming (0: GOMAXPROCS)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the order the taps arrive in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	r, err := simulate(ctx, cfg)
	if err != nil {
		return err
	}
	r.print(w)
	return r.verify()
}
