package test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestUserEnvShell: user-env sets USER, LOGNAME, HOME and SHELL from the
// inetd.conf user's passwd entry (SHELL from /etc/passwd itself: os/user
// does not give the shell), and a server gets none of them without it.
func TestUserEnvShell(t *testing.T) {
	needRoot(t)
	p := probe(t)
	name := fmt.Sprintf("hinetd-e%d", os.Getpid()%100000)
	home := "/srv/" + name // not created: only its name is passed on
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", home,
		"--shell", "/bin/dash", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	port, plain := freePort(t), freePort(t)
	startDaemonWith(t, nil, map[string]string{
		"policy/env.policy": fmt.Sprintf("[service 127.0.0.1:%d]\nuser-env USER LOGNAME HOME SHELL\n", port),
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait %s %s probe\n127.0.0.1:%d stream tcp nowait %s %s probe\n",
		port, name, p, plain, name, p))
	env := report(string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), nil)))["env"]
	for _, want := range []string{"USER=" + name, "LOGNAME=" + name, "HOME=" + home, "SHELL=/bin/dash"} {
		if !strings.Contains("\n"+env, "\n"+want+"\n") {
			t.Errorf("no %s in the environment:\n%s", want, env)
		}
	}
	env = report(string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", plain), nil)))["env"]
	for _, k := range []string{"USER=", "LOGNAME=", "HOME=", "SHELL="} {
		if strings.Contains("\n"+env, "\n"+k) {
			t.Errorf("%s without user-env:\n%s", k, env)
		}
	}
}
