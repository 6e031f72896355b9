package referral

import (
	"errors"

	"github.com/scrmkit/scrmkit/scrm"
)

// Reason says why a request was refused or why a binding was flagged for
// review. A Reason is also an error, so the errors this package returns can
// be tested for one with errors.Is as well as for their scrm sentinel:
//
//	errors.Is(err, referral.ReasonSelfReferral) // and errors.Is(err, scrm.ErrForbidden)
type Reason string

// The reasons Bind refuses a binding (or, for fraud checks whose Action is
// ActionReview, flags it), with the sentinel the error matches.
const (
	ReasonUnknownCode      Reason = "unknown_code"      // ErrNotFound: no customer or staff member has the code
	ReasonNotRunning       Reason = "not_running"       // ErrExpired: the binding time is outside the program's Start/End (also: a group buy's, a lucky draw's)
	ReasonSelfReferral     Reason = "self_referral"     // ErrForbidden: the code is the invitee's own
	ReasonAlreadyBound     Reason = "already_bound"     // ErrConflict: the invitee is bound already (first binding wins, permanently)
	ReasonExistingCustomer Reason = "existing_customer" // ErrForbidden: the invitee paid an order before binding
	ReasonCycle            Reason = "cycle"             // ErrForbidden: the inviter is (transitively) the invitee's own invitee
	ReasonSameDevice       Reason = "same_device"       // ErrForbidden: the invitee uses a device the inviter used
	ReasonSamePhone        Reason = "same_phone"        // ErrForbidden: the invitee's phone is the inviter's
	ReasonInviterRate      Reason = "inviter_rate"      // ErrForbidden: too many bindings for one inviter in FraudPolicy.PerInviter.Within
	ReasonDeviceLimit      Reason = "device_limit"      // ErrForbidden: too many bindings from one device
	ReasonIPLimit          Reason = "ip_limit"          // ErrForbidden: too many bindings from one IP address (IPv6: one /64)
)

// The reasons other calls are refused for.
const (
	ReasonRejected        Reason = "rejected"         // ErrForbidden: the binding was rejected on review
	ReasonNotInReview     Reason = "not_in_review"    // ErrConflict: Approve or Reject of a binding that is not under review
	ReasonTeamFull        Reason = "team_full"        // ErrExhausted: the team has all its members
	ReasonAlreadyJoined   Reason = "already_joined"   // ErrConflict: the customer is in the team already
	ReasonTeamClosed      Reason = "team_closed"      // ErrExpired: the team failed or its time ran out
	ReasonSelfHelp        Reason = "self_help"        // ErrForbidden: the owner of a bargain session cannot help it
	ReasonAlreadyHelped   Reason = "already_helped"   // ErrConflict: each helper helps a session once
	ReasonBargainComplete Reason = "bargain_complete" // ErrExhausted: the session is at its floor price
	ReasonSessionExpired  Reason = "session_expired"  // ErrExpired: the session's Duration is over
	ReasonDrawNotDue      Reason = "draw_not_due"     // ErrForbidden: the lottery's teams are not all finished
	ReasonDailyLimit      Reason = "daily_limit"      // ErrExhausted: the customer drew PerCustomerPerDay times today
	ReasonSoldOut         Reason = "sold_out"         // ErrExhausted: no prize of the lucky draw has stock left
	ReasonEntryNotPaid    Reason = "entry_not_paid"   // the entry cost could not be charged; the error also matches the PointsSpender's
	ReasonEntryNotDue     Reason = "entry_not_due"    // ErrConflict: a ledger entry is not paid before its stored DueAt (Store.SetEntryStatus)
)

// Error implements the error interface.
func (r Reason) Error() string { return string(r) }

// ReasonOf returns the Reason err carries, or "" when it carries none.
func ReasonOf(err error) Reason {
	var r Reason
	if errors.As(err, &r) {
		return r
	}
	return ""
}

// refuse returns the error of a refused request: it matches code and r.
func refuse(code error, op string, r Reason, msg string) error {
	return &scrm.Error{Code: code, Op: op, Msg: msg, Err: r}
}

// is is errors.Is for the scrm sentinels, without its cost on the common
// path: scrm.Error.Unwrap allocates, and "not found" is an everyday answer
// on hot paths (an event of a customer nobody invited).
func is(err, sentinel error) bool {
	if se, ok := err.(*scrm.Error); ok && se.Code == sentinel {
		return true
	}
	return errors.Is(err, sentinel)
}
