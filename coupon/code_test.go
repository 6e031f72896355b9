package coupon_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/scrm"
)

func TestGenerateAndParseCodes(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5")})
	codes, err := e.svc.GenerateCodes(ctx, tenant, "c", 2000)
	require.NoError(t, err)
	require.Len(t, codes, 2000)
	seen := map[string]bool{}
	for _, c := range codes {
		assert.Len(t, c, coupon.CodeLength+2, "groups of four: %s", c)
		n, err := coupon.ParseCode(c)
		require.NoError(t, err, c)
		assert.Equal(t, strings.ReplaceAll(c, "-", ""), n)
		assert.Equal(t, c, coupon.FormatCode(n))
		assert.False(t, seen[n], "duplicate %s", n)
		seen[n] = true
		assert.NotContainsf(t, n, "0", "%s", n)
		assert.NotContainsf(t, n, "O", "%s", n)
		assert.NotContainsf(t, n, "1", "%s", n)
		assert.NotContainsf(t, n, "I", "%s", n)
	}

	// Every single mistyped character is caught by the check character.
	n, _ := coupon.ParseCode(codes[0])
	for i := range len(n) {
		for _, r := range coupon.CodeAlphabet {
			if byte(r) == n[i] {
				continue
			}
			typo := n[:i] + string(r) + n[i+1:]
			_, err := coupon.ParseCode(typo)
			assert.ErrorIs(t, err, scrm.ErrInvalid, "typo %s of %s", typo, n)
		}
	}

	_, err = e.svc.GenerateCodes(ctx, tenant, "c", 0)
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	_, err = e.svc.GenerateCodes(ctx, tenant, "nope", 1)
	assert.ErrorIs(t, err, scrm.ErrNotFound)
}

func TestParseCode(t *testing.T) {
	good := "7KQ4-M9XD-F2H" // body; the check character is appended below
	var valid string
	for _, r := range coupon.CodeAlphabet {
		if _, err := coupon.ParseCode(good + string(r)); err == nil {
			valid = good + string(r)
		}
	}
	require.NotEmpty(t, valid, "exactly one check character fits")
	for _, c := range []struct {
		in   string
		ok   bool
		want string
	}{
		{valid, true, strings.ReplaceAll(valid, "-", "")},
		{strings.ToLower(valid), true, strings.ReplaceAll(valid, "-", "")},
		{" " + strings.ReplaceAll(valid, "-", " ") + " ", true, strings.ReplaceAll(valid, "-", "")},
		{"", false, ""},
		{"7KQ4-M9XD", false, ""},
		{valid + "A", false, ""},
		{"0KQ4-M9XD-F2HA", false, ""},
		{"IKQ4-M9XD-F2HA", false, ""},
		{"七KQ4-M9XD-F2HA", false, ""},
		{strings.Repeat("A", 1000), false, ""},
	} {
		got, err := coupon.ParseCode(c.in)
		if c.ok {
			require.NoError(t, err, c.in)
			assert.Equal(t, c.want, got)
		} else {
			assert.ErrorIs(t, err, scrm.ErrInvalid, "%q", c.in)
			assert.Equal(t, "Code", fieldOf(err))
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"7KQ4-M9XD-F2HB", "7kq4 m9xd f2hb", "", "----", "0000-0000-0000", "ZZZZ-ZZZZ-ZZZZ", "\xff\xfe", "SUMMER2026"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := coupon.ParseCode(s)
		if err != nil {
			if !assert.ErrorIs(t, err, scrm.ErrInvalid) {
				t.FailNow()
			}
			return
		}
		if len(n) != coupon.CodeLength {
			t.Fatalf("ParseCode(%q) = %q: want %d characters", s, n, coupon.CodeLength)
		}
		for _, r := range n {
			if !strings.ContainsRune(coupon.CodeAlphabet, r) {
				t.Fatalf("ParseCode(%q) = %q: %q not in the alphabet", s, n, r)
			}
		}
		again, err := coupon.ParseCode(coupon.FormatCode(n))
		if err != nil || again != n {
			t.Fatalf("round trip of %q: %q, %v", n, again, err)
		}
	})
}

