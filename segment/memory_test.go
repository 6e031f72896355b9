package segment_test

import (
	"testing"

	"github.com/scrmkit/scrmkit/segment"
	"github.com/scrmkit/scrmkit/segment/segmenttest"
)

func TestMemoryStore(t *testing.T) {
	segmenttest.RunStoreTests(t, func(*testing.T) segment.Store { return segment.NewMemoryStore() })
}
