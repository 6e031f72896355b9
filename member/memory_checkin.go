package member

// memCheckIns is the memory store's state of daily check-ins (签到).
type memCheckIns struct{}
