package referral

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// GrantStatus is the state of one grant in the Store's grant ledger.
type GrantStatus string

// The grant statuses.
const (
	GrantClaimed GrantStatus = "claimed" // a caller is granting it; others wait until ClaimedUntil
	GrantDone    GrantStatus = "done"    // the Rewarder accepted it
)

// GrantRecord is one entry of the grant ledger the Store keeps, one per
// idempotency key. It makes every reward reach the Rewarder once even when
// the same event is delivered by many goroutines at once, and it is what
// Stats counts as rewards granted.
type GrantRecord struct {
	Tenant       scrm.TenantID
	Key          string // the Grant's IdempotencyKey
	Program      string // the program (or "groupbuy:" and the group buy ID) it is for
	Customer     scrm.CustomerID
	Reward       scrm.Reward
	Source       string
	Fingerprint  string // scrm.Fingerprint of the Grant
	Status       GrantStatus
	ClaimedUntil time.Time // while Claimed: when another caller may take over
	DoneAt       time.Time
}

// rewardGrant is what the grants of one role for one event share: their
// idempotency keys are "referral:<program>:<role>:<about...>:<index>", made
// of the program, the role of the reward ("bind", "qualify", "invite",
// "rung3"), the customers it is about (the invitee; or the inviter and the
// invitee) and its index in the program's list, so that a redelivered
// event or a replayed request derives the same keys.
type rewardGrant struct {
	tenant         scrm.TenantID
	program        string
	source         string // "referral:<program>"; empty: grantSource
	role           string
	about1, about2 string
	// keys, when set, gets the keys instead of the grants (whose
	// IdempotencyKey and Source the caller sets from it).
	keys *keyArena
}

// add appends the grants of rewards to gs, for customer to.
func (g rewardGrant) add(gs []scrm.Grant, to scrm.CustomerID, rewards []scrm.Reward) []scrm.Grant {
	for i, r := range rewards {
		idx := strconv.Itoa(i)
		var k string
		switch {
		case g.keys != nil && g.about2 == "":
			g.keys.add("referral", g.program, g.role, g.about1, idx)
		case g.keys != nil:
			g.keys.add("referral", g.program, g.role, g.about1, g.about2, idx)
		case g.about2 == "":
			k = key("referral", g.program, g.role, g.about1, idx)
		default:
			k = key("referral", g.program, g.role, g.about1, g.about2, idx)
		}
		src := g.source
		if src == "" && g.keys == nil {
			src = grantSource(g.program, k)
		}
		gs = append(gs, scrm.Grant{Tenant: g.tenant, Customer: to, Reward: r, IdempotencyKey: k, Source: src})
	}
	return gs
}

// grantSource returns "referral:<program>", the Source of the grants of a
// program, as the head of k, one of their keys, when k begins with it (it
// does unless the program's ID needed escaping): one allocation less.
func grantSource(program, k string) string {
	const prefix = "referral:"
	if n := len(prefix) + len(program); len(k) > n && k[n] == ':' && k[:len(prefix)] == prefix && k[len(prefix):n] == program {
		return k[:n]
	}
	return prefix + program
}

