package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/hosts"
	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/policy"
)

// nobody is who spawn and twist commands run as when the service itself
// runs as root: a shell command built from network data never runs as root.
const nobodyID = 65534

// applyOptions carries out the deciding rule's hosts_options(5), in the
// order libwrap applies them. It returns true when twist replaced the
// server (the connection is then handled, whatever the verdict).
func (d *Daemon) applyOptions(s *service, c *conn, fd int, dec hosts.Decision) (twisted bool) {
	o := dec.Options
	req := dec.Request
	if fd >= 0 {
		if o.Keepalive {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
		}
		if o.HasLinger {
			unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER,
				&unix.Linger{Onoff: 1, Linger: int32(o.Linger.Seconds())})
		}
		if o.Banners != "" {
			d.sendBanner(s, c, fd, o.Banners, req)
		}
	}
	// setenv, umask, user and nice change how this connection's server is
	// started: a spec derived from the service's.
	if s.spec != nil && (len(o.Setenv) > 0 || o.HasUmask || o.User != "" || o.HasNice) {
		spec, err := deriveSpec(s.spec, o, req)
		if err != nil {
			d.event(audit.KindConfigError, s, c, fmt.Sprintf("%s:%d: %v", dec.File, dec.Line, err))
		} else {
			c.spec = spec
		}
	}
	for _, tmpl := range o.Spawn {
		d.shellCommand(s, c, hosts.Expand(tmpl, req), -1, "spawn")
	}
	if o.Twist != "" && fd >= 0 {
		d.shellCommand(s, c, hosts.Expand(o.Twist, req), fd, "twist")
		return true
	}
	return false
}

// sendBanner copies dir/<daemon> to the client with % expansion, as
// libwrap's banners option does. A missing file is not an error (libwrap
// sends nothing either).
func (d *Daemon) sendBanner(s *service, c *conn, fd int, dir string, req hosts.Request) {
	b, err := os.ReadFile(filepath.Join(dir, s.cfg.DaemonName()))
	if err != nil {
		return
	}
	text := hosts.Expand(string(b), req)
	for off := 0; off < len(text); {
		n, err := unix.Write(fd, []byte(text[off:]))
		if err != nil || n <= 0 {
			return
		}
		off += n
	}
}

// shellCommand runs cmd with /bin/sh -c in a confined child, never as root:
// on fd (twist: the connection) or on /dev/null (spawn).
func (d *Daemon) shellCommand(s *service, c *conn, cmd string, fd int, what string) {
	base := s.spec
	if base == nil {
		var err error
		base, _, err = d.pol.CompileWith(policy.Service{Name: s.cfg.Name, User: "nobody",
			Program: "/bin/sh", Args: []string{"sh"}}, config.CompileOptions(&filters))
		if err != nil {
			d.event(audit.KindSpawnFail, s, c, what+": "+err.Error(), str(audit.KeyStep, "policy"))
			return
		}
	}
	cc := &conn{id: d.nextID.Add(1), svc: s, client: c.client, local: c.local, start: c.start,
		severity: c.severity, facility: c.facility, spec: commandSpec(base, what, cmd), oneShot: true}
	if fd < 0 {
		null, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			d.event(audit.KindSpawnFail, s, cc, what+": "+err.Error(), str(audit.KeyStep, "open"))
			return
		}
		defer unix.Close(null)
		fd = null
	}
	d.event(audit.KindLog, s, cc, what+" command for conn="+strconv.FormatUint(c.id, 10), str("command", cmd))
	d.spawn(s, cc, fd)
}

// commandSpec is the spec of a spawn or twist (what) command cmd: base's
// confinement, /bin/sh -c cmd, no capabilities, and never root (a shell
// command built from network data).
func commandSpec(base *policy.Spec, what, cmd string) *policy.Spec {
	spec := *base
	spec.Path, spec.Argv = "/bin/sh", []string{"sh", "-c", cmd}
	spec.KeepCaps = nil
	if spec.SwitchIDs && spec.UID == 0 {
		spec.UID, spec.GID, spec.Groups = nobodyID, nobodyID, nil
	}
	spec.Hash = hashOf(base.Hash, what, cmd)
	return &spec
}

// deriveSpec applies setenv, umask, user and nice to a copy of spec.
func deriveSpec(base *policy.Spec, o *hosts.Options, req hosts.Request) (*policy.Spec, error) {
	spec := *base
	var mods []string
	if len(o.Setenv) > 0 {
		spec.Env = append([]string(nil), base.Env...)
		for _, tmpl := range o.Setenv {
			name, value := hosts.SplitSetenv(hosts.Expand(tmpl, req))
			if name == "" || strings.ContainsAny(name, "=\x00") {
				return nil, fmt.Errorf("setenv: bad variable name %q", name)
			}
			spec.Env = setEnv(spec.Env, name, value)
			mods = append(mods, "env:"+name+"="+value)
		}
	}
	if o.HasUmask {
		spec.Umask = int(o.Umask)
		mods = append(mods, fmt.Sprintf("umask:%o", o.Umask))
	}
	if o.HasNice {
		spec.Nice = o.Nice
		mods = append(mods, "nice:"+strconv.Itoa(o.Nice))
	}
	if o.User != "" {
		if !spec.SwitchIDs {
			return nil, fmt.Errorf("user %s: hinetd runs without root and cannot switch users", o.User)
		}
		u, err := user.Lookup(o.User)
		if err != nil {
			return nil, fmt.Errorf("user %s: %w", o.User, err)
		}
		spec.UID, _ = strconv.Atoi(u.Uid)
		spec.GID, _ = strconv.Atoi(u.Gid)
		if o.Group != "" {
			g, err := user.LookupGroup(o.Group)
			if err != nil {
				return nil, fmt.Errorf("group %s: %w", o.Group, err)
			}
			spec.GID, _ = strconv.Atoi(g.Gid)
		}
		spec.Groups = nil
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				if n, err := strconv.Atoi(id); err == nil {
					spec.Groups = append(spec.Groups, n)
				}
			}
		}
		spec.KeepCaps = nil // a user switch by a rule never carries capabilities
		mods = append(mods, fmt.Sprintf("user:%d:%d", spec.UID, spec.GID))
	}
	spec.Hash = hashOf(append([]string{base.Hash}, mods...)...)
	return &spec, nil
}

func setEnv(env []string, name, value string) []string {
	for i, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			env[i] = name + "=" + value
			return env
		}
	}
	return append(env, name+"="+value)
}

func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
