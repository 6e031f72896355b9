package scrm_test

import (
	"testing"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

func TestMemoryGroupStore(t *testing.T) {
	scrmtest.RunGroupStoreTests(t, func(*testing.T) scrm.GroupStore {
		return scrm.NewMemoryGroupStore()
	})
}
