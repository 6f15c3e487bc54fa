package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The peers. Each gets its own limits raised far above what the benchmark
// reaches, so that its limiter is not what is measured, and no DNS or ident
// lookups (none of the inetds does one by default; tcpserver does both unless
// told not to, tcpsvd only with -h).

func forkexecServer() server {
	return server{name: "C fork+exec", expect: "hello", start: func(e *env, dir string, port int) (*exec.Cmd, error) {
		return exec.Command(filepath.Join(e.out, "forkexec"), "127.0.0.1", strconv.Itoa(port), filepath.Join(dir, "hello"), "hello"), nil
	}}
}

func acceptcloseServer() server {
	return server{name: "C accept+close", expect: "empty", nMul: 4, start: func(e *env, dir string, port int) (*exec.Cmd, error) {
		return exec.Command(filepath.Join(e.out, "acceptclose"), "127.0.0.1", strconv.Itoa(port)), nil
	}}
}

// xinetd: one service, unlimited instances and per-source, cps far above
// reach; no log_type, so it logs nothing per connection (xinetd's default
// when neither the service nor a defaults section sets one).
func xinetdServer() server {
	return server{name: "xinetd", expect: "hello", start: func(e *env, dir string, port int) (*exec.Cmd, error) {
		bin, err := exec.LookPath("xinetd")
		if err != nil {
			return nil, errors.New("xinetd not installed (apt-get install xinetd)")
		}
		conf := fmt.Sprintf(`defaults
{
	instances = UNLIMITED
	per_source = UNLIMITED
	cps = 1000000 1
}

service hello-bench
{
	type = UNLISTED
	id = hello-bench
	socket_type = stream
	protocol = tcp
	port = %d
	bind = 127.0.0.1
	wait = no
	user = root
	server = %s
	instances = UNLIMITED
	per_source = UNLIMITED
	cps = 1000000 1
	flags = REUSE
}
`, port, filepath.Join(dir, "hello"))
		if err := os.WriteFile(filepath.Join(dir, "xinetd.conf"), []byte(conf), 0o644); err != nil {
			return nil, err
		}
		return exec.Command(bin, "-dontfork", "-f", filepath.Join(dir, "xinetd.conf"), "-pidfile", filepath.Join(dir, "xinetd.pid")), nil
	}}
}

// OpenBSD inetd (Debian's openbsd-inetd, unpacked, never installed: it
// conflicts with xinetd). -i: do not daemonize (not -d, which is its debug
// mode); -R and nowait.N: invocations per minute far above reach; -q: a
// listen queue like the others'. It writes /run/inetd.pid unconditionally,
// so it runs in its own mount namespace with a private tmpfs on /run, where
// that write cannot touch the host's.
func obsdServer() server {
	return server{name: "OpenBSD inetd", expect: "hello", start: func(e *env, dir string, port int) (*exec.Cmd, error) {
		return obsdCmd(e, dir, port, "", nil)
	}}
}

