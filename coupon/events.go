package coupon

// The events the Service publishes through Options.Publisher. Their IDs are
// derived from the cause, so a replayed request publishes events with the same
// IDs and handlers deduplicate them. Every event's Props carry "coupon" and
// "template"; order events also "order_id".
const (
	// EventIssued: a coupon was claimed or issued. ID
	// "coupon.issued:<coupon>"; Props also "source".
	EventIssued = "coupon.issued"
	// EventRedeemed: a coupon was used by a confirmed order. ID
	// "coupon.redeemed:<coupon>:<order>"; Amount is its discount.
	EventRedeemed = "coupon.redeemed"
	// EventRestored: a full refund gave a coupon back (Props "state":
	// available, or expired when its validity had ended). ID
	// "coupon.restored:<coupon>:<order>".
	EventRestored = "coupon.restored"
	// EventExpired: Sweep expired a coupon. ID "coupon.expired:<coupon>".
	EventExpired = "coupon.expired"
)
