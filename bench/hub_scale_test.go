package bench_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkHubScale runs the hub in a child process (embedded NATS, as
// `edgeinfra hub` runs by default) and heartbeats for 2,000 and then 10,000
// simulated agents every second from this process, which shares the
// machine's cores with the hub. While the load runs it measures:
//
//   - hub-cpu-%: the hub process's CPU time over wall time (100% = one core),
//     and loadgen-cpu-%, this process's (load generator and prober) share;
//   - hub-rss-MB and hub-heap-MB: the hub's resident set and Go heap in use;
//   - visible-p50/p99-ms: from publishing a probe node's heartbeat to the
//     first GET /api/v1/nodes/{id} that shows its new last_heartbeat (polled
//     every 0.2 ms, so it includes one small HTTP round trip);
//   - received-p99-ms: the hub's receive time minus the send time, i.e. the
//     NATS path alone;
//   - list-visible-p99-ms: from publishing to the end of the first full
//     GET /api/v1/nodes listing that shows it, which includes the listing's
//     own time (fewer samples: one per second, or per
//     EDGEINFRA_HUBSCALE_LIST_EVERY; 0 leaves the listing out of the window);
//   - hb-lost: heartbeats sent during the whole run that the hub never
//     accepted, counted once the load has stopped.
//
// ns/op is one full GET /api/v1/nodes (every node, read to the end) under
// the load, timed by b.Loop after the measurement window.
//
// The window is 2s by default, so that CI's -benchtime 1x stays short; set
// EDGEINFRA_HUBSCALE_WINDOW (e.g. 30s) for numbers worth quoting, and
// EDGEINFRA_HUBSCALE_AGENTS (e.g. 2000,10000,20000) for other fleet sizes,
// and EDGEINFRA_HUBSCALE_PROFILE to a directory for the hub's CPU and heap
// profiles.
// Simulated agents share connections: 100 node IDs per NATS connection
// (see loadFleet).
func BenchmarkHubScale(b *testing.B) {
	sizes := []int{2000, 10000}
	if s := os.Getenv("EDGEINFRA_HUBSCALE_AGENTS"); s != "" {
		sizes = sizes[:0]
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 100 {
				b.Fatalf("EDGEINFRA_HUBSCALE_AGENTS=%q: want fleet sizes of at least 100, comma-separated", s)
			}
			sizes = append(sizes, n)
		}
	}
	window := 2 * time.Second
	if s := os.Getenv("EDGEINFRA_HUBSCALE_WINDOW"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Second {
			b.Fatalf("EDGEINFRA_HUBSCALE_WINDOW=%q: want a duration of at least 1s", s)
		}
		window = d
	}
	listEvery := time.Second
	if s := os.Getenv("EDGEINFRA_HUBSCALE_LIST_EVERY"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			b.Fatalf("EDGEINFRA_HUBSCALE_LIST_EVERY=%q: want a duration, 0 for no listing probes", s)
		}
		listEvery = d
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) { benchHubScale(b, n, window, listEvery) })
	}
}

const (
	scalePerConn   = 100         // simulated nodes per NATS connection
	scaleInterval  = time.Second // heartbeat interval of every node
	scaleProbes    = 20          // probe nodes (part of the fleet)
	scaleProbeStep = 50 * time.Millisecond
)

func benchHubScale(b *testing.B, n int, window, listEvery time.Duration) {
	p := startHubProc(b, n)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()

	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("edge-%05d", i)
	}
	probeIDs, loadIDs := ids[:scaleProbes], ids[scaleProbes:]
	pr, err := newProber(p.natsURL, p.httpURL, probeIDs, client)
	if err != nil {
		b.Fatal(err)
	}
	defer pr.close()
	for range probeIDs {
		if _, _, err := pr.send(); err != nil {
			b.Fatal(err)
		}
	}
	fleet, err := startLoadFleet(p.natsURL, loadIDs, scalePerConn, scaleInterval)
	if err != nil {
		b.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			fleet.stop()
		}
	}()

	// Warm up: every node known, then one more interval of steady load.
	deadline := time.Now().Add(30 * time.Second)
	for known := 0; known < n; {
		var hz struct{ Nodes int }
		body, err := pr.get("/healthz")
		if err == nil {
			err = json.Unmarshal(body, &hz)
		}
		if err != nil {
			b.Fatal(err)
		}
		known = hz.Nodes
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d nodes known to the hub after 30s", known, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(scaleInterval)

	res := measureHubScale(b, p, pr, fleet, window, listEvery)

	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get(p.httpURL + "/api/v1/nodes")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	// Every heartbeat sent since the start against every one the (fresh)
	// hub accepted, once the load has stopped and the last have arrived.
	fleet.stop()
	stopped = true
	time.Sleep(500 * time.Millisecond)
	c, err := promValues(client, p.httpURL, `edgeinfra_hub_messages_total{kind="heartbeat"`)
	if err != nil {
		b.Fatal(err)
	}
	res.lost = float64(fleet.sent.Load()) + float64(pr.sent) - c[`edgeinfra_hub_messages_total{kind="heartbeat",result="accepted"}`]
	res.report(b)
}

