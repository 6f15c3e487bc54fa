package seccomp

import (
	"encoding/binary"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// A small classic-BPF interpreter for seccomp programs: what the kernel
// would return for one seccomp_data, without loading anything. Compile
// uses it to check each program it produces against the invariants no
// policy may lift (Verify); the tests run every syscall through it.

// Values of struct seccomp_data and of a filter's return, for Eval.
const (
	AuditArchX8664 = 0xc000003e
	AuditArchI386  = 0x40000003
	X32SyscallBit  = 0x40000000

	RetKillProcess = 0x80000000
	RetErrno       = 0x00050000
	RetLog         = 0x7ffc0000
	RetAllow       = 0x7fff0000
	RetActionMask  = 0xffff0000
)

// Data is struct seccomp_data: what a filter sees of one system call.
type Data struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

// dataSize is sizeof(struct seccomp_data).
const dataSize = 64

// word - the 32-bit word at byte offset off of d, as "ld [off]" reads it.
// The offset check is written so that it cannot wrap: off+4 overflows
// for off >= 0xfffffffc, which once let "ld [0xfffffffc]" through to an
// index out of range.
func (d *Data) word(off uint32) (uint32, error) {
	if off%4 != 0 || off > dataSize-4 {
		return 0, fmt.Errorf("load at bad offset %#x", off)
	}
	var b [dataSize]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(d.Nr))
	binary.LittleEndian.PutUint32(b[4:], d.Arch)
	binary.LittleEndian.PutUint64(b[8:], d.IP)
	for i, a := range d.Args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return binary.LittleEndian.Uint32(b[off:]), nil
}

// Eval returns the program's verdict for d, or an error for an
// instruction it does not handle, a bad load or a program that runs off
// its end.
func Eval(prog []byte, d Data) (uint32, error) {
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
			if uint64(k) >= uint64(n-pc) {
				return 0, fmt.Errorf("pc %d: jump past the end", pc-1)
			}
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
			return 0, fmt.Errorf("pc %d: %w", pc-1, err)
		}
	}
	return 0, fmt.Errorf("program ran off its end or looped")
}

// Verify checks the invariants every program must keep whatever its
// policy says, on x86_64 where the numbers are known: another
// architecture and the x32 ABI kill the process, clone3 fails with
// ENOSYS, clone and unshare with CLONE_NEWUSER are not allowed. It guards
// against a libseccomp that would lay the program out differently.
func Verify(prog []byte) error {
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
		d    Data
		ok   func(uint32) bool
	}{
		{"i386 call", Data{Nr: 20, Arch: AuditArchI386}, func(v uint32) bool { return v == RetKillProcess }},
		{"x32 call", Data{Nr: X32SyscallBit | sysGetpid, Arch: AuditArchX8664}, func(v uint32) bool { return v == RetKillProcess }},
		{"clone3", Data{Nr: sysClone3, Arch: AuditArchX8664}, func(v uint32) bool { return v == RetErrno|uint32(unix.ENOSYS) }},
		{"clone(CLONE_NEWUSER)", Data{Nr: sysClone, Arch: AuditArchX8664, Args: [6]uint64{unix.CLONE_NEWUSER}}, func(v uint32) bool { return v&RetActionMask != RetAllow }},
		{"unshare(CLONE_NEWUSER)", Data{Nr: sysUnshare, Arch: AuditArchX8664, Args: [6]uint64{unix.CLONE_NEWUSER}}, func(v uint32) bool { return v&RetActionMask != RetAllow }},
	}
	for _, tt := range tests {
		v, err := Eval(prog, tt.d)
		if err != nil {
			return fmt.Errorf("program check: %s: %w", tt.what, err)
		}
		if !tt.ok(v) {
			return fmt.Errorf("program check: %s gets %#x", tt.what, v)
		}
	}
	return nil
}
