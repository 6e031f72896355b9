// Package scrmtest is scrmkit's test kit: a fake Clock that tests move by
// hand, a recording Channel, and the conformance suites every implementation
// of the kernel's store interfaces must pass (RunDirectoryStoreTests,
// RunProfileStoreTests, RunStaffStoreTests, RunGroupStoreTests).
//
// A host that writes its own store runs the suite from its own tests:
//
//	func TestMyProfileStore(t *testing.T) {
//		scrmtest.RunProfileStoreTests(t, func(t *testing.T) scrm.ProfileStore {
//			return mystore.New(testDB(t))
//		})
//	}
package scrmtest
