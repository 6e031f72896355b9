package scrm

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Customer is one person as a tenant knows them: the OneID that every
// identity (phone, UnionID, member number, ...) resolves to.
//
// A customer absorbed by a merge keeps its record, with MergedInto set and
// no identities; everything else refers to the survivor from then on.
type Customer struct {
	Tenant     TenantID
	ID         CustomerID
	Identities []Identity     // in the order they were attached
	Attrs      map[string]any // host-defined attributes (name, city, birthday, ...)
	CreatedAt  time.Time      // when the first of its identities was resolved
	MergedInto CustomerID     // set on customers absorbed by a merge
}

// String describes c for logs with its identities masked and its attribute
// values left out, e.g.
// "customer acme/C1 [phone:138****8000 email:a***@x.com] attrs=2".
func (c Customer) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "customer %s/%s [", c.Tenant, c.ID)
	for i, id := range c.Identities {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(string(id.Kind))
		b.WriteByte(':')
		b.WriteString(id.String())
	}
	b.WriteByte(']')
	if len(c.Attrs) > 0 {
		fmt.Fprintf(&b, " attrs=%d", len(c.Attrs))
	}
	if c.MergedInto != "" {
		fmt.Fprintf(&b, " merged into %s", c.MergedInto)
	}
	return b.String()
}

// LogValue implements slog.LogValuer, so that handlers that would otherwise
// print the raw fields (slog.JSONHandler) log the masked String instead.
func (c Customer) LogValue() slog.Value { return slog.StringValue(c.String()) }

// ResolveParams is the input of DirectoryStore.Resolve.
type ResolveParams struct {
	Tenant TenantID
	// Identities are already normalized (NormalizeIdentity) and distinct;
	// at least one.
	Identities []Identity
	// NewID is the ID of the customer to create when none of the identities
	// is known. Required.
	NewID CustomerID
	// Now is the creation time of a new customer.
	Now time.Time
}

// ResolveResult is the output of DirectoryStore.Resolve.
type ResolveResult struct {
	Customer CustomerID   // the customer the identities now belong to
	Created  bool         // Customer was created by this call (its ID is NewID)
	Merged   []CustomerID // customers absorbed into Customer by this call, oldest first
}

// SetAttrsParams is the input of DirectoryStore.SetAttrs.
type SetAttrsParams struct {
	Tenant   TenantID
	Customer CustomerID
	// Attrs are set on the customer; a nil value deletes the attribute.
	Attrs map[string]any
}

// ListCustomersParams is the input of DirectoryStore.List.
type ListCustomersParams struct {
	Tenant TenantID
	// Cursor is the Next of the previous page; empty for the first page.
	Cursor string
	// Limit is the page size; zero or less means 100, and more than 1000
	// means 1000 (see PageLimit).
	Limit int
}

// CustomerPage is one page of DirectoryStore.List.
type CustomerPage struct {
	Customers []Customer
	// Next is the cursor of the following page; empty when this page is the
	// last one.
	Next string
}

