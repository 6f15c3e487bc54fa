package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedCurrent: spawner_calls.h and policy/zspawner.go are what
// spawner.calls and spawner.h give; else run go generate ./internal/sandbox.
func TestGeneratedCurrent(t *testing.T) {
	if err := os.Chdir(".."); err != nil {
		t.Fatal(err)
	}
	files, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range files {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./internal/sandbox", path)
		}
	}
}
