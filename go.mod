module github.com/hinetd/hinetd

go 1.26.8

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/moby/sys/capability v0.5.0
	github.com/seccomp/libseccomp-golang v0.11.1
	golang.org/x/sys v0.50.0
)
