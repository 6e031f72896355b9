package scrm

import (
	"context"
	"crypto/rand"
	"log/slog"
	"time"
)

// Options holds the collaborators every service can run without. A nil
// *Options, and every zero field, means the default documented on the field.
// Each domain package's Options embeds this struct and adds its own fields.
type Options struct {
	// Clock tells the time; default SystemClock().
	Clock Clock
	// Publisher receives the domain events a service emits; default: events
	// are dropped. A *Dispatcher is the usual choice.
	Publisher Publisher
	// Logger receives diagnostics, with phone numbers and names masked;
	// default: discarded.
	Logger *slog.Logger
	// Location is the tenant's time zone for calendar logic (member days,
	// month ends, quiet hours, "day 3 at 10:00"); default DefaultLocation(),
	// Asia/Shanghai.
	Location *time.Location
	// TenantLocation, when set, gives each tenant its own time zone; a nil
	// result falls back to Location. Use LocationOf rather than reading
	// Location directly. Services call it whenever they judge a time for
	// the tenant, and rebuild what they compiled in the old zone (member
	// programs, sop playbooks, policies and calendars, coupon terms,
	// tagging rules, segment conditions) when its answer changes: a
	// merchant who moves the zone setting is served in the new zone from
	// the next call, no restart needed (metrics.Collector reads it once,
	// when built). Return the same *time.Location for the same zone (load
	// each zone once, not on every call): the caches compare zones by
	// pointer, and a new pointer makes them rebuild on every call. It is
	// called concurrently and must be safe for that.
	TenantLocation func(TenantID) *time.Location
	// NewID returns a new unique identifier (customers, records); default a
	// random 128-bit identifier of 26 base32 characters.
	NewID func() string
}

// WithDefaults returns a copy of o with every unset field filled in. It is
// safe to call on a nil *Options.
func (o *Options) WithDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Clock == nil {
		out.Clock = SystemClock()
	}
	if out.Publisher == nil {
		out.Publisher = PublisherFunc(func(context.Context, Event) error { return nil })
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	if out.Location == nil {
		out.Location = DefaultLocation()
	}
	if out.NewID == nil {
		out.NewID = rand.Text
	}
	return out
}

// LocationOf returns the time zone of a tenant: TenantLocation's answer when
// it has one, else Location, else DefaultLocation().
func (o *Options) LocationOf(t TenantID) *time.Location {
	if o == nil {
		return DefaultLocation()
	}
	if o.TenantLocation != nil {
		if loc := o.TenantLocation(t); loc != nil {
			return loc
		}
	}
	if o.Location != nil {
		return o.Location
	}
	return DefaultLocation()
}
