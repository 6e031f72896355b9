package member

// memMall is the memory store's state of the points mall (积分商城).
type memMall struct{}
