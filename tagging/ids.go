package tagging

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/scrmkit/scrmkit/scrm"
)

// The IDs tagging derives. Everything it writes or publishes is keyed by its
// cause, so that handling the same cause twice (a redelivered event, a
// retried request) writes and publishes nothing new.
//
//	cause            "event:<event ID>", "apply:<key>", "remove:<key>",
//	                 "sweep:<customer>:<unix ns>", "expire:<customer>:<unix ns>",
//	                 "merge:<event ID>"
//	history entry    "<cause>:<tag>"
//	published event  "tag.applied:<entry ID>", "tag.removed:<entry ID>"
//	profile write    "tagging:<cause>" (the event ID UpdateProfile records)
//	idempotency key  "<cause>" for "apply:" and "remove:" causes (Store.PutKey)
//
// An ID that would be longer than scrm.MaxIDLength is replaced by a prefix
// and a hash of the full text. Tag IDs cannot contain ':', so "<cause>:<tag>"
// is unambiguous.

// maxEntryID leaves room for the "tag.applied:" prefix of published events.
const maxEntryID = scrm.MaxIDLength - len("tag.applied:")

func entryID(cause, tag string) string {
	id := cause + ":" + tag
	if len(id) <= maxEntryID {
		return id
	}
	return hashID("h:", id)
}

func profileKey(cause string) string {
	id := "tagging:" + cause
	if len(id) <= scrm.MaxIDLength {
		return id
	}
	return hashID("tagging:h:", id)
}

// keyID is the KeyRecord.Key of an "apply:" or "remove:" cause.
func keyID(cause string) string {
	if len(cause) <= scrm.MaxIDLength {
		return cause
	}
	return hashID("h:", cause)
}

func hashID(prefix, s string) string {
	sum := sha256.Sum256([]byte(s))
	return prefix + hex.EncodeToString(sum[:20])
}

func eventCause(eventID string) string { return "event:" + eventID }

func sweepCause(c scrm.CustomerID, now time.Time) string {
	return "sweep:" + string(c) + ":" + strconv.FormatInt(now.UnixNano(), 10)
}

func expireCause(c scrm.CustomerID, expires time.Time) string {
	return "expire:" + string(c) + ":" + strconv.FormatInt(expires.UnixNano(), 10)
}

func eventType(a Action) string {
	if a == ActionRemoved {
		return scrm.EventTagRemoved
	}
	return scrm.EventTagApplied
}

// publishedID is the ID of the event published for a history entry.
func publishedID(e HistoryEntry) string {
	return eventType(e.Action) + ":" + e.ID
}
