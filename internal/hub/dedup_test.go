package hub

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// streamMsg is a stream message as the consumer hands it over; only what
// onStreamMsg reads is implemented.
type streamMsg struct {
	jetstream.Msg
	subject string
	data    []byte
	header  nats.Header
}

func (m streamMsg) Subject() string      { return m.subject }
func (m streamMsg) Data() []byte         { return m.data }
func (m streamMsg) Headers() nats.Header { return m.header }

func deltaMsg(t *testing.T, node, msgID string, invocations int) streamMsg {
	t.Helper()
	a := metrics.New()
	for range invocations {
		a.Record(metrics.Invocation{FunctionID: "f", NodeID: node, Duration: time.Millisecond, Success: true})
	}
	b, err := a.TakeDelta().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m := streamMsg{subject: wire.MetricsSubject(node), data: b, header: nats.Header{}}
	if msgID != "" {
		m.header.Set(jetstream.MsgIDHeader, msgID)
	}
	return m
}

// A delta at or below the newest (lineage, seq) merged for its node is
// skipped even when the stream stored it again (an agent that was down
// longer than the stream's duplicate window resends it).
func TestMetricDeltasCountOnce(t *testing.T) {
	h := startHub(t, Config{})
	steps := []struct {
		name     string
		node     string
		msgID    string
		n        int
		want     int64 // n1's total afterwards
		wantDups uint64
		wantRej  uint64
	}{
		{"first", "n1", wire.MetricsMsgID("n1", 5, 1), 3, 3, 0, 0},
		{"resent", "n1", wire.MetricsMsgID("n1", 5, 1), 3, 3, 1, 0},
		{"next", "n1", wire.MetricsMsgID("n1", 5, 2), 2, 5, 1, 0},
		{"older seq", "n1", wire.MetricsMsgID("n1", 5, 1), 4, 5, 2, 0},
		{"older lineage", "n1", wire.MetricsMsgID("n1", 4, 9), 4, 5, 3, 0},
		{"new lineage restarts", "n1", wire.MetricsMsgID("n1", 6, 1), 1, 6, 3, 0},
		{"another node's watermark is its own", "n2", wire.MetricsMsgID("n2", 5, 1), 7, 6, 3, 0},
		{"no message ID is merged", "n1", "", 2, 8, 3, 0},
		{"ID naming another node", "n1", wire.MetricsMsgID("n2", 6, 2), 2, 8, 3, 1},
		{"malformed ID", "n1", "n1.m.six.2", 2, 8, 3, 2},
	}
	for _, s := range steps {
		h.onStreamMsg(deltaMsg(t, s.node, s.msgID, s.n))
		if got := h.agg.TotalInvocations(metrics.Filter{NodeID: "n1"}); got != s.want {
			t.Fatalf("%s: n1 total = %d, want %d", s.name, got, s.want)
		}
		if d, r := h.stats.metricDuplicate.Load(), h.rejects.get(kindMetrics, reasonInvalid); d != s.wantDups || r != s.wantRej {
			t.Fatalf("%s: %d duplicates and %d rejected, want %d and %d", s.name, d, r, s.wantDups, s.wantRej)
		}
	}
	if got := h.agg.TotalInvocations(metrics.Filter{NodeID: "n2"}); got != 7 {
		t.Fatalf("n2 total = %d, want 7", got)
	}
}

// A delta resent after JetStream's duplicate window is stored twice in the
// stream; the hub counts it once, live and when it replays the stream
// after a restart. The window is shortened to make the test quick.
func TestDeltaResentAfterTheDuplicateWindowCountsOnce(t *testing.T) {
	dir := t.TempDir()
	// Checkpoints off: the restart below must replay the whole stream.
	h, err := Start(context.Background(), Config{DataDir: dir, Logger: quiet(), CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	a := connect(t, h)
	ctx := context.Background()
	s, err := a.js.Stream(ctx, wire.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.Duplicates = 100 * time.Millisecond
	if _, err := a.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	publish := func(seq uint64, n int) {
		m := deltaMsg(t, "n1", "", n)
		if _, err := a.js.Publish(ctx, m.subject, m.data, jetstream.WithMsgID(wire.MetricsMsgID("n1", 9, seq))); err != nil {
			t.Fatal(err)
		}
	}
	publish(1, 3)
	time.Sleep(300 * time.Millisecond) // past the window: the stream takes it again
	publish(1, 3)
	publish(2, 2)
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Fatalf("stream holds %d messages, want 3 (the resend stored again)", info.State.Msgs)
	}
	total := func(h *Hub) int64 { return h.agg.TotalInvocations(metrics.Filter{NodeID: "n1"}) }
	eventually(t, "the deltas applied", func() bool { return h.stats.metricDeltas.Load()+h.stats.metricDuplicate.Load() == 3 })
	if got := total(h); got != 5 {
		t.Fatalf("hub counts %d invocations, want 5", got)
	}
	a.nc.Close()
	h.Close()

	h2 := startHub(t, Config{DataDir: dir, CheckpointInterval: -1})
	eventually(t, "the stream replayed", func() bool { return h2.stats.metricDeltas.Load()+h2.stats.metricDuplicate.Load() == 3 })
	if got := total(h2); got != 5 {
		t.Fatalf("after replaying the stream the hub counts %d invocations, want 5", got)
	}
}

// Metadata: the fake carries no stream sequence.
func (m streamMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return nil, jetstream.ErrNotJSMessage
}
