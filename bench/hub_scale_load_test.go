package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// scaleRegions spreads the simulated nodes over a few regions, as a fleet
// would be.
var scaleRegions = []string{"eu-west", "eu-central", "us-east", "us-west", "ap-south"}

// heartbeat encodes one heartbeat the way an agent does (wire.Encode of a
// wire.Heartbeat), so the hub decodes exactly what real agents send.
func heartbeat(id string, i int, epoch, seq uint64) []byte {
	b, err := wire.Encode(wire.Heartbeat{
		V: wire.Version, NodeID: id, Region: scaleRegions[i%len(scaleRegions)],
		Address: "10.0.0.1:8090", Status: "online", Epoch: epoch, Seq: seq, SentAt: time.Now(),
		Sync: wire.SyncInfo{LocalVersion: 3, RemoteVersion: 3},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// loadFleet simulates agents cheaply: each of its NATS connections
// heartbeats for perConn node IDs, one node every interval/perConn, so every
// node heartbeats once per interval and the connection's publishes are
// spread evenly over the interval. Real agents have one connection each;
// here 100 nodes share one, which is what lets 10,000 of them run in one
// process, and means the hub's NATS server has 100× fewer client
// connections to serve than with real agents.
type loadFleet struct {
	conns  []*nats.Conn
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sent   atomic.Uint64
	errs   atomic.Uint64
}

func startLoadFleet(natsURL string, ids []string, perConn int, interval time.Duration) (*loadFleet, error) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &loadFleet{cancel: cancel}
	epoch := uint64(time.Now().UnixNano())
	groups := (len(ids) + perConn - 1) / perConn
	for g := range groups {
		nc, err := nats.Connect(natsURL, nats.Name(fmt.Sprintf("hubscale-%d", g)))
		if err != nil {
			f.stop()
			return nil, err
		}
		f.conns = append(f.conns, nc)
		mine := ids[g*perConn : min((g+1)*perConn, len(ids))]
		tick := interval / time.Duration(len(mine))
		offset := time.Duration(g) * tick / time.Duration(groups)
		f.wg.Go(func() {
			seqs := make([]uint64, len(mine))
			select {
			case <-ctx.Done():
				return
			case <-time.After(offset):
			}
			t := time.NewTicker(tick)
			defer t.Stop()
			for i := 0; ; i = (i + 1) % len(mine) {
				seqs[i]++
				if err := nc.Publish(wire.HeartbeatSubject(mine[i]), heartbeat(mine[i], g*perConn+i, epoch, seqs[i])); err != nil {
					f.errs.Add(1)
				} else {
					f.sent.Add(1)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	return f, nil
}

func (f *loadFleet) stop() {
	f.cancel()
	f.wg.Wait()
	for _, nc := range f.conns {
		nc.Close()
	}
}

// prober measures the time from a heartbeat being sent to it being visible
// in the API. Its nodes belong to the fleet but only the prober heartbeats
// for them, so a changed last_heartbeat is the probe's own heartbeat.
type prober struct {
	nc      *nats.Conn
	client  *http.Client
	httpURL string
	ids     []string
	epoch   uint64
	seq     []uint64
	last    []string // last_heartbeat the hub showed, per probe node
	next    int
	sent    int // heartbeats published
}

func newProber(natsURL, httpURL string, ids []string, client *http.Client) (*prober, error) {
	nc, err := nats.Connect(natsURL, nats.Name("hubscale-prober"))
	if err != nil {
		return nil, err
	}
	p := &prober{nc: nc, client: client, httpURL: httpURL, ids: ids, epoch: uint64(time.Now().UnixNano()),
		seq: make([]uint64, len(ids)), last: make([]string, len(ids))}
	return p, nil
}

// send publishes the next probe node's heartbeat and returns its index and
// when it was sent.
func (p *prober) send() (int, time.Time, error) {
	i := p.next
	p.next = (p.next + 1) % len(p.ids)
	p.seq[i]++
	t0 := time.Now()
	err := p.nc.Publish(wire.HeartbeatSubject(p.ids[i]), heartbeat(p.ids[i], i, p.epoch, p.seq[i]))
	if err == nil {
		p.sent++
	}
	return i, t0, err
}

// probeNode sends a heartbeat and polls GET /api/v1/nodes/{id} until it
// shows the new last_heartbeat. It returns the time from send to the answer
// that showed it, and the hub's receive time minus the send time (both
// processes read the same wall clock).
func (p *prober) probeNode(timeout time.Duration) (visible, received time.Duration, err error) {
	i, t0, err := p.send()
	if err != nil {
		return 0, 0, err
	}
	var v struct {
		LastHeartbeat time.Time `json:"last_heartbeat"`
	}
	for {
		body, err := p.get("/api/v1/nodes/" + p.ids[i])
		if err != nil {
			return 0, 0, err
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return 0, 0, err
		}
		if s := v.LastHeartbeat.Format(time.RFC3339Nano); s != p.last[i] && !v.LastHeartbeat.Before(t0) {
			p.last[i] = s
			return time.Since(t0), v.LastHeartbeat.Sub(t0), nil
		}
		if time.Since(t0) > timeout {
			return 0, 0, fmt.Errorf("bench: heartbeat of %s not visible after %v", p.ids[i], timeout)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// probeList sends a heartbeat and fetches the whole GET /api/v1/nodes
// listing until one shows it. It returns the time from send to the end of
// the listing that showed it, and the longest single listing.
func (p *prober) probeList(timeout time.Duration) (visible, longest time.Duration, size int, err error) {
	i, t0, err := p.send()
	if err != nil {
		return 0, 0, 0, err
	}
	needle := []byte(`"id":"` + p.ids[i] + `"`)
	for {
		start := time.Now()
		body, err := p.get("/api/v1/nodes")
		if err != nil {
			return 0, 0, 0, err
		}
		longest = max(longest, time.Since(start))
		size = len(body)
		j := bytes.Index(body, needle)
		if j < 0 {
			return 0, 0, 0, fmt.Errorf("bench: %s missing from the listing", p.ids[i])
		}
		hb := fieldAfter(body[j:], `"last_heartbeat":"`)
		if t, err := time.Parse(time.RFC3339Nano, hb); err == nil && hb != p.last[i] && !t.Before(t0) {
			p.last[i] = hb
			return time.Since(t0), longest, size, nil
		}
		if time.Since(t0) > timeout {
			return 0, 0, 0, fmt.Errorf("bench: heartbeat of %s not in the listing after %v", p.ids[i], timeout)
		}
	}
}

// fieldAfter returns the JSON string that follows key in b.
func fieldAfter(b []byte, key string) string {
	j := bytes.Index(b, []byte(key))
	if j < 0 {
		return ""
	}
	rest := b[j+len(key):]
	k := bytes.IndexByte(rest, '"')
	if k < 0 {
		return ""
	}
	return string(rest[:k])
}

func (p *prober) get(path string) ([]byte, error) {
	resp, err := p.client.Get(p.httpURL + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("bench: GET %s: %s: %s", path, resp.Status, body)
	}
	return body, err
}

func (p *prober) close() { p.nc.Close() }

// quantile returns the q-quantile (nearest rank) of ds, sorting ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds))*q+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func msOf(d time.Duration) float64 { return float64(d) / 1e6 }
