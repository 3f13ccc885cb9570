package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// binary is the edgeinfra binary TestMain builds.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // the test skips itself
	}
	dir, err := os.MkdirTemp("", "edgeinfra-crashtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binary = filepath.Join(dir, "edgeinfra")
	// A normal build, without -race, whatever this test binary uses: the
	// children are the product as shipped.
	build := exec.Command("go", "build", "-o", binary, "github.com/edgeinfra/edgeinfra/cmd/edgeinfra")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building edgeinfra:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := 0
	func() {
		defer os.RemoveAll(dir)
		// goleak.VerifyTestMain would os.Exit before the removal.
		code = m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goroutine leak:", err)
				code = 1
			}
		}
	}()
	os.Exit(code)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// client talks to the processes; requests a kill cuts off fail fast.
var client = &http.Client{Timeout: 10 * time.Second}

// outcome classifies a request: acknowledged, certainly not received
// (connection refused: nothing listened), or cut off by a kill (it may or
// may not have taken effect).
type outcome int

const (
	acked outcome = iota
	refused
	cutOff
)

func send(ctx context.Context, method, url string, body []byte, want int, out any) (outcome, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return refused, nil
		}
		return cutOff, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return cutOff, nil // the answer was cut off: it may have been applied
	}
	if resp.StatusCode != want {
		return 0, fmt.Errorf("%s %s = %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, fmt.Errorf("%s %s: %v in %s", method, url, err, b)
		}
	}
	return acked, nil
}

// getJSON reads a JSON answer, failing the test on any error.
func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	if _, err := send(context.Background(), "GET", url, nil, 200, out); err != nil {
		t.Fatal(err)
	}
}

type nodeState struct {
	NodeID  string         `json:"node_id"`
	Version int64          `json:"version"`
	Data    map[string]any `json:"data"`
}

// attempt is one PUT /v1/state by a writer: it sets key to n and
// writer's "last" key to n.
type attempt struct {
	n       int
	key     string
	result  outcome
	version int64 // when acked
}

// nodeLoad is what the drivers did to one agent.
type nodeLoad struct {
	id  string
	url string // the agent's local API

	mu       sync.Mutex     // guards attempts
	attempts [][]attempt    // per writer, in order
	invAcked atomic.Int64   // invocations acknowledged
	invCut   atomic.Int64   // invocations in requests a kill cut off
	invReqs  atomic.Int64   // requests answered 202
	failures chan error     // driver errors (wrong status, bad JSON)
	inflight sync.WaitGroup // drivers
	stop     context.CancelFunc
}

const (
	writersPerNode = 2
	postersPerNode = 2
	keysPerWriter  = 16
)

func (nl *nodeLoad) writer(ctx context.Context, w int) {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	for n := 1; ctx.Err() == nil; n++ {
		key := fmt.Sprintf("w%d.k%d", w, rng.IntN(keysPerWriter))
		body, _ := json.Marshal(map[string]any{key: n, fmt.Sprintf("w%d.last", w): n})
		var st nodeState
		res, err := send(ctx, "PUT", nl.url+"/v1/state", body, 200, &st)
		if ctx.Err() != nil && res != acked {
			// Cancelled by the test, not by a kill, but the agent may have
			// applied it all the same.
			res, err = cutOff, nil
		}
		if err != nil {
			nl.failures <- err
			return
		}
		nl.mu.Lock()
		nl.attempts[w] = append(nl.attempts[w], attempt{n: n, key: key, result: res, version: st.Version})
		nl.mu.Unlock()
		if res == refused {
			time.Sleep(20 * time.Millisecond) // the agent is restarting
		}
	}
}

