// Package version holds the one version string every hinetd binary prints
// with --version. The build sets it:
//
//	go build -ldflags "-X github.com/hinetd/hinetd/internal/version.Version=1.2.3"
package version

// Version is the release; "0.1.0-dev" for a build from a work tree.
var Version = "0.1.0-dev"
