// Package limits decides, for every accepted connection or received datagram
// and before any ACL name lookup or spawn, whether the per-service, per-client
// and global limits let it through. It is pure: no sockets, no logging, no
// clock of its own (the caller passes the time in), and it keeps its
// per-client state in a fixed amount of memory whatever the spread of client
// addresses.
//
// # Limits
//
// Per service ([ServiceLimits]; 0 means "no limit" for every field, the
// daemon fills its -c/-C/-R defaults in before calling [Limiter.Service]):
//
//   - MaxChild (inetd.conf max-child, xinetd instances): concurrent children
//     of the service. Refused as "max-child".
//   - CPS and Burst: connection rate of the service, a token bucket of Burst
//     tokens refilled at CPS per second. Excess is refused as "cps". With
//     CPSWait > 0 this is xinetd's "cps = rate wait": the first excess
//     connection also pauses the service for CPSWait.
//   - RatePerMin (-R, OpenBSD nowait.N): invocations per minute, counted over
//     a one-minute window that opens at the first invocation. The invocation
//     over the cap is refused as "invocations-per-minute" and pauses the
//     service (BSD inetd's looping guard). The first pause lasts
//     [LoopPauseMin] (10 s); a service that trips again less than
//     [LoopQuiet] (1 min) after its previous pause ended gets twice the
//     previous pause, up to [LoopPauseMax] (10 min, BSD's RETRYTIME); after a
//     quiet minute the pause is back to 10 s. A caller that keeps calling
//     Admit during a pause (shedding: accept and close) lets the limiter see
//     the overload end: if fewer than RatePerMin/6 connections arrived in the
//     last 10 s of the pause, the next one ends the pause early
//     (Refusal.Resumed) and the pause length is reset.
//
// Per client, per service: a client is its IPv4 address, or its IPv6 address
// cut to [Config.IPv6Prefix] bits (default /64, so rotating addresses inside
// one /64 does not evade a limit). IPv4-mapped IPv6 addresses count as the
// IPv4 address. An invalid address (a unix socket peer) has no per-client
// limits.
//
//   - MaxChildPerSource (max-child-per-ip, xinetd per_source): concurrent
//     children from one client. Refused as "max-child-per-ip".
//   - ConnPerSourcePerMin (max-conn-per-ip-per-minute, -C): admitted
//     connections per client in a one-minute window that opens at the
//     client's first admitted connection. Refused as
//     "max-conn-per-ip-per-minute".
//   - SourceRate and SourceBurst: a token bucket per client, meant for
//     datagrams to built-ins and to nowait dgram services. Refused as
//     "source-rate".
//
// Global ([Config]): MaxChildren across all services ("global-max-child") and
// AcceptRate with AcceptBurst across all services ("global-accept-rate").
//
// Checks run per client first, then per service, then global, and nothing is
// counted unless every check passes, so a flood from one client refused by
// its per-client limit does not use up the service's or the host's rate.
//
// # Memory
//
// Per-client state lives in one table of at most [Config.MaxSources] entries
// (default [DefaultMaxSources] = 131,072), split in shards. An entry is 56
// bytes plus 16 bytes of hash index: [EntryBytes] = 72 bytes, so the default
// table never takes more than 9 MiB ([Limiter.SourceMemory] gives the exact
// figure for a configuration), allocated when a shard is first used and never
// grown. Beyond that, each service takes under 6 KiB (mostly its refusal
// counters, fixed in size) and one 40-byte ticket slot per concurrent child
// (so bounded by the children limits). Admit and Release allocate nothing in
// steady state. Measured (TestMillionSources): a million distinct clients
// through the default table grow the heap by 9.02 MiB.
//
// # Eviction
//
// When a shard is full, a new client takes the entry of the least recently
// seen client of that shard that has no live children. An entry with live
// children is pinned and never evicted, so concurrent counts are always
// exact. Rate windows are exact for every client still in the table; an
// evicted client starts a fresh window when it comes back (an attacker needs
// more than a shard's worth of distinct clients per minute to get there, and
// then only frees its own addresses). If every entry of the shard is pinned,
// a new client is refused as "source-table-full" (fail closed, counted).
//
// # Accept errors
//
// [Backoff] paces an accept loop through EMFILE, ENFILE and ENOMEM: stop
// watching the listener for 10 ms, doubling up to 1 s while accept keeps
// failing, and log the episode once when it starts and once when it ends,
// at the first accept that works a second after the last failure.
//
// # Summaries
//
// Refusals are counted per service, limit and client, and read (and reset)
// with [Limiter.Summaries], which the daemon calls every few seconds to log
// one record per service and limit instead of one per refused connection.
// Each summary lists at most [Config.SummarySources] clients (the first seen
// in the period, with exact counts) and aggregates the rest.
package limits
