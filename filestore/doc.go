// Package filestore is the embedded breaker.StateStore: one JSON file that
// keeps a process's breakers' states across restarts, so that a process
// restarted during an outage comes back with its breakers Open for the
// time that was left, instead of sending a full wave of traffic into the
// failing dependency. It needs nothing but the standard library and a
// local file system.
//
//	st, err := filestore.Open("/var/lib/myservice/breakers.json")
//	if err != nil {
//		return err // e.g. another process has the file open
//	}
//	defer st.Close() // after the supervisor's Close
//	sup := breaker.NewSupervisor(breaker.WithStateStore(st))
//	defer sup.Close()
//
// # Guarantees
//
//   - Every Save rewrites the whole file atomically: the new content goes
//     to a temporary file in the same directory (<file>.tmp-*), which is
//     synced, renamed over the file, and the directory is synced. A crash
//     at any point leaves either the old file or the new one, never a torn
//     mix; a temporary file left behind by a crash is removed by the next
//     Open.
//   - One process at a time: Open takes an exclusive lock (flock(2)) on
//     <file>.lock, which the kernel releases when the process dies, even by
//     SIGKILL. A second Open of the same file, from this process or
//     another, fails with an error that says so, matching ErrLocked.
//   - A file that cannot be read or parsed is moved aside to
//     <file>.corrupt-<UTC time> and the store starts empty: the first Load
//     returns an error saying what was wrong and where the file went (a
//     Supervisor reports it through StoreErr), and the breakers start
//     Closed. A file written by a newer version of this package is never
//     moved aside: Open refuses it.
//   - A failed write (a full disk, a read-only directory) leaves the file
//     as it was: Save returns the error and what was saved before is kept.
//   - Every method is safe for concurrent use. After Close, Load and Save
//     return ErrClosed; Close is idempotent.
//
// # File format
//
// Only breakers that are not Closed are stored, so the file stays small.
// It is meant to be read, and may be edited by hand while no process has it
// open, for example to pre-seed a ForcedOpen before a deploy:
//
//	{
//	  "version": 1,
//	  "gen": 7,
//	  "breakers": {
//	    "payments": {
//	      "state": "open",
//	      "until": "2026-12-01T20:45:30.5Z",
//	      "since": "2026-12-01T20:45:00.5Z",
//	      "attempt": 1,
//	      "reason": "probe-failed",
//	      "gen": 7,
//	      "origin": "web-1-4242"
//	    },
//	    "search": {"state": "forced-open"}
//	  }
//	}
//
// Fields:
//
//   - version: the format, 1 (optional when editing by hand).
//   - gen: the last generation the store assigned; each Save assigns the
//     next one, so generations grow across restarts (optional).
//   - breakers: one entry per breaker name. In each entry only state is
//     required:
//   - state: "open", "forced-open" or "disabled" ("closed" is accepted and
//     means no entry; "half-open" is never stored).
//   - until: for "open", when the open period ends, an RFC 3339 time; the
//     time left is measured from it against this machine's clock when the
//     file is loaded. An "open" entry without until, or whose until has
//     passed, restores as half-open: the breaker recovers through probes.
//   - since, attempt, reason, manual, gen, origin: as in breaker.Record
//     (reason by name, e.g. "failure-rate"; manual true for an operator's
//     action).
//
// Unknown fields, unknown states or reasons, and malformed times make the
// file invalid (and moved aside): a typo is reported, never half applied.
package filestore
