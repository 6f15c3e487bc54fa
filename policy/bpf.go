package policy

import (
	"encoding/binary"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// A small classic-BPF interpreter for seccomp programs: what the kernel
// would return for one seccomp_data, without loading anything. Compile
// uses it to check each program it produces against the invariants no
// policy may lift (verifyProgram); the tests run every syscall through it.

const (
	auditArchX8664 = 0xc000003e
	auditArchI386  = 0x40000003
	x32SyscallBit  = 0x40000000

	retKillProcess = 0x80000000
	retErrno       = 0x00050000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
	retActionMask  = 0xffff0000
)

type seccompData struct {
	nr   int32
	arch uint32
	ip   uint64
	args [6]uint64
}

func (d *seccompData) word(off uint32) (uint32, error) {
	var b [64]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(d.nr))
	binary.LittleEndian.PutUint32(b[4:], d.arch)
	binary.LittleEndian.PutUint64(b[8:], d.ip)
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	if off%4 != 0 || off+4 > 64 {
		return 0, fmt.Errorf("load at bad offset %d", off)
	}
	return binary.LittleEndian.Uint32(b[off:]), nil
}

// runBPF returns the program's verdict for d.
func runBPF(prog []byte, d seccompData) (uint32, error) {
	n := len(prog) / 8
	var a, x uint32
	var mem [16]uint32
	for pc, steps := 0, 0; pc < n && steps < 10000; steps++ {
		ins := prog[pc*8:]
		code := binary.LittleEndian.Uint16(ins[0:])
		jt, jf := int(ins[2]), int(ins[3])
		k := binary.LittleEndian.Uint32(ins[4:])
		pc++
		var err error
		switch code {
		case 0x20: // ld [k]
			a, err = d.word(k)
		case 0x00: // ld #k
			a = k
		case 0x01: // ldx #k
			x = k
		case 0x60: // ld M[k]
			a = mem[k%16]
		case 0x61: // ldx M[k]
			x = mem[k%16]
		case 0x02: // st M[k]
			mem[k%16] = a
		case 0x03: // stx M[k]
			mem[k%16] = x
		case 0x54: // and #k
			a &= k
		case 0x44: // or #k
			a |= k
		case 0x07: // tax
			x = a
		case 0x87: // txa
			a = x
		case 0x05: // ja k
			pc += int(k)
		case 0x15, 0x25, 0x35, 0x45: // jeq, jgt, jge, jset #k
			var c bool
			switch code {
			case 0x15:
				c = a == k
			case 0x25:
				c = a > k
			case 0x35:
				c = a >= k
			case 0x45:
				c = a&k != 0
			}
			if c {
				pc += jt
			} else {
				pc += jf
			}
		case 0x06: // ret #k
			return k, nil
		case 0x16: // ret a
			return a, nil
		default:
			return 0, fmt.Errorf("pc %d: opcode %#x not handled", pc-1, code)
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("program ran off its end or looped")
}

// verifyProgram checks the invariants every program must keep whatever
// its policy says, on x86_64 where the numbers are known: another
// architecture and the x32 ABI kill the process, clone3 fails with
// ENOSYS, clone and unshare with CLONE_NEWUSER are not allowed. It guards
// against a libseccomp that would lay the program out differently.
func verifyProgram(prog []byte) error {
	if runtime.GOARCH != "amd64" {
		return nil
	}
	const (
		sysClone   = 56
		sysUnshare = 272
		sysClone3  = 435
		sysGetpid  = 39
	)
	tests := []struct {
		what string
		d    seccompData
		ok   func(uint32) bool
	}{
		{"i386 call", seccompData{nr: 20, arch: auditArchI386}, func(v uint32) bool { return v == retKillProcess }},
		{"x32 call", seccompData{nr: x32SyscallBit | sysGetpid, arch: auditArchX8664}, func(v uint32) bool { return v == retKillProcess }},
		{"clone3", seccompData{nr: sysClone3, arch: auditArchX8664}, func(v uint32) bool { return v == retErrno|uint32(unix.ENOSYS) }},
		{"clone(CLONE_NEWUSER)", seccompData{nr: sysClone, arch: auditArchX8664, args: [6]uint64{unix.CLONE_NEWUSER}}, func(v uint32) bool { return v&retActionMask != retAllow }},
		{"unshare(CLONE_NEWUSER)", seccompData{nr: sysUnshare, arch: auditArchX8664, args: [6]uint64{unix.CLONE_NEWUSER}}, func(v uint32) bool { return v&retActionMask != retAllow }},
	}
	for _, tt := range tests {
		v, err := runBPF(prog, tt.d)
		if err != nil {
			return fmt.Errorf("program check: %s: %w", tt.what, err)
		}
		if !tt.ok(v) {
			return fmt.Errorf("program check: %s gets %#x", tt.what, v)
		}
	}
	return nil
}
