// Package scrm is the kernel of scrmkit, an embeddable SDK for
// private-domain customer operations (私域运营): the types every other
// package shares and the few services they all need.
//
//   - Errors: *Error wraps one of the sentinels (ErrInvalid, ErrNotFound,
//     ErrConflict, ErrExhausted, ErrForbidden, ErrExpired, ErrUnavailable);
//     test with errors.Is. Validation errors name the field.
//   - Time and money: Clock (never time.Now in logic), DefaultLocation
//     (Asia/Shanghai), Yuan, RoundFen, ToFen. Money is decimal.Decimal,
//     points are int64.
//   - Customers: a Directory resolves identities (phone, WeChat unionid and
//     openid, WeCom external user ID, member number, ...) to one CustomerID
//     (OneID), merging customers when an identity links two of them.
//   - Events and profiles: an Event is something that happened to a
//     customer; Profiles folds events into a Profile (attributes, tags,
//     segments, per-event-type counts and sums with time windows), which is
//     what every rule in scrm/rule is evaluated against.
//   - Dispatching: a Dispatcher delivers events to handlers in order,
//     breadth-first, with a bound on cascades; it is the Publisher services
//     emit their own events through.
//   - Rewards and channels: Reward, Grant and Rewarder let one package give
//     value another holds (RewardRouter routes by kind); Channel is how the
//     host delivers messages.
//   - Staff and groups: a Team keeps staff and each customer's owner
//     (跟进人), set from the channel code or store a customer arrived
//     through, moved by transfers and departures (离职继承) with history;
//     Groups keeps group membership from group.joined / group.left events
//     and reports the group-join rate (加群率) by store and staff.
//
// Every store interface (DirectoryStore, ProfileStore, StaffStore,
// GroupStore) has an in-memory implementation and a conformance suite in
// package scrmtest.
package scrm