// DirectoryStore persists customers and their identities. It is the
// interface storage implementers write; hosts use *Directory. Every method is
// atomic on its own, reads and writes only the tenant it is given, copies
// values in and out (callers may modify what they passed or got back), and
// returns an error wrapping ctx.Err() when ctx is done. Identities reaching
// the store are already normalized.
//
// The invariant the store maintains: within a tenant, an identity (Kind and
// Value) belongs to at most one customer, and that customer is live (its
// MergedInto is empty).
//
// NewMemoryDirectoryStore is the in-memory implementation;
// scrmtest.RunDirectoryStoreTests is the conformance suite every
// implementation must pass.
type DirectoryStore interface {
	// Resolve finds the customers owning p.Identities and, in one atomic
	// step:
	//   - when none is known, creates customer p.NewID with all of them and
	//     CreatedAt p.Now (Created is true);
	//   - when they belong to one customer, attaches the unknown ones to it;
	//   - when they belong to several, merges them into the oldest
	//     (smallest CreatedAt, then smallest ID): each absorbed customer
	//     gets MergedInto set to the survivor and loses its identities to
	//     it, the survivor gains the absorbed customers' attributes it lacks
	//     (older absorbed customers first), and the unknown identities are
	//     attached to the survivor. Customers whose MergedInto named an
	//     absorbed customer may be re-pointed to the survivor.
	// A SQL implementation does this in one transaction; concurrent calls
	// with overlapping identities must end with one live customer per set
	// of linked identities.
	//
	// Errors: ErrInvalid when p has no identities or no NewID; ErrConflict
	// when a customer must be created and p.NewID already names one in the
	// tenant; ErrUnavailable when the store fails. On error nothing is
	// written.
	Resolve(ctx context.Context, p ResolveParams) (ResolveResult, error)

	// Get returns the customer stored under id as it is: an absorbed
	// customer is returned with MergedInto set (Directory.Get follows it).
	//
	// Errors: ErrNotFound when the tenant has no customer id.
	Get(ctx context.Context, tenant TenantID, id CustomerID) (Customer, error)

	// Lookup returns the (live) customer owning the identity.
	//
	// Errors: ErrNotFound when no customer of the tenant has it.
	Lookup(ctx context.Context, tenant TenantID, id Identity) (CustomerID, error)

	// SetAttrs sets p.Attrs on the customer, deleting those whose value is
	// nil, in one atomic step. When p.Customer was absorbed by a merge, the
	// attributes are written to the live customer it was merged into
	// (following MergedInto in the same step).
	//
	// Errors: ErrNotFound when the tenant has no customer p.Customer; on
	// error nothing is written.
	SetAttrs(ctx context.Context, p SetAttrsParams) error

	// List returns the live customers of p.Tenant in ascending ID order
	// (byte-wise), starting after p.Cursor; absorbed customers are skipped.
	// Each page is a consistent read; customers created or absorbed between
	// pages may or may not appear.
	//
	// Errors: ErrInvalid when the cursor is malformed.
	List(ctx context.Context, p ListCustomersParams) (CustomerPage, error)
}

// Resolution is the detailed result of Directory.ResolveDetail.
type Resolution struct {
	Customer CustomerID   // the live customer the identities belong to
	Created  bool         // Customer was created by this call
	Merged   []CustomerID // customers absorbed into Customer by this call, oldest first
}

// maxFollowMerges bounds how many MergedInto links Get follows; a longer chain
// means the store holds a cycle.
const maxFollowMerges = 64

// Directory resolves identities to one customer (OneID), creating it when
// none matches and merging customers when an identity links two of them: the
// older survives and a "customer.merged" event is published.
//
// A Directory is safe for concurrent use; its consistency comes from the
// DirectoryStore, whose Resolve is atomic. Build it with NewDirectory.
type Directory struct {
	store DirectoryStore
	opts  Options
	// nonce and attrsSeq identify each SetAttrs call (see attrsEventID).
	nonce    string
	attrsSeq atomic.Uint64
}

// NewDirectory returns a Directory over store. A nil store means
// NewMemoryDirectoryStore(). It uses opts.Clock for creation times,
// opts.NewID for new customer IDs, opts.Publisher for customer.merged and
// customer.attrs_set events
// and opts.Logger for diagnostics (identities masked); a nil opts means the
// defaults.
func NewDirectory(store DirectoryStore, opts *Options) *Directory {
	if store == nil {
		store = NewMemoryDirectoryStore()
	}
	return &Directory{store: store, opts: opts.WithDefaults(), nonce: rand.Text()}
}

// Resolve returns the customer the identities belong to, creating or merging
// customers as needed; see ResolveDetail.
func (d *Directory) Resolve(ctx context.Context, tenant TenantID, ids ...Identity) (CustomerID, error) {
	r, err := d.ResolveDetail(ctx, tenant, ids...)
	return r.Customer, err
}

