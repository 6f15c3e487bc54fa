package config

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/user"
	"strconv"
	"time"
)

// The system lookups used when Options leaves a field nil.

const resolveTimeout = 5 * time.Second

func systemService(name, proto string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	return net.DefaultResolver.LookupPort(ctx, proto, name)
}

func systemUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil && isDigits(name) {
		u, err = user.LookupId(name)
		// getpwuid takes a 32-bit uid_t: "4294967296" wraps to 0 and
		// finds root. Accept a number only if it comes back unchanged.
		if err == nil && u.Uid != name {
			err = fmt.Errorf("uid %s out of range", name)
		}
	}
	if err != nil {
		return 0, 0, err
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, err
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, err
	}
	return uid, gid, nil
}

func systemGroup(name string) (gid int, err error) {
	g, err := user.LookupGroup(name)
	if err != nil && isDigits(name) {
		g, err = user.LookupGroupId(name)
		// As for uids: a gid that wraps must not find group 0.
		if err == nil && g.Gid != name {
			err = fmt.Errorf("gid %s out of range", name)
		}
	}
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

func systemHost(name string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", name)
}
