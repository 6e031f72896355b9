package scrm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The sentinel errors every scrmkit package returns, wrapped in an *Error.
// Test for them with errors.Is; never compare error strings.
var (
	// ErrInvalid reports bad input. Nothing was written.
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound reports that the requested entity does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports a version mismatch, an idempotency key reused with
	// a different payload, or a relation that already exists (already bound).
	ErrConflict = errors.New("conflict")
	// ErrExhausted reports that a stock, budget, limit or balance ran out.
	ErrExhausted = errors.New("exhausted")
	// ErrForbidden reports that audience, eligibility or tenant rules say no.
	ErrForbidden = errors.New("forbidden")
	// ErrExpired reports an action outside a validity window.
	ErrExpired = errors.New("expired")
	// ErrUnavailable reports that a dependency (store, channel) failed; the
	// call is safe to retry.
	ErrUnavailable = errors.New("unavailable")
)

// Error is the error type of every scrmkit package. errors.Is matches both
// its Code (one of the sentinels) and its underlying cause.
//
// Its message reads "Op: Field: Msg: Err", leaving out empty parts, e.g.
// `coupon template "t1": Value: percent discount must be in (0, 1), got 1.5`.
type Error struct {
	Code  error  // one of the sentinels above
	Op    string // the operation or entity, e.g. "coupon.Claim"
	Field string // for ErrInvalid: which input field, e.g. "Items[2].Price"
	Msg   string // what went wrong, for a person
	Err   error  // underlying cause, may be nil
}

// Error implements the error interface.
func (e *Error) Error() string {
	var b strings.Builder
	add := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(s)
	}
	add(e.Op)
	add(e.Field)
	add(e.Msg)
	if e.Err != nil {
		add(e.Err.Error())
	}
	if e.Msg == "" && e.Err == nil && e.Code != nil {
		add(e.Code.Error())
	}
	return b.String()
}

// Is reports whether target is e's sentinel Code, so that
// errors.Is(err, scrm.ErrInvalid) holds without unwrapping (and without
// allocating: scrmkit checks error codes on hot paths).
func (e *Error) Is(target error) bool {
	return e.Code != nil && e.Code == target
}

// Unwrap returns the underlying cause, so that errors.Is(err, cause) and
// errors.As see through an *Error.
func (e *Error) Unwrap() error {
	return e.Err
}

// Invalid returns an *Error with Code ErrInvalid naming the offending field.
func Invalid(op, field, format string, args ...any) error {
	return &Error{Code: ErrInvalid, Op: op, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Errorf returns an *Error with the given sentinel code.
func Errorf(code error, op, format string, args ...any) error {
	return &Error{Code: code, Op: op, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given sentinel code around err. When err is
// nil it returns nil. When err already matches one of the sentinels and code
// is nil, the existing classification is kept.
func Wrap(code error, op string, err error) error {
	if err == nil {
		return nil
	}
	if code == nil {
		code = CodeOf(err)
	}
	return &Error{Code: code, Op: op, Err: err}
}

// CodeOf returns the sentinel err is classified as: the Code of the
// outermost *Error in its chain that has one (so that scrm.Join's verdict,
// ErrUnavailable around a permanent cause, survives a Wrap), else the first
// sentinel it matches (ErrInvalid, ErrNotFound, ...), or ErrUnavailable
// when it matches none: an unclassified failure of a dependency is treated
// as retryable.
func CodeOf(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if se, ok := e.(*Error); ok && se.Code != nil {
			return se.Code
		}
	}
	for _, s := range [...]error{ErrInvalid, ErrNotFound, ErrConflict, ErrExhausted, ErrForbidden, ErrExpired, ErrUnavailable} {
		if errors.Is(err, s) {
			return s
		}
	}
	return ErrUnavailable
}

// Join returns nil when errs holds no error, and otherwise one *Error
// under op that wraps them all (errors.Is and errors.As see each of them).
//
// Its Code tells a caller whether trying again can help: ErrUnavailable
// when any of the errors is retryable (it matches ErrUnavailable, also
// around a permanent cause, or no sentinel at all, as a network failure or a cancelled context does), and
// otherwise the code of the first, say ErrExhausted for a reward whose
// coupon template ran out. So a host that retries on ErrUnavailable
// retries what can still succeed, and does not retry for ever what cannot.
// Services use it for the steps that follow a commit (publishing events,
// granting rewards), which a retry with the same key repeats.
func Join(op string, errs ...error) error {
	var kept []error
	var code error
	for _, err := range errs {
		if err == nil {
			continue
		}
		kept = append(kept, err)
		c := CodeOf(err)
		if errors.Is(err, ErrUnavailable) {
			c = ErrUnavailable // also when it wraps a permanent cause
		}
		if code == nil || c == ErrUnavailable {
			code = c
		}
	}
	switch len(kept) {
	case 0:
		return nil
	case 1:
		return &Error{Code: code, Op: op, Err: kept[0]}
	}
	return &Error{Code: code, Op: op, Msg: strconv.Itoa(len(kept)) + " steps failed", Err: errors.Join(kept...)}
}
