package health

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/node"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func fixedNow() time.Time { return t0 }

func TestCheckNode(t *testing.T) {
	tests := []struct {
		name    string
		status  node.Status
		hb      time.Time
		healthy bool
		reason  string
		age     time.Duration
	}{
		{"online fresh", node.Online, t0.Add(-time.Second), true, "", time.Second},
		{"degraded fresh", node.Degraded, t0.Add(-59 * time.Second), true, "", 59 * time.Second},
		{"exactly at timeout", node.Online, t0.Add(-60 * time.Second), true, "", 60 * time.Second},
		{"just past timeout", node.Online, t0.Add(-60*time.Second - time.Nanosecond), false, ReasonHeartbeatTimeout, 60*time.Second + time.Nanosecond},
		{"never", node.Online, time.Time{}, false, ReasonNoHeartbeat, 0},
		{"future heartbeat", node.Online, t0.Add(time.Hour), true, "", 0},
		{"offline fresh", node.Offline, t0, false, "status offline", 0},
		{"maintenance fresh", node.Maintenance, t0, false, "status maintenance", 0},
		{"offline and late", node.Offline, t0.Add(-time.Hour), false, "status offline", time.Hour},
		{"invalid status", node.Status("exploded"), t0, false, "status unknown", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMonitor(Options{Now: fixedNow})
			c := m.CheckNode(node.Node{ID: "n1", Status: tt.status, LastHeartbeat: tt.hb})
			if c.Healthy != tt.healthy || c.Reason != tt.reason || c.HeartbeatAge != tt.age {
				t.Fatalf("CheckNode = healthy %v, reason %q, age %v; want %v, %q, %v", c.Healthy, c.Reason, c.HeartbeatAge, tt.healthy, tt.reason, tt.age)
			}
			if c.NodeID != "n1" || c.Status != tt.status || !c.CheckedAt.Equal(t0) || c.Latency < 0 {
				t.Fatalf("CheckNode = %+v", c)
			}
		})
	}
}

func TestCustomTimeout(t *testing.T) {
	m := NewMonitor(Options{HeartbeatTimeout: 5 * time.Second, Now: fixedNow})
	if c := m.CheckNode(node.Node{ID: "a", Status: node.Online, LastHeartbeat: t0.Add(-6 * time.Second)}); c.Healthy {
		t.Fatal("a 6s-old heartbeat passed a 5s timeout")
	}
	if s := m.Summary(); s.HeartbeatTimeoutSeconds != 5 || s.HistorySize != 100 {
		t.Fatalf("Summary = %+v", s)
	}
}

func TestHistory(t *testing.T) {
	m := NewMonitor(Options{HistorySize: 3, Now: fixedNow})
	for i := range 5 {
		status := node.Online
		if i%2 == 1 {
			status = node.Offline
		}
		m.CheckNode(node.Node{ID: "n", Status: status, LastHeartbeat: t0, Labels: map[string]string{"i": fmt.Sprint(i)}})
	}
	all := m.History("n", 0)
	if got := healthySeq(all); !reflect.DeepEqual(got, []bool{true, false, true}) {
		t.Fatalf("History(0) = %v, want the newest 3 checks (checks 2..4)", got)
	}
	if got := healthySeq(m.History("n", 2)); !reflect.DeepEqual(got, []bool{false, true}) {
		t.Fatalf("History(2) = %v, want checks 3, 4", got)
	}
	if got := m.History("n", 10); len(got) != 3 {
		t.Fatalf("History(10) returned %d checks, want all 3 kept", len(got))
	}
	if got := m.History("unknown", 5); got == nil || len(got) != 0 {
		t.Fatalf("History(unknown) = %v, want empty", got)
	}
	h := m.History("n", 0)
	h[0].Reason = "mutated"
	if m.History("n", 0)[0].Reason == "mutated" {
		t.Fatal("History returned the monitor's own storage")
	}
}

func healthySeq(cs []Check) []bool {
	out := make([]bool, len(cs))
	for i, c := range cs {
		out[i] = c.Healthy
	}
	return out
}

func TestDetectFlapping(t *testing.T) {
	tests := []struct {
		name   string
		seq    string // H healthy, U unhealthy, oldest first
		window int
		want   bool
	}{
		{"steady", "HHHHHH", 10, false},
		{"two transitions", "HUHHHH", 10, false},
		{"three transitions", "HUHU", 10, true},
		{"three transitions exactly in window", "HHHUHU", 4, true},
		{"transitions outside window", "HUHUHHHH", 4, false},
		{"window 3 cannot hold 3 transitions", "HUHUHU", 3, false},
		{"window 0 means all", "HUHUHHHHHHHHH", 0, true},
		{"too few checks", "HU", 10, false},
		{"many transitions", "HUHUHUHUHU", 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMonitor(Options{Now: fixedNow})
			feed(m, "n", tt.seq)
			if got := m.DetectFlapping("n", tt.window); got != tt.want {
				t.Fatalf("DetectFlapping(%q, %d) = %v, want %v", tt.seq, tt.window, got, tt.want)
			}
		})
	}
	if NewMonitor(Options{}).DetectFlapping("nobody", 10) {
		t.Fatal("an unknown node was flapping")
	}
}

