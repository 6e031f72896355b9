package rule_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		in   string
		want time.Duration
		text string // how it prints back
	}{
		{"90s", 90 * time.Second, "90s"},
		{"60s", time.Minute, "1m"},
		{"90m", 90 * time.Minute, "90m"},
		{"120m", 2 * time.Hour, "2h"},
		{"12h", 12 * time.Hour, "12h"},
		{"36h", 36 * time.Hour, "36h"},
		{"48h", 2 * day, "2d"},
		{"30d", 30 * day, "30d"},
		{"14d", 14 * day, "2w"},
		{"2w", 14 * day, "2w"},
		{"007d", 7 * day, "1w"},
		{"106751d", 106751 * day, "106751d"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := rule.ParseDuration(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, time.Duration(d))
			assert.Equal(t, tc.text, d.String())
			b, err := json.Marshal(d)
			require.NoError(t, err)
			assert.Equal(t, `"`+tc.text+`"`, string(b))
			var back rule.Duration
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, d, back)
		})
	}
}

func TestParseDurationErrors(t *testing.T) {
	for _, in := range []string{
		"", "d", "30x", "30", "-3d", "+3d", "0d", "0s", "3.5d", "1d12h", " 3d", "3d ",
		"3D", "３d", "106752d", "99999999999999999999w", "15251w",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := rule.ParseDuration(in)
			require.Error(t, err)
			assert.ErrorIs(t, err, scrm.ErrInvalid)
		})
	}
}

func TestDurationJSON(t *testing.T) {
	var d rule.Duration
	require.NoError(t, json.Unmarshal([]byte(`null`), &d))
	assert.Zero(t, d)

	for _, bad := range []string{`30`, `"30x"`, `true`, `{}`} {
		err := json.Unmarshal([]byte(bad), &d)
		require.Error(t, err, bad)
		assert.ErrorIs(t, err, scrm.ErrInvalid, bad)
	}

	// Durations without a text form do not encode.
	for _, d := range []rule.Duration{0, -1, rule.Duration(1500 * time.Millisecond)} {
		_, err := json.Marshal(d)
		assert.ErrorIs(t, err, scrm.ErrInvalid, "%v", time.Duration(d))
	}
	assert.Equal(t, "1.5s", rule.Duration(1500*time.Millisecond).String())
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30d", "90m", "12h", "2w", "90s", "", "30x", "-3d", "0d", "106751d", "99999999999w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := rule.ParseDuration(s)
		if err != nil {
			if !assert.ErrorIs(t, err, scrm.ErrInvalid) {
				t.FailNow()
			}
			return
		}
		require.Positive(t, int64(d))
		again, err := rule.ParseDuration(d.String())
		require.NoError(t, err, "reparse %q (from %q)", d.String(), s)
		require.Equal(t, d, again)
	})
}
