package wire

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidNodeID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"pop-fra-1", true},
		{"A_b-9", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"a.b", false}, // would add a subject token
		{"a*", false},
		{"a>", false},
		{"a b", false},
		{"é", false},
	}
	for _, tt := range tests {
		if err := ValidNodeID(tt.id); (err == nil) != tt.ok {
			t.Errorf("ValidNodeID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}

func TestValidFunctionIDAndRegion(t *testing.T) {
	tests := []struct {
		s              string
		fnOK, regionOK bool
	}{
		{"resize", true, true},
		{"", false, true},
		{"图像/缩放 v2", true, true},
		{strings.Repeat("f", MaxFunctionLen), true, false},
		{strings.Repeat("f", MaxFunctionLen+1), false, false},
		{strings.Repeat("r", MaxRegionLen), true, true},
		{"a\nb", false, false},
		{"a\x00b", false, false},
		{"\xff", false, false},
	}
	for _, tt := range tests {
		if err := ValidFunctionID(tt.s); (err == nil) != tt.fnOK || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("ValidFunctionID(%q) = %v, want ok=%v", tt.s, err, tt.fnOK)
		}
		if err := ValidRegion(tt.s); (err == nil) != tt.regionOK {
			t.Errorf("ValidRegion(%q) = %v, want ok=%v", tt.s, err, tt.regionOK)
		}
	}
}

func TestSubjects(t *testing.T) {
	if got := HeartbeatSubject("n1"); got != "edgeinfra.hb.n1" {
		t.Fatalf("HeartbeatSubject = %q", got)
	}
	for _, s := range []string{HeartbeatSubject("n1"), StateSubject("n1"), MetricsSubject("n1")} {
		id, err := NodeFromSubject(s)
		if err != nil || id != "n1" {
			t.Fatalf("NodeFromSubject(%q) = %q, %v", s, id, err)
		}
	}
	if _, err := NodeFromSubject("edgeinfra.hb.bad*"); err == nil {
		t.Fatal("NodeFromSubject accepted an invalid ID")
	}
}

func TestHeartbeatRoundTrip(t *testing.T) {
	h := Heartbeat{V: Version, NodeID: "n1", Region: "eu", Status: "online", Epoch: 7, Seq: 3, SentAt: time.Unix(100, 0).UTC(), Sync: SyncInfo{LocalVersion: 4, Pending: 1}}
	b, err := Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHeartbeat(b)
	if err != nil || got != h {
		t.Fatalf("DecodeHeartbeat = %+v, %v; want %+v", got, err, h)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		dec  func([]byte) error
		want string
	}{
		{"malformed", `{"v":1,`, hb, "unexpected EOF"},
		{"unknown field", `{"v":1,"node_id":"a","status":"online","epoch":1,"seq":1,"sent_at":"2026-01-01T00:00:00Z","sync":{},"extra":1}`, hb, "unknown field"},
		{"trailing data", `{"v":1,"node_id":"a"} {}`, hb, "data after"},
		{"wrong version", `{"v":2,"node_id":"a"}`, hb, "version 2"},
		{"bad node", `{"v":1,"node_id":"a.b"}`, hb, "node ID"},
		{"long region", `{"v":1,"node_id":"a","region":"` + strings.Repeat("r", MaxRegionLen+1) + `"}`, hb, "region of 65 bytes"},
		{"control in region", `{"v":1,"node_id":"a","region":"eu\u0007"}`, hb, "control character"},
		{"long status", `{"v":1,"node_id":"a","status":"` + strings.Repeat("s", 33) + `"}`, hb, "status of 33 bytes"},
		{"oversized", `"` + strings.Repeat("x", MaxMessageSize) + `"`, hb, "over the limit"},
		{"state version zero", `{"v":1,"node_id":"a","version":0,"data":{}}`, sc, "must be positive"},
		{"empty key", `{"v":1,"node_id":"a","version":1,"data":{"":1}}`, sc, "state key"},
		{"data null", `null`, data, "got null"},
		{"data not object", `[1]`, data, "cannot unmarshal"},
		{"negative state", `{"node_id":"a","version":-1,"data":{}}`, st, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.dec([]byte(tt.in))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func hb(b []byte) error   { _, err := DecodeHeartbeat(b); return err }
func sc(b []byte) error   { _, err := DecodeStateChange(b); return err }
func st(b []byte) error   { _, err := DecodeState(b); return err }
func data(b []byte) error { _, err := DecodeData(b); return err }

func TestNormalizeNumbers(t *testing.T) {
	m, err := DecodeData([]byte(`{"i":3,"f":1.5,"nested":{"n":[1,2.5]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m["i"] != int64(3) || m["f"] != 1.5 {
		t.Fatalf("numbers = %#v", m)
	}
	if l := m["nested"].(map[string]any)["n"].([]any); l[0] != int64(1) || l[1] != 2.5 {
		t.Fatalf("nested numbers = %#v", l)
	}
}

func FuzzDecoders(f *testing.F) {
	f.Add([]byte(`{"v":1,"node_id":"a","status":"online","epoch":1,"seq":1,"sent_at":"2026-01-01T00:00:00Z","sync":{"local_version":1,"remote_version":0,"pending":0}}`))
	f.Add([]byte(`{"v":1,"node_id":"a","version":3,"data":{"k":[1,{"x":null}]},"at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"node_id":"a","version":3,"data":{"k":"v"},"updated_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"a":1e400}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := DecodeHeartbeat(b); err == nil {
			if ValidNodeID(h.NodeID) != nil || ValidRegion(h.Region) != nil {
				t.Fatalf("accepted heartbeat with invalid node %q or region %q", h.NodeID, h.Region)
			}
			if _, err := Encode(h); err != nil {
				t.Fatal(err)
			}
		}
		if c, err := DecodeStateChange(b); err == nil {
			if c.Version <= 0 || CheckData(c.Data) != nil {
				t.Fatalf("accepted invalid state change %+v", c)
			}
			if _, err := Encode(c); err != nil {
				t.Fatalf("re-encoding a decoded change: %v", err)
			}
		}
		if s, err := DecodeState(b); err == nil {
			if _, err := Encode(s); err != nil {
				t.Fatalf("re-encoding a decoded state: %v", err)
			}
		}
		_, _ = DecodeData(b)
	})
}

func TestParseMetricsMsgID(t *testing.T) {
	tests := []struct {
		id           string
		node         string
		lineage, seq uint64
		ok           bool
	}{
		{MetricsMsgID("edge-1", 1700000000000000000, 7), "edge-1", 1700000000000000000, 7, true},
		{"n.m.0.1", "n", 0, 1, true},
		{"n.m.1.0", "", 0, 0, false}, // sequences start at 1
		{"n.s.1.2", "", 0, 0, false}, // a state message ID
		{"n.m.1", "", 0, 0, false},
		{"n.m.x.2", "", 0, 0, false},
		{"n.m.1.-2", "", 0, 0, false},
		{"bad node.m.1.2", "", 0, 0, false},
		{"", "", 0, 0, false},
	}
	for _, tt := range tests {
		node, lineage, seq, err := ParseMetricsMsgID(tt.id)
		if (err == nil) != tt.ok || node != tt.node || lineage != tt.lineage || seq != tt.seq {
			t.Errorf("ParseMetricsMsgID(%q) = %q, %d, %d, %v; want %q, %d, %d, ok %v", tt.id, node, lineage, seq, err, tt.node, tt.lineage, tt.seq, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseMetricsMsgID(%q) error %v does not wrap ErrInvalid", tt.id, err)
		}
	}
}

func FuzzParseMetricsMsgID(f *testing.F) {
	f.Add("edge-1.m.1700000000000000000.7")
	f.Add("n.m.1.0")
	f.Add("a.b.c.d.e")
	f.Fuzz(func(t *testing.T, id string) {
		node, lineage, seq, err := ParseMetricsMsgID(id)
		if err != nil {
			return
		}
		if back := MetricsMsgID(node, lineage, seq); back != id {
			// Leading zeros or a '+' parse but print differently; the
			// parsed values must still round-trip.
			n2, l2, s2, err := ParseMetricsMsgID(back)
			if err != nil || n2 != node || l2 != lineage || s2 != seq {
				t.Fatalf("%q parsed to %q, %d, %d, which does not round-trip (%v)", id, node, lineage, seq, err)
			}
		}
	})
}