// scaleResult is what one window of load measured.
type scaleResult struct {
	n                        int
	wall, hubCPU, genCPU     time.Duration
	rss, peakRSS, heapInuse  float64
	accepted, stale, lost    float64
	visible, received, listV []time.Duration
	listLongest              time.Duration
	listBytes                int
}

func measureHubScale(b *testing.B, p *hubProc, pr *prober, fleet *loadFleet, window, listEvery time.Duration) scaleResult {
	counters := func() map[string]float64 {
		v, err := promValues(pr.client, p.httpURL, `edgeinfra_hub_messages_total{kind="heartbeat"`, "go_memstats_heap_inuse_bytes", "edgeinfra_nodes{")
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	accepted := `edgeinfra_hub_messages_total{kind="heartbeat",result="accepted"}`
	stale := `edgeinfra_hub_messages_total{kind="heartbeat",result="stale"}`

	c0 := counters()
	cpu0, err := p.cpu()
	if err != nil {
		b.Fatal(err)
	}
	gen0, start := selfCPU(), time.Now()
	var res scaleResult
	nextList := start
	for time.Since(start) < window {
		if listEvery > 0 && time.Now().After(nextList) {
			nextList = nextList.Add(listEvery)
			v, longest, size, err := pr.probeList(5 * time.Second)
			if err != nil {
				b.Fatal(err)
			}
			res.listV = append(res.listV, v)
			res.listLongest, res.listBytes = max(res.listLongest, longest), size
			continue
		}
		v, r, err := pr.probeNode(5 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		res.visible, res.received = append(res.visible, v), append(res.received, r)
		time.Sleep(scaleProbeStep)
	}
	res.wall = time.Since(start)
	cpu1, err := p.cpu()
	if err != nil {
		b.Fatal(err)
	}
	res.hubCPU, res.genCPU = cpu1-cpu0, selfCPU()-gen0
	c1 := counters()
	res.accepted = c1[accepted] - c0[accepted]
	res.stale = c1[stale] - c0[stale]
	res.heapInuse = c1["go_memstats_heap_inuse_bytes"]
	for k, v := range c1 {
		if strings.HasPrefix(k, "edgeinfra_nodes{") {
			res.n += int(v)
		}
	}
	rss, peak, err := p.memory()
	if err != nil {
		b.Fatal(err)
	}
	res.rss, res.peakRSS = float64(rss), float64(peak)
	return res
}

func (r scaleResult) report(b *testing.B) {
	wall := r.wall.Seconds()
	b.ReportMetric(100*r.hubCPU.Seconds()/wall, "hub-cpu-%")
	b.ReportMetric(100*r.genCPU.Seconds()/wall, "loadgen-cpu-%")
	b.ReportMetric(r.rss/(1<<20), "hub-rss-MB")
	b.ReportMetric(r.heapInuse/(1<<20), "hub-heap-MB")
	b.ReportMetric(r.accepted/wall, "hb/s")
	b.ReportMetric(r.lost, "hb-lost")
	b.ReportMetric(msOf(quantile(r.visible, 0.5)), "visible-p50-ms")
	b.ReportMetric(msOf(quantile(r.visible, 0.99)), "visible-p99-ms")
	b.ReportMetric(msOf(quantile(r.received, 0.99)), "received-p99-ms")
	b.ReportMetric(msOf(quantile(r.listV, 0.99)), "list-visible-p99-ms")
	b.Logf("%d nodes listed by the hub; %.0fs window: hub CPU %.1f%% of a core, load generator %.1f%%; RSS %.1f MB (peak %.1f), heap in use %.1f MB; "+
		"%.0f heartbeats accepted in the window, %.0f stale, %.0f lost in the whole run; visible p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d probes); received p99 %.2f ms; "+
		"listing %d KB, visible through the listing p50 %.1f ms, p99 %.1f ms (%d probes), longest listing %.1f ms",
		r.n, wall, 100*r.hubCPU.Seconds()/wall, 100*r.genCPU.Seconds()/wall, r.rss/(1<<20), r.peakRSS/(1<<20), r.heapInuse/(1<<20),
		r.accepted, r.stale, r.lost, msOf(quantile(r.visible, 0.5)), msOf(quantile(r.visible, 0.99)), msOf(quantile(r.visible, 1)), len(r.visible),
		msOf(quantile(r.received, 0.99)), r.listBytes>>10, msOf(quantile(r.listV, 0.5)), msOf(quantile(r.listV, 0.99)), len(r.listV), msOf(r.listLongest))
}
