// Package sim runs a whole edgeinfra fleet in one process: a hub and N
// agents connected over real NATS, simulated function traffic, and faults
// injected on a schedule. It is what `edgeinfra sim` runs.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/agent"
	"github.com/edgeinfra/edgeinfra/internal/hub"
	"github.com/edgeinfra/edgeinfra/metrics"
	"github.com/edgeinfra/edgeinfra/node"
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
type function struct {
	name      string
	medianMS  float64
	sigma     float64 // of the log-normal latency
	errorRate float64
	errors    []string
}

var functions = []function{
	{"image-resize", 35, 0.5, 0.01, []string{"timeout", "decode error"}},
	{"auth-check", 4, 0.3, 0.002, []string{"upstream 503"}},
	{"geo-lookup", 1.5, 0.4, 0.0005, []string{"not found"}},
	{"video-transcode", 400, 0.6, 0.03, []string{"timeout", "oom"}},
}

// traffic records invocations on every running agent, ten times a second.
func (f *Fleet) traffic(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.mu.Lock()
		for id, a := range f.agents {
			slow := 1.0
			if f.slow[id] {
				slow = 10
			}
			for _, fn := range functions {
				n := f.rng.IntN(4)
				for range n {
					ms := fn.medianMS * math.Exp(fn.sigma*f.rng.NormFloat64()) * slow
					inv := metrics.Invocation{FunctionID: fn.name, Duration: time.Duration(ms * float64(time.Millisecond)), Success: true}
					if f.rng.Float64() < fn.errorRate*slow {
						inv.Success, inv.Error = false, fn.errors[f.rng.IntN(len(fn.errors))]
					}
					a.RecordInvocation(inv)
				}
			}
		}
		f.mu.Unlock()
	}
}

// faults injects one fault every FaultEvery, cycling through the
// configured kinds, each lasting about two FaultEvery periods.
func (f *Fleet) faults(ctx context.Context) {
	t := time.NewTicker(f.cfg.FaultEvery)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		kind := f.cfg.Faults[i%len(f.cfg.Faults)]
		f.mu.Lock()
		id := f.ids[f.rng.IntN(len(f.ids))]
		f.mu.Unlock()
		if err := f.inject(ctx, kind, id); err != nil {
			f.log.Warn("fault not injected", "fault", kind, "node", id, "err", err)
		}
	}
}

func (f *Fleet) inject(ctx context.Context, kind, id string) error {
	hold := 2 * f.cfg.FaultEvery
	switch kind {
	case FaultCrash:
		if err := f.Crash(id); err != nil {
			return err
		}
		f.log.Info("fault: node crashed", "node", id, "restart_in", hold)
		f.later(ctx, hold, func() {
			if err := f.Restart(id); err != nil && !errors.Is(err, context.Canceled) {
				f.log.Warn("restart failed", "node", id, "err", err)
			} else {
				f.log.Info("fault over: node restarted", "node", id)
			}
		})
	case FaultPartition:
		region := f.regionOf(id)
		var cut []*agent.Agent
		f.mu.Lock()
		for nid, a := range f.agents {
			if f.regionOf(nid) == region {
				cut = append(cut, a)
			}
		}
		f.mu.Unlock()
		for _, a := range cut {
			a.Disconnect()
		}
		f.log.Info("fault: region partitioned from the hub", "region", region, "nodes", len(cut), "for", hold)
		f.later(ctx, hold, func() {
			for _, a := range cut {
				_ = a.Reconnect()
			}
			f.log.Info("fault over: partition healed", "region", region)
		})
	case FaultFlap:
		a := f.Agent(id)
		if a == nil {
			return errors.New("node is down")
		}
		f.log.Info("fault: node flapping", "node", id, "for", hold)
		period := f.cfg.HeartbeatTimeout + f.cfg.HeartbeatInterval
		f.wg.Go(func() {
			defer a.PauseHeartbeats(false)
			for end := time.Now().Add(hold); time.Now().Before(end); {
				a.PauseHeartbeats(true)
				if !sleep(ctx, period) {
					return
				}
				a.PauseHeartbeats(false)
				if !sleep(ctx, period) {
					return
				}
			}
			f.log.Info("fault over: node stopped flapping", "node", id)
		})
	case FaultSlow:
		a := f.Agent(id)
		if a == nil {
			return errors.New("node is down")
		}
		f.mu.Lock()
		f.slow[id] = true
		f.mu.Unlock()
		a.SetStatus(node.Degraded)
		f.log.Info("fault: node slow and degraded", "node", id, "for", hold)
		f.later(ctx, hold, func() {
			f.mu.Lock()
			delete(f.slow, id)
			f.mu.Unlock()
			a.SetStatus(node.Online)
			f.log.Info("fault over: node fast again", "node", id)
		})
	}
	return nil
}

// later runs fn after d unless the fleet stops first.
func (f *Fleet) later(ctx context.Context, d time.Duration, fn func()) {
	f.wg.Go(func() {
		if sleep(ctx, d) {
			fn()
		}
	})
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
