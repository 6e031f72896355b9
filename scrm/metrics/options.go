package metrics

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// The event types of the domain packages that metrics reads. They equal
// coupon.EventIssued, coupon.EventRedeemed, coupon.EventRestored,
// coupon.EventExpired, referral.EventBound, referral.EventReviewed,
// referral.EventQualified and referral.EventReversed (a test checks it);
// metrics repeats them because the kernel tree does not import domain
// packages. EventNames overrides them.
const (
	EventCouponIssued      = "coupon.issued"      // Props "coupon", "template", "source"
	EventCouponRedeemed    = "coupon.redeemed"    // Amount: the discount; Props "coupon", "template", "order_id"
	EventCouponRestored    = "coupon.restored"    // a refund gave the coupon back; Props "coupon", "template", "order_id"
	EventCouponExpired     = "coupon.expired"     // Props "coupon", "template"
	EventReferralBound     = "referral.bound"     // Customer: the invitee; Props "program", "inviter" or "staff", "status"
	EventReferralReviewed  = "referral.reviewed"  // Props "program", "status" ("active" or "rejected")
	EventReferralQualified = "referral.qualified" // Customer: the invitee; Amount: the qualifying order; Props "program", "inviter" or "staff"
	EventReferralReversed  = "referral.reversed"  // Amount: the cancelled reward; Props "program", "entry"
)

// EventNames are the event types a Collector gives a meaning to. A zero
// field means the default named on it; set a field when a host publishes
// the same fact under another name.
type EventNames struct {
	CustomerAdded  string // default scrm.EventCustomerAdded
	OrderPaid      string // default scrm.EventOrderPaid
	OrderRefunded  string // default scrm.EventOrderRefunded
	GroupJoined    string // default scrm.EventGroupJoined
	MessageReplied string // default scrm.EventMessageReplied

	CouponIssued   string // default EventCouponIssued
	CouponRedeemed string // default EventCouponRedeemed
	CouponRestored string // default EventCouponRestored
	CouponExpired  string // default EventCouponExpired

	ReferralBound     string // default EventReferralBound
	ReferralReviewed  string // default EventReferralReviewed
	ReferralQualified string // default EventReferralQualified
	ReferralReversed  string // default EventReferralReversed
}

// WithDefaults returns a copy of n with every empty name set to its default.
func (n EventNames) WithDefaults() EventNames {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&n.CustomerAdded, scrm.EventCustomerAdded)
	def(&n.OrderPaid, scrm.EventOrderPaid)
	def(&n.OrderRefunded, scrm.EventOrderRefunded)
	def(&n.GroupJoined, scrm.EventGroupJoined)
	def(&n.MessageReplied, scrm.EventMessageReplied)
	def(&n.CouponIssued, EventCouponIssued)
	def(&n.CouponRedeemed, EventCouponRedeemed)
	def(&n.CouponRestored, EventCouponRestored)
	def(&n.CouponExpired, EventCouponExpired)
	def(&n.ReferralBound, EventReferralBound)
	def(&n.ReferralReviewed, EventReferralReviewed)
	def(&n.ReferralQualified, EventReferralQualified)
	def(&n.ReferralReversed, EventReferralReversed)
	return n
}

// Options configures a Collector. A nil *Options, and every zero field,
// means the default documented on the field.
type Options struct {
	// Options supplies the tenant's time zone (Location, TenantLocation;
	// default Asia/Shanghai): calendar months and weeks begin at local
	// midnight there. The other kernel fields are not used.
	scrm.Options
	// Events renames the event types metrics reads; zero fields keep the
	// defaults.
	Events EventNames
}

// Dimension is how acquisition is attributed: the property of a customer's
// first customer.added event that names where they came from. Its value is
// the property key.
type Dimension string

// The acquisition dimensions: the Props of scrm.EventCustomerAdded.
const (
	ByStore       Dimension = "store"        // the store whose QR code or counter added the customer
	ByStaff       Dimension = "staff"        // the staff member who added them (跟进人)
	ByChannelCode Dimension = "channel_code" // the channel code (渠道活码) they scanned
	ByCampaign    Dimension = "campaign"     // the campaign (活动) that brought them
)

func (d Dimension) index() (int, bool) {
	switch d {
	case ByStore:
		return 0, true
	case ByStaff:
		return 1, true
	case ByChannelCode:
		return 2, true
	case ByCampaign:
		return 3, true
	}
	return 0, false
}

// Period is the calendar unit of a report's rows.
type Period string

// The calendar periods, in the tenant's time zone.
const (
	// Month runs from local midnight on the 1st to local midnight on the
	// 1st of the next month; labelled "2006-01".
	Month Period = "month"
	// Week is the ISO week, from local midnight on Monday to local midnight
	// on the next Monday; labelled with its ISO year and number, "2006-W01".
	Week Period = "week"
)

// DefaultConvertWithin is how long after being added a customer's first
// paid order counts as a conversion in acquisition reports: 30 days.
const DefaultConvertWithin = 30 * 24 * time.Hour

// DefaultGroupWithin is how long after being added a group.joined counts
// for the group-join rate (加群率): 7 days.
const DefaultGroupWithin = 7 * 24 * time.Hour
