package sop

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scrmkit/scrmkit/scrm"
)

// fastAndSlow renders a body both ways with the given values and reports
// whether the fast path applied.
func fastAndSlow(t testing.TB, s *Service, body string, vals map[string]string) (fast, slow string, fastOK bool, slowErr error) {
	t.Helper()
	declared := map[string]string{"A": "Optional[0]", "B": "Optional[1]", "Name": "Optional[2]"}
	b, err := s.compileBody("op", "Body", body, declared, ContentLimit{})
	if err != nil {
		return "", "", false, err
	}
	vs := make([]value, len(b.vars))
	for i, name := range b.vars {
		vs[i] = value{s: vals[name], isStr: true}
	}
	if b.fast != nil {
		fast, fastOK = b.renderFast(vs)
	}
	slow, slowErr = s.execute(&b, vs)
	return fast, slow, fastOK, slowErr
}

func TestRenderFastEqualsTextTemplate(t *testing.T) {
	s := New(nil, scrm.NewMemoryProfileStore(), nil)
	vals := map[string]string{"A": "8.5", "B": "<b>&'\"", "Name": "王芳"}
	for _, tc := range []struct {
		body string
		fast bool
		want string
	}{
		{"{{.Name}}，您的{{yuan .A}}元券", true, "王芳，您的8.50元券"},
		{"{{- .Name -}} ，{{.B}}", true, "王芳，<b>&'\""},
		{"{{/* 备注 */}}{{.Name}}{{.Name}}", true, "王芳王芳"},
		{"纯文本", true, "纯文本"},
		{"{{yuan .B}}", true, ""}, // yuan refuses: the fast path gives way, execute reports
		{"{{.Name | printf \"%s!\"}}", false, "王芳!"},
		{"{{if .A}}{{.A}}{{end}}", false, "8.5"},
		{"{{$.Name}}", false, "王芳"},
		{"{{default \"x\" .Name}}", false, "王芳"},
		{"{{len .Name}}", false, "6"},
	} {
		fast, slow, ok, err := fastAndSlow(t, s, tc.body, vals)
		if tc.body == "{{yuan .B}}" {
			assert.False(t, ok)
			assert.ErrorContains(t, err, "yuan: not an amount")
			continue
		}
		require.NoError(t, err, tc.body)
		assert.Equal(t, tc.want, slow, tc.body)
		assert.Equal(t, tc.fast, ok, tc.body)
		if ok {
			assert.Equal(t, slow, fast, tc.body)
		}
	}
}

func TestYuan(t *testing.T) {
	for in, want := range map[any]string{
		"20": "20.00", "8.5": "8.50", "9.90": "9.90", " 7 ": "7.00", "0": "0.00", "0.5": "0.50",
		"007": "7.00", "1.005": "1.01", "-3.2": "-3.20", "1e2": "100.00", "2.": "2.00", ".5": "0.50",
		int64(12): "12.00", 3: "3.00", 2.675: "2.68", scrm.Yuan("10.1"): "10.10", "abc": "", true: "",
	} {
		got, err := yuanFunc(in)
		if want == "" {
			assert.Error(t, err, "%v", in)
			continue
		}
		require.NoError(t, err, "%v", in)
		assert.Equal(t, want, got, "%v", in)
	}
}

// FuzzTemplateBody compiles operator-written bodies: compiling never
// panics, and a body that compiles renders the same text through the fast
// path as through text/template.
func FuzzTemplateBody(f *testing.F) {
	for _, seed := range []string{
		"{{.Name}}，您的{{yuan .A}}元券", "{{- .A -}} x {{.B}}", "{{if .A}}a{{else}}b{{end}}", "{{.}}",
		"{{range $i, $x := .A}}{{$x}}{{end}}", "{{with .A}}{{.}}{{end}}", "{{yuan .B}}", "{{/* c */}}t",
		"{{template \"x\"}}", "{{define \"x\"}}{{end}}", "{{.A.B}}", "{{$.A}}{{$}}", "{{(.A)}}",
	} {
		f.Add(seed, "8.5", "王芳")
	}
	s := New(nil, scrm.NewMemoryProfileStore(), nil)
	f.Fuzz(func(t *testing.T, body, a, b string) {
		fast, slow, ok, err := fastAndSlow(t, s, body, map[string]string{"A": a, "B": b, "Name": "王芳"})
		if ok && err == nil && fast != slow {
			t.Fatalf("body %q: fast %q, text/template %q", body, fast, slow)
		}
	})
}
