package sim

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type nodeRow struct {
	ID       string `json:"id"`
	Region   string `json:"region"`
	Status   string `json:"status"`
	Healthy  bool   `json:"healthy"`
	Liveness string `json:"liveness"`
}

func nodes(t *testing.T, f *Fleet) map[string]nodeRow {
	t.Helper()
	resp, err := http.Get(f.URL() + "/api/v1/nodes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rows []nodeRow
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]nodeRow{}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestFleetEndToEnd(t *testing.T) {
	f, err := Start(context.Background(), Config{
		Nodes: 6, HeartbeatInterval: 100 * time.Millisecond, HeartbeatTimeout: 400 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := f.NodeIDs()
	if len(ids) != 6 || ids[0] != "eu-west-1" {
		t.Fatalf("NodeIDs = %v", ids)
	}
	eventually(t, "all six nodes healthy", func() bool {
		n := nodes(t, f)
		healthy := 0
		for _, r := range n {
			if r.Healthy {
				healthy++
			}
		}
		return healthy == 6
	})

	victim := ids[1]
	if err := f.Crash(victim); err != nil {
		t.Fatal(err)
	}
	var seen []string // liveness verdicts, in order
	eventually(t, "crashed node dead", func() bool {
		r := nodes(t, f)[victim]
		if len(seen) == 0 || seen[len(seen)-1] != r.Liveness {
			seen = append(seen, r.Liveness)
		}
		return !r.Healthy && r.Status == "offline" && r.Liveness == "dead"
	})
	if !slices.Contains(seen, "suspect") {
		t.Errorf("crashed node went %v, want alive → suspect → dead", seen)
	}

	other := ids[2]
	req, _ := http.NewRequest(http.MethodPut, f.URL()+"/api/v1/nodes/"+other+"/state", strings.NewReader(`{"rollout":"canary"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT desired state: %d", resp.StatusCode)
	}
	eventually(t, "desired state at the agent", func() bool { return f.Agent(other).State().Data["rollout"] == "canary" })

	eventually(t, "traffic visible at the hub", func() bool {
		resp, err := http.Get(f.URL() + "/api/v1/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var m struct {
			Total     int64            `json:"total_invocations"`
			Functions []map[string]any `json:"functions"`
		}
		json.NewDecoder(resp.Body).Decode(&m)
		return m.Total > 0 && len(m.Functions) == len(functions)
	})

	if err := f.Restart(victim); err != nil {
		t.Fatal(err)
	}
	eventually(t, "restarted node healthy", func() bool { return nodes(t, f)[victim].Healthy })
}

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestEveryFaultIsInjected(t *testing.T) {
	var logs logBuffer
	f, err := Start(context.Background(), Config{
		Nodes: 4, Regions: []string{"a", "b"}, Faults: AllFaults, FaultEvery: 50 * time.Millisecond,
		HeartbeatInterval: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fault: node crashed", "fault: region partitioned", "fault: node flapping", "fault: node slow"}
	eventually(t, "every kind of fault", func() bool {
		s := logs.String()
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
	// Stop in the middle of faults: Close must still leave nothing running
	// (goleak checks after the tests).
	f.Close()
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{Nodes: -1}, {Nodes: 1, Faults: []string{"meteor"}}} {
		if _, err := Start(context.Background(), cfg); err == nil {
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}
}
