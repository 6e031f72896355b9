package tagging

// copyRule returns a deep copy of r: stores hand out rules callers may
// modify.
func copyRule(r Rule) Rule {
	r.Keywords = append([]string(nil), r.Keywords...)
	if len(r.Keywords) == 0 {
		r.Keywords = nil
	}
	r.When = r.When.Clone()
	return r
}
