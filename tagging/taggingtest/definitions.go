package taggingtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
	"github.com/scrmkit/scrmkit/tagging"
)

// sampleRule is a rule with every field set.
func sampleRule(id, tag string) tagging.Rule {
	return tagging.Rule{
		ID: id, Tag: tag, Description: "高消费客户",
		When: rule.All(
			rule.Attr("city").In("上海", "杭州"),
			rule.Event(scrm.EventOrderPaid).Within(90*24*time.Hour).SumGte(scrm.Yuan("500.00")),
			rule.Not(rule.InSegment("blacklist")),
		),
		Sync: true, Expires: 30 * 24 * time.Hour, Priority: 3,
	}
}

func (e *env) seedDefinitions(t *testing.T, s tagging.Store, tenant scrm.TenantID) {
	t.Helper()
	_, err := s.PutGroup(e.ctx, tenant, tagging.Group{ID: "style", Name: "风格偏好", Exclusive: true})
	require.NoError(t, err)
	_, err = s.PutTag(e.ctx, tenant, tagging.Tag{ID: "休闲风", Name: "休闲风", Group: "style", Kind: tagging.KindRule})
	require.NoError(t, err)
	_, err = s.PutTag(e.ctx, tenant, tagging.Tag{ID: "vip"})
	require.NoError(t, err)
}