// ResolveDetail returns the customer the identities belong to, and what it
// took to find it. The identities are normalized first (NormalizeIdentity);
// at least one is required. Then:
//
//   - if none is known, a customer is created with all of them (its ID from
//     Options.NewID, its CreatedAt from Options.Clock);
//   - if they are known to one customer, the unknown ones are attached to it;
//   - if they are known to several, those are merged into the oldest
//     (CreatedAt, then ID): the others are marked MergedInto the survivor,
//     their identities move to it, and their attributes fill the ones the
//     survivor lacks.
//
// An identity belongs to at most one customer per tenant, so resolving an
// identity together with another customer's identity always means "these are
// the same person". A customer may hold several identities of one kind.
//
// Identities already known to one customer are resolved with read-only
// lookups; only a change goes through the store's atomic Resolve.
//
// Errors: bad input matches ErrInvalid and names the field
// ("Identities[1].Value: ..."), and nothing is written. For each absorbed
// customer one EventCustomerMerged event (see MergeEvent) is published
// through Options.Publisher after the store write. If publishing fails the
// merge stands: the Resolution is returned together with an error matching
// ErrUnavailable and the publisher's error; the host may publish
// MergeEvent(tenant, from, into, now) again, since events are idempotent by
// ID.
func (d *Directory) ResolveDetail(ctx context.Context, tenant TenantID, ids ...Identity) (Resolution, error) {
	const op = "scrm.Directory.Resolve"
	if err := CheckID(op, "Tenant", string(tenant)); err != nil {
		return Resolution{}, err
	}
	if len(ids) == 0 {
		return Resolution{}, Invalid(op, "Identities", "at least one identity required")
	}
	// Most calls carry one or two identities of a known customer: normalize
	// into a stack buffer and answer from lookups without allocating.
	var buf [4]Identity
	norm := buf[:0]
	for i, id := range ids {
		n, field, msg := normalize(id)
		if msg != "" {
			return Resolution{}, Invalid(op, fmt.Sprintf("Identities[%d].%s", i, field), "%s", msg)
		}
		if !slices.Contains(norm, n) {
			norm = append(norm, n)
		}
	}
	if id, ok, err := d.knownToOne(ctx, tenant, norm); err != nil {
		return Resolution{}, storeErr(op, err)
	} else if ok {
		return Resolution{Customer: id}, nil
	}

	newID := d.opts.NewID()
	if err := CheckID(op, "Options.NewID", newID); err != nil {
		return Resolution{}, err
	}
	now := d.opts.Clock.Now()
	params := ResolveParams{
		Tenant:     tenant,
		Identities: slices.Clone(norm),
		NewID:      CustomerID(newID),
		Now:        now,
	}
	res, err := d.store.Resolve(ctx, params)
	if err != nil {
		return Resolution{}, storeErr(op, err)
	}
	out := Resolution{Customer: res.Customer, Created: res.Created, Merged: res.Merged}
	log := d.opts.Logger
	if res.Created {
		log.LogAttrs(ctx, slog.LevelDebug, "customer created",
			slog.String("tenant", string(tenant)), slog.String("customer", string(res.Customer)),
			slog.Any("identities", identityList(params.Identities)))
	}
	var errs []error
	for _, from := range res.Merged {
		log.LogAttrs(ctx, slog.LevelInfo, "customers merged",
			slog.String("tenant", string(tenant)), slog.String("from", string(from)), slog.String("into", string(res.Customer)))
		if err := d.opts.Publisher.Publish(ctx, MergeEvent(tenant, from, res.Customer, now)); err != nil {
			errs = append(errs, fmt.Errorf("%s merged into %s: %w", from, res.Customer, err))
		}
	}
	if len(errs) > 0 {
		return out, &Error{Code: ErrUnavailable, Op: op,
			Msg: "merge stored but publishing customer.merged failed; publish MergeEvent again",
			Err: errors.Join(errs...)}
	}
	return out, nil
}

