package member

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// engine applies one request to one locked account. Every request first
// brings the account up to now (advance: expire lots past their expiry,
// close ended tier periods), so that no request ever spends an expired point
// or sees a stale tier, whether or not Sweep has run; then it makes its
// change; then finish expires anything the change credited to an already
// past expiry and recomputes when the account is next due.
type engine struct {
	c   *compiled
	now time.Time
	env rule.Env
	tx  *LedgerTx
	a   *AccountState
	key string
	// step is the request's own change, run between advance and finish.
	step func(e *engine) error
	// earn holds the arguments of an Earn step, grant those of a Grant
	// step: passed here rather than captured by a closure, they cost no
	// allocation.
	earn  earnArgs
	grant grantArgs
	// xop is the exchange whose charge the engine runs.
	xop *exchangeOp
	// room, when set, holds the first entry instead of a new entryBlock:
	// the caller's, for a request whose entries it drops after the
	// update's effects (a Grant).
	room *entryBlock
}

// grantArgs are the arguments of grantStep.
type grantArgs struct {
	kind   scrm.RewardKind
	points int64
	source string
}

// entryBlock is the storage of a request's first journal entry and its
// first lot move, allocated together: most requests write one entry that
// moves one lot.
type entryBlock struct {
	ent  [1]Entry
	lots [1]LotMove
}

// earnArgs are the arguments of engine.earnOrder.
type earnArgs struct {
	orderID string
	amount  decimal.Decimal
	fen     int64 // amount in fen
	items   []scrm.OrderItem
	at      time.Time
}

// run is the function Service.update hands to Store.Update.
func (e *engine) run(tx *LedgerTx) error {
	e.tx, e.a = tx, tx.Account
	if tx.Account.Version == 0 && tx.Account.CreatedAt.IsZero() {
		tx.Account.CreatedAt = e.now
	}
	e.advance()
	if err := e.step(e); err != nil {
		return err
	}
	e.finish()
	return nil
}

// entry appends a new journal entry to the outcome and returns it. The
// pointer is valid only until the next call of entry (which may move the
// entries): fill an entry in before starting the next one.
func (e *engine) entry(kind EntryKind) *Entry {
	e.a.Seq++
	ent := Entry{Seq: e.a.Seq, Kind: kind, At: e.now, Key: e.key, Program: e.c.p.Version}
	if e.tx.Outcome.Entries == nil {
		b := e.room
		if b == nil {
			b = new(entryBlock)
		} else {
			*b = entryBlock{}
		}
		ent.Lots = b.lots[:0:1] // set back to nil by finish if unused
		b.ent[0] = ent
		e.tx.Outcome.Entries = b.ent[:1:1]
	} else {
		e.tx.Outcome.Entries = append(e.tx.Outcome.Entries, ent)
	}
	return &e.tx.Outcome.Entries[len(e.tx.Outcome.Entries)-1]
}

func (e *engine) advance() {
	e.expire()
	e.advanceTier()
}

func (e *engine) expire() int64 {
	return expireDue(e.a, func() *Entry { return e.entry(EntryExpire) }, e.now.UnixNano())
}

func (e *engine) finish() {
	e.expire()
	if es := e.tx.Outcome.Entries; len(es) > 0 && len(es[0].Lots) == 0 {
		es[0].Lots = nil // entry's preallocated room, unused
	}
	e.setTierDue()
	e.a.UpdatedAt = e.now
	e.tx.Outcome.After = e.a.balance()
}

// simulate brings a copy of an account up to now without saving anything,
// for reads (Account, Quote, Expiring).
func simulate(c *compiled, env rule.Env, a *AccountState, now time.Time) *AccountState {
	cp := a.Clone()
	e := &engine{c: c, now: now, env: env, tx: &LedgerTx{Account: cp}, a: cp}
	e.advance()
	e.finish()
	return cp
}
