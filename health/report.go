package health

import "time"

// ClusterReport is the result of [Monitor.CheckCluster].
type ClusterReport struct {
	Total          int                      `json:"total"`
	Healthy        int                      `json:"healthy"`
	Unhealthy      int                      `json:"unhealthy"`
	HealthyPercent float64                  `json:"healthy_percent"` // 0..100; 0 for an empty cluster
	UnhealthyNodes []string                 `json:"unhealthy_nodes"` // node IDs, sorted
	FlappingNodes  []string                 `json:"flapping_nodes"`  // IDs of the nodes passed in that are flapping over their last 10 checks, sorted
	CheckedAt      time.Time                `json:"checked_at"`
	Regions        map[string]*RegionCounts `json:"regions"` // counts per node Region ("" for nodes without one)
}

// RegionCounts counts the nodes of one region in a [ClusterReport].
type RegionCounts struct {
	Total     int `json:"total"`
	Healthy   int `json:"healthy"`
	Unhealthy int `json:"unhealthy"`
}

// Summary is a JSON-friendly status of a [Monitor].
type Summary struct {
	NodesTracked            int       `json:"nodes_tracked"` // nodes with a history
	Healthy                 int       `json:"healthy"`       // nodes whose newest check was healthy
	Unhealthy               int       `json:"unhealthy"`
	ChecksTotal             uint64    `json:"checks_total"`
	HeartbeatTimeoutSeconds float64   `json:"heartbeat_timeout_seconds"`
	HistorySize             int       `json:"history_size"`
	LastClusterCheck        time.Time `json:"last_cluster_check"` // zero before the first CheckCluster
}
