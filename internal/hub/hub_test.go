package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	cfg.Logger = quiet()
	h, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// fakeAgent publishes what an agent would, straight over NATS.
type fakeAgent struct {
	t  *testing.T
	nc *nats.Conn
	js jetstream.JetStream
}

func connect(t *testing.T, h *Hub) *fakeAgent {
	t.Helper()
	nc, err := nats.Connect(h.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeAgent{t: t, nc: nc, js: js}
}

func (a *fakeAgent) heartbeat(id, region string, seq uint64) {
	b, _ := wire.Encode(wire.Heartbeat{V: wire.Version, NodeID: id, Region: region, Status: "online", Epoch: 1, Seq: seq, SentAt: time.Now()})
	if err := a.nc.Publish(wire.HeartbeatSubject(id), b); err != nil {
		a.t.Fatal(err)
	}
	a.nc.Flush()
}

func (a *fakeAgent) state(id string, version int64, data map[string]any) {
	b, _ := wire.Encode(wire.StateChange{V: wire.Version, NodeID: id, Lineage: 1, Version: version, Data: data, At: time.Now()})
	if _, err := a.js.Publish(context.Background(), wire.StateSubject(id), b, jetstream.WithMsgID(wire.StateMsgID(id, 1, version, 0))); err != nil {
		a.t.Fatal(err)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: decoding: %v", url, err)
		}
	}
	return resp.StatusCode
}

// eventually polls cond until it holds or 5s pass: the hub applies NATS
// messages asynchronously.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHeartbeatStateAndMetricsReachTheAPI(t *testing.T) {
	h := startHub(t, Config{})
	a := connect(t, h)
	a.heartbeat("n1", "eu", 1)
	a.heartbeat("n2", "us", 1)

	var nodes []nodeView
	eventually(t, "two nodes listed", func() bool {
		getJSON(t, h.URL()+"/api/v1/nodes", &nodes)
		return len(nodes) == 2
	})
	if nodes[0].ID != "n1" || nodes[0].Region != "eu" || !nodes[0].Healthy || nodes[0].Status != "online" {
		t.Fatalf("nodes[0] = %+v", nodes[0])
	}

	a.state("n1", 1, map[string]any{"a": 1})
	a.state("n1", 2, map[string]any{"b": "x"})
	a.state("n1", 1, map[string]any{"a": 99}) // duplicate ID: dropped by JetStream
	var st wire.State
	eventually(t, "state version 2", func() bool {
		getJSON(t, h.URL()+"/api/v1/nodes/n1/state", &st)
		return st.Version == 2
	})
	if st.Data["a"] != 1.0 || st.Data["b"] != "x" || st.NodeID != "n1" {
		t.Fatalf("state = %+v", st)
	}

	agg := metrics.New()
	agg.Record(metrics.Invocation{FunctionID: "resize", NodeID: "n1", Duration: 10 * time.Millisecond, Success: true})
	agg.Record(metrics.Invocation{FunctionID: "resize", NodeID: "n1", Duration: 30 * time.Millisecond, Success: false, Error: "timeout"})
	b, _ := agg.TakeDelta().MarshalBinary()
	if _, err := a.js.Publish(context.Background(), wire.MetricsSubject("n1"), b, jetstream.WithMsgID(wire.MetricsMsgID("n1", 1, 1))); err != nil {
		t.Fatal(err)
	}
	var mv metricsView
	eventually(t, "metrics merged", func() bool {
		getJSON(t, h.URL()+"/api/v1/metrics?function=resize", &mv)
		return mv.TotalInvocations == 2
	})
	if mv.Errors != 1 || mv.SuccessRate != 50 || mv.AvgLatencyMS < 19.5 || mv.AvgLatencyMS > 20.5 || mv.P50MS < 9.9 || mv.P50MS > 10.1 {
		t.Fatalf("metrics = %+v", mv)
	}

	var cluster clusterView
	eventually(t, "cluster report of 2", func() bool {
		getJSON(t, h.URL()+"/api/v1/cluster", &cluster)
		return cluster.Total == 2
	})
	if cluster.Healthy != 2 || cluster.Regions["eu"].Total != 1 {
		t.Fatalf("cluster = %+v", cluster)
	}
}

