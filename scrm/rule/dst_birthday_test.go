package rule_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// BirthdayWithin(0) means today, as its doc says; the zero operand is
// written "0d" (a zero Duration has no text form), survives the JSON round
// trip, and only birthdayWithin accepts it.
func TestBirthdayWithinZeroMeansToday(t *testing.T) {
	c := rule.Attr("birthday").BirthdayWithin(0)
	p, err := rule.Compile(c, nil)
	require.NoError(t, err, "builder doc: BirthdayWithin(0) means today")
	assert.True(t, p.Eval(newEnv().attr("birthday", "06-15"), refNow()))
	assert.False(t, p.Eval(newEnv().attr("birthday", "06-16"), refNow()))
	assert.False(t, p.Eval(newEnv().attr("birthday", "06-14"), refNow()))
	assert.Equal(t, "attr birthday birthdayWithin 0d", p.String())

	assert.Equal(t, `{"attr":"birthday","op":"birthdayWithin","value":"0d"}`, c.String())
	back, err := rule.ParseCondition([]byte(c.String()))
	require.NoError(t, err)
	p, err = rule.Compile(back, nil)
	require.NoError(t, err)
	assert.True(t, p.Eval(newEnv().attr("birthday", "06-15"), refNow()))
	assert.False(t, p.Eval(newEnv().attr("birthday", "06-16"), refNow()))

	for _, bad := range []rule.Condition{
		rule.Attr("birthday").BirthdayWithin(-1),
		{Attr: "birthday", Op: "birthdayWithin", Value: "-0d"},
		{Attr: "birthday", Op: "birthdayWithin", Value: "0"},
		{Attr: "a", Op: "within", Value: "0d"},
		{Attr: "a", Op: "olderThan", Value: "0d"},
	} {
		_, err := rule.Compile(bad, nil)
		require.Error(t, err, "%s", bad)
		assert.ErrorIs(t, err, scrm.ErrInvalid, "%s", bad)
	}
}

// before/after a date compare with the first instant of the day in the
// compile Location. In America/Asuncion 2023-10-01 00:00 did not exist;
// time.Date normalises it to 2023-09-30 23:00 -04, an instant of
// 30 September, so had the bound been built that way an attribute at
// 30 Sep 23:30 (local) would be neither "before 2023-10-01" nor "not after
// 2023-09-30". The day starts at the transition, 01:00 -03.
func TestDateBoundsInMidnightDSTGap(t *testing.T) {
	loc, err := time.LoadLocation("America/Asuncion")
	require.NoError(t, err)
	late := time.Date(2023, 9, 30, 23, 30, 0, 0, loc)
	require.Equal(t, 30, late.Day())
	a := rule.Attr("a")
	runCases(t, []evalCase{
		{name: "30 Sep 23:30 is before 1 Oct", c: a.Before("2023-10-01"), env: with(late), loc: loc, at: late, want: true},
		{name: "30 Sep 23:30 is not after 30 Sep", c: a.After("2023-09-30"), env: with(late), loc: loc, at: late, want: false},
		{name: "date attribute 1 Oct is not before 1 Oct", c: a.Before(late.Add(time.Minute)), env: with("2023-10-01"), loc: loc, at: late, want: false},
	})
}
