package member

// memPlans is the memory store's state of paid membership plans (付费会员).
type memPlans struct{}
