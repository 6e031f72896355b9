package sop_test

import (
	"testing"

	"github.com/scrmkit/scrmkit/sop"
	"github.com/scrmkit/scrmkit/sop/soptest"
)

func TestMemoryStore(t *testing.T) {
	soptest.RunStoreTests(t, func(*testing.T) sop.Store { return sop.NewMemoryStore() })
}
