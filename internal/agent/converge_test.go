package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/faultproxy"
	"github.com/edgeinfra/edgeinfra/internal/hub"
	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// applyLog records the versions a hub applies per node and lineage, and
// every time one was not above the one before.
type applyLog struct {
	mu       sync.Mutex
	last     map[string]int64 // node/lineage → newest version applied
	applied  int
	regressd []string
	notify   chan struct{} // gets a token after every apply
}

func newApplyLog() *applyLog {
	return &applyLog{last: map[string]int64{}, notify: make(chan struct{}, 1)}
}

func (l *applyLog) hook(node string, lineage uint64, version int64) {
	l.mu.Lock()
	key := node + "/" + strconv.FormatUint(lineage, 10)
	if v, ok := l.last[key]; ok && version <= v {
		l.regressd = append(l.regressd, fmt.Sprintf("%s: version %d applied after %d", key, version, v))
	}
	l.last[key] = version
	l.applied++
	l.mu.Unlock()
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

func (l *applyLog) newest(node string, lineage uint64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last[node+"/"+strconv.FormatUint(lineage, 10)]
}

func (l *applyLog) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.regressd) > 0 {
		t.Errorf("the hub applied %d versions not above the one before, first: %s", len(l.regressd), l.regressd[0])
	}
}

// waitVersion waits until the hub has applied version of a's lineage and
// returns when that happened.
func (l *applyLog) waitVersion(t *testing.T, a *Agent, version int64, within time.Duration) time.Time {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		if l.newest(a.ID(), a.lineage) >= version {
			return time.Now()
		}
		select {
		case <-l.notify:
		case <-deadline.C:
			t.Fatalf("the hub reached version %d of %s within %v, want %d", l.newest(a.ID(), a.lineage), a.ID(), within, version)
		}
	}
}

// faultyLink is an embedded hub and a fault proxy in front of its NATS
// port, on loopback.
func faultyLink(t *testing.T, cfg hub.Config, seed uint64) (*hub.Hub, *faultproxy.Proxy, *applyLog) {
	t.Helper()
	log := newApplyLog()
	cfg.Logger = quiet()
	cfg.StateApplied = log.hook
	h, err := hub.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	p, err := faultproxy.New(strings.TrimPrefix(h.NATSURL(), "nats://"), seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return h, p, log
}

// sameState fails unless the hub shows exactly the agent's state (and
// want, the test's own record of every key's latest value, when given).
func sameState(t *testing.T, h *hub.Hub, a *Agent, want map[string]any) {
	t.Helper()
	var hs wire.State
	if code := do(t, "GET", h.URL()+"/api/v1/nodes/"+a.ID()+"/state", "", &hs); code != 200 {
		t.Fatalf("GET state = %d", code)
	}
	st := a.State()
	if hs.Version != st.Version {
		t.Errorf("hub at version %d, agent at %d", hs.Version, st.Version)
	}
	hj, _ := json.Marshal(hs.Data)
	aj, _ := json.Marshal(st.Data)
	if string(hj) != string(aj) {
		t.Errorf("hub and agent state differ:\nhub   %.300s\nagent %.300s", hj, aj)
	}
	if want != nil {
		wj, _ := json.Marshal(want)
		if string(wj) != string(aj) {
			t.Errorf("agent state is not every key's latest value:\nagent %.300s\nwant  %.300s", aj, wj)
		}
	}
}

// TestConvergenceUnderFaults pushes a stream of changes through a link
// that drops, duplicates, reorders and delays messages and is cut now and
// then, and checks that once the faults end the hub holds exactly the
// agent's state, having applied versions only in increasing order.
func TestConvergenceUnderFaults(t *testing.T) {
	h, p, log := faultyLink(t, hub.Config{}, 1)
	a := startAgent(t, Config{HubURL: p.URL(), ID: "n1", PushTimeout: 300 * time.Millisecond, MaxPending: 200})
	faults := faultproxy.Faults{Drop: 0.05, Duplicate: 0.05, Reorder: 0.05, Delay: time.Millisecond, SubjectPrefix: "edgeinfra."}
	if err := p.SetFaults(faults); err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]any{}
	end := time.Now().Add(3 * time.Second)
	nextCut := time.Now().Add(400 * time.Millisecond)
	cuts := 0
	for i := 0; time.Now().Before(end); i++ {
		k := "k" + strconv.Itoa(rng.IntN(64))
		if _, err := a.UpdateState(map[string]any{k: i}); err != nil {
			t.Fatal(err)
		}
		want[k] = i
		if time.Now().After(nextCut) {
			mode := faultproxy.Refuse
			if cuts%2 == 1 {
				mode = faultproxy.Blackhole
			}
			p.Cut(mode)
			cuts++
			for range 100 { // changes pile up while cut
				k := "k" + strconv.Itoa(rng.IntN(64))
				i++
				if _, err := a.UpdateState(map[string]any{k: i}); err != nil {
					t.Fatal(err)
				}
				want[k] = i
				time.Sleep(2 * time.Millisecond)
			}
			p.Restore()
			nextCut = time.Now().Add(400 * time.Millisecond)
		}
		time.Sleep(time.Millisecond)
	}
	_ = p.SetFaults(faultproxy.Faults{})
	final := a.State().Version
	log.waitVersion(t, a, final, 20*time.Second)
	eventually(t, "agent queue confirmed", func() bool { return a.Sync().IsSynced })
	sameState(t, h, a, want)
	log.check(t)
	st := p.Stats()
	t.Logf("%d versions, %d cuts; proxy: %+v; coalesced %d", final, cuts, st, a.Sync().Coalesced)
	if st.Dropped == 0 || st.Duplicated == 0 || st.Reordered == 0 {
		t.Errorf("the proxy injected too few faults to test anything: %+v", st)
	}
}

