package member

import (
	"encoding/binary"
	"time"

	"github.com/shopspring/decimal"
)

// An account's order records are kept as bytes in its journal, between
// the entries (see journal.addRecord): the order ID first, so that the
// index can tell orders apart without decoding the rest, then the fields
// the record sets. A record is a few dozen bytes without pointers instead
// of an OrderRecord of two hundred that the garbage collector would have to
// visit, for every order of every customer, and it is written where the
// update's entries are written next, so that both touch one place in
// memory. Changing a record appends its new encoding; the old one is left
// behind (orders change a few times at most).

// The bits of an encoded order's flags: which fields follow.
const (
	oEarned = 1 << iota
	oPoints
	oGrowth
	oLot
	oMonth
	oHeld
	oSpent
	oPointsClawed
	oGrowthClawed
	oReturned
	oSpentLots  // SpentLots is not nil (it may be empty)
	oSpentValue // SpentValue is not the zero Decimal
	oSpentAt    // SpentAt is not the zero time
)

// findOrder returns where the record of the order orderID, whose hash's
// tag is tag, is, or -1; called with a.mu held.
func (a *memAccount) findOrder(tag uint32, orderID string) int32 {
	return a.orders.Find(tag, func(pos int32) bool { return string(a.orderID(pos)) == orderID })
}

// orderID returns the ID of the order recorded at pos, as the bytes of its
// record.
func (a *memAccount) orderID(pos int32) []byte {
	r := a.journal.record(pos)
	n := int(r.uvarint())
	return r.b[r.i : r.i+n]
}

// putOrder records o in the journal and returns where; called with a.mu
// held.
func (a *memAccount) putOrder(o *OrderRecord) int32 {
	var buf [160]byte
	return a.journal.addRecord(a.encodeOrder(buf[:0], o))
}

func (a *memAccount) encodeOrder(b []byte, o *OrderRecord) []byte {
	b = appendString(b, o.OrderID)
	ints := [...]int64{o.Points, o.Growth, o.Lot, int64(o.Month), o.Held, o.Spent, o.PointsClawed, o.GrowthClawed, o.Returned}
	var f uint64
	if o.Earned {
		f |= oEarned
	}
	for i, v := range ints {
		if v != 0 {
			f |= oPoints << i
		}
	}
	if o.SpentLots != nil {
		f |= oSpentLots
	}
	if o.SpentValue != (decimal.Decimal{}) {
		f |= oSpentValue
	}
	if !o.SpentAt.IsZero() {
		f |= oSpentAt
	}
	b = binary.AppendUvarint(b, f)
	for i, v := range ints {
		if f&(oPoints<<i) != 0 {
			b = binary.AppendVarint(b, v)
		}
	}
	b = appendDecimal(b, o.Paid)
	b = appendDecimal(b, o.OrderAmount)
	b = appendDecimal(b, o.Refunded)
	b = a.journal.appendTime(b, o.EarnedAt)
	if f&oSpentLots != 0 {
		b = appendMoves(b, o.SpentLots)
	}
	if f&oSpentValue != 0 {
		b = appendDecimal(b, o.SpentValue)
	}
	if f&oSpentAt != 0 {
		b = a.journal.appendTime(b, o.SpentAt)
	}
	return b
}

// order returns a copy of the order recorded at pos; called with a.mu
// held.
func (a *memAccount) order(pos int32) OrderRecord {
	r := a.journal.record(pos)
	o := OrderRecord{OrderID: r.string()}
	f := r.uvarint()
	o.Earned = f&oEarned != 0
	var month int64
	for i, p := range [...]*int64{&o.Points, &o.Growth, &o.Lot, &month, &o.Held, &o.Spent, &o.PointsClawed, &o.GrowthClawed, &o.Returned} {
		if f&(oPoints<<i) != 0 {
			*p = r.varint()
		}
	}
	o.Month = int32(month)
	o.Paid, o.OrderAmount, o.Refunded = r.decimal(), r.decimal(), r.decimal()
	o.EarnedAt = a.journal.readTime(&r)
	if f&oSpentLots != 0 {
		o.SpentLots = r.moves()
	}
	if f&oSpentValue != 0 {
		o.SpentValue = r.decimal()
	}
	if f&oSpentAt != 0 {
		o.SpentAt = a.journal.readTime(&r)
	}
	return o
}

// appendDecimal appends d: a tag byte (0 the zero Decimal, 1 a coefficient
// that fits an int64, 2 anything else), then its coefficient and exponent
// as varints, or its binary encoding.
func appendDecimal(b []byte, d decimal.Decimal) []byte {
	switch {
	case d == decimal.Decimal{}:
		return append(b, 0)
	case d.NumDigits() <= 18:
		b = binary.AppendVarint(append(b, 1), d.CoefficientInt64())
		return binary.AppendVarint(b, int64(d.Exponent()))
	}
	enc, _ := d.MarshalBinary() // never fails
	return append(binary.AppendUvarint(append(b, 2), uint64(len(enc))), enc...)
}

func (r *jReader) decimal() decimal.Decimal {
	switch r.byte() {
	case 1:
		c := r.varint()
		return decimal.New(c, int32(r.varint()))
	case 2:
		n := int(r.uvarint())
		r.i += n
		var d decimal.Decimal
		_ = d.UnmarshalBinary(r.b[r.i-n : r.i]) // written by MarshalBinary
		return d
	}
	return decimal.Decimal{}
}

// appendMoves appends the number of ms, then each as four varints.
func appendMoves(b []byte, ms []LotMove) []byte {
	b = binary.AppendUvarint(b, uint64(len(ms)))
	for _, m := range ms {
		b = binary.AppendVarint(b, m.Lot)
		b = binary.AppendVarint(b, m.Points)
		b = binary.AppendVarint(b, m.Held)
		b = binary.AppendVarint(b, m.Expiry)
	}
	return b
}

// moves reads what appendMoves wrote, as a new slice.
func (r *jReader) moves() []LotMove {
	ms := make([]LotMove, r.uvarint())
	for i := range ms {
		m := &ms[i]
		m.Lot, m.Points, m.Held, m.Expiry = r.varint(), r.varint(), r.varint(), r.varint()
	}
	return ms
}

// appendTime appends t as Unix seconds, nanoseconds and the number of its
// location, or, when that would not give t back exactly (a monotonic clock
// reading, too many locations), as a number in j.ats, which keeps t, after
// a tag byte (0 and 1).
func (j *journal) appendTime(b []byte, t time.Time) []byte {
	sec, nsec, loc := t.Unix(), int64(t.Nanosecond()), t.Location()
	if z := j.zones.number(loc); z <= 255 && exact(t, sec, nsec, loc) {
		b = binary.AppendVarint(append(b, 0), sec)
		return append(binary.AppendUvarint(b, uint64(nsec)), byte(z))
	}
	j.ats = append(j.ats, t)
	return binary.AppendUvarint(append(b, 1), uint64(len(j.ats)-1))
}

// readTime reads what appendTime wrote.
func (j *journal) readTime(r *jReader) time.Time {
	if r.byte() == 1 {
		return j.ats[r.uvarint()]
	}
	sec := r.varint()
	nsec := int64(r.uvarint())
	return time.Unix(sec, nsec).In(j.zones.loc(int(r.byte())))
}