// obsdCmd - the OpenBSD inetd command line, in its mount namespace; mounts
// are more shell commands run there first, flags more inetd flags.
func obsdCmd(e *env, dir string, port int, mounts string, flags []string) (*exec.Cmd, error) {
	if e.obsd == "" {
		return nil, errors.New("openbsd-inetd not unpacked (make -C test/bench fetches it with apt-get download)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, errors.New("unshare(1) missing")
	}
	conf := fmt.Sprintf("127.0.0.1:%d stream tcp nowait.100000000 root %s hello\n", port, filepath.Join(dir, "hello"))
	if err := os.WriteFile(filepath.Join(dir, "inetd.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	args := []string{"--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs none /run && ` + mounts + `exec "$@"`, "sh",
		e.obsd, "-i", "-R", "100000000", "-q", "1024"}
	args = append(args, flags...)
	args = append(args, filepath.Join(dir, "inetd.conf"))
	return exec.Command(unshare, args...), nil
}

// tcpserver: -c concurrency, -b backlog; -R no ident lookup, -H no DNS
// lookup of the client, -P not paranoid, -l 0 no DNS lookup of itself.
func tcpserverServer() server {
	return server{name: "tcpserver", expect: "hello", start: func(e *env, dir string, port int) (*exec.Cmd, error) {
		bin, err := exec.LookPath("tcpserver")
		if err != nil {
			return nil, errors.New("tcpserver not installed (apt-get install ucspi-tcp)")
		}
		return exec.Command(bin, "-c", "100000", "-b", "1024", "-R", "-H", "-P", "-l", "0",
			"127.0.0.1", strconv.Itoa(port), filepath.Join(dir, "hello")), nil
	}}
}

// tcpsvd: -c concurrency, -b backlog, -l 0 no DNS lookup of itself (it looks
// the client up only with -h).
func tcpsvdServer() server {
	return server{name: "tcpsvd", expect: "hello", start: func(e *env, dir string, port int) (*exec.Cmd, error) {
		bin, err := exec.LookPath("tcpsvd")
		if err != nil {
			return nil, errors.New("tcpsvd not installed (apt-get install ipsvd)")
		}
		return exec.Command(bin, "-c", "100000", "-b", "1024", "-l", "0",
			"127.0.0.1", strconv.Itoa(port), filepath.Join(dir, "hello")), nil
	}}
}

// hinetdSetup is one way to run hinetd: the service line's fields and the
// files around it. The zero value is the plain spawn path: user root, no
// limit reached, empty hosts files, the default policy.
type hinetdSetup struct {
	user      string // "" = root
	waitField string // "" = nowait/100000 (max-child; no per-source limit: hinetd takes no 0 for "none")
	program   string // "" = hello
	hostsDeny string // hosts.deny contents
	policy    map[string]string
	flags     []string // more daemon flags
	// needs names a daemon flag this set-up cannot do without.
	needs func(hinetdFlags) error
}

func hinetdServer(name, expect string, hs hinetdSetup) server {
	return server{name: name, expect: expect, start: func(e *env, dir string, port int) (*exec.Cmd, error) {
		if e.hinetd == "" {
			return nil, errors.New("bin/hinetd not built yet (make build)")
		}
		if hs.needs != nil {
			if err := hs.needs(e.hflags); err != nil {
				return nil, err
			}
		}
		user, wait, prog := hs.user, hs.waitField, hs.program
		if user == "" {
			user = "root"
		}
		if wait == "" {
			wait = "nowait/100000"
		}
		if prog == "" {
			prog = "hello"
		}
		conf := fmt.Sprintf("127.0.0.1:%d stream tcp %s %s %s %s\n", port, wait, user, filepath.Join(dir, prog), prog)
		files := map[string]string{"inetd.conf": conf, "hosts.allow": "", "hosts.deny": hs.hostsDeny}
		for k, v := range files {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
				return nil, err
			}
		}
		args := []string{"-d", "-p", filepath.Join(dir, "hinetd.pid")}
		if e.hflags.rate {
			args = append(args, "-R", "100000000")
		}
		if e.hflags.hostsAllow {
			args = append(args, "--hosts-allow", filepath.Join(dir, "hosts.allow"), "--hosts-deny", filepath.Join(dir, "hosts.deny"))
		} else if hs.hostsDeny != "" {
			return nil, errors.New("this hinetd has no --hosts-deny flag yet")
		}
		if e.hflags.policy {
			pdir := filepath.Join(dir, "policy")
			if err := os.Mkdir(pdir, 0o755); err != nil {
				return nil, err
			}
			for k, v := range hs.policy {
				if err := os.WriteFile(filepath.Join(pdir, k), []byte(v), 0o644); err != nil {
					return nil, err
				}
			}
			args = append(args, "--policy", pdir)
		}
		if e.hflags.spoolDir {
			// The audit spool is locked per sink: hinetds side by side each
			// need their own.
			args = append(args, "--spool-dir", filepath.Join(dir, "spool"))
		}
		for _, f := range hs.flags {
			f = strings.ReplaceAll(f, "{dir}", dir)
			if strings.Contains(f, "{auxport}") {
				// The port a helper (stalledAux) listens on.
				b, err := os.ReadFile(filepath.Join(dir, "aux.port"))
				if err != nil {
					return nil, err
				}
				f = strings.ReplaceAll(f, "{auxport}", strings.TrimSpace(string(b)))
			}
			args = append(args, f)
		}
		args = append(args, filepath.Join(dir, "inetd.conf"))
		cmd := exec.Command(e.hinetd, args...)
		// Builds without --spool-dir kept the spool in $TMPDIR.
		cmd.Env = append(os.Environ(), "TMPDIR="+dir)
		return cmd, nil
	}}
}

// holdOne fills a per-source concurrency limit of 1 for 127.0.0.1: one
// connection to the hold service, kept open until the returned func runs.
func holdOne(addr string) (func(), error) {
	var last error
	for i := 0; i < 40; i++ {
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err != nil {
			last = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		var buf [6]byte
		n, err := c.Read(buf[:])
		if string(buf[:n]) == "hello\n" {
			_ = c.SetReadDeadline(time.Time{})
			return func() { c.Close() }, nil
		}
		// Refused: the ready probe's own hold child has not exited yet.
		c.Close()
		last = fmt.Errorf("got %q: %v", buf[:n], err)
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("could not hold a connection: %v", last)
}
