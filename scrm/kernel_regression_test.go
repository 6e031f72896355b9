package scrm_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// ToFen must convert every whole-fen amount that fits an int64 of fen;
// a decimal produced by Div has a 16-digit fraction of zeros.
func TestToFenLongCoefficient(t *testing.T) {
	for _, tt := range []struct {
		d   decimal.Decimal
		fen int64
	}{
		{scrm.Yuan("1000").Div(decimal.NewFromInt(4)), 25000},   // 250, exp -16
		{scrm.Yuan("0.01000000000000000000"), 1},                // 0.01, exp -20
		{scrm.Yuan("-1000").Div(decimal.NewFromInt(4)), -25000}, // -250
	} {
		require.True(t, scrm.IsFen(tt.d), tt.d.String())
		fen, ok := scrm.ToFen(tt.d)
		assert.True(t, ok, "ToFen(%s) (exp %d) ok", tt.d, tt.d.Exponent())
		assert.Equal(t, tt.fen, fen, "ToFen(%s)", tt.d)
	}
}

// A customer.merged event that would close a MergedInto cycle (B into A
// after A into B) is bad input: it must be refused without writing, and
// both customers' profiles must stay readable.
func TestProfilesMergeCycle(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	p := scrm.NewProfiles(scrm.NewMemoryProfileStore(), nil)
	require.NoError(t, p.Handle(ctx, scrm.Event{ID: "e1", Tenant: "t1", Customer: "A", Type: scrm.EventOrderPaid, Time: t0, Amount: scrm.Yuan("10")}))
	require.NoError(t, p.Handle(ctx, scrm.Event{ID: "e2", Tenant: "t1", Customer: "B", Type: scrm.EventOrderPaid, Time: t0, Amount: scrm.Yuan("20")}))
	require.NoError(t, p.Handle(ctx, scrm.MergeEvent("t1", "A", "B", t0.Add(time.Hour))))

	err := p.Handle(ctx, scrm.MergeEvent("t1", "B", "A", t0.Add(2*time.Hour)))
	t.Logf("reverse merge: %v", err)
	assert.Error(t, err, "merging B into A after A into B closes a cycle")

	for _, c := range []scrm.CustomerID{"A", "B"} {
		pr, err := p.Get(ctx, "t1", c)
		if assert.NoError(t, err, "profile of %s after the refused merge", c) {
			assert.Equal(t, int64(2), pr.Count(scrm.EventOrderPaid, time.Time{}))
		}
	}
	err = p.Handle(ctx, scrm.Event{ID: "e3", Tenant: "t1", Customer: "B", Type: scrm.EventOrderPaid, Time: t0.Add(3 * time.Hour), Amount: scrm.Yuan("1")})
	assert.NoError(t, err, "later events of B still fold")
}

// Transfer's "empty Customers means all": a retry of the same request
// whose empty list is [] instead of nil is the same payload.
func TestTransferReplayEmptyCustomers(t *testing.T) {
	ctx := context.Background()
	r := newTeamRig(t)
	r.staff("a1", "s", true)
	r.staff("a2", "s", true)
	require.NoError(t, r.added("add1", "c1", map[string]any{"staff": "a1"}))
	req := scrm.TransferRequest{Tenant: "t1", From: "a1", To: "a2", IdempotencyKey: "k1"}
	first, err := r.team.Transfer(ctx, req)
	require.NoError(t, err)
	require.Len(t, first.Changes, 1)
	req.Customers = []scrm.CustomerID{}
	again, err := r.team.Transfer(ctx, req)
	if assert.NoError(t, err, "same payload, empty list spelled [] instead of nil") {
		assert.True(t, again.Replayed)
	}
}