// knownToOne reports whether every identity is known to the same customer,
// using read-only lookups.
func (d *Directory) knownToOne(ctx context.Context, tenant TenantID, ids []Identity) (CustomerID, bool, error) {
	var owner CustomerID
	for i := range ids {
		id, err := d.store.Lookup(ctx, tenant, ids[i])
		switch {
		case errors.Is(err, ErrNotFound):
			return "", false, nil
		case err != nil:
			return "", false, err
		case i > 0 && id != owner:
			return "", false, nil
		}
		owner = id
	}
	return owner, true, nil
}

// MergeEvent returns the EventCustomerMerged event the Directory publishes
// when customer from is absorbed into customer into at time at. Its ID is
// deterministic, so publishing it again (after a failed Publish) has no
// further effect, and distinct for distinct pairs:
//
//   - "merge:<from>:<into>" when neither ID contains ':';
//   - "merge:<len(from)>:<from>:<into>" otherwise (host IDs like "wx:123"),
//     the length in bytes telling where from ends;
//   - when that would exceed MaxIDLength, "merge:" and a hash of the two
//     IDs; the hash is prefixed with "~" when either ID contains ':' or a
//     NUL byte (then the IDs are hashed length-prefixed).
//
// The forms never share an ID: the first has exactly two ':', the second at
// least three, the hashed ones one.
func MergeEvent(tenant TenantID, from, into CustomerID, at time.Time) Event {
	plain := !strings.Contains(string(from), ":") && !strings.Contains(string(into), ":")
	var id string
	if plain {
		id = "merge:" + string(from) + ":" + string(into)
	} else {
		id = "merge:" + strconv.Itoa(len(from)) + ":" + string(from) + ":" + string(into)
	}
	if len(id) > MaxIDLength {
		if plain && !strings.Contains(string(from), "\x00") && !strings.Contains(string(into), "\x00") {
			sum := sha256.Sum256([]byte(string(from) + "\x00" + string(into)))
			id = "merge:" + hex.EncodeToString(sum[:])
		} else {
			sum := sha256.Sum256([]byte(strconv.Itoa(len(from)) + ":" + string(from) + ":" + string(into)))
			id = "merge:~" + hex.EncodeToString(sum[:])
		}
	}
	return Event{
		ID:       id,
		Tenant:   tenant,
		Customer: into,
		Type:     EventCustomerMerged,
		Time:     at,
		Props:    map[string]any{"from": from, "into": into},
	}
}

// Get returns customer id. When id was absorbed by a merge, Get follows
// MergedInto and returns the live survivor (whose ID differs from id).
//
// Errors: ErrInvalid for a malformed tenant or id; ErrNotFound when the
// tenant has no such customer.
func (d *Directory) Get(ctx context.Context, tenant TenantID, id CustomerID) (Customer, error) {
	const op = "scrm.Directory.Get"
	if err := CheckID(op, "Tenant", string(tenant)); err != nil {
		return Customer{}, err
	}
	if err := CheckID(op, "ID", string(id)); err != nil {
		return Customer{}, err
	}
	for range maxFollowMerges {
		c, err := d.store.Get(ctx, tenant, id)
		if err != nil {
			return Customer{}, storeErr(op, err)
		}
		if c.MergedInto == "" {
			return c, nil
		}
		id = c.MergedInto
	}
	return Customer{}, Errorf(ErrUnavailable, op, "customer %s: more than %d merges to follow; the store holds a MergedInto cycle", id, maxFollowMerges)
}

