package tagging

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// ApplyRequest asks to put a tag on a customer by hand (or by an import or
// API call: see Source).
type ApplyRequest struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	Tag      string // must be defined (PutTag)
	// Source is the mechanism recorded in the mark and the history; default
	// "manual". Hosts may use "import", "api", "crm" and the like. The
	// prefixes "rule:" and "keyword:" are reserved for rules.
	Source string
	By     string // the staff member who tagged, if any
	Reason string // a note for the history
	// Expires, when set, is when the tag stops matching; it must be in the
	// future (when the application is made: a replay under the same
	// IdempotencyKey is not refused once it has passed). Zero means never.
	Expires time.Time
	// IdempotencyKey, when set, makes the request happen at most once:
	// repeating it with the same payload returns the original result (with
	// Replayed set) and changes nothing; with a different payload (another
	// customer included: keys are unique per tenant) it is an error
	// matching scrm.ErrConflict. Without one every call is a new
	// application (a re-application refreshes the tag).
	IdempotencyKey string
}

// ApplyResult is the outcome of Apply.
type ApplyResult struct {
	// Customer carries the tag: the request's customer, or the customer it
	// was merged into.
	Customer scrm.CustomerID
	Mark     scrm.TagMark
	// Refreshed is true when the customer already had the tag (unexpired):
	// its At, source and expiry were replaced.
	Refreshed bool
	// Replaced lists the tags of the exclusive group the tag replaced.
	Replaced []string
	// Replayed is true when the idempotency key had been used: this is the
	// original result.
	Replayed bool
}

// RemoveRequest asks to take a tag off a customer.
type RemoveRequest struct {
	Tenant   scrm.TenantID
	Customer scrm.CustomerID
	Tag      string // must be defined
	Source   string // default "manual"; "rule:" and "keyword:" are reserved
	By       string
	Reason   string
	// IdempotencyKey works as in ApplyRequest. A removal that found no tag
	// changes nothing but keeps its key: repeating it removes the tag if the
	// customer has it by then, and reusing the key for another payload is
	// ErrConflict.
	IdempotencyKey string
}

// RemoveResult is the outcome of Remove.
type RemoveResult struct {
	Customer scrm.CustomerID
	// Removed is false when the customer did not carry the tag; nothing
	// was then written or published.
	Removed bool
	// Mark is the mark taken off (zero in a replay: the history keeps who
	// removed it and when, not the mark).
	Mark     scrm.TagMark
	Replayed bool
}

