package tagging_test

import (
	"testing"

	"github.com/scrmkit/scrmkit/tagging"
	"github.com/scrmkit/scrmkit/tagging/taggingtest"
)

func TestMemoryStore(t *testing.T) {
	taggingtest.RunStoreTests(t, func(t *testing.T) tagging.Store { return tagging.NewMemoryStore() })
}
