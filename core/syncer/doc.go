// Package syncer owns the import/upload engine: it reads new lines of
// kitty-specs/*/status.events.jsonl into the offline queue (per-file cursors
// compare-and-set in the same transaction as the rows) and uploads the queue
// to the hosted events endpoint in leased batches, with per-event ack, retry
// and dead letter (CONTRACTS.md §8.3, ADR 0006).
//
// One engine serves every front: the daemon's cycles (`spec-kitty service
// run`), the foreground `sync run`, `status emit`'s import of the line it
// appended, and the dashboard's Sync now (through the daemon's local API).
// Process concerns — the lock, the socket, the state file, the loop and its
// schedule — stay in service/daemon.
package syncer
