package segment

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"strconv"

	"github.com/scrmkit/scrmkit/scrm"
)

// Split assigns a customer to one of len(weights) arms, deterministically:
// the same customer, salt and weights always give the same arm, in every
// process and on every machine, with no state stored. Arm i receives a share
// weights[i]/sum(weights) of customers; an arm of weight 0 receives none.
// Use a salt per experiment (its ID), so that different experiments split
// customers independently of each other.
//
// The holdout (control group, 对照组) is an arm like the others, designated by
// the caller: Split(id, "double11-coupon", 10, 45, 45) keeps 10% in arm 0,
// who get no treatment. Keep the holdout first and the total unchanged (100
// here) when re-weighting the treatment arms, and nobody moves into or out
// of the holdout.
//
// The algorithm is fixed, so that other systems (SQL, a front end) can
// reproduce it: h is the first 8 bytes, big-endian, of
// SHA-256(salt + "\x00" + customer); the point x = ⌊h·total / 2⁶⁴⌋ lies in
// [0, total); the arm is the first i with x < weights[0] + … + weights[i].
//
// Split returns -1 when the weights are invalid (see CheckWeights): none, a
// negative one, or all zero.
func Split(customer, salt string, weights ...int) int {
	total := 0
	for _, w := range weights {
		if w < 0 {
			return -1
		}
		total += w
		if total < 0 {
			return -1 // overflow
		}
	}
	if total == 0 {
		return -1
	}
	buf := make([]byte, 0, 64)
	buf = append(append(append(buf, salt...), 0), customer...)
	sum := sha256.Sum256(buf)
	h := binary.BigEndian.Uint64(sum[:8])
	x, _ := bits.Mul64(h, uint64(total))
	acc := uint64(0)
	for i, w := range weights {
		acc += uint64(w)
		if x < acc {
			return i
		}
	}
	return len(weights) - 1 // unreachable: x < total
}

// CheckWeights reports why Split would return -1 for weights: an error
// matching scrm.ErrInvalid naming the field ("weights" when there are none
// or all are zero, "weights[2]" for a negative one), or nil when they are
// valid.
func CheckWeights(weights ...int) error {
	const op = "segment.Split"
	if len(weights) == 0 {
		return scrm.Invalid(op, "weights", "at least one arm is required")
	}
	total := 0
	for i, w := range weights {
		if w < 0 {
			return scrm.Invalid(op, "weights["+strconv.Itoa(i)+"]", "must not be negative, got %d", w)
		}
		total += w
		if total < 0 {
			return scrm.Invalid(op, "weights", "the weights add up to more than an int holds")
		}
	}
	if total == 0 {
		return scrm.Invalid(op, "weights", "all weights are zero; at least one arm must receive customers")
	}
	return nil
}
