// Package tenantzones holds tests, and only tests, of one host serving
// tenants in different time zones whose zone setting
// (scrm.Options.TenantLocation) a merchant may change while the host runs:
// every service must judge times in the zone the setting gives now. The
// package itself has no code.
package tenantzones
