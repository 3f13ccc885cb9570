package agentstore_test

import (
	"fmt"
	"log"
	"os"

	"github.com/edgeinfra/edgeinfra/internal/agentstore"
	"github.com/edgeinfra/edgeinfra/statesync"
)

// An agent saves its synchronizer before acknowledging a change, and
// resumes from it after a restart.
func Example() {
	dir, err := os.MkdirTemp("", "agent-data")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := agentstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	sync := statesync.New(statesync.Options{NodeID: "pop-fra-1"})
	sync.UpdateLocal(map[string]any{"cache.max_mb": 512})
	if err := store.SaveSync(sync.Export()); err != nil {
		log.Fatal(err) // not acknowledged
	}
	seq, _ := store.AppendDelta([]byte(`{"requests":3}`))
	fmt.Println("acknowledged version", sync.LocalVersion(), "and delta", seq)
	store.Close()

	// After a restart (or a crash):
	store, err = agentstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	snap, ok, err := store.LoadSync()
	if err != nil || !ok {
		log.Fatal(ok, err)
	}
	sync, err = statesync.Restore(statesync.Options{NodeID: "pop-fra-1"}, snap)
	if err != nil {
		log.Fatal(err)
	}
	deltas, _ := store.PendingDeltas()
	fmt.Println("resumed at version", sync.LocalVersion(), "with", sync.PendingCount(), "pending change and", len(deltas), "delta to send")
	fmt.Println("cache.max_mb =", sync.State().Data["cache.max_mb"])

	n, _ := store.AckDeltas(deltas[len(deltas)-1].Seq) // the hub has them
	fmt.Println("acked", n)
	// Output:
	// acknowledged version 1 and delta 1
	// resumed at version 1 with 1 pending change and 1 delta to send
	// cache.max_mb = 512
	// acked 1
}
