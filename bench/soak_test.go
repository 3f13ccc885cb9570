package bench_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// BenchmarkSoak runs a hub and a fleet of real agents (internal/agent, each
// with its own NATS connection, local HTTP API and bbolt data dir) in this
// process under continuous faults, drives state updates and invocations
// through the agents' local HTTP APIs, and then checks that nothing
// acknowledged was lost. It runs once whatever b.N is.
//
// Faults: about 5% of the fleet has one at any time, each lasting 2-6 s,
// cycling through crash (Close, then Start again on the same data dir),
// partition (Disconnect, then Reconnect), heartbeat pause, and slow (the
// agent reports Degraded and its invocations take 10x longer).
//
// Load: every agent is offered 0.5 state updates and 1 invocation a second
// (EDGEINFRA_SOAK_RATE scales both), by 64 workers that own a fixed share
// of the nodes each; heartbeats go every second. A 429 or a refused
// connection counts as not acknowledged.
//
// Reported over time (every EDGEINFRA_SOAK_SAMPLE, after a GC): state
// updates and invocations acknowledged per second, heartbeats the hub
// accepted per second, heap in use and goroutines. Then:
//
//   - heap-slope-MB/min: the least-squares slope of the heap over the
//     second half of the run; the heap is "flat" when that slope is under 1%
//     of the half's mean heap per minute. Runs of 2 minutes or more fail when
//     it is not flat; shorter runs are mostly warm-up and only report it.
//   - lost: once faults stop and every agent is back, the hub must hold,
//     for every node, the latest acknowledged value of every key it was sent
//     (or a later value whose request got no answer) and exactly the
//     acknowledged invocations; the run fails otherwise, after waiting up
//     to 90 s for the pushes to drain.
//   - desired-s: then a desired key is set for every node through the hub's
//     API; every agent must apply it within 60 s (each agent's watch of the
//     desired-state bucket has to work, at any fleet size).
//
// By default it runs 200 agents for 15 s, for CI. EDGEINFRA_SOAK=5m runs for
// that long with 2,000 agents; EDGEINFRA_SOAK_AGENTS sets the fleet size,
// EDGEINFRA_SOAK_DIR where the data dirs go (default: the test's temporary
// directory), EDGEINFRA_SOAK_PROFILE a directory for heap and goroutine profiles taken
// after a GC at the first sample, half way and at the end of the load (compare them
// with go tool pprof -diff_base). The over-time table is printed with -v.
// Results: bench/results/soak.md.
func BenchmarkSoak(b *testing.B) {
	cfg, err := soakConfigFromEnv()
	if err != nil {
		b.Fatal(err)
	}
	defer goleak.VerifyNone(b, goleak.IgnoreCurrent())
	runSoak(b, cfg)
}

type soakConfig struct {
	agents   int
	duration time.Duration
	rate     float64 // multiplies the per-agent offered load
	sample   time.Duration
	dir      string
	profile  string // where heap profiles go; empty: none
}

func soakConfigFromEnv() (soakConfig, error) {
	cfg := soakConfig{agents: 200, duration: 15 * time.Second, rate: 1, sample: 2 * time.Second}
	if s := os.Getenv("EDGEINFRA_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 10*time.Second {
			return cfg, fmt.Errorf("EDGEINFRA_SOAK=%q: want a duration of at least 10s, such as 5m", s)
		}
		cfg.duration, cfg.agents, cfg.sample = d, 2000, 5*time.Second
	}
	if s := os.Getenv("EDGEINFRA_SOAK_AGENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 || n > 10000 {
			return cfg, fmt.Errorf("EDGEINFRA_SOAK_AGENTS=%q: want a number of agents from 10 to 10000", s)
		}
		cfg.agents = n
	}
	if s := os.Getenv("EDGEINFRA_SOAK_RATE"); s != "" {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || r <= 0 || r > 100 {
			return cfg, fmt.Errorf("EDGEINFRA_SOAK_RATE=%q: want a factor above 0 and at most 100 of the default load (0.5 updates and 1 invocation per agent per second)", s)
		}
		cfg.rate = r
	}
	if s := os.Getenv("EDGEINFRA_SOAK_SAMPLE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 500*time.Millisecond {
			return cfg, fmt.Errorf("EDGEINFRA_SOAK_SAMPLE=%q: want a duration of at least 500ms", s)
		}
		cfg.sample = d
	}
	cfg.dir = os.Getenv("EDGEINFRA_SOAK_DIR")
	cfg.profile = os.Getenv("EDGEINFRA_SOAK_PROFILE")
	return cfg, nil
}

