package hub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/health"
	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// benchHub is a hub with n registered nodes and one health sweep, without
// NATS or HTTP: enough for the listing handler.
func benchHub(n int) *Hub {
	h := &Hub{reg: newRegistry(), timeout: time.Minute}
	h.monitor = health.NewMonitor(health.Options{HeartbeatTimeout: h.timeout, HistorySize: 50})
	h.tracker = health.NewTracker(health.TrackerOptions{SuspectAfter: h.timeout})
	now := time.Now()
	for i := range n {
		id := fmt.Sprintf("edge-%05d", i)
		h.acceptHeartbeat(wire.Heartbeat{V: wire.Version, NodeID: id, Region: "eu-west", Address: "10.0.0.1:8090",
			Status: "online", Epoch: 1, Seq: 1, Sync: wire.SyncInfo{LocalVersion: int64(i)}}, now)
	}
	h.sweep()
	return h
}

// BenchmarkListNodes is one GET /api/v1/nodes of a 10,000-node fleet, and
// for comparison the same rows encoded by encoding/json.
func BenchmarkListNodes(b *testing.B) {
	h := benchHub(10_000)
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		req := httptest.NewRequest("GET", "/api/v1/nodes", nil)
		w := discardWriter{http.Header{}}
		for b.Loop() {
			h.listNodes(w, req)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			now := time.Now()
			all := h.reg.all()
			out := make([]nodeView, len(all))
			for i, s := range all {
				out[i] = h.view(s, now, nil)
			}
			if _, err := json.Marshal(out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// discardWriter is an http.ResponseWriter that drops the body, so that
// BenchmarkListNodes measures the handler, not a recorder's buffer.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w discardWriter) WriteHeader(int)             {}

// BenchmarkHeartbeat is the hub's work for one heartbeat message of a
// known node: decoding and registering it.
func BenchmarkHeartbeat(b *testing.B) {
	h := benchHub(10_000)
	payload, _ := wire.Encode(wire.Heartbeat{V: wire.Version, NodeID: "edge-00042", Region: "eu-west", Status: "online", Epoch: 2, SentAt: time.Now()})
	b.ReportAllocs()
	for b.Loop() {
		hb, err := wire.DecodeHeartbeat(payload)
		if err != nil {
			b.Fatal(err)
		}
		hb.Seq++
		h.acceptHeartbeat(hb, time.Now())
	}
}

// BenchmarkFleetMetrics computes one answer of GET /api/v1/metrics (fleet
// totals and a row per function, without the cache) over 10,000 nodes
// running 5 functions each.
func BenchmarkFleetMetrics(b *testing.B) {
	h := benchHub(0)
	h.agg = metrics.NewWithOptions(metrics.Options{MaxSeries: 100_000}) // as Start does
	for n := range 10_000 {
		for f := range 5 {
			h.agg.Record(metrics.Invocation{FunctionID: fmt.Sprintf("fn-%d", f), NodeID: fmt.Sprintf("edge-%05d", n),
				Duration: time.Duration(1+n%50) * time.Millisecond, Success: n%17 != 0, Error: "timeout"})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if v := h.fleetMetrics(metrics.Filter{}); len(v.Functions) != 5 {
			b.Fatalf("%d function rows, want 5", len(v.Functions))
		}
	}
}
