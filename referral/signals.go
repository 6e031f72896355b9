package referral

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/scrmkit/scrmkit/scrm"
)

// Signals are what the host knows about the device a customer acts from,
// for the fraud checks of a FraudPolicy. Every field is optional; a check
// whose signal is missing is skipped.
type Signals struct {
	Device string // a device ID or fingerprint from the client (at most 128 bytes)
	IP     string // the client's IP address
	Phone  string // the phone number the customer verified, in any form scrm.NormalizeIdentity accepts
}

// String describes s for logs with the phone and IP masked.
func (s Signals) String() string {
	var b strings.Builder
	b.WriteString("device=")
	b.WriteString(maskTail(s.Device))
	b.WriteString(" ip=")
	b.WriteString(maskIP(s.IP))
	b.WriteString(" phone=")
	if s.Phone != "" {
		b.WriteString(scrm.Identity{Kind: scrm.IdentityPhone, Value: s.Phone}.String())
	}
	return b.String()
}

// LogValue implements slog.LogValuer, so that logging Signals never leaks
// the raw phone number or address.
func (s Signals) LogValue() slog.Value { return slog.StringValue(s.String()) }

func maskTail(v string) string {
	if len(v) <= 4 {
		return v
	}
	return v[:4] + "***"
}

func maskIP(v string) string {
	if i := strings.LastIndexAny(v, ".:"); i >= 0 {
		return v[:i+1] + "*"
	}
	return v
}

// normalize returns s with the phone in its canonical form and the IP
// address reduced to what limits count by: an IPv4 address as is, an IPv6
// address as its /64 prefix (one subscriber's network), since one phone
// may cycle through many addresses of its /64.
func (s Signals) normalize(op string) (Signals, error) {
	s.Device = strings.TrimSpace(s.Device)
	if len(s.Device) > scrm.MaxIDLength {
		return s, scrm.Invalid(op, "Signals.Device", "longer than %d bytes", scrm.MaxIDLength)
	}
	if ip := strings.TrimSpace(s.IP); ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return s, scrm.Invalid(op, "Signals.IP", "not an IP address: %s", maskIP(ip))
		}
		a = a.Unmap().WithZone("")
		var buf [64]byte
		var b []byte
		if a.Is6() {
			p, _ := a.Prefix(64)
			b = p.AppendTo(buf[:0])
		} else {
			b = a.AppendTo(buf[:0])
		}
		s.IP = ip
		if string(b) != ip { // most IPs come canonical: keep the string rather than allocate its copy
			s.IP = string(b)
		}
	}
	if strings.TrimSpace(s.Phone) != "" {
		id, err := scrm.NormalizeIdentity(scrm.Identity{Kind: scrm.IdentityPhone, Value: s.Phone})
		if err != nil {
			return s, &scrm.Error{Code: scrm.ErrInvalid, Op: op, Field: "Signals.Phone", Err: err}
		}
		s.Phone = id.Value
	} else {
		s.Phone = ""
	}
	return s, nil
}

// KnownSignals are the devices and phones a customer has been seen with, as a
// Store keeps them: the most recent MaxKnownSignals of each, oldest first.
type KnownSignals struct {
	Devices []string
	Phones  []string
}

// MaxKnownSignals is how many devices and phones a Store keeps per customer.
const MaxKnownSignals = 16

// Observe records the devices and phone a customer was seen with, so that
// a later binding of someone else from the same device or phone, under this
// customer's code, is caught by FraudPolicy.SameDevice / SamePhone. Call it
// when an inviter signs in or shares their code. Bind records the invitee's
// own signals itself. Only the device and phone are kept.
//
// Errors: ErrInvalid naming the field for malformed input.
func (s *Service) Observe(ctx context.Context, tenant scrm.TenantID, customer scrm.CustomerID, sig Signals) error {
	const op = "referral.Observe"
	if err := scrm.CheckID(op, "Tenant", string(tenant)); err != nil {
		return err
	}
	if err := scrm.CheckID(op, "Customer", string(customer)); err != nil {
		return err
	}
	sig, err := sig.normalize(op)
	if err != nil {
		return err
	}
	if sig.Device == "" && sig.Phone == "" {
		return nil
	}
	return scrm.Wrap(nil, op, s.store.AddSignals(ctx, tenant, customer, Signals{Device: sig.Device, Phone: sig.Phone}))
}
