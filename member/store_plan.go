package member

// PlanStore persists paid membership plans (付费会员). It is part of Store.
type PlanStore interface{}
