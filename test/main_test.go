package test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain puts the tests' temporary directories (t.TempDir,
// os.MkdirTemp) under ../bin/testbin/tmp instead of /tmp: a service has a
// /tmp of its own (private-tmp, issue 11), so the scripts, programs,
// chroots and files the tests hand to services must live elsewhere to be
// seen by them at all. The tests that are about /tmp name it.
func TestMain(m *testing.M) {
	tmp := filepath.Join(binDir, "testbin", "tmp")
	if err := os.MkdirAll(tmp, 0o755); err == nil {
		os.Chmod(tmp, 0o1777)
		os.Setenv("TMPDIR", tmp)
	}
	os.Exit(m.Run())
}
