package taggingtest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/tagging"
)

func (e *env) testKeys(t *testing.T) {
	t.Run("FirstWins", func(t *testing.T) {
		s := e.newStore(t)
		first := tagging.KeyRecord{Tenant: t1, Key: "apply:k", Customer: "c1", Fingerprint: "fp1"}
		got, err := s.PutKey(e.ctx, first)
		require.NoError(t, err)
		assert.Equal(t, first, got)
		got, err = s.PutKey(e.ctx, first)
		require.NoError(t, err)
		assert.Equal(t, first, got, "a replay")
		// The key is the tenant's, not the customer's: another customer or
		// payload gets the first record back, unchanged.
		got, err = s.PutKey(e.ctx, tagging.KeyRecord{Tenant: t1, Key: "apply:k", Customer: "c2", Fingerprint: "fp2"})
		require.NoError(t, err)
		assert.Equal(t, first, got)
		got, err = s.PutKey(e.ctx, tagging.KeyRecord{Tenant: t1, Key: "apply:k", Customer: "c1", Fingerprint: "fp3"})
		require.NoError(t, err)
		assert.Equal(t, first, got)
		// Another key, or the same key in another tenant, is another record.
		other := tagging.KeyRecord{Tenant: t1, Key: "remove:k", Customer: "c2", Fingerprint: "fp2"}
		got, err = s.PutKey(e.ctx, other)
		require.NoError(t, err)
		assert.Equal(t, other, got)
		other = tagging.KeyRecord{Tenant: t2, Key: "apply:k", Customer: "c2", Fingerprint: "fp2"}
		got, err = s.PutKey(e.ctx, other)
		require.NoError(t, err)
		assert.Equal(t, other, got)
	})

	t.Run("InvalidInput", func(t *testing.T) {
		s := e.newStore(t)
		for name, k := range map[string]tagging.KeyRecord{
			"no tenant":   {Key: "apply:k", Customer: "c1"},
			"no key":      {Tenant: t1, Customer: "c1"},
			"no customer": {Tenant: t1, Key: "apply:k"},
		} {
			_, err := s.PutKey(e.ctx, k)
			assert.ErrorIs(t, err, scrm.ErrInvalid, name)
		}
		got, err := s.PutKey(e.ctx, tagging.KeyRecord{Tenant: t1, Key: "apply:k", Customer: "c2"})
		require.NoError(t, err)
		assert.Equal(t, scrm.CustomerID("c2"), got.Customer, "nothing written")
	})

	t.Run("RaceOneWins", func(t *testing.T) {
		s := e.newStore(t)
		const n = 32
		var wg sync.WaitGroup
		got := make([]tagging.KeyRecord, n)
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = s.PutKey(e.ctx, tagging.KeyRecord{Tenant: t1, Key: "apply:k",
					Customer: scrm.CustomerID(fmt.Sprint("c", i)), Fingerprint: fmt.Sprint("fp", i)})
			}()
		}
		wg.Wait()
		winners := 0
		for i := range got {
			require.NoError(t, errs[i])
			assert.Equal(t, got[0], got[i], "every caller sees the one stored record")
			if got[i].Customer == scrm.CustomerID(fmt.Sprint("c", i)) {
				winners++
			}
		}
		assert.Equal(t, 1, winners)
	})
}
