package health

import "time"

// Options configures a [Monitor]. The zero value is valid.
type Options struct {
	// HeartbeatTimeout is the oldest a node's last heartbeat may be for the
	// node to count as healthy. Zero or a negative value means 60s.
	HeartbeatTimeout time.Duration
	// HistorySize is the number of checks kept per node. Zero or a negative
	// value means 100.
	HistorySize int
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

const (
	defaultHeartbeatTimeout = 60 * time.Second
	defaultHistorySize      = 100
	// clusterFlapWindow is how many recent checks CheckCluster looks at to
	// call a node flapping.
	clusterFlapWindow = 10
	// flapTransitions is how many changes of Healthy between consecutive
	// checks make a node flapping.
	flapTransitions = 3
)

func (o *Options) heartbeatTimeout() time.Duration {
	if o.HeartbeatTimeout <= 0 {
		return defaultHeartbeatTimeout
	}
	return o.HeartbeatTimeout
}

func (o *Options) historySize() int {
	if o.HistorySize <= 0 {
		return defaultHistorySize
	}
	return o.HistorySize
}

func (o *Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}
