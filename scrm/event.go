package scrm

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Event is something that happened to a customer. Events are facts: hosts
// feed them in (an order was paid, a message was replied to) and services
// publish their own (a tag was applied, a tier changed).
type Event struct {
	ID       string          // unique per tenant; applying the same ID twice has no further effect
	Tenant   TenantID        // required
	Customer CustomerID      // required
	Type     string          // required; see the Event* constants; hosts may add their own
	Time     time.Time       // when it happened; required
	Amount   decimal.Decimal // order amount etc. in yuan, at most 2 decimal places; zero when not monetary
	Props    map[string]any  // type-specific details; see the Event* constants
}

// The event types scrmkit knows. Hosts may use any other type string.
const (
	EventCustomerAdded  = "customer.added"         // added as friend / followed / registered; Props: "store", "staff", "channel_code", "campaign" (all optional)
	EventCustomerMerged = "customer.merged"        // Props: "from", "into" (CustomerID); Customer is the survivor
	EventOwnerChanged   = "customer.owner_changed" // Props: "from", "to" (staff IDs; "from" empty for a first owner), "reason", "store" (the new owner's), "seq" (int64, the change's number)
	EventAttrsSet       = "customer.attrs_set"     // Props: "attrs" (map[string]any) set on the profile unless a later event set them; a nil value deletes
	EventOrderPaid      = "order.paid"             // Amount = paid amount; Props: "order_id", "items" ([]OrderItem), "store"
	EventOrderRefunded  = "order.refunded"         // Amount = refunded amount; Props: "order_id"
	EventGroupJoined    = "group.joined"           // Props: "group"
	EventGroupLeft      = "group.left"             // Props: "group"
	EventMessageReplied = "message.replied"        // Props: "text", "message_id"
	EventPageViewed     = "page.viewed"            // Props: "page", "product"
	EventTagApplied     = "tag.applied"            // Props: "tag", "source"
	EventTagRemoved     = "tag.removed"            // Props: "tag", "source"
	EventSegmentEntered = "segment.entered"        // Props: "segment"
	EventSegmentExited  = "segment.exited"         // Props: "segment"
	EventTierChanged    = "member.tier_changed"    // Props: "from", "to"
)

// OrderItem is one line of an order. coupon.Item is this type.
type OrderItem struct {
	SKU      string
	Category string
	Price    decimal.Decimal // unit price in yuan
	Quantity int
}

// Validate reports the first missing or malformed field as an ErrInvalid
// error naming it: ID, Tenant, Customer and Type are required, Time must not
// be zero and must fall in the years 1900–2200, and Amount must be a whole
// number of fen that fits an int64 of fen (about ±9.2×10^16 yuan), since
// profiles and ledgers keep money in fen.
func (e Event) Validate() error {
	const op = "scrm.Event"
	if err := CheckID(op, "ID", e.ID); err != nil {
		return err
	}
	if err := CheckID(op, "Tenant", string(e.Tenant)); err != nil {
		return err
	}
	if err := CheckID(op, "Customer", string(e.Customer)); err != nil {
		return err
	}
	if err := CheckID(op, "Type", e.Type); err != nil {
		return err
	}
	if e.Time.IsZero() {
		return Invalid(op, "Time", "required (zero time)")
	}
	if y := e.Time.Year(); y < 1900 || y > 2200 {
		return Invalid(op, "Time", "year %d outside 1900–2200", y)
	}
	if _, ok := ToFen(e.Amount); !ok {
		if IsFen(e.Amount) {
			return Invalid(op, "Amount", "%s is beyond the int64 of fen money is kept in", e.Amount)
		}
		return Invalid(op, "Amount", "at most 2 decimal places (fen), got %s", e.Amount)
	}
	return nil
}

// String returns a short description for logs: type, tenant, customer, ID.
// It contains no PII.
func (e Event) String() string {
	return fmt.Sprintf("%s %s/%s id=%s", e.Type, e.Tenant, e.Customer, e.ID)
}

// Prop returns the string property key, or "" when it is missing or not a
// string (fmt.Stringer values, such as CustomerID, are accepted).
func (e Event) Prop(key string) string {
	switch v := e.Props[key].(type) {
	case string:
		return v
	case CustomerID:
		return string(v)
	case fmt.Stringer:
		return v.String()
	}
	return ""
}
