package member

import (
	"encoding/binary"
	"sort"
	"time"
)

// journal is an account's entries in Seq order, copied in by add so that
// the store never shares them with the caller. Each entry is encoded as
// bytes (see encodeEntry): the fields it sets, as varints, and its strings
// and lot moves inline, typically a third of the size of an Entry, in
// chunks that are never moved, so appending never copies what is already
// there, and that hold no pointers, so that the millions of entries of a
// large tenant cost the garbage collector nothing to scan. Reading decodes
// a chunk from its start, which is cheap: reads are pages of entries. The
// account's order records are kept between the entries (see addRecord).
type journal struct {
	segs  []jSeg
	zones zones
	ats   []time.Time // times appendTime cannot encode exactly
	n     int
}

// jSeg is a chunk of a journal.
type jSeg struct {
	b []byte
	// last is the Seq of the chunk's last entry (of the last entry before
	// it, for a chunk of records alone).
	last int64
}

// The bits of an encoded entry's flags: which fields follow.
const (
	jPoints = 1 << iota
	jHeld
	jDebt
	jGrowth
	jForgiven
	jForfeited
	jProgram
	jKey
	jOrderID
	jNote
	jLots
	jHoldID
	jFrom
	jTo
	jOperator
	jKindName // a kind kindIndex has no number for, by name
	jRecord   // not an entry: its length and another record (see addRecord)
)

// journalBytes bounds the size of a journal chunk: the first ones are
// small (journalFirst, then doubling), for the many accounts with a short
// journal. Positions of records (see addRecord) keep offsets in a chunk in
// journalShift bits, and the chunk's number in the rest of an int32: a
// journal holds up to 2 GiB.
const (
	journalShift = 13
	journalBytes = 1 << journalShift
	journalFirst = 192 // a first order's record and entries, typically
)

// add copies es into the journal and returns the position of the first
// (see addRecord), -1 for none; copyAt reads them back from there. It sets
// empty Lots of es to nil, as a copy would have them.
func (j *journal) add(es []Entry) int32 {
	var buf [512]byte
	first := int32(-1)
	for i := range es {
		e := &es[i]
		if len(e.Lots) == 0 {
			e.Lots = nil
		}
		var l int
		if n := maxEncoded(e); n <= len(buf) {
			// Encoded on the stack, then copied into a chunk with room
			// for exactly that: chunks fill up without gaps.
			b := j.encode(buf[:0], e)
			l = j.room(len(b))
			if i == 0 {
				first = j.pos(l)
			}
			j.segs[l].b = append(j.segs[l].b, b...)
		} else {
			// A long entry (many lot moves) is encoded in place, in
			// room for the longest encoding.
			l = j.room(n)
			if i == 0 {
				first = j.pos(l)
			}
			j.segs[l].b = j.encode(j.segs[l].b, e)
		}
		j.segs[l].last = e.Seq
	}
	j.n += len(es)
	return first
}

// pos returns the position of what is appended next to chunk l.
func (j *journal) pos(l int) int32 {
	if l >= 1<<(31-journalShift) {
		// Far beyond any customer's history (millions of entries); fail
		// loudly rather than hand out a position that wraps.
		panic("member: an account's journal outgrew the memory store's 2 GiB")
	}
	return int32(l<<journalShift | len(j.segs[l].b))
}

// maxEncoded bounds the length of e's encoding: each number at most
// binary.MaxVarintLen64 bytes, each string its length's varint and bytes.
func maxEncoded(e *Entry) int {
	const n = binary.MaxVarintLen64
	return n + n + 1 + (2 + 2*n) + 7*n + // flags, Seq, kind, At, the numbers
		len(e.Key) + len(e.OrderID) + len(e.Note) + len(e.HoldID) + len(e.From) + len(e.To) + len(e.Operator) + len(e.Kind) + 8*n +
		n + 4*n*len(e.Lots)
}

// room makes room for need more bytes in the last chunk and returns its
// number. What it makes room for ends within journalBytes of the chunk's
// start unless it is alone in its chunk, so that a position (addRecord)
// never outgrows its journalShift bits: a chunk made larger for one long
// entry takes nothing more once journalBytes of it are used.
func (j *journal) room(need int) int {
	l := len(j.segs) - 1
	if l >= 0 {
		n := len(j.segs[l].b)
		if cap(j.segs[l].b)-n >= need && n+need <= journalBytes {
			return l
		}
	}
	c, prev := journalFirst, int64(0)
	if l >= 0 {
		c, prev = min(2*cap(j.segs[l].b), journalBytes), j.segs[l].last
	} else {
		j.segs = make([]jSeg, 0, 4)
	}
	j.segs = append(j.segs, jSeg{b: make([]byte, 0, max(c, need)), last: prev})
	return l + 1
}

