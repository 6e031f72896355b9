package scrm

import (
	"context"
	"fmt"
	"time"
)

// Message is one touch to send: a 1:1 message through a staff member's WeCom
// account, a group post, an official-account template message, a
// mini-program subscription message, an SMS, an email or an app push.
type Message struct {
	ID       string            // idempotency key: a Channel sends each ID at most once
	Tenant   TenantID          // required
	Customer CustomerID        // the recipient, or empty for a group post
	Group    string            // the group, for a group post
	Channel  string            // "wecom", "wecom_group", "wechat_template", "miniprogram", "sms", "email", "push"
	Staff    string            // the staff account that sends (WeCom)
	Template string            // the content template
	Body     string            // the rendered text when the sender rendered Template itself (sop content templates); empty when the channel renders Template with Vars
	Vars     map[string]string // template variables
}

// The channel names scrmkit uses. Hosts may add their own.
const (
	ChannelWeCom          = "wecom"
	ChannelWeComGroup     = "wecom_group"
	ChannelWeChatTemplate = "wechat_template"
	ChannelMiniProgram    = "miniprogram"
	ChannelSMS            = "sms"
	ChannelEmail          = "email"
	ChannelPush           = "push"
)

// Validate reports the first missing field of m as an ErrInvalid error
// naming it: ID, Tenant and Channel are required, and one of Customer or
// Group.
func (m Message) Validate() error {
	const op = "scrm.Message"
	if err := CheckID(op, "ID", m.ID); err != nil {
		return err
	}
	if err := CheckID(op, "Tenant", string(m.Tenant)); err != nil {
		return err
	}
	if err := CheckID(op, "Channel", m.Channel); err != nil {
		return err
	}
	if m.Customer == "" && m.Group == "" {
		return Invalid(op, "Customer", "one of Customer or Group is required")
	}
	return nil
}

// String describes the message for logs without its variables, which may
// hold names and phone numbers.
func (m Message) String() string {
	to := string(m.Customer)
	if to == "" {
		to = "group:" + m.Group
	}
	return fmt.Sprintf("message %s via %s to %s/%s template=%s", m.ID, m.Channel, m.Tenant, to, m.Template)
}

// Receipt is a Channel's acknowledgement of a sent message.
type Receipt struct {
	MessageID  string    // Message.ID
	ProviderID string    // the provider's ID for it (WeCom msgid, SMS biz id)
	SentAt     time.Time // when the provider accepted it
}

// Channel delivers messages; the host implements it over WeCom, WeChat, SMS
// and the like. Send must be idempotent by Message.ID: sending an ID already
// sent returns the original Receipt without sending again. A temporary
// failure should match ErrUnavailable so callers retry; a permanent one
// (blocked, unsubscribed) ErrForbidden.
type Channel interface {
	Send(ctx context.Context, m Message) (Receipt, error)
}

// ChannelFunc adapts a function to the Channel interface.
type ChannelFunc func(ctx context.Context, m Message) (Receipt, error)

// Send calls f.
func (f ChannelFunc) Send(ctx context.Context, m Message) (Receipt, error) { return f(ctx, m) }
