package coupon_test

// Mutation tests of the conformance suite (coupontest.RunStoreTests): each
// mutant is the memory store with one method broken the way a plausible
// host implementation would break it. TestSuiteMutants runs the suite
// against every mutant in a child process (TestSuiteMutantChild) and
// requires the suite to fail it, in the subtest named.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/coupon/coupontest"
	"github.com/scrmkit/scrmkit/scrm"
)

// cmEnv names the mutant a child process runs the suite against.
const cmEnv = "SCRMKIT_COUPON_MUTANT"

// cmMutant is one broken store and where the suite must catch it.
type cmMutant struct {
	name string
	// run is the path of the suite's subtests to run (a -test.run pattern
	// beneath TestSuiteMutantChild); want is the subtest that must fail.
	run, want string
	store     func() coupon.Store
}

var cmMutants = []cmMutant{
	// Gaps the suite had: each has its own conformance case now.
	{"RefundKeysPerTenant", "Refunds/KeysArePerOrder", "Refunds/KeysArePerOrder",
		func() coupon.Store { return &cmRefundKeysPerTenant{Store: coupon.NewMemoryStore()} }},

	// Mutants the suite already caught.
	{"RefundIgnoresVersion", "Refunds/PartialThenFull", "Refunds/PartialThenFull",
		func() coupon.Store { return &cmRefundIgnoresVersion{Store: coupon.NewMemoryStore()} }},
	{"RefundReplayIgnoresFingerprint", "Refunds/PartialThenFull", "Refunds/PartialThenFull",
		func() coupon.Store { return &cmRefundReplayAnyFingerprint{Store: coupon.NewMemoryStore()} }},
}

// TestSuiteMutantChild runs the suite against the mutant named by cmEnv;
// it is TestSuiteMutants' child process and skips otherwise.
func TestSuiteMutantChild(t *testing.T) {
	name := os.Getenv(cmEnv)
	if name == "" {
		t.Skip("run by TestSuiteMutants")
	}
	for _, m := range cmMutants {
		if m.name == name {
			coupontest.RunStoreTests(t, func(*testing.T) coupon.Store { return m.store() })
			return
		}
	}
	t.Fatalf("no mutant %q", name)
}

// TestSuiteMutants proves that the conformance suite fails every mutant.
func TestSuiteMutants(t *testing.T) {
	if os.Getenv(cmEnv) != "" {
		t.Skip("in a child")
	}
	if testing.Short() {
		t.Skip("spawns a process per mutant")
	}
	for _, m := range cmMutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			run := "^TestSuiteMutantChild$"
			for _, part := range strings.Split(m.run, "/") {
				run += "/^" + part + "$"
			}
			cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.count=1", "-test.timeout=120s")
			cmd.Env = append(os.Environ(), cmEnv+"="+m.name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed mutant %s (err %v):\n%s", m.name, err, out)
			}
			assert.Contains(t, string(out), "--- FAIL: TestSuiteMutantChild/"+m.want+" ",
				"the suite must catch %s in %s:\n%s", m.name, m.want, out)
		})
	}
}

// cmRefundKeysPerTenant keeps refund idempotency keys unique per tenant
// (a unique index without the order): another order's refund with a key
// used before is answered as that refund's replay.
type cmRefundKeysPerTenant struct {
	coupon.Store
	mu   sync.Mutex
	seen map[string]coupon.RefundParams // tenant + key → the refund recorded
}

func (m *cmRefundKeysPerTenant) Refund(ctx context.Context, p coupon.RefundParams) (coupon.RefundResult, error) {
	k := string(p.Tenant) + "\x00" + p.Refund.IdempotencyKey
	m.mu.Lock()
	first, ok := m.seen[k]
	m.mu.Unlock()
	if p.Refund.IdempotencyKey != "" && ok && first.OrderID != p.OrderID {
		if first.Fingerprint != p.Fingerprint {
			return coupon.RefundResult{}, &scrm.Error{Code: scrm.ErrConflict, Op: "mutant.Refund", Field: "IdempotencyKey"}
		}
		return m.Store.Refund(ctx, first) // the first order's replay
	}
	res, err := m.Store.Refund(ctx, p)
	if err == nil && p.Refund.IdempotencyKey != "" && !ok {
		m.mu.Lock()
		if m.seen == nil {
			m.seen = map[string]coupon.RefundParams{}
		}
		m.seen[k] = p
		m.mu.Unlock()
	}
	return res, err
}

// cmRefundIgnoresVersion refunds whatever order version the refund was
// computed from.
type cmRefundIgnoresVersion struct{ coupon.Store }

func (m *cmRefundIgnoresVersion) Refund(ctx context.Context, p coupon.RefundParams) (coupon.RefundResult, error) {
	if o, err := m.Store.Order(ctx, p.Tenant, p.OrderID); err == nil {
		p.Version = o.Version
	}
	return m.Store.Refund(ctx, p)
}

// cmRefundReplayAnyFingerprint answers a refund key stored before as a
// replay whatever the fingerprint.
type cmRefundReplayAnyFingerprint struct{ coupon.Store }

func (m *cmRefundReplayAnyFingerprint) Refund(ctx context.Context, p coupon.RefundParams) (coupon.RefundResult, error) {
	res, err := m.Store.Refund(ctx, p)
	if err == nil || p.Refund.IdempotencyKey == "" || !errors.Is(err, scrm.ErrConflict) {
		return res, err
	}
	o, oerr := m.Store.Order(ctx, p.Tenant, p.OrderID)
	if oerr != nil {
		return res, err
	}
	for _, r := range o.Refunds {
		if r.IdempotencyKey == p.Refund.IdempotencyKey {
			return coupon.RefundResult{Refund: r, Order: o, Replayed: true}, nil
		}
	}
	return res, err
}
