package bakery

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/tagging"
)

// tick is how often the simulated scheduler runs due touches when nobody
// does anything: the resolution of message times.
const tick = 5 * time.Minute

// actKind is something a person (or the host) does at a simulated instant.
type actKind uint8

const (
	actArrive actKind = iota // a person arrives (store QR, staff code or a friend's invite)
	actSecond                // a person arrives again under a second identity
	actLink                  // ...and logs in to the mini-program: the two identities link
	actBuy                   // a person buys (arg: buyKind)
	actJoin                  // a person joins the store group
	actLeave                 // a person leaves it
	actReply                 // a person replies to a message (arg: 1 = refuses marketing)
	actPlan                  // 00:05: each person decides whether to buy today
	actNight                 // 02:00: the host's nightly sweeps
)

// buyKind says what made a person buy.
type buyKind uint8

const (
	buyRoutine   buyKind = iota // an ordinary visit
	buyFirst                    // right after adding the store on WeCom, at the till
	buyClearance                // after the 21:30 晚间清货 post in the group
	buyNudged                   // after a reminder or a wake-up coupon
)

// String names the kind in order Props and stories.
func (k buyKind) String() string {
	return [...]string{"routine", "first", "clearance", "nudged"}[k]
}

// action is one thing to do at a simulated instant: kind, by whom (an
// index into sim.people; -1 for the host) and an argument.
type action struct {
	at   time.Time
	seq  int64
	kind actKind
	who  int
	arg  int
}

// actions is a min-heap of actions by time, then by the order they were
// scheduled, so that the run is deterministic.
type actions []action

func (a actions) Len() int { return len(a) }
func (a actions) Less(i, j int) bool {
	if !a[i].at.Equal(a[j].at) {
		return a[i].at.Before(a[j].at)
	}
	return a[i].seq < a[j].seq
}
func (a actions) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *actions) Push(x any)   { *a = append(*a, x.(action)) }
func (a *actions) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}

// sim is one run: the world, the people and the queue of what they will do.
type sim struct {
	cfg    Config
	w      *world
	rng    *rand.Rand
	shops  []shop
	menu   []product
	people []*person
	byID   map[scrm.CustomerID]*person
	queue  actions
	seq    int64
	end    time.Time
	next   time.Time // the next scheduler tick

	events []scrm.Event  // every event delivered, in delivery order
	sends  []SentMessage // every message sent, in order
	// eventSeq and sendSeq number events and sends in one sequence, so
	// that a story can tell which of two things at the same minute came
	// first.
	eventSeq, sendSeq []int
	orders            int
	// pending are the people by arrival time, those who arrived already
	// being dropped from the end lazily; an invitation brings the last of
	// those still to come in early.
	pending []int
	// bindErrors counts refused referral bindings by reason.
	bindErrors map[string]int
}

// run simulates the whole period.
func (s *sim) run() error {
	start := s.cfg.Start
	s.end = start.AddDate(0, 0, s.cfg.Days)
	s.next = start
	for d := range s.cfg.Days {
		day := start.AddDate(0, 0, d)
		s.push(day.Add(5*time.Minute), actPlan, -1, 0)
		s.push(day.Add(2*time.Hour), actNight, -1, 0)
	}
	for _, p := range s.people {
		s.push(p.arrival, actArrive, p.idx, 0)
	}
	for s.queue.Len() > 0 && s.queue[0].at.Before(s.end) {
		a := heap.Pop(&s.queue).(action)
		if err := s.advance(a.at); err != nil {
			return err
		}
		if err := s.do(a); err != nil {
			return fmt.Errorf("%s at %s: %w", s.describe(a), a.at.Format("2006-01-02 15:04"), err)
		}
	}
	return s.advance(s.end)
}

// push schedules an action; one in the past happens now.
func (s *sim) push(at time.Time, kind actKind, who, arg int) {
	if now := s.w.clock.Now(); at.Before(now) {
		at = now
	}
	s.seq++
	heap.Push(&s.queue, action{at: at, seq: s.seq, kind: kind, who: who, arg: arg})
}

// advance moves the clock to t, running the scheduler at every tick on the
// way and at t itself, so that touches go out when they are due.
func (s *sim) advance(t time.Time) error {
	for !s.next.After(t) {
		s.w.clock.Set(s.next)
		if err := s.w.runDue(); err != nil {
			return err
		}
		s.next = s.next.Add(tick)
	}
	s.w.clock.Set(t)
	return s.w.runDue()
}

// do performs one action.
func (s *sim) do(a action) error {
	switch a.kind {
	case actPlan:
		if err := scrm.CheckContext(s.w.ctx, "bakery.Run"); err != nil {
			return err
		}
		s.plan(a.at)
		return nil
	case actNight:
		return s.night()
	}
	p := s.people[a.who]
	switch a.kind {
	case actArrive:
		return s.arrive(p, a.at)
	case actSecond:
		return s.arriveAgain(p, a.at)
	case actLink:
		return s.link(p)
	case actBuy:
		return s.buy(p, buyKind(a.arg), a.at)
	case actJoin:
		if p.inGroup {
			return nil
		}
		p.inGroup = true
		return s.w.publish(p.id, scrm.EventGroupJoined, a.at, map[string]any{"group": s.shops[p.shop].Group})
	case actLeave:
		if !p.inGroup {
			return nil
		}
		p.inGroup = false
		return s.w.publish(p.id, scrm.EventGroupLeft, a.at, map[string]any{"group": s.shops[p.shop].Group})
	case actReply:
		text := "好的，谢谢"
		if a.arg == 1 {
			text = "不需要，别发了"
		}
		return s.w.publish(p.id, scrm.EventMessageReplied, a.at, map[string]any{"text": text})
	}
	return fmt.Errorf("unknown action %d", a.kind)
}

// describe names an action for error messages.
func (s *sim) describe(a action) string {
	if a.who < 0 {
		return fmt.Sprintf("action %d", a.kind)
	}
	return fmt.Sprintf("action %d of person %d (%s)", a.kind, a.who, s.people[a.who].id)
}

// night is the host's nightly housekeeping: expire coupons and points,
// re-evaluate time-based tags, refresh the dormant segment (which enrolls
// the newly dormant in the weekend wake-up).
func (s *sim) night() error {
	ctx, w := s.w.ctx, s.w
	if _, err := w.coupons.Sweep(ctx, Tenant); err != nil {
		return err
	}
	if _, err := w.members.Sweep(ctx, Tenant); err != nil {
		return err
	}
	if _, err := w.tags.Sweep(ctx, Tenant, tagging.SweepOptions{}); err != nil {
		return err
	}
	_, err := w.segments.Refresh(ctx, Tenant, segDormant)
	return err
}
