package statesync

import "time"

// State is a node's versioned key-value state.
type State struct {
	NodeID    string         `json:"node_id"`
	Version   int64          `json:"version"`
	Data      map[string]any `json:"data"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// Change is one queued local change: the keys an UpdateLocal set and the
// local version it produced. A coalesced change carries the keys of several
// updates and the newest of their versions.
type Change struct {
	Version int64          `json:"version"` // the local version this change produced
	Data    map[string]any `json:"data"`    // the keys it set
	At      time.Time      `json:"at"`
}

// EventKind tells pushes from pulls in the sync history.
type EventKind string

// The kinds of sync events.
const (
	Push EventKind = "push" // local changes confirmed by the remote side (ConfirmSync)
	Pull EventKind = "pull" // a remote state offered to ApplyRemote
)

// Event records one push or pull.
type Event struct {
	Kind    EventKind `json:"kind"`
	Version int64     `json:"version"` // Push: the upToVersion passed to ConfirmSync; Pull: the version offered
	Applied bool      `json:"applied"` // Pull: whether the remote state was applied; Push: true
	Changes int       `json:"changes"` // Push: pending changes removed
	At      time.Time `json:"at"`
}

// Summary is a JSON-friendly status of a Synchronizer.
type Summary struct {
	NodeID        string    `json:"node_id"`
	Strategy      string    `json:"strategy"`
	LocalVersion  int64     `json:"local_version"`
	RemoteVersion int64     `json:"remote_version"`
	PendingCount  int       `json:"pending_count"`
	MaxPending    int       `json:"max_pending"`
	Coalesced     uint64    `json:"coalesced"` // local changes merged into older ones to honour MaxPending
	IsSynced      bool      `json:"is_synced"`
	Keys          int       `json:"keys"`
	Pushes        uint64    `json:"pushes"`
	Pulls         uint64    `json:"pulls"`
	PullsApplied  uint64    `json:"pulls_applied"`
	UpdatedAt     time.Time `json:"updated_at"`
}
