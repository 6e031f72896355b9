package scrm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Handler reacts to an event. Handlers must be idempotent: the same event
// (same ID) may be delivered again after a failure.
type Handler interface {
	Handle(ctx context.Context, e Event) error
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(ctx context.Context, e Event) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, e Event) error { return f(ctx, e) }

// Publisher accepts events. Services emit their domain events through the
// Publisher in their Options.
type Publisher interface {
	Publish(ctx context.Context, e Event) error
}

// PublisherFunc adapts a function to the Publisher interface.
type PublisherFunc func(ctx context.Context, e Event) error

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, e Event) error { return f(ctx, e) }

// DefaultMaxDepth is the cascade depth a Dispatcher allows unless told
// otherwise: an event published by a handler of an event published by a
// handler ... at most this many levels below the event the host published.
const DefaultMaxDepth = 8

// Dispatcher delivers each published event to its handlers, in the order they
// were given. Events published while a handler runs (through the ctx the
// Dispatcher passed it) are queued and delivered after the current event has
// reached every handler: breadth-first, so a handler never sees an effect
// before its cause. The ctx a handler receives carries the event it is
// delivered, so an event published with it is one level below that event,
// even from a goroutine of the handler while the cascade delivers other
// events. A cascade deeper than MaxDepth is cut off with an error matching
// ErrExhausted that lists the chain of event types, which is almost always
// two rules triggering each other.
//
// A failing handler does not stop delivery: every handler still receives
// every queued event, and Publish returns all the failures joined. Because
// handlers are idempotent, the host can simply publish the event again.
//
// A Dispatcher is safe for concurrent use; concurrent Publish calls from
// unrelated goroutines are independent cascades. It implements Publisher.
type Dispatcher struct {
	handlers []Handler
	// MaxDepth bounds the cascade depth; zero means DefaultMaxDepth.
	MaxDepth int
}

// NewDispatcher returns a Dispatcher delivering to handlers in order. The
// first is usually a *Profiles, so that every later handler reads a profile
// that already includes the event.
func NewDispatcher(handlers ...Handler) *Dispatcher {
	return &Dispatcher{handlers: append([]Handler(nil), handlers...)}
}

type cascadeKey struct{}

// cascade is the queue of one top-level Publish call.
type cascade struct {
	d     *Dispatcher
	mu    sync.Mutex // handlers may publish from goroutines of their own
	errs  []error    // cascade-depth errors, reported even if the handler drops them
	queue []queued
	// done is set, under mu, when the delivery loop has ended; a Publish
	// into a done cascade delivers its event itself instead of queueing it.
	done bool
}

type queued struct {
	e     Event
	depth int
	chain []string
}

// handlerCtx is the ctx a handler receives: its cascade and the event it is
// delivered (depth and chain), from which an event published with it,
// however late and from whichever goroutine, takes its own depth and chain.
type handlerCtx struct {
	context.Context
	c *cascade
	q queued
}

// Value returns the handlerCtx itself for cascadeKey.
func (h *handlerCtx) Value(key any) any {
	if key == (cascadeKey{}) {
		return h
	}
	return h.Context.Value(key)
}

// Publish validates e and delivers it, and everything it causes, to the
// handlers. Called from inside a handler with the ctx that handler received,
// it queues e behind the current event and returns nil at once; the result of
// delivering it is reported by the outer Publish. Called with such a ctx
// after the outer Publish has finished delivering (from a goroutine or a
// callback of the handler that outlives it), it delivers e itself, like a
// top-level Publish, and returns the result: every event is delivered
// exactly once, whichever of the two ends the cascade. Either way e is one
// level below the event whose handler received ctx, whatever event the
// cascade is delivering (or delivered last) when e is published, and
// MaxDepth counts from there.
func (d *Dispatcher) Publish(ctx context.Context, e Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if hc, ok := ctx.Value(cascadeKey{}).(*handlerCtx); ok && hc.c.d == d {
		c := hc.c
		max := d.MaxDepth
		if max <= 0 {
			max = DefaultMaxDepth
		}
		chain := append(append([]string(nil), hc.q.chain...), e.Type)
		q := queued{e: e, depth: hc.q.depth + 1, chain: chain}
		c.mu.Lock()
		if q.depth > max {
			err := &Error{Code: ErrExhausted, Op: "scrm.Dispatcher",
				Msg: fmt.Sprintf("event cascade deeper than %d (%s); do two rules trigger each other?", max, strings.Join(chain, " → "))}
			if !c.done {
				c.errs = append(c.errs, err)
			}
			c.mu.Unlock()
			return err
		}
		if !c.done {
			c.queue = append(c.queue, q)
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		// The cascade's loop has ended and nobody else will deliver e.
		return d.deliver(ctx, q)
	}
	return d.deliver(ctx, queued{e: e, chain: []string{e.Type}})
}

// deliver runs a cascade rooted at q until its queue is empty and returns
// every failure, joined.
func (d *Dispatcher) deliver(ctx context.Context, root queued) error {
	c := &cascade{d: d, queue: []queued{root}}
	var errs []error
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.done = true // under the lock that Publish enqueues with
			errs = append(errs, c.errs...)
			c.mu.Unlock()
			break
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, &Error{Code: ErrUnavailable, Op: "scrm.Dispatcher", Msg: fmt.Sprintf("%d queued events not delivered", len(c.queue)), Err: err})
			c.done = true
			errs = append(errs, c.errs...)
			c.mu.Unlock()
			break
		}
		q := c.queue[0]
		c.queue = c.queue[1:]
		c.mu.Unlock()
		hctx := &handlerCtx{Context: ctx, c: c, q: q}
		for i, h := range d.handlers {
			if err := h.Handle(hctx, q.e); err != nil {
				if err = dropCascadeErrs(c, err); err != nil {
					errs = append(errs, fmt.Errorf("handler %d on %s: %w", i, q.e, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// dropCascadeErrs removes from a handler's error the depth errors c already
// recorded, so each is reported once, while keeping every other failure the
// handler joined with them (a handler that both failed a write and had its
// own Publish cut off must not lose the write failure).
//
// The rule: err's tree is walked through Unwrap() error and Unwrap() []error.
// A node identical to a recorded depth error is dropped with everything it
// wraps; a node that unwraps to nothing is a leaf and is kept. If nothing was
// dropped, err is returned unchanged; if everything was, nil; otherwise the
// kept leaves, joined (the wrappers around them are not rebuilt, as an
// arbitrary wrapper cannot be).
func dropCascadeErrs(c *cascade, err error) error {
	c.mu.Lock()
	recorded := append([]error(nil), c.errs...)
	c.mu.Unlock()
	if len(recorded) == 0 {
		return err
	}
	var kept []error
	dropped := false
	var walk func(e error)
	walk = func(e error) {
		if e == nil {
			return
		}
		for _, ce := range recorded {
			if e == ce { // recorded errors are *Error, so == never panics
				dropped = true
				return
			}
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			if inners := u.Unwrap(); len(inners) > 0 {
				for _, inner := range inners {
					walk(inner)
				}
				return
			}
		case interface{ Unwrap() error }:
			if inner := u.Unwrap(); inner != nil {
				walk(inner)
				return
			}
		}
		kept = append(kept, e)
	}
	walk(err)
	if !dropped {
		return err
	}
	return errors.Join(kept...)
}
