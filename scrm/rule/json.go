package rule

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/scrmkit/scrmkit/scrm"
)

// maxDepth bounds how deeply conditions may nest, in JSON and in Compile, so
// that hostile input cannot exhaust the stack and a Condition built in Go
// with a cycle (a Not pointing at an ancestor) is rejected.
const maxDepth = 64

// ParseCondition decodes the JSON form of a condition. Every error,
// malformed JSON included, matches scrm.ErrInvalid and names the path of the
// offending key. JSON null decodes to the empty Condition.
func ParseCondition(data []byte) (Condition, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return Condition{}, &scrm.Error{Code: scrm.ErrInvalid, Op: opDecode, Msg: "malformed JSON", Err: err}
	}
	return decodeCondition(bytes.TrimSpace(data), "", 0)
}

// UnmarshalJSON decodes the JSON form of a condition (see the package doc).
// Unknown keys are rejected, naming the key and its path; numbers are kept
// as json.Number, never rounded through float64. Errors match
// scrm.ErrInvalid. JSON null leaves c unchanged.
//
// json.Unmarshal checks that its input is well-formed JSON before calling
// UnmarshalJSON and reports malformed input itself, as a *json.SyntaxError;
// ParseCondition reports that as scrm.ErrInvalid too.
func (c *Condition) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	out, err := decodeCondition(data, "", 0)
	if err != nil {
		return err
	}
	*c = out
	return nil
}

const opDecode = "rule.Condition"

func decodeErr(path, format string, args ...any) error {
	return scrm.Invalid(opDecode, path, format, args...)
}

// join appends a key to a path: join("all[1]", "sum") is "all[1].sum".
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends a list index to a path: index("all", 2) is "all[2]".
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// jsonKind names the kind of a raw JSON value for error messages.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a bool"
	case 'n':
		return "null"
	}
	return "a number"
}

// object decodes a raw JSON object into its members, returning the keys in
// sorted order so that errors are deterministic.
func object(raw []byte, path string) (map[string]json.RawMessage, []string, error) {
	if jsonKind(raw) != "an object" {
		return nil, nil, decodeErr(path, "want an object, got %s", jsonKind(raw))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, &scrm.Error{Code: scrm.ErrInvalid, Op: opDecode, Field: path, Msg: "malformed JSON", Err: err}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return m, keys, nil
}

func isNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }

// decodeCondition decodes one condition object found at path.
func decodeCondition(raw []byte, path string, depth int) (Condition, error) {
	var c Condition
	if isNull(raw) {
		return c, nil
	}
	if depth >= maxDepth {
		return c, decodeErr(path, "conditions nest more than %d levels deep", maxDepth)
	}
	m, keys, err := object(raw, path)
	if err != nil {
		return c, err
	}
	for _, k := range keys {
		v, p := m[k], join(path, k)
		var err error
		switch k {
		case "all":
			c.All, err = decodeList(v, p, depth)
		case "any":
			c.Any, err = decodeList(v, p, depth)
		case "not":
			if !isNull(v) {
				var n Condition
				n, err = decodeCondition(v, p, depth+1)
				c.Not = &n
			}
		case "attr":
			c.Attr, err = decodeString(v, p)
		case "op":
			c.Op, err = decodeString(v, p)
		case "value":
			c.Value, err = decodeValue(v, p)
		case "event":
			c.Event, err = decodeString(v, p)
		case "within":
			c.Within, err = decodeDurationAt(v, p)
		case "count":
			c.Count, err = decodeCmp(v, p)
		case "sum":
			c.Sum, err = decodeCmp(v, p)
		case "last":
			c.Last, err = decodeLast(v, p)
		case "tag":
			c.Tag, err = decodeString(v, p)
		case "appliedWithin":
			c.AppliedWithin, err = decodeDurationAt(v, p)
		case "segment":
			c.Segment, err = decodeString(v, p)
		default:
			err = decodeErr(p, "unknown key %q", k)
		}
		if err != nil {
			return Condition{}, err
		}
	}
	return c, nil
}

