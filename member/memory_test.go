package member_test

import (
	"testing"

	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/member/membertest"
)

func TestMemoryStore(t *testing.T) {
	membertest.RunStoreTests(t, func(*testing.T) member.Store { return member.NewMemoryStore() })
}
