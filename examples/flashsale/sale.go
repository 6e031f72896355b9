package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

const (
	tenant   scrm.TenantID = "demo-mall"
	template               = "flash-20"
	// maxAttempts bounds config.Attempts: an attempt number fits in the
	// low byte of a job.
	maxAttempts = 255
	// maxMembers and maxTaps keep the job list (up to members × attempts
	// uint64s) within a few hundred megabytes.
	maxMembers = 10_000_000
	maxTaps    = 30_000_000
	// batch is how many jobs a worker takes at once from the shared
	// counter: enough to keep the counter cold, few enough to keep the
	// workers evenly loaded to the end.
	batch = 128
)

// config is one flash sale.
type config struct {
	Members  int   // members racing
	Stock    int64 // coupons to give away
	Attempts int   // each member taps "claim" 1 to Attempts times
	Workers  int   // goroutines claiming; 0 means GOMAXPROCS
	Seed     uint64
}

// validate names the flag that is out of range.
func (c config) validate() error {
	switch {
	case c.Members < 1 || c.Members > maxMembers:
		return fmt.Errorf("-members must be in [1, %d], got %d", maxMembers, c.Members)
	case c.Stock < 1:
		return fmt.Errorf("-stock must be at least 1, got %d", c.Stock)
	case c.Attempts < 1 || c.Attempts > maxAttempts:
		return fmt.Errorf("-attempts must be in [1, %d], got %d", maxAttempts, c.Attempts)
	case c.Members*c.Attempts > maxTaps:
		return fmt.Errorf("-members × -attempts must be at most %d, got %d", maxTaps, c.Members*c.Attempts)
	case c.Workers < 0:
		return fmt.Errorf("-workers must not be negative, got %d", c.Workers)
	}
	return nil
}

// report is what a sale did, counted twice: by the claimers as the answers
// came back, and afterwards from the store.
type report struct {
	Config  config
	Workers int
	Elapsed time.Duration

	// What the claimers saw.
	Attempts  int // claims sent
	Won       int // claims that got a coupon
	SoldOut   int // refused: ErrExhausted, Field "Stock"
	OverLimit int // refused: ErrExhausted, Field "PerCustomer"

	// What the store holds afterwards.
	Stats   coupon.Stats // the template's counters
	Stored  int          // the template's coupons, listed one by one
	Holders int          // distinct members holding one
	MaxHeld int          // the most coupons one member holds
	// Held counts the template's coupons per member, from the store.
	Held map[scrm.CustomerID]int
	// Winners are the members the claimers saw win, in no order.
	Winners []scrm.CustomerID
}

// memberID names member i of the sale.
func memberID(i int) scrm.CustomerID { return scrm.CustomerID(fmt.Sprintf("m%07d", i)) }

// simulate runs one flash sale on the in-memory store: a template with
// cfg.Stock coupons and a limit of one per member, cfg.Members members
// each tapping "claim" 1 to cfg.Attempts times (each tap a new request
// with its own idempotency key), all taps shuffled and sent by cfg.Workers
// goroutines at once. It then lists the template's coupons from the store.
// It returns when every goroutine it started has ended.
func simulate(ctx context.Context, cfg config) (report, error) {
	if err := cfg.validate(); err != nil {
		return report{}, err
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// The sale opens at 20:00 local time; the clock stands still, so every
	// claim falls inside the claim window and the same local day.
	loc := scrm.DefaultLocation()
	opens := time.Date(2026, 11, 11, 20, 0, 0, 0, loc)
	store := coupon.NewMemoryStore()
	svc := coupon.New(store, nil, &coupon.Options{Options: scrm.Options{Clock: scrmtest.NewClock(opens), Location: loc}})
	if _, err := svc.PutTemplate(ctx, coupon.Template{
		Tenant: tenant, ID: template, Name: "双11 秒杀 满99减20",
		Kind: coupon.KindThreshold, MinSpend: scrm.Yuan("99.00"), Amount: scrm.Yuan("20.00"),
		ClaimFrom: opens, ClaimTo: opens.Add(30 * time.Minute),
		Validity: coupon.Validity{Days: 3},
		Stock:    cfg.Stock, PerCustomer: 1,
	}); err != nil {
		return report{}, err
	}

	jobs := shuffledJobs(cfg)
	r := report{Config: cfg, Workers: workers, Attempts: len(jobs)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex // guards firstErr and the merge of tallies
		firstErr error
	)
	start := time.Now() // wall time, for claims/s only
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t, err := claimJobs(ctx, svc, jobs, &next)
			mu.Lock()
			defer mu.Unlock()
			r.Won += t.won
			r.SoldOut += t.soldOut
			r.OverLimit += t.overLimit
			r.Winners = append(r.Winners, t.winners...)
			if err != nil && firstErr == nil {
				firstErr = err
				cancel()
			}
		}()
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	if firstErr != nil {
		return r, firstErr
	}
	return r, r.count(ctx, svc, store)
}

// shuffledJobs lists every tap of the sale as member<<8 | attempt. The
// members come in a random order from cfg.Seed, in windows of batch
// members: first each one's first tap, then the second taps of those who
// tap again, and so on. A member's taps are thus about a batch apart,
// in batches that different workers take at about the same time: the
// impatient double tap that the per-member limit must hold against.
func shuffledJobs(cfg config) []uint64 {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	order := rng.Perm(cfg.Members)
	taps := make([]uint8, cfg.Members)
	for m := range taps {
		taps[m] = uint8(1 + rng.IntN(cfg.Attempts))
	}
	jobs := make([]uint64, 0, cfg.Members*(cfg.Attempts+1)/2)
	for w := 0; w < len(order); w += batch {
		window := order[w:min(w+batch, len(order))]
		for a := range uint8(cfg.Attempts) {
			for _, m := range window {
				if a < taps[m] {
					jobs = append(jobs, uint64(m)<<8|uint64(a+1))
				}
			}
		}
	}
	return jobs
}

