package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// delta publishes a metrics delta of n invocations of node id with the
// message ID an agent gives it.
func (a *fakeAgent) delta(id string, lineage, seq uint64, n int) {
	agg := metrics.New()
	for range n {
		agg.Record(metrics.Invocation{FunctionID: "f", NodeID: id, Duration: time.Millisecond, Success: true})
	}
	b, err := agg.TakeDelta().MarshalBinary()
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.js.Publish(context.Background(), wire.MetricsSubject(id), b, jetstream.WithMsgID(wire.MetricsMsgID(id, lineage, seq))); err != nil {
		a.t.Fatal(err)
	}
}

// restartView is what a restart must preserve.
type restartView struct {
	versions map[string]int64
	data     map[string]string
	total    int64
}

func viewOf(h *Hub) restartView {
	v := restartView{versions: map[string]int64{}, data: map[string]string{}}
	for _, s := range h.reg.all() {
		one, _ := h.reg.one(s.Node.ID, true)
		v.versions[s.Node.ID] = one.StateVersion
		v.data[s.Node.ID] = fmt.Sprint(one.Data)
	}
	v.total = h.agg.TotalInvocations(metrics.Filter{})
	return v
}

func sameView(t *testing.T, got, want restartView) {
	t.Helper()
	if got.total != want.total {
		t.Fatalf("total invocations %d, want %d", got.total, want.total)
	}
	if len(got.versions) != len(want.versions) {
		t.Fatalf("%d nodes, want %d", len(got.versions), len(want.versions))
	}
	for id, ver := range want.versions {
		if got.versions[id] != ver || got.data[id] != want.data[id] {
			t.Fatalf("node %s: version %d data %s, want %d %s", id, got.versions[id], got.data[id], ver, want.data[id])
		}
	}
}

// publishFleet sends versions from..to of state and one delta per
// version for nodes n0..n(nodes-1).
func publishFleet(a *fakeAgent, nodes int, from, to int64) {
	for v := from; v <= to; v++ {
		for i := range nodes {
			id := "n" + strconv.Itoa(i)
			a.state(id, v, map[string]any{"v": v, "k" + strconv.FormatInt(v%3, 10): i})
			a.delta(id, 1, uint64(v), 2)
		}
	}
}

func applied(h *Hub) uint64 {
	h.applyMu.Lock()
	defer h.applyMu.Unlock()
	return h.appliedSeq
}

// TestCheckpointRestart: a hub with --data stores a checkpoint at
// shutdown and restarts from it, replaying nothing, with the same nodes,
// versions, data and metric totals.
func TestCheckpointRestart(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	cfg := Config{Logger: quiet(), DataDir: dir, NATSListen: addr, CheckpointInterval: time.Hour}
	h1, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := connect(t, h1)
	publishFleet(a, 5, 1, 4)
	eventually(t, "everything applied", func() bool { return applied(h1) == 40 })
	want := viewOf(h1)
	a.nc.Close()
	h1.Close()
	if got := h1.checkpointSeq.Load(); got != 40 {
		t.Fatalf("checkpoint at shutdown covers %d, want 40", got)
	}

	h2, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if h2.restoredSeq != 40 {
		t.Fatalf("restarted from %d, want the checkpoint at 40", h2.restoredSeq)
	}
	sameView(t, viewOf(h2), want)
	// And it keeps following the stream.
	a2 := connect(t, h2)
	publishFleet(a2, 5, 5, 5)
	eventually(t, "new messages applied", func() bool { return applied(h2) == 50 })
	if got := h2.agg.TotalInvocations(metrics.Filter{}); got != want.total+10 {
		t.Fatalf("total after new deltas %d, want %d", got, want.total+10)
	}
}

// TestCheckpointThenCrash: messages after the newest checkpoint are
// replayed on top of it, each counted once, and once messages before the
// checkpoint are gone from the stream (retention) nothing is lost.
func TestCheckpointThenCrash(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	cfg := Config{Logger: quiet(), DataDir: dir, NATSListen: addr, CheckpointInterval: 20 * time.Millisecond}
	h1, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := connect(t, h1)
	publishFleet(a, 4, 1, 3) // 24 messages
	eventually(t, "a checkpoint of the first batch", func() bool { return h1.checkpointSeq.Load() == 24 })
	h1.checkpointsPaused.Store(true) // what follows is only in the stream, as after a kill
	publishFleet(a, 4, 4, 5)         // 16 more
	eventually(t, "second batch applied", func() bool { return applied(h1) == 40 })
	want := viewOf(h1)
	a.nc.Close()
	h1.Close()

	// Retention removes the messages the checkpoint covers.
	purgeUpTo(t, addr, dir, 25)

	h2, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if h2.restoredSeq != 24 {
		t.Fatalf("restarted from %d, want the checkpoint at 24", h2.restoredSeq)
	}
	eventually(t, "the rest replayed", func() bool { return applied(h2) == 40 })
	sameView(t, viewOf(h2), want)
}