// CustomersOf pages stay consistent while customers move between pages:
// a customer that stays is returned exactly once.
func TestCustomersOfPagingAcrossTransfer(t *testing.T) {
	ctx := context.Background()
	r := newTeamRig(t)
	r.staff("a1", "s", true)
	r.staff("a2", "s", true)
	for i := range 10 {
		require.NoError(t, r.added(fmt.Sprint("add", i), scrm.CustomerID(fmt.Sprintf("c%02d", i)), map[string]any{"staff": "a1"}))
	}
	page, err := r.team.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: "t1", Staff: "a1", Limit: 4})
	require.NoError(t, err)
	got := append([]scrm.CustomerID(nil), page.Customers...)
	// Move the cursor customer and one of the next page away.
	_, err = r.team.Transfer(ctx, scrm.TransferRequest{Tenant: "t1", From: "a1", To: "a2", Customers: []scrm.CustomerID{"c03", "c05"}, IdempotencyKey: "k"})
	require.NoError(t, err)
	for page.Next != "" {
		page, err = r.team.CustomersOf(ctx, scrm.CustomersOfParams{Tenant: "t1", Staff: "a1", Cursor: page.Next, Limit: 4})
		require.NoError(t, err)
		got = append(got, page.Customers...)
	}
	assert.Equal(t, []scrm.CustomerID{"c00", "c01", "c02", "c03", "c04", "c06", "c07", "c08", "c09"}, got)
}

// A customer.merged event for a customer already absorbed into another
// survivor must not fold the absorbed profile a second time: its orders
// would then count in two live profiles.
func TestProfilesMergeAlreadyAbsorbedElsewhere(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	p := scrm.NewProfiles(scrm.NewMemoryProfileStore(), nil)
	for _, e := range []scrm.Event{
		{ID: "e1", Tenant: "t1", Customer: "A", Type: scrm.EventOrderPaid, Time: t0, Amount: scrm.Yuan("10")},
		{ID: "e2", Tenant: "t1", Customer: "B", Type: scrm.EventOrderPaid, Time: t0, Amount: scrm.Yuan("20")},
		{ID: "e3", Tenant: "t1", Customer: "C", Type: scrm.EventOrderPaid, Time: t0, Amount: scrm.Yuan("30")},
	} {
		require.NoError(t, p.Handle(ctx, e))
	}
	require.NoError(t, p.Handle(ctx, scrm.MergeEvent("t1", "A", "B", t0.Add(time.Hour))))
	err := p.Handle(ctx, scrm.MergeEvent("t1", "A", "C", t0.Add(2*time.Hour)))
	t.Logf("second merge of A: %v", err)

	b, err := p.Get(ctx, "t1", "B")
	require.NoError(t, err)
	c, err := p.Get(ctx, "t1", "C")
	require.NoError(t, err)
	total := b.Sum(scrm.EventOrderPaid, time.Time{}).Add(c.Sum(scrm.EventOrderPaid, time.Time{}))
	assert.Equal(t, "60", total.String(), "A's 10 yuan counted once across live profiles (B=%s, C=%s)",
		b.Sum(scrm.EventOrderPaid, time.Time{}), c.Sum(scrm.EventOrderPaid, time.Time{}))
}

// Event.Validate accepts an Amount only when it is a whole number of fen
// that fits the int64 of fen profiles and ledgers keep, whatever the
// decimal's coefficient and exponent, and names the field otherwise.
func TestEventValidateAmount(t *testing.T) {
	ev := scrm.Event{ID: "e1", Tenant: "t1", Customer: "c1", Type: scrm.EventOrderPaid,
		Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	ok := []decimal.Decimal{decimal.Zero, scrm.Yuan("19.90"), scrm.Yuan("-3.5"),
		scrm.Yuan("1000").Div(decimal.NewFromInt(4)), scrm.Yuan("92233720368547758.07")}
	for _, a := range ok {
		ev.Amount = a
		assert.NoError(t, ev.Validate(), a.String())
	}
	bad := []decimal.Decimal{scrm.Yuan("0.001"), scrm.Yuan("92233720368547758.08"), decimal.New(1, 30)}
	for _, a := range bad {
		ev.Amount = a
		err := ev.Validate()
		var e *scrm.Error
		if assert.ErrorAs(t, err, &e, a.String()) {
			assert.ErrorIs(t, err, scrm.ErrInvalid, a.String())
			assert.Equal(t, "Amount", e.Field, a.String())
		}
	}
}
