package tagging

import (
	"context"
	"errors"
	"fmt"

	"github.com/scrmkit/scrmkit/scrm"
)

// Handle implements scrm.Handler. It re-evaluates, for the event's customer,
// only the rules the event can change the result of, found through the
// dependency index built when the rules were compiled:
//
//   - rules counting events of the event's type (these may refresh their
//     tag, see Rule);
//   - on customer.attrs_set, rules comparing one of the attributes set;
//   - on tag.applied and tag.removed, rules testing that tag, so rules can
//     build on each other's tags (a chain stops as soon as a step changes
//     nothing, and the Dispatcher bounds its depth);
//   - on segment.entered and segment.exited, rules testing that segment;
//   - on message.replied, keyword rules whose keywords the reply matches.
//
// Rules that compete for one tag, or for the tags of one exclusive group,
// are decided together: the highest-priority rule that holds wins.
//
// On customer.merged (after scrm.Profiles has folded the absorbed profile
// into the survivor, uniting their tags) Handle keeps only the most
// recently applied tag of each exclusive group on the survivor (an
// unexpired tag beating expired ones, however recent), moves the
// absorbed customer's history and index entries to the survivor, and
// re-evaluates every condition rule for it.
//
// Handle reads the profile the Dispatcher's Profiles handler has already
// updated, so it must come after it. It is idempotent: handling the same
// event again writes nothing new, re-records what a failure may have lost
// and publishes the same event IDs again (see the IDs in HistoryEntry).
// Rules are evaluated at the clock's now, though, also on a replay: an
// event delivered again after time moved a condition it triggers ("spent
// within 30 days" once an order left the window) makes the change the next
// Sweep would make, with that event as its cause.
// A failure between the profile write and the store write is repaired by
// handling the event again for applications and the tag index; the history
// entries and events of removals that event caused are then lost, since the
// profile no longer shows the removed tag.
func (s *Service) Handle(ctx context.Context, e scrm.Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	tr, err := s.rules(ctx, e.Tenant)
	if err != nil {
		return err
	}
	if e.Type == scrm.EventCustomerMerged {
		return s.handleMerge(ctx, tr, e)
	}
	var buf [16]cand
	cands := tr.candidates(e, buf[:0])
	if len(cands) == 0 {
		return nil
	}
	ps := &pass{tr: tr, now: s.now(), at: e.Time, cause: eventCause(e.ID), trigger: e.Type, cands: cands}
	_, err = s.run(ctx, e.Tenant, e.Customer, ps, nil, nil)
	return err
}

func (s *Service) handleMerge(ctx context.Context, tr *tenantRules, e scrm.Event) error {
	const op = "tagging.Handle"
	from, into := scrm.CustomerID(e.Prop("from")), e.Customer
	if p := e.Prop("into"); p != "" && scrm.CustomerID(p) != into {
		return scrm.Invalid(op, "Props.into", "must equal the event's Customer %s, got %s", into, p)
	}
	if err := scrm.CheckID(op, "Props.from", string(from)); err != nil {
		return err
	}
	if from == into {
		return scrm.Invalid(op, "Props.from", "a customer cannot be merged into itself")
	}
	cands := make([]cand, len(tr.condition))
	for i, r := range tr.condition {
		cands[i] = cand{r: r}
	}
	ps := &pass{tr: tr, now: s.now(), at: e.Time, cause: eventCause(e.ID), trigger: scrm.EventCustomerMerged,
		cands: cands, mergeCause: "merge:" + e.ID}
	_, err := s.run(ctx, e.Tenant, into, ps, nil, []scrm.CustomerID{from})
	return err
}

// errNoChange aborts a profile update that would change nothing.
var errNoChange = errors.New("tagging: no change")

// outcome is what a pass did for one customer.
type outcome struct {
	customer scrm.CustomerID
	entries  []HistoryEntry
	replayed bool // the cause was handled before; entries were recorded then
}