// tally is one worker's count of answers.
type tally struct {
	won, soldOut, overLimit int
	winners                 []scrm.CustomerID
}

// claimJobs takes batches of jobs from next until none are left and sends
// each as a Claim. A refusal by stock or limit is counted; any other error
// stops the worker.
func claimJobs(ctx context.Context, svc *coupon.Service, jobs []uint64, next *atomic.Int64) (tally, error) {
	var t tally
	for {
		end := next.Add(batch)
		start := end - batch
		if start >= int64(len(jobs)) {
			return t, nil
		}
		for _, j := range jobs[start:min(end, int64(len(jobs)))] {
			member, attempt := memberID(int(j>>8)), j&0xff
			_, err := svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: member, Template: template,
				IdempotencyKey: fmt.Sprintf("tap:%s:%d", member, attempt), Channel: "miniprogram"})
			switch {
			case err == nil:
				t.won++
				t.winners = append(t.winners, member)
			case errors.Is(err, scrm.ErrExhausted) && fieldOf(err) == "Stock":
				t.soldOut++
			case errors.Is(err, scrm.ErrExhausted) && fieldOf(err) == "PerCustomer":
				t.overLimit++
			default:
				return t, fmt.Errorf("claim %s #%d: %w", member, attempt, err)
			}
		}
	}
}

// fieldOf returns the first Field named along err's chain of *scrm.Error:
// the service wraps the store's error, which names the limit.
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

// count reads the sale back from the store: the template's counters, and
// every coupon of the template, counted per member.
func (r *report) count(ctx context.Context, svc *coupon.Service, store coupon.Store) error {
	st, err := svc.Stats(ctx, tenant, template)
	if err != nil {
		return err
	}
	r.Stats = st
	r.Held = make(map[scrm.CustomerID]int, r.Won)
	params := coupon.ListCouponsParams{Tenant: tenant, Template: template, Limit: 1000}
	for {
		page, err := store.ListCoupons(ctx, params)
		if err != nil {
			return err
		}
		for _, c := range page.Coupons {
			r.Stored++
			r.Held[c.Customer]++
			r.MaxHeld = max(r.MaxHeld, r.Held[c.Customer])
		}
		if page.Next == "" {
			break
		}
		params.Cursor = page.Next
	}
	r.Holders = len(r.Held)
	return nil
}

// check is one invariant of a sale.
type check struct {
	name   string
	ok     bool
	detail string
}

// checks are the invariants a sale must keep: exactly min(members, stock)
// coupons issued (no oversell, and no stock left while members went
// without), the store's counters and its coupons agreeing with the
// answers the members got, every member within the limit of one, the
// holders in the store being the members who were told they won, and
// every tap answered.
func (r report) checks() []check {
	want := min(int64(r.Config.Members), r.Config.Stock)
	told := len(r.Winners) == r.Holders
	for _, m := range r.Winners {
		told = told && r.Held[m] == 1
	}
	return []check{
		{"no oversell", int64(r.Won) == want,
			fmt.Sprintf("members got %d coupons; stock %d, members %d: want %d", r.Won, r.Config.Stock, r.Config.Members, want)},
		{"template stats agree", r.Stats.Issued == int64(r.Won) && r.Stats.Claimed == int64(r.Won),
			fmt.Sprintf("stats: issued %d, claimed %d", r.Stats.Issued, r.Stats.Claimed)},
		{"store agrees", r.Stored == r.Won,
			fmt.Sprintf("the store lists %d coupons of the template", r.Stored)},
		{"limit 1 per member", r.MaxHeld <= 1 && r.Holders == r.Won,
			fmt.Sprintf("%d members hold a coupon, the most held by one member is %d", r.Holders, r.MaxHeld)},
		{"holders are winners", told,
			fmt.Sprintf("%d members were told they won; each holds exactly one coupon in the store", len(r.Winners))},
		{"every tap answered", r.Won+r.SoldOut+r.OverLimit == r.Attempts,
			fmt.Sprintf("%d won + %d sold out + %d over the limit = %d taps", r.Won, r.SoldOut, r.OverLimit, r.Attempts)},
	}
}

// verify returns an error naming every invariant the sale broke.
func (r report) verify() error {
	var errs []error
	for _, c := range r.checks() {
		if !c.ok {
			errs = append(errs, fmt.Errorf("%s: %s", c.name, c.detail))
		}
	}
	return errors.Join(errs...)
}

// print writes the report for people.
func (r report) print(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "flash sale: %d members race for %d coupons (limit 1 each), tapping 1-%d times; %d workers on GOMAXPROCS=%d\n",
		c.Members, c.Stock, c.Attempts, r.Workers, runtime.GOMAXPROCS(0))
	secs := r.Elapsed.Seconds()
	fmt.Fprintf(w, "%d claims in %.3f s: %.0f claims/s\n", r.Attempts, secs, float64(r.Attempts)/secs)
	fmt.Fprintf(w, "answers: %d won, %d sold out, %d over the limit\n", r.Won, r.SoldOut, r.OverLimit)
	fmt.Fprintf(w, "store: issued %d, claimed %d; %d coupons listed, held by %d members\n",
		r.Stats.Issued, r.Stats.Claimed, r.Stored, r.Holders)
	for _, ch := range r.checks() {
		mark := "ok  "
		if !ch.ok {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-22s %s\n", mark, ch.name, ch.detail)
	}
}
