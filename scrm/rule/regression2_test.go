package rule_test

import (
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm/rule"
)

// hostTags is a host's named list of interests.
type hostTags []string

// rule's doc: "Eval accepts attribute values of type string, bool, every
// int and uint kind, ..., []string and []any; values of named types of
// these kinds (type Level int, type Tier string: a host's enums) compare as
// their kind ... and other lists of these kinds as lists". A host's named
// list (type Tags []string) and a list of its enum ([]Tier) are lists:
// `interests contains "wine"` and `interests in ("wine")` look at their
// elements (attrNode.contains and inSet fall back to reflection for lists
// other than []string and []any), and so does nin.
func TestNamedListsCompareAsLists(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	env := &hostEnv{attrs: map[string]any{
		"named":  hostTags{"tea", "wine"},
		"enums":  []hostTier{"tea", "wine"},
		"levels": []hostLevel{1, 3},
	}}
	for _, attr := range []string{"named", "enums"} {
		for _, c := range []rule.Condition{rule.Attr(attr).Contains("wine"), rule.Attr(attr).In("wine", "beer")} {
			p := rule.MustCompile(c, nil)
			if !p.Eval(env, now) {
				t.Errorf("%s is false for %#v", p, env.attrs[attr])
			}
		}
		for _, c := range []rule.Condition{rule.Attr(attr).Contains("beer"), rule.Attr(attr).Nin("wine"), rule.Attr(attr).Contains(3)} {
			p := rule.MustCompile(c, nil)
			if p.Eval(env, now) {
				t.Errorf("%s is true for %#v", p, env.attrs[attr])
			}
		}
	}
	for _, tc := range []struct {
		c    rule.Condition
		want bool
	}{
		{rule.Attr("levels").Contains(3), true},
		{rule.Attr("levels").Contains(2), false},
		{rule.Attr("levels").In(2, 3), true},
		{rule.Attr("levels").Nin(1), false},
		{rule.Attr("levels").Nin(2), true},
	} {
		p := rule.MustCompile(tc.c, nil)
		if got := p.Eval(env, now); got != tc.want {
			t.Errorf("%s = %v for %#v, want %v", p, got, env.attrs["levels"], tc.want)
		}
	}
}