// run carries out a pass for one customer: it plans on a read copy of the
// profile (or p, when the caller already holds one) and, when something is
// to change, writes the profile in one locked update that plans again on
// the fresh copy (the profile write is keyed by the cause, so it happens at
// most once), then records history and index, then publishes. A cause seen
// before (its profile write is recorded) is replayed: what the profile
// shows it applied is recorded again and everything recorded for it is
// published again, with the same IDs.
func (s *Service) run(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, ps *pass, p *scrm.Profile, absorbed []scrm.CustomerID) (outcome, error) {
	const op = "tagging"
	var err error
	if p == nil {
		if p, err = s.load(ctx, tenant, customer); err != nil {
			return outcome{}, err
		}
	}
	planned := ps.plan(p)
	fresh := 0
	for i := range planned {
		if !planned[i].same {
			fresh++
		}
	}
	// An empty plan still goes on to check the cause: a redelivered cause
	// whose profile write happened but whose Record failed plans nothing
	// (the profile already shows its removals), and replaying it repairs
	// the index.
	key := profileKey(ps.cause)
	if fresh > 0 {
		var final []change
		saved, applied, err := scrm.UpdateProfile(ctx, s.profiles, tenant, p.Customer, key, func(q *scrm.Profile) error {
			final = final[:0]
			for _, c := range ps.plan(q) {
				if !c.same {
					final = append(final, c)
				}
			}
			if len(final) == 0 && len(absorbed) == 0 {
				return errNoChange
			}
			return nil
		})
		switch {
		case errors.Is(err, errNoChange):
			return outcome{}, nil
		case err != nil:
			return outcome{}, scrm.Wrap(nil, op, err)
		case applied:
			return s.finish(ctx, tenant, saved, final, absorbed, nil)
		}
		p = saved // the cause was handled before: replay against the stored profile
		planned = ps.plan(p.Clone())
	} else {
		done, err := s.profiles.Applied(ctx, tenant, key)
		if err != nil {
			return outcome{}, scrm.Wrap(nil, op, err)
		}
		if !done && len(absorbed) == 0 {
			return outcome{}, nil // identical marks from another cause: nothing to do
		}
		if !done {
			planned = nil
		}
	}
	var replay []change
	for _, c := range planned {
		if c.same {
			replay = append(replay, c)
		}
	}
	causes := []string{ps.cause}
	if ps.mergeCause != "" {
		causes = append(causes, ps.mergeCause)
	}
	out, err := s.finish(ctx, tenant, p, replay, absorbed, causes)
	out.replayed = true
	return out, err
}

// finish records changes (and absorbed customers) for profile p, then
// publishes them, together with whatever the store already holds for
// replayCauses. It records even with no changes, so that the index follows
// p: a replay whose history was lost can still repair it.
func (s *Service) finish(ctx context.Context, tenant scrm.TenantID, p *scrm.Profile, changes []change, absorbed []scrm.CustomerID, replayCauses []string) (outcome, error) {
	const op = "tagging"
	out := outcome{customer: p.Customer, entries: make([]HistoryEntry, 0, len(changes))}
	for i := range changes {
		e := changes[i].entry()
		e.Customer = p.Customer
		out.entries = append(out.entries, e)
	}
	err := s.store.Record(ctx, RecordParams{Tenant: tenant, Customer: p.Customer, Version: p.Version,
		Tags: p.Tags(), Entries: out.entries, Absorbed: absorbed})
	if err != nil {
		return out, scrm.Wrap(nil, op, err)
	}
	publish := out.entries
	for _, cause := range replayCauses {
		prior, err := s.store.ListHistory(ctx, ListHistoryParams{Tenant: tenant, Customer: p.Customer, Cause: cause, Limit: 1000})
		if err != nil {
			return out, scrm.Wrap(nil, op, err)
		}
		for _, e := range prior.Entries {
			if !containsEntry(publish, e.ID) {
				publish = append(publish, e)
			}
		}
	}
	return out, s.publish(ctx, tenant, publish)
}

func containsEntry(es []HistoryEntry, id string) bool {
	for i := range es {
		if es[i].ID == id {
			return true
		}
	}
	return false
}

// publish emits tag.applied / tag.removed for each entry, oldest first.
func (s *Service) publish(ctx context.Context, tenant scrm.TenantID, entries []HistoryEntry) error {
	var errs []error
	for i := range entries {
		e := &entries[i]
		props := map[string]any{"tag": e.Tag, "source": e.Source, "cause": e.Cause}
		if e.By != "" {
			props["by"] = e.By
		}
		if e.Rule != "" {
			props["rule"] = e.Rule
		}
		if e.Reason != "" {
			props["reason"] = e.Reason
		}
		if e.Action == ActionRefreshed {
			props["refreshed"] = true
		}
		if !e.Expires.IsZero() {
			props["expires"] = e.Expires
		}
		ev := scrm.Event{ID: publishedID(*e), Tenant: tenant, Customer: e.Customer, Type: eventType(e.Action), Time: e.At, Props: props}
		if err := s.opts.Publisher.Publish(ctx, ev); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ev.ID, err))
		}
	}
	if len(errs) > 0 {
		return &scrm.Error{Code: scrm.ErrUnavailable, Op: "tagging",
			Msg: "tags stored but publishing failed; handling the cause again publishes the same IDs", Err: errors.Join(errs...)}
	}
	return nil
}
