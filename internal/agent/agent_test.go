package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/edgeinfra/edgeinfra/internal/hub"
	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
	"github.com/edgeinfra/edgeinfra/statesync"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func do(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
	return resp.StatusCode
}

func startAgent(t *testing.T, cfg Config) *Agent {
	t.Helper()
	cfg.Logger = quiet()
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = 50 * time.Millisecond
	}
	if cfg.PushInterval == 0 {
		cfg.PushInterval = 50 * time.Millisecond
	}
	a, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestAgentAndHubEndToEnd(t *testing.T) {
	h, err := hub.Start(context.Background(), hub.Config{Logger: quiet(), SweepInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	a := startAgent(t, Config{HubURL: h.NATSURL(), ID: "n1", Region: "eu"})

	var nodes []map[string]any
	eventually(t, "node listed by the hub", func() bool {
		do(t, "GET", h.URL()+"/api/v1/nodes", "", &nodes)
		return len(nodes) == 1 && nodes[0]["healthy"] == true
	})

	// A local state change reaches the hub and is confirmed.
	var st statesync.State
	if code := do(t, "PUT", "http://"+a.HTTPAddr()+"/v1/state", `{"mode":"eco","limit":3}`, &st); code != 200 || st.Version != 1 {
		t.Fatalf("PUT /v1/state = %d %+v", code, st)
	}
	var hs wire.State
	eventually(t, "state at the hub", func() bool {
		do(t, "GET", h.URL()+"/api/v1/nodes/n1/state", "", &hs)
		return hs.Version == 1
	})
	if hs.Data["mode"] != "eco" || hs.Data["limit"] != 3.0 {
		t.Fatalf("hub state = %+v", hs)
	}
	eventually(t, "change confirmed", func() bool { return a.Sync().IsSynced })

	// Desired state set at the hub reaches the agent.
	if code := do(t, "PUT", h.URL()+"/api/v1/nodes/n1/state", `{"feature":true}`, nil); code != 200 {
		t.Fatalf("hub PUT state = %d", code)
	}
	eventually(t, "desired state applied", func() bool { return a.State().Data["feature"] == true })
	if a.Sync().RemoteVersion != 1 {
		t.Fatalf("remote version = %d, want 1", a.Sync().RemoteVersion)
	}

	// Invocations posted locally are counted at the hub exactly once.
	for i := range 10 {
		body := `{"function_id":"resize","duration_ms":` + strconv.Itoa(10+i) + `,"success":` + strconv.FormatBool(i != 0) + `,"error":"` + map[bool]string{true: "boom", false: ""}[i == 0] + `"}`
		if code := do(t, "POST", "http://"+a.HTTPAddr()+"/v1/invocations", body, nil); code != http.StatusAccepted {
			t.Fatalf("POST invocation = %d", code)
		}
	}
	var mv map[string]any
	eventually(t, "metrics at the hub", func() bool {
		do(t, "GET", h.URL()+"/api/v1/metrics?function=resize&node=n1", "", &mv)
		return mv["total_invocations"] == 10.0
	})
	if mv["errors"] != 1.0 {
		t.Fatalf("metrics = %v", mv)
	}
}

func TestAgentWorksOfflineAndCatchesUp(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	listen := "127.0.0.1:" + strconv.Itoa(port)
	h, err := hub.Start(context.Background(), hub.Config{Logger: quiet(), NATSListen: listen, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, Config{HubURL: h.NATSURL(), ID: "n1", DataDir: t.TempDir(), MaxPending: 5})
	eventually(t, "agent connected", func() bool { return a.Flush(context.Background()) == nil })
	h.Close() // the hub goes away

	for i := range 50 {
		if _, err := a.UpdateState(map[string]any{"k" + strconv.Itoa(i%7): i}); err != nil {
			t.Fatal(err)
		}
		a.RecordInvocation(metrics.Invocation{FunctionID: "f", Duration: time.Millisecond, Success: true})
	}
	if a.Sync().PendingCount != 5 {
		t.Fatalf("pending = %d, want coalesced to MaxPending 5", a.Sync().PendingCount)
	}

	h2, err := hub.Start(context.Background(), hub.Config{Logger: quiet(), NATSListen: listen, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	var hs wire.State
	eventually(t, "hub caught up", func() bool {
		do(t, "GET", h2.URL()+"/api/v1/nodes/n1/state", "", &hs)
		return hs.Version == 50
	})
	want := a.State().Data
	for k, v := range want {
		if hs.Data[k] != float64(v.(int)) {
			t.Fatalf("hub %s = %v, agent has %v", k, hs.Data[k], v)
		}
	}
	var mv map[string]any
	eventually(t, "metrics caught up", func() bool {
		do(t, "GET", h2.URL()+"/api/v1/metrics?node=n1", "", &mv)
		return mv["total_invocations"] == 50.0
	})

	// Desired state set at the restarted hub still reaches the agent.
	if code := do(t, "PUT", h2.URL()+"/api/v1/nodes/n1/state", `{"after_restart":true}`, nil); code != 200 {
		t.Fatalf("hub PUT state = %d", code)
	}
	eventually(t, "desired state from the restarted hub", func() bool { return a.State().Data["after_restart"] == true })
}

func TestAgentRestartResumesFromDisk(t *testing.T) {
	data := t.TempDir()
	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg := Config{HubURL: "nats://" + listen, ID: "n1", DataDir: data}
	a := startAgent(t, cfg) // no hub at all: everything stays pending
	a.UpdateState(map[string]any{"a": 1})
	a.UpdateState(map[string]any{"b": 2})
	for range 3 {
		a.RecordInvocation(metrics.Invocation{FunctionID: "f", Duration: time.Millisecond, Success: true})
	}
	a.Close() // spools the metric delta to disk

	b := startAgent(t, cfg)
	if s := b.Sync(); s.LocalVersion != 2 || s.PendingCount != 2 {
		t.Fatalf("after restart: %+v, want version 2 with 2 pending", s)
	}
	if b.State().Data["a"] != 1.0 || b.lineage != a.lineage {
		t.Fatalf("restored state %v, lineage %d vs %d", b.State().Data, b.lineage, a.lineage)
	}
	b.pushMu.Lock()
	box, err := b.outbox()
	b.pushMu.Unlock()
	if err != nil || len(box) != 1 {
		t.Fatalf("metric outbox after restart = %d deltas, %v; want 1", len(box), err)
	}

	// The hub appears: the previous run's changes and delta arrive, once.
	h, err := hub.Start(context.Background(), hub.Config{Logger: quiet(), NATSListen: listen, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var mv map[string]any
	eventually(t, "previous run's metrics at the hub", func() bool {
		do(t, "GET", h.URL()+"/api/v1/metrics?node=n1", "", &mv)
		return mv["total_invocations"] == 3.0
	})
	var hs wire.State
	eventually(t, "previous run's state at the hub", func() bool {
		do(t, "GET", h.URL()+"/api/v1/nodes/n1/state", "", &hs)
		return hs.Version == 2
	})
	b.Flush(context.Background()) // a resend would be dropped as a duplicate
	do(t, "GET", h.URL()+"/api/v1/metrics?node=n1", "", &mv)
	if mv["total_invocations"] != 3.0 {
		t.Fatalf("hub counted %v invocations, want 3", mv["total_invocations"])
	}
}

func TestLocalAPI(t *testing.T) {
	a := startAgent(t, Config{HubURL: "nats://127.0.0.1:" + strconv.Itoa(freePort(t)), ID: "n1"})
	base := "http://" + a.HTTPAddr()
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"put", "PUT", "/v1/cache/k1", "hello", 204},
		{"put ttl", "PUT", "/v1/cache/k2?ttl=30s", "x", 204},
		{"bad ttl", "PUT", "/v1/cache/k3?ttl=soon", "x", 400},
		{"negative ttl", "PUT", "/v1/cache/k3?ttl=-1s", "x", 400},
		{"get", "GET", "/v1/cache/k1", "", 200},
		{"miss", "GET", "/v1/cache/nope", "", 404},
		{"delete", "DELETE", "/v1/cache/k1", "", 204},
		{"delete again", "DELETE", "/v1/cache/k1", "", 404},
		{"oversized value", "PUT", "/v1/cache/big", strings.Repeat("x", maxBody+1), 413},
		{"invocation", "POST", "/v1/invocations", `{"function_id":"f","duration_ms":1.5,"success":true,"error":""}`, 202},
		{"invocation unknown field", "POST", "/v1/invocations", `{"function_id":"f","duration_ms":1,"success":true,"node":"x"}`, 400},
		{"invocation missing success", "POST", "/v1/invocations", `{"function_id":"f","duration_ms":1}`, 400},
		{"invocation negative", "POST", "/v1/invocations", `{"function_id":"f","duration_ms":-1,"success":true}`, 400},
		{"invocation malformed", "POST", "/v1/invocations", `{"function_id":`, 400},
		{"invocation batch", "POST", "/v1/invocations", ` [{"function_id":"f","duration_ms":1,"success":true},{"function_id":"g","duration_ms":2,"success":false,"error":"timeout"},{"function_id":"f","duration_ms":0,"success":true}]`, 202},
		{"invocation empty batch", "POST", "/v1/invocations", `[]`, 400},
		{"invocation batch bad element", "POST", "/v1/invocations", `[{"function_id":"f","duration_ms":1,"success":true},{"function_id":"f"}]`, 400},
		{"invocation batch trailing data", "POST", "/v1/invocations", `[{"function_id":"f","duration_ms":1,"success":true}] {}`, 400},
		{"state", "PUT", "/v1/state", `{"a":{"nested":[1,2]}}`, 200},
		{"state not object", "PUT", "/v1/state", `"x"`, 400},
		{"state get", "GET", "/v1/state", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, bytes.NewBufferString(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, resp.StatusCode, body, tt.status)
			}
			if resp.StatusCode >= 400 && !strings.Contains(string(body), `"message"`) {
				t.Fatalf("error body %s is not a JSON error", body)
			}
		})
	}
	if v, ok := a.cache.Get("k2"); !ok || string(v) != "x" {
		t.Fatal("PUT with ttl did not store the value")
	}
	if n := a.Metrics().TotalInvocations(metrics.Filter{NodeID: "n1"}); n != 4 {
		t.Fatalf("%d invocations recorded for the agent's node, want 4 (one alone, three in a batch)", n)
	}
}

func FuzzDecodeInvocation(f *testing.F) {
	f.Add([]byte(`{"function_id":"resize","duration_ms":12.5,"success":true,"error":""}`))
	f.Add([]byte(`{"function_id":"x","duration_ms":1e308,"success":false}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := DecodeInvocation(b)
		if err != nil {
			return
		}
		if wire.ValidFunctionID(inv.FunctionID) != nil || inv.Duration < 0 || len(inv.Error) > maxErrLen {
			t.Fatalf("accepted invalid invocation %+v", inv)
		}
	})
}

func FuzzDecodeInvocations(f *testing.F) {
	f.Add([]byte(`[{"function_id":"resize","duration_ms":12.5,"success":true,"error":""}]`))
	f.Add([]byte(`{"function_id":"x","duration_ms":3,"success":false,"error":"e"}`))
	f.Add([]byte(` [null, {}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		invs, err := DecodeInvocations(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "agent: ") {
				t.Fatalf("error %q does not start with agent:", err)
			}
			return
		}
		if len(invs) == 0 || len(invs) > maxBatch {
			t.Fatalf("accepted %d invocations", len(invs))
		}
		for _, inv := range invs {
			if inv.FunctionID == "" || inv.Duration < 0 {
				t.Fatalf("accepted invalid invocation %+v", inv)
			}
		}
	})
}