func feed(m *Monitor, id, seq string) {
	for _, ch := range seq {
		st := node.Online
		if ch == 'U' {
			st = node.Offline
		}
		m.CheckNode(node.Node{ID: id, Status: st, LastHeartbeat: t0})
	}
}

func TestCheckCluster(t *testing.T) {
	m := NewMonitor(Options{Now: fixedNow})
	feed(m, "flappy", "HUHU")
	nodes := []node.Node{
		{ID: "c", Region: "eu", Status: node.Online, LastHeartbeat: t0},
		{ID: "b", Region: "eu", Status: node.Offline, LastHeartbeat: t0},
		{ID: "a", Region: "us", Status: node.Online},
		{ID: "flappy", Region: "us", Status: node.Online, LastHeartbeat: t0},
	}
	r := m.CheckCluster(nodes)
	if r.Total != 4 || r.Healthy != 2 || r.Unhealthy != 2 || r.HealthyPercent != 50 {
		t.Fatalf("report counts = %+v", r)
	}
	if !reflect.DeepEqual(r.UnhealthyNodes, []string{"a", "b"}) {
		t.Fatalf("UnhealthyNodes = %v, want sorted [a b]", r.UnhealthyNodes)
	}
	if !reflect.DeepEqual(r.FlappingNodes, []string{"flappy"}) {
		t.Fatalf("FlappingNodes = %v, want [flappy] (HUHU then H: 4 transitions)", r.FlappingNodes)
	}
	if eu := r.Regions["eu"]; eu == nil || *eu != (RegionCounts{Total: 2, Healthy: 1, Unhealthy: 1}) {
		t.Fatalf("Regions[eu] = %+v", eu)
	}
	if len(m.History("c", 0)) != 1 || len(m.History("flappy", 0)) != 5 {
		t.Fatal("CheckCluster did not append to the nodes' histories")
	}
	if !r.CheckedAt.Equal(t0) {
		t.Fatalf("CheckedAt = %v", r.CheckedAt)
	}
}

func TestCheckClusterEmpty(t *testing.T) {
	r := NewMonitor(Options{}).CheckCluster(nil)
	if r.Total != 0 || r.HealthyPercent != 0 || r.UnhealthyNodes == nil || r.FlappingNodes == nil {
		t.Fatalf("empty report = %+v, want zero counts and empty (non-nil) lists", r)
	}
	b, _ := json.Marshal(r)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"total", "healthy", "unhealthy", "healthy_percent", "unhealthy_nodes", "flapping_nodes", "checked_at", "regions"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report JSON lacks %q: %s", k, b)
		}
	}
}

func TestSummaryAndForget(t *testing.T) {
	m := NewMonitor(Options{Now: fixedNow})
	feed(m, "a", "UH")
	feed(m, "b", "HU")
	feed(m, "c", "H")
	s := m.Summary()
	if s.NodesTracked != 3 || s.Healthy != 2 || s.Unhealthy != 1 || s.ChecksTotal != 5 {
		t.Fatalf("Summary = %+v", s)
	}
	if !m.Forget("a") || m.Forget("a") {
		t.Fatal("Forget should report true once, then false")
	}
	if s := m.Summary(); s.NodesTracked != 2 || s.Healthy != 1 {
		t.Fatalf("Summary after Forget = %+v", s)
	}
	b, _ := json.Marshal(m.Summary())
	for _, k := range []string{`"nodes_tracked"`, `"healthy"`, `"checks_total"`, `"heartbeat_timeout_seconds"`} {
		if !json.Valid(b) || !strings.Contains(string(b), k) {
			t.Errorf("Summary JSON %s lacks %s", b, k)
		}
	}
}

func TestConcurrentChecks(t *testing.T) {
	m := NewMonitor(Options{HistorySize: 7})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 300 {
				id := fmt.Sprintf("n%d", (w+i)%5)
				m.CheckNode(node.Node{ID: id, Status: node.Online, LastHeartbeat: time.Now()})
				m.CheckCluster([]node.Node{{ID: id, Status: node.Offline}})
				_ = m.History(id, 3)
				_ = m.DetectFlapping(id, 10)
				_ = m.Summary()
			}
		})
	}
	wg.Wait()
	if s := m.Summary(); s.ChecksTotal != 2400 || s.NodesTracked != 5 {
		t.Fatalf("Summary = %+v, want 2400 checks of 5 nodes", s)
	}
	for i := range 5 {
		if n := len(m.History(fmt.Sprintf("n%d", i), 0)); n != 7 {
			t.Fatalf("history of n%d holds %d checks, want HistorySize 7", i, n)
		}
	}
}
