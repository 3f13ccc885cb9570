package hub

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// durable is what a hub derived from the stream, in a comparable form.
type durable struct {
	nodes   string // every node's data, lineage, version, time and watermarks, as JSON
	quota   string // every node's quota functions, as JSON
	metrics []byte // the aggregator's snapshot, encoded
	total   int64
}

func durableOf(t *testing.T, h *Hub) durable {
	t.Helper()
	cp := h.captureCheckpoint()
	nodes, err := json.Marshal(cp.Nodes)
	if err != nil {
		t.Fatal(err)
	}
	quota, err := json.Marshal(h.quota.functions())
	if err != nil {
		t.Fatal(err)
	}
	m, _ := cp.Metrics.MarshalBinary()
	return durable{string(nodes), string(quota), m, h.agg.TotalInvocations(metrics.Filter{})}
}

func (d durable) diff(o durable) string {
	switch {
	case d.nodes != o.nodes:
		return fmt.Sprintf("nodes differ:\n%s\n%s", clip(d.nodes, 600), clip(o.nodes, 600))
	case d.quota != o.quota:
		return fmt.Sprintf("quotas differ:\n%s\n%s", d.quota, o.quota)
	case !bytes.Equal(d.metrics, o.metrics) || d.total != o.total:
		return fmt.Sprintf("metrics differ: %d vs %d invocations", d.total, o.total)
	}
	return ""
}

// fleetWriter publishes state changes and metric deltas as agents do,
// through JetStream, with their message IDs.
type fleetWriter struct {
	t   *testing.T
	js  jetstream.JetStream
	ver map[string]int64
	seq map[string]uint64
	n   int // messages published
}

func newFleetWriter(t *testing.T, h *Hub) *fleetWriter {
	return &fleetWriter{t: t, js: connect(t, h).js, ver: map[string]int64{}, seq: map[string]uint64{}}
}

func (w *fleetWriter) state(id string, data map[string]any) {
	w.t.Helper()
	w.ver[id]++
	v := w.ver[id]
	b, _ := wire.Encode(wire.StateChange{V: wire.Version, NodeID: id, Lineage: 3, Version: v, Base: v - 1, Data: data, At: time.Unix(1700000000+v, 0).UTC()})
	if _, err := w.js.Publish(context.Background(), wire.StateSubject(id), b, jetstream.WithMsgID(wire.StateMsgID(id, 3, v, 0))); err != nil {
		w.t.Fatal(err)
	}
	w.n++
}

func (w *fleetWriter) delta(id string, seq uint64, fn string, invocations int) {
	w.t.Helper()
	a := metrics.New()
	for i := range invocations {
		a.Record(metrics.Invocation{FunctionID: fn, NodeID: id, Duration: time.Duration(i+1) * time.Millisecond, Success: i%4 != 0, Error: "timeout"})
	}
	b, _ := a.TakeDelta().MarshalBinary()
	if _, err := w.js.Publish(context.Background(), wire.MetricsSubject(id), b, jetstream.WithMsgID(wire.MetricsMsgID(id, 7, seq))); err != nil {
		w.t.Fatal(err)
	}
	w.n++
}

// round publishes a state change and a new delta for each of n nodes.
func (w *fleetWriter) round(n int, tag string) {
	w.t.Helper()
	for i := range n {
		id := fmt.Sprintf("node-%03d", i)
		w.state(id, map[string]any{"tag": tag, "i": i, "nested": map[string]any{"n": i}})
		w.seq[id]++
		w.delta(id, w.seq[id], "fn-"+strconv.Itoa(i%3), i%5+1)
	}
}

func appliedSeq(h *Hub) uint64 {
	h.applyMu.Lock()
	defer h.applyMu.Unlock()
	return h.appliedSeq
}

func streamLastSeq(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), wire.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

// waitApplied waits until h applied the stream up to its last message.
func waitApplied(t *testing.T, h *Hub, w *fleetWriter) {
	t.Helper()
	last := streamLastSeq(t, w.js)
	eventually(t, "the stream applied", func() bool { return appliedSeq(h) >= last })
}

func waitReplayed(t *testing.T, h *Hub) {
	t.Helper()
	select {
	case <-h.replayed:
	case <-time.After(20 * time.Second):
		t.Fatalf("the hub did not replay the stream within 20s (applied up to %d)", appliedSeq(h))
	}
}

func startDurableHub(t *testing.T, dir string, cfg Config) (*Hub, *syncBuffer) {
	t.Helper()
	cfg.DataDir = dir
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = time.Hour // only the ones a test asks for
	}
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	h, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, logs
}

