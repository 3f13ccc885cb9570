package sim

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/agent"
	"github.com/edgeinfra/edgeinfra/internal/hub"
)

// The faults the simulator knows.
const (
	FaultCrash     = "crash"     // an agent dies and restarts later, empty-handed
	FaultPartition = "partition" // a region loses the hub for a while
	FaultFlap      = "flap"      // a node's heartbeats come and go
	FaultSlow      = "slow"      // a node's functions get ten times slower and it reports Degraded
)

// AllFaults lists every fault, in the order the schedule cycles through them.
var AllFaults = []string{FaultCrash, FaultPartition, FaultFlap, FaultSlow}

// Config configures a simulated fleet. The zero value is 50 nodes in three
// regions with no faults.
type Config struct {
	Nodes             int           // zero means 50
	Regions           []string      // nil means eu-west, us-east, ap-south
	HTTPAddr          string        // the hub's HTTP address; empty means 127.0.0.1:0
	NATSListen        string        // the hub's NATS address; empty means a random port
	Faults            []string      // any of AllFaults
	FaultEvery        time.Duration // zero means 15s
	HeartbeatInterval time.Duration // zero means 1s
	HeartbeatTimeout  time.Duration // zero means 3 heartbeat intervals
	Seed              uint64        // of the traffic and fault choices
	Logger            *slog.Logger  // nil means slog.Default()
	Dashboard         http.Handler  // served by the hub at "/"
}

// Fleet is a running simulation.
type Fleet struct {
	cfg Config
	log *slog.Logger
	hub *hub.Hub
	ids []string

	mu     sync.Mutex // guards agents, slow and rng
	agents map[string]*agent.Agent
	slow   map[string]bool
	rng    *rand.Rand

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Start starts the hub and every agent, waits until the hub has seen every
// node, then starts traffic and the fault schedule.
func Start(ctx context.Context, cfg Config) (*Fleet, error) {
	if cfg.Nodes == 0 {
		cfg.Nodes = 50
	}
	if cfg.Nodes < 0 || cfg.Nodes > 5000 {
		return nil, fmt.Errorf("sim: --nodes %d must be between 1 and 5000", cfg.Nodes)
	}
	if len(cfg.Regions) == 0 {
		cfg.Regions = []string{"eu-west", "us-east", "ap-south"}
	}
	for _, f := range cfg.Faults {
		if !slices.Contains(AllFaults, f) {
			return nil, fmt.Errorf("sim: unknown fault %q (known: %v)", f, AllFaults)
		}
	}
	if cfg.FaultEvery <= 0 {
		cfg.FaultEvery = 15 * time.Second
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = 3 * cfg.HeartbeatInterval
	}
	f := &Fleet{cfg: cfg, log: cfg.Logger, agents: map[string]*agent.Agent{}, slow: map[string]bool{}, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed))}
	if f.log == nil {
		f.log = slog.Default()
	}
	h, err := hub.Start(ctx, hub.Config{
		HTTPAddr: cfg.HTTPAddr, NATSListen: cfg.NATSListen, HeartbeatTimeout: cfg.HeartbeatTimeout,
		SweepInterval: cfg.HeartbeatInterval / 2, Name: "sim", Logger: f.log.With("component", "hub"), Dashboard: cfg.Dashboard,
	})
	if err != nil {
		return nil, err
	}
	f.hub = h
	width := len(fmt.Sprint(cfg.Nodes))
	for i := range cfg.Nodes {
		region := cfg.Regions[i%len(cfg.Regions)]
		f.ids = append(f.ids, fmt.Sprintf("%s-%0*d", region, width, i/len(cfg.Regions)+1))
	}
	for _, id := range f.ids {
		if err := f.startAgent(id); err != nil {
			f.Close()
			return nil, err
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.wg.Go(func() { f.traffic(runCtx) })
	if len(cfg.Faults) > 0 {
		f.wg.Go(func() { f.faults(runCtx) })
	}
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-runCtx.Done():
		}
	}()
	return f, nil
}

func (f *Fleet) regionOf(id string) string {
	for _, r := range f.cfg.Regions {
		if len(id) > len(r) && id[:len(r)] == r && id[len(r)] == '-' {
			return r
		}
	}
	return ""
}

func (f *Fleet) startAgent(id string) error {
	a, err := agent.Start(context.Background(), agent.Config{
		HubURL: f.hub.NATSURL(), ID: id, Region: f.regionOf(id),
		HeartbeatInterval: f.cfg.HeartbeatInterval, PushInterval: f.cfg.HeartbeatInterval,
		Logger: f.log.With("component", "agent"),
	})
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.agents[id] = a
	f.mu.Unlock()
	return nil
}

// URL returns the base URL of the hub's dashboard and API.
func (f *Fleet) URL() string { return f.hub.URL() }

// Hub returns the hub.
func (f *Fleet) Hub() *hub.Hub { return f.hub }

// NodeIDs returns the simulated node IDs, sorted by region then number.
func (f *Fleet) NodeIDs() []string { return slices.Clone(f.ids) }

// Agent returns the running agent of id, or nil while it is crashed.
func (f *Fleet) Agent(id string) *agent.Agent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.agents[id]
}

// Crash kills the agent of id: it stops heartbeating and its in-memory
// state is gone. Restart brings it back.
func (f *Fleet) Crash(id string) error {
	f.mu.Lock()
	a := f.agents[id]
	delete(f.agents, id)
	f.mu.Unlock()
	if a == nil {
		return fmt.Errorf("sim: node %q is not running", id)
	}
	return a.Close()
}

// Restart starts a crashed node's agent again.
func (f *Fleet) Restart(id string) error {
	if f.Agent(id) != nil {
		return fmt.Errorf("sim: node %q is running", id)
	}
	if !slices.Contains(f.ids, id) {
		return fmt.Errorf("sim: no node %q", id)
	}
	return f.startAgent(id)
}

// Close stops traffic, faults, every agent and the hub.
func (f *Fleet) Close() error {
	f.once.Do(func() {
		if f.cancel != nil {
			f.cancel()
		}
		f.wg.Wait()
		f.mu.Lock()
		agents := f.agents
		f.agents = map[string]*agent.Agent{}
		f.mu.Unlock()
		var wg sync.WaitGroup
		for _, a := range agents {
			wg.Go(func() { a.Close() })
		}
		wg.Wait()
		if f.hub != nil {
			f.hub.Close()
		}
	})
	return nil
}

// function is a simulated edge function with its latency and error profile.