func TestStaleHeartbeatIgnored(t *testing.T) {
	r := newRegistry()
	now := time.Now()
	if joined, ok := r.heartbeat(wire.Heartbeat{NodeID: "n", Epoch: 2, Seq: 5, Status: "online"}, now); !ok || !joined {
		t.Fatalf("first heartbeat: joined %v, accepted %v; want both", joined, ok)
	}
	for _, hb := range []wire.Heartbeat{{NodeID: "n", Epoch: 2, Seq: 5}, {NodeID: "n", Epoch: 2, Seq: 4}, {NodeID: "n", Epoch: 1, Seq: 100}} {
		if _, ok := r.heartbeat(hb, now.Add(time.Second)); ok {
			t.Errorf("stale heartbeat %+v accepted", hb)
		}
	}
	if joined, ok := r.heartbeat(wire.Heartbeat{NodeID: "n", Epoch: 3, Seq: 1, Status: "degraded"}, now); !ok || joined {
		t.Fatalf("a restarted agent's heartbeat (new epoch): joined %v, accepted %v; want accepted, not joined", joined, ok)
	}
	if joined, _ := r.heartbeat(wire.Heartbeat{NodeID: "n", Epoch: 3, Seq: 2, Region: "eu"}, now); !joined {
		t.Fatal("a heartbeat with a new region did not rejoin the node")
	}
}

// TestStateBase: a change whose predecessor has not been applied is
// skipped (not applied out of order), and applied when it comes again
// after the predecessor, as the agent's next push attempt sends it.
func TestStateBase(t *testing.T) {
	r := newRegistry()
	steps := []struct {
		name          string
		base, version int64
		key           string
		want          stateResult
		wantVersion   int64
	}{
		{"first change", 0, 1, "a", stateApplied, 1},
		{"its successor", 1, 2, "b", stateApplied, 2},
		{"4 got through, 3 was lost", 3, 4, "d", stateGap, 2},
		{"3 republished", 0, 3, "c", stateApplied, 3},
		{"4 republished", 3, 4, "d", stateApplied, 4},
		{"4 once more: a duplicate", 3, 4, "d", stateStale, 4},
		{"a coalesced change over 5..7 whose base was applied", 4, 7, "g", stateApplied, 7},
		{"a coalesced change reaching back below the applied version", 6, 9, "i", stateApplied, 9},
		{"a stale base with an old version", 0, 8, "h", stateStale, 9},
	}
	for _, s := range steps {
		got := r.applyState(wire.StateChange{NodeID: "n", Lineage: 1, Base: s.base, Version: s.version, Data: map[string]any{s.key: s.version}})
		if got != s.want {
			t.Fatalf("%s: applyState = %v, want %v", s.name, got, s.want)
		}
		if v := r.nodes["n"].stateVersion; v != s.wantVersion {
			t.Fatalf("%s: applied version %d, want %d", s.name, v, s.wantVersion)
		}
	}
	if _, ok := r.nodes["n"].data["h"]; ok {
		t.Fatal("a stale change was applied")
	}
	for _, k := range []string{"a", "b", "c", "d", "g", "i"} {
		if _, ok := r.nodes["n"].data[k]; !ok {
			t.Fatalf("key %q missing after the gap was filled", k)
		}
	}
}

func TestStateLineage(t *testing.T) {
	r := newRegistry()
	apply := func(lineage uint64, version int64) bool {
		return r.applyState(wire.StateChange{NodeID: "n", Lineage: lineage, Version: version, Data: map[string]any{"v": version}}) == stateApplied
	}
	steps := []struct {
		lineage uint64
		version int64
		want    bool
	}{
		{5, 1, true}, {5, 3, true}, {5, 3, false}, {5, 2, false}, // duplicates and reordering
		{4, 9, false},              // an older lineage is stale
		{6, 1, true}, {6, 2, true}, // a new lineage restarts the versions
		{5, 10, false},
	}
	for _, s := range steps {
		if got := apply(s.lineage, s.version); got != s.want {
			t.Errorf("applyState(lineage %d, version %d) = %v, want %v", s.lineage, s.version, got, s.want)
		}
	}
}

