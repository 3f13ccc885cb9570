package agent

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/faultproxy"
	"github.com/edgeinfra/edgeinfra/internal/hub"
	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// behindProxy starts a hub and a fault proxy in front of its NATS port.
func behindProxy(t *testing.T) (*hub.Hub, *faultproxy.Proxy) {
	t.Helper()
	h, err := hub.Start(context.Background(), hub.Config{Logger: quiet(), SweepInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	addr := h.NATSURL()[len("nats://"):]
	p, err := faultproxy.Start("", addr, 42)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return h, p
}

// hubState reads the node's state as the hub has it (version 0 while the
// hub does not know the node).
func hubState(t *testing.T, h *hub.Hub, id string) wire.State {
	t.Helper()
	var s wire.State
	if code := do(t, "GET", h.URL()+"/api/v1/nodes/"+id+"/state", "", &s); code != http.StatusOK && code != http.StatusNotFound {
		t.Fatalf("GET state = %d", code)
	}
	return s
}

// watchVersions polls the hub's state of id until the returned stop is
// called and fails the test if the version or the writer's counter ever
// goes back.
func watchVersions(t *testing.T, h *hub.Hub, id string) (stop func()) {
	ch := make(chan struct{})
	quit := make(chan struct{})
	var once sync.Once
	stop = func() { once.Do(func() { close(quit) }); <-ch }
	t.Cleanup(stop)
	go func() {
		defer close(ch)
		var lastVersion int64
		var lastSeq float64
		for {
			select {
			case <-quit:
				return
			case <-time.After(5 * time.Millisecond):
			}
			var s wire.State
			resp, err := http.Get(h.URL() + "/api/v1/nodes/" + id + "/state")
			if err != nil {
				continue
			}
			if resp.StatusCode == http.StatusOK {
				err = json.NewDecoder(resp.Body).Decode(&s)
			}
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				continue
			}
			seq, _ := s.Data["seq"].(float64)
			if s.Version < lastVersion || seq < lastSeq {
				t.Errorf("the hub went back: version %d after %d, seq %v after %v", s.Version, lastVersion, seq, lastSeq)
				return
			}
			lastVersion, lastSeq = s.Version, seq
		}
	}()
	return stop
}

// TestConvergesThroughFaults pushes a stream of updates through a link
// that drops, duplicates, reorders and delays messages and is cut and
// blackholed at times. The hub never goes back to an older version, and
// once the faults end it holds exactly the agent's state.
func TestConvergesThroughFaults(t *testing.T) {
	h, p := behindProxy(t)
	p.SetFaults(faultproxy.Faults{Subject: "edgeinfra.", Drop: 0.05, Duplicate: 0.05, Reorder: 0.05, Delay: 200 * time.Microsecond})
	a := startAgent(t, Config{HubURL: p.URL(), ID: "n1", DataDir: t.TempDir(), PushTimeout: 300 * time.Millisecond, MaxPending: 100_000})

	stopWatching := watchVersions(t, h, "n1")

	rng := rand.New(rand.NewPCG(1, 2))
	deadline := time.Now().Add(3 * time.Second)
	var writes int
	nextFault := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if _, err := a.UpdateState(map[string]any{"seq": writes, "k" + strconv.Itoa(rng.IntN(50)): writes}); err != nil {
			t.Fatal(err)
		}
		writes++
		if time.Now().After(nextFault) {
			mode := faultproxy.Cut
			if rng.IntN(2) == 0 {
				mode = faultproxy.Blackhole
			}
			p.SetMode(mode)
			time.Sleep(time.Duration(100+rng.IntN(200)) * time.Millisecond)
			p.SetMode(faultproxy.Up)
			nextFault = time.Now().Add(time.Duration(200+rng.IntN(300)) * time.Millisecond)
		}
		time.Sleep(time.Millisecond)
	}
	p.SetFaults(faultproxy.Faults{})
	p.SetMode(faultproxy.Up)
	want := a.State()
	eventually(t, "the hub caught up after the faults", func() bool { return hubState(t, h, "n1").Version == want.Version })
	stopWatching()

	got := hubState(t, h, "n1")
	if len(got.Data) != len(want.Data) {
		t.Fatalf("hub has %d keys, agent %d", len(got.Data), len(want.Data))
	}
	for k, v := range want.Data {
		if got.Data[k] != float64(v.(int)) {
			t.Fatalf("key %s: hub %v, agent %v", k, got.Data[k], v)
		}
	}
	eventually(t, "every change confirmed", func() bool { return a.Sync().IsSynced })
	st := p.Stats()
	t.Logf("%d updates, final version %d; proxy: %d connections, %d dropped, %d duplicated, %d reordered, %d refused",
		writes, want.Version, st.Connections, st.Dropped, st.Duplicated, st.Reordered, st.Refused)
	if st.Dropped == 0 || st.Duplicated == 0 || st.Reordered == 0 || st.Connections < 2 {
		t.Fatalf("the faults did not happen: %+v", st)
	}
}

