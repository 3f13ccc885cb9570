package node

import (
	"maps"
	"time"
)

// Status is the operational state an edge node reports about itself.
type Status string

// The statuses a node can report. The zero Status ("") is not valid.
const (
	Online      Status = "online"
	Degraded    Status = "degraded"
	Offline     Status = "offline"
	Maintenance Status = "maintenance"
)

// Statuses lists every valid Status in a stable order, for reports and
// metrics that enumerate them.
var Statuses = [...]Status{Online, Degraded, Offline, Maintenance}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool {
	switch s {
	case Online, Degraded, Offline, Maintenance:
		return true
	}
	return false
}

// Serving reports whether a node in status s is meant to take traffic:
// Online and Degraded nodes serve, Offline and Maintenance nodes do not.
func (s Status) Serving() bool { return s == Online || s == Degraded }

// String returns the status as a string.
func (s Status) String() string { return string(s) }

// Node is an edge node as the rest of edgeinfra sees it.
type Node struct {
	ID            string            `json:"id"`
	Region        string            `json:"region,omitempty"`
	Address       string            `json:"address,omitempty"` // host:port of the node's agent, if any
	Status        Status            `json:"status"`
	LastHeartbeat time.Time         `json:"last_heartbeat"` // when the last heartbeat was received; zero = never
	Labels        map[string]string `json:"labels,omitempty"`
}

// Clone returns a copy of n whose Labels map is not shared with n.
func (n Node) Clone() Node {
	n.Labels = maps.Clone(n.Labels)
	return n
}