// soakSample is one row of the over-time report.
type soakSample struct {
	at                  time.Duration // since the load started
	updates, invs, hbs  float64       // per second since the previous sample
	heapMB              float64       // live heap: what the GC just before found reachable
	inuseMB             float64       // heap spans in use, which includes their free slots
	goroutines          int
	cpuPct              float64 // this process's CPU time over wall time; 200 is both cores
	load1               float64 // the machine's 1-minute load average
	crashed, faulted    int
	notTaken, uncertain int64 // totals so far
}

func runSoak(b *testing.B, cfg soakConfig) {
	dir := cfg.dir
	if dir == "" {
		dir = b.TempDir()
	} else {
		var err error
		if dir, err = os.MkdirTemp(dir, "soak-"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	started := time.Now()
	f, err := startSoakFleet(dir, cfg.agents)
	if err != nil {
		b.Fatal(err)
	}
	fleetClosed := false
	defer func() {
		if !fleetClosed {
			f.close()
		}
	}()
	d := newSoakDriver(f, float64(cfg.agents)*1.5*cfg.rate, 0.5/1.5)
	defer d.client.CloseIdleConnections()
	if err := waitHubSees(d, cfg.agents, 60*time.Second); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d agents up and seen by the hub in %v", cfg.agents, time.Since(started).Round(time.Millisecond))

	ctx, stop := context.WithTimeout(context.Background(), cfg.duration)
	defer stop()
	var wg sync.WaitGroup
	// About 5% of the fleet under a fault at once, each lasting 4 s on average.
	every := time.Duration(float64(4*time.Second) / (0.05 * float64(cfg.agents)))
	wg.Go(func() { f.runFaults(ctx, every, 1) })
	wg.Go(func() { d.run(ctx, 64, 2) })
	samples := sampleSoak(ctx, b, f, d, cfg.sample, cfg.duration/2, cfg.profile)
	wg.Wait() // the load has stopped and every fault is undone
	if err, _ := f.restartErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	if r := d.c.rejected.Load(); r > 0 {
		b.Fatalf("%d requests rejected by the agents' local API, first: %v", r, d.c.firstReject.Load())
	}

	// Drain: every agent is back and connected; wait for the hub to agree.
	took, bad, nbad := d.verify(context.Background(), 90*time.Second)

	report(b, cfg, f, d, samples, took, nbad)
	if nbad > 0 {
		b.Log(hubDiagnostics(d))
		b.Fatalf("LOST ACKNOWLEDGED UPDATES: %d of %d nodes disagree with the hub %v after the load stopped:\n  %s",
			nbad, cfg.agents, took.Round(time.Millisecond), strings.Join(bad, "\n  "))
	}
	// Then the other direction: desired state set at the hub reaches every agent.
	dtook, dbad, ndbad := d.desired(context.Background(), 60*time.Second)
	b.Logf("desired state set at the hub for every node: applied by %d of %d agents in %v", cfg.agents-ndbad, cfg.agents, dtook.Round(time.Millisecond))
	b.ReportMetric(dtook.Seconds(), "desired-s")
	if ndbad > 0 {
		b.Fatalf("desired state did not reach %d of %d agents within %v:\n  %s", ndbad, cfg.agents, dtook.Round(time.Millisecond), strings.Join(dbad, "\n  "))
	}
	slope, mean, flat := heapVerdict(samples)
	if !flat && cfg.duration >= 2*time.Minute {
		b.Errorf("heap not flat: %.2f MB/min over the second half (mean %.1f MB; flat means under %.2f MB/min)", slope, mean, mean/100)
	}
	d.client.CloseIdleConnections()
	f.close()
	fleetClosed = true
}

func waitHubSees(d *soakDriver, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var hz struct {
			Nodes int `json:"nodes"`
		}
		err := d.getJSON(context.Background(), d.fleet.hub.URL()+"/healthz", &hz)
		if err == nil && hz.Nodes >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the hub saw %d of %d agents within %v (err %v)", hz.Nodes, n, limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sampleSoak samples rates and memory every `every` until ctx ends.
func sampleSoak(ctx context.Context, b *testing.B, f *soakFleet, d *soakDriver, every, half time.Duration, profileDir string) []soakSample {
	start := time.Now()
	halfWritten := false
	prevAt := start
	prevU, prevI := d.c.updates.Load(), d.c.invocations.Load()
	prevH, _ := hubHeartbeats(d)
	prevCPU := selfCPU()
	var out []soakSample
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if profileDir != "" {
				runtime.GC()
				writeProfiles(b, profileDir, "end")
			}
			return out
		case <-t.C:
		}
		// The counters and the clock are read together, before the GC,
		// which can take a while with thousands of agents.
		h, err := hubHeartbeats(d)
		if err != nil {
			b.Logf("reading the hub's heartbeat counter: %v", err)
			h = prevH
		}
		now := time.Now()
		secs := now.Sub(prevAt).Seconds()
		u, i := d.c.updates.Load(), d.c.invocations.Load()
		cpu := selfCPU()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(live)
		if profileDir != "" && len(out) == 0 {
			writeProfiles(b, profileDir, "start")
		}
		if profileDir != "" && !halfWritten && now.Sub(start) >= half {
			writeProfiles(b, profileDir, "half")
			halfWritten = true
		}
		crashed, faulted := f.down()
		out = append(out, soakSample{
			at: now.Sub(start), updates: float64(u-prevU) / secs, invs: float64(i-prevI) / secs, hbs: (h - prevH) / secs,
			heapMB: float64(live[0].Value.Uint64()) / (1 << 20), inuseMB: float64(ms.HeapInuse) / (1 << 20), goroutines: runtime.NumGoroutine(), crashed: crashed, faulted: faulted,
			notTaken: d.c.notTaken.Load(), uncertain: d.c.uncertain.Load(),
			cpuPct: 100 * (cpu - prevCPU).Seconds() / secs, load1: loadAvg(),
		})
		prevAt, prevU, prevI, prevH, prevCPU = now, u, i, h, cpu
	}
}

// loadAvg returns the machine's 1-minute load average, 0 where /proc is
// not there.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, _ := strconv.ParseFloat(f, 64)
	return v
}

