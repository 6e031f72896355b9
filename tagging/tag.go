package tagging

import (
	"strings"

	"github.com/scrmkit/scrmkit/scrm"
)

// Group gathers related tags, such as 风格偏好 (休闲风 / 时尚风 / 商务风) or
// 消费能力 (高 / 中 / 低).
//
// In an Exclusive group a customer carries at most one tag: applying another
// tag of the group, by hand or by a rule, replaces the one the customer had
// (the replaced tag is removed, recorded in the history and published as
// tag.removed). When several rules target tags of one exclusive group, the
// rule with the highest Priority that matches wins. Making an existing group
// exclusive does not rewrite customers who already carry several of its
// tags; the next application in the group, or a merge, resolves them.
type Group struct {
	ID          string // unique per tenant
	Name        string // shown to operators
	Description string
	Exclusive   bool
	// Version is the stored version: 0 to create the group, the version read
	// to update it (optimistic concurrency). Put returns the new version.
	Version int64
}

// Kind says how a tag is meant to be applied. It is descriptive: it tells an
// operator UI which tags staff pick by hand and which automation maintains,
// but it does not restrict who may apply a tag (an operator may correct a
// rule tag by hand, and a rule may target a manual tag).
type Kind string

// The tag kinds.
const (
	KindManual  Kind = "manual"  // applied by staff or imports (the default)
	KindRule    Kind = "rule"    // maintained by condition rules
	KindKeyword Kind = "keyword" // applied by keyword rules on message replies
)

// Tag is one label a customer can carry. Its ID is the name rules and
// profiles refer to ({"tag": "到店未成交"}), so it may well be Chinese.
type Tag struct {
	// ID is unique per tenant. It must not contain ':', which tagging
	// reserves as the separator of the IDs it derives for history entries
	// and events.
	ID          string
	Name        string // shown to operators; empty means the ID is shown
	Group       string // the group's ID, or empty for an ungrouped tag
	Description string
	Kind        Kind // empty means KindManual
	// Version is the stored version: 0 to create, the version read to
	// update. Put returns the new version.
	Version int64
}

// Definitions is everything a tenant has defined: its groups, tags and
// rules, each sorted by ID, and the revision they were read at.
type Definitions struct {
	// Revision increases with every change to the tenant's definitions, so a
	// Service can tell whether its compiled rules are current.
	Revision int64
	Groups   []Group
	Tags     []Tag
	Rules    []Rule
}

func validateGroup(op string, g Group) error {
	if err := scrm.CheckID(op, "ID", g.ID); err != nil {
		return err
	}
	if g.Version < 0 {
		return scrm.Invalid(op, "Version", "must not be negative, got %d", g.Version)
	}
	return nil
}

func validateTag(op string, t Tag) error {
	if err := checkTagID(op, "ID", t.ID); err != nil {
		return err
	}
	if t.Group != "" {
		if err := scrm.CheckID(op, "Group", t.Group); err != nil {
			return err
		}
	}
	switch t.Kind {
	case "", KindManual, KindRule, KindKeyword:
	default:
		return scrm.Invalid(op, "Kind", "want manual, rule or keyword, got %q", t.Kind)
	}
	if t.Version < 0 {
		return scrm.Invalid(op, "Version", "must not be negative, got %d", t.Version)
	}
	return nil
}

// checkTagID validates a tag ID: a scrm ID without ':'.
func checkTagID(op, field, id string) error {
	if err := scrm.CheckID(op, field, id); err != nil {
		return err
	}
	if strings.ContainsRune(id, ':') {
		return scrm.Invalid(op, field, "tag IDs must not contain ':', got %q", id)
	}
	return nil
}
