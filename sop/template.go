package sop

import (
	"time"
	"unicode/utf8"

	"github.com/scrmkit/scrmkit/scrm"
	"github.com/scrmkit/scrmkit/scrm/rule"
)

// Template is a content template (内容模板): the text of a message, written
// once and rendered for each customer with text/template, in the variant
// that suits them (千人千面). A Message (or Task) action whose Template names
// a stored Template is rendered by the Service, and the text goes out in
// scrm.Message.Body; any other name is the channel's own template and passes
// through with the action's Vars, as before templates existed.
//
// Bodies use text/template syntax with the variables of the render data (see
// Service.Render): "{{.Name}}，您的{{.CouponAmount}}元券明天到期". Every variable
// a body reads must be declared in Required or Optional (or be a well-known
// field), so a misspelt name is an error when the template is saved rather
// than a blank in a customer's message. Besides the built-in functions of
// text/template, bodies may call yuan (a money amount with two decimals:
// {{yuan .Amount}}) and default (a fallback for an empty value:
// {{default "亲" .Nick}}). Loops are bounded so that every rendering ends
// soon (see MaxRangeCount), and so are printf's widths.
//
// A Template is a value; the Service and the Store copy it in and out.
type Template struct {
	Tenant scrm.TenantID
	ID     string
	// Name is a label for operators (optional).
	Name string
	// Channel is the channel the template is written for: its limits apply
	// (Options.ContentLimits), and actions naming the template must send on
	// it.
	Channel string
	// Body is the default text, used when no variant matches.
	Body string
	// Variants are alternative bodies for some customers: the first whose
	// When holds on the customer's profile is used, else Body. At most
	// MaxTemplateVariants.
	Variants []TemplateVariant
	// Required are variables that must be present and not blank when the
	// template is rendered: a message that would lack one is not sent (the
	// job fails with the reason). Each must be read by at least one body.
	// An attribute holding nil (or a nil pointer) counts as missing.
	Required []string
	// Optional are variables a body may read that may be missing or blank:
	// a missing one (an attribute holding nil included) renders as "" (use
	// {{if .X}} or default to fill in).
	Optional []string

	// Version is the stored version: 0 to create, the version read to
	// replace it (optimistic concurrency). Set by the Store.
	Version int64
	// UpdatedAt is when the stored version was written. Set by the Store.
	UpdatedAt time.Time
}

// TemplateVariant is one alternative body of a Template, for the customers
// matching When: a tag (rule.HasTag("VIP")), a segment
// (rule.InSegment("高价值")), or any condition of the rule language.
type TemplateVariant struct {
	When rule.Condition
	Body string
}

// MaxTemplateVariants bounds the variants of a template.
const MaxTemplateVariants = 32

// MaxTemplateBody bounds the length of one body, in bytes (before
// rendering; the channel's ContentLimit bounds the rendered text).
const MaxTemplateBody = 16 << 10

// ContentLimit bounds the rendered text of a channel's templates. A zero
// field is no bound. The limits are checked when a template is saved (its
// fixed text, without variables, must fit) and on every render (a text over
// a limit is not sent: the job fails with the reason).
type ContentLimit struct {
	// Runes bounds the characters (Unicode code points).
	Runes int
	// Bytes bounds the UTF-8 bytes (WeCom measures its limits in bytes).
	Bytes int
	// Segments bounds the SMS segments, counted by SMSSegments.
	Segments int
}

// DefaultSMSSegments is the default bound on an SMS template's segments:
// three, 201 characters. Providers bill each segment; raise it per channel
// in Options.ContentLimits.
const DefaultSMSSegments = 3

// DefaultWeComBytes is the WeCom limit on a text message to a customer or a
// customer group (客户联系 add_msg_template, send_welcome_msg: text.content
// "最多4000个字节"), in UTF-8 bytes: about 1,333 Chinese characters.
const DefaultWeComBytes = 4000

// DefaultContentLimits returns the limits applied when Options.ContentLimits
// does not name the channel: SMS at most DefaultSMSSegments segments, WeCom
// and WeCom group text at most DefaultWeComBytes bytes. Other channels have
// no default limit.
func DefaultContentLimits() map[string]ContentLimit {
	return map[string]ContentLimit{
		scrm.ChannelSMS:        {Segments: DefaultSMSSegments},
		scrm.ChannelWeCom:      {Bytes: DefaultWeComBytes},
		scrm.ChannelWeComGroup: {Bytes: DefaultWeComBytes},
	}
}

// The SMS segment sizes, in characters, as Chinese providers count them.
const (
	SMSSingleSegment = 70 // a message of at most 70 characters is one segment
	SMSMultiSegment  = 67 // a longer one is split into segments of 67 (3 go to the concatenation header)
)

// SMSSegments returns how many SMS segments a text takes: 0 for "", 1 up to
// SMSSingleSegment characters, else one per SMSMultiSegment characters,
// rounded up (71 characters are 2 segments, 134 are 2, 135 are 3). Every
// character counts one, Chinese or not, as Chinese providers (Aliyun,
// Tencent Cloud) count them; the provider's signature (【店名】) counts too
// when it prepends one, so leave room for it in ContentLimit.Segments or
// include it in the body.
func SMSSegments(text string) int {
	return smsSegments(utf8.RuneCountInString(text))
}

func smsSegments(runes int) int {
	switch {
	case runes == 0:
		return 0
	case runes <= SMSSingleSegment:
		return 1
	}
	return (runes + SMSMultiSegment - 1) / SMSMultiSegment
}

// The well-known fields of the render data: set by the Service from the job
// (or the RenderRequest), usable in every body without being declared.
const (
	FieldCustomer = "Customer" // the customer's ID
	FieldStaff    = "Staff"    // the action's staff account
	FieldPlaybook = "Playbook" // the playbook's ID
	FieldStep     = "Step"     // the step's ID
)

func wellKnown(name string) bool {
	switch name {
	case FieldCustomer, FieldStaff, FieldPlaybook, FieldStep:
		return true
	}
	return false
}

// PutTemplateParams are the inputs of Store.PutTemplate.
type PutTemplateParams struct {
	Template Template
	At       time.Time
	// CheckRevision makes the put conditional on the tenant's Revision
	// still being Revision: the Revision at which the caller read the
	// tenant's playbooks to check the template against them. A playbook
	// (or anything else) stored since then makes the put fail with
	// ErrConflict naming "Revision"; read and check again.
	CheckRevision bool
	Revision      int64
}
