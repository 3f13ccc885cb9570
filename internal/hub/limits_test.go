package hub

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// syncBuffer is a log destination safe for the hub's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startLoggedHub(t *testing.T, cfg Config) (*Hub, *syncBuffer) {
	t.Helper()
	logs := new(syncBuffer)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	h, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, logs
}

func heartbeatBytes(id string, seq uint64) []byte {
	b, _ := wire.Encode(wire.Heartbeat{V: wire.Version, NodeID: id, Status: "online", Epoch: 1, Seq: seq})
	return b
}

func TestHeartbeatRateLimit(t *testing.T) {
	h, logs := startLoggedHub(t, Config{HeartbeatRate: 1, HeartbeatBurst: 2})
	t0 := time.Now()
	steps := []struct {
		at       time.Duration
		accepted bool
	}{
		{0, true},            // joins: its bucket starts full
		{0, true}, {0, true}, // the burst of 2
		{0, false}, {0, false}, // over it
		{500 * time.Millisecond, false}, // half a token
		{time.Second, true},             // one token a second
		{time.Second, false},
		{10 * time.Second, true}, {10 * time.Second, true}, {10 * time.Second, false}, // refilled to the burst only
	}
	var accepted, dropped uint64
	for i, s := range steps {
		h.handleHeartbeat(wire.HeartbeatSubject("n1"), heartbeatBytes("n1", uint64(i+1)), t0.Add(s.at))
		if s.accepted {
			accepted++
		} else {
			dropped++
		}
		if got := h.stats.heartbeats.Load(); got != accepted {
			t.Fatalf("step %d at +%v: %d heartbeats accepted, want %d", i, s.at, got, accepted)
		}
		if got := h.rejects.get(kindHeartbeat, reasonRate); got != dropped {
			t.Fatalf("step %d at +%v: %d dropped for rate, want %d", i, s.at, got, dropped)
		}
	}
	// Another node has its own bucket.
	h.handleHeartbeat(wire.HeartbeatSubject("n2"), heartbeatBytes("n2", 1), t0)
	h.handleHeartbeat(wire.HeartbeatSubject("n2"), heartbeatBytes("n2", 2), t0)
	if got := h.stats.heartbeats.Load(); got != accepted+2 {
		t.Fatalf("n2's heartbeats: %d accepted in all, want %d", got, accepted+2)
	}
	if n := strings.Count(logs.String(), "over its rate limit"); n != 1 {
		t.Fatalf("%d rate log lines for one node within a minute, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "node=n1") {
		t.Fatalf("the rate log line does not name the node:\n%s", logs)
	}
	body := scrape(t, h)
	if !strings.Contains(body, `edgeinfra_hub_rejected_total{kind="heartbeat",reason="rate"} 5`) {
		t.Fatalf("/metrics lacks the rate rejections:\n%s", grepLines(body, "rejected"))
	}
}

func TestMaxNodes(t *testing.T) {
	h, logs := startLoggedHub(t, Config{MaxNodes: 2})
	now := time.Now()
	for _, id := range []string{"n1", "n2", "n3", "n1"} {
		h.handleHeartbeat(wire.HeartbeatSubject(id), heartbeatBytes(id, uint64(now.UnixNano())), now)
	}
	if h.reg.len() != 2 || h.reg.known("n3") {
		t.Fatalf("registry holds %d nodes (n3 known: %v), want n1 and n2", h.reg.len(), h.reg.known("n3"))
	}
	a := connect(t, h)
	a.state("n4", 1, map[string]any{"k": 1}) // a state change of a new node past the limit
	a.state("n1", 1, map[string]any{"k": 1}) // a tracked node's is applied
	a.metrics("n1", "f")
	a.metrics("n2", "f")
	a.metrics("n5", "f") // metrics track their own nodes: a third is refused
	eventually(t, "refusals counted", func() bool {
		return h.rejects.get(kindState, reasonMaxNodes) == 1 && h.rejects.get(kindMetrics, reasonMaxNodes) == 1 && h.stats.metricDeltas.Load() == 3
	})
	if got := h.rejects.get(kindHeartbeat, reasonMaxNodes); got != 1 {
		t.Fatalf("heartbeats refused for max_nodes = %d, want 1", got)
	}
	if h.reg.known("n4") || h.stats.stateApplied.Load() != 1 {
		t.Fatalf("n4 known %v, %d changes applied", h.reg.known("n4"), h.stats.stateApplied.Load())
	}
	if n := h.agg.TotalInvocations(metrics.Filter{NodeID: "n5"}); n != 0 {
		t.Fatalf("n5's refused metrics were merged: %d", n)
	}
	if !strings.Contains(logs.String(), "refusing a new node") || !strings.Contains(logs.String(), "node=n3") {
		t.Fatalf("no log line naming the refused node:\n%s", logs)
	}
	if n := strings.Count(logs.String(), "refusing a new node"); n != 1 {
		t.Fatalf("%d max_nodes log lines within a minute, want 1", n)
	}
}

func (a *fakeAgent) metrics(id string, fns ...string) {
	agg := metrics.New()
	for _, fn := range fns {
		agg.Record(metrics.Invocation{FunctionID: fn, NodeID: id, Duration: time.Millisecond, Success: true})
	}
	b, _ := agg.Snapshot().MarshalBinary()
	if _, err := a.js.Publish(context.Background(), wire.MetricsSubject(id), b); err != nil {
		a.t.Fatal(err)
	}
}

func TestSeriesPerNodeQuota(t *testing.T) {
	h, logs := startLoggedHub(t, Config{MaxSeriesPerNode: 2})
	a := connect(t, h)
	a.metrics("n1", "f1", "f2", "f3")
	a.metrics("n1", "f1", "f4", "bad\nid")
	a.metrics("n2", "f3", "f4") // another node has its own quota
	eventually(t, "three deltas", func() bool { return h.stats.metricDeltas.Load() == 3 })
	for _, tt := range []struct {
		fn, node string
		want     int64
	}{
		{"f1", "n1", 2}, {"f2", "n1", 1}, {"f3", "n1", 0}, {"f4", "n1", 0}, {"bad\nid", "n1", 0},
		{"f3", "n2", 1}, {"f4", "n2", 1},
	} {
		if got := h.agg.TotalInvocations(metrics.Filter{FunctionID: tt.fn, NodeID: tt.node}); got != tt.want {
			t.Errorf("invocations of (%q, %s) = %d, want %d", tt.fn, tt.node, got, tt.want)
		}
	}
	if got := h.rejects.get(kindMetrics, reasonMaxSeries); got != 2 {
		t.Errorf("series refused for the quota = %d, want 2 (f3, f4 of n1)", got)
	}
	if got := h.rejects.get(kindMetrics, reasonInvalid); got != 1 {
		t.Errorf("invalid series = %d, want 1", got)
	}
	if !strings.Contains(logs.String(), "over its quota") || !strings.Contains(logs.String(), "node=n1") {
		t.Errorf("no log line naming n1:\n%s", logs)
	}
	body := scrape(t, h)
	for _, want := range []string{
		`edgeinfra_hub_rejected_total{kind="metrics",reason="max_series"} 2`,
		`edgeinfra_hub_rejected_total{kind="metrics",reason="invalid"} 1`,
		`edgeinfra_hub_rejected_total{kind="heartbeat",reason="max_nodes"} 0`,
		`edgeinfra_hub_messages_total{kind="any",result="rejected"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(body, "rejected"))
		}
	}
}

func TestLimitDefaults(t *testing.T) {
	h := startHub(t, Config{})
	if h.reg.maxNodes != defaultMaxNodes || h.quota.perNode != defaultMaxSeriesPerNode || h.reg.heartbeatLimiter == nil {
		t.Fatalf("defaults: max nodes %d, series per node %d, heartbeat limiter %v", h.reg.maxNodes, h.quota.perNode, h.reg.heartbeatLimiter != nil)
	}
	if lim := h.reg.heartbeatLimiter(); lim.Limit() != defaultHeartbeatRate || lim.Burst() != 2*defaultHeartbeatRate {
		t.Fatalf("heartbeat bucket %v/%d", lim.Limit(), lim.Burst())
	}
	off := startHub(t, Config{MaxNodes: -1, MaxSeriesPerNode: -1, HeartbeatRate: -1})
	if off.reg.maxNodes != 0 || off.quota.perNode != 0 || off.reg.heartbeatLimiter != nil {
		t.Fatal("negative limits are not off")
	}
}

func scrape(t *testing.T, h *Hub) string {
	t.Helper()
	resp, err := http.Get(h.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestDesiredStateBounded: desired keys merge across PUTs; a PUT that
// would make the merged value too large for an agent to decode is refused
// with 413, and the earlier keys stay.
func TestDesiredStateBounded(t *testing.T) {
	h := startHub(t, Config{})
	connect(t, h).heartbeat("n1", "eu", 1)
	eventually(t, "node known", func() bool { return h.reg.known("n1") })
	put := func(body string) (int, string) {
		req, _ := http.NewRequest("PUT", h.URL()+"/api/v1/nodes/n1/state", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	big := strings.Repeat("x", 600_000)
	if code, body := put(`{"a":"` + big + `"}`); code != 200 {
		t.Fatalf("first PUT = %d %s", code, body)
	}
	code, body := put(`{"b":"` + big + `"}`)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "over the limit") {
		t.Fatalf("PUT that would overflow the desired state = %d %s", code, body)
	}
	if code, _ := put(`{"c":1}`); code != 200 {
		t.Fatalf("a small PUT after the refusal = %d", code)
	}
}
