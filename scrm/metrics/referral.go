package metrics

import (
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// referralTable follows referral bindings through their events.
type referralTable struct {
	programs dict
	inviters dict // inviting customers' IDs
	staff    dict
	idx      map[[2]uint32]uint32 // (program, invitee) → index in list
	list     []bindingState
	reversed map[string]reversal // by event ID
}

type bindingState struct {
	program  uint32
	invitee  uint32
	inviter  uint32 // in inviters; 0 for a staff binding
	staff    uint32 // in staff
	bound    int64  // unix nanoseconds, when boundSeen
	statusAt int64  // time of the event that set the status
	qualFen  int64
	flags    uint8
	status   uint8
}

const (
	boundSeen = 1 << iota
	qualifiedSeen
	statusSeen     // a status was set (at statusAt)
	statusReviewed // by a referral.reviewed
)

const (
	statusActive = iota
	statusReview
	statusRejected
)

type reversal struct {
	program uint32
	t       int64
	fen     int64
}

func statusOf(s string) uint8 {
	switch s {
	case "review":
		return statusReview
	case "rejected":
		return statusRejected
	}
	return statusActive
}

func (c *Collector) referralEvent(typ uint16, ci uint32, t, fen int64, e scrm.Event) {
	rt := &c.referrals
	if rt.idx == nil {
		rt.idx = make(map[[2]uint32]uint32)
		rt.reversed = make(map[string]reversal)
	}
	prog := rt.programs.intern(e.Prop("program"))
	if typ == c.tReversed {
		rt.reversed[e.ID] = reversal{program: prog, t: t, fen: fen}
		return
	}
	key := [2]uint32{prog, ci}
	k, ok := rt.idx[key]
	if !ok {
		k = uint32(len(rt.list))
		rt.idx[key] = k
		rt.list = append(rt.list, bindingState{program: prog, invitee: ci})
	}
	b := &rt.list[k]
	if b.inviter == 0 && b.staff == 0 {
		b.inviter = rt.inviters.intern(e.Prop("inviter"))
		if b.inviter == 0 {
			b.staff = rt.staff.intern(e.Prop("staff"))
		}
	}
	// The latest event sets the status. At one instant a referral.reviewed
	// beats a referral.bound (a review follows the binding it reviews),
	// and of two of one kind the more cautious status wins (rejected, then
	// review, then active: the order of the constants), so neither the
	// order of arrival nor a redelivery changes the outcome.
	setStatus := func(s string, reviewed uint8) {
		if s == "" {
			return
		}
		st := statusOf(s)
		if b.flags&statusSeen != 0 {
			if t != b.statusAt {
				if t < b.statusAt {
					return
				}
			} else if by := b.flags & statusReviewed; reviewed != by {
				if reviewed < by {
					return
				}
			} else if st <= b.status {
				return
			}
		}
		b.status, b.statusAt = st, t
		b.flags = b.flags&^statusReviewed | statusSeen | reviewed
	}
	switch typ {
	case c.tBound:
		if b.flags&boundSeen == 0 || t < b.bound {
			b.bound = t
		}
		b.flags |= boundSeen
		setStatus(e.Prop("status"), 0)
	case c.tReviewed:
		setStatus(e.Prop("status"), statusReviewed)
	case c.tQualified:
		b.flags |= qualifiedSeen
		b.qualFen = fen
	}
}

// ReferralOptions select the bindings of a referral report.
type ReferralOptions struct {
	// Program restricts the report to one referral program; empty: all.
	Program string
	// From and To select the bindings made (referral.bound) in
	// [From, To), and the reversals in it; a zero end is open.
	From, To time.Time
}

// ReferralRow is the referral report of one program (or the total). Its
// definitions are those of referral.Report, so the two agree.
type ReferralRow struct {
	Program string // "" on the total row
	// Inviters counts the distinct customers with an active or
	// under-review binding under their invite code.
	Inviters int
	// Bound counts bindings, active or under review; Review the part under
	// review; Rejected the bindings rejected on review (not in Bound).
	Bound, Review, Rejected int
	// Qualified counts the bindings (rejected ones excluded) whose invitee
	// qualified (referral.qualified); QualifiedAmount sums their
	// qualifying orders.
	Qualified       int
	QualifiedAmount decimal.Decimal
	// StaffBound and StaffQualified are the part of Bound and Qualified
	// that came through staff channel codes.
	StaffBound, StaffQualified int
	// ConversionRate = Qualified ÷ Bound: referral conversion, staff
	// codes included.
	ConversionRate float64
	// InvitesPerInviter = (Bound − StaffBound) ÷ Inviters;
	// QualificationRate = (Qualified − StaffQualified) ÷ (Bound − StaffBound);
	// KFactor = InvitesPerInviter × QualificationRate
	//         = (Qualified − StaffQualified) ÷ Inviters,
	// the viral coefficient: qualified new customers each inviting customer
	// brings. Staff bindings are left out: they are not word of mouth.
	InvitesPerInviter float64
	QualificationRate float64
	KFactor           float64
	// Reversed counts the rewards cancelled by refunds (referral.reversed)
	// in the window, and ReversedAmount sums them.
	Reversed       int
	ReversedAmount decimal.Decimal
}

// ReferralReport is the referral report: one row per program and a total.
type ReferralReport struct {
	From, To time.Time
	Rows     []ReferralRow // by program ID
	Total    ReferralRow
}

// Referrals computes K-factor and referral conversion per program from
// referral events:
//
//	ConversionRate = Qualified ÷ Bound
//	KFactor        = (Bound − StaffBound) ÷ Inviters × (Qualified − StaffQualified) ÷ (Bound − StaffBound)
//
// A binding counts when its referral.bound was seen in [From, To); its
// status is that of the latest referral.bound or referral.reviewed (at
// one instant a referral.reviewed beats a referral.bound, and of two of
// one kind "rejected" beats "review", which beats "active"), so the
// order in which they arrive does not matter.
// Referral events come from events only.
//
// Errors: ErrInvalid when To is not after From.
func (c *Collector) Referrals(o ReferralOptions) (ReferralReport, error) {
	const op = "metrics.Referrals"
	if err := checkWindow(op, o.From, o.To); err != nil {
		return ReferralReport{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rt := &c.referrals
	win := windowOf(o.From, o.To)
	want := uint32(0)
	if o.Program != "" {
		var ok bool
		if want, ok = rt.programs.idx[o.Program]; !ok {
			return ReferralReport{From: o.From, To: o.To, Total: referralRow("", acc{})}, nil
		}
	}
	n := len(rt.programs.names) + 1
	accs := make([]acc, n)
	inviters := make([]map[uint32]struct{}, n)
	var all acc
	allInv := map[[2]uint32]struct{}{}
	for _, b := range rt.list {
		if b.flags&boundSeen == 0 || !win.has(b.bound) || (want != 0 && b.program != want) {
			continue
		}
		a := &accs[b.program]
		a.add(b)
		all.add(b)
		if b.status != statusRejected && b.inviter != 0 {
			if inviters[b.program] == nil {
				inviters[b.program] = map[uint32]struct{}{}
			}
			inviters[b.program][b.inviter] = struct{}{}
			allInv[[2]uint32{b.program, b.inviter}] = struct{}{}
		}
	}
	for _, r := range rt.reversed {
		if !win.has(r.t) || (want != 0 && r.program != want) {
			continue
		}
		accs[r.program].reversed++
		accs[r.program].reversedFen += r.fen
		all.reversed++
		all.reversedFen += r.fen
	}
	out := ReferralReport{From: o.From, To: o.To}
	for p := range accs {
		a := accs[p]
		if a.bound+a.rejected == 0 && a.reversed == 0 {
			continue
		}
		a.inviters = len(inviters[p])
		out.Rows = append(out.Rows, referralRow(rt.programs.name(uint32(p)), a))
	}
	slices.SortFunc(out.Rows, func(a, b ReferralRow) int { return cmpString(a.Program, b.Program) })
	// An inviter active in two programs counts once per program, as in
	// referral.Report; the total adds the programs up.
	all.inviters = len(allInv)
	out.Total = referralRow("", all)
	return out, nil
}

type acc struct {
	inviters, bound, review, rejected, qualified, staffBound, staffQualified, reversed int
	qualFen, reversedFen                                                               int64
}

func (a *acc) add(b bindingState) {
	if b.status == statusRejected {
		a.rejected++
		return
	}
	a.bound++
	if b.status == statusReview {
		a.review++
	}
	staff := b.inviter == 0
	if staff {
		a.staffBound++
	}
	if b.flags&qualifiedSeen != 0 {
		a.qualified++
		a.qualFen += b.qualFen
		if staff {
			a.staffQualified++
		}
	}
}

func referralRow(program string, a acc) ReferralRow {
	cust := int64(a.bound - a.staffBound)
	custQ := int64(a.qualified - a.staffQualified)
	return ReferralRow{Program: program, Inviters: a.inviters, Bound: a.bound, Review: a.review,
		Rejected: a.rejected, Qualified: a.qualified, QualifiedAmount: scrm.FromFen(a.qualFen),
		StaffBound: a.staffBound, StaffQualified: a.staffQualified,
		ConversionRate:    ratio(int64(a.qualified), int64(a.bound)),
		InvitesPerInviter: ratio(cust, int64(a.inviters)),
		QualificationRate: ratio(custQ, cust),
		KFactor:           ratio(custQ, int64(a.inviters)),
		Reversed:          a.reversed, ReversedAmount: scrm.FromFen(a.reversedFen)}
}

// Table lays the referral report out: a row per program and a total.
func (r ReferralReport) Table() Table {
	tb := Table{Title: "Referral",
		Columns: []string{"Program", "Inviters", "Bound", "Staff bound", "Qualified", "Conversion", "Invites/inviter", "K-factor", "Qualified amount"},
		Align:   []Alignment{AlignLeft, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight, AlignRight}}
	row := func(name string, x ReferralRow) []string {
		return []string{name, count(x.Inviters), count(x.Bound), count(x.StaffBound), count(x.Qualified),
			pct(x.ConversionRate), strconv.FormatFloat(x.InvitesPerInviter, 'f', 2, 64),
			strconv.FormatFloat(x.KFactor, 'f', 2, 64), money(x.QualifiedAmount)}
	}
	for _, x := range r.Rows {
		tb.Rows = append(tb.Rows, row(x.Program, x))
	}
	tb.Rows = append(tb.Rows, row("Total", r.Total))
	return tb
}
