// Package taggingtest is the conformance suite for tagging.Store
// implementations. A host that writes its own store (SQL, say) runs it from
// its tests:
//
//	func TestMyTaggingStore(t *testing.T) {
//		taggingtest.RunStoreTests(t, func(t *testing.T) tagging.Store {
//			return mystore.New(testDB(t))
//		})
//	}
//
// The suite checks what tagging.Store's doc comments promise: definitions
// with versions and a revision, referential checks, history that is
// appended once per entry ID and moves on merges, an index that follows the
// newest recorded profile version and never lists absorbed customers,
// idempotency keys unique per tenant, paging, tenant isolation, cancelled
// contexts, copies rather than aliases, and invariants under many
// goroutines. Times are compared with a millisecond tolerance and
// conditions by their JSON form, so stores that serialize both pass.
package taggingtest

import (
	"context"
	"testing"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/tagging"
)

// RunStoreTests runs the conformance suite against the stores newStore
// returns. newStore is called once per subtest and must return an empty
// store.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) tagging.Store) {
	t.Helper()
	e := &env{newStore: newStore, ctx: context.Background(), t0: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	t.Run("Definitions", e.testDefinitions)
	t.Run("History", e.testHistory)
	t.Run("Index", e.testIndex)
	t.Run("Merge", e.testMerge)
	t.Run("Keys", e.testKeys)
	t.Run("General", e.testGeneral)
	t.Run("Concurrency", e.testConcurrency)
}

type env struct {
	newStore func(t *testing.T) tagging.Store
	ctx      context.Context
	t0       time.Time
}

const (
	t1 scrm.TenantID = "t1"
	t2 scrm.TenantID = "t2"
)