// TestCatchUpAfterCut measures how long the hub takes to hold the agent's
// newest version once a link that was cut while the agent accumulated
// many pending changes comes back. EDGEINFRA_CONVERGE_CHANGES sets the
// number of changes (20,000 by default, to keep the race-detector run
// short; the documented figure is for 100,000 without it).
func TestCatchUpAfterCut(t *testing.T) {
	n := 20_000
	if v := os.Getenv("EDGEINFRA_CONVERGE_CHANGES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("EDGEINFRA_CONVERGE_CHANGES=%q: want a positive number", v)
		}
	}
	h, p := behindProxy(t)
	a := startAgent(t, Config{HubURL: p.URL(), ID: "n1", MaxPending: n + 1, PushInterval: 20 * time.Millisecond})
	eventually(t, "agent connected", func() bool { return a.Flush(context.Background()) == nil })

	p.SetMode(faultproxy.Cut)
	for i := 1; i <= n; i++ {
		if _, err := a.UpdateState(map[string]any{"seq": i, "k" + strconv.Itoa(i%100): i}); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.Sync().PendingCount; got != n {
		t.Fatalf("pending = %d, want %d", got, n)
	}
	want := a.State().Version
	start := time.Now()
	p.SetMode(faultproxy.Up)
	var reconnected, acked time.Duration
	deadline := start.Add(60 * time.Second)
	for {
		if reconnected == 0 && a.currentLink() != nil && a.currentLink().nc.IsConnected() && p.Stats().Connections > 1 {
			reconnected = time.Since(start)
		}
		if acked == 0 && a.Sync().PendingCount == 0 {
			acked = time.Since(start)
		}
		if hubState(t, h, "n1").Version == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub did not reach version %d within 60s (at %d)", want, hubState(t, h, "n1").Version)
		}
		time.Sleep(2 * time.Millisecond)
	}
	total := time.Since(start)
	t.Logf("%d pending changes: hub at the newest version %v after the link returned (NATS reconnected after %v, every change in the stream after %v)",
		n, total.Round(time.Millisecond), reconnected.Round(time.Millisecond), acked.Round(time.Millisecond))
	eventually(t, "every change confirmed", func() bool { return a.Sync().IsSynced })
}

// TestLongOfflineCoalesces: an agent offline for far more changes than
// MaxPending coalesces them, and on reconnect the hub gets every key's
// latest value, and nothing older overwrites it.
func TestLongOfflineCoalesces(t *testing.T) {
	h, p := behindProxy(t)
	a := startAgent(t, Config{HubURL: p.URL(), ID: "n1", MaxPending: 50})
	eventually(t, "agent connected", func() bool { return a.Flush(context.Background()) == nil })
	p.SetMode(faultproxy.Cut)

	latest := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(3, uint64(w)))
			for i := range 2500 {
				k := "k" + strconv.Itoa(rng.IntN(500))
				v := w*10_000 + i
				mu.Lock() // the update and the record of it must happen in the same order
				if _, err := a.UpdateState(map[string]any{k: v}); err != nil {
					t.Error(err)
				}
				latest[k] = v
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sum := a.Sync()
	if sum.PendingCount > 50 || sum.Coalesced == 0 {
		t.Fatalf("pending %d, coalesced %d: want at most 50 pending and some coalescing", sum.PendingCount, sum.Coalesced)
	}
	p.SetMode(faultproxy.Up)
	want := a.State()
	eventually(t, "the hub caught up", func() bool { return hubState(t, h, "n1").Version == want.Version })
	got := hubState(t, h, "n1")
	for k, v := range latest {
		if got.Data[k] != float64(v) {
			t.Fatalf("key %s: hub %v, latest written %d", k, got.Data[k], v)
		}
	}
	t.Logf("10,000 changes over %d keys while offline, coalesced %d times into %d pending; every key's latest value at the hub", len(latest), sum.Coalesced, sum.PendingCount)
}