// Lookup returns the customer owning the identity (normalized first),
// without creating anything.
//
// Errors: ErrInvalid naming the field ("Identity.Value") for a malformed
// identity; ErrNotFound when no customer of the tenant has it.
func (d *Directory) Lookup(ctx context.Context, tenant TenantID, id Identity) (CustomerID, error) {
	const op = "scrm.Directory.Lookup"
	if err := CheckID(op, "Tenant", string(tenant)); err != nil {
		return "", err
	}
	n, err := normalizeIdentity(op, "Identity", id)
	if err != nil {
		return "", err
	}
	c, err := d.store.Lookup(ctx, tenant, n)
	if err != nil {
		return "", storeErr(op, err)
	}
	return c, nil
}

// SetAttrs sets attributes on customer id, deleting those whose value is
// nil. When id was absorbed by a merge the survivor is updated. Attribute
// names must be non-empty and at most MaxIDLength bytes. Values are copied
// (maps and slices of the basic kinds deeply), so the caller may reuse attrs.
//
// After the store write it publishes a customer.attrs_set event, so that
// profiles, which rules read, carry the same attributes. Each call's event
// has an ID of its own, so a value set back and forth within one clock
// reading still reaches the profiles; a retried call publishes a new event,
// which sets the same attributes again.
//
// Errors: ErrInvalid naming the field (`Attrs[""]`, or `Attrs["avg"]` for a
// NaN or infinite float, or a json.Number that is not a valid JSON number
// ("NaN", "12,5"), anywhere in the value, including the exported fields of
// structs, which JSON cannot encode), with nothing written;
// ErrNotFound when the tenant has no such customer; ErrUnavailable when the
// attributes were stored but the event could not be published.
func (d *Directory) SetAttrs(ctx context.Context, tenant TenantID, id CustomerID, attrs map[string]any) error {
	const op = "scrm.Directory.SetAttrs"
	if err := CheckID(op, "Tenant", string(tenant)); err != nil {
		return err
	}
	if err := CheckID(op, "ID", string(id)); err != nil {
		return err
	}
	for _, k := range sortedKeys(attrs) {
		field := fmt.Sprintf("Attrs[%q]", k)
		if err := CheckID(op, field, k); err != nil {
			return err
		}
		if !finiteAttr(attrs[k], 0) {
			return Invalid(op, field, "NaN or infinite number, or a json.Number that is not a JSON number")
		}
	}
	if err := d.store.SetAttrs(ctx, SetAttrsParams{Tenant: tenant, Customer: id, Attrs: attrs}); err != nil {
		return storeErr(op, err)
	}
	// Profiles hold the attributes rules read; tell them.
	now := d.opts.Clock.Now()
	e := Event{ID: d.attrsEventID(id, now, attrs), Tenant: tenant, Customer: id, Type: EventAttrsSet,
		Time: now, Props: map[string]any{"attrs": maps.Clone(attrs)}}
	if err := d.opts.Publisher.Publish(ctx, e); err != nil {
		return &Error{Code: ErrUnavailable, Op: op, Msg: "attributes stored but publishing customer.attrs_set failed", Err: err}
	}
	return nil
}

// List returns a page of the tenant's live customers in ID order, for
// sweeps; pass the page's Next as p.Cursor to get the following one.
//
// Errors: ErrInvalid for a malformed tenant or cursor.
func (d *Directory) List(ctx context.Context, p ListCustomersParams) (CustomerPage, error) {
	const op = "scrm.Directory.List"
	if err := CheckID(op, "Tenant", string(p.Tenant)); err != nil {
		return CustomerPage{}, err
	}
	p.Limit = PageLimit(p.Limit, 100, 1000)
	page, err := d.store.List(ctx, p)
	if err != nil {
		return CustomerPage{}, storeErr(op, err)
	}
	return page, nil
}

// storeErr passes a store's *Error through and classifies any other error
// (see CodeOf).
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return Wrap(nil, op, err)
}

