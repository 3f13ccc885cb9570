// Command quickstart shows the four edgeinfra library services at work in a
// few lines each: a cache, heartbeat health checks, invocation metrics and
// state synchronisation between a node and its hub.
//
//	go run ./examples/quickstart
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/edgeinfra/edgeinfra/cache"
	"github.com/edgeinfra/edgeinfra/health"
	"github.com/edgeinfra/edgeinfra/metrics"
	"github.com/edgeinfra/edgeinfra/node"
	"github.com/edgeinfra/edgeinfra/statesync"
)

func main() {
	now := time.Now()

	// cache: a bounded TTL cache for hot data at the edge.
	c := cache.New[string, string](cache.Options{MaxSize: 2, DefaultTTL: time.Minute})
	c.Put("/logo.png", "etag-1", cache.DefaultTTL)
	c.Put("/index.html", "etag-2", cache.DefaultTTL)
	c.Get("/logo.png") // one access: /index.html is now the least used
	c.Put("/app.js", "etag-3", cache.DefaultTTL)
	_, kept := c.Get("/logo.png")
	_, evicted := c.Get("/index.html")
	fmt.Printf("cache:     /logo.png kept=%v, /index.html kept=%v, %d evictions\n", kept, evicted, c.Stats().Evictions)

	// health: heartbeat-based checks and a cluster report.
	m := health.NewMonitor(health.Options{HeartbeatTimeout: 30 * time.Second})
	fleet := []node.Node{
		{ID: "pop-fra-1", Region: "eu", Status: node.Online, LastHeartbeat: now.Add(-5 * time.Second)},
		{ID: "pop-ams-1", Region: "eu", Status: node.Online, LastHeartbeat: now.Add(-2 * time.Minute)},
		{ID: "pop-nyc-1", Region: "us", Status: node.Degraded, LastHeartbeat: now},
	}
	r := m.CheckCluster(fleet)
	fmt.Printf("health:    %d/%d healthy (%.0f%%), unhealthy: %v\n", r.Healthy, r.Total, r.HealthyPercent, r.UnhealthyNodes)
	fmt.Printf("           pop-ams-1: %s\n", m.CheckNode(fleet[1]).Reason)

	// metrics: per-function, per-node invocation statistics.
	a := metrics.New()
	for i := range 10 {
		a.Record(metrics.Invocation{FunctionID: "resize", NodeID: "pop-fra-1", Duration: time.Duration(10+i) * time.Millisecond, Success: i != 9, Error: errText(i == 9)})
	}
	f := metrics.Filter{FunctionID: "resize"}
	fmt.Printf("metrics:   resize ran %d times, %.0f%% success, avg %v\n", a.TotalInvocations(f), a.SuccessRate(f), a.AvgLatency(f))

	// statesync: versioned node state with a conflict strategy.
	s := statesync.New(statesync.Options{NodeID: "pop-fra-1", Strategy: statesync.LocalWins})
	s.UpdateLocal(map[string]any{"feature.beta": true})
	applied := s.ApplyRemote(statesync.State{NodeID: "pop-fra-1", Version: 1, Data: map[string]any{"feature.beta": false}, UpdatedAt: now})
	fmt.Printf("statesync: local v%d, %d pending; hub's change applied while local changes pending: %v\n", s.LocalVersion(), s.PendingCount(), applied)
	s.ConfirmSync(s.LocalVersion())
	fmt.Printf("           after the hub confirmed: synced=%v\n", s.IsSynced())

	// Every service has a JSON Summary for status endpoints.
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"cache": c.Summary(), "metrics": a.Summary(), "statesync": s.Summary()})
}

func errText(failed bool) string {
	if failed {
		return "timeout"
	}
	return ""
}