// Apply puts a tag on a customer: it writes the mark into the customer's
// profile (following merges; a customer without a profile gets one),
// removes the other tags of the tag's exclusive group, appends the history
// and publishes tag.applied (and tag.removed for replaced tags). Applying a
// tag the customer already has refreshes it: At becomes now and the mark
// takes the request's source, staff and expiry; it is recorded as
// "refreshed" and published as tag.applied with Props "refreshed": true.
//
// Errors: ErrInvalid naming the field ("Tag" for a tag the tenant has not
// defined, "Expires" for a time not in the future, "Source" for a reserved
// source); ErrConflict for an idempotency key reused with another payload;
// ErrUnavailable when a store or the publisher failed (retry with the same
// idempotency key).
func (s *Service) Apply(ctx context.Context, req ApplyRequest) (ApplyResult, error) {
	const op = "tagging.Apply"
	now := s.now()
	if err := checkRequest(op, req.Tenant, req.Customer, req.Tag, req.Source, req.By, req.IdempotencyKey); err != nil {
		return ApplyResult{}, err
	}
	if !req.Expires.IsZero() && !req.Expires.After(now) {
		// Too late for a new application, but not for a replay of one made
		// in time: that returns its original result.
		done := false
		if req.IdempotencyKey != "" {
			var err error
			if done, err = s.profiles.Applied(ctx, req.Tenant, profileKey("apply:"+req.IdempotencyKey)); err != nil {
				return ApplyResult{}, storeErr(op, err)
			}
		}
		if !done {
			return ApplyResult{}, scrm.Invalid(op, "Expires", "must be in the future, got %s", req.Expires.Format(time.RFC3339))
		}
	}
	tr, err := s.rules(ctx, req.Tenant)
	if err != nil {
		return ApplyResult{}, err
	}
	td := tr.tags[req.Tag]
	if td == nil {
		return ApplyResult{}, scrm.Invalid(op, "Tag", "unknown tag %q", req.Tag)
	}
	src := req.Source
	if src == "" {
		src = "manual"
	}
	var cause, fp string
	if req.IdempotencyKey != "" {
		cause = "apply:" + req.IdempotencyKey
		fp = scrm.Fingerprint("apply", req.Customer, req.Tag, src, req.By, req.Reason, req.Expires.UnixNano(), req.Expires.IsZero())
		if err := s.claimKey(ctx, op, req.Tenant, req.Customer, req.IdempotencyKey, cause, fp); err != nil {
			return ApplyResult{}, err
		}
		res, done, err := s.replayApply(ctx, op, req, cause, fp)
		if done || err != nil {
			return res, err
		}
	} else {
		cause = "apply:" + s.opts.NewID()
	}

	mark := scrm.TagMark{At: now, Source: src, By: req.By, Expires: req.Expires}
	var changes []change
	saved, applied, err := scrm.UpdateProfile(ctx, s.profiles, req.Tenant, req.Customer, profileKey(cause), func(p *scrm.Profile) error {
		changes = changes[:0]
		ch := change{cause: cause, tag: req.Tag, action: ActionApplied, mark: mark, at: now, source: src, by: req.By,
			reason: req.Reason, fingerprint: fp}
		if cur, ok := p.TagMark(req.Tag); ok && cur.Active(now) {
			ch.action = ActionRefreshed
		}
		changes = append(changes, ch)
		if g := td.group; g != nil && g.Exclusive {
			for _, t := range g.tags {
				if m, ok := p.TagMark(t); ok && t != req.Tag {
					changes = append(changes, change{cause: cause, tag: t, action: ActionRemoved, mark: m, at: now,
						source: src, by: req.By, reason: fmt.Sprintf("replaced by %s (exclusive group %s)", req.Tag, groupName(g))})
					p.RemoveTag(t)
				}
			}
		}
		p.SetTag(req.Tag, mark)
		return nil
	})
	if err != nil {
		return ApplyResult{}, scrm.Wrap(nil, op, err)
	}
	if !applied {
		// The profile was written for this key (claimKey vouches it was for
		// this very request) but the history was not: a crash or a failed
		// store call in between. Record what the profile shows. If it no
		// longer shows the mark, a later change replaced it and the
		// original result cannot be told.
		m, ok := saved.TagMark(req.Tag)
		if !ok || m.Source != src || m.By != req.By {
			return ApplyResult{}, &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
				Msg: fmt.Sprintf("key %q: the tag was changed since the request was written; its result cannot be replayed", req.IdempotencyKey)}
		}
		changes = append(changes[:0], change{cause: cause, tag: req.Tag, action: ActionApplied, mark: m, at: m.At,
			source: src, by: req.By, reason: req.Reason, fingerprint: fp})
	}
	_, err = s.finish(ctx, req.Tenant, saved, changes, nil, nil)
	res := ApplyResult{Customer: saved.Customer, Replayed: !applied}
	for i, c := range changes {
		switch c.action {
		case ActionRemoved:
			res.Replaced = append(res.Replaced, c.tag)
		default:
			res.Mark, res.Refreshed = changes[i].mark, c.action == ActionRefreshed
		}
	}
	if err != nil {
		return res, scrm.Wrap(nil, op, err)
	}
	return res, nil
}

// replayApply answers a request whose idempotency key was used before.
func (s *Service) replayApply(ctx context.Context, op string, req ApplyRequest, cause, fp string) (ApplyResult, bool, error) {
	prior, customer, err := s.priorEntries(ctx, req.Tenant, req.Customer, cause)
	if err != nil || len(prior) == 0 {
		return ApplyResult{}, false, err
	}
	res := ApplyResult{Customer: customer, Replayed: true}
	found := false
	for _, e := range prior {
		switch {
		case e.Fingerprint != "":
			if err := scrm.CheckReplay(op, req.IdempotencyKey, e.Fingerprint, fp); err != nil {
				return ApplyResult{}, true, err
			}
			found = true
			res.Mark = scrm.TagMark{At: e.At, Source: e.Source, By: e.By, Expires: e.Expires}
			res.Refreshed = e.Action == ActionRefreshed
		case e.Action == ActionRemoved:
			res.Replaced = append(res.Replaced, e.Tag)
		}
	}
	if !found {
		return ApplyResult{}, true, scrm.CheckReplay(op, req.IdempotencyKey, "", fp)
	}
	return res, true, s.publish(ctx, req.Tenant, prior)
}

// priorEntries returns the history entries recorded for a cause on a
// customer (or its survivor), oldest first.
func (s *Service) priorEntries(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, cause string) ([]HistoryEntry, scrm.CustomerID, error) {
	p, err := s.load(ctx, tenant, customer)
	if err != nil {
		return nil, "", err
	}
	page, err := s.store.ListHistory(ctx, ListHistoryParams{Tenant: tenant, Customer: p.Customer, Cause: cause, Limit: 1000})
	if err != nil {
		return nil, "", scrm.Wrap(nil, "tagging", err)
	}
	es := page.Entries
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es, p.Customer, nil
}

