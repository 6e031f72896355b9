package member

// CheckInStore persists daily check-ins (签到). It is part of Store.
type CheckInStore interface{}