func TestClaimCode(t *testing.T) {
	e := newEnv(t)
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5"), Price: yuan("9.90")})
	e.put(t, coupon.Template{ID: "s", Kind: coupon.KindCash, Amount: yuan("3"), Stock: 2})
	codes, err := e.svc.GenerateCodes(ctx, tenant, "c", 2)
	require.NoError(t, err)
	req := func(cust scrm.CustomerID, code string) coupon.CodeRequest {
		return coupon.CodeRequest{Tenant: tenant, Customer: cust, Code: code, Channel: "wecom"}
	}

	typed := strings.ToLower(strings.ReplaceAll(codes[0], "-", " "))
	cp, err := e.svc.ClaimCode(ctx, req("u1", typed))
	require.NoError(t, err, "a paid voucher may be claimed with a code")
	assert.Equal(t, "code", cp.Source)
	assert.Equal(t, strings.ReplaceAll(codes[0], "-", ""), cp.Code)
	again, err := e.svc.ClaimCode(ctx, req("u1", codes[0]))
	require.NoError(t, err, "entering a code again returns the same coupon")
	assert.Equal(t, cp.ID, again.ID)
	_, err = e.svc.ClaimCode(ctx, req("u2", codes[0]))
	assert.ErrorIs(t, err, scrm.ErrConflict, "spent by u1")

	shared, err := e.svc.PutSharedCode(ctx, tenant, "s", "summer-2026")
	require.NoError(t, err)
	assert.Equal(t, "SUMMER2026", shared.Code)
	_, err = e.svc.PutSharedCode(ctx, tenant, "s", "SUMMER 2026")
	assert.ErrorIs(t, err, scrm.ErrConflict)
	_, err = e.svc.PutSharedCode(ctx, tenant, "s", "AB")
	assert.ErrorIs(t, err, scrm.ErrInvalid)
	_, err = e.svc.PutSharedCode(ctx, tenant, "s", codes[1])
	assert.ErrorIs(t, err, scrm.ErrInvalid, "a shared code must not look generated")
	a, err := e.svc.ClaimCode(ctx, req("u1", "Summer2026"))
	require.NoError(t, err)
	b, err := e.svc.ClaimCode(ctx, req("u1", "SUMMER2026"))
	require.NoError(t, err)
	assert.Equal(t, a.ID, b.ID, "one coupon per customer per shared code")
	_, err = e.svc.ClaimCode(ctx, req("u2", "SUMMER2026"))
	require.NoError(t, err)
	_, err = e.svc.ClaimCode(ctx, req("u3", "SUMMER2026"))
	assert.ErrorIs(t, err, scrm.ErrExhausted, "the template's stock applies")
}

func TestClaimCodeRateLimit(t *testing.T) {
	e := newEnv(t, func(o *coupon.Options) { o.CodeAttempts, o.CodeRefill = 3, time.Minute })
	e.put(t, coupon.Template{ID: "c", Kind: coupon.KindCash, Amount: yuan("5")})
	codes, err := e.svc.GenerateCodes(ctx, tenant, "c", 3)
	require.NoError(t, err)
	req := func(cust scrm.CustomerID, code string) coupon.CodeRequest {
		return coupon.CodeRequest{Tenant: tenant, Customer: cust, Code: code}
	}

	// Right codes cost nothing.
	for _, c := range codes[:2] {
		_, err := e.svc.ClaimCode(ctx, req("u1", c))
		require.NoError(t, err)
	}
	wrong := []string{"WRONGCODE", "ZZZZ-ZZZZ-ZZZZ", "NOPE"}
	for _, w := range wrong {
		_, err := e.svc.ClaimCode(ctx, req("u1", w))
		require.Error(t, err)
		assert.NotErrorIs(t, err, scrm.ErrExhausted)
	}
	_, err = e.svc.ClaimCode(ctx, req("u1", codes[2]))
	assert.ErrorIs(t, err, scrm.ErrExhausted, "past the burst even a right code waits")
	_, err = e.svc.ClaimCode(ctx, req("u2", "NOPE"))
	assert.ErrorIs(t, err, scrm.ErrNotFound, "other customers have their own allowance")

	e.clock.Advance(time.Minute)
	_, err = e.svc.ClaimCode(ctx, req("u1", codes[2]))
	require.NoError(t, err, "time refills the allowance")
	_, err = e.svc.ClaimCode(ctx, req("u1", "NOPE"))
	assert.ErrorIs(t, err, scrm.ErrNotFound)
	_, err = e.svc.ClaimCode(ctx, req("u1", "NOPE"))
	assert.ErrorIs(t, err, scrm.ErrExhausted)
}
