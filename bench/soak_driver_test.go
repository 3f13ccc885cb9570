package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// soakKeys is how many state keys each node's updates cycle through: an
// update sets key k<n mod soakKeys> to n, n counting up per node, so the
// latest acknowledged value of each key is known exactly.
const soakKeys = 4

// outcome is what a request to an agent's local API established.
type outcome int

const (
	acked     outcome = iota // 200/202: the agent took it
	notTaken                 // refused before the agent could take it: connection refused, 429, 503
	uncertain                // sent, but no answer: the agent may or may not have taken it
	rejected                 // any other answer: the request or the agent is wrong
)

// classify maps a response (or transport error) of the local API to an
// outcome. 429 is the agent's rate limit: not acknowledged, retry later.
func classify(status int, err error, ok int) outcome {
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return notTaken
		}
		return uncertain
	}
	switch status {
	case ok:
		return acked
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return notTaken
	case http.StatusInternalServerError:
		// "changed in memory but not saved": it may still reach the hub.
		return uncertain
	}
	return rejected
}

// nodeLedger records what one node's agent acknowledged. Only the worker
// that owns the node touches it while the load runs.
type nodeLedger struct {
	next      int64              // the value of the next update
	acked     map[string]int64   // key -> latest acknowledged value
	uncertain map[string][]int64 // key -> values sent after it without an answer
	invAcked  int64              // invocations acknowledged (202)
	invUnsure int64              // invocations sent without an answer
}

func newLedger() *nodeLedger {
	return &nodeLedger{next: 1, acked: map[string]int64{}, uncertain: map[string][]int64{}}
}

func (l *nodeLedger) update(key string, v int64, o outcome) {
	switch o {
	case acked:
		l.acked[key] = v
		delete(l.uncertain, key) // older values can no longer be the latest
	case uncertain:
		l.uncertain[key] = append(l.uncertain[key], v)
	}
}

// check compares the hub's view of the node with the ledger: every key
// must hold its latest acknowledged value (or a later value whose request
// got no answer), no other key may appear, and the hub's invocation total
// must be the acknowledged count (plus at most the unanswered ones).
func (l *nodeLedger) check(data map[string]any, hubInvocations int64) error {
	for k, want := range l.acked {
		got, ok := data[k]
		if !ok {
			return fmt.Errorf("key %s: acknowledged value %d missing at the hub", k, want)
		}
		v, isNum := got.(float64)
		if !isNum || (int64(v) != want && !slices.Contains(l.uncertain[k], int64(v))) {
			return fmt.Errorf("key %s: hub has %v, latest acknowledged value is %d", k, got, want)
		}
	}
	for k, got := range data {
		if _, ok := l.acked[k]; ok {
			continue
		}
		v, isNum := got.(float64)
		if !isNum || !slices.Contains(l.uncertain[k], int64(v)) {
			return fmt.Errorf("key %s: hub has %v, which was never sent", k, got)
		}
	}
	if hubInvocations < l.invAcked || hubInvocations > l.invAcked+l.invUnsure {
		return fmt.Errorf("hub counts %d invocations, %d were acknowledged (%d more sent without an answer)", hubInvocations, l.invAcked, l.invUnsure)
	}
	return nil
}

// soakCounters are the driver's totals, read by the sampler.
type soakCounters struct {
	updates, invocations         atomic.Int64 // acknowledged
	notTaken, uncertain, skipped atomic.Int64 // skipped: the node was crashed
	rejected                     atomic.Int64
	firstReject                  atomic.Value // string
}

// soakDriver sends state updates and invocations to the agents' local
// HTTP APIs: workers own a fixed set of nodes each, so a node's requests
// are sequential and its ledger needs no lock.
type soakDriver struct {
	fleet   *soakFleet
	client  *http.Client
	ledgers []*nodeLedger
	limit   *rate.Limiter
	share   float64 // of operations that are state updates
	c       soakCounters
}

func newSoakDriver(f *soakFleet, opsPerSec, updateShare float64) *soakDriver {
	d := &soakDriver{
		fleet: f,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			MaxIdleConns: len(f.ids) + 64, MaxIdleConnsPerHost: 1, IdleConnTimeout: 30 * time.Second,
		}},
		limit: rate.NewLimiter(rate.Limit(opsPerSec), 64),
		share: updateShare,
	}
	for range f.ids {
		d.ledgers = append(d.ledgers, newLedger())
	}
	return d
}

// run drives the load with `workers` workers until ctx ends.
func (d *soakDriver) run(ctx context.Context, workers int, seed uint64) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for {
				for i := w; i < len(d.ledgers); i += workers {
					if d.limit.Wait(ctx) != nil {
						return
					}
					d.op(ctx, i, rng)
				}
			}
		})
	}
	wg.Wait()
}

