package hub

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// Every agent watches its key in the desired-state bucket, and each watch
// is a consumer of the bucket's stream. NATS servers cap consumers per
// stream at 1,000 unless the stream says otherwise, which left every agent
// past the thousandth without desired state (found by the soak benchmark
// at 2,000 agents). A fleet-sized number of watches must be accepted.
func TestDesiredBucketTakesAFleetOfWatchers(t *testing.T) {
	h := startHub(t, Config{})
	a := connect(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kv, err := a.js.KeyValue(ctx, wire.DesiredBucket)
	if err != nil {
		t.Fatal(err)
	}
	const watchers = 1100
	for i := range watchers {
		w, err := kv.Watch(ctx, fmt.Sprintf("node-%d", i))
		if err != nil {
			t.Fatalf("watch %d of %d: %v", i+1, watchers, err)
		}
		defer w.Stop()
	}
	// The last watcher still sees a value put after it started.
	last := fmt.Sprintf("node-%d", watchers-1)
	w, err := kv.Watch(ctx, last, jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := kv.Put(ctx, last, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	for e := range w.Updates() {
		if e != nil && e.Key() == last {
			return
		}
	}
	t.Fatal("the watch ended without the update")
}

// Agents that restart or reconnect all day must not grow the embedded
// server's memory of closed connections without bound.
func TestClosedConnectionsAreBounded(t *testing.T) {
	h := startHub(t, Config{})
	for i := range maxClosedClients + 50 {
		nc, err := nats.Connect(h.NATSURL())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		nc.Close()
	}
	eventually(t, "closed connections capped", func() bool {
		cz, err := h.ns.Connz(&server.ConnzOptions{State: server.ConnClosed})
		return err == nil && cz.Total == maxClosedClients
	})
}

// The stream's duplicate window is the short one the hub sets.
func TestStreamDuplicateWindow(t *testing.T) {
	h := startHub(t, Config{})
	s, err := h.js.Stream(context.Background(), wire.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.Duplicates; got != duplicateWindow {
		t.Fatalf("duplicate window %v, want %v", got, duplicateWindow)
	}
}