// decodeList decodes the children of all / any. null is nil; [] is an empty
// (non-nil) list, kept so that it round-trips and Compile can report it.
func decodeList(raw []byte, path string, depth int) ([]Condition, error) {
	if isNull(raw) {
		return nil, nil
	}
	if jsonKind(raw) != "a list" {
		return nil, decodeErr(path, "want a list of conditions, got %s", jsonKind(raw))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, &scrm.Error{Code: scrm.ErrInvalid, Op: opDecode, Field: path, Msg: "malformed JSON", Err: err}
	}
	out := make([]Condition, len(items))
	for i, it := range items {
		c, err := decodeCondition(it, index(path, i), depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func decodeString(raw []byte, path string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if jsonKind(raw) != "a string" || json.Unmarshal(raw, &s) != nil {
		return "", decodeErr(path, "want a string, got %s", jsonKind(raw))
	}
	return s, nil
}

// decodeValue decodes an attribute operand with numbers as json.Number.
func decodeValue(raw []byte, path string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &scrm.Error{Code: scrm.ErrInvalid, Op: opDecode, Field: path, Msg: "malformed JSON", Err: err}
	}
	return v, nil
}

func decodeDurationAt(raw []byte, path string) (Duration, error) {
	if isNull(raw) {
		return 0, nil
	}
	d, msg := decodeDuration(raw)
	if msg != "" {
		return 0, decodeErr(path, "%s", msg)
	}
	return d, nil
}

// decodeCmp decodes {"gte": 2, ...}. Bounds may be JSON numbers, kept
// verbatim, or strings, kept unvalidated for Compile to check.
func decodeCmp(raw []byte, path string) (*Cmp, error) {
	if isNull(raw) {
		return nil, nil
	}
	m, keys, err := object(raw, path)
	if err != nil {
		return nil, err
	}
	var c Cmp
	for _, k := range keys {
		var dst *json.Number
		switch k {
		case "eq":
			dst = &c.Eq
		case "ne":
			dst = &c.Ne
		case "gt":
			dst = &c.Gt
		case "gte":
			dst = &c.Gte
		case "lt":
			dst = &c.Lt
		case "lte":
			dst = &c.Lte
		default:
			return nil, decodeErr(join(path, k), "unknown key %q; want eq, ne, gt, gte, lt or lte", k)
		}
		v := bytes.TrimSpace(m[k])
		switch jsonKind(v) {
		case "null":
		case "a number":
			*dst = json.Number(v)
		case "a string":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, decodeErr(join(path, k), "malformed string")
			}
			*dst = json.Number(s)
		default:
			return nil, decodeErr(join(path, k), "want a number, got %s", jsonKind(v))
		}
	}
	return &c, nil
}

// decodeLast decodes {"olderThan": "30d", "within": "7d"}.
func decodeLast(raw []byte, path string) (*LastCmp, error) {
	if isNull(raw) {
		return nil, nil
	}
	m, keys, err := object(raw, path)
	if err != nil {
		return nil, err
	}
	var l LastCmp
	for _, k := range keys {
		p := join(path, k)
		switch k {
		case "olderThan":
			l.OlderThan, err = decodeDurationAt(m[k], p)
		case "within":
			l.Within, err = decodeDurationAt(m[k], p)
		default:
			err = decodeErr(p, "unknown key %q; want olderThan or within", k)
		}
		if err != nil {
			return nil, err
		}
	}
	return &l, nil
}

// MarshalJSON encodes the bounds that are set: as JSON numbers when they are
// valid number literals, otherwise as strings, so that whatever was decoded
// decodes back to the same Cmp.
func (c Cmp) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for _, f := range c.fields() {
		if f.v == "" {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + f.key + `":`)
		if isJSONNumber(string(f.v)) {
			b.WriteString(string(f.v))
		} else {
			s, err := json.Marshal(string(f.v))
			if err != nil {
				return nil, err
			}
			b.Write(s)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON decodes {"gte": 2, ...}, accepting numbers or strings for
// the bounds; unknown keys are an error matching scrm.ErrInvalid.
func (c *Cmp) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	v, err := decodeCmp(data, "")
	if err != nil {
		return err
	}
	*c = *v
	return nil
}

// UnmarshalJSON decodes {"olderThan": "30d", "within": "7d"}; unknown keys
// are an error matching scrm.ErrInvalid.
func (l *LastCmp) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	v, err := decodeLast(data, "")
	if err != nil {
		return err
	}
	*l = *v
	return nil
}

type cmpField struct {
	key string
	op  op
	v   json.Number
}

// fields lists the bounds in a fixed order (eq, ne, gt, gte, lt, lte).
func (c Cmp) fields() [6]cmpField {
	return [6]cmpField{
		{"eq", opEq, c.Eq}, {"ne", opNe, c.Ne}, {"gt", opGt, c.Gt},
		{"gte", opGte, c.Gte}, {"lt", opLt, c.Lt}, {"lte", opLte, c.Lte},
	}
}

// isJSONNumber reports whether s is a number literal in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}
