package membertest

import (
	"testing"

	"github.com/scrmkit/scrmkit/member"
)

func testMall(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Helper()
	_ = newStore
}
