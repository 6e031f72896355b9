package coupon

import (
	"io"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Options configures a Service. A nil *Options, and every zero field, means
// the default documented on the field.
type Options struct {
	scrm.Options
	// CodeAttempts is how many wrong codes a customer may enter in a burst
	// before ClaimCode refuses them; default 5.
	CodeAttempts int
	// CodeRefill is how often one more attempt is allowed after the burst;
	// default one minute. Time comes from the Clock.
	CodeRefill time.Duration
	// BestNodes bounds the combinations Best examines; default
	// DefaultBestNodes. Past it, Best returns the best combination found.
	BestNodes int
	// Random is the source of generated codes; default crypto/rand.Reader.
	// Replace it only in tests.
	Random io.Reader
}
