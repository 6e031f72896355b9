package member

// StoredValueStore persists stored-value accounts (储值). It is part of Store.
type StoredValueStore interface{}
