package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/hinetd/hinetd/internal/seccomp"
)

// TestGeneratedCurrent: policy/zsyscalls.go is what this generator writes
// with the libseccomp linked here; else run go generate ./internal/seccomp.
func TestGeneratedCurrent(t *testing.T) {
	got, err := os.ReadFile("../../../policy/zsyscalls.go")
	if err != nil {
		t.Fatal(err)
	}
	if want := render(seccomp.KnownSyscalls()); !bytes.Equal(got, want) {
		t.Error("policy/zsyscalls.go is stale: run go generate ./internal/seccomp")
	}
}
