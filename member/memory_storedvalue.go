package member

// memStoredValues is the memory store's state of stored-value accounts (储值).
type memStoredValues struct{}
