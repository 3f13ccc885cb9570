package sim

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/agent"
	"github.com/edgeinfra/edgeinfra/metrics"
	"github.com/edgeinfra/edgeinfra/node"
)

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

// regionProfile returns the latency and error-rate factors of id's region:
// the first region is the reference, each further one 30% slower and 50%
// less reliable than the one before.
func (f *Fleet) regionProfile(id string) (latency, errRate float64) {
	r := f.regionOf(id)
	latency, errRate = 1, 1
	for _, name := range f.cfg.Regions {
		if name == r {
			break
		}
		latency *= 1.3
		errRate *= 1.5
	}
	return latency, errRate
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
			lat, errs := f.regionProfile(id)
			if f.slow[id] {
				lat, errs = lat*10, errs*10
			}
			for _, fn := range functions {
				n := f.rng.IntN(4)
				for range n {
					ms := fn.medianMS * math.Exp(fn.sigma*f.rng.NormFloat64()) * lat
					inv := metrics.Invocation{FunctionID: fn.name, Duration: time.Duration(ms * float64(time.Millisecond)), Success: true}
					if f.rng.Float64() < fn.errorRate*errs {
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
