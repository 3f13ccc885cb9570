package hub

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgeinfra/edgeinfra/internal/agent"
	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// freePorts reserves n distinct loopback ports. Cluster routes must name
// every server's route port up front, so the ports are picked before the
// servers start (another process could take one in between; the test then
// fails to start rather than passing wrongly).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	lns := make([]net.Listener, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// startCluster starts n NATS servers with JetStream, joined by routes into
// one cluster, each storing its files in its own temporary directory, and
// waits until the JetStream meta group has a leader and every server is
// current. It returns the servers' client URLs.
func startCluster(t *testing.T, n int) ([]*server.Server, []string) {
	t.Helper()
	routePorts := freePorts(t, n)
	routes := make([]*url.URL, n)
	for i, p := range routePorts {
		routes[i] = &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)}
	}
	servers := make([]*server.Server, n)
	urls := make([]string, n)
	for i := range n {
		opts := &server.Options{
			ServerName: fmt.Sprintf("edge-%d", i+1),
			Host:       "127.0.0.1",
			Port:       server.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			NoSigs:     true,
			NoLog:      true,
			MaxPayload: wire.MaxMessageSize,
			Cluster: server.ClusterOpts{
				Name: "edgeinfra-test",
				Host: "127.0.0.1",
				Port: routePorts[i],
			},
			Routes: routes,
		}
		ns, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		t.Cleanup(func() {
			ns.Shutdown()
			ns.WaitForShutdown()
		})
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatalf("NATS server %d did not start", i+1)
		}
		servers[i], urls[i] = ns, ns.ClientURL()
	}
	waitFor(t, "a JetStream meta leader with every server current", func() bool {
		leaders := 0
		for _, ns := range servers {
			if !ns.JetStreamIsCurrent() {
				return false
			}
			// Only the leader answers JetStreamClusterPeers.
			if ns.JetStreamIsLeader() {
				if len(ns.JetStreamClusterPeers()) != n {
					return false
				}
				leaders++
			}
		}
		return leaders == 1
	})
	return servers, urls
}

