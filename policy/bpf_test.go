package policy

import "testing"

// TestVerifyProgram: the program check refuses a program that lets x32
// or a new user namespace through.
func TestVerifyProgram(t *testing.T) {
	sp := compileDefault(t)
	if err := verifyProgram(sp.Seccomp); err != nil {
		t.Fatalf("default program: %v", err)
	}
	allowAll := []byte{0x06, 0, 0, 0, 0x00, 0x00, 0xff, 0x7f} // ret ALLOW
	if err := verifyProgram(allowAll); err == nil || err.Error() != "program check: i386 call gets 0x7fff0000" {
		t.Errorf("allow-all program: %v", err)
	}
	if err := verifyProgram(allowAll[:4]); err == nil {
		t.Error("truncated program passed")
	}
}