// purgeUpTo removes the stream's messages below seq, with a NATS server
// of its own on the hub's data directory, as age or size limits would.
func purgeUpTo(t *testing.T, addr, dir string, seq uint64) {
	t.Helper()
	h, err := Start(context.Background(), Config{Logger: quiet(), DataDir: dir, NATSListen: addr, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.checkpointsPaused.Store(true)
	s, err := h.js.Stream(context.Background(), wire.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(context.Background(), jetstream.WithPurgeSequence(seq)); err != nil {
		t.Fatal(err)
	}
	info, _ := s.Info(context.Background())
	if info.State.FirstSeq != seq {
		t.Fatalf("after the purge the stream starts at %d, want %d", info.State.FirstSeq, seq)
	}
}

// TestCorruptCheckpoint: a checkpoint that cannot be decoded is reported
// and the hub replays the whole stream instead.
func TestCorruptCheckpoint(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	cfg := Config{Logger: quiet(), DataDir: dir, NATSListen: addr, CheckpointInterval: time.Hour}
	h1, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := connect(t, h1)
	publishFleet(a, 3, 1, 2)
	eventually(t, "applied", func() bool { return applied(h1) == 12 })
	want := viewOf(h1)
	a.nc.Close()
	h1.checkpointsPaused.Store(true)
	for _, garbage := range [][]byte{[]byte(`{"v":1,"stream":"EDGEINFRA","seq":12,"metrics":"AAAA"}`), []byte("not json")} {
		if err := h1.checkpoints.put(context.Background(), garbage); err != nil {
			t.Fatal(err)
		}
		if _, _, err := decodeCheckpoint(garbage); err == nil {
			t.Fatalf("%q decoded", garbage)
		}
	}
	h1.Close()

	h2, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if h2.restoredSeq != 0 {
		t.Fatalf("restored from a corrupt checkpoint at %d", h2.restoredSeq)
	}
	eventually(t, "full replay", func() bool { return applied(h2) == 12 })
	sameView(t, viewOf(h2), want)
}

func FuzzDecodeCheckpoint(f *testing.F) {
	f.Add([]byte(`{"v":1,"hub":"hub","stream":"EDGEINFRA","seq":3,"nodes":[{"id":"a"},{"id":"b","data":{"x":1}}],"metrics":""}`))
	f.Add([]byte(`{"v":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, _, err := decodeCheckpoint(b)
		if err != nil {
			return
		}
		if c.Seq == 0 || c.V != checkpointVersion {
			t.Fatalf("accepted %+v", c)
		}
		for _, n := range c.Nodes {
			if wire.ValidNodeID(n.ID) != nil {
				t.Fatalf("accepted node ID %q", n.ID)
			}
		}
	})
}

// TestCheckpointStoreChunks: checkpoints larger than one message are
// chunked and read back whole; each write switches slots; a damaged chunk
// is detected.
func TestCheckpointStoreChunks(t *testing.T) {
	h := startHub(t, Config{CheckpointInterval: time.Hour})
	s := h.checkpoints
	ctx := context.Background()
	if _, err := s.get(ctx); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("empty store: %v, want ErrKeyNotFound", err)
	}
	slots := []string{}
	for i, size := range []int{10, 3*checkpointChunk + 7, checkpointChunk, 0, 2 * checkpointChunk} {
		b := bytes.Repeat([]byte{byte('a' + i)}, size)
		if err := s.put(ctx, b); err != nil {
			t.Fatal(err)
		}
		got, err := s.get(ctx)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("checkpoint %d of %d bytes: read %d bytes, %v", i, size, len(got), err)
		}
		m, _ := s.manifest(ctx)
		slots = append(slots, m.Slot)
	}
	for i := 1; i < len(slots); i++ {
		if slots[i] == slots[i-1] {
			t.Fatalf("slots %v: a write went to the slot in use", slots)
		}
	}
	m, _ := s.manifest(ctx)
	if _, err := s.kv.Put(ctx, s.chunkKey(m.Slot, 1), []byte("damaged")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.get(ctx); err == nil {
		t.Fatal("a damaged chunk was not detected")
	}
}

// TestRestartTime measures how long a hub with EDGEINFRA_RESTART_NODES
// nodes (each with one state change and one metrics delta in the stream)
// takes to start and hold the whole fleet again, from its checkpoint and
// by replaying the whole stream. It runs only with the variable set.
func TestRestartTime(t *testing.T) {
	v := os.Getenv("EDGEINFRA_RESTART_NODES")
	if v == "" {
		t.Skip("set EDGEINFRA_RESTART_NODES=10000 to measure")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("EDGEINFRA_RESTART_NODES=%q: want a positive number", v)
	}
	dir, addr := t.TempDir(), freeAddr(t)
	cfg := Config{Logger: quiet(), DataDir: dir, NATSListen: addr, CheckpointInterval: time.Hour, MaxNodes: n + 1}
	h1, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := connect(t, h1)
	publishFleet(a, n, 1, 1)
	want := uint64(2 * n)
	eventually(t, "fleet applied", func() bool { return applied(h1) == want })
	a.nc.Close()
	h1.Close()
	for _, c := range []struct {
		name  string
		every time.Duration
	}{{"from the checkpoint", time.Hour}, {"replaying the whole stream", -1}} {
		cfg.CheckpointInterval = c.every
		start := time.Now()
		h, err := Start(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		h.checkpointsPaused.Store(true)
		eventually(t, "fleet restored", func() bool { return applied(h) == want })
		t.Logf("%d nodes, %s: %v", n, c.name, time.Since(start).Round(time.Millisecond))
		h.Close()
	}
}
