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

// reason is why a check failed, as a code: a history keeps the code and
// rebuilds the text when it is read.
type reason uint8

const (
	reasonNone reason = iota // healthy
	reasonStatus
	reasonNoHeartbeat
	reasonTimeout
)

// text returns the Reason of a check with status s.
func (r reason) text(s node.Status) string {
	switch r {
	case reasonStatus:
		return statusReason(s)
	case reasonNoHeartbeat:
		return ReasonNoHeartbeat
	case reasonTimeout:
		return ReasonHeartbeatTimeout
	}
	return ""
}

// statusReason is the reason of a node that is not serving. The known
// statuses get constant strings, so an offline fleet costs no allocation.
func statusReason(s node.Status) string {
	switch s {
	case node.Offline:
		return "status offline"
	case node.Maintenance:
		return "status maintenance"
	}
	if s.Valid() {
		return "status " + string(s)
	}
	return "status unknown"
}

// entry is one check in a node's history. It leaves out the node ID (the
// history's owner knows it) and keeps the reason as a code: 64 bytes, one
// cache line, where a Check takes 96.
type entry struct {
	at      time.Time // CheckedAt
	age     time.Duration
	latency time.Duration
	status  node.Status
	reason  reason
}

// judge decides a node's health at now. The status is looked at first, so
// a node that is offline says so even when its heartbeat is also late.
func judge(n *node.Node, now time.Time, timeout time.Duration) entry {
	e := entry{at: now, status: n.Status}
	if !n.LastHeartbeat.IsZero() {
		if age := now.Sub(n.LastHeartbeat); age > 0 {
			e.age = age
		}
	}
	switch {
	case !n.Status.Serving():
		e.reason = reasonStatus
	case n.LastHeartbeat.IsZero():
		e.reason = reasonNoHeartbeat
	case e.age > timeout:
		e.reason = reasonTimeout
	}
	return e
}

// check expands e into the Check of node id.
func (e *entry) check(id string) Check {
	return Check{
		NodeID: id, Healthy: e.reason == reasonNone, Status: e.status, HeartbeatAge: e.age,
		Latency: e.latency, CheckedAt: e.at, Reason: e.reason.text(e.status),
	}
}

// ring is a bounded buffer of the newest checks of one node. It grows as
// checks arrive, up to the history size, so a fleet of nodes that were
// checked a few times does not pay for full histories; once full, a check
// costs no allocation.
type ring struct {
	buf   []entry
	start int // index of the oldest check once buf is full; 0 while it grows
	// recent holds Healthy of the newest 64 checks, the newest in bit 0, so
	// the cluster report's flap rule costs a popcount, not a walk.
	recent uint64
}

// push appends e, dropping the oldest check once size are kept.
func (r *ring) push(e *entry, size int) {
	r.recent <<= 1
	if e.reason == reasonNone {
		r.recent |= 1
	}
	if len(r.buf) < size {
		if len(r.buf) == cap(r.buf) {
			grown := make([]entry, len(r.buf), min(max(2*cap(r.buf), 4), size))
			copy(grown, r.buf)
			r.buf = grown
		}
		r.buf = append(r.buf, *e)
		return
	}
	r.buf[r.start] = *e
	if r.start++; r.start == len(r.buf) {
		r.start = 0
	}
}

// lastHealthy reports whether the newest check was healthy (false when
// there is none).
func (r *ring) lastHealthy() bool { return len(r.buf) > 0 && r.recent&1 == 1 }

// newest returns up to limit of the newest checks of node id, oldest
// first; limit <= 0 means all.
func (r *ring) newest(id string, limit int) []Check {
	n := len(r.buf)
	if limit <= 0 || limit > n {
		limit = n
	}
	out := make([]Check, limit)
	for i := range limit {
		out[i] = r.buf[(r.start+n-limit+i)%n].check(id)
	}
	return out
}

// transitions counts changes of Healthy between consecutive checks among the
// newest window checks (window <= 0: all kept).
func (r *ring) transitions(window int) int {
	n := len(r.buf)
	if window <= 0 || window > n {
		window = n
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
	first := r.start + n - window
	for i := 1; i < window; i++ {
		if (r.buf[(first+i)%n].reason == reasonNone) != (r.buf[(first+i-1)%n].reason == reasonNone) {
			count++
		}
	}
	return count
}