func (nl *nodeLoad) poster(ctx context.Context, p int) {
	rng := rand.New(rand.NewPCG(uint64(100+p), uint64(time.Now().UnixNano())))
	for ctx.Err() == nil {
		n := 1
		var body []byte
		one := func() map[string]any {
			ok := rng.IntN(10) > 0
			inv := map[string]any{"function_id": fmt.Sprint("fn", rng.IntN(3)), "duration_ms": rng.Float64() * 50, "success": ok}
			if !ok {
				inv["error"] = "timeout"
			}
			return inv
		}
		if rng.IntN(2) == 0 {
			body, _ = json.Marshal(one())
		} else {
			n = 1 + rng.IntN(20)
			batch := make([]map[string]any, n)
			for i := range batch {
				batch[i] = one()
			}
			body, _ = json.Marshal(batch)
		}
		var ans struct {
			Recorded int  `json:"recorded"`
			Durable  bool `json:"durable"`
		}
		res, err := send(ctx, "POST", nl.url+"/v1/invocations", body, 202, &ans)
		if ctx.Err() != nil && res != acked {
			// Cancelled by the test, not by a kill; the agent may still
			// have recorded it, like a cut-off request.
			nl.invCut.Add(int64(n))
			return
		}
		if err != nil {
			nl.failures <- err
			return
		}
		switch res {
		case acked:
			if ans.Recorded != n || !ans.Durable {
				nl.failures <- fmt.Errorf("%s: POST of %d invocations answered %+v", nl.id, n, ans)
				return
			}
			nl.invAcked.Add(int64(n))
			nl.invReqs.Add(1)
		case cutOff:
			nl.invCut.Add(int64(n))
		case refused:
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (nl *nodeLoad) start() {
	ctx, cancel := context.WithCancel(context.Background())
	nl.stop = cancel
	nl.attempts = make([][]attempt, writersPerNode)
	nl.failures = make(chan error, writersPerNode+postersPerNode)
	for w := range writersPerNode {
		nl.inflight.Go(func() { nl.writer(ctx, w) })
	}
	for p := range postersPerNode {
		nl.inflight.Go(func() { nl.poster(ctx, p) })
	}
}

func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	rounds := envInt("EDGEINFRA_CRASH_ROUNDS", 10)
	agents := envInt("EDGEINFRA_CRASH_AGENTS", 3)
	begin := time.Now()
	data := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(begin.UnixNano()), 7))

	hub := &proc{name: "hub", ready: "hub started"}
	procs := []*proc{hub}
	t.Cleanup(func() {
		for _, p := range procs {
			if t.Failed() {
				p.kill()
			} else {
				p.stop() // SIGTERM: the graceful path works after all those kills
			}
		}
		if t.Failed() {
			for _, p := range procs {
				t.Logf("log of %s (newest %d lines):\n%s", p.name, tailLines, p.logTail())
			}
		}
	})
	hubData := filepath.Join(data, "hub")
	// Frequent checkpoints, so that kills land between them: a restarted
	// hub loads one and replays the stream after it.
	cp := []string{"--checkpoint-interval", "300ms", "--checkpoint-every", "500"}
	f := hub.start(t, append([]string{"hub", "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data", hubData, "--heartbeat-timeout", "5s"}, cp...)...)
	hubHTTP, natsURL := f["http"], f["nats"]
	hubArgs := append([]string{"hub", "--http", hubHTTP, "--nats-listen", strings.TrimPrefix(natsURL, "nats://"), "--data", hubData, "--heartbeat-timeout", "5s"}, cp...)
	hubURL := "http://" + hubHTTP

	nodes := make([]*nodeLoad, agents)
	agentArgs := make([][]string, agents)
	agentProcs := make([]*proc, agents)
	for i := range agents {
		id := fmt.Sprintf("n%d", i+1)
		p := &proc{name: "agent " + id, ready: "agent started"}
		procs = append(procs, p)
		args := []string{"agent", "--hub", natsURL, "--id", id, "--data", filepath.Join(data, id), "--push", "100ms", "--heartbeat", "500ms",
			"--api-rate", "-1"} // the drivers would otherwise meet 429s, which are not what is tested
		f := p.start(t, append(args, "--http", "127.0.0.1:0")...)
		agentArgs[i] = append(args, "--http", f["http"]) // restarts keep the port
		agentProcs[i] = p
		nodes[i] = &nodeLoad{id: id, url: "http://" + f["http"]}
	}
	for _, nl := range nodes {
		nl.start()
	}

	hubKills, agentKills := 0, 0
	for round := range rounds {
		time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond)
		// A quarter of the rounds kill the hub, one in eight the hub and
		// an agent together, the rest an agent.
		killHub, killAgent := true, true
		switch r := rng.IntN(8); {
		case r < 2:
			killAgent = false
		case r < 3:
		default:
			killHub = false
		}
		i := rng.IntN(agents)
		if killHub {
			hub.kill()
			hubKills++
		}
		if killAgent {
			agentProcs[i].kill()
			agentKills++
		}
		time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
		if killHub {
			hub.start(t, hubArgs...)
		}
		if killAgent {
			agentProcs[i].start(t, agentArgs[i]...)
		}
		for _, nl := range nodes {
			select {
			case err := <-nl.failures:
				t.Fatalf("round %d: %v", round, err)
			default:
			}
		}
	}
	for _, nl := range nodes {
		nl.stop()
	}
	for _, nl := range nodes {
		nl.inflight.Wait()
		select {
		case err := <-nl.failures:
			t.Fatal(err)
		default:
		}
	}
	drivenFor := time.Since(begin)

	// Drained: every agent has no pending change, and the hub has its
	// state and at least every acknowledged invocation.
	waitDrained(t, hubURL, nodes, 60*time.Second)
	time.Sleep(2 * time.Second) // twenty pushes: anything left would arrive now
	first := check(t, hubURL, nodes)

	// Replaying the stream after one more kill gives the same answers.
	hub.kill()
	hubKills++
	hub.start(t, hubArgs...)
	waitDrained(t, hubURL, nodes, 30*time.Second)
	time.Sleep(time.Second)
	again := check(t, hubURL, nodes)
	if !reflect.DeepEqual(first, again) {
		t.Fatalf("invocation totals before the last hub restart %v, after replaying the stream %v", first, again)
	}

	var updates, updCut, invAcked, invCut, reqs int64
	for _, nl := range nodes {
		for _, as := range nl.attempts {
			for _, a := range as {
				switch a.result {
				case acked:
					updates++
				case cutOff:
					updCut++
				}
			}
		}
		invAcked += nl.invAcked.Load()
		invCut += nl.invCut.Load()
		reqs += nl.invReqs.Load()
	}
	var counted int64
	for _, n := range first {
		counted += n
	}
	t.Logf("%d rounds, %d agents: %d kills (%d hub, %d agent); %d state updates acknowledged (%d cut off by a kill); %d invocations acknowledged in %d requests (%d more cut off), the hub counted %d; driven for %v, %v in all",
		rounds, agents, hubKills+agentKills, hubKills, agentKills, updates, updCut, invAcked, reqs, invCut, counted, drivenFor.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
}

