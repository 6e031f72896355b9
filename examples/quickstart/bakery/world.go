package bakery

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/coupon"
	"github.com/scrmkit/scrmkit/member"
	"github.com/scrmkit/scrmkit/referral"
	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/scrmtest"
	"github.com/scrmkit/scrmkit/segment"
	"github.com/scrmkit/scrmkit/sop"
	"github.com/scrmkit/scrmkit/tagging"
)

// world is the host application: every service on in-memory stores, wired
// into one Dispatcher, driven by a simulated clock.
type world struct {
	ctx   context.Context
	loc   *time.Location
	clock *scrmtest.Clock

	bus       *scrm.Dispatcher
	dir       *scrm.Directory
	profiles  *scrm.Profiles
	tags      *tagging.Service
	segments  *segment.Service
	members   *member.Service
	coupons   *coupon.Service
	referrals *referral.Service
	touches   *sop.Service
	recorder  *scrmtest.Recorder

	customerIDs int
	couponIDs   int
	otherIDs    int
	eventIDs    int

	// sim receives what the services do that the people react to (messages,
	// coupons, merges); it is the simulation that owns this world.
	sim *sim
}

// newWorld builds the services. The Dispatcher runs Profiles first, so
// every other handler reads a profile that already includes the event;
// the log comes last, so it sees events in delivery order.
func newWorld(ctx context.Context, s *sim, start time.Time) *world {
	w := &world{ctx: ctx, loc: start.Location(), clock: scrmtest.NewClock(start), recorder: scrmtest.NewRecorder(), sim: s}
	w.recorder.WithClock(w.clock)
	ps := scrm.NewMemoryProfileStore()
	publisher := scrm.PublisherFunc(func(ctx context.Context, e scrm.Event) error { return w.bus.Publish(ctx, e) })
	// Deterministic IDs, so that the same seed prints the same story.
	kernel := scrm.Options{Clock: w.clock, Publisher: publisher, Location: w.loc,
		NewID: func() string { w.otherIDs++; return fmt.Sprintf("X%07d", w.otherIDs) }}
	couponOpts := kernel
	couponOpts.NewID = func() string { w.couponIDs++; return fmt.Sprintf("CP%06d", w.couponIDs) }
	// The Directory asks for an ID whenever it might create a customer;
	// resolve counts the ones it did create, so customer IDs have no gaps.
	dirOpts := kernel
	dirOpts.NewID = func() string { return fmt.Sprintf("C%05d", w.customerIDs+1) }

	router := scrm.NewRewardRouter()
	w.profiles = scrm.NewProfiles(ps, &kernel)
	w.dir = scrm.NewDirectory(scrm.NewMemoryDirectoryStore(), &dirOpts)
	w.tags = tagging.New(tagging.NewMemoryStore(), ps, &tagging.Options{Options: kernel})
	w.segments = segment.New(segment.NewMemoryStore(), ps, &segment.Options{Options: kernel})
	w.members = member.New(member.NewMemoryStore(), ps, &member.Options{Options: kernel, Rewarder: router})
	w.coupons = coupon.New(coupon.NewMemoryStore(), ps, &coupon.Options{Options: couponOpts})
	w.referrals = referral.New(referral.NewMemoryStore(), ps, &referral.Options{Options: kernel, Rewarder: router,
		CodeSecret: func(scrm.TenantID) []byte { return []byte("maixiang bakery demo secret, 32B") }})
	w.touches = sop.New(sop.NewMemoryStore(), ps, &sop.Options{Options: kernel, Rewarder: router,
		Channel: scrm.ChannelFunc(w.send)})
	router.Route(scrm.RewardPoints, w.members)
	router.Route(scrm.RewardGrowth, w.members)
	router.Route(scrm.RewardCoupon, w.coupons)
	w.bus = scrm.NewDispatcher(w.profiles, w.tags, w.segments, w.members, w.referrals, w.touches,
		scrm.HandlerFunc(w.observe))
	return w
}

// send is the channel every touch goes through: it records the message in
// the Recorder, with the simulated time it went out, and lets the people
// react to it.
func (w *world) send(ctx context.Context, m scrm.Message) (scrm.Receipt, error) {
	r, err := w.recorder.Send(ctx, m)
	if err != nil {
		return r, err
	}
	w.sim.sent(m, w.clock.Now())
	return r, nil
}

// observe is the last handler: it logs every event for the KPIs and the
// timeline, and does the host's part of a merge.
func (w *world) observe(ctx context.Context, e scrm.Event) error {
	if e.Type == scrm.EventCustomerMerged {
		// The absorbed customer's touches must not go out: the person was
		// welcomed already under the survivor's ID, and sop follows no
		// merges (enrollments belong to the customer ID they were made for).
		pbs, err := w.touches.Playbooks(ctx, e.Tenant)
		if err != nil {
			return err
		}
		for _, pb := range pbs {
			if _, err := w.touches.Exit(ctx, sop.ExitRequest{Tenant: e.Tenant, Playbook: pb.ID,
				Customer: scrm.CustomerID(e.Prop("from")), Reason: "merged into " + e.Prop("into")}); err != nil {
				return err
			}
		}
	}
	w.sim.observed(e)
	return nil
}

// publish feeds one event of the host into the bus, with the next event ID.
func (w *world) publish(c scrm.CustomerID, typ string, at time.Time, props map[string]any) error {
	return w.publishAmount(c, typ, at, decimal.Decimal{}, props)
}

// publishAmount is publish for a monetary event.
func (w *world) publishAmount(c scrm.CustomerID, typ string, at time.Time, amount decimal.Decimal, props map[string]any) error {
	w.eventIDs++
	e := scrm.Event{ID: fmt.Sprintf("ev%07d", w.eventIDs), Tenant: Tenant, Customer: c, Type: typ, Time: at,
		Amount: amount, Props: props}
	return w.bus.Publish(w.ctx, e)
}

// resolve returns the customer the identities belong to (see
// scrm.Directory.ResolveDetail).
func (w *world) resolve(ids ...scrm.Identity) (scrm.Resolution, error) {
	res, err := w.dir.ResolveDetail(w.ctx, Tenant, ids...)
	if res.Created {
		w.customerIDs++
	}
	return res, err
}

// runDue delivers every touch that is due at the clock's time.
func (w *world) runDue() error {
	for {
		r, err := w.touches.RunDue(w.ctx, sop.RunRequest{Worker: "bakery"})
		if err != nil {
			return err
		}
		if r.Claimed == 0 {
			return nil
		}
	}
}
