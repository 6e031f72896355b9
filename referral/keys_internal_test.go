package referral

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// appendKey, keyArena and grantSource must give exactly what key and
// "referral:"+program give: stored keys and sources depend on it.
func TestAppendKeyMatchesKey(t *testing.T) {
	long := strings.Repeat("x", 200)
	cases := [][]string{
		{"referral", "p1", "qualify", "B1", "0"},
		{"referral", "p:1", "invite", "A%1", "B1", "0"},
		{"p1", "percent", "B1"},
		{"referral", long, "bind", "B1", "0"},
		{"referral", "", "bind", "", "0"},
	}
	var a keyArena
	for _, parts := range cases {
		want := key(parts...)
		assert.Equal(t, "pre"+want, string(appendKey([]byte("pre"), parts...)), "%q", parts)
		a.add(parts...)
	}
	a.addJoined("referral:", "p:1")
	all := string(a.buf)
	assert.Equal(t, "referral:p:1", a.key(all, len(cases)))
	for i, parts := range cases {
		assert.Equal(t, key(parts...), a.key(all, i), "%q", parts)
	}
	for _, program := range []string{"p1", "p:1", "", long, "p%"} {
		k := key("referral", program, "bind", "B1", "0")
		assert.Equal(t, "referral:"+program, grantSource(program, k), "%q", k)
	}
}