func (e *env) testDefinitions(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		s := e.newStore(t)
		d, err := s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		assert.Equal(t, int64(0), d.Revision)
		assert.Empty(t, d.Groups)
		assert.Empty(t, d.Tags)
		assert.Empty(t, d.Rules)
		rev, err := s.Revision(e.ctx, t1)
		require.NoError(t, err)
		assert.Equal(t, int64(0), rev)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := e.newStore(t)
		g, err := s.PutGroup(e.ctx, t1, tagging.Group{ID: "style", Name: "风格偏好", Description: "穿衣风格", Exclusive: true})
		require.NoError(t, err)
		assert.Equal(t, int64(1), g.Version)
		tg, err := s.PutTag(e.ctx, t1, tagging.Tag{ID: "休闲风", Name: "休闲", Group: "style", Description: "d", Kind: tagging.KindRule})
		require.NoError(t, err)
		assert.Equal(t, int64(1), tg.Version)
		_, err = s.PutTag(e.ctx, t1, tagging.Tag{ID: "拒绝营销", Kind: tagging.KindKeyword})
		require.NoError(t, err)
		r, err := s.PutRule(e.ctx, t1, sampleRule("r1", "休闲风"))
		require.NoError(t, err)
		assert.Equal(t, int64(1), r.Version)
		kw := tagging.Rule{ID: "k1", Tag: "拒绝营销", Keywords: []string{"不需要", "别发了"}, Match: tagging.MatchExact}
		_, err = s.PutRule(e.ctx, t1, kw)
		require.NoError(t, err)

		d, err := s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		assert.Equal(t, int64(5), d.Revision)
		require.Len(t, d.Groups, 1)
		assert.Equal(t, tagging.Group{ID: "style", Name: "风格偏好", Description: "穿衣风格", Exclusive: true, Version: 1}, d.Groups[0])
		require.Len(t, d.Tags, 2)
		assert.Equal(t, tagging.Tag{ID: "休闲风", Name: "休闲", Group: "style", Description: "d", Kind: tagging.KindRule, Version: 1}, d.Tags[0])
		assert.Equal(t, "拒绝营销", d.Tags[1].ID)
		require.Len(t, d.Rules, 2)
		assert.Equal(t, "k1", d.Rules[0].ID, "sorted by ID")
		assert.Equal(t, []string{"不需要", "别发了"}, d.Rules[0].Keywords)
		assert.Equal(t, tagging.MatchExact, d.Rules[0].Match)
		assertSameRule(t, sampleRule("r1", "休闲风"), d.Rules[1])
		assert.Equal(t, int64(1), d.Rules[1].Version)
	})

	t.Run("Versions", func(t *testing.T) {
		s := e.newStore(t)
		e.seedDefinitions(t, s, t1)
		rev, err := s.Revision(e.ctx, t1)
		require.NoError(t, err)

		_, err = s.PutGroup(e.ctx, t1, tagging.Group{ID: "style", Name: "again"})
		assert.ErrorIs(t, err, scrm.ErrConflict, "creating an existing group")
		_, err = s.PutTag(e.ctx, t1, tagging.Tag{ID: "vip", Name: "stale", Version: 7})
		assert.ErrorIs(t, err, scrm.ErrConflict, "a version ahead")
		_, err = s.PutRule(e.ctx, t1, tagging.Rule{ID: "nope", Tag: "vip", When: rule.HasTag("x"), Version: 1})
		assert.ErrorIs(t, err, scrm.ErrConflict, "updating a rule that does not exist")
		after, err := s.Revision(e.ctx, t1)
		require.NoError(t, err)
		assert.Equal(t, rev, after, "failed puts change nothing")
		d, err := s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		assert.Equal(t, "风格偏好", d.Groups[0].Name)

		g := d.Groups[0]
		g.Exclusive = false
		g2, err := s.PutGroup(e.ctx, t1, g)
		require.NoError(t, err)
		assert.Equal(t, int64(2), g2.Version)
		_, err = s.PutGroup(e.ctx, t1, g)
		assert.ErrorIs(t, err, scrm.ErrConflict, "a stale version")

		r, err := s.PutRule(e.ctx, t1, sampleRule("r1", "vip"))
		require.NoError(t, err)
		r.Priority = 9
		r, err = s.PutRule(e.ctx, t1, r)
		require.NoError(t, err)
		assert.Equal(t, int64(2), r.Version)
		d, err = s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		assert.Equal(t, 9, d.Rules[0].Priority)
		assert.Greater(t, d.Revision, after)
	})

	t.Run("EveryChangeMovesRevision", func(t *testing.T) {
		// A Service reloads its compiled rules only when Revision moves: a
		// change that leaves it alone keeps stale rules tagging customers.
		s := e.newStore(t)
		var (
			g  tagging.Group
			tg tagging.Tag
			r  tagging.Rule
		)
		steps := []struct {
			name string
			do   func() error
		}{
			{"create group", func() (err error) {
				g, err = s.PutGroup(e.ctx, t1, tagging.Group{ID: "style", Name: "风格"})
				return err
			}},
			{"update group", func() (err error) {
				g.Exclusive = true
				g, err = s.PutGroup(e.ctx, t1, g)
				return err
			}},
			{"create tag", func() (err error) {
				tg, err = s.PutTag(e.ctx, t1, tagging.Tag{ID: "vip", Group: "style"})
				return err
			}},
			{"update tag", func() (err error) {
				tg.Group = ""
				tg, err = s.PutTag(e.ctx, t1, tg)
				return err
			}},
			{"create rule", func() (err error) {
				r, err = s.PutRule(e.ctx, t1, sampleRule("r1", "vip"))
				return err
			}},
			{"update rule", func() (err error) {
				r.Priority = 9
				r, err = s.PutRule(e.ctx, t1, r)
				return err
			}},
			{"delete rule", func() error { return s.DeleteRule(e.ctx, t1, "r1") }},
		}
		for _, st := range steps {
			before, err := s.Revision(e.ctx, t1)
			require.NoError(t, err)
			require.NoError(t, st.do(), st.name)
			after, err := s.Revision(e.ctx, t1)
			require.NoError(t, err)
			assert.Greater(t, after, before, "%s moves Revision", st.name)
			d, err := s.Definitions(e.ctx, t1)
			require.NoError(t, err)
			assert.Equal(t, after, d.Revision, "after %s, Definitions has the revision Revision returns", st.name)
		}
	})

	t.Run("SortedByID", func(t *testing.T) {
		s := e.newStore(t)
		for _, id := range []string{"y", "x"} {
			_, err := s.PutGroup(e.ctx, t1, tagging.Group{ID: id})
			require.NoError(t, err)
		}
		for _, id := range []string{"c", "a", "b"} {
			_, err := s.PutTag(e.ctx, t1, tagging.Tag{ID: id})
			require.NoError(t, err)
		}
		for _, id := range []string{"r2", "r1"} {
			_, err := s.PutRule(e.ctx, t1, sampleRule(id, "a"))
			require.NoError(t, err)
		}
		d, err := s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		var groups, tags, rules []string
		for _, x := range d.Groups {
			groups = append(groups, x.ID)
		}
		for _, x := range d.Tags {
			tags = append(tags, x.ID)
		}
		for _, x := range d.Rules {
			rules = append(rules, x.ID)
		}
		assert.Equal(t, []string{"x", "y"}, groups, "groups sorted by ID, not by creation")
		assert.Equal(t, []string{"a", "b", "c"}, tags, "tags sorted by ID, not by creation")
		assert.Equal(t, []string{"r1", "r2"}, rules, "rules sorted by ID, not by creation")
	})

	t.Run("References", func(t *testing.T) {
		s := e.newStore(t)
		_, err := s.PutTag(e.ctx, t1, tagging.Tag{ID: "x", Group: "nope"})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		assertField(t, err, "Group")
		_, err = s.PutRule(e.ctx, t1, tagging.Rule{ID: "r", Tag: "nope", When: rule.HasTag("a")})
		assert.ErrorIs(t, err, scrm.ErrInvalid)
		assertField(t, err, "Tag")
		d, err := s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		assert.Empty(t, d.Tags)
		assert.Empty(t, d.Rules)
		assert.Equal(t, int64(0), d.Revision)
	})

	t.Run("DeleteRule", func(t *testing.T) {
		s := e.newStore(t)
		e.seedDefinitions(t, s, t1)
		_, err := s.PutRule(e.ctx, t1, sampleRule("r1", "vip"))
		require.NoError(t, err)
		rev, err := s.Revision(e.ctx, t1)
		require.NoError(t, err)
		require.NoError(t, s.DeleteRule(e.ctx, t1, "r1"))
		assert.ErrorIs(t, s.DeleteRule(e.ctx, t1, "r1"), scrm.ErrNotFound)
		assert.ErrorIs(t, s.DeleteRule(e.ctx, t2, "r1"), scrm.ErrNotFound)
		d, err := s.Definitions(e.ctx, t1)
		require.NoError(t, err)
		assert.Empty(t, d.Rules)
		assert.Equal(t, rev+1, d.Revision)
		// Re-creating starts from version 0 again.
		r, err := s.PutRule(e.ctx, t1, sampleRule("r1", "vip"))
		require.NoError(t, err)
		assert.Equal(t, int64(1), r.Version)
	})
}

// assertSameRule compares rules, conditions by their JSON form (a store may
// decode numbers as json.Number).
func assertSameRule(t *testing.T, want, got tagging.Rule) {
	t.Helper()
	assert.Equal(t, want.When.String(), got.When.String())
	want.When, got.When = rule.Condition{}, rule.Condition{}
	want.Version = got.Version
	assert.Equal(t, want, got)
}

func assertField(t *testing.T, err error, field string) {
	t.Helper()
	var se *scrm.Error
	if assert.ErrorAs(t, err, &se) {
		assert.Equal(t, field, se.Field)
	}
}
