package sop

import (
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// Calendar is a weekly schedule of group posts (Monday 种草, Wednesday
// 会员日, Friday 裂变): every Entry is posted to each of its Groups every
// week on its Weekday at its local time At. Posts go through Options.Channel
// as scrm.Messages with Group set and Customer empty; the tenant's quiet
// hours and rate limits apply to them, customer caps do not.
type Calendar struct {
	Tenant  scrm.TenantID
	ID      string
	Entries []Entry

	// Version is the stored version: 0 to create, the version read to
	// update. Set by the Store.
	Version int64
	// UpdatedAt is when the stored version was written. Set by the Store.
	UpdatedAt time.Time
}

// MaxEntries bounds the entries of a calendar; MaxGroups the groups of an
// entry.
const (
	MaxEntries = 100
	MaxGroups  = 1000
)

// Entry is one weekly post of a Calendar.
type Entry struct {
	Weekday time.Weekday
	At      string   // local "HH:MM"
	Groups  []string // the groups to post to; at least one
	Channel string   // e.g. scrm.ChannelWeComGroup; must be known
	// Template is a content Template of the tenant, rendered without a
	// customer (its default Body, with Vars and the Staff field; the text
	// goes in scrm.Message.Body), or else the channel's own template name.
	Template string
	Vars     map[string]string
	Staff    string // the staff account that posts (WeCom)
}