// grant passes each of gs (all of one tenant) to the Rewarder at most once
// per idempotency key across every caller: it claims the keys in the
// Store's grant ledger first, in one call, and only the claimant of a key
// calls the Rewarder for it; others skip it. A failed grant releases its
// claim so the next delivery retries it; a crashed caller's claims are
// retried after Options.GrantLease. The Rewarder deduplicates by key too,
// so the rare retry after a lease expired mid-grant does not pay twice
// either. done reports whether every grant is complete (by this call or an
// earlier one); it is false while another caller still holds a claim.
//
// A key granted already is complete, whatever its payload now: the program
// may have been edited since, and what was granted stays granted. A key
// another caller is granting with a different payload fails with
// ErrConflict (see Store.ClaimGrants), without holding up the other grants.
//
// The grants are not validated here: their rewards come from a validated
// program, group buy or entry, and their keys from key, which bounds their
// length.
func (s *Service) grant(ctx context.Context, program string, gs []scrm.Grant) (done bool, err error) {
	if len(gs) == 0 {
		return true, nil
	}
	tenant, now := gs[0].Tenant, s.opts.Clock.Now()
	sc := s.scratch()
	defer s.recycle(sc)
	recs := sc.records(len(gs))
	gc, fast := s.store.(grantClaimer)
	for i, g := range gs {
		recs[i] = GrantRecord{Tenant: tenant, Key: g.IdempotencyKey, Program: program, Customer: g.Customer,
			Reward: g.Reward, Source: g.Source}
		if !fast {
			recs[i].Fingerprint = grantFingerprint(g)
		}
	}
	cp := ClaimGrantsParams{Tenant: tenant, Records: recs, Now: now, Until: now.Add(s.opts.GrantLease)}
	var claims []GrantClaim
	if fast {
		claims, err = gc.claimGrantsInto(ctx, cp, true, sc.claims[:0])
		if len(claims) > 0 {
			sc.claims = claims // recycled with sc
		}
	} else {
		claims, err = s.store.ClaimGrants(ctx, cp)
	}
	if err != nil {
		return false, err
	}
	done = true
	completed := sc.completed[:0]
	var failed []string
	var errs []error
	for i, c := range claims {
		if c.Err != nil {
			// Another caller is granting this key with another payload
			// (the program was edited meanwhile): this grant fails, the
			// others go ahead.
			errs = append(errs, scrm.Wrap(nil, "referral: grant "+gs[i].IdempotencyKey, c.Err))
			done = false
			continue
		}
		if !c.Claimed {
			done = done && c.Record.Status == GrantDone
			continue
		}
		if err := s.opts.Rewarder.Grant(ctx, gs[i]); err != nil {
			failed = append(failed, gs[i].IdempotencyKey)
			errs = append(errs, scrm.Wrap(nil, "referral: grant "+gs[i].IdempotencyKey, err))
			done = false
			continue
		}
		completed = append(completed, gs[i].IdempotencyKey)
	}
	sc.completed = completed
	if len(failed) > 0 {
		// Let the next attempt retry at once rather than after the lease;
		// if even this fails, the lease runs out.
		_ = s.store.ReleaseGrants(context.WithoutCancel(ctx), tenant, failed)
	}
	if len(completed) > 0 {
		if err := s.store.CompleteGrants(ctx, tenant, completed, now); err != nil {
			// Granted but not recorded: the claims expire and the grants
			// are retried, which the Rewarder deduplicates.
			done = false
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return false, joinErrs("referral: grant", errs)
	}
	return done, nil
}

// grantClaimer is implemented by stores whose ClaimGrants can write its
// results into the caller's slice (the memory store): the Service then
// recycles the slice, sparing the hot paths an allocation of whole
// GrantRecords per grant call.
type grantClaimer interface {
	// claimGrantsInto is ClaimGrants, its results in out[:0] (grown if
	// need be) rather than a new slice. With derive, the records'
	// fingerprints are grantFingerprint of their payloads, which the store
	// derives when it needs them (to compare with a stored fingerprint
	// that is not derived, or to return one) rather than being given them:
	// most grants are new, and their fingerprints never read. The
	// records' Fingerprint is then ignored, and not set in the results.
	claimGrantsInto(ctx context.Context, p ClaimGrantsParams, derive bool, out []GrantClaim) ([]GrantClaim, error)
}

// grantFingerprint is the payload digest the grant ledger keeps beside each
// key. It plays the role of scrm.Fingerprint, which JSON-encodes its input,
// at a tenth of the cost on the Handle hot path: a SHA-256 over the grant's
// fields, each length-prefixed, decimals by their canonical string (so 10.0
// and 10 are equal, as with scrm.Fingerprint).
func grantFingerprint(g scrm.Grant) string {
	var buf [256]byte
	b := buf[:0]
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(string(g.Tenant))
	str(string(g.Customer))
	str(g.IdempotencyKey)
	str(g.Source)
	str(string(g.Reward.Kind))
	b = binary.AppendVarint(b, g.Reward.Points)
	str(g.Reward.Amount.String())
	str(g.Reward.Template)
	b = binary.AppendVarint(b, int64(g.Reward.Count))
	str(g.Reward.Note)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
