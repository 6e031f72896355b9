package referral_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func TestCodeStableShortDistinct(t *testing.T) {
	r := newRig(t)
	seen := map[string]scrm.CustomerID{}
	for i := range 500 {
		c := scrm.CustomerID(fmt.Sprintf("C%d", i))
		code := r.code(c)
		require.Len(t, code, referral.CodeLength)
		for _, ch := range code {
			require.Contains(t, alphabet, string(ch))
		}
		parsed, err := referral.ParseCode(code)
		require.NoError(t, err)
		assert.Equal(t, code, parsed)
		_, dup := seen[code]
		require.False(t, dup, "code %s given twice", code)
		seen[code] = c
		assert.Equal(t, code, r.code(c), "stable")
		owner, err := r.svc.CodeOwner(r.ctx, tenant, strings.ToLower(code))
		require.NoError(t, err)
		assert.Equal(t, referral.Owner{Customer: c}, owner)
	}
}

func TestCodeDependsOnSecretAndTenant(t *testing.T) {
	a := newRig(t)
	b := newRig(t, func(o *referral.Options) {
		o.CodeSecret = func(scrm.TenantID) []byte { return []byte("another secret, also 32 bytes...") }
	})
	assert.NotEqual(t, a.code("C1"), b.code("C1"), "without the secret the code cannot be computed")
	other, err := a.svc.Code(a.ctx, "t2", "C1")
	require.NoError(t, err)
	assert.NotEqual(t, a.code("C1"), other)

	// A Service without a secret uses a random one; its codes are still
	// stable, because the store remembers them.
	store := referral.NewMemoryStore()
	s1 := referral.New(store, scrm.NewMemoryProfileStore(), nil)
	s2 := referral.New(store, scrm.NewMemoryProfileStore(), nil)
	c1, err := s1.Code(a.ctx, tenant, "C1")
	require.NoError(t, err)
	c2, err := s2.Code(a.ctx, tenant, "C1")
	require.NoError(t, err)
	assert.Equal(t, c1, c2)
}

func TestCodeConcurrentFirstCalls(t *testing.T) {
	r := newRig(t)
	var wg sync.WaitGroup
	codes := make([]string, 20)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := r.svc.Code(r.ctx, tenant, "C1")
			assert.NoError(t, err)
			codes[i] = c
		}()
	}
	wg.Wait()
	for _, c := range codes {
		assert.Equal(t, codes[0], c)
	}
}

func TestParseCode(t *testing.T) {
	r := newRig(t)
	code := r.code("C1")
	spaced := strings.ToLower(code[:3] + "-" + code[3:6] + " " + code[6:])
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{code, code, false},
		{spaced, code, false},
		{"", "", true},
		{code[:8], "", true},
		{code + "0", "", true},
		{code[:8] + "U", "", true},
		{"!" + code[1:], "", true},
		{"中文字符中文字符中", "", true},
	}
	for _, tt := range tests {
		got, err := referral.ParseCode(tt.in)
		if tt.wantErr {
			assert.ErrorIs(t, err, scrm.ErrInvalid, "%q", tt.in)
			continue
		}
		require.NoError(t, err, "%q", tt.in)
		assert.Equal(t, tt.want, got)
	}

	// Look-alikes are read as digits.
	lookalike := strings.NewReplacer("0", "O", "1", "I").Replace(code)
	got, err := referral.ParseCode(lookalike)
	require.NoError(t, err)
	assert.Equal(t, code, got)

	// Every single-character typo is caught by the check character.
	for i := range code {
		for _, ch := range alphabet {
			if byte(ch) == code[i] {
				continue
			}
			typo := code[:i] + string(ch) + code[i+1:]
			_, err := referral.ParseCode(typo)
			assert.ErrorIs(t, err, scrm.ErrInvalid, "typo %s of %s accepted", typo, code)
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"", "0000000000", "ABCD-EFGH-J", "o1l-ILO U", "7ZK3M9QX5", "\xff\xfe", strings.Repeat("Z", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := referral.ParseCode(s)
		if err != nil {
			if !assert.ErrorIs(t, err, scrm.ErrInvalid) {
				t.Fatalf("ParseCode(%q): %v", s, err)
			}
			return
		}
		if len(got) != referral.CodeLength {
			t.Fatalf("ParseCode(%q) = %q: wrong length", s, got)
		}
		for _, ch := range got {
			if !strings.ContainsRune(alphabet, ch) {
				t.Fatalf("ParseCode(%q) = %q: not canonical", s, got)
			}
		}
		again, err := referral.ParseCode(strings.ToLower(got))
		if err != nil || again != got {
			t.Fatalf("ParseCode(ParseCode(%q)) = %q, %v; want %q", s, again, err, got)
		}
	})
}
