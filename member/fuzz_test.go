package member_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/scrm"
)

// Programs arrive as the JSON an operator UI saves: whatever it holds,
// validation either accepts it or names the field, and an accepted program
// runs.
func FuzzProgramJSON(f *testing.F) {
	seed, _ := json.Marshal(standard())
	f.Add(string(seed))
	f.Add(`{"tenant":"t","tiers":[{"id":"a","threshold":0},{"id":"b","threshold":10,"when":{"tag":"vip"}}],"tierPolicy":{"kind":"validity","months":6}}`)
	f.Add(`{"tenant":"t","earn":{"pointsPerYuan":"0.5","memberDays":[{"weekday":2,"multiplier":"2"}],"categories":{"x":"3"}},"expiry":{"kind":"end_of_period","unit":"quarter","periods":2}}`)
	f.Add(`{"tenant":"t","redeem":{"pointsPerYuan":1000,"step":3}}`)
	f.Fuzz(func(t *testing.T, data string) {
		var p member.Program
		if err := json.Unmarshal([]byte(data), &p); err != nil {
			return
		}
		err := p.Validate()
		if err != nil {
			var se *scrm.Error
			if !errors.As(err, &se) || !errors.Is(err, scrm.ErrInvalid) || se.Field == "" {
				t.Fatalf("validation error without a field: %v", err)
			}
			return
		}
		ctx := context.Background()
		svc := member.New(nil, scrm.NewMemoryProfileStore(), &member.Options{Options: scrm.Options{Clock: scrm.ClockFunc(func() time.Time { return start })}})
		if _, err := svc.PutProgram(ctx, p); err != nil {
			if !errors.Is(err, scrm.ErrInvalid) {
				t.Fatalf("PutProgram: %v", err)
			}
			return
		}
		_, err = svc.Earn(ctx, member.EarnRequest{Tenant: p.Tenant, Customer: "c", IdempotencyKey: "k", OrderID: "o", Amount: dec("123.45"),
			Items: []scrm.OrderItem{{Category: "x", Price: dec("100"), Quantity: 1}}})
		if err != nil {
			t.Fatalf("Earn on a valid program: %v", err)
		}
		if _, err := svc.Quote(ctx, member.QuoteRequest{Tenant: p.Tenant, Customer: "c", OrderAmount: dec("99.99")}); err != nil {
			t.Fatalf("Quote: %v", err)
		}
	})
}

// Cursors come back from hosts: a malformed one is ErrInvalid, never a
// panic.
func FuzzDueCursor(f *testing.F) {
	f.Add("1700000000000000000.C1")
	f.Add("")
	f.Add(".")
	f.Add("-5.x.y")
	s := member.NewMemoryStore()
	ctx := context.Background()
	_, _, err := s.Update(ctx, member.UpdateParams{Tenant: "t", Customer: "c"}, func(tx *member.LedgerTx) error {
		tx.Account.Lots = []member.Lot{{ID: 1, Points: 1, Remaining: 1, Expiry: start.UnixNano()}}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		_, err := s.ListDue(ctx, member.ListDueParams{Tenant: "t", Before: start.AddDate(1, 0, 0), Cursor: cursor})
		if err != nil && !errors.Is(err, scrm.ErrInvalid) {
			t.Fatalf("ListDue: %v", err)
		}
	})
}