// addRecord adds b, a record other than an entry (an order's), to the
// journal, and returns where it is: the number of its chunk times
// 2^journalShift plus its offset there, which is less than journalBytes
// (a record that needs more gets a chunk of its own). Entries skip
// records.
func (j *journal) addRecord(b []byte) int32 {
	var h [2 * binary.MaxVarintLen64]byte
	hdr := binary.AppendUvarint(binary.AppendUvarint(h[:0], jRecord), uint64(len(b)))
	l := j.room(len(hdr) + len(b))
	if l >= 1<<(31-journalShift) {
		// Far beyond any customer's history (millions of entries); fail
		// loudly rather than hand out a position that wraps.
		panic("member: an account's journal outgrew the memory store's 2 GiB")
	}
	off := len(j.segs[l].b) + len(hdr)
	j.segs[l].b = append(append(j.segs[l].b, hdr...), b...)
	return int32(l<<journalShift | off)
}

// record returns a reader at the record addRecord put at pos.
func (j *journal) record(pos int32) jReader {
	return jReader{b: j.segs[pos>>journalShift].b, i: int(pos & (1<<journalShift - 1))}
}

// encode appends e, encoded, to b: its flags, Seq, kind, At, then the
// fields its flags name, in the order of the flags.
func (j *journal) encode(b []byte, e *Entry) []byte {
	var f uint64
	for i, v := range [...]int64{e.Points, e.Held, e.Debt, e.Growth, e.Forgiven, e.Forfeited, e.Program} {
		if v != 0 {
			f |= 1 << i
		}
	}
	for i, s := range [...]string{e.Key, e.OrderID, e.Note} {
		if s != "" {
			f |= jKey << i
		}
	}
	if len(e.Lots) > 0 {
		f |= jLots
	}
	for i, s := range [...]string{e.HoldID, e.From, e.To, e.Operator} {
		if s != "" {
			f |= jHoldID << i
		}
	}
	kind := kindIndex(e.Kind)
	if kind == 0 {
		f |= jKindName
	}
	b = binary.AppendUvarint(b, f)
	b = binary.AppendVarint(b, e.Seq)
	b = append(b, kind)
	b = j.appendTime(b, e.At)
	for i, v := range [...]int64{e.Points, e.Held, e.Debt, e.Growth, e.Forgiven, e.Forfeited, e.Program} {
		if f&(1<<i) != 0 {
			b = binary.AppendVarint(b, v)
		}
	}
	for _, s := range [...]string{e.Key, e.OrderID, e.Note} {
		if s != "" {
			b = appendString(b, s)
		}
	}
	if f&jLots != 0 {
		b = appendMoves(b, e.Lots)
	}
	for _, s := range [...]string{e.HoldID, e.From, e.To, e.Operator} {
		if s != "" {
			b = appendString(b, s)
		}
	}
	if f&jKindName != 0 {
		b = appendString(b, string(e.Kind))
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// jReader decodes the entries of a journal chunk; the chunk is always
// well formed, written by encode.
type jReader struct {
	b []byte
	i int
}

func (r *jReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b[r.i:])
	r.i += n
	return v
}

func (r *jReader) varint() int64 {
	v, n := binary.Varint(r.b[r.i:])
	r.i += n
	return v
}

func (r *jReader) byte() byte {
	r.i++
	return r.b[r.i-1]
}

func (r *jReader) string() string {
	n := int(r.uvarint())
	r.i += n
	return string(r.b[r.i-n : r.i])
}

// entry decodes the rest of the entry whose flags and Seq seq returned.
func (j *journal) entry(r *jReader, f uint64, seq int64) Entry {
	e := Entry{Seq: seq, Kind: kindOf(r.byte())}
	e.At = j.readTime(r)
	for i, p := range [...]*int64{&e.Points, &e.Held, &e.Debt, &e.Growth, &e.Forgiven, &e.Forfeited, &e.Program} {
		if f&(1<<i) != 0 {
			*p = r.varint()
		}
	}
	for i, p := range [...]*string{&e.Key, &e.OrderID, &e.Note} {
		if f&(jKey<<i) != 0 {
			*p = r.string()
		}
	}
	if f&jLots != 0 {
		e.Lots = r.moves()
	}
	for i, p := range [...]*string{&e.HoldID, &e.From, &e.To, &e.Operator} {
		if f&(jHoldID<<i) != 0 {
			*p = r.string()
		}
	}
	if f&jKindName != 0 {
		e.Kind = EntryKind(r.string())
	}
	return e
}

// page copies up to limit entries after the one numbered after.
func (j *journal) page(after int64, limit int) ([]Entry, int64) {
	s := sort.Search(len(j.segs), func(i int) bool { return j.segs[i].last > after })
	var out []Entry
	for ; s < len(j.segs); s++ {
		r := jReader{b: j.segs[s].b}
		for r.i < len(r.b) {
			f := r.uvarint()
			if f&jRecord != 0 {
				r.i += int(r.uvarint())
				continue
			}
			seq := r.varint()
			if seq <= after {
				j.entry(&r, f, seq) // skipped
				continue
			}
			if len(out) == limit {
				return out, out[len(out)-1].Seq
			}
			out = append(out, j.entry(&r, f, seq))
		}
	}
	return out, 0
}

// copyAt copies the count entries add put at pos, the first numbered
// first: it decodes from there, not from the chunk's start.
func (j *journal) copyAt(pos int32, first int64, count int) []Entry {
	out := j.decodeAt(pos, count)
	if len(out) != count || out[0].Seq != first {
		return j.copyFrom(first, count) // never, unless positions break: then by Seq
	}
	return out
}

// decodeAt decodes up to count entries from pos on, skipping records.
func (j *journal) decodeAt(pos int32, count int) []Entry {
	out := make([]Entry, 0, count)
	c, off := int(pos>>journalShift), int(pos&(1<<journalShift-1))
	for ; c < len(j.segs) && len(out) < count; c, off = c+1, 0 {
		r := jReader{b: j.segs[c].b, i: off}
		for r.i < len(r.b) && len(out) < count {
			f := r.uvarint()
			if f&jRecord != 0 {
				r.i += int(r.uvarint())
				continue
			}
			out = append(out, j.entry(&r, f, r.varint()))
		}
	}
	return out
}

// copyFrom copies count entries starting with the one numbered first.
func (j *journal) copyFrom(first int64, count int) []Entry {
	out, _ := j.page(first-1, count)
	return out
}

// growChunks makes room for need more elements in the last of chunks (the
// memory stores' arenas), adding, when there is not, a chunk of first
// elements for the first and of twice the last one's capacity after, at
// most most; and never fewer than need.
func growChunks[T any](chunks [][]T, need, first, most int) [][]T {
	last := len(chunks) - 1
	if last >= 0 && cap(chunks[last])-len(chunks[last]) >= need {
		return chunks
	}
	c := first
	if last >= 0 {
		c = min(2*cap(chunks[last]), most)
	}
	return append(chunks, make([]T, 0, max(c, need)))
}

// kindIndex numbers the entry kinds for jEntry.kind (kindOf is its
// inverse); 0 is any other kind.
func kindIndex(k EntryKind) uint8 {
	switch k {
	case EntryEarn:
		return 1
	case EntryGrant:
		return 2
	case EntryImport:
		return 3
	case EntryAdjust:
		return 4
	case EntryHold:
		return 5
	case EntryCapture:
		return 6
	case EntryVoid:
		return 7
	case EntrySpend:
		return 8
	case EntryRefund:
		return 9
	case EntryClawback:
		return 10
	case EntryExpire:
		return 11
	case EntryDeduct:
		return 12
	case EntryTier:
		return 13
	}
	return 0
}

func kindOf(i uint8) EntryKind {
	switch i {
	case 1:
		return EntryEarn
	case 2:
		return EntryGrant
	case 3:
		return EntryImport
	case 4:
		return EntryAdjust
	case 5:
		return EntryHold
	case 6:
		return EntryCapture
	case 7:
		return EntryVoid
	case 8:
		return EntrySpend
	case 9:
		return EntryRefund
	case 10:
		return EntryClawback
	case 11:
		return EntryExpire
	case 12:
		return EntryDeduct
	case 13:
		return EntryTier
	}
	return ""
}
