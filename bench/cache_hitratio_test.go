package bench_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/maypok86/otter/v2"

	"github.com/edgeinfra/edgeinfra/bench/trace"
)

// traceSize reads the trace size from the environment:
// CACHE_TRACE=long replays the long traces (minutes for the whole suite);
// anything else replays the small ones, quick enough for CI.
func traceSize() trace.Size {
	if os.Getenv("CACHE_TRACE") == "long" {
		return trace.Long
	}
	return trace.Small
}

var traceSuite = sync.OnceValue(func() []trace.Trace { return trace.Suite(traceSize()) })

// hitRatioCaches returns the caches the hit-ratio harness compares: ours
// in each available policy, otter (a W-TinyLFU with an adaptive window)
// and a plain LRU. Otter runs its maintenance synchronously, as in otter's
// own simulator, so that no eviction is deferred past the trace.
func hitRatioCaches() []cacheMaker[uint64] {
	return append(edgeinfraCaches[uint64](),
		cacheMaker[uint64]{"otter", newOtterSim},
		cacheMaker[uint64]{"lru", newLRU},
	)
}

func newOtterSim(capacity int) benchCache[uint64] {
	return otterCache[uint64]{otter.Must(&otter.Options[uint64, string]{
		MaximumSize:     capacity,
		InitialCapacity: capacity,
		Executor:        func(fn func()) { fn() },
	})}
}

type lruCache struct{ c *lru.Cache[uint64, string] }

func newLRU(capacity int) benchCache[uint64] {
	c, err := lru.New[uint64, string](capacity)
	if err != nil {
		panic(err)
	}
	return lruCache{c}
}

func (l lruCache) Get(k uint64) (string, bool) { return l.c.Get(k) }
func (l lruCache) Set(k uint64, v string)      { l.c.Add(k, v) }
func (l lruCache) Wait()                       {}
func (l lruCache) Close()                      {}

// replay runs keys through a new cache of the given capacity the way a
// read-through cache is used (Get, and Set on a miss) and returns the
// fraction of Gets that hit, cold misses included.
func replay(mk cacheMaker[uint64], capacity int, keys []uint64) float64 {
	c := mk.new(capacity)
	defer c.Close()
	hits := 0
	for _, k := range keys {
		if _, ok := c.Get(k); ok {
			hits++
		} else {
			c.Set(k, "v")
		}
	}
	return float64(hits) / float64(len(keys))
}

// BenchmarkCacheHitRatio replays every standard trace at every standard
// capacity through each cache and reports the hit ratio (hit%); ns/op is
// the time of one whole replay. Set CACHE_TRACE=long for the long traces.
// traceRuns reads how many times TestCacheHitRatioTable replays each
// trace through each cache from CACHE_TRACE_RUNS (default 1). Otter and
// our W-TinyLFU seed their sketches at random, so their ratios vary a
// little from run to run; with several runs the table shows the mean and,
// in brackets, the spread (max − min) in percentage points.
func traceRuns(t *testing.T) int {
	v := os.Getenv("CACHE_TRACE_RUNS")
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("CACHE_TRACE_RUNS=%q: want a positive integer", v)
	}
	return n
}

// TestCacheHitRatioTable prints the hit ratios of every cache on every
// standard trace and capacity as a Markdown table (run with -v), and
// checks the properties any correct cache must have on these traces.
// When both are present, the last column is our W-TinyLFU's mean minus
// otter's, in percentage points.
func TestCacheHitRatioTable(t *testing.T) {
	caches := hitRatioCaches()
	runs := traceRuns(t)
	var sb strings.Builder
	sb.WriteString("| trace | capacity |")
	for _, mk := range caches {
		fmt.Fprintf(&sb, " %s |", mk.name)
	}
	sb.WriteString(" wtinylfu − otter |\n|---|---:|")
	sb.WriteString(strings.Repeat("---:|", len(caches)+1))
	sb.WriteString("\n")

	for _, tr := range traceSuite() {
		distinct := tr.Distinct()
		prevLRU := -1.0
		for _, capacity := range trace.Capacities(traceSize()) {
			fmt.Fprintf(&sb, "| %s | %d |", tr.Name, capacity)
			means := map[string]float64{}
			for _, mk := range caches {
				lo, hi, sum := 1.0, 0.0, 0.0
				for range runs {
					ratio := replay(mk, capacity, tr.Keys)
					lo, hi, sum = min(lo, ratio), max(hi, ratio), sum+ratio
				}
				ratio := sum / float64(runs)
				means[mk.name] = ratio
				if runs > 1 {
					fmt.Fprintf(&sb, " %.2f%% (%.2f) |", 100*ratio, 100*(hi-lo))
				} else {
					fmt.Fprintf(&sb, " %.2f%% |", 100*ratio)
				}
				// No cache can hit more than once per access beyond each
				// key's first (cold) miss.
				if bound := 1 - float64(distinct)/float64(len(tr.Keys)); hi > bound+1e-9 {
					t.Errorf("%s on %s at %d: hit ratio %.4f above the cold-miss bound %.4f", mk.name, tr.Name, capacity, hi, bound)
				}
				if mk.name != "lru" {
					continue
				}
				// LRU has the inclusion property: a larger LRU never hits less.
				if ratio < prevLRU {
					t.Errorf("lru on %s: hit ratio fell from %.4f to %.4f when capacity grew to %d", tr.Name, prevLRU, ratio, capacity)
				}
				prevLRU = ratio
				// A loop longer than the cache evicts every key just before
				// it comes back.
				if tr.Name == "loop" && ratio != 0 {
					t.Errorf("lru on loop at %d: hit ratio %.4f, want 0", capacity, ratio)
				}
			}
			w, okW := means["edgeinfra-wtinylfu"]
			o, okO := means["otter"]
			if okW && okO {
				fmt.Fprintf(&sb, " %+.2f |", 100*(w-o))
			} else {
				sb.WriteString(" |")
			}
			sb.WriteString("\n")
		}
	}
	t.Logf("hit ratios (%d accesses per trace, mean of %d runs):\n%s", len(traceSuite()[0].Keys), runs, sb.String())
}