func TestDesiredStateGoesToTheBucket(t *testing.T) {
	h := startHub(t, Config{})
	a := connect(t, h)
	a.heartbeat("n1", "eu", 1)
	eventually(t, "node known", func() bool { return h.reg.known("n1") })

	for i, body := range []string{`{"mode":"eco"}`, `{"limit":5}`} {
		req, _ := http.NewRequest(http.MethodPut, h.URL()+"/api/v1/nodes/n1/state", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT %d: status %d", i, resp.StatusCode)
		}
	}
	kv, err := a.js.KeyValue(context.Background(), wire.DesiredBucket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(context.Background(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	d, err := wire.DecodeState(e.Value())
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 2 || d.Data["mode"] != "eco" || d.Data["limit"] != int64(5) {
		t.Fatalf("desired = %+v, want version 2 with both keys", d)
	}
}

func TestAPIErrors(t *testing.T) {
	h := startHub(t, Config{})
	a := connect(t, h)
	a.heartbeat("n1", "eu", 1)
	eventually(t, "node known", func() bool { return h.reg.known("n1") })
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown node", "GET", "/api/v1/nodes/nope", "", 404, "not_found"},
		{"unknown node state", "GET", "/api/v1/nodes/nope/state", "", 404, "not_found"},
		{"invalid node id", "GET", "/api/v1/nodes/a.b", "", 404, "not_found"},
		{"put unknown node", "PUT", "/api/v1/nodes/nope/state", `{"a":1}`, 404, "not_found"},
		{"malformed JSON", "PUT", "/api/v1/nodes/n1/state", `{"a":`, 400, "bad_request"},
		{"not an object", "PUT", "/api/v1/nodes/n1/state", `[1,2]`, 400, "bad_request"},
		{"empty key", "PUT", "/api/v1/nodes/n1/state", `{"":1}`, 400, "bad_request"},
		{"oversized", "PUT", "/api/v1/nodes/n1/state", `{"a":"` + strings.Repeat("x", maxBody) + `"}`, 413, "too_large"},
		{"wrong method", "DELETE", "/api/v1/nodes/n1", "", 405, "method_not_allowed"},
		{"unknown endpoint", "GET", "/api/v1/nothing", "", 404, "not_found"},
		{"metrics unknown node", "GET", "/api/v1/metrics?node=ghost", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, h.URL()+tt.path, bytes.NewBufferString(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e apiError
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("error body is not JSON: %v", err)
			}
			if resp.StatusCode != tt.status || e.Error.Code != tt.code || e.Error.Message == "" {
				t.Fatalf("%s %s = %d %+v, want %d %s", tt.method, tt.path, resp.StatusCode, e, tt.status, tt.code)
			}
		})
	}
}

func TestInvalidMessagesAreRejected(t *testing.T) {
	h := startHub(t, Config{})
	a := connect(t, h)
	a.nc.Publish(wire.HeartbeatSubject("n1"), []byte(`garbage`))
	b, _ := wire.Encode(wire.Heartbeat{V: wire.Version, NodeID: "other", Status: "online", Epoch: 1, Seq: 1})
	a.nc.Publish(wire.HeartbeatSubject("n1"), b) // a node posing as another
	a.js.Publish(context.Background(), wire.StateSubject("n1"), []byte(`{"v":1}`))
	a.js.Publish(context.Background(), wire.MetricsSubject("n1"), []byte("not a snapshot"))
	agg := metrics.New()
	agg.Record(metrics.Invocation{FunctionID: "f", NodeID: "someone-else", Success: true})
	snap, _ := agg.Snapshot().MarshalBinary()
	a.js.Publish(context.Background(), wire.MetricsSubject("n1"), snap) // counts for another node
	a.nc.Flush()
	eventually(t, "5 rejections", func() bool { return h.rejects.total() == 5 })
	if hb, st, m := h.rejects.get(kindHeartbeat, reasonInvalid), h.rejects.get(kindState, reasonInvalid), h.rejects.get(kindMetrics, reasonInvalid); hb != 2 || st != 1 || m != 2 {
		t.Fatalf("invalid heartbeats, states, metrics = %d, %d, %d; want 2, 1, 2", hb, st, m)
	}
	if h.reg.len() != 0 || h.agg.TotalInvocations(metrics.Filter{}) != 0 {
		t.Fatal("an invalid message changed the fleet")
	}
}

func TestPrometheusExposition(t *testing.T) {
	h := startHub(t, Config{})
	connect(t, h).heartbeat("n1", "eu", 1)
	eventually(t, "node known", func() bool { return h.reg.known("n1") })
	h.sweep() // the liveness gauges come from the newest sweep
	resp, err := http.Get(h.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`edgeinfra_nodes{region="eu",status="online"} 1`, `edgeinfra_hub_messages_total{kind="heartbeat",result="accepted"} 1`,
		`edgeinfra_nodes_liveness{region="eu",state="alive"} 1`, `edgeinfra_nodes_liveness{region="eu",state="dead"} 0`, `edgeinfra_region_unhealthy{region="eu"} 0`,
		"edgeinfra_hub_nats_connected 1", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestRestartWithDataDirKeepsState(t *testing.T) {
	dir := t.TempDir()
	h, err := Start(context.Background(), Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	a := connect(t, h)
	a.state("n1", 1, map[string]any{"kept": true})
	eventually(t, "state applied", func() bool { s, ok := h.reg.one("n1", false); return ok && s.StateVersion == 1 })
	a.nc.Close()
	h.Close()

	h2 := startHub(t, Config{DataDir: dir})
	var st wire.State
	eventually(t, "state replayed after restart", func() bool {
		return getJSON(t, h2.URL()+"/api/v1/nodes/n1/state", &st) == 200 && st.Version == 1
	})
	if st.Data["kept"] != true {
		t.Fatalf("state after restart = %+v", st)
	}
}

// A node that stops heartbeating goes suspect, then dead, in the listing
// and in the cluster's liveness report, and recovers on its next heartbeat.
func TestSilentNodeGoesSuspectThenDead(t *testing.T) {
	h := startHub(t, Config{HeartbeatTimeout: 300 * time.Millisecond, SweepInterval: 20 * time.Millisecond})
	a := connect(t, h)
	a.heartbeat("quiet", "eu", 1)
	liveness := func() string {
		var nodes []nodeView
		getJSON(t, h.URL()+"/api/v1/nodes", &nodes)
		if len(nodes) != 1 {
			return ""
		}
		return nodes[0].Liveness
	}
	var seen []string
	eventually(t, "the node to go alive, suspect, dead", func() bool {
		if l := liveness(); len(seen) == 0 || seen[len(seen)-1] != l {
			seen = append(seen, l)
		}
		return seen[len(seen)-1] == "dead"
	})
	if !slices.Contains(seen, "alive") || !slices.Contains(seen, "suspect") {
		t.Errorf("liveness went %v, want alive, suspect and dead in turn", seen)
	}
	var cluster clusterView
	getJSON(t, h.URL()+"/api/v1/cluster", &cluster)
	if cluster.Liveness == nil || cluster.Liveness.Dead != 1 || cluster.Liveness.Regions["eu"] == nil || cluster.Liveness.Regions["eu"].Dead != 1 {
		t.Errorf("cluster liveness = %+v, want one dead node in eu", cluster.Liveness)
	}
	a.heartbeat("quiet", "eu", 2)
	eventually(t, "the node to recover", func() bool { return liveness() == "alive" })
}