func (d *soakDriver) op(ctx context.Context, i int, rng *rand.Rand) {
	a, slow := d.fleet.agent(i)
	if a == nil {
		d.c.skipped.Add(1)
		return
	}
	base := "http://" + a.HTTPAddr()
	l := d.ledgers[i]
	if rng.Float64() < d.share {
		v := l.next
		l.next++
		key := "k" + strconv.Itoa(int(v%soakKeys))
		status, err := d.do(ctx, http.MethodPut, base+"/v1/state", fmt.Sprintf(`{%q:%d}`, key, v))
		if ctx.Err() != nil && err != nil {
			err = fmt.Errorf("cancelled: %w", err) // stays uncertain: it may have been taken
		}
		o := classify(status, err, http.StatusOK)
		l.update(key, v, o)
		d.count(o, &d.c.updates, status, err)
		return
	}
	ms := 1 + rng.ExpFloat64()*20
	if slow {
		ms *= 10
	}
	status, err := d.do(ctx, http.MethodPost, base+"/v1/invocations",
		fmt.Sprintf(`{"function_id":"fn-%d","duration_ms":%.3f,"success":%t,"error":""}`, rng.IntN(3), ms, rng.Float64() > 0.02))
	o := classify(status, err, http.StatusAccepted)
	switch o {
	case acked:
		l.invAcked++
	case uncertain:
		l.invUnsure++
	}
	d.count(o, &d.c.invocations, status, err)
}

func (d *soakDriver) count(o outcome, ackedCounter *atomic.Int64, status int, err error) {
	switch o {
	case acked:
		ackedCounter.Add(1)
	case notTaken:
		d.c.notTaken.Add(1)
	case uncertain:
		d.c.uncertain.Add(1)
	case rejected:
		d.c.rejected.Add(1)
		d.c.firstReject.CompareAndSwap(nil, fmt.Sprintf("status %d, err %v", status, err))
	}
}

func (d *soakDriver) do(ctx context.Context, method, url, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// hubView reads node id's state data and invocation total from the hub's
// HTTP API.
func (d *soakDriver) hubView(ctx context.Context, id string) (map[string]any, int64, error) {
	base := d.fleet.hub.URL()
	var st struct {
		Data map[string]any `json:"data"`
	}
	if err := d.getJSON(ctx, base+"/api/v1/nodes/"+id+"/state", &st); err != nil {
		return nil, 0, err
	}
	var m struct {
		Total int64 `json:"total_invocations"`
	}
	if err := d.getJSON(ctx, base+"/api/v1/metrics?node="+id, &m); err != nil {
		return nil, 0, err
	}
	return st.Data, m.Total, nil
}

func (d *soakDriver) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// verify waits until the hub agrees with every node's ledger, re-checking
// the nodes that do not yet, and returns how long that took and the nodes
// that still disagree at the deadline (at most 10 messages, and their
// count).
func (d *soakDriver) verify(ctx context.Context, deadline time.Duration) (time.Duration, []string, int) {
	start := time.Now()
	pending := make([]int, len(d.ledgers))
	for i := range pending {
		pending[i] = i
	}
	var last []string
	for {
		var still []int
		last = last[:0]
		for _, i := range pending {
			data, total, err := d.hubView(ctx, d.fleet.ids[i])
			if err == nil {
				err = d.ledgers[i].check(data, total)
			}
			if err != nil {
				still = append(still, i)
				if len(last) < 10 {
					last = append(last, d.fleet.ids[i]+": "+err.Error())
				}
			}
		}
		pending = still
		if len(pending) == 0 || time.Since(start) > deadline || ctx.Err() != nil {
			return time.Since(start), last, len(pending)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// desired sets a desired key on every node through the hub's API and waits
// until every agent has applied it (agents use RemoteWins), which needs
// every agent's watch of the desired-state bucket to work. It returns how
// long that took, up to 10 messages about nodes that never got it, and
// their count.
func (d *soakDriver) desired(ctx context.Context, deadline time.Duration) (time.Duration, []string, int) {
	start := time.Now()
	want := strconv.FormatInt(start.UnixNano(), 36)
	var msgs []string
	put := func(id string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, d.fleet.hub.URL()+"/api/v1/nodes/"+id+"/state",
			bytes.NewReader([]byte(`{"soak_desired":"`+want+`"}`)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := d.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("PUT desired state: %s: %s", resp.Status, b)
		}
		return nil
	}
	var pending []int
	for i, id := range d.fleet.ids {
		if err := put(id); err != nil {
			if len(msgs) < 10 {
				msgs = append(msgs, id+": "+err.Error())
			}
			continue
		}
		pending = append(pending, i)
	}
	failed := len(d.fleet.ids) - len(pending)
	for {
		var still []int
		for _, i := range pending {
			a, _ := d.fleet.agent(i)
			var st struct {
				Data map[string]any `json:"data"`
			}
			if a == nil || d.getJSON(ctx, "http://"+a.HTTPAddr()+"/v1/state", &st) != nil || st.Data["soak_desired"] != want {
				still = append(still, i)
			}
		}
		pending = still
		if len(pending) == 0 || time.Since(start) > deadline || ctx.Err() != nil {
			for _, i := range pending {
				if len(msgs) < 10 {
					msgs = append(msgs, d.fleet.ids[i]+": desired state not applied")
				}
			}
			return time.Since(start), msgs, failed + len(pending)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
