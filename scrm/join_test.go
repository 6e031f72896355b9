package scrm_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/scrmkit/scrmkit/scrm"
)

func TestJoinCodeSaysWhetherRetryingHelps(t *testing.T) {
	exhausted := scrm.Errorf(scrm.ErrExhausted, "coupon.Grant", "template t1 is out of stock")
	invalid := scrm.Invalid("rewarder", "Reward.Kind", "kind %q is not routed", "badge")
	unavailable := scrm.Errorf(scrm.ErrUnavailable, "publish", "broker down")
	bare := errors.New("connection reset") // matches no sentinel: retryable
	// A retryable failure around a permanent cause is still retryable.
	wrapped := scrm.Wrap(scrm.ErrUnavailable, "grant", exhausted)
	cases := []struct {
		name string
		errs []error
		code error
	}{
		{"one permanent", []error{exhausted}, scrm.ErrExhausted},
		{"permanent ones keep the first's code", []error{invalid, exhausted}, scrm.ErrInvalid},
		{"one retryable among permanent ones", []error{exhausted, unavailable, invalid}, scrm.ErrUnavailable},
		{"an unclassified error is retryable", []error{invalid, bare}, scrm.ErrUnavailable},
		{"a cancelled context is retryable", []error{exhausted, context.Canceled}, scrm.ErrUnavailable},
		{"unavailable around a permanent cause", []error{wrapped}, scrm.ErrUnavailable},
		{"nils are skipped", []error{nil, exhausted, nil}, scrm.ErrExhausted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := scrm.Join("member: after commit", c.errs...)
			var se *scrm.Error
			if !errors.As(err, &se) || se.Code != c.code {
				t.Fatalf("Join(%v) = %v, want code %v", c.errs, err, c.code)
			}
			for _, e := range c.errs {
				if e != nil && !errors.Is(err, e) {
					t.Errorf("errors.Is(Join(...), %v) = false; every joined error must be visible", e)
				}
			}
		})
	}
	if err := scrm.Join("op", nil, nil); err != nil {
		t.Fatalf("Join of nils = %v, want nil", err)
	}
	if err := scrm.Join("op"); err != nil {
		t.Fatalf("Join() = %v, want nil", err)
	}
}

func ExampleJoin() {
	refused := scrm.Errorf(scrm.ErrExhausted, "coupon.Grant", "template t1 is out of stock")
	err := scrm.Join("member: after commit", refused)
	fmt.Println(err)
	fmt.Println("retry:", errors.Is(err, scrm.ErrUnavailable))

	err = scrm.Join("member: after commit", refused, errors.New("broker down"))
	fmt.Println(err)
	fmt.Println("retry:", errors.Is(err, scrm.ErrUnavailable))
	// Output:
	// member: after commit: coupon.Grant: template t1 is out of stock
	// retry: false
	// member: after commit: 2 steps failed: coupon.Grant: template t1 is out of stock
	// broker down
	// retry: true
}

// scrm.Join's verdict survives CodeOf and a Wrap that keeps the
// classification: ErrUnavailable around a permanent cause stays
// ErrUnavailable (CodeOf used to answer the first sentinel matched, so one
// layer turned "retry" into "don't").
func TestJoinCodeSurvivesCodeOfAndWrap(t *testing.T) {
	refused := scrm.Errorf(scrm.ErrExhausted, "coupon.Grant", "template t1 is out of stock")
	j := scrm.Join("grant", refused, scrm.Errorf(scrm.ErrUnavailable, "publish", "broker down"))
	if got := scrm.CodeOf(j); got != scrm.ErrUnavailable {
		t.Fatalf("CodeOf(Join) = %v, want ErrUnavailable", got)
	}
	var se *scrm.Error
	if w := scrm.Wrap(nil, "sop.RunDue", j); !errors.As(w, &se) || se.Code != scrm.ErrUnavailable {
		t.Fatalf("Wrap(nil, Join) = %v, want code ErrUnavailable", w)
	}
	if got := scrm.CodeOf(fmt.Errorf("context: %w", refused)); got != scrm.ErrExhausted {
		t.Fatalf("CodeOf of a wrapped *Error = %v, want its code", got)
	}
	if got := scrm.CodeOf(errors.New("reset")); got != scrm.ErrUnavailable {
		t.Fatalf("CodeOf of an unclassified error = %v, want ErrUnavailable", got)
	}
}
