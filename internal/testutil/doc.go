// Package testutil holds the helpers that the tests of several packages
// share: isolated homes and configuration files, real repositories with
// published images, fixtures, the tools and kernel features a test needs,
// and the built pcocc binary. It is imported only by _test.go files.
package testutil