// waitDrained waits until no agent has a pending change and the hub has
// every agent's version and at least its acknowledged invocations. A hub
// that has just restarted may not know a node yet (404): that is not
// drained either.
func waitDrained(t *testing.T, hubURL string, nodes []*nodeLoad, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for _, nl := range nodes {
		for {
			var health struct {
				Sync struct {
					Pending int `json:"pending_count"`
				} `json:"sync"`
			}
			var local, remote nodeState
			var met struct {
				Total int64 `json:"total_invocations"`
			}
			getJSON(t, nl.url+"/healthz", &health)
			getJSON(t, nl.url+"/v1/state", &local)
			_, errState := send(context.Background(), "GET", hubURL+"/api/v1/nodes/"+nl.id+"/state", nil, 200, &remote)
			_, errMet := send(context.Background(), "GET", hubURL+"/api/v1/metrics?node="+nl.id, nil, 200, &met)
			if errState == nil && errMet == nil && health.Sync.Pending == 0 && local.Version == remote.Version && met.Total >= nl.invAcked.Load() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not drained after %v: %d pending, agent version %d, hub version %d (%v), hub invocations %d of %d acknowledged (%v)",
					nl.id, limit, health.Sync.Pending, local.Version, remote.Version, errState, met.Total, nl.invAcked.Load(), errMet)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// check asserts the end state of every node and returns the hub's
// invocation total per node.
func check(t *testing.T, hubURL string, nodes []*nodeLoad) map[string]int64 {
	t.Helper()
	totals := map[string]int64{}
	for _, nl := range nodes {
		var local, remote nodeState
		getJSON(t, nl.url+"/v1/state", &local)
		getJSON(t, hubURL+"/api/v1/nodes/"+nl.id+"/state", &remote)
		if local.Version != remote.Version || !reflect.DeepEqual(local.Data, remote.Data) {
			t.Errorf("%s: hub has version %d %v, agent has version %d %v", nl.id, remote.Version, remote.Data, local.Version, local.Data)
		}
		checkUpdates(t, nl, local)

		var met struct {
			Total int64 `json:"total_invocations"`
		}
		getJSON(t, hubURL+"/api/v1/metrics?node="+nl.id, &met)
		lo, hi := nl.invAcked.Load(), nl.invAcked.Load()+nl.invCut.Load()
		if met.Total < lo || met.Total > hi {
			t.Errorf("%s: hub counts %d invocations; %d were acknowledged and %d more cut off by kills, so it must be in [%d, %d]",
				nl.id, met.Total, lo, nl.invCut.Load(), lo, hi)
		}
		totals[nl.id] = met.Total
	}
	if t.Failed() {
		t.FailNow()
	}
	return totals
}

// checkUpdates asserts that every acknowledged update of nl is in its
// final state unless a later update overwrote it, and that versions were
// neither reused nor skipped.
func checkUpdates(t *testing.T, nl *nodeLoad, final nodeState) {
	t.Helper()
	nl.mu.Lock()
	defer nl.mu.Unlock()
	versions := map[int64]string{}
	ackedN, cutN := int64(0), int64(0)
	for w, as := range nl.attempts {
		// allowed[key] is the set of values the key may hold: the newest
		// acknowledged write's, and those of later cut-off writes; written
		// says an acknowledged write means the key must be there.
		allowed := map[string]map[float64]bool{}
		written := map[string]bool{}
		lastKey := fmt.Sprintf("w%d.last", w)
		var prev int64
		for _, a := range as {
			switch a.result {
			case refused:
				continue
			case cutOff:
				cutN++
				for _, k := range []string{a.key, lastKey} {
					if allowed[k] == nil {
						allowed[k] = map[float64]bool{}
					}
					allowed[k][float64(a.n)] = true
				}
				continue
			}
			ackedN++
			if other, dup := versions[a.version]; dup {
				t.Errorf("%s: version %d acknowledged twice (%s and writer %d update %d)", nl.id, a.version, other, w, a.n)
			}
			versions[a.version] = fmt.Sprintf("writer %d update %d", w, a.n)
			if a.version <= prev {
				t.Errorf("%s: writer %d update %d acknowledged version %d after %d", nl.id, w, a.n, a.version, prev)
			}
			prev = a.version
			allowed[a.key] = map[float64]bool{float64(a.n): true}
			allowed[lastKey] = map[float64]bool{float64(a.n): true}
			written[a.key], written[lastKey] = true, true
		}
		for k, vals := range allowed {
			got, ok := final.Data[k]
			if !ok && !written[k] {
				continue // only cut-off writes, none of which took effect
			}
			f, isNum := got.(float64)
			if !ok || !isNum || !vals[f] {
				t.Errorf("%s: %s = %v (present %v), want one of %v (the last acknowledged write, or a later one cut off by a kill)", nl.id, k, got, ok, vals)
			}
		}
	}
	if final.Version < ackedN || final.Version > ackedN+cutN {
		t.Errorf("%s: final version %d, but %d updates were acknowledged and %d cut off: versions were skipped or reused", nl.id, final.Version, ackedN, cutN)
	}
	for v := range versions {
		if v > final.Version {
			t.Errorf("%s: version %d was acknowledged but the state is at %d", nl.id, v, final.Version)
		}
	}
}
