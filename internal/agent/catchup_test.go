package agent

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/faultproxy"
	"github.com/edgeinfra/edgeinfra/internal/hub"
)

// TestCatchUpDurable is TestCatchUpAfterCut as an agent runs in the field:
// the agent and the hub keep their data on disk, and the push interval is
// the default second. It measures how long the hub takes to hold the
// agent's newest version once the link returns, and the CPU the process
// (agent, NATS server and hub together) spent on it, which on a shared
// machine tells cost from waiting. EDGEINFRA_CONVERGE_CHANGES sets the
// number of changes (5,000 by default).
func TestCatchUpDurable(t *testing.T) {
	n := 5_000
	if v := os.Getenv("EDGEINFRA_CONVERGE_CHANGES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("EDGEINFRA_CONVERGE_CHANGES=%q: want a positive number", v)
		}
	}
	h, err := hub.Start(context.Background(), hub.Config{Logger: quiet(), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	p, err := faultproxy.Start("", h.NATSURL()[len("nats://"):], 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	a := startAgent(t, Config{HubURL: p.URL(), ID: "n1", DataDir: t.TempDir(), MaxPending: n + 1, PushInterval: time.Second})
	if _, err := a.UpdateState(map[string]any{"before": true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "first change confirmed", func() bool { return a.Sync().IsSynced })

	p.SetMode(faultproxy.Cut)
	eventually(t, "agent sees the cut", func() bool { return !a.currentLink().nc.IsConnected() })
	// Queue the changes as UpdateState does but write the store once, not
	// per change: what is measured is the catch-up, and a write per change
	// of a growing queue would take minutes.
	a.stateMu.Lock()
	for i := 1; i <= n; i++ {
		a.sync.UpdateLocal(map[string]any{"seq": i, "k" + strconv.Itoa(i%100): i})
	}
	err = a.persistLocked()
	a.stateMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	want := a.State().Version

	start, cpu0 := time.Now(), cpuTime()
	p.SetMode(faultproxy.Up)
	var reconnected time.Duration
	deadline := start.Add(120 * time.Second)
	for hubState(t, h, "n1").Version != want {
		if reconnected == 0 && a.currentLink().nc.IsConnected() {
			reconnected = time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub did not reach version %d within 120s (at %d)", want, hubState(t, h, "n1").Version)
		}
		time.Sleep(2 * time.Millisecond)
	}
	total, cpu := time.Since(start), cpuTime()-cpu0
	t.Logf("%d pending changes, agent and hub on disk: hub at the newest version %v after the link returned (NATS reconnected after %v); CPU %v",
		n, total.Round(time.Millisecond), reconnected.Round(time.Millisecond), cpu.Round(time.Millisecond))
	eventually(t, "every change confirmed", func() bool { return a.Sync().IsSynced })
	if got := hubState(t, h, "n1").Data["seq"]; got != float64(n) {
		t.Errorf("hub seq = %v, want %d", got, n)
	}
}

// TestPushAfterReconnect checks that a reconnect starts a push at once:
// with an hour between pushes, a change made while the link was cut
// reaches the hub soon after it returns.
func TestPushAfterReconnect(t *testing.T) {
	h, p := behindProxy(t)
	a := startAgent(t, Config{HubURL: p.URL(), ID: "n1", PushInterval: time.Hour})
	eventually(t, "agent connected", func() bool { return a.currentLink().nc.IsConnected() })
	p.SetMode(faultproxy.Cut)
	eventually(t, "agent sees the cut", func() bool { return !a.currentLink().nc.IsConnected() })
	if _, err := a.UpdateState(map[string]any{"k": "while cut"}); err != nil {
		t.Fatal(err)
	}
	p.SetMode(faultproxy.Up)
	eventually(t, "the change at the hub", func() bool { return hubState(t, h, "n1").Version == 1 })
}
