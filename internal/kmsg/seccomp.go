package kmsg

import "time"

// Seccomp is one seccomp audit record (type 1326): a process that made a
// system call outside its filter. The zero value is no record.
type Seccomp struct {
	PID     int
	Comm    string // the process's name, as the record quotes it
	Exe     string // its program
	Syscall string // the system call's name
	// Action is what the filter did: "kill" (SECCOMP_RET_KILL_PROCESS or
	// _THREAD), "log" (SECCOMP_RET_LOG: let through), "errno", "trap",
	// "trace", "user-notif", or the code in hex.
	Action string
	At     time.Time // when the kernel logged it
}
