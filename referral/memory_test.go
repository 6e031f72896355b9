package referral_test

import (
	"testing"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/referral/referraltest"
)

func TestMemoryStore(t *testing.T) {
	referraltest.RunStoreTests(t, func(*testing.T) referral.Store { return referral.NewMemoryStore() })
}
