//go:build cgo

// Package libwrapident is the oracle for hinetd's ident reply parser: the
// few lines of libwrap's rfc931.c (Debian tcp-wrappers 7.6.q) that read
// and parse an RFC 1413 reply, run by the C library itself - fgets into a
// 512-byte buffer, the same sscanf format, the same checks, the copy into
// a STRING_LENGTH (128) buffer. Only tests import it: FuzzIdentReply in
// internal/acl compares the Go parser with it byte for byte.
package libwrapident

/*
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// rfc931_reply is rfc931()'s handling of what the server sent, with the
// socket replaced by a memory stream holding those bytes. 1 and the user
// in dest (at least 128 bytes) when libwrap would take it, else 0.
static int rfc931_reply(const char *data, size_t len, unsigned cport, unsigned sport, char *dest) {
	unsigned rmt_port, our_port;
	char user[256], buffer[512], *cp;
	int ok = 0;
	FILE *fp = fmemopen((void *)data, len, "r");
	if (fp == NULL)
		return -1;
	setbuf(fp, NULL); // libwrap reads its socket unbuffered
	if (fgets(buffer, sizeof(buffer), fp) != 0
	    && ferror(fp) == 0 && feof(fp) == 0
	    && sscanf(buffer, "%u , %u : USERID :%*[^:]:%255s", &rmt_port, &our_port, user) == 3
	    && cport == rmt_port && sport == our_port) {
		if ((cp = strchr(user, '\r')) != NULL)
			*cp = 0;
		strncpy(dest, user, 127); // STRN_CPY(dest, result, STRING_LENGTH)
		dest[127] = 0;
		ok = 1;
	}
	fclose(fp);
	return ok;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Reply - the user libwrap takes from reply, the bytes an ident server
// sent for the query "cport,sport", and whether it takes one at all (if
// not, libwrap's user is "unknown").
func Reply(reply []byte, cport, sport uint16) (string, bool) {
	if len(reply) == 0 {
		return "", false // fgets at end of file; fmemopen refuses a size of 0
	}
	data := C.CBytes(reply)
	defer C.free(unsafe.Pointer(data))
	var dest [128]C.char
	switch C.rfc931_reply((*C.char)(data), C.size_t(len(reply)), C.unsigned(cport), C.unsigned(sport), &dest[0]) {
	case 1:
		return C.GoString(&dest[0]), true
	case 0:
		return "", false
	default:
		panic(fmt.Sprintf("fmemopen failed on %d bytes", len(reply)))
	}
}