// attrsEventID returns the ID of the customer.attrs_set event of one
// SetAttrs call: a hash of the customer, the instant, the attributes, the
// Directory's random nonce and a sequence number the Directory increments on
// every call.
//
// The rule: every SetAttrs call publishes an event with an ID of its own.
// Content and instant alone do not identify a call: setting a value, another
// one and the first again within one clock reading (a batch import, a coarse
// clock) would give the third change the first one's ID, and Profiles would
// drop it as a replay, leaving the profile behind the Directory. SetAttrs
// takes no idempotency key and the DirectoryStore keeps no per-customer
// version, so the call is identified by the sequence, unique within the
// Directory, and the nonce (drawn once in NewDirectory, not from
// Options.NewID, whose sequence belongs to customer IDs), unique across
// Directories and processes. A retried call therefore publishes a new event;
// that is harmless, as applying the same attributes again leaves the profile
// as it was.
func (d *Directory) attrsEventID(id CustomerID, at time.Time, attrs map[string]any) string {
	// Every part is length-prefixed, so that no two calls hash the same
	// text whatever bytes the IDs and attribute names contain.
	h := sha256.New()
	part := func(s string) { fmt.Fprintf(h, "%d:%s", len(s), s) }
	part(string(id))
	part(strconv.FormatInt(at.UnixNano(), 10))
	part(d.nonce)
	part(strconv.FormatUint(d.attrsSeq.Add(1), 10))
	for _, k := range sortedKeys(attrs) {
		part(k)
		part(fmt.Sprintf("%#v", attrs[k]))
	}
	return "attrs:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// maxAttrDepth bounds how deep finiteAttr looks into pointers, lists and
// maps, so that a value that contains itself ends the walk.
const maxAttrDepth = 32

// finiteAttr reports whether v holds no NaN or infinite float and no
// json.Number that is not a valid JSON number: as a value of any float
// kind or a json.Number, or behind pointers and inside slices, arrays, maps
// and the exported (or embedded) fields of structs (as deep as
// maxAttrDepth), all of which JSON encodes.
func finiteAttr(v any, depth int) bool {
	switch x := v.(type) {
	case nil, string, bool, int, int64, []string:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case json.Number:
		return validJSONNumber(string(x))
	}
	return finiteValue(reflect.ValueOf(v), depth)
}

func finiteValue(rv reflect.Value, depth int) bool {
	switch rv.Kind() {
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		return !math.IsNaN(f) && !math.IsInf(f, 0)
	case reflect.String:
		if rv.Type() == jsonNumberType {
			return validJSONNumber(rv.String())
		}
	case reflect.Pointer, reflect.Interface:
		if !rv.IsNil() && depth < maxAttrDepth {
			return finiteValue(rv.Elem(), depth+1)
		}
	case reflect.Struct:
		if depth < maxAttrDepth {
			t := rv.Type()
			for i := range t.NumField() {
				if f := t.Field(i); (f.IsExported() || f.Anonymous) && mayHoldFloat(f.Type) &&
					!finiteValue(rv.Field(i), depth+1) {
					return false
				}
			}
		}
	case reflect.Slice, reflect.Array:
		if depth < maxAttrDepth && mayHoldFloat(rv.Type().Elem()) {
			for i := range rv.Len() {
				if !finiteValue(rv.Index(i), depth+1) {
					return false
				}
			}
		}
	case reflect.Map:
		if depth < maxAttrDepth && mayHoldFloat(rv.Type().Elem()) {
			for it := rv.MapRange(); it.Next(); {
				if !finiteValue(it.Value(), depth+1) {
					return false
				}
			}
		}
	}
	return true
}

// mayHoldFloat reports whether a value of type t can be or hold a float or
// a json.Number finiteValue looks at.
func mayHoldFloat(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Pointer, reflect.Interface,
		reflect.Slice, reflect.Array, reflect.Map, reflect.Struct:
		return true
	}
	return t == jsonNumberType
}

var jsonNumberType = reflect.TypeFor[json.Number]()

// validJSONNumber reports whether s is a number as JSON writes it (what
// encoding/json requires of a json.Number it encodes, except that it
// writes "" as 0).
func validJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = s[1:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[2:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	return s == ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
