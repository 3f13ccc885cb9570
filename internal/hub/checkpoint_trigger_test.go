package hub

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

func startCheckpointHub(t *testing.T, cfg Config) (*Hub, *syncBuffer) {
	t.Helper()
	logs := new(syncBuffer)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = time.Hour // only the ones a test triggers
	}
	h, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, logs
}

// Every CheckpointEvery messages make a checkpoint, long before the
// interval is up; /metrics shows how far the stream is applied and
// checkpointed.
func TestCheckpointByMessageCount(t *testing.T) {
	h, _ := startCheckpointHub(t, Config{DataDir: t.TempDir(), CheckpointEvery: 10})
	defer h.Close()
	a := connect(t, h)
	publishFleet(a, 3, 1, 4) // 24 messages: checkpoints due after 10 and 20
	eventually(t, "everything applied", func() bool { return applied(h) == 24 })
	eventually(t, "a checkpoint by count", func() bool { return h.checkpointSeq.Load() >= 20 })
	m := scrape(t, h)
	for _, want := range []string{"edgeinfra_hub_stream_applied_seq 24\n", "edgeinfra_hub_checkpoint_failures_total 0\n", fmt.Sprintf("edgeinfra_hub_checkpoint_seq %d\n", h.checkpointSeq.Load())} {
		if !strings.Contains(m, want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, grepLines(m, "edgeinfra_hub_"))
		}
	}
	if strings.Contains(m, "edgeinfra_hub_checkpoint_bytes 0\n") {
		t.Fatal("checkpoint size not exported")
	}
}

// A hub restored from a checkpoint still recognises messages it applied
// before the restart when they come again (resent past JetStream's
// duplicate window): the watermarks are in the checkpoint.
func TestCheckpointKeepsWatermarks(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	cfg := Config{DataDir: dir, NATSListen: addr}
	h1, _ := startCheckpointHub(t, cfg)
	a := connect(t, h1)
	publishFleet(a, 2, 1, 3)
	eventually(t, "everything applied", func() bool { return applied(h1) == 12 })
	want := viewOf(h1)
	a.nc.Close()
	h1.Close()

	h2, _ := startCheckpointHub(t, cfg)
	defer h2.Close()
	if h2.restoredSeq != 12 {
		t.Fatalf("restarted from %d, want 12", h2.restoredSeq)
	}
	sb, _ := wire.Encode(wire.StateChange{V: wire.Version, NodeID: "n1", Lineage: 1, Version: 2, Data: map[string]any{"old": true}, At: time.Now()})
	h2.applyMu.Lock()
	h2.applyStreamMsg(deltaMsg(t, "n1", wire.MetricsMsgID("n1", 1, 3), 5))
	h2.applyStreamMsg(streamMsg{subject: wire.StateSubject("n1"), data: sb})
	h2.applyMu.Unlock()
	if d, s := h2.stats.metricDuplicate.Load(), h2.stats.stateDuplicate.Load(); d != 1 || s != 1 {
		t.Fatalf("%d metric and %d state duplicates, want 1 and 1", d, s)
	}
	sameView(t, viewOf(h2), want)
	if got := h2.agg.TotalInvocations(metrics.Filter{NodeID: "n1"}); got != 6 {
		t.Fatalf("n1 counts %d invocations, want 6", got)
	}
}

// Hubs keep checkpoints by name: another hub on the same data starts
// without one. Once the stream lost messages, a hub without a checkpoint
// has only what is left and says the rest is lost, while the hub with
// one keeps everything.
func TestCheckpointPerHubName(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	cfg := Config{DataDir: dir, NATSListen: addr}
	h1, _ := startCheckpointHub(t, cfg)
	a := connect(t, h1)
	publishFleet(a, 3, 1, 2)
	eventually(t, "everything applied", func() bool { return applied(h1) == 12 })
	want := viewOf(h1)
	a.nc.Close()
	h1.Close()
	purgeUpTo(t, addr, dir, 13) // everything

	other := cfg
	other.Name = "other"
	h2, logs := startCheckpointHub(t, other)
	if h2.restoredSeq != 0 {
		t.Fatalf("hub %q restored hub's checkpoint at %d", other.Name, h2.restoredSeq)
	}
	if !strings.Contains(logs.String(), "no longer holds its first messages") {
		t.Fatalf("no warning about the purged messages:\n%s", logs)
	}
	if n := h2.reg.len(); n != 0 {
		t.Fatalf("hub %q knows %d nodes without their messages", other.Name, n)
	}
	h2.Close()

	h3, logs := startCheckpointHub(t, cfg)
	defer h3.Close()
	if h3.restoredSeq != 12 || strings.Contains(logs.String(), "lost") {
		t.Fatalf("restored from %d, want 12\n%s", h3.restoredSeq, logs)
	}
	sameView(t, viewOf(h3), want)
}
