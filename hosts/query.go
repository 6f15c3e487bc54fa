package hosts

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// Query builds the requests that tcpdmatch(8) evaluates for its arguments
// "daemon[@server]" and "[user@]client", so that tools built on this
// package predict what tcpdmatch predicts:
//
//   - client "unknown" or "paranoid": that host name and no address;
//   - client address: that address, and the name lookup failed ("unknown");
//   - client name: one request per address of the name (forward lookup
//     through r), each with its name found by reverse lookup with forward
//     confirmation (VerifiedName), as tcpd would find it;
//   - server (default "unknown"): "unknown"/"paranoid" as for the client;
//     an address is looked up (reverse, confirmed); a name must have one
//     address and keeps the name given;
//   - user: the name given, default "unknown".
func Query(ctx context.Context, daemon, client string, r Resolver) ([]Request, error) {
	var base Request
	d, server, hasServer := strings.Cut(daemon, "@")
	if d == "" {
		return nil, fmt.Errorf("empty daemon name in %q", daemon)
	}
	base.Daemon = d
	base.ServerName = Unknown
	if hasServer && server != "" {
		switch a, err := netip.ParseAddr(server); {
		case !hostKnown(server):
			base.ServerName = lower(server)
		case err == nil:
			base.ServerAddr = a
			base.ServerName = VerifiedName(ctx, r, a)
		default:
			addrs, err := lookupHost(ctx, r, server)
			if err != nil {
				return nil, err
			}
			if len(addrs) != 1 {
				return nil, fmt.Errorf("%s has more than one address", server)
			}
			base.ServerAddr = addrs[0]
			base.ServerName = server
		}
	}
	base.User = Unknown
	// tcpdmatch splits user@client at the last "@".
	if i := strings.LastIndexByte(client, '@'); i >= 0 {
		base.User, client = client[:i], client[i+1:]
		if base.User == "" {
			base.User = Unknown
		}
	}
	if client == "" {
		return nil, fmt.Errorf("empty client")
	}
	if !hostKnown(client) {
		base.ClientName = lower(client)
		return []Request{base}, nil
	}
	if a, err := netip.ParseAddr(client); err == nil {
		base.ClientAddr = a
		base.ClientName = Unknown
		return []Request{base}, nil
	}
	addrs, err := lookupHost(ctx, r, client)
	if err != nil {
		return nil, err
	}
	var out []Request
	for _, a := range addrs {
		q := base
		q.ClientAddr = a
		q.ClientName = VerifiedName(ctx, r, a)
		out = append(out, q)
	}
	return out, nil
}

func lookupHost(ctx context.Context, r Resolver, name string) ([]netip.Addr, error) {
	if r == nil {
		return nil, fmt.Errorf("%s: host not found (no resolver)", name)
	}
	addrs, err := r.LookupHost(ctx, name)
	if err != nil || len(addrs) == 0 {
		return nil, fmt.Errorf("%s: host not found", name)
	}
	return addrs, nil
}
