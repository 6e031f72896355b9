package referral

import (
	"context"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
)

// Stats are counts and sums over a program's bindings, for one inviter
// (Service.Stats) or the whole program (Report).
type Stats struct {
	Inviters  int // distinct customers with an active or under-review binding under their code
	Bound     int // bindings, active or under review (rejected ones excluded)
	Review    int // of which under review
	Rejected  int // bindings rejected on review
	Qualified int // active qualifications
	// StaffBound and StaffQualified are the part of Bound and Qualified
	// that came through staff codes.
	StaffBound, StaffQualified int
	QualifiedAmount            decimal.Decimal // total of the qualifying orders
	Rewards                    int             // grants completed (for an inviter: to that inviter)
	// Pending, Settled and Reversed split the entries' Gross: Pending is
	// the Amount of the entries not yet paid (pending or settling),
	// Settled the Amount of those paid, and Reversed what refunds
	// cancelled: the Gross of reversed entries and, of the others, what
	// partial refunds took off (Gross − Amount).
	Pending  decimal.Decimal
	Settled  decimal.Decimal
	Reversed decimal.Decimal
}

// Standing is one line of a leaderboard: an inviter (or, in Report.Staff, a
// staff member) and how many they brought in.
type Standing struct {
	Rank      int // 1-based
	Inviter   scrm.CustomerID
	Staff     string
	Bound     int // active or under review
	Qualified int // active qualifications
}

// Report is a program's overview.
type Report struct {
	Program string
	Stats
	// InvitesPerInviter is the customer bindings (Bound − StaffBound) per
	// inviter; QualificationRate the share of them that qualified; and
	// KFactor their product, the viral coefficient: how many qualified new
	// customers each inviting customer brings. Staff bindings are left out
	// of all three; they are not word of mouth. Zero when undefined.
	InvitesPerInviter float64
	QualificationRate float64
	KFactor           float64
	// Staff is the standing of every staff channel code (up to 1000),
	// for staff commission, best first.
	Staff []Standing
}

// Stats returns the program's counts for one inviter: whom they bound, who
// qualified, the rewards they were granted and the money pending, paid and
// reversed for them (level 2 commission included).
//
// Errors: ErrInvalid for malformed IDs.
func (s *Service) Stats(ctx context.Context, tenant scrm.TenantID, program string, inviter scrm.CustomerID) (Stats, error) {
	const op = "referral.Stats"
	if err := checkTenantProgram(op, tenant, program); err != nil {
		return Stats{}, err
	}
	if err := scrm.CheckID(op, "Inviter", string(inviter)); err != nil {
		return Stats{}, err
	}
	st, err := s.store.Stats(ctx, StatsParams{Tenant: tenant, Program: program, Inviter: inviter})
	return st, scrm.Wrap(nil, op, err)
}

// Leaderboard returns the program's top n inviters by qualified invitees,
// then bound invitees, then customer ID. n ≤ 0 means 10; at most 1000.
//
// Errors: ErrInvalid for malformed IDs.
func (s *Service) Leaderboard(ctx context.Context, tenant scrm.TenantID, program string, n int) ([]Standing, error) {
	const op = "referral.Leaderboard"
	if err := checkTenantProgram(op, tenant, program); err != nil {
		return nil, err
	}
	out, err := s.store.Leaderboard(ctx, LeaderboardParams{Tenant: tenant, Program: program, Limit: scrm.PageLimit(n, 10, 1000)})
	return out, scrm.Wrap(nil, op, err)
}

// Report returns the program's totals, its K-factor and its staff standings.
//
// Errors: ErrInvalid for malformed IDs; ErrNotFound for an unknown program.
func (s *Service) Report(ctx context.Context, tenant scrm.TenantID, program string) (Report, error) {
	const op = "referral.Report"
	if err := checkTenantProgram(op, tenant, program); err != nil {
		return Report{}, err
	}
	if _, err := s.program(ctx, op, tenant, program); err != nil {
		return Report{}, err
	}
	st, err := s.store.Stats(ctx, StatsParams{Tenant: tenant, Program: program})
	if err != nil {
		return Report{}, scrm.Wrap(nil, op, err)
	}
	staff, err := s.store.Leaderboard(ctx, LeaderboardParams{Tenant: tenant, Program: program, Limit: 1000, Staff: true})
	if err != nil {
		return Report{}, scrm.Wrap(nil, op, err)
	}
	r := Report{Program: program, Stats: st, Staff: staff}
	bound, qualified := st.Bound-st.StaffBound, st.Qualified-st.StaffQualified
	if st.Inviters > 0 {
		r.InvitesPerInviter = float64(bound) / float64(st.Inviters)
	}
	if bound > 0 {
		r.QualificationRate = float64(qualified) / float64(bound)
	}
	r.KFactor = r.InvitesPerInviter * r.QualificationRate
	return r, nil
}

func checkTenantProgram(op string, tenant scrm.TenantID, program string) error {
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return err
	}
	return scrm.CheckID(op, "Program", program)
}