// A hub closed gracefully writes a checkpoint; the restarted hub loads it,
// replays nothing and has the same nodes, versions, watermarks, quotas
// and metric totals. Messages seen again after the restart are still
// recognised as duplicates.
func TestRestartFromCheckpointAfterClose(t *testing.T) {
	dir := t.TempDir()
	h, _ := startDurableHub(t, dir, Config{})
	w := newFleetWriter(t, h)
	w.round(20, "a")
	w.round(15, "b")
	waitApplied(t, h, w)
	before := durableOf(t, h)
	last := appliedSeq(h)
	h.Close()

	h2, logs := startDurableHub(t, dir, Config{})
	defer h2.Close()
	waitReplayed(t, h2)
	if got := h2.cpSeq.Load(); got != last {
		t.Fatalf("restarted hub loaded a checkpoint at %d, want %d\n%s", got, last, logs)
	}
	if n := h2.stats.stateApplied.Load() + h2.stats.metricDeltas.Load(); n != 0 {
		t.Fatalf("restarted hub applied %d messages, want none (all in the checkpoint)", n)
	}
	for _, want := range []string{fmt.Sprintf("edgeinfra_hub_checkpoint_seq %d\n", last), fmt.Sprintf("edgeinfra_hub_stream_applied_seq %d\n", last), "edgeinfra_hub_checkpoint_failures_total 0\n"} {
		if m := scrape(t, h2); !strings.Contains(m, want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, grepLines(m, "edgeinfra_hub_"))
		}
	}
	if d := before.diff(durableOf(t, h2)); d != "" {
		t.Fatal(d)
	}
	// node-001's delta 1 and state version 1 again, as if resent past the
	// stream's duplicate window: the restored watermarks know them.
	sb, _ := wire.Encode(wire.StateChange{V: wire.Version, NodeID: "node-001", Lineage: 3, Version: 1, Data: map[string]any{"tag": "old"}, At: time.Now()})
	h2.applyMu.Lock()
	h2.onStreamMsg(deltaMsg(t, "node-001", wire.MetricsMsgID("node-001", 7, 1), 3))
	h2.onStreamMsg(streamMsg{subject: wire.StateSubject("node-001"), data: sb})
	h2.applyMu.Unlock()
	if d, s := h2.stats.metricDuplicate.Load(), h2.stats.stateDuplicate.Load(); d != 1 || s != 1 {
		t.Fatalf("%d metric and %d state duplicates, want 1 and 1", d, s)
	}
	if d := before.diff(durableOf(t, h2)); d != "" {
		t.Fatal("a resent message changed the state: ", d)
	}
}

// A hub that stops without its final checkpoint (killed) restarts from its
// last periodic checkpoint and replays only the messages after it: no
// state lost, no metric delta counted twice.
func TestRestartFromCheckpointAfterCrash(t *testing.T) {
	dir := t.TempDir()
	h, _ := startDurableHub(t, dir, Config{CheckpointEvery: 50})
	w := newFleetWriter(t, h)
	w.round(30, "a") // 60 messages: one checkpoint by count
	waitApplied(t, h, w)
	eventually(t, "a checkpoint by message count", func() bool { return h.cpSeq.Load() >= 50 })
	cpAt := h.cpSeq.Load()
	w.round(10, "b") // the kill comes before these are checkpointed
	w.round(5, "c")
	waitApplied(t, h, w)
	eventually(t, "checkpoints settled", func() bool { return h.cpSeq.Load() >= cpAt })
	h.skipFinalCheckpoint.Store(true)
	cpAt = h.cpSeq.Load()
	last := appliedSeq(h)
	if cpAt >= last {
		t.Fatalf("checkpoint at %d covers everything up to %d: nothing to replay", cpAt, last)
	}
	before := durableOf(t, h)
	h.Close()

	h2, logs := startDurableHub(t, dir, Config{CheckpointEvery: 50})
	defer h2.Close()
	waitReplayed(t, h2)
	if got := h2.cpSeq.Load(); got != cpAt {
		t.Fatalf("loaded checkpoint %d, want %d\n%s", got, cpAt, logs)
	}
	if n := h2.stats.stateApplied.Load() + h2.stats.metricDeltas.Load(); n != last-cpAt {
		t.Fatalf("replayed %d messages, want %d (those after the checkpoint)", n, last-cpAt)
	}
	if d := before.diff(durableOf(t, h2)); d != "" {
		t.Fatal(d)
	}
}

