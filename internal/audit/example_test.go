package audit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/hinetd/hinetd/internal/audit"
)

// The daemon's side: open the sinks, record decisions, close.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	l, err := audit.Open([]string{"file://" + dir + "/audit.jsonl"}, audit.Options{SpillDir: dir + "/spool"})
	if err != nil {
		fmt.Println(err)
		return
	}
	conn := audit.Event{Service: "telnet", Proto: "tcp", ConnID: 1,
		Client: netip.MustParseAddrPort("192.0.2.7:40001"), Local: netip.MustParseAddrPort("192.0.2.1:23")}
	acc := conn
	acc.Kind = audit.KindAccept
	l.Emit(acc)
	deny := conn
	deny.Kind = audit.KindDeny
	deny.Fields = []audit.Field{{Key: audit.KeyRule, Value: "hosts.deny:3"}, {Key: audit.KeyRuleText, Value: "in.telnetd: ALL"}}
	l.Deny(deny) // summarised above Options.DenyPerSecond

	slog.New(l.Handler(slog.LevelInfo)).Info("reloaded", "services", 4)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		fmt.Println(err)
	}
	st := l.Stats()[0]
	fmt.Println(st.Emitted, st.Delivered, st.Dropped)
	// Output: 3 3 0
}

func ExampleFormatter_Append() {
	ev := audit.Event{Kind: audit.KindExit, Time: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
		Service: "ftp", Proto: "tcp", ConnID: 42,
		Fields: []audit.Field{audit.Int(audit.KeyPID, 4242), {Key: audit.KeySignal, Value: "SIGSYS"},
			{Key: audit.KeySyscall, Value: "ptrace"}, audit.Dur(audit.KeyDuration, 1500*time.Millisecond)}}
	f := audit.Formatter{Hostname: "gw1", ProcID: "812"}
	fmt.Println(string(f.Append(nil, &ev, 7)))
	// Output: <30>1 2026-11-26T10:00:00.000000Z gw1 hinetd 812 exit [hinetd@32473 kind="exit" service="ftp" proto="tcp" conn="42" pid="4242" signal="SIGSYS" syscall="ptrace" duration="1.5s"][meta sequenceId="7"] exit ftp/tcp conn=42 pid=4242 signal=SIGSYS syscall=ptrace duration=1.5s
}
