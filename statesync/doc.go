// Package statesync provides versioned key-value state shared between an edge
// node and its hub, with a queue of local changes that is never lossy and a
// choice of conflict strategies.
//
// # Model
//
// A [Synchronizer] holds one node's state: a map of keys to JSON-shaped
// values, a local version counted by [Synchronizer.UpdateLocal], the version
// of the last remote state applied, and the local changes the remote side
// has not confirmed yet.
//
//	s := statesync.New(statesync.Options{NodeID: "pop-fra-1", Strategy: statesync.LocalWins})
//	s.UpdateLocal(map[string]any{"cache.max_mb": 512}) // version 1, one pending change
//	for _, ch := range s.PendingChanges() {
//		send(ch) // to the hub
//	}
//	s.ConfirmSync(1) // the hub acknowledged everything up to version 1
//	s.ApplyRemote(stateFromHub) // decided by the strategy
//
// # Conflicts
//
// A remote state whose Version is not greater than [Synchronizer.RemoteVersion]
// is stale and never applied, so duplicated and reordered deliveries are
// harmless. A fresh one is applied by the [ConflictStrategy]: RemoteWins (the
// default) applies it always; LocalWins only while no local change is
// pending; LatestWins only if its UpdatedAt is after the local one. Applying
// merges keys; it never deletes a key and never touches the local version or
// the pending queue.
//
// # Nothing is lost
//
// The pending queue holds at most Options.MaxPending changes. Past the bound
// the two oldest are coalesced into one carrying the newest value of each key
// and the newer version, so replaying [Synchronizer.PendingChanges] in order
// always reproduces every key's latest local value, however long the remote
// side was away. [Synchronizer.ConfirmSync] removes a coalesced change once
// its newest version is confirmed. Summary.Coalesced counts the merges.
//
// # Persistence
//
// [Synchronizer.Export] returns a [Snapshot] of everything (state, versions,
// pending queue, history) that encodes to JSON, and [Restore] rebuilds a
// Synchronizer from it after checking it is consistent; the restored
// Synchronizer behaves exactly as the exported one (state, versions, queue,
// history, Summary counters). The edgeinfra agent writes one to disk before
// it acknowledges a local change.
//
// State, Change, Event, Summary and Snapshot carry snake_case JSON tags. A
// State survives a JSON round trip as encoding/json decodes into
// map[string]any: numbers come back as float64, so a program that persists
// or transmits state should store numbers as float64 from the start.
//
// # Copies and concurrency
//
// All methods are safe for concurrent use. Maps passed in and handed out are
// deep copies for JSON-shaped values (nested map[string]any and []any, plus
// []string and map[string]string); other values, such as pointers, are
// copied as Go copies them, so share them only if they are immutable.
// UpdateLocal and State return a copy of the whole state, so their cost
// grows with the number of keys (a 1000-key state is a 57 KB copy): keep
// states small, and call State only when the data is needed.
//
// The history keeps the newest Options.HistorySize events (1000 by default);
// every ApplyRemote records a Pull event, applied or not, and every
// ConfirmSync that removes something records a Push event.
package statesync
