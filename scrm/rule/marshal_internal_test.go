package rule

import (
	"reflect"
	"testing"
)

// TestWireConditionMatchesCondition keeps wireCondition, the encoded form
// of a Condition, in step with it: the same fields in the same order with
// the same JSON tags, and the same types except for the children.
func TestWireConditionMatchesCondition(t *testing.T) {
	ct, wt := reflect.TypeFor[Condition](), reflect.TypeFor[wireCondition]()
	if ct.NumField() != wt.NumField() {
		t.Fatalf("Condition has %d fields, wireCondition %d", ct.NumField(), wt.NumField())
	}
	children := map[reflect.Type]reflect.Type{
		reflect.TypeFor[[]Condition](): reflect.TypeFor[[]wireCondition](),
		reflect.TypeFor[*Condition]():  reflect.TypeFor[*wireCondition](),
	}
	for i := range ct.NumField() {
		cf, wf := ct.Field(i), wt.Field(i)
		want := cf.Type
		if w, ok := children[want]; ok {
			want = w
		}
		if cf.Name != wf.Name || cf.Tag != wf.Tag || wf.Type != want {
			t.Errorf("field %d: Condition has %s %s `%s`, wireCondition %s %s `%s`",
				i, cf.Name, cf.Type, cf.Tag, wf.Name, wf.Type, wf.Tag)
		}
	}
}
