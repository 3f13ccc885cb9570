package hub

import (
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// FuzzHandleHeartbeat feeds arbitrary subjects and payloads to the hub's
// heartbeat path (rate limit, decoding, admission): it never panics, and
// only a valid heartbeat on its own node's subject changes the registry.
func FuzzHandleHeartbeat(f *testing.F) {
	f.Add(wire.HeartbeatSubject("n1"), heartbeatBytes("n1", 1))
	f.Add(wire.HeartbeatSubject("n2"), heartbeatBytes("n1", 1))
	f.Add("edgeinfra.hb.", []byte(`{"v":1}`))
	f.Add("edgeinfra.hb.n1", []byte(`{"v":1,"node_id":"n1","region":"eu\u0000","status":"online","epoch":1,"seq":1,"sent_at":"2026-01-01T00:00:00Z","sync":{}}`))
	h, err := Start(f.Context(), Config{Logger: quiet(), MaxNodes: 8, HeartbeatRate: 5, HeartbeatBurst: 5})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { h.Close() })
	now := time.Now()
	f.Fuzz(func(t *testing.T, subject string, data []byte) {
		before := h.stats.heartbeats.Load()
		h.handleHeartbeat(subject, data, now)
		if h.stats.heartbeats.Load() == before {
			return
		}
		hb, err := wire.DecodeHeartbeat(data)
		id, serr := wire.NodeFromSubject(subject)
		if err != nil || serr != nil || id != hb.NodeID {
			t.Fatalf("accepted a heartbeat that is invalid (%v) or on the wrong subject %q (%v)", err, subject, serr)
		}
		if h.reg.len() > 8 {
			t.Fatalf("registry holds %d nodes, over MaxNodes 8", h.reg.len())
		}
	})
}

// FuzzAdmitMetrics decodes arbitrary metric deltas and admits them as the
// hub does: it never panics, and what it merges has valid function IDs
// within the per-node quota.
func FuzzAdmitMetrics(f *testing.F) {
	agg := metrics.New()
	agg.Record(metrics.Invocation{FunctionID: "f1", NodeID: "n1", Duration: time.Millisecond, Success: true})
	agg.Record(metrics.Invocation{FunctionID: "f2", NodeID: "n1", Duration: time.Second, Error: "timeout"})
	agg.Record(metrics.Invocation{FunctionID: "bad\nid", NodeID: "n1", Success: true})
	good, _ := agg.Snapshot().MarshalBinary()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("EIMS\x01\x00\x00\x00\x00\x00"))
	h := &Hub{cfg: Config{MaxNodes: 4, MaxSeriesPerNode: 3}, log: quiet(), reg: newRegistry()}
	h.configureLimits()
	merged := metrics.NewWithOptions(metrics.Options{MaxSeries: -1, NoWindows: true})
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		var snap metrics.Snapshot
		if snap.UnmarshalBinary(data) != nil || snap.Len() == 0 {
			return
		}
		id := snap.Keys()[0].NodeID
		if wire.ValidNodeID(id) != nil || !snapOnlyNode(snap, id) {
			return
		}
		kept := h.admitMetrics(id, snap, now)
		for _, k := range kept.Keys() {
			if wire.ValidFunctionID(k.FunctionID) != nil {
				t.Fatalf("admitted function ID %q", k.FunctionID)
			}
		}
		merged.Merge(kept)
		if n := len(merged.Keys(metrics.Filter{NodeID: id})); n > 3 {
			t.Fatalf("node %s has %d series merged, over its quota of 3", id, n)
		}
	})
}
