package referral

import (
	"context"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Store persists referral programs, codes, bindings, qualifications, the
// money ledger, the grant ledger, group buys and bargains. It is the
// interface storage implementers write; hosts use *Service.
//
// Every method is atomic on its own (a SQL implementation does each in one
// transaction or one conditional statement), reads and writes only the
// tenant it is given, copies values in and out (callers may modify what they
// passed or got back), and, when ctx is done, returns an error matching
// scrm.ErrUnavailable that wraps ctx.Err() and writes nothing. Errors that
// refuse a request carry a Reason as well as their sentinel. On any error
// nothing is written.
//
// NewMemoryStore is the in-memory implementation; referraltest.RunStoreTests
// is the conformance suite every implementation must pass.
type Store interface {
	// PutProgram stores p (already validated), replacing the program of the
	// same tenant and ID.
	PutProgram(ctx context.Context, p Program) error
	// GetProgram returns a program. Errors: ErrNotFound.
	GetProgram(ctx context.Context, tenant scrm.TenantID, id string) (Program, error)

	// PutCode stores an invite code. Invariant: within a tenant a code has
	// one owner and an owner one code. When c.Owner has a code already,
	// PutCode returns that record and writes nothing (so concurrent first
	// calls for one owner agree). Errors: ErrConflict when c.Code belongs to
	// another owner.
	PutCode(ctx context.Context, c CodeRecord) (CodeRecord, error)
	// GetCode returns the record of a code (canonical form). Errors:
	// ErrNotFound.
	GetCode(ctx context.Context, tenant scrm.TenantID, code string) (CodeRecord, error)
	// OwnerCode returns the code record of an owner. Errors: ErrNotFound.
	OwnerCode(ctx context.Context, tenant scrm.TenantID, owner Owner) (CodeRecord, error)

	// AddSignals adds a device and a phone (either may be empty) to what the
	// customer was seen with, keeping the MaxKnownSignals most recent of
	// each; adding a known one makes it the most recent.
	AddSignals(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, s Signals) error
	// GetSignals returns what the customer was seen with: nothing (and no
	// error) for a customer never seen.
	GetSignals(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID) (KnownSignals, error)

	// Bind inserts p.Binding. Invariants, checked in this order in the same
	// atomic step:
	//   - a tenant's customer is bound at most once: ErrConflict carrying
	//     ReasonAlreadyBound when p.Binding.Invitee is bound;
	//   - a non-empty p.Binding.IdempotencyKey is unique within the tenant:
	//     ErrConflict (field "Binding.IdempotencyKey", no Reason) when
	//     another invitee's binding has it, so that of many callers binding
	//     different invitees with one key at once, exactly one succeeds;
	//   - no self-referral or cycles: ErrForbidden carrying
	//     ReasonSelfReferral when p.Binding.Inviter is p.Binding.Invitee, and
	//     ReasonCycle when p.Binding.Invitee is p.Binding.Inviter's inviter,
	//     or that inviter's inviter, and so on;
	//   - each of p.Limits: the bindings of the tenant whose field (By)
	//     equals Value and whose At is at or after Since (all of them for a
	//     zero Since), whatever their status, number fewer than Max. Past a
	//     limit with Review false, ErrForbidden carrying the limit's Reason;
	//     with Review true, the binding is stored with Status StatusReview
	//     and the Reason appended to Flags.
	// It also adds the binding's device and phone to the invitee's signals
	// (as AddSignals). It returns the binding as stored. Errors also:
	// ErrInvalid unless exactly one of Inviter and Staff is set.
	Bind(ctx context.Context, p BindParams) (Binding, error)
	// GetBinding returns the invitee's binding. Errors: ErrNotFound.
	GetBinding(ctx context.Context, tenant scrm.TenantID, invitee scrm.CustomerID) (Binding, error)
	// Review moves a binding under review to StatusActive (p.Approve) or
	// StatusRejected, with ReviewedAt p.At, and its qualification, if any,
	// with it. An approved qualification gets its Rank and Rewarded now, as
	// Qualify would. Errors: ErrNotFound; ErrConflict carrying
	// ReasonNotInReview when the binding's status is not StatusReview.
	Review(ctx context.Context, p ReviewParams) (ReviewResult, error)

	// Qualify records p.Qualification once per program and invitee. When one
	// is recorded already it returns that one with created false and writes
	// nothing. Otherwise the invitee's binding, which must be under
	// p.Qualification.Program, decides: Inviter and Staff are copied from
	// it; an active binding makes the qualification StatusActive with Rank
	// one more than the inviter's active qualifications in the program
	// (so ranks are 1, 2, 3, ... without gaps or repeats even under
	// concurrency; 0 for a staff binding) and Rewarded true when the inviter
	// is set and p.MaxPerInviter is 0 or Rank ≤ p.MaxPerInviter; a binding
	// under review makes it StatusReview with Rank 0. Errors: ErrNotFound
	// when the invitee has no binding under the program; ErrForbidden
	// carrying ReasonRejected when the binding was rejected.
	Qualify(ctx context.Context, p QualifyParams) (q Qualification, created bool, err error)
	// GetQualification returns the invitee's qualification in a program.
	// Errors: ErrNotFound.
	GetQualification(ctx context.Context, tenant scrm.TenantID, program string, invitee scrm.CustomerID) (Qualification, error)

	// AddEntries inserts each entry whose ID the tenant does not have yet;
	// entries it has are left as they are. It stores an entry's Gross as
	// its Amount when Gross is zero, and its Refunded and ReducedAt as
	// zero. The refunds already recorded for the order of an EntryPending
	// entry (Invitee, OrderID; see ReverseOrder) apply to it by the rules
	// of ReverseOrder, as they would have had it been there when they
	// came: those before its DueAt reduce it, or insert it EntryReversed.
	//
	// It returns, as stored after the call and in the order given, those of
	// entries that refunds changed: EntryReversed ones, and reduced ones
	// (Amount below Gross), inserted so now or changed before (a replay).
	// The caller publishes their EventReversed or EventReduced (again:
	// their IDs are deterministic), so a refund delivered before its
	// order, or a publish that failed, is not lost. Usually there are none
	// (nil). Errors: ErrInvalid, and nothing written, for an entry without
	// ID, with an Amount that is not a whole number of fen, a Base that is
	// negative or not a whole number of fen, or a non-zero Gross other than
	// its Amount.
	AddEntries(ctx context.Context, tenant scrm.TenantID, entries []Entry) (changed []Entry, err error)
	// ReverseOrder records a refund of the invitee's order p.OrderID: p.Amount
	// refunded (zero: the whole order) at p.At. A refund with a non-empty
	// p.RefundID that the order has recorded already changes nothing (a
	// redelivery is not counted twice); without RefundID, every call
	// counts. The store keeps the order's refunds (their IDs, times and
	// amounts), so that entries added later count them too (see
	// AddEntries).
	//
	// Then each EntryPending entry of the order whose DueAt is after p.At
	// is brought up to date with the order's refunds recorded so far whose
	// time is before its DueAt, taken in time order, R being their total
	// (a refund of the whole order counting as its Base). While R is below
	// its Base, its Amount is Gross − round_half_up(Gross × R ÷ Base) in
	// fen, computed from Gross each time (roundings never compound), its
	// Refunded R and its ReducedAt the time of the latest of them that
	// lowered its Amount (zero while none did: a refund that leaves the
	// rounded Amount as it was counts in Refunded only). When its Base is
	// zero (unknown), or R reaches it, or its Amount would become
	// 0, it moves to EntryReversed, ReversedAt the time of the refund that
	// did it (p.At when refunds come in time order), keeping the Amount it
	// had before that refund, Refunded R capped at Base. Entries settling,
	// settled or reversed are never changed, and refunds at or after an
	// entry's DueAt never count for it, in whatever order they are
	// delivered.
	//
	// It returns every entry of the order that refunds changed, as stored
	// after the call, in the order's entry order: those reduced (Amount
	// below Gross, whatever their status now) or reversed by this call or
	// before, so that a redelivered refund lets the caller publish again an
	// EventReversed or EventReduced whose publish failed. Errors:
	// ErrInvalid, and nothing written, for an empty Invitee or OrderID
	// (naming the field), an Amount that is negative or not a whole number
	// of fen, or a RefundID longer than scrm.MaxIDLength.
	ReverseOrder(ctx context.Context, p ReverseParams) ([]Entry, error)
	// ListEntries returns the tenant's entries of status p.Status whose
	// DueAt is at or before p.DueBy (any, for a zero DueBy), in ID order,
	// after p.Cursor, at most p.Limit (see scrm.PageLimit: default 100,
	// at most 1000); the cursor is the last ID of the previous page.
	ListEntries(ctx context.Context, p ListEntriesParams) (EntryPage, error)
	// SetEntryStatus moves an entry from p.From to p.To, setting SettledAt
	// (EntrySettled) or ReversedAt (EntryReversed) to p.At, and returns it.
	// Invariant: an entry is paid only once its own stored DueAt has come
	// (the return window it was recorded with, whatever the program says
	// now), so a refund inside that window can still reverse it: moving an
	// EntryPending entry to EntrySettling or EntrySettled when its stored
	// DueAt is after p.At is refused with ErrConflict carrying
	// ReasonEntryNotDue. Errors: ErrNotFound; ErrConflict (no Reason) when
	// its status is not p.From.
	SetEntryStatus(ctx context.Context, p SetEntryStatusParams) (Entry, error)

	// ClaimGrants claims the right to make grants, each keyed by its
	// idempotency key (Records[i].Key), in one atomic step. Each record is
	// decided on its own, in order, and one record's outcome never changes
	// another's:
	//   - with no stored record, it inserts it as GrantClaimed until
	//     p.Until and reports it claimed;
	//   - with a GrantDone record, it returns that, not claimed, whatever
	//     the record's Fingerprint: a grant made stays made, even when the
	//     program it came from was edited since and its key now names
	//     another payload;
	//   - with a GrantClaimed record whose ClaimedUntil is at or before
	//     p.Now (its claimant crashed or gave up), it replaces it with the
	//     record, claimed until p.Until, as for a new one;
	//   - with a GrantClaimed record whose ClaimedUntil is after p.Now
	//     (another caller is granting it), it returns that, not claimed,
	//     and, when its Fingerprint differs from the record's (a different
	//     request reuses a key in flight), with Err matching ErrConflict.
	// A key given twice in one call is decided once: the later record gets
	// the earlier's result, not claimed, and Err matching ErrConflict when
	// their Fingerprints differ. Of many callers claiming one key at once,
	// exactly one gets it. The call's own error (ErrInvalid for a missing
	// tenant or key, ErrUnavailable) means nothing was written.
	ClaimGrants(ctx context.Context, p ClaimGrantsParams) ([]GrantClaim, error)
	// CompleteGrants marks claimed grants GrantDone at at; grants already
	// done are left alone. Errors: ErrNotFound, and nothing written, when a
	// key has no record.
	CompleteGrants(ctx context.Context, tenant scrm.TenantID, keys []string, at time.Time) error
	// ReleaseGrants deletes the GrantClaimed records of keys so they can be
	// claimed again at once; done or missing records are left alone.
	ReleaseGrants(ctx context.Context, tenant scrm.TenantID, keys []string) error

	// Stats aggregates a program (p.Program, required), optionally for one
	// inviter (bindings under their code, grants to them, entries for them)
	// or one staff member. See Stats for the fields.
	Stats(ctx context.Context, p StatsParams) (Stats, error)
	// Leaderboard ranks a program's inviters (or, with p.Staff, its staff
	// members) by active qualifications, then active or under-review
	// bindings, then ID, returning the first p.Limit (see scrm.PageLimit:
	// default 10, at most 1000) with Rank set.
	Leaderboard(ctx context.Context, p LeaderboardParams) ([]Standing, error)

	// PutGroupBuy stores p.GroupBuy (already validated), replacing the one
	// of the same ID, with Revision one more than the stored one's (1 for a
	// new one), if, in the same atomic step, what the caller checked it
	// against still holds: the stored group buy's Revision is p.Revision
	// (0: none is stored), and, as p asks, the group buy has no team
	// opened as a lottery team (p.NoLotteryTeams) or as a regular team
	// (p.NoRegularTeams), counting the teams OpenTeam inserted with its
	// ID, and no draw (p.NotDrawn). Otherwise it returns ErrConflict naming
	// the first of "Revision", "NoLotteryTeams", "NoRegularTeams" and
	// "NotDrawn" that does not hold, and writes nothing: read and check
	// again. So of a put and a team opened (or a draw saved) at once, the
	// outcome is one of the two orders.
	PutGroupBuy(ctx context.Context, p PutGroupBuyParams) error
	// GetGroupBuy returns a group buy. Errors: ErrNotFound.
	GetGroupBuy(ctx context.Context, tenant scrm.TenantID, id string) (GroupBuy, error)
	// OpenTeam inserts p.Team, unless its leader has a TeamOpen team of the
	// same group buy that expires after p.Now: then it returns that one with
	// created false. Otherwise, checked in this order in the same atomic
	// step: ErrExpired carrying ReasonNotRunning when the group buy
	// (p.Team.GroupBuy) has a draw (see SaveDraw): no team opens after it;
	// ErrConflict naming "GroupBuyRevision" when p.GroupBuyRevision is not
	// 0 and the stored group buy's Revision is not p.GroupBuyRevision (it
	// was saved since the caller read it, or is gone: read it again);
	// ErrConflict (no field) when the team ID exists. Nothing is written
	// on error.
	OpenTeam(ctx context.Context, p OpenTeamParams) (t Team, created bool, err error)
	// JoinTeam appends p.Customer to the team's members at p.Now; the member
	// who brings the team to Size makes it TeamSucceeded with ClosedAt
	// p.Now. Invariant: a team never has more than Size members, nor a
	// customer twice. Errors, checked in this order: ErrNotFound; ErrExpired
	// carrying ReasonTeamClosed when the team failed or is open with
	// ExpiresAt at or before p.Now (the team is not changed; ExpireTeams
	// fails it); ErrConflict carrying ReasonAlreadyJoined for a member;
	// ErrExhausted carrying ReasonTeamFull when it succeeded.
	JoinTeam(ctx context.Context, p JoinTeamParams) (Team, error)
	// GetTeam returns a team. Errors: ErrNotFound.
	GetTeam(ctx context.Context, tenant scrm.TenantID, id string) (Team, error)
	// ExpireTeams moves the tenant's TeamOpen teams whose ExpiresAt is at or
	// before p.Now (only p.Team, or only those of p.GroupBuy, when set) to
	// TeamFailed with ClosedAt their ExpiresAt, at most p.Limit of them
	// (0: all), and returns those it moved, in ID order. A team is moved
	// once: concurrent calls return disjoint teams.
	ExpireTeams(ctx context.Context, p ExpireTeamsParams) ([]Team, error)
	// ListTeams returns the tenant's teams in ID order after p.Cursor, at
	// most p.Limit (see scrm.PageLimit: default 100, at most 1000), filtered
	// by p.GroupBuy and p.Status when set and, with p.Unreported, to
	// finished teams not yet marked reported; the cursor is the last ID of
	// the previous page.
	ListTeams(ctx context.Context, p ListTeamsParams) (TeamPage, error)
	// MarkTeamReported sets a team's Reported. Errors: ErrNotFound.
	MarkTeamReported(ctx context.Context, tenant scrm.TenantID, id string) error
	// SaveDraw stores a group buy's draw once: when one is stored it returns
	// that with created false and writes nothing. Otherwise, when
	// d.GroupBuyRevision is not 0 and the stored group buy's Revision is
	// not d.GroupBuyRevision (it was saved since the draw was computed
	// from it), it returns ErrConflict naming "GroupBuyRevision" and writes
	// nothing: read it and draw again.
	SaveDraw(ctx context.Context, d Draw) (stored Draw, created bool, err error)
	// GetDraw returns a group buy's draw. Errors: ErrNotFound.
	GetDraw(ctx context.Context, tenant scrm.TenantID, groupBuy string) (Draw, error)

	// PutBargain stores b (already validated), replacing the one of the
	// same ID.
	PutBargain(ctx context.Context, b Bargain) error
	// GetBargain returns a bargain. Errors: ErrNotFound.
	GetBargain(ctx context.Context, tenant scrm.TenantID, id string) (Bargain, error)
	// StartSession inserts p.Session, unless its owner has a session of the
	// same bargain that has not expired uncompleted at p.Now: then it
	// returns that one with created false. Errors: ErrConflict when the
	// session ID exists.
	StartSession(ctx context.Context, p StartSessionParams) (s Session, created bool, err error)
	// GetSession returns a session. Errors: ErrNotFound.
	GetSession(ctx context.Context, tenant scrm.TenantID, id string) (Session, error)
	// Help appends p.Cut to the session and lowers its Price by
	// p.Cut.Amount, completing it (CompletedAt p.Now; not yet Reported)
	// when that was help number Terms.Helpers. Invariants: each helper helps once; helps are
	// numbered 1, 2, ... without gaps; Price never goes below Terms.Floor
	// and reaches it exactly at the last help. Errors, checked in this
	// order: ErrNotFound; ErrForbidden carrying ReasonSelfHelp for the
	// owner; ErrConflict carrying ReasonAlreadyHelped; ErrExhausted carrying
	// ReasonBargainComplete; ErrExpired carrying ReasonSessionExpired when
	// ExpiresAt is at or before p.Now; ErrConflict (no Reason) when
	// p.Cut.Index is not the session's next help number (another help came
	// first: recompute and retry); ErrInvalid when p.Cut.Amount is not
	// positive whole fen, would take Price below Floor, or, at the last
	// help, would not reach Floor exactly, or p.Cut.Price is not the
	// resulting price.
	Help(ctx context.Context, p HelpParams) (Session, error)
	// ListSessions returns the tenant's bargain sessions in ID order after
	// p.Cursor, at most p.Limit (see scrm.PageLimit: default 100, at most
	// 1000), filtered by p.Bargain when set and, with p.Unreported, to
	// completed sessions not yet marked reported; the cursor is the last
	// ID of the previous page.
	ListSessions(ctx context.Context, p ListSessionsParams) (SessionPage, error)
	// MarkSessionReported sets a session's Reported. Errors: ErrNotFound.
	MarkSessionReported(ctx context.Context, tenant scrm.TenantID, id string) error

	// PutLottery stores a lucky draw (already validated), replacing the one
	// of the same tenant and ID, and returns it as stored. A replaced
	// lottery keeps its stored Seed (l.Seed is used only for a new one),
	// and the counts of what its draws won, by prize ID. Errors:
	// ErrConflict when another lottery of the tenant has the same non-empty
	// Keyword and a Start–End window overlapping l's.
	PutLottery(ctx context.Context, l Lottery) (Lottery, error)
	// GetLottery returns a lucky draw. Errors: ErrNotFound.
	GetLottery(ctx context.Context, tenant scrm.TenantID, id string) (Lottery, error)
	// FindLottery returns the tenant's lucky draw whose Keyword is keyword
	// and that runs at at (Start ≤ at < End). Errors: ErrNotFound.
	FindLottery(ctx context.Context, tenant scrm.TenantID, keyword string, at time.Time) (Lottery, error)
	// EnterLottery makes one draw of the stored lottery p.Lottery, in one
	// atomic step. When the tenant has a draw with p.IdempotencyKey, it
	// returns that one with created false and writes nothing (ErrConflict
	// when its Customer or Lottery differ from p's). Otherwise, checked in
	// this order: ErrNotFound for an unknown lottery; ErrExpired carrying
	// ReasonNotRunning unless Start ≤ p.Now < End; ErrExhausted carrying
	// ReasonDailyLimit when PerCustomerPerDay is set and the customer has
	// that many draws (pending or settled) of the lottery on p.Day;
	// ErrExhausted carrying ReasonSoldOut when no prize with a positive
	// Weight has stock left. Then it inserts the draw: ID p.ID (stored as
	// given; the draw is found by its key), Seq one
	// more than the lottery's highest Seq so far, Seed the lottery's, Odds
	// its prizes in order with Left = max(0, Stock − draws holding the
	// prize), NoPrizeWeight, Prize the one at PickPrize(Seed, Seq, Odds,
	// NoPrizeWeight) (empty for -1) with its Reward, Cost the lottery's
	// EntryCostPoints, Day p.Day, At p.Now, and Status DrawPending when
	// Cost > 0, else DrawSettled with SettledAt p.Now; a draw created
	// settled with a prize is claimed for its grant (see
	// ClaimLotteryGrant) by the caller until p.GrantUntil. Invariants: a
	// prize is never held by more draws than its Stock, nor a customer's
	// day by more than PerCustomerPerDay draws, however many callers race.
	//
	// With p.Paid set (the caller was charged for the key's draw, which a
	// concurrent caller with the key cancelled meanwhile; see
	// EnterLotteryParams.Paid), the draw is made whatever the window, the
	// daily limit and the stock: the checks for ReasonNotRunning,
	// ReasonDailyLimit and ReasonSoldOut are skipped, the draw is counted
	// in p.Day even past PerCustomerPerDay, it wins nothing when no prize
	// has stock left (PickPrize gives -1), and its Cost is p.Paid. It is
	// inserted DrawPending, marked paid: CancelLotteryDraw refuses it. A
	// pending draw the key has already is marked paid in the same way
	// before it is returned.
	EnterLottery(ctx context.Context, p EnterLotteryParams) (d DrawResult, created bool, err error)
	// The methods below find a draw by its idempotency key, which is unique
	// within a tenant.

	// GetLotteryDraw returns the tenant's draw with key, of whichever
	// lottery, pending or settled, as EnterLottery would replay it; Handle
	// uses it to replay a redelivered keyword reply on the lottery it drew
	// in, which need not be the one running now. It is a point lookup,
	// made for every keyword reply. Errors: ErrNotFound (also for a
	// cancelled draw).
	GetLotteryDraw(ctx context.Context, tenant scrm.TenantID, key string) (DrawResult, error)
	// SettleLotteryDraw moves a DrawPending draw to DrawSettled with
	// SettledAt p.At and, when it won a prize, claims its grant for the
	// caller until p.GrantUntil (claimed true); a settled draw is left as
	// it is (claimed false). It returns the draw's SettledAt. Errors:
	// ErrNotFound (also for a cancelled draw).
	SettleLotteryDraw(ctx context.Context, p SettleLotteryDrawParams) (settledAt time.Time, claimed bool, err error)
	// CancelLotteryDraw deletes a DrawPending draw, so that its prize's
	// stock, the customer's place in the daily limit and its idempotency
	// key are free again (its Seq is not reused). Errors: ErrNotFound;
	// ErrConflict when the draw is settled, or marked paid (see
	// EnterLottery): a draw whose entry was charged is never cancelled.
	CancelLotteryDraw(ctx context.Context, tenant scrm.TenantID, key string) error
	// ClaimLotteryGrant claims the right to grant the prize of a settled
	// draw, so that it reaches the Rewarder once however many callers
	// finish the draw at once: when the draw won a prize not yet marked
	// granted, and no claim on it runs past p.Now, it claims it for the
	// caller until p.Until and returns true. Otherwise (granted, won
	// nothing, or claimed by another caller) it returns false and writes
	// nothing. The claimant grants, then marks the draw granted or releases
	// the claim. Errors: ErrNotFound; ErrConflict when the draw is pending.
	ClaimLotteryGrant(ctx context.Context, p ClaimLotteryGrantParams) (claimed bool, err error)
	// ReleaseLotteryGrant drops the claim on a draw's grant (its grant
	// failed), so that the next caller may claim it at once. Errors:
	// ErrNotFound.
	ReleaseLotteryGrant(ctx context.Context, tenant scrm.TenantID, key string) error
	// MarkLotteryDrawGranted sets the GrantedAt of a settled draw that won
	// a prize, unless set already, and drops any claim on its grant.
	// Errors: ErrNotFound; ErrConflict when the draw is pending or won
	// nothing.
	MarkLotteryDrawGranted(ctx context.Context, tenant scrm.TenantID, key string, at time.Time) error
	// ListLotteryDraws returns the settled draws of p.Lottery (only
	// p.Customer's when set, only those that won a prize with p.Won) in
	// Seq order, after the draw whose Seq is p.Cursor (a decimal number;
	// empty: from the first), at most p.Limit (see scrm.PageLimit: default
	// 100, at most 1000).
	ListLotteryDraws(ctx context.Context, p ListLotteryDrawsParams) (DrawResultPage, error)
	// ListUnfinishedLotteryDraws returns the tenant's draws, of every
	// lottery, that are DrawPending or won a prize whose grant is not
	// marked, and whose At is at or before p.Before, in idempotency-key
	// order after p.Cursor (a key), at most p.Limit (scrm.PageLimit:
	// default 100, at most 1000).
	ListUnfinishedLotteryDraws(ctx context.Context, p ListUnfinishedParams) (DrawResultPage, error)
}

// LimitBy names what a BindLimit counts bindings by.
type LimitBy string

// The fields a BindLimit counts by.
const (
	LimitByInviter LimitBy = "inviter" // Binding.Inviter
	LimitByDevice  LimitBy = "device"  // Binding.Signals.Device
	LimitByIP      LimitBy = "ip"      // Binding.Signals.IP
)

// BindLimit is a count limit Store.Bind enforces atomically with the insert.
type BindLimit struct {
	By     LimitBy
	Value  string    // count the bindings whose By is this value (usually the new binding's own)
	Since  time.Time // count bindings at or after this; zero: all
	Max    int       // at most this many before the new one
	Review bool      // past the limit: store for review instead of refusing
	Reason Reason    // reported when the limit hits
}

// BindParams is the input of Store.Bind.
type BindParams struct {
	Binding Binding
	Limits  []BindLimit
}

// ReviewParams is the input of Store.Review.
type ReviewParams struct {
	Tenant        scrm.TenantID
	Invitee       scrm.CustomerID
	Approve       bool
	At            time.Time
	MaxPerInviter int // of the binding's program, for the qualification's Rewarded
}

// ReviewResult is the output of Store.Review.
type ReviewResult struct {
	Binding       Binding
	Qualification *Qualification // the invitee's qualification in the binding's program, if any
}

// QualifyParams is the input of Store.Qualify.
type QualifyParams struct {
	Qualification Qualification
	MaxPerInviter int
}

// ReverseParams is the input of Store.ReverseOrder: one refund of an
// invitee's order.
type ReverseParams struct {
	Tenant  scrm.TenantID
	Invitee scrm.CustomerID
	OrderID string
	At      time.Time // the refund's time
	// Amount is the amount refunded: a whole, non-negative number of fen.
	// Zero means the whole order: it reverses every pending entry of the
	// order whose DueAt is after At.
	Amount decimal.Decimal
	// RefundID identifies the refund (the refund event's ID): a refund
	// the order has recorded already under this ID is not counted again.
	// Empty: not deduplicated; every call counts.
	RefundID string
}

// ListEntriesParams is the input of Store.ListEntries.
type ListEntriesParams struct {
	Tenant scrm.TenantID
	Status EntryStatus
	DueBy  time.Time
	Cursor string
	Limit  int
}

// EntryPage is one page of Store.ListEntries.
type EntryPage struct {
	Entries []Entry
	Next    string // cursor of the next page; empty after the last
}

// SetEntryStatusParams is the input of Store.SetEntryStatus.
type SetEntryStatusParams struct {
	Tenant   scrm.TenantID
	ID       string
	From, To EntryStatus
	At       time.Time
}

// ClaimGrantsParams is the input of Store.ClaimGrants.
type ClaimGrantsParams struct {
	Tenant  scrm.TenantID
	Records []GrantRecord // Key, Program, Customer, Reward, Source, Fingerprint
	Now     time.Time
	Until   time.Time // the claims' lease
}

// GrantClaim is one result of Store.ClaimGrants.
type GrantClaim struct {
	Record  GrantRecord // as stored after the call
	Claimed bool        // the caller holds the claim and must grant, then complete or release it
	// Err, when set, refuses this record alone: an error matching
	// scrm.ErrConflict when another caller is granting its key with a
	// different payload. The stored record is left as it is; the call's
	// other records are not affected.
	Err error
}

// StatsParams is the input of Store.Stats.
type StatsParams struct {
	Tenant  scrm.TenantID
	Program string
	Inviter scrm.CustomerID // optional
	Staff   string          // optional
}

// LeaderboardParams is the input of Store.Leaderboard.
type LeaderboardParams struct {
	Tenant  scrm.TenantID
	Program string
	Limit   int
	Staff   bool // rank staff members instead of inviting customers
}

// PutGroupBuyParams is the input of Store.PutGroupBuy: a group buy and
// what must still hold, in the same atomic step, for it to be stored.
type PutGroupBuyParams struct {
	GroupBuy GroupBuy
	// Revision is the Revision of the stored group buy the caller read and
	// checked GroupBuy against; 0 when none was stored.
	Revision int64
	// NoLotteryTeams and NoRegularTeams require that the group buy has no
	// team opened as a lottery team (Team.Lottery), respectively as a
	// regular one: the caller found none and changes what such a team was
	// opened under.
	NoLotteryTeams, NoRegularTeams bool
	// NotDrawn requires that the group buy has no draw: the caller found
	// none and makes a change a draw would forbid.
	NotDrawn bool
}

// OpenTeamParams is the input of Store.OpenTeam.
type OpenTeamParams struct {
	Team Team
	Now  time.Time
	// GroupBuyRevision, when not 0, is the Revision of the group buy the
	// team was made from (its Size, Price, Duration and kind): the team is
	// inserted only while the stored group buy still has it.
	GroupBuyRevision int64
}

// JoinTeamParams is the input of Store.JoinTeam.
type JoinTeamParams struct {
	Tenant   scrm.TenantID
	Team     string
	Customer scrm.CustomerID
	Now      time.Time
}

// ExpireTeamsParams is the input of Store.ExpireTeams.
type ExpireTeamsParams struct {
	Tenant   scrm.TenantID
	GroupBuy string // optional
	Team     string // optional
	Now      time.Time
	Limit    int // 0: all
}

// ListTeamsParams is the input of Store.ListTeams.
type ListTeamsParams struct {
	Tenant     scrm.TenantID
	GroupBuy   string     // optional
	Status     TeamStatus // optional
	Unreported bool
	Cursor     string
	Limit      int
}

// TeamPage is one page of Store.ListTeams.
type TeamPage struct {
	Teams []Team
	Next  string // cursor of the next page; empty after the last
}

// StartSessionParams is the input of Store.StartSession.
type StartSessionParams struct {
	Session Session
	Now     time.Time
}

// HelpParams is the input of Store.Help.
type HelpParams struct {
	Tenant  scrm.TenantID
	Session string
	Cut     Cut
	Now     time.Time
}

// ListSessionsParams is the input of Store.ListSessions.
type ListSessionsParams struct {
	Tenant     scrm.TenantID
	Bargain    string // optional
	Unreported bool   // only completed sessions not yet marked reported
	Cursor     string
	Limit      int
}

// SessionPage is one page of Store.ListSessions.
type SessionPage struct {
	Sessions []Session
	Next     string // cursor of the next page; empty after the last
}

// EnterLotteryParams is the input of Store.EnterLottery.
type EnterLotteryParams struct {
	Tenant         scrm.TenantID
	Lottery        string
	Customer       scrm.CustomerID
	IdempotencyKey string
	ID             string    // the new draw's ID
	Day            string    // the customer's calendar day at Now, "2006-01-02"
	Now            time.Time // the draw's time
	GrantUntil     time.Time // the caller's claim on the grant of a free draw that wins
	// Paid, when positive, is the entry cost the caller was charged for
	// the key's draw, which a concurrent caller with the same key cancelled
	// before it was settled (its own charge was refused while this one
	// went through). The charge entitles the customer to the draw, so the
	// Store makes it whatever the window, the daily limit and the stock
	// (see Store.EnterLottery). Zero: an ordinary entry.
	Paid int64
}

// SettleLotteryDrawParams is the input of Store.SettleLotteryDraw.
type SettleLotteryDrawParams struct {
	Tenant     scrm.TenantID
	Key        string // the draw's idempotency key
	At         time.Time
	GrantUntil time.Time // the caller's claim on the grant of a draw that won
}

// ClaimLotteryGrantParams is the input of Store.ClaimLotteryGrant.
type ClaimLotteryGrantParams struct {
	Tenant scrm.TenantID
	Key    string // the draw's idempotency key
	Now    time.Time
	Until  time.Time
}

// ListLotteryDrawsParams is the input of Store.ListLotteryDraws.
type ListLotteryDrawsParams struct {
	Tenant   scrm.TenantID
	Lottery  string
	Customer scrm.CustomerID // optional
	Won      bool            // only draws that won a prize
	Cursor   string
	Limit    int
}

// ListUnfinishedParams is the input of Store.ListUnfinishedLotteryDraws.
type ListUnfinishedParams struct {
	Tenant scrm.TenantID
	Before time.Time
	Cursor string
	Limit  int
}
