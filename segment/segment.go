package segment

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// Segment is a named set of customers of one tenant.
//
// A dynamic segment (Static false) holds the customers whose profiles satisfy
// When; Refresh and Handle keep its membership current. A static segment
// (Static true) holds an explicit list (an upload, a hand-picked group) that
// only Add and Remove change; its When must be empty.
//
// Membership is kept in two places that agree: the Store, which answers
// Contains, Members and Size, and each member's scrm.Profile (see
// scrm.Profile.InSegment), which is what conditions reading
// {"segment": id} see.
type Segment struct {
	Tenant scrm.TenantID
	ID     string // unique per tenant; at most scrm.MaxIDLength bytes
	Name   string // shown to operators; defaults to ID
	// When is the condition of a dynamic segment; it must be empty for a
	// static one. It may read other segments (but not itself, even through
	// others).
	When   rule.Condition
	Static bool

	// Deleting is set by Service.Delete, before the segment's members
	// exit: from then on no segment may start reading it (Define refuses),
	// Handle and Refresh no longer evaluate it, and it is removed once its
	// members have exited. A segment a failed Delete left Deleting is
	// removed by calling Delete again. Define ignores the field; the Store
	// stores it as given.
	Deleting bool

	// Version is the stored version: 0 for a segment not stored yet. Define
	// with a non-zero Version replaces the stored segment only if it is
	// still at that version.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// String describes the segment for logs.
func (s Segment) String() string {
	kind := "dynamic"
	if s.Static {
		kind = "static"
	}
	return fmt.Sprintf("segment %s/%s (%s, v%d)", s.Tenant, s.ID, kind, s.Version)
}

// validate checks the fields a caller sets, compiling When; the program is
// nil for a static segment.
func (s Segment) validate(op string, copts *rule.CompileOptions) (*rule.Program, error) {
	if err := scrm.CheckID(op, "Tenant", string(s.Tenant)); err != nil {
		return nil, err
	}
	if err := scrm.CheckID(op, "ID", s.ID); err != nil {
		return nil, err
	}
	if s.Version < 0 {
		return nil, scrm.Invalid(op, "Version", "must not be negative, got %d", s.Version)
	}
	if s.Static {
		if !s.When.IsZero() {
			return nil, scrm.Invalid(op, "When", "a static segment has no condition; its members are added and removed explicitly")
		}
		return nil, nil
	}
	if s.When.IsZero() {
		return nil, scrm.Invalid(op, "When", "required for a dynamic segment")
	}
	prog, err := rule.Compile(s.When, copts)
	if err != nil {
		return nil, prefixField(op, "When", err)
	}
	for _, dep := range prog.Deps().Segments {
		if dep == s.ID {
			return nil, scrm.Invalid(op, "When", "segment %q reads itself", s.ID)
		}
	}
	return prog, nil
}

// prefixField re-roots a compile error's path under field, so that the error
// names the field of the request ("When.all[1].sum.gte").
func prefixField(op, field string, err error) error {
	if e, ok := err.(*scrm.Error); ok {
		f := field
		if e.Field != "" {
			f = field + "." + e.Field
		}
		return &scrm.Error{Code: e.Code, Op: op, Field: f, Msg: e.Msg, Err: e.Err}
	}
	return scrm.Wrap(nil, op, err)
}

// Diff is what a membership change did: the customers that entered and
// exited the segment, in customer ID order.
type Diff struct {
	Segment string
	Entered []scrm.CustomerID
	Exited  []scrm.CustomerID
	// Evaluated is how many profiles Refresh evaluated (0 for Add and
	// Remove).
	Evaluated int
	// Size is the number of members after the change.
	Size int
	// Unpublished lists the segment.entered / segment.exited events that
	// the Publisher refused. The membership change stands and the Store
	// keeps the event as unreported: the Service publishes it again itself
	// (see Refresh and Handle). The host may also publish them again at
	// once; their IDs are deterministic, so handlers dedup.
	Unpublished []scrm.Event
}

// Source values of the "source" property of segment.entered and
// segment.exited events.
const (
	SourceRefresh = "refresh" // Refresh evaluated the condition over the tenant
	SourceEvent   = "event"   // Handle re-evaluated the condition after an event
	SourceAdd     = "add"     // Add put the customer in a static segment
	SourceRemove  = "remove"  // Remove took the customer out of a static segment, or Delete emptied a segment
	SourceMerge   = "merge"   // a customer.merged event moved a static membership to the survivor
)

// MembershipEvent returns the segment.entered (in true) or segment.exited
// event for a membership change of customer recorded at profile version
// version. Its ID is deterministic: every membership change of a customer
// happens at a distinct profile version, so publishing it again after a
// failure has no further effect on idempotent handlers. It is, for
// segment.entered (segment.exited alike):
//
//   - "segment.entered:<segment>:<customer>:<version>" when neither the
//     segment nor the customer ID contains ':';
//   - "segment.entered:<hash>" when that would be longer than
//     scrm.MaxIDLength, where <hash> is the hex of the first 16 bytes of
//     the SHA-256 of "<segment>:<customer>:<version>";
//   - "segment.entered:~<hash>" when either ID contains ':', where <hash> is
//     the hex of the first 16 bytes of the SHA-256 of
//     "<len(segment)>:<segment><len(customer)>:<customer><version>" (lengths
//     in bytes, in decimal): joined with ':' such IDs would be ambiguous
//     (segment "a", customer "b:c" and segment "a:b", customer "c").
//
// The three forms never equal one another: after "segment.entered:" the
// first has two more ':', the second only hex digits, the third a leading
// '~'.
//
// Props: "segment" (the segment ID), "source" (one of the Source constants)
// and "version".
func MembershipEvent(tenant scrm.TenantID, segment string, customer scrm.CustomerID, in bool, version int64, source string, at time.Time) scrm.Event {
	typ := scrm.EventSegmentExited
	if in {
		typ = scrm.EventSegmentEntered
	}
	var id string
	if strings.IndexByte(segment, ':') < 0 && strings.IndexByte(string(customer), ':') < 0 {
		key := segment + ":" + string(customer) + ":" + strconv.FormatInt(version, 10)
		id = typ + ":" + key
		if len(id) > scrm.MaxIDLength {
			sum := sha256.Sum256([]byte(key))
			id = typ + ":" + hex.EncodeToString(sum[:16])
		}
	} else {
		key := strconv.Itoa(len(segment)) + ":" + segment + strconv.Itoa(len(customer)) + ":" + string(customer) +
			strconv.FormatInt(version, 10)
		sum := sha256.Sum256([]byte(key))
		id = typ + ":~" + hex.EncodeToString(sum[:16])
	}
	return scrm.Event{
		ID: id, Tenant: tenant, Customer: customer, Type: typ, Time: at,
		Props: map[string]any{"segment": segment, "source": source, "version": version},
	}
}