// Once a checkpoint covers them, the stream's messages may go (here all
// purged, as retention would age them out): the restarted hub still has
// everything, and applies what came after.
func TestCheckpointOutlivesStreamRetention(t *testing.T) {
	dir := t.TempDir()
	h, _ := startDurableHub(t, dir, Config{})
	w := newFleetWriter(t, h)
	w.round(25, "a")
	waitApplied(t, h, w)
	if err := h.writeCheckpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, err := w.js.Stream(context.Background(), wire.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.round(3, "after") // after the checkpoint: replayed
	waitApplied(t, h, w)
	before := durableOf(t, h)
	h.skipFinalCheckpoint.Store(true)
	h.Close()

	h2, logs := startDurableHub(t, dir, Config{})
	defer h2.Close()
	waitReplayed(t, h2)
	if strings.Contains(logs.String(), "lost") {
		t.Fatalf("nothing was lost, yet:\n%s", logs)
	}
	if d := before.diff(durableOf(t, h2)); d != "" {
		t.Fatal(d)
	}
	if s, ok := h2.reg.one("node-024", true); !ok || s.Data["tag"] != "a" || s.StateVersion != 1 {
		t.Fatalf("node-024 after restart = %+v, %v", s, ok)
	}
	h2.Close()

	// Without a checkpoint of its own, a hub has only what is left of the
	// stream, and says that the rest is lost.
	h3, logs := startDurableHub(t, dir, Config{Name: "newcomer"})
	defer h3.Close()
	waitReplayed(t, h3)
	if !strings.Contains(logs.String(), "no longer holds its first messages") {
		t.Fatalf("no warning about the purged messages:\n%s", logs)
	}
	if _, ok := h3.reg.one("node-024", false); ok {
		t.Fatal("node-024 known without its messages or a checkpoint")
	}
}

// A damaged checkpoint is reported and the hub replays the whole stream,
// which gives the same state.
func TestCorruptCheckpointFallsBackToFullReplay(t *testing.T) {
	dir := t.TempDir()
	h, _ := startDurableHub(t, dir, Config{})
	w := newFleetWriter(t, h)
	w.round(10, "a")
	w.round(4, "b")
	waitApplied(t, h, w)
	before := durableOf(t, h)
	h.Close()

	// A hub with checkpoints off leaves the bucket alone: damage the
	// checkpoint through it.
	h2, _ := startDurableHub(t, dir, Config{CheckpointInterval: -1})
	js := connect(t, h2).js
	store, err := js.ObjectStore(context.Background(), CheckpointBucket)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.GetBytes(context.Background(), "hub")
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if _, err := store.PutBytes(context.Background(), "hub", b); err != nil {
		t.Fatal(err)
	}
	h2.Close()

	h3, logs := startDurableHub(t, dir, Config{})
	defer h3.Close()
	waitReplayed(t, h3)
	if !strings.Contains(logs.String(), "checkpoint unusable: replaying the whole stream") || !strings.Contains(logs.String(), "checksum mismatch") {
		t.Fatalf("no report of the damaged checkpoint:\n%s", logs)
	}
	if h3.cpFailures.Load() != 1 || h3.cpSeq.Load() != 0 {
		t.Fatalf("failures %d, checkpoint %d", h3.cpFailures.Load(), h3.cpSeq.Load())
	}
	if d := before.diff(durableOf(t, h3)); d != "" {
		t.Fatal(d)
	}
}

// Hubs of other names keep their own checkpoints: a hub named "b" starting
// on the same data replays the whole stream and leaves "hub"'s alone.
func TestCheckpointPerHubName(t *testing.T) {
	dir := t.TempDir()
	h, _ := startDurableHub(t, dir, Config{})
	w := newFleetWriter(t, h)
	w.round(5, "a")
	waitApplied(t, h, w)
	before := durableOf(t, h)
	h.Close()
	h2, logs := startDurableHub(t, dir, Config{Name: "b"})
	waitReplayed(t, h2)
	if !strings.Contains(logs.String(), "no checkpoint: replaying the whole stream") {
		t.Fatalf("hub b should start without a checkpoint:\n%s", logs)
	}
	if d := before.diff(durableOf(t, h2)); d != "" {
		t.Fatal(d)
	}
	h2.Close()
	h3, _ := startDurableHub(t, dir, Config{})
	defer h3.Close()
	waitReplayed(t, h3)
	if h3.cpSeq.Load() == 0 {
		t.Fatal("hub's checkpoint is gone")
	}
}

func sampleCheckpoint(t testing.TB) *checkpoint {
	a := metrics.New()
	a.Record(metrics.Invocation{FunctionID: "f", NodeID: "n1", Duration: time.Millisecond, Success: false, Error: "boom"})
	return &checkpoint{
		checkpointHeader: checkpointHeader{
			Hub: "hub", Stream: wire.StreamName, StreamCreated: time.Unix(1700000000, 5).UTC(), Seq: 42, TakenAt: time.Unix(1700000100, 0).UTC(),
			Nodes: []checkpointNode{
				{ID: "n1", Data: map[string]any{"a": json.Number("1"), "b": map[string]any{"c": "d"}}, Lineage: 2, Version: 9, Updated: time.Unix(1700000050, 0).UTC(), MetricsLineage: 3, MetricsSeq: 4, Functions: []string{"f", "g"}},
				{ID: "n2", Functions: []string{"f"}},
			},
		},
		Metrics: a.Snapshot(),
	}
}

func TestCheckpointEncoding(t *testing.T) {
	cp := sampleCheckpoint(t)
	good, err := encodeCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeCheckpoint(good)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := encodeCheckpoint(got)
	if !bytes.Equal(good, again) {
		t.Fatal("decode then encode changed the checkpoint")
	}
	if got.Metrics.Errors() != 1 || got.Nodes[0].Data["a"] != json.Number("1") {
		t.Fatalf("decoded %+v", got)
	}
	// reencode builds a checkpoint with a changed header, correctly sealed.
	reencode := func(change func(*checkpoint)) []byte {
		c := sampleCheckpoint(t)
		change(c)
		b, err := encodeCheckpoint(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withHeader := func(js string) []byte {
		b := append([]byte(checkpointMagic), checkpointVersion)
		b = append(b, byte(len(js)))
		b = append(b, js...)
		m, _ := metrics.Snapshot{}.MarshalBinary()
		b = append(b, m...)
		return reseal(b)
	}
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"magic", append([]byte("XXXX"), good[4:]...), "bad magic"},
		{"version", reseal(append(append([]byte(checkpointMagic), 9), good[5:len(good)-4]...)), "unsupported version 9"},
		{"flipped bit", flip(len(good) / 2), "checksum mismatch"},
		{"truncated", good[:len(good)-1], "checksum mismatch"},
		{"header length", reseal(append(append([]byte(checkpointMagic), checkpointVersion), 0xff, 0xff, 0x7f)), "bad header length"},
		{"unknown field", withHeader(`{"stream":"EDGEINFRA","nodes":[],"future":1}`), `unknown field "future"`},
		{"trailing header", withHeader(`{"stream":"EDGEINFRA"} {}`), "trailing data"},
		{"other stream", withHeader(`{"stream":"OTHER"}`), `stream "OTHER"`},
		{"bad node ID", reencode(func(c *checkpoint) { c.Nodes[1].ID = "a b" }), "node 1"},
		{"unsorted nodes", reencode(func(c *checkpoint) { c.Nodes[0].ID = "n3" }), "not sorted"},
		{"repeated node", reencode(func(c *checkpoint) { c.Nodes[1].ID = "n1" }), "not sorted"},
		{"empty key", reencode(func(c *checkpoint) { c.Nodes[0].Data[""] = 1 }), "state key"},
		{"negative version", reencode(func(c *checkpoint) { c.Nodes[0].Version = -1 }), "negative version"},
		{"bad function", reencode(func(c *checkpoint) { c.Nodes[1].Functions = []string{"a\x00b"} }), `node "n2"`},
		{"repeated function", reencode(func(c *checkpoint) { c.Nodes[0].Functions = []string{"f", "f"} }), "functions not sorted"},
		{"bad metrics", reseal(append(bytes.Clone(good[:len(good)-6]), 1, 2)), "invalid snapshot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeCheckpoint(c.data)
			if err == nil || !errors.Is(err, errCheckpoint) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

// reseal appends the CRC a checkpoint ends with.
func reseal(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, cpCastagnoli))
}

func FuzzDecodeCheckpoint(f *testing.F) {
	good, _ := encodeCheckpoint(sampleCheckpoint(f))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(checkpointMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		cp, err := decodeCheckpoint(data)
		if err != nil {
			if !errors.Is(err, errCheckpoint) {
				t.Fatalf("error %v does not wrap errCheckpoint", err)
			}
			return
		}
		b, err := encodeCheckpoint(cp)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeCheckpoint(b); err != nil {
			t.Fatalf("re-encoded checkpoint does not decode: %v", err)
		}
	})
}

// Start-up time with 10,000 nodes, from a checkpoint and by replaying the
// whole stream. Slow (it publishes 10,000 nodes' messages): set
// EDGEINFRA_STARTUP_BENCH=1 to run it.
func TestStartupTime10kNodes(t *testing.T) {
	if os.Getenv("EDGEINFRA_STARTUP_BENCH") == "" {
		t.Skip("set EDGEINFRA_STARTUP_BENCH=1 to measure start-up time with 10,000 nodes")
	}
	const nodes, rounds = 10_000, 3
	dir := t.TempDir()
	h, _ := startDurableHub(t, dir, Config{})
	w := newFleetWriter(t, h)
	var futs []jetstream.PubAckFuture
	for r := range rounds {
		for i := range nodes {
			id := fmt.Sprintf("node-%05d", i)
			sb, _ := wire.Encode(wire.StateChange{V: wire.Version, NodeID: id, Lineage: 1, Version: int64(r + 1), Base: int64(r), Data: map[string]any{"round": r, "region": "eu"}, At: time.Now()})
			f1, err := w.js.PublishAsync(wire.StateSubject(id), sb)
			if err != nil {
				t.Fatal(err)
			}
			a := metrics.New()
			a.Record(metrics.Invocation{FunctionID: "fn-" + strconv.Itoa(i%5), NodeID: id, Duration: time.Millisecond, Success: true})
			mb, _ := a.TakeDelta().MarshalBinary()
			f2, err := w.js.PublishAsync(wire.MetricsSubject(id), mb, jetstream.WithMsgID(wire.MetricsMsgID(id, 1, uint64(r+1))))
			if err != nil {
				t.Fatal(err)
			}
			futs = append(futs, f1, f2)
		}
		select {
		case <-w.js.PublishAsyncComplete():
		case <-time.After(2 * time.Minute):
			t.Fatal("publishing took over 2 minutes")
		}
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatal(err)
		}
	}
	waitApplied(t, h, w)
	before := durableOf(t, h)
	h.cpSeq.Store(0) // write one even if a periodic one covers everything, to time it
	start := time.Now()
	if err := h.writeCheckpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages; checkpoint of %d nodes: %d bytes, written in %v", streamLastSeq(t, w.js), nodes, h.cpBytes.Load(), time.Since(start))
	h.Close()

	for _, c := range []struct {
		name string
		cfg  Config
	}{{"full replay", Config{CheckpointInterval: -1}}, {"checkpoint", Config{}}, {"full replay", Config{CheckpointInterval: -1}}, {"checkpoint", Config{}}} {
		start := time.Now()
		h2, _ := startDurableHub(t, dir, c.cfg)
		up := time.Since(start)
		select {
		case <-h2.replayed:
		case <-time.After(5 * time.Minute):
			t.Fatal("no replay within 5 minutes")
		}
		t.Logf("%-12s Start returned in %v, state complete after %v", c.name, up, time.Since(start))
		if d := before.diff(durableOf(t, h2)); d != "" {
			t.Fatal(d)
		}
		h2.skipFinalCheckpoint.Store(true)
		h2.Close()
	}
}

