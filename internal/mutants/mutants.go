// Package mutants runs a package's conformance suite against broken
// stores ("mutants") in child processes, to prove that the suite catches
// each of them.
//
// A package's tests declare a list of [Mutant] values and two tests: a
// child test whose body is [Child], which runs the suite against the
// mutant an environment variable names and skips when it is unset, and a
// parent test whose body is [Spawn], which re-executes the test binary
// once per mutant, running only the child test and the suite's subtests
// on the mutant's run path, and requires the child to fail in the subtest
// the mutant names. Running each mutant in its own process keeps one
// mutant's failures, panics and leaked goroutines from touching another.
package mutants

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Mutant is one broken store and where the conformance suite must catch
// it.
type Mutant struct {
	// Name identifies the mutant; it names the parent's subtest and is the
	// value of the environment variable in the child.
	Name string
	// Run is the slash-separated path of the suite's subtests to run
	// beneath the child test, each element matched exactly.
	Run string
	// Want is the subtest, beneath the child test, that must fail.
	Want string
	// Suite runs the package's conformance suite against this mutant.
	Suite func(t *testing.T)
}

// Child is the body of the child test: it runs the suite of the mutant
// whose name the environment variable env holds, and skips when env is
// unset or empty (that is, outside a child process started by [Spawn]).
// It fails the test when no mutant in ms has that name.
func Child(t *testing.T, env string, ms []Mutant) {
	t.Helper()
	name := os.Getenv(env)
	if name == "" {
		t.Skipf("run by the parent test, with %s set", env)
	}
	for _, m := range ms {
		if m.Name == name {
			m.Suite(t)
			return
		}
	}
	t.Fatalf("no mutant %q", name)
}

// Spawn is the body of the parent test: for every mutant in ms it runs, in
// a parallel subtest named after the mutant, the test binary again with
// only the child test (named child) and the suite's subtests on the
// mutant's Run path, with env set to the mutant's name. The subtest fails
// unless the child process exits with an error and its output reports the
// failure of child's subtest Want. Spawn skips in a child process (env
// set) and under -short.
func Spawn(t *testing.T, env, child string, ms []Mutant) {
	t.Helper()
	if os.Getenv(env) != "" {
		t.Skip("in a child")
	}
	if testing.Short() {
		t.Skip("spawns a process per mutant")
	}
	for _, m := range ms {
		t.Run(m.Name, func(t *testing.T) {
			t.Parallel()
			run := "^" + child + "$"
			for _, part := range strings.Split(m.Run, "/") {
				run += "/^" + part + "$"
			}
			cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.count=1", "-test.timeout=120s")
			cmd.Env = append(os.Environ(), env+"="+m.Name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed mutant %s (err %v):\n%s", m.Name, err, out)
			}
			if want := "--- FAIL: " + child + "/" + m.Want + " "; !strings.Contains(string(out), want) {
				t.Errorf("the suite must catch %s in %s: output lacks %q:\n%s", m.Name, m.Want, want, out)
			}
		})
	}
}

// Store is a mutant given as the constructor of its broken store, for a
// suite whose runner takes a store constructor: Name, Run and Want are as
// in [Mutant].
type Store[S any] struct {
	Name, Run, Want string
	New             func() S
}

// Stores returns the Mutants of ss: each one's Suite runs suite with a
// constructor that returns a fresh broken store from its New every time
// the suite asks for a store.
func Stores[S any](suite func(t *testing.T, newStore func(t *testing.T) S), ss ...[]Store[S]) []Mutant {
	var ms []Mutant
	for _, l := range ss {
		for _, s := range l {
			ms = append(ms, Mutant{Name: s.Name, Run: s.Run, Want: s.Want,
				Suite: func(t *testing.T) { suite(t, func(*testing.T) S { return s.New() }) }})
		}
	}
	return ms
}
