// Package agentstore provides an edge agent's durable store: one bbolt file
// under the agent's data directory that keeps its synchronizer snapshot and
// an outbox of metric deltas, so a restarted agent resumes exactly where it
// stopped.
//
// # Durability
//
// Every write method returns only after its bbolt transaction is committed
// and synced to disk. An agent therefore acknowledges a local change only
// after [Store.SaveSync] has returned:
//
//	st := sync.UpdateLocal(data)
//	if err := store.SaveSync(sync.Export()); err != nil {
//		return err // not acknowledged: the caller may retry
//	}
//	return st // acknowledged: survives kill -9 and power loss
//
// On start it calls [Store.LoadSync] and, if a snapshot was saved,
// [statesync.Restore]. The snapshot is stored as JSON, so numbers in the
// restored state are float64, as they are on the hub.
//
// # Metric deltas
//
// [Store.AppendDelta] appends a delta with a sequence number that is never
// reused, [Store.PendingDeltas] lists the deltas not yet acknowledged, and
// [Store.AckDeltas] removes them once the hub has them. A delta appended but
// not acknowledged before a crash is sent again after the restart with the
// same sequence number, so the receiver can skip one it already counted:
// nothing is lost and nothing is counted twice.
//
// # Journal
//
// What an agent acknowledges between two metric deltas (invocations)
// goes to the journal first: [Store.AppendJournal] returns once the record
// is on disk; concurrent callers share one commit (bbolt's Batch, which
// waits up to 1ms for company), a lone caller commits at once.
// [Store.CommitDelta] later turns the journal into a delta in one
// transaction, appending it to the outbox (or replacing the one delta never
// sent) and removing the records it covers.
// On start the agent replays [Store.Journal]. A crash therefore leaves
// every acknowledged invocation either in the journal or in a delta, never
// in both and never in neither.
//
// # Files and concurrency
//
// Open creates the directory and the file [FileName] in it. bbolt locks the
// file, so a second Open of the same directory (from any process) fails with
// an error wrapping [ErrLocked] after a second; a file that is not a store
// gives one wrapping [ErrCorrupt]. A Store is safe for concurrent use;
// writes are serialised and each pays one disk sync. Byte slices passed in
// are copied by bbolt; byte slices returned are copies the caller owns.
package agentstore
