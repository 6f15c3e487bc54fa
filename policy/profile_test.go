package policy

import (
	"slices"
	"testing"
)

// TestShippedProfiles: every shipped profile parses, and each server
// gets exactly the grants found with its real client
// (test/classic_test.go), by path, by base name, with the service's own
// section over it.
func TestShippedProfiles(t *testing.T) {
	tests := []struct {
		program string
		name    string   // Effective name
		caps    []string // capabilities granted
		allow   []string // seccomp-allow
		userEnv []string
	}{
		{"/usr/sbin/in.fingerd", "profile in.fingerd", nil, nil, nil},
		{"/usr/sbin/ftpd", "profile ftpd", []string{"CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT"}, []string{"chroot"}, nil},
		{"/usr/sbin/in.ftpd", "profile in.ftpd", []string{"CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT", "CAP_NET_BIND_SERVICE"}, []string{"chroot"}, nil},
		// netkit's in.ftpd where TestClassicNetkitFTP extracts it.
		{"/srv/x/usr/sbin/in.ftpd", "profile in.ftpd", []string{"CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT", "CAP_NET_BIND_SERVICE"}, []string{"chroot"}, nil},
		{"/usr/sbin/telnetd", "profile telnetd", []string{"CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER"}, []string{"keyctl"}, nil},
		{"/usr/sbin/in.tftpd", "profile in.tftpd", []string{"CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT"}, []string{"chroot"}, nil},
		{"/usr/sbin/popa3d", "profile popa3d", []string{"CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT"}, []string{"chroot"}, nil},
		{"/usr/lib/dovecot/imap", "profile dovecot-imap", nil, nil, []string{"USER", "HOME"}},
		{"/usr/sbin/in.rexecd", "profile in.rexecd", []string{"CAP_SETUID", "CAP_SETGID"}, nil, nil},
		{"/usr/sbin/in.rlogind", "profile in.rlogind", []string{"CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER"}, []string{"keyctl"}, nil},
		{"/usr/sbin/in.rshd", "profile in.rshd", []string{"CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE"}, nil, nil},
		{"/usr/sbin/in.talkd", "profile in.talkd", nil, nil, nil},
		{"/usr/sbin/in.ntalkd", "profile in.talkd", nil, nil, nil},
		{"/usr/sbin/bootpd", "profile bootpd", nil, nil, nil},
		{"/usr/sbin/bootpgw", "profile bootpd", nil, nil, nil},
		// By base name, wherever it is installed.
		{"/opt/bin/in.rexecd", "profile in.rexecd", []string{"CAP_SETUID", "CAP_SETGID"}, nil, nil},
		// No profile: the secure default.
		{"/usr/sbin/in.nonesuchd", "built-in", nil, nil, nil},
		// dovecot's imap by path only.
		{"/opt/bin/imap", "built-in", nil, nil, nil},
	}
	var s Set
	for _, tt := range tests {
		r := s.EffectiveFor(Service{Name: "x", Program: tt.program})
		if r.Name != tt.name {
			t.Errorf("%s: profile %q, want %q", tt.program, r.Name, tt.name)
		}
		caps := slices.Clone(r.Caps.Value)
		want := slices.Clone(tt.caps)
		slices.Sort(caps)
		slices.Sort(want)
		if !slices.Equal(caps, want) && !(len(caps) == 0 && len(want) == 0) {
			t.Errorf("%s: caps %v, want %v", tt.program, caps, want)
		}
		if !slices.Equal(r.SeccompAllow.Value, tt.allow) {
			t.Errorf("%s: seccomp-allow %v, want %v", tt.program, r.SeccompAllow.Value, tt.allow)
		}
		if !slices.Equal(r.UserEnv.Value, tt.userEnv) {
			t.Errorf("%s: user-env %v, want %v", tt.program, r.UserEnv.Value, tt.userEnv)
		}
	}

	// The administrator's section wins, key by key.
	own := mustParse(t, "[service ftp]\ncaps CAP_SETUID CAP_SETGID\nrlimit fsize infinity\n")
	r := own.EffectiveFor(Service{Name: "ftp", Program: "/usr/sbin/ftpd"})
	if r.Name != "ftp over profile ftpd" || len(r.Caps.Value) != 2 || !slices.Equal(r.SeccompAllow.Value, []string{"chroot"}) {
		t.Errorf("[service ftp] over the ftpd profile: %s, caps %v, allow %v", r.Name, r.Caps.Value, r.SeccompAllow.Value)
	}
}

// TestUserEnv: user-env sets USER and HOME from the service's user, and an
// env of the same name wins.
func TestUserEnv(t *testing.T) {
	s := mustParse(t, "[service imap2]\nenv HOME=/var/empty\n")
	sp, _, err := s.CompileWith(Service{Name: "imap2", User: "root", Program: "/usr/lib/dovecot/imap"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(sp.Env, "USER=root") || !slices.Contains(sp.Env, "HOME=/var/empty") {
		t.Errorf("env %q, want USER=root and HOME=/var/empty", sp.Env)
	}
	if _, err := Parse("p", []byte("[default]\nuser-env PATH\n")); err == nil || err.Error() != `p:2: user-env "PATH": expect USER, LOGNAME, HOME, SHELL` {
		t.Errorf("user-env PATH: %v", err)
	}
}
