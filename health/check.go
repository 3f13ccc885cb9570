package health

import (
	"math/bits"
	"time"

	"github.com/edgeinfra/edgeinfra/node"
)

// Check is the result of one health check of one node.
type Check struct {
	NodeID       string        `json:"node_id"`
	Healthy      bool          `json:"healthy"`
	Status       node.Status   `json:"status"`
	HeartbeatAge time.Duration `json:"heartbeat_age_ns"` // now - LastHeartbeat; 0 if the heartbeat is in the future (clock skew)
	Latency      time.Duration `json:"latency_ns"`       // round trip of the probe where one is made, else how long the check took
	CheckedAt    time.Time     `json:"checked_at"`
	Reason       string        `json:"reason,omitempty"` // empty when healthy, else why not
}

// The reasons a check gives for an unhealthy node. A status other than
// Online or Degraded gives "status " followed by the status ("status
// offline", "status maintenance"; "status unknown" for an invalid one).
const (
	ReasonNoHeartbeat      = "no heartbeat"
	ReasonHeartbeatTimeout = "heartbeat timeout"
)

// evaluate decides a node's health at now. The status is looked at first,
// so a node that is offline says so even when its heartbeat is also late.
func evaluate(n node.Node, now time.Time, timeout time.Duration) Check {
	c := Check{NodeID: n.ID, Status: n.Status, CheckedAt: now, Healthy: true}
	if !n.LastHeartbeat.IsZero() {
		if age := now.Sub(n.LastHeartbeat); age > 0 {
			c.HeartbeatAge = age
		}
	}
	switch {
	case !n.Status.Serving():
		c.Healthy = false
		if n.Status.Valid() {
			c.Reason = "status " + string(n.Status)
		} else {
			c.Reason = "status unknown"
		}
	case n.LastHeartbeat.IsZero():
		c.Healthy, c.Reason = false, ReasonNoHeartbeat
	case c.HeartbeatAge > timeout:
		c.Healthy, c.Reason = false, ReasonHeartbeatTimeout
	}
	return c
}

// ring is a bounded buffer of the newest checks of one node. It grows as
// checks arrive, up to size, so a fleet of nodes that were checked a few
// times does not pay for full histories.
type ring struct {
	buf   []Check
	size  int // capacity: Options.HistorySize
	start int // index of the oldest check once buf is full; 0 while it grows
	n     int // len(buf)
	// recent holds Healthy of the newest 64 checks, the newest in bit 0, so
	// the cluster report's flap rule costs a popcount, not a walk.
	recent uint64
}

func (r *ring) push(c Check) {
	r.recent <<= 1
	if c.Healthy {
		r.recent |= 1
	}
	if len(r.buf) < r.size {
		if len(r.buf) == cap(r.buf) {
			grown := make([]Check, len(r.buf), min(max(2*cap(r.buf), 4), r.size))
			copy(grown, r.buf)
			r.buf = grown
		}
		r.buf = append(r.buf, c)
		r.n++
		return
	}
	r.buf[r.start] = c
	r.start = (r.start + 1) % len(r.buf)
}

// newest returns up to limit of the newest checks, oldest first; limit <= 0
// means all.
func (r *ring) newest(limit int) []Check {
	if limit <= 0 || limit > r.n {
		limit = r.n
	}
	out := make([]Check, limit)
	for i := range limit {
		out[i] = r.buf[(r.start+r.n-limit+i)%len(r.buf)]
	}
	return out
}

// last returns the newest check.
func (r *ring) last() (Check, bool) {
	if r.n == 0 {
		return Check{}, false
	}
	return r.buf[(r.start+r.n-1)%len(r.buf)], true
}

// transitions counts changes of Healthy between consecutive checks among the
// newest window checks (window <= 0: all kept).
func (r *ring) transitions(window int) int {
	if window <= 0 || window > r.n {
		window = r.n
	}
	if window < 2 {
		return 0
	}
	if window <= 64 {
		// Bit i of x is set when the i-th and (i+1)-th newest checks differ.
		x := (r.recent ^ r.recent>>1) & (1<<(window-1) - 1)
		return bits.OnesCount64(x)
	}
	count := 0
	first := r.start + r.n - window
	for i := 1; i < window; i++ {
		if r.buf[(first+i)%len(r.buf)].Healthy != r.buf[(first+i-1)%len(r.buf)].Healthy {
			count++
		}
	}
	return count
}