// waitFor polls cond until it holds, for up to 15s: a cluster takes a few
// seconds to elect leaders, longer under -race on a busy machine.
// The optional describe says what was seen instead.
func waitFor(t *testing.T, what string, cond func() bool, describe ...func() string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			for _, d := range describe {
				t.Log(d())
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// fleetView is what a hub shows of the fleet, reduced to what must agree
// between hubs (heartbeat times are each hub's own receive times).
type fleetView struct {
	Nodes   []string
	Regions map[string]string
	Status  map[string]string
	Healthy map[string]bool
	Sync    map[string]wire.SyncInfo
	States  map[string]wire.State
	Metrics metricsView
}

func fleetOf(t *testing.T, h *Hub) fleetView {
	t.Helper()
	var nodes []nodeView
	if code := getJSON(t, h.URL()+"/api/v1/nodes", &nodes); code != 200 {
		t.Fatalf("hub %s: GET /api/v1/nodes = %d", h.cfg.Name, code)
	}
	v := fleetView{Regions: map[string]string{}, Status: map[string]string{}, Healthy: map[string]bool{}, Sync: map[string]wire.SyncInfo{}, States: map[string]wire.State{}}
	for _, n := range nodes {
		v.Nodes = append(v.Nodes, n.ID)
		v.Regions[n.ID], v.Status[n.ID], v.Healthy[n.ID], v.Sync[n.ID] = n.Region, n.Status, n.Healthy, n.Sync
		var st wire.State
		if code := getJSON(t, h.URL()+"/api/v1/nodes/"+n.ID+"/state", &st); code != 200 {
			t.Fatalf("hub %s: GET state of %s = %d", h.cfg.Name, n.ID, code)
		}
		v.States[n.ID] = st
	}
	getJSON(t, h.URL()+"/api/v1/metrics", &v.Metrics)
	// Rates over the last minute depend on when each hub merged a delta.
	v.Metrics.RatePerSecond1m, v.Metrics.ErrorRate1m, v.Metrics.P99MS1m = 0, 0, 0
	for i := range v.Metrics.Functions {
		f := &v.Metrics.Functions[i]
		f.RatePerSecond1m, f.ErrorRate1m, f.P99MS1m = 0, 0, 0
	}
	return v
}

func startClusterAgent(t *testing.T, natsURL, id, region string) *agent.Agent {
	t.Helper()
	a, err := agent.Start(context.Background(), agent.Config{
		HubURL: natsURL, ID: id, Region: region,
		HeartbeatInterval: 100 * time.Millisecond, PushInterval: 100 * time.Millisecond,
		Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestTwoHubsShareOneNATSCluster runs two hubs against an external 3-node
// NATS cluster, with agents on different servers of the cluster than the
// hubs, and checks that both hubs show the same fleet, state and metrics,
// also after the cluster loses a server.
func TestTwoHubsShareOneNATSCluster(t *testing.T) {
	servers, urls := startCluster(t, 3)

	// Each hub and agent is given one server, so that they are known to sit
	// on different servers and everything crosses the cluster's routes.
	// The stream and bucket are replicated on all three servers.
	ha := startHub(t, Config{NATSURL: urls[0], Name: "a", StreamReplicas: 3})
	hb := startHub(t, Config{NATSURL: urls[1], Name: "b", StreamReplicas: 3})

	agents := []*agent.Agent{
		startClusterAgent(t, urls[2], "edge-eu-1", "eu"),
		startClusterAgent(t, urls[0], "edge-us-1", "us"),
		startClusterAgent(t, urls[1], "edge-ap-1", "ap"),
	}
	// A node that reports itself degraded, through a bare NATS connection on
	// the third server.
	nc, err := nats.Connect(urls[2])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b, _ := wire.Encode(wire.Heartbeat{V: wire.Version, NodeID: "edge-eu-2", Region: "eu", Status: "degraded", Epoch: 1, Seq: 1, SentAt: time.Now()})
	if err := nc.Publish(wire.HeartbeatSubject("edge-eu-2"), b); err != nil {
		t.Fatal(err)
	}
	nc.Flush()

	for i, a := range agents {
		if _, err := a.UpdateState(map[string]any{"build": fmt.Sprintf("v%d", i), "index": i}); err != nil {
			t.Fatal(err)
		}
		for j := range 5 + i {
			inv := metrics.Invocation{FunctionID: "resize", NodeID: a.ID(), Duration: time.Duration(j+1) * time.Millisecond, Success: true}
			if j == 0 {
				inv.Success, inv.Error = false, "timeout"
			}
			a.RecordInvocation(inv)
		}
		a.RecordInvocation(metrics.Invocation{FunctionID: "thumb", NodeID: a.ID(), Duration: 3 * time.Millisecond, Success: true})
	}
	wantNodes := []string{"edge-ap-1", "edge-eu-1", "edge-eu-2", "edge-us-1"}
	const wantInvocations = 3*5 + 3 + 3 // resize 5+6+7, thumb once per agent

	var va, vb fleetView
	waitFor(t, "both hubs to show the whole fleet with its state and metrics", func() bool {
		va, vb = fleetOf(t, ha), fleetOf(t, hb)
		for _, v := range []fleetView{va, vb} {
			if !slices.Equal(v.Nodes, wantNodes) || v.Metrics.TotalInvocations != wantInvocations {
				return false
			}
			for _, a := range agents {
				if v.States[a.ID()].Version != 1 || v.Sync[a.ID()].Pending != 0 || v.Sync[a.ID()].LocalVersion != 1 {
					return false
				}
			}
		}
		return true
	}, func() string { return fmt.Sprintf("hub a: %+v\nhub b: %+v", va, vb) })
	if diff := compareFleets(va, vb); diff != "" {
		t.Fatalf("hub a and hub b differ: %s", diff)
	}

	// Spot-check the content, not only the agreement.
	if va.Status["edge-eu-2"] != "degraded" || !va.Healthy["edge-eu-2"] || !va.Healthy["edge-us-1"] || va.Regions["edge-ap-1"] != "ap" {
		t.Errorf("fleet = %+v", va)
	}
	if st := va.States["edge-ap-1"]; st.Data["build"] != "v2" || st.Data["index"] != 2.0 {
		t.Errorf("state of edge-ap-1 = %+v, want build v2, index 2", st)
	}
	if m := va.Metrics; m.Errors != 3 || len(m.Functions) != 2 || m.Functions[0].Function != "resize" || m.Functions[0].TotalInvocations != 18 {
		t.Errorf("metrics = %+v, want 3 errors and resize with 18 invocations", m)
	}

	// The stream both hubs read is replicated on every server.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := js.Stream(ctx, wire.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if ci := info.CachedInfo().Cluster; ci == nil || ci.Name != "edgeinfra-test" || ci.Leader == "" || len(ci.Replicas) != 2 {
		t.Errorf("stream %s cluster info = %+v, want a leader and 2 replicas in the cluster", wire.StreamName, ci)
	}
	for _, ns := range servers {
		if !ns.JetStreamIsStreamAssigned(server.DEFAULT_GLOBAL_ACCOUNT, wire.StreamName) {
			t.Errorf("server %s holds no replica of stream %s", ns.Name(), wire.StreamName)
		}
	}

	// With 3 replicas, losing a server loses nothing: the agents on it move
	// to the others, and a change made after the loss reaches both hubs.
	servers[2].Shutdown()
	servers[2].WaitForShutdown()
	if _, err := agents[0].UpdateState(map[string]any{"after": "loss"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both hubs to apply a change made after a server was lost", func() bool {
		for _, h := range []*Hub{ha, hb} {
			var st wire.State
			if getJSON(t, h.URL()+"/api/v1/nodes/edge-eu-1/state", &st) != 200 || st.Version != 2 || st.Data["after"] != "loss" || st.Data["build"] != "v0" {
				return false
			}
		}
		return true
	})
}

// compareFleets returns a description of the first difference, or "".
func compareFleets(a, b fleetView) string {
	sa, sb := fmt.Sprintf("%+v", a), fmt.Sprintf("%+v", b)
	if sa == sb {
		return ""
	}
	i := 0
	for i < len(sa) && i < len(sb) && sa[i] == sb[i] {
		i++
	}
	lo := max(i-80, 0)
	return fmt.Sprintf("at %q\n vs %q", clip(sa[lo:], 200), clip(sb[lo:], 200))
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return strings.TrimSpace(s)
}
