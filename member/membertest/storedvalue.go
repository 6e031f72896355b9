package membertest

import (
	"testing"

	"github.com/scrmkit/scrmkit/member"
)

func testStoredValue(t *testing.T, newStore func(t *testing.T) member.Store) {
	t.Helper()
	_ = newStore
}
