package hub

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgeinfra/edgeinfra/metrics/prom"
)

// promHandler serves the hub's Prometheus metrics: the fleet by status and
// region, every function's invocations (metrics/prom), the hub's message
// counters, NATS connection state, and the Go and process collectors.
func (h *Hub) promHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prom.New(h.agg, prom.Options{}),
		&fleetCollector{h: h},
		&checkpointCollector{h: h},
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

var (
	nodesDesc = prometheus.NewDesc("edgeinfra_nodes", "Nodes known to the hub, by status (as the hub sees it) and region.",
		[]string{"status", "region"}, nil)
	healthyDesc = prometheus.NewDesc("edgeinfra_nodes_healthy", "Nodes that are healthy, by region.",
		[]string{"region"}, nil)
	messagesDesc = prometheus.NewDesc("edgeinfra_hub_messages_total", "Messages the hub received from agents, by kind and result.",
		[]string{"kind", "result"}, nil)
	livenessDesc = prometheus.NewDesc("edgeinfra_nodes_liveness", "Nodes by the health tracker's verdict (alive, suspect, dead) and region, at the newest sweep.",
		[]string{"state", "region"}, nil)
	regionUnhealthyDesc = prometheus.NewDesc("edgeinfra_region_unhealthy", "1 when a region lost many nodes at once (a partition rather than single failures).",
		[]string{"region"}, nil)
	rejectedDesc = prometheus.NewDesc("edgeinfra_hub_rejected_total", "What the hub refused from agents, by kind (heartbeat, state, metrics) and reason (invalid, rate, max_nodes, max_series); metrics count series, the others messages.",
		[]string{"kind", "reason"}, nil)
	natsDesc = prometheus.NewDesc("edgeinfra_hub_nats_connected", "1 when the hub is connected to NATS.", nil, nil)
)

// fleetCollector computes fleet gauges at scrape time, in O(nodes).
type fleetCollector struct{ h *Hub }

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- nodesDesc
	ch <- healthyDesc
	ch <- messagesDesc
	ch <- rejectedDesc
	ch <- livenessDesc
	ch <- regionUnhealthyDesc
	ch <- natsDesc
}

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	type key struct{ status, region string }
	counts := map[key]int{}
	healthy := map[string]int{}
	now := time.Now()
	flapping := c.h.flappingNodes()
	for _, s := range c.h.reg.all() {
		v := c.h.view(s, now, flapping)
		counts[key{v.Status, v.Region}]++
		if v.Healthy {
			healthy[v.Region]++
		} else if _, ok := healthy[v.Region]; !ok {
			healthy[v.Region] = 0
		}
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(nodesDesc, prometheus.GaugeValue, float64(n), k.status, k.region)
	}
	for r, n := range healthy {
		ch <- prometheus.MustNewConstMetric(healthyDesc, prometheus.GaugeValue, float64(n), r)
	}
	if fleet := c.h.lastFleet.Load(); fleet != nil {
		for region, r := range fleet.Regions {
			for _, s := range []struct {
				state string
				n     int
			}{{"alive", r.Alive}, {"suspect", r.Suspect}, {"dead", r.Dead}} {
				ch <- prometheus.MustNewConstMetric(livenessDesc, prometheus.GaugeValue, float64(s.n), s.state, region)
			}
			bad := 0.0
			if r.Unhealthy {
				bad = 1
			}
			ch <- prometheus.MustNewConstMetric(regionUnhealthyDesc, prometheus.GaugeValue, bad, region)
		}
	}
	st := &c.h.stats
	for _, m := range []struct {
		kind, result string
		n            uint64
	}{
		{"heartbeat", "accepted", st.heartbeats.Load()},
		{"heartbeat", "stale", st.stale.Load()},
		{"state", "applied", st.stateApplied.Load()},
		{"state", "duplicate", st.stateDuplicate.Load()},
		{"state", "out_of_order", st.stateGap.Load()},
		{"metrics", "merged", st.metricDeltas.Load()},
		{"metrics", "duplicate", st.metricDuplicate.Load()},
		{"any", "rejected", c.h.rejects.total()},
	} {
		ch <- prometheus.MustNewConstMetric(messagesDesc, prometheus.CounterValue, float64(m.n), m.kind, m.result)
	}
	for _, l := range rejectLabels {
		ch <- prometheus.MustNewConstMetric(rejectedDesc, prometheus.CounterValue, float64(c.h.rejects.get(l.kind, l.reason)), kindNames[l.kind], reasonNames[l.reason])
	}
	up := 0.0
	if c.h.nc.IsConnected() {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(natsDesc, prometheus.GaugeValue, up)
}
