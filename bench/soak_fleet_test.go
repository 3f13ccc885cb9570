package bench_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/agent"
	"github.com/edgeinfra/edgeinfra/internal/hub"
	"github.com/edgeinfra/edgeinfra/node"
)

// The faults of the soak, injected round robin on random nodes.
const (
	soakCrash     = "crash"     // Close, then Start again on the same data dir
	soakPartition = "partition" // Disconnect, then Reconnect
	soakPause     = "pause"     // heartbeats stop, then resume
	soakSlow      = "slow"      // reports Degraded and its invocations are 10x slower
)

var soakFaultKinds = []string{soakCrash, soakPartition, soakPause, soakSlow}

// soakFleet is a hub and N real agents in this process, each agent with its
// own NATS connection, local HTTP server and bbolt data dir.
type soakFleet struct {
	hub  *hub.Hub
	ids  []string
	dirs []string
	log  *slog.Logger

	mu      sync.Mutex     // guards agents, faulted and slow
	agents  []*agent.Agent // nil while crashed
	faulted []bool         // a fault is active on the node
	slow    []bool

	injected   map[string]*atomic.Int64 // per fault kind; the map itself is read-only
	restartErr atomic.Value             // error: the first failed restart
	wg         sync.WaitGroup           // fault undo goroutines
}

func (f *soakFleet) agentOpts(i int) agent.Config {
	return agent.Config{
		HubURL: f.hub.NATSURL(), ID: f.ids[i], Region: soakRegions[i%len(soakRegions)],
		HeartbeatInterval: time.Second, PushInterval: time.Second,
		DataDir: f.dirs[i], CacheSize: 256, Logger: f.log,
	}
}

var soakRegions = []string{"eu-west", "us-east", "ap-south"}

// startSoakFleet starts the hub (JetStream on files under dir, as
// `edgeinfra hub --data` runs, so that the stream's retained messages are
// not counted as heap) and n agents, 16 at a time.
func startSoakFleet(dir string, n int) (*soakFleet, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := hub.Start(context.Background(), hub.Config{
		DataDir: filepath.Join(dir, "hub"), HeartbeatTimeout: 5 * time.Second, Name: "soak", Logger: log,
	})
	if err != nil {
		return nil, err
	}
	f := &soakFleet{hub: h, log: log, agents: make([]*agent.Agent, n), faulted: make([]bool, n), slow: make([]bool, n), injected: map[string]*atomic.Int64{}}
	for _, k := range soakFaultKinds {
		f.injected[k] = new(atomic.Int64)
	}
	width := len(fmt.Sprint(n))
	for i := range n {
		f.ids = append(f.ids, fmt.Sprintf("soak-%0*d", width, i))
		f.dirs = append(f.dirs, filepath.Join(dir, "agents", f.ids[i]))
	}
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		first atomic.Value
	)
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && first.Load() == nil; i = int(next.Add(1) - 1) {
				a, err := agent.Start(context.Background(), f.agentOpts(i))
				if err != nil {
					first.CompareAndSwap(nil, fmt.Errorf("start agent %s: %w", f.ids[i], err))
					return
				}
				f.mu.Lock()
				f.agents[i] = a
				f.mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// agent returns node i's running agent and whether it is slow; nil while
// it is crashed.
func (f *soakFleet) agent(i int) (*agent.Agent, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.agents[i], f.slow[i]
}

// down returns how many agents are crashed and how many nodes have a
// fault active.
func (f *soakFleet) down() (crashed, faulted int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, a := range f.agents {
		if a == nil {
			crashed++
		}
		if f.faulted[i] {
			faulted++
		}
	}
	return crashed, faulted
}

// runFaults injects one fault every `every` on a random node that has
// none, cycling through soakFaultKinds, each undone after 2 to 6 seconds.
// When ctx ends it stops, and every active fault is undone at once; it
// returns when the fleet is whole again.
func (f *soakFleet) runFaults(ctx context.Context, every time.Duration, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x50a4))
	t := time.NewTicker(every)
	defer t.Stop()
	defer f.wg.Wait()
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		i := rng.IntN(len(f.ids))
		f.mu.Lock()
		busy := f.faulted[i]
		if !busy {
			f.faulted[i] = true
		}
		f.mu.Unlock()
		if busy {
			continue
		}
		hold := 2*time.Second + time.Duration(rng.Int64N(int64(4*time.Second)))
		kind := soakFaultKinds[k%len(soakFaultKinds)]
		f.injected[kind].Add(1)
		f.wg.Go(func() { f.fault(ctx, kind, i, hold) })
	}
}

// fault applies kind to node i, waits hold (or until ctx ends) and undoes it.
func (f *soakFleet) fault(ctx context.Context, kind string, i int, hold time.Duration) {
	defer func() {
		f.mu.Lock()
		f.faulted[i] = false
		f.mu.Unlock()
	}()
	a, _ := f.agent(i)
	if a == nil {
		return
	}
	wait := func() {
		t := time.NewTimer(hold)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	switch kind {
	case soakCrash:
		f.mu.Lock()
		f.agents[i] = nil
		f.mu.Unlock()
		_ = a.Close()
		wait()
		na, err := agent.Start(context.Background(), f.agentOpts(i))
		if err != nil {
			f.restartErr.CompareAndSwap(nil, fmt.Errorf("restart agent %s on its data dir: %w", f.ids[i], err))
			return
		}
		f.mu.Lock()
		f.agents[i] = na
		f.mu.Unlock()
	case soakPartition:
		a.Disconnect()
		wait()
		_ = a.Reconnect() // fails only once the agent is closed, which the fleet does last
	case soakPause:
		a.PauseHeartbeats(true)
		wait()
		a.PauseHeartbeats(false)
	case soakSlow:
		f.mu.Lock()
		f.slow[i] = true
		f.mu.Unlock()
		a.SetStatus(node.Degraded)
		wait()
		a.SetStatus(node.Online)
		f.mu.Lock()
		f.slow[i] = false
		f.mu.Unlock()
	}
}

// close closes every agent, 16 at a time, then the hub.
func (f *soakFleet) close() {
	f.mu.Lock()
	agents := f.agents
	f.agents = make([]*agent.Agent, len(agents))
	f.mu.Unlock()
	ch := make(chan *agent.Agent)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for a := range ch {
				_ = a.Close()
			}
		})
	}
	for _, a := range agents {
		if a != nil {
			ch <- a
		}
	}
	close(ch)
	wg.Wait()
	_ = f.hub.Close()
}
