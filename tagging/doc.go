// Package tagging keeps customers' tags (标签) current: a tag library of
// groups and tags, manual tagging with source and operator, rule tags that
// follow what customers do, keyword tags on message replies, tag expiry,
// per-customer history and per-tag counts.
//
// # Model
//
// A tenant defines Groups and Tags (PutGroup, PutTag). In an exclusive
// group (风格偏好 = 休闲风 / 时尚风 / 商务风) a customer carries at most one
// tag: applying another replaces it. A Rule applies a tag when its
// rule.Condition holds (and, with Sync, removes it when it stops holding);
// a keyword rule applies it when a reply's text matches ("不需要", "别发了").
//
// Tag marks (scrm.TagMark: when, source, by whom, expiry) live in the
// customer's scrm.Profile, because that is what every rule in scrmkit reads;
// they are written with scrm.UpdateProfile, so they follow merges and never
// race other profile writers. The Store keeps the definitions, each
// customer's history and a tag → customers index for Count and Customers.
// Every change writes the profile first (it is what rules read), then the
// Store; both writes, and the tag.applied / tag.removed events published
// after them, are keyed by the change's cause, so handling a cause again
// repairs what a failure left out instead of counting anything twice.
//
// # Wiring
//
// Put the Service in the Dispatcher after scrm.Profiles, and use the
// Dispatcher as the Service's Publisher, so that tags a rule applies can
// trigger rules that read them (and SOPs, segments, ...):
//
//	ps := scrm.NewMemoryProfileStore()
//	var d *scrm.Dispatcher
//	tags := tagging.New(tagging.NewMemoryStore(), ps, &tagging.Options{
//		Options: scrm.Options{Publisher: scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error {
//			return d.Publish(ctx, e)
//		})},
//	})
//	d = scrm.NewDispatcher(scrm.NewProfiles(ps, nil), tags)
//
// Handle re-evaluates only the rules an event can change (see Handle);
// Sweep, called periodically by the host, re-evaluates the time-based ones
// and removes expired tags.
//
// # Decisions
//
//   - Re-applying a tag refreshes it (At moves forward, the expiry is
//     extended) and is recorded as "refreshed"; it is published as
//     tag.applied with Props "refreshed": true, so subscribers can tell.
//   - A rule applies its tag when its condition becomes true. Only rules
//     with Expires (and keyword rules) refresh a tag the customer has, and
//     only on a new event of a type they read; a change of an attribute,
//     tag or segment only applies a tag the customer lacks. A rule refreshes
//     only marks rules of its kind wrote ("rule:..." or "keyword:..."),
//     never manual or imported ones, and never shortens an expiry.
//   - In an exclusive group the latest application wins, whoever made it;
//     among rules evaluated together the highest Priority wins; when a merge
//     unites several tags of a group, an unexpired tag beats expired ones.
//   - Sync rules remove only marks a rule wrote (Source "rule:..."), never
//     manual, keyword or imported ones.
//   - Expired tags stop matching at their expiry but stay on profiles, and
//     in Count and Customers, until Sweep removes them.
//   - Tag IDs cannot contain ':' (the separator of derived IDs).
package tagging
