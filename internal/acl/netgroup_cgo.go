//go:build cgo

package acl

/*
#include <netdb.h>
#include <stdlib.h>
*/
import "C"

import (
	"sync"
	"unsafe"
)

// innetgrMu serialises innetgr(3), which glibc marks MT-Unsafe.
var innetgrMu sync.Mutex

// SystemNetgroups answers netgroup membership through innetgr(3), that is
// through nsswitch.conf's "netgroup" sources, as libwrap does: host only,
// no user, no domain (libwrap passes the NIS default domain, which is
// unset without NIS). It may block on NIS/LDAP: call it off the accept
// path (netgroup patterns need the client's name, so a decision that
// reaches one has already left it).
type SystemNetgroups struct{}

// InNetgroup implements hosts.Netgroups.
func (SystemNetgroups) InNetgroup(group, host string) bool {
	cg, ch := C.CString(group), C.CString(host)
	defer C.free(unsafe.Pointer(cg))
	defer C.free(unsafe.Pointer(ch))
	innetgrMu.Lock()
	defer innetgrMu.Unlock()
	return C.innetgr(cg, ch, nil, nil) == 1
}