// claimKey records an Apply or Remove idempotency key with the request's
// customer and payload fingerprint before anything else is written, so that
// the key is tenant-wide: reusing it for another customer, or with another
// payload, is ErrConflict naming IdempotencyKey, whether or not the first
// request's history was recorded.
func (s *Service) claimKey(ctx context.Context, op string, tenant scrm.TenantID, customer scrm.CustomerID, key, cause, fp string) error {
	rec, err := s.store.PutKey(ctx, KeyRecord{Tenant: tenant, Key: keyID(cause), Customer: customer, Fingerprint: fp})
	if err != nil {
		return storeErr(op, err)
	}
	if rec.Customer != customer {
		return &scrm.Error{Code: scrm.ErrConflict, Op: op, Field: "IdempotencyKey",
			Msg: fmt.Sprintf("key %q was already used for customer %s", key, rec.Customer)}
	}
	return scrm.CheckReplay(op, key, rec.Fingerprint, fp)
}

// Remove takes a tag off a customer: it deletes the mark from the profile,
// appends the history and publishes tag.removed. Removing a tag the
// customer does not carry changes nothing and reports Removed false.
//
// Errors: as Apply's.
func (s *Service) Remove(ctx context.Context, req RemoveRequest) (RemoveResult, error) {
	const op = "tagging.Remove"
	if err := checkRequest(op, req.Tenant, req.Customer, req.Tag, req.Source, req.By, req.IdempotencyKey); err != nil {
		return RemoveResult{}, err
	}
	tr, err := s.rules(ctx, req.Tenant)
	if err != nil {
		return RemoveResult{}, err
	}
	if tr.tags[req.Tag] == nil {
		return RemoveResult{}, scrm.Invalid(op, "Tag", "unknown tag %q", req.Tag)
	}
	src := req.Source
	if src == "" {
		src = "manual"
	}
	var cause, fp string
	if req.IdempotencyKey != "" {
		cause = "remove:" + req.IdempotencyKey
		fp = scrm.Fingerprint("remove", req.Customer, req.Tag, src, req.By, req.Reason)
		if err := s.claimKey(ctx, op, req.Tenant, req.Customer, req.IdempotencyKey, cause, fp); err != nil {
			return RemoveResult{}, err
		}
		prior, customer, err := s.priorEntries(ctx, req.Tenant, req.Customer, cause)
		if err != nil {
			return RemoveResult{}, err
		}
		if len(prior) > 0 {
			e := prior[0]
			if err := scrm.CheckReplay(op, req.IdempotencyKey, e.Fingerprint, fp); err != nil {
				return RemoveResult{}, err
			}
			res := RemoveResult{Customer: customer, Removed: true, Replayed: true}
			return res, s.publish(ctx, req.Tenant, prior)
		}
	} else {
		cause = "remove:" + s.opts.NewID()
	}
	now := s.now()
	var ch change
	saved, applied, err := scrm.UpdateProfile(ctx, s.profiles, req.Tenant, req.Customer, profileKey(cause), func(p *scrm.Profile) error {
		m, ok := p.TagMark(req.Tag)
		if !ok {
			return errNoChange
		}
		ch = change{cause: cause, tag: req.Tag, action: ActionRemoved, mark: m, at: now, source: src, by: req.By,
			reason: req.Reason, fingerprint: fp}
		p.RemoveTag(req.Tag)
		return nil
	})
	if errors.Is(err, errNoChange) {
		p, err := s.load(ctx, req.Tenant, req.Customer)
		if err != nil {
			return RemoveResult{}, err
		}
		return RemoveResult{Customer: p.Customer}, nil
	}
	if err != nil {
		return RemoveResult{}, scrm.Wrap(nil, op, err)
	}
	if !applied {
		// Written before for this request (claimKey vouches for it), history
		// lost in between: the removed mark is gone with the profile write,
		// so only the index can be repaired; finish records the profile's
		// tags even with no entries. A tag the customer carries again was
		// applied since, and stays.
		_, err := s.finish(ctx, req.Tenant, saved, nil, nil, nil)
		return RemoveResult{Customer: saved.Customer, Removed: true, Replayed: true}, scrm.Wrap(nil, op, err)
	}
	if _, err := s.finish(ctx, req.Tenant, saved, []change{ch}, nil, nil); err != nil {
		return RemoveResult{Customer: saved.Customer, Removed: true, Mark: ch.mark}, scrm.Wrap(nil, op, err)
	}
	return RemoveResult{Customer: saved.Customer, Removed: true, Mark: ch.mark}, nil
}

func checkRequest(op string, tenant scrm.TenantID, customer scrm.CustomerID, tag, source, by, key string) error {
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "Customer", string(customer)); err != nil {
		return err
	}
	if err := checkTagID(op, "Tag", tag); err != nil {
		return err
	}
	if source != "" {
		if err := scrm.CheckID(op, "Source", source); err != nil {
			return err
		}
		if strings.HasPrefix(source, "rule:") || strings.HasPrefix(source, "keyword:") || source == "expiry" || source == "merge" {
			return scrm.Invalid(op, "Source", "%q is reserved for tagging's own changes", source)
		}
	}
	if len(by) > scrm.MaxIDLength {
		return scrm.Invalid(op, "By", "longer than %d bytes", scrm.MaxIDLength)
	}
	if key != "" {
		if err := scrm.CheckID(op, "IdempotencyKey", key); err != nil {
			return err
		}
	}
	return nil
}
