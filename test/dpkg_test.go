package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/testenv"
)

// dpkgScript installs the package in a copy-on-write copy of this machine
// (an overlay of / in a private mount namespace, entered with chroot), so
// that dpkg, the maintainer scripts, update-inetd and invoke-rc.d run for
// real without touching the machine's /etc/inetd.conf or package
// database. /sbin/runlevel answers "N 2" there, as on a booted sysvinit
// system (a chroot has no utmp and invoke-rc.d would do nothing). A
// conflicting inet-superserver (xinetd, installed for the benchmarks) is
// removed in the copy with its init script actions refused, so that the
// machine's own daemon is left alone. Markers on stdout separate the
// steps; the file lists of the overlay's upper layer before the install
// and after the purge are printed for the test to compare.
const dpkgScript = `set -e
T=$1 DEB=$2 PORT=$3
mount -t tmpfs tmpfs $T
mkdir -p $T/upper $T/work $T/root
mount -t overlay overlay -o lowerdir=/,upperdir=$T/upper,workdir=$T/work $T/root
mount --bind /proc $T/root/proc
mount --rbind /dev $T/root/dev
mount -t tmpfs tmpfs $T/root/run
mount -t tmpfs tmpfs $T/root/tmp
cp $DEB $T/root/tmp/hinetd.deb
inroot() { chroot $T/root sh -c "$1"; }
inroot 'printf "#!/bin/sh\necho N 2\n" > /sbin/runlevel; chmod 755 /sbin/runlevel'
if inroot 'dpkg -s xinetd >/dev/null 2>&1'; then
	inroot 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
	    dpkg --purge --force-depends xinetd >/dev/null 2>&1; rm /usr/sbin/policy-rc.d'
fi
list() { (cd $T/upper && find . -path ./var/lib/dpkg -prune -o -path ./var/log -prune -o -path ./var/cache -prune -o -path ./etc/ld.so.cache -prune -o -printf '%y %p\n' | sort); }
list > $T/before
echo "== install"
inroot 'dpkg -i /tmp/hinetd.deb' 2>&1
echo "== pid $(inroot 'cat /run/hinetd.pid')"
echo "== add"
inroot "update-inetd --add '$PORT\tstream\ttcp\tnowait\troot\tinternal\tdaytime'" 2>&1
echo "== added"
sleep ${WAIT:-2}
echo "== disable"
inroot "update-inetd --disable $PORT" 2>&1
echo "== disabled"
sleep ${WAIT:-2}
echo "== purge"
inroot 'dpkg --purge --force-depends hinetd' 2>&1
list > $T/after
echo "== left"
diff $T/before $T/after | sed -n 's/^> //p'
echo "== end"
`

// TestDpkgInstall (issue 14: "make deb in the test suite: dpkg -i on the
// test machine, a service added with update-inetd answering, dpkg --purge
// leaving nothing behind"): in a copy-on-write copy of this machine, the
// package installs, starts hinetd through its init script, a service
// that update-inetd --add writes answers with no manual step, --disable
// takes it away, and purge stops the daemon and leaves nothing but the
// inetd.conf that update-inetd changed (Debian keeps an administrator's
// edited inetd.conf, as openbsd-inetd does).
func TestDpkgInstall(t *testing.T) {
	needRoot(t)
	testenv.NeedTool(t, "dpkg-buildpackage", "dpkg-dev")
	testenv.NeedFile(t, "/usr/sbin/update-inetd", "update-inetd")
	debs := []string{buildDeb(t)}
	dir := t.TempDir()
	port := freePort(t)
	ov := filepath.Join(dir, "overlay")
	os.Mkdir(ov, 0o755)
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", dpkgScript, "sh", ov, debs[0], strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var out strings.Builder
	buf := make([]byte, 4096)
	pid := 0
	// Read the script's output as it goes, and check the service at each
	// marker while the script sleeps.
	seen := map[string]bool{}
	for {
		n, err := stdout.Read(buf)
		out.Write(buf[:n])
		text := out.String()
		if !seen["pid"] {
			if i := strings.Index(text, "== pid "); i >= 0 && strings.Contains(text[i:], "\n") {
				seen["pid"] = true
				pid, _ = strconv.Atoi(strings.TrimSpace(text[i+7 : i+strings.Index(text[i:], "\n")]))
				root, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", pid))
				if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) != "hinetd" || root != filepath.Join(ov, "root") {
					t.Errorf("after dpkg -i, /run/hinetd.pid names pid %d (%q), not a running hinetd", pid, comm)
				}
			}
		}
		if !seen["added"] && strings.Contains(text, "== added\n") {
			seen["added"] = true
			took := waitAnswers(t, addr, true, 1500*time.Millisecond)
			t.Logf("update-inetd --add: answering after %v", took)
		}
		if !seen["disabled"] && strings.Contains(text, "== disabled\n") {
			seen["disabled"] = true
			waitAnswers(t, addr, false, 1500*time.Millisecond)
		}
		if err != nil {
			break
		}
	}
	err := cmd.Wait()
	text := out.String()
	// Whatever happened, nothing from the copy stays running: the
	// processes whose root is the copy's are the test's own (pids are
	// reused by other hinetds on this machine; the root tells them apart).
	inCopy := func() []int {
		var pids []int
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			p, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if root, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", p)); root == filepath.Join(ov, "root") {
				pids = append(pids, p)
			}
		}
		return pids
	}
	defer func() {
		for _, p := range inCopy() {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}()
	if err != nil || !strings.Contains(text, "== end") {
		t.Fatalf("script: %v\n%s", err, text)
	}
	if left := inCopy(); len(left) > 0 {
		t.Errorf("processes still run in the copy after dpkg --purge: %v", left)
	}
	// What the purge left: files and links the copy did not have before
	// the install. Overlay artefacts are not left-overs: a whiteout ("c")
	// records a deletion, and a directory the machine itself has was
	// only copied up because something inside it changed.
	var unexpected []string
	for _, ln := range strings.Split(text[strings.Index(text, "== left")+len("== left"):strings.Index(text, "== end")], "\n") {
		typ, path, ok := strings.Cut(strings.TrimSpace(ln), " ")
		if !ok || typ == "c" || path == "./etc/inetd.conf" || path == "./sbin/runlevel" {
			continue
		}
		if fi, err := os.Stat(filepath.Join("/", path)); typ == "d" && err == nil && fi.IsDir() {
			continue
		}
		unexpected = append(unexpected, typ+" "+path)
	}
	if len(unexpected) > 0 {
		t.Errorf("dpkg --purge left %v\n%s", unexpected, text)
	}
	if t.Failed() {
		t.Logf("script output:\n%s", text)
	}
}