// convergeChanges is how many changes TestConvergenceAfterPartition queues:
// EDGEINFRA_CONVERGE_CHANGES, or 20000 (5000 under the race detector) to
// keep the default run short.
func convergeChanges(t *testing.T) int {
	if s := os.Getenv("EDGEINFRA_CONVERGE_CHANGES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("EDGEINFRA_CONVERGE_CHANGES=%q: want a positive number of changes", s)
		}
		return n
	}
	if raceEnabled {
		return 5_000
	}
	return 20_000
}

// TestConvergenceAfterPartition cuts the link, lets the agent queue many
// changes (all kept: MaxPending is above them), brings the link back and
// measures how long the hub takes to show the agent's final version. Run
// with EDGEINFRA_CONVERGE_CHANGES=100000 for the full figure.
func TestConvergenceAfterPartition(t *testing.T) {
	n := convergeChanges(t)
	h, p, log := faultyLink(t, hub.Config{DataDir: t.TempDir()}, 2)
	// The default push interval (1s): a reconnect starts the push at once.
	a := startAgent(t, Config{HubURL: p.URL(), ID: "n1", DataDir: t.TempDir(), MaxPending: n + 1, PushInterval: time.Second})
	if _, err := a.UpdateState(map[string]any{"before": true}); err != nil {
		t.Fatal(err)
	}
	log.waitVersion(t, a, 1, 10*time.Second)
	eventually(t, "first change confirmed", func() bool { return a.Sync().IsSynced })

	t0 := time.Now()
	p.Cut(faultproxy.Refuse)
	eventually(t, "agent sees the cut", func() bool { return !a.currentLink().nc.IsConnected() })
	// Queue the changes as UpdateState would, persisting once at the end
	// rather than per change: what is measured is the catch-up.
	a.stateMu.Lock()
	for i := range n {
		a.sync.UpdateLocal(map[string]any{"k" + strconv.Itoa(i%100): i, "seq": i})
	}
	err := a.persistLocked()
	a.stateMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	final := a.State().Version
	t.Logf("queued %d changes in %v", n, time.Since(t0))
	if got := a.Sync().PendingCount; got != n {
		t.Fatalf("%d changes pending, want %d", got, n)
	}

	restored, cpu0 := time.Now(), cpuTime()
	if os.Getenv("EDGEINFRA_CONVERGE_TRACE") != "" {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				t.Logf("%v: hub at %d, agent pending %d", time.Since(restored).Round(time.Millisecond), log.newest(a.ID(), a.lineage), a.Sync().PendingCount)
			}
		}()
	}
	p.Restore()
	eventually(t, "agent reconnected", func() bool { return a.currentLink().nc.IsConnected() })
	reconnected := time.Now()
	done := log.waitVersion(t, a, final, 60*time.Second)
	cpu := cpuTime() - cpu0
	t.Logf("%d pending changes: hub at the final version %v after the link returned (%v after the agent reconnected, which took %v); CPU used by agent, NATS server and hub together: %v",
		n, done.Sub(restored).Round(time.Millisecond), done.Sub(reconnected).Round(time.Millisecond), reconnected.Sub(restored).Round(time.Millisecond), cpu.Round(time.Millisecond))
	eventually(t, "agent queue confirmed", func() bool { return a.Sync().IsSynced })
	sameState(t, h, a, nil)
	log.check(t)
}

// TestLongOfflineCoalesces keeps the agent offline for many more changes
// over many keys than its queue holds, then reconnects through a faulty
// link: every key's latest value reaches the hub and no older value
// overwrites it.
func TestLongOfflineCoalesces(t *testing.T) {
	h, p, log := faultyLink(t, hub.Config{}, 3)
	a := startAgent(t, Config{HubURL: p.URL(), ID: "n1", MaxPending: 50, PushTimeout: 300 * time.Millisecond})
	want := map[string]any{}
	update := func(i int) {
		k := "key" + strconv.Itoa(i*7919%500)
		if _, err := a.UpdateState(map[string]any{k: i}); err != nil {
			t.Fatal(err)
		}
		want[k] = i
	}
	// The hub first learns old values of every key.
	for i := range 500 {
		update(i)
	}
	log.waitVersion(t, a, 500, 10*time.Second)

	p.Cut(faultproxy.Refuse)
	eventually(t, "agent sees the cut", func() bool { return !a.currentLink().nc.IsConnected() })
	for i := 500; i < 5_500; i++ {
		update(i)
	}
	if s := a.Sync(); s.PendingCount > 50 || s.Coalesced < 4_900 {
		t.Fatalf("queue of %d with %d coalesced, want at most 50, most coalesced", s.PendingCount, s.Coalesced)
	}
	if err := p.SetFaults(faultproxy.Faults{Duplicate: 0.1, Reorder: 0.2, SubjectPrefix: wire.StateSubject("")}); err != nil {
		t.Fatal(err)
	}
	p.Restore()
	log.waitVersion(t, a, a.State().Version, 20*time.Second)
	eventually(t, "agent queue confirmed", func() bool { return a.Sync().IsSynced })
	sameState(t, h, a, want)
	log.check(t)
	if keys := slices.Collect(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	}); len(keys) != 500 {
		t.Fatalf("test wrote %d keys, want 500", len(keys))
	}
}
