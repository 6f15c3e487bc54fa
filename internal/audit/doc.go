// Package audit writes hinetd's audit records: one structured Event per
// decision (accept, deny, limit, spawn, exit, ...), formatted as RFC 5424
// syslog with structured data (or RFC 3164, JSON lines, or readable text)
// and delivered to several sinks at once: local syslog over a unix socket,
// UDP (RFC 5426), TCP with octet counting (RFC 6587), TLS (RFC 5425), a
// JSON-lines file, stderr.
//
// What it promises:
//
//   - Emit never waits on a sink. Events go into one bounded queue
//     (Options.QueueLen); a dispatcher formats each once per format and
//     hands the bytes to each sink's spool: memory first (MemBytes), then
//     a spill file (SpillBytes, in a private SpillDir), both bounded.
//     Every sink has its own sender that connects, writes, and reconnects
//     with exponential backoff (RetryMin..RetryMax).
//   - Nothing is lost silently. What does not fit (queue full, spool full,
//     spill file unreadable) is counted, and a KindDrop record saying how
//     many, for which sink, and between which times is written to that
//     sink as soon as it takes writes again, and within a tenth of a
//     second to every other sink as a notice. Records still queued at
//     Close stay in the spill file and go first on the next Open with the
//     same SpillDir; without one, Close reports how many were lost.
//   - At least once over streams. Syslog over TCP has no acknowledgement:
//     records the collector had not read when the connection broke are
//     lost to it (a stopping rsyslog stops reading well before it closes;
//     on loopback megabytes sit in the buffers). So after a broken
//     connection the records written on it in the last ResendAge (at most
//     ResendBytes) are sent again; duplicates carry the same RFC 5424
//     meta sequenceId, by which a reader can drop them. Drop records in
//     the window are sent again too (they may be among those lost): a
//     reader that sums their counts must count each sequenceId once. The
//     same holds at Close: a collector that has not acknowledged
//     everything written by the time Close gives up is taken for stuck,
//     and the resend window goes to the spill file for the next run. UDP
//     can lose datagrams without anyone knowing; use TCP or TLS where
//     that matters.
//   - Floods stay readable. Deny and Limit let the first DenyPerSecond
//     records per service and kind through each second and summarise the
//     rest per client and rule (KeySummary, KeyCount). DenyConn does
//     the same for a denied connection's accept and deny records together.
//
// Structured data uses the SD-ID "hinetd@32473": 32473 is the private
// enterprise number RFC 5612 reserves for documentation; a site with its
// own PEN sets Options.SDID. Every record also has [meta sequenceId=N].
//
// Stats gives per-sink counters (emitted, delivered, resent, spilled,
// dropped, drop records, pending): after Close, Emitted = Delivered +
// Dropped + Pending for every sink.
package audit
