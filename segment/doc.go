// Package segment divides a tenant's customers into layers (分层) an operator
// can act on: rule segments kept current as customers change, uploaded
// lists, deterministic A/B splits, RFM scores and classes, lifecycle stages
// and a weighted value score.
//
// # Segments
//
// A Segment is dynamic, holding the customers whose profiles satisfy a
// rule.Condition (the JSON an operator UI saves), or static, holding an
// explicit list. A Service, built by New over a Store and the host's
// scrm.ProfileStore, manages them:
//
//   - Define validates and stores a segment: a condition that does not
//     compile is an error naming its path ("When.all[1].sum.gte"), and so is
//     a segment that reads itself through other segments.
//   - Refresh evaluates a dynamic segment over every profile of the tenant
//     and returns a Diff of who entered and who exited. Each change is
//     written into the customer's profile (scrm.Profile.SetSegment, so that
//     conditions elsewhere reading {"segment": id} see it), recorded in the
//     Store, and published as a segment.entered or segment.exited event with
//     a deterministic ID (MembershipEvent).
//   - Handle (scrm.Handler) keeps segments current between refreshes: for
//     each event it re-evaluates, for that customer only, the segments whose
//     conditions read what the event changed, found through a dependency
//     index built from rule.Program.Deps. Register the Service on the
//     Dispatcher after scrm.Profiles. Conditions that change with time alone
//     ("no purchase for 30 days") need a periodic Refresh (or RefreshAll).
//   - Add and Remove change static segments; Contains, Members (paged by
//     cursor) and Size answer membership questions.
//
// Every membership decision is made on the latest profile, inside
// scrm.UpdateProfile, and recorded in the Store with that profile's version,
// so refreshes, events and list uploads racing on the same customer end with
// the Store, the profile and the condition in agreement.
//
// Every membership change is announced at least once. The Store keeps each
// change as unreported, in the step that records it, until its event is
// published; an event the Publisher refused (the call returns an error
// matching scrm.ErrUnavailable, the change standing) is published again,
// with the same ID and Props, by the next Handle for that customer (so by
// the redelivery of the event that caused it), by Add or Remove of its
// static segment, and by every Refresh of its segment.
//
// # Analysis
//
//   - Split assigns customers to A/B/n arms (with a holdout arm) by a salted
//     hash: deterministic, stateless and reproducible outside Go.
//   - ScoreRFM scores recency, frequency and monetary value 1 to 5, by
//     thresholds or quintiles, and places each customer in one of the eight
//     classic classes (ImportantValue 重要价值 … GeneralRetain 一般挽留).
//   - A Lifecycle assigns each customer the first of its ordered stages
//     whose condition matches: DefaultLifecycle (prospect → new → active →
//     dormant → churned) and B2BLifecycle (潜客 → MQL → SQL → 成单).
//   - A ValueScorer computes a 0–100 value score (私域价值分) from weighted,
//     normalised features, with bands and an Explain of each feature's
//     contribution.
//
// # Storage
//
// Store is the interface a host implements to keep segments in its own
// database; NewMemoryStore is the in-memory implementation, and
// segmenttest.RunStoreTests the conformance suite. Refresh and RFM read
// profiles page by page through scrm.ProfileStore.List, or without copies
// when the profile store also implements ProfileScanner.
package segment