// BenchmarkCheckpoint10k measures a checkpoint of 10,000 nodes (two state
// keys and one metric series each): copying it out of the hub (the time
// stream messages wait), encoding, decoding and loading it.
func BenchmarkCheckpoint10k(b *testing.B) {
	h := &Hub{reg: newRegistry(), agg: metrics.New(), quota: newSeriesQuota(0, 0), cfg: Config{Name: "hub"}}
	for i := range 10_000 {
		id := fmt.Sprintf("node-%05d", i)
		h.reg.applyState(wire.StateChange{NodeID: id, Lineage: 1, Version: 3, Base: 2, Data: map[string]any{"round": json.Number("2"), "region": "eu"}, At: time.Now()})
		h.reg.acceptDelta(id, 1, 3)
		a := metrics.New()
		a.Record(metrics.Invocation{FunctionID: "fn-" + strconv.Itoa(i%5), NodeID: id, Duration: time.Millisecond, Success: true})
		h.agg.Merge(h.admitMetrics(id, a.Snapshot(), time.Now()))
	}
	cp := h.captureCheckpoint()
	enc, err := encodeCheckpoint(cp)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("capture", func(b *testing.B) {
		for b.Loop() {
			h.captureCheckpoint()
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, err := encodeCheckpoint(cp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, err := decodeCheckpoint(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("restore", func(b *testing.B) {
		for b.Loop() {
			h2 := &Hub{reg: newRegistry(), agg: metrics.New(), quota: newSeriesQuota(0, 0)}
			h2.restoreCheckpoint(cp)
		}
	})
}
