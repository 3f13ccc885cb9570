package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// The hand-written listing encoder must write exactly what encoding/json
// writes for nodeView.
func TestAppendNodeViewMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 23, 1, 2, 3, 456789000, time.UTC)
	tests := []struct {
		name string
		v    nodeView
	}{
		{"zero", nodeView{}},
		{"healthy", nodeView{ID: "edge-1", Region: "eu-west", Address: "10.0.0.1:8090", Status: "online", Healthy: true,
			LastHeartbeat: at, HeartbeatAge: 0.25, Sync: wire.SyncInfo{LocalVersion: 7, RemoteVersion: 3, Pending: 2}, StateVersion: 5}},
		{"unhealthy", nodeView{ID: "n", Status: "offline", Reason: "heartbeat timeout", LastHeartbeat: at.In(time.FixedZone("x", 3600)),
			HeartbeatAge: 123456.789, Flapping: true, StateVersion: -1}},
		{"escaping", nodeView{ID: "a", Region: "é\"\\<>&\n\u2028\x00", Address: "\xff", Status: "on\tline"}},
		{"tiny and huge ages", nodeView{ID: "a", HeartbeatAge: 1e-9}},
		{"huge age", nodeView{ID: "a", HeartbeatAge: 1e22}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendNodeView(nil, &tt.v); !bytes.Equal(got, want) {
				t.Errorf("appendNodeView =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestWriteNodeListIsAJSONArray(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		all := make([]snapshot, n)
		for i := range all {
			all[i].Node.ID = string(rune('a' + i))
		}
		rec := httptest.NewRecorder()
		writeNodeList(rec, all, func(s *snapshot) nodeView { return nodeView{ID: s.Node.ID, Status: "online"} })
		var got []nodeView
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got) != n {
			t.Fatalf("%d views: body %q decodes to %d views, err %v", n, rec.Body.String(), len(got), err)
		}
		for i, v := range got {
			if v.ID != all[i].Node.ID || v.Status != "online" {
				t.Errorf("row %d = %+v, want node %s online", i, v, all[i].Node.ID)
			}
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
	}
}

func FuzzAppendNodeView(f *testing.F) {
	f.Add("edge-1", "eu", "10.0.0.1:1", "online", "", 0.5, int64(1), int64(2))
	f.Add("x", "é\"<", "\xff", "offline", "status offline", 1e-9, int64(-1), int64(1<<62))
	f.Fuzz(func(t *testing.T, id, region, addr, status, reason string, age float64, lv, sv int64) {
		v := nodeView{ID: id, Region: region, Address: addr, Status: status, Reason: reason, HeartbeatAge: age,
			LastHeartbeat: time.Unix(0, lv).UTC(), Sync: wire.SyncInfo{LocalVersion: lv}, StateVersion: sv}
		want, err := json.Marshal(v)
		if err != nil {
			return // NaN and infinities: encoding/json refuses them; the hub never produces them
		}
		if got := appendNodeView(nil, &v); !bytes.Equal(got, want) {
			t.Errorf("appendNodeView =\n%s\nwant\n%s", got, want)
		}
	})
}

// The listing is sorted by ID whatever the join order, and shows the
// flapping verdict of the newest sweep.
func TestListNodesOrderAndFlapping(t *testing.T) {
	h := benchHub(0)
	now := time.Now()
	for i, id := range []string{"c", "a", "b"} {
		h.acceptHeartbeat(wire.Heartbeat{V: wire.Version, NodeID: id, Status: "online", Epoch: 1, Seq: uint64(i + 1)}, now)
	}
	b, _ := h.reg.one("b", false)
	for i := range 4 {
		n := b.Node
		if i%2 == 1 {
			n.Status = "offline"
		}
		h.monitor.CheckNode(n)
	}
	h.sweep()
	rec := httptest.NewRecorder()
	h.listNodes(rec, httptest.NewRequest("GET", "/api/v1/nodes", nil))
	var got []nodeView
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range got {
		ids = append(ids, v.ID)
		if want := v.ID == "b"; v.Flapping != want {
			t.Errorf("node %s flapping = %v, want %v", v.ID, v.Flapping, want)
		}
		if v.Liveness != "alive" {
			t.Errorf("node %s liveness = %q, want alive", v.ID, v.Liveness)
		}
	}
	if fmt.Sprint(ids) != "[a b c]" {
		t.Errorf("listing order = %v, want [a b c]", ids)
	}
}
