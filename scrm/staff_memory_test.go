package scrm_test

import (
	"testing"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
)

func TestMemoryStaffStore(t *testing.T) {
	scrmtest.RunStaffStoreTests(t, func(*testing.T) scrm.StaffStore {
		return scrm.NewMemoryStaffStore()
	})
}
