// Package coupon runs coupons (优惠券) for private-domain retail: templates,
// claiming and issuing under heavy concurrency, redemption codes, pricing a
// cart with reasons for every coupon that does not apply, stacking and
// best-combination selection, and checkout as try / confirm / cancel with
// refunds.
//
// # Templates
//
// A Template says what a coupon takes off (Kind: cash, threshold 满减 and
// every-X 每满减, percent 折扣 with a cap, free shipping, gift), on what
// (Scope: products, categories, exclusions, stores, channels), when
// (Validity: a fixed window, or N days from claim through the end of the last
// local day in the tenant's time zone), and how many can be had (Stock,
// PerCustomer, PerCustomerPerDay, Budget, Audience). PutTemplate validates
// it and names the offending field.
//
// # Getting coupons
//
// Claim (customer-initiated), Issue and IssueBatch (system), Grant (a
// scrm.Rewarder for reward kind "coupon") and ClaimCode (generated
// single-use codes, or shared codes) all end in Store.Claim, which inserts
// coupons only within stock and limits, atomically: 2,000 goroutines racing
// for 500 coupons get exactly 500. Every request carries an idempotency key;
// a retry returns the same coupons.
//
// # Pricing
//
// Quote prices a cart with chosen coupons; Best chooses the combination from
// the customer's wallet that takes the most off. Both are thin wrappers over
// pure functions of the cart, the coupons and the time (Evaluate and Select)
// that compute in integer fen: coupons apply in the order gift → cash and
// threshold → percent → free shipping, no line and no order goes negative,
// and each coupon's discount is spread over its lines so that the shares add
// up exactly to it (refunds of single items rely on this).
//
// # Checkout
//
//	Lock    (try)     coupons: available → locked to the order; budget reserved
//	Confirm (confirm) coupons: locked → redeemed; budget spent
//	Release (cancel)  coupons: locked → available; budget returned
//	Refund            partial: coupons stay redeemed, the discount share of the
//	                  refunded units is reported per line and given back to
//	                  the budget; full: coupons return to the wallet if still
//	                  valid, else stay expired
//
// A coupon locked to one order cannot be locked by another: the Store's Lock
// checks and moves every coupon in one atomic step.
//
// # Housekeeping
//
// Sweep expires coupons past their validity; Expiring lists those about to
// expire, for reminders; Stats counts issued, claimed, redeemed, expired,
// the discount given and the GMV of orders that used a template.
//
// # Stores
//
// Store is the small interface a host implements for its database;
// NewMemoryStore is the in-memory default. coupontest.RunStoreTests is the
// conformance suite every implementation must pass.
package coupon
