package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestPidFileSymlink (issue 13, item 5): in a 1777 directory, nobody plants
// hinetd.pid as a symlink to a root-owned 0644 file. hinetd -p must not
// follow it: the target keeps its bytes, the pid file becomes a regular
// file holding the daemon's pid, and it is gone after the daemon stops.
func TestPidFileSymlink(t *testing.T) {
	needRoot(t)
	shared := t.TempDir()
	os.Chmod(filepath.Dir(shared), 0o755)
	if err := os.Chmod(shared, 0o1777); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(target, []byte("root's data\n"), 0o644)
	pidFile := filepath.Join(shared, "hinetd.pid")
	if err := os.Symlink(target, pidFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(pidFile, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port), "-p", pidFile)
	if b, _ := os.ReadFile(target); string(b) != "root's data\n" {
		t.Fatalf("the symlink's target now holds %q", b)
	}
	var fi os.FileInfo
	waitFor(t, 5*time.Second, "the pid file", func() bool {
		var err error
		fi, err = os.Lstat(pidFile)
		return err == nil && fi.Mode().IsRegular()
	})
	if b, _ := os.ReadFile(pidFile); string(b) != strconv.Itoa(d.pid())+"\n" {
		t.Fatalf("pid file holds %q, want %d", b, d.pid())
	}
	if fi.Mode().Perm() != 0o644 {
		t.Fatalf("pid file mode %v", fi.Mode())
	}
	d.stop()
	if _, err := os.Lstat(pidFile); !os.IsNotExist(err) {
		t.Fatalf("pid file after stop: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "root's data\n" {
		t.Fatalf("the symlink's target now holds %q", b)
	}
}
