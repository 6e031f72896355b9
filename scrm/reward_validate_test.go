package scrm_test

import (
	"errors"
	"testing"

	"github.com/scrmkit/scrmkit/scrm"
)

func TestRewardValidateNeedsTheKindsValue(t *testing.T) {
	for _, c := range []struct {
		r     scrm.Reward
		field string // "" for valid
	}{
		{scrm.Reward{Kind: scrm.RewardPoints, Points: 5}, ""},
		{scrm.Reward{Kind: scrm.RewardPoints}, "Points"},
		{scrm.Reward{Kind: scrm.RewardGrowth}, "Points"},
		{scrm.Reward{Kind: scrm.RewardStoredValue}, "Amount"},
		{scrm.Reward{Kind: scrm.RewardStoredValue, Amount: scrm.Yuan("0.01")}, ""},
		{scrm.Reward{Kind: scrm.RewardStoredValue, Amount: scrm.Yuan("0.001")}, "Amount"},
		{scrm.Reward{Kind: scrm.RewardCoupon}, "Template"},
		{scrm.Reward{Kind: scrm.RewardCoupon, Template: "t1"}, ""},
		{scrm.Reward{Kind: "badge"}, ""}, // a host's own kind: no value required
		{scrm.Reward{Kind: "badge", Count: -1}, "Count"},
		{scrm.Reward{}, "Kind"},
	} {
		err := c.r.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.r, err)
			}
			continue
		}
		var se *scrm.Error
		if !errors.Is(err, scrm.ErrInvalid) || !errors.As(err, &se) || se.Field != c.field {
			t.Errorf("%+v: got %v, want ErrInvalid naming %s", c.r, err, c.field)
		}
	}
}
