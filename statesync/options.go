package statesync

import "time"

// ConflictStrategy decides whether [Synchronizer.ApplyRemote] applies a
// fresh remote state.
type ConflictStrategy int

// The conflict strategies. RemoteWins is the zero value.
const (
	RemoteWins ConflictStrategy = iota // apply every fresh remote state
	LocalWins                          // apply a fresh remote state only while no local change is pending
	LatestWins                         // apply a fresh remote state only if it was updated after the local state
)

// String returns the strategy's name, as used in Summary and logs.
func (s ConflictStrategy) String() string {
	switch s {
	case RemoteWins:
		return "remote_wins"
	case LocalWins:
		return "local_wins"
	case LatestWins:
		return "latest_wins"
	}
	return "unknown"
}

// ParseStrategy returns the strategy named by s ("remote_wins",
// "local_wins" or "latest_wins"; dashes work as well as underscores).
func ParseStrategy(s string) (ConflictStrategy, error) {
	switch s {
	case "remote_wins", "remote-wins", "":
		return RemoteWins, nil
	case "local_wins", "local-wins":
		return LocalWins, nil
	case "latest_wins", "latest-wins":
		return LatestWins, nil
	}
	return 0, &StrategyError{Name: s}
}

// StrategyError reports an unknown conflict strategy name.
type StrategyError struct{ Name string }

func (e *StrategyError) Error() string {
	return "statesync: unknown conflict strategy " + quote(e.Name) + ` (want "remote_wins", "local_wins" or "latest_wins")`
}

func quote(s string) string { return `"` + s + `"` }

// Options configures a [Synchronizer]. The zero value is valid.
type Options struct {
	// NodeID names the node whose state is synchronised. It is copied into
	// every State; empty is allowed (a single-node program may not need one).
	NodeID string
	// Strategy decides which fresh remote states are applied. Zero means
	// RemoteWins.
	Strategy ConflictStrategy
	// MaxPending bounds the queue of unconfirmed local changes. Zero or a
	// negative value means 100. Past the bound the oldest changes are
	// coalesced, never dropped.
	MaxPending int
	// HistorySize bounds the sync events kept for History. Zero or a
	// negative value means 1000.
	HistorySize int
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

const (
	defaultMaxPending  = 100
	defaultHistorySize = 1000
)

func (o *Options) maxPending() int {
	if o.MaxPending <= 0 {
		return defaultMaxPending
	}
	return o.MaxPending
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
