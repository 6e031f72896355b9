package coupon

import "github.com/scrmkit/scrmkit/scrm"

// The events the Service publishes through Options.Publisher. Their IDs are
// derived from the cause, so a replayed request publishes events with the same
// IDs and handlers deduplicate them. Every event's Props carry "coupon" and
// "template"; order events also "order_id". An ID that would be longer than
// scrm.MaxIDLength is "<type>:h:" followed by a digest of its parts instead
// (see eventID), so long coupon and order IDs still make valid events.
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

// eventID returns the ID of an event of type typ about parts:
// "<typ>:<part>:<part>…", or, when that would exceed scrm.MaxIDLength,
// "<typ>:h:" and a digest of the parts. It depends only on its arguments, so
// a retry publishes the same ID. The digest hashes the length-prefixed parts
// (fingerprint), so different parts never share it by shifting a ':'.
func eventID(typ string, parts ...string) string {
	n := len(typ)
	for _, p := range parts {
		n += 1 + len(p)
	}
	if n <= scrm.MaxIDLength {
		b := make([]byte, 0, n)
		b = append(b, typ...)
		for _, p := range parts {
			b = append(b, ':')
			b = append(b, p...)
		}
		return string(b)
	}
	return typ + ":h:" + fingerprint(parts...)
}
