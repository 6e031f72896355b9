package metrics

import (
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// pct formats a ratio as a percentage with one decimal: 0.125 → "12.5%".
func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

// money formats yuan with two decimals: "1234.50".
func money(d decimal.Decimal) string { return d.StringFixed(2) }

func count(n int) string { return strconv.Itoa(n) }

// duration formats a step limit compactly: "7d", "36h", "90m"; "" for 0.
func duration(d time.Duration) string {
	switch {
	case d == 0:
		return ""
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// fmtFloat formats a ratio that is not a percentage with two decimals.
func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func count64(n int64) string { return strconv.FormatInt(n, 10) }
