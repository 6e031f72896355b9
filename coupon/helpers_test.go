package coupon_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

const tenant scrm.TenantID = "shop"

var (
	ctx      = context.Background()
	shanghai = scrm.DefaultLocation()
	// t0 is 10:00 on 1 March 2026 in Shanghai.
	t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, shanghai)
)

type env struct {
	svc      *coupon.Service
	store    coupon.Store
	profiles scrm.ProfileStore
	clock    *scrmtest.Clock
	events   *eventLog
	keys     atomic.Int64
}

// newEnv builds a service on memory stores with a fake clock at t0 and
// sequential coupon IDs.
func newEnv(t *testing.T, mods ...func(*coupon.Options)) *env {
	t.Helper()
	e := &env{store: coupon.NewMemoryStore(), profiles: scrm.NewMemoryProfileStore(),
		clock: scrmtest.NewClock(t0), events: &eventLog{}}
	var n atomic.Int64
	opts := &coupon.Options{Options: scrm.Options{Clock: e.clock, Publisher: e.events,
		NewID: func() string { return fmt.Sprintf("cp%03d", n.Add(1)) }}}
	for _, m := range mods {
		m(opts)
	}
	e.svc = coupon.New(e.store, e.profiles, opts)
	return e
}

func (e *env) put(t *testing.T, tp coupon.Template) coupon.Template {
	t.Helper()
	if tp.Tenant == "" {
		tp.Tenant = tenant
	}
	if tp.Validity == (coupon.Validity{}) {
		tp.Validity = coupon.Validity{Days: 30}
	}
	out, err := e.svc.PutTemplate(ctx, tp)
	require.NoError(t, err)
	return out
}

func (e *env) claim(t *testing.T, cust scrm.CustomerID, tmpl string) coupon.Coupon {
	t.Helper()
	c, err := e.svc.Claim(ctx, coupon.ClaimRequest{Tenant: tenant, Customer: cust, Template: tmpl,
		IdempotencyKey: fmt.Sprintf("claim-%d", e.keys.Add(1))})
	require.NoError(t, err)
	return c
}

// eventLog records published events.
type eventLog struct {
	mu     sync.Mutex
	events []scrm.Event
}

func (l *eventLog) Publish(_ context.Context, e scrm.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	return nil
}

func (l *eventLog) ofType(typ string) []scrm.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []scrm.Event
	for _, e := range l.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func yuan(s string) decimal.Decimal { return scrm.Yuan(s) }

func item(sku, cat, price string, qty int) coupon.Item {
	return coupon.Item{SKU: sku, Category: cat, Price: yuan(price), Quantity: qty}
}

func assertMoney(t *testing.T, want string, got decimal.Decimal, msgAndArgs ...any) {
	t.Helper()
	if !yuan(want).Equal(got) {
		assert.Fail(t, fmt.Sprintf("money: want %s, got %s", want, got.StringFixed(2)), msgAndArgs...)
	}
}

// fieldOf returns the Field named in err's *scrm.Error chain.
func fieldOf(err error) string {
	for err != nil {
		se, ok := err.(*scrm.Error)
		if !ok {
			return ""
		}
		if se.Field != "" {
			return se.Field
		}
		err = se.Err
	}
	return ""
}

func contextWithCancel() (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }
