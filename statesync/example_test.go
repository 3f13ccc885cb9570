package statesync_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/edgeinfra/edgeinfra/statesync"
)

// A node changes its state while the hub is away, then catches up.
func Example() {
	s := statesync.New(statesync.Options{NodeID: "pop-fra-1"})
	s.UpdateLocal(map[string]any{"cache.max_mb": 512})
	s.UpdateLocal(map[string]any{"feature.beta": true})

	for _, ch := range s.PendingChanges() {
		fmt.Println("push version", ch.Version, ch.Data)
	}
	fmt.Println("confirmed:", s.ConfirmSync(2), "synced:", s.IsSynced())
	// Output:
	// push version 1 map[cache.max_mb:512]
	// push version 2 map[feature.beta:true]
	// confirmed: 2 synced: true
}

// With LocalWins, the hub's state waits until local changes are confirmed.
func ExampleSynchronizer_ApplyRemote() {
	s := statesync.New(statesync.Options{Strategy: statesync.LocalWins})
	s.UpdateLocal(map[string]any{"mode": "local"})

	hub := statesync.State{Version: 1, Data: map[string]any{"mode": "hub"}, UpdatedAt: time.Now()}
	fmt.Println(s.ApplyRemote(hub), s.State().Data["mode"])
	s.ConfirmSync(s.LocalVersion())
	fmt.Println(s.ApplyRemote(hub), s.State().Data["mode"]) // version 1 was never applied, so it is still fresh
	fmt.Println(s.ApplyRemote(hub))                         // a duplicate delivery is stale
	// Output:
	// false local
	// true hub
	// false
}

// Past MaxPending, old changes are merged, never dropped.
func ExampleSynchronizer_UpdateLocal_coalescing() {
	s := statesync.New(statesync.Options{MaxPending: 2})
	s.UpdateLocal(map[string]any{"a": 1})
	s.UpdateLocal(map[string]any{"b": 2})
	s.UpdateLocal(map[string]any{"a": 3})
	for _, ch := range s.PendingChanges() {
		fmt.Println(ch.Version, ch.Data)
	}
	// Output:
	// 2 map[a:1 b:2]
	// 3 map[a:3]
}

// A Synchronizer is persisted with Export and brought back with Restore, for
// example across an agent restart.
func ExampleRestore() {
	s := statesync.New(statesync.Options{NodeID: "pop-fra-1"})
	s.UpdateLocal(map[string]any{"weight": 3.0})
	s.UpdateLocal(map[string]any{"drain": true})
	s.ConfirmSync(1)

	saved, _ := json.Marshal(s.Export()) // written to disk

	var snap statesync.Snapshot
	if err := json.Unmarshal(saved, &snap); err != nil {
		panic(err)
	}
	r, err := statesync.Restore(statesync.Options{NodeID: "pop-fra-1"}, snap)
	if err != nil {
		panic(err)
	}
	fmt.Println("version", r.LocalVersion(), "pending", r.PendingCount(), "weight", r.State().Data["weight"])
	fmt.Println("next version", r.UpdateLocal(nil).Version)
	// Output:
	// version 2 pending 1 weight 3
	// next version 3
}
