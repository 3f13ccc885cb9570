package hub

import (
	"sync"
	"time"

	"github.com/edgeinfra/edgeinfra/metrics"
)

// metricsTTL is how long an answer of GET /api/v1/metrics is reused.
// Agents push metric deltas every few seconds, so a fresher answer would
// rarely differ, while one fleet-wide answer scans every (function, node)
// series a few times per function and merges their latency sketches: about
// 250 ms and 30 MB of garbage for 10,000 nodes running 5 functions
// (BenchmarkFleetMetrics), which every dashboard poll would otherwise pay.
const metricsTTL = time.Second

// metricsCacheSize bounds the filters remembered; past it the cache is
// emptied, so queries for many nodes cannot grow it.
const metricsCacheSize = 256

// metricsCache reuses recent answers of GET /api/v1/metrics, by filter.
// Concurrent requests for one filter compute it once.
type metricsCache struct {
	mu      sync.Mutex // guards entries
	entries map[metrics.Filter]*metricsEntry
}

type metricsEntry struct {
	once sync.Once
	at   time.Time
	v    metricsView
}

// get returns the answer for f computed by compute at most metricsTTL
// before now.
func (c *metricsCache) get(f metrics.Filter, now time.Time, compute func(metrics.Filter) metricsView) metricsView {
	c.mu.Lock()
	e := c.entries[f]
	if e == nil || now.Sub(e.at) >= metricsTTL || now.Before(e.at) {
		if c.entries == nil || len(c.entries) >= metricsCacheSize {
			c.entries = map[metrics.Filter]*metricsEntry{}
		}
		e = &metricsEntry{at: now}
		c.entries[f] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.v = compute(f) })
	return e.v
}
