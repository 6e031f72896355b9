// Package queuehost holds tests, and only tests, of a host that wires every
// scrmkit service onto one scrm.Dispatcher and receives its events from a
// message queue: events decoded from JSON (with and without
// json.Decoder.UseNumber), delivered at least once, and not always in the
// order they happened. Each test pins what the packages' doc comments say
// happens then; the package itself has no code.
package queuehost
