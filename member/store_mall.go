package member

// MallStore persists the points mall (积分商城). It is part of Store.
type MallStore interface{}