// writeProfiles writes the heap profile as of the last GC to
// dir/soak-<name>.heap.pprof, and the goroutines to
// dir/soak-<name>.goroutine.pprof.
func writeProfiles(b *testing.B, dir, name string) {
	for _, kind := range []string{"heap", "goroutine"} {
		path := filepath.Join(dir, "soak-"+name+"."+kind+".pprof")
		fh, err := os.Create(path)
		if err == nil {
			err = pprof.Lookup(kind).WriteTo(fh, 0)
			if cerr := fh.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			b.Logf("%s profile %s: %v", kind, path, err)
		}
	}
}

// hubDiagnostics returns the hub's /healthz answer and its message
// counters, to tell a hub that fell behind the stream from one that lost
// data.
func hubDiagnostics(d *soakDriver) string {
	var sb strings.Builder
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := d.client.Get(d.fleet.hub.URL() + path)
		if err != nil {
			fmt.Fprintf(&sb, "hub %s: %v\n", path, err)
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if line := sc.Text(); path == "/healthz" || strings.HasPrefix(line, "edgeinfra_hub_") {
				fmt.Fprintf(&sb, "hub %s: %s\n", path, line)
			}
		}
		resp.Body.Close()
	}
	return sb.String()
}

// hubHeartbeats reads the hub's count of accepted heartbeats from /metrics.
func hubHeartbeats(d *soakDriver) (float64, error) {
	resp, err := d.client.Get(d.fleet.hub.URL() + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	const prefix = `edgeinfra_hub_messages_total{kind="heartbeat",result="accepted"} `
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s in /metrics", strings.TrimSpace(prefix))
}

// slope returns the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}

// slopeStdErr returns the standard error of the least-squares slope of ys
// over xs: how far noise alone moves the slope.
func slopeStdErr(xs, ys []float64) float64 {
	n := float64(len(xs))
	if n < 3 {
		return 0
	}
	b := slope(xs, ys)
	var mx, my float64
	for i := range xs {
		mx += xs[i] / n
		my += ys[i] / n
	}
	var ssr, sxx float64
	for i := range xs {
		r := ys[i] - (my + b*(xs[i]-mx))
		ssr += r * r
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return 0
	}
	return math.Sqrt(ssr / (n - 2) / sxx)
}

// halfSeries returns the minutes and live heap of the second half of the
// samples.
func halfSeries(samples []soakSample) (xs, ys []float64) {
	for _, s := range samples[len(samples)/2:] {
		xs = append(xs, s.at.Minutes())
		ys = append(ys, s.heapMB)
	}
	return xs, ys
}

// heapVerdict fits the heap of the second half of the samples against
// time: slope in MB per minute, the half's mean heap in MB, and whether
// the slope is under 1% of that mean per minute. Fewer than 4 samples in
// the half cannot tell, and count as flat.
func heapVerdict(samples []soakSample) (slopeMBPerMin, meanMB float64, flat bool) {
	half := samples[len(samples)/2:]
	if len(half) == 0 {
		return 0, 0, true
	}
	var xs, ys []float64
	for _, s := range half {
		xs = append(xs, s.at.Minutes())
		ys = append(ys, s.heapMB)
		meanMB += s.heapMB
	}
	meanMB /= float64(len(half))
	if len(half) < 4 {
		return 0, meanMB, true
	}
	slopeMBPerMin = slope(xs, ys)
	return slopeMBPerMin, meanMB, slopeMBPerMin < meanMB/100
}

func report(b *testing.B, cfg soakConfig, f *soakFleet, d *soakDriver, samples []soakSample, drained time.Duration, disagree int) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nsoak: %d agents, %v, offered %.0f ops/s (%.2fx)\n", cfg.agents, cfg.duration, float64(cfg.agents)*1.5*cfg.rate, cfg.rate)
	sb.WriteString("| t (s) | updates/s | invocations/s | heartbeats/s | live heap MB | heap in use MB | goroutines | CPU % | load | crashed | faulted | not taken | no answer |\n")
	sb.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var sumU, sumI, sumH float64
	for _, s := range samples {
		fmt.Fprintf(&sb, "| %.0f | %.0f | %.0f | %.0f | %.1f | %.1f | %d | %.0f | %.1f | %d | %d | %d | %d |\n",
			s.at.Seconds(), s.updates, s.invs, s.hbs, s.heapMB, s.inuseMB, s.goroutines, s.cpuPct, s.load1, s.crashed, s.faulted, s.notTaken, s.uncertain)
		sumU += s.updates
		sumI += s.invs
		sumH += s.hbs
	}
	n := float64(max(len(samples), 1))
	sl, mean, flat := heapVerdict(samples)
	verdict := "flat"
	if !flat {
		verdict = "NOT flat"
	}
	faults := make([]string, 0, len(soakFaultKinds))
	for _, k := range soakFaultKinds {
		faults = append(faults, fmt.Sprintf("%s %d", k, f.injected[k].Load()))
	}
	fmt.Fprintf(&sb, "faults: %s\n", strings.Join(faults, ", "))
	fmt.Fprintf(&sb, "acknowledged: %d updates, %d invocations; not taken (429, refused): %d; no answer: %d; skipped (crashed): %d\n",
		d.c.updates.Load(), d.c.invocations.Load(), d.c.notTaken.Load(), d.c.uncertain.Load(), d.c.skipped.Load())
	fmt.Fprintf(&sb, "live heap: second-half slope %.2f ± %.2f MB/min (standard error), mean %.1f MB: %s (under %.2f MB/min)\n", sl, slopeStdErr(halfSeries(samples)), mean, verdict, mean/100)
	if disagree == 0 {
		fmt.Fprintf(&sb, "lost: 0; the hub agreed with every acknowledged update and invocation %v after the load stopped\n", drained.Round(time.Millisecond))
	} else {
		fmt.Fprintf(&sb, "lost: %d nodes still disagree with the hub %v after the load stopped\n", disagree, drained.Round(time.Millisecond))
	}
	b.Log(sb.String())
	b.ReportMetric(sumU/n, "updates/s")
	b.ReportMetric(sumI/n, "invocations/s")
	b.ReportMetric(sumH/n, "heartbeats/s")
	if len(samples) > 0 {
		b.ReportMetric(samples[len(samples)-1].heapMB, "heap-MB")
	}
	b.ReportMetric(sl, "heap-slope-MB/min")
	b.ReportMetric(drained.Seconds(), "drain-s")
}
