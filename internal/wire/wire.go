package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Names of the NATS resources.
const (
	StreamName    = "EDGEINFRA"
	DesiredBucket = "edgeinfra-desired"
	// CheckpointBucket is the key-value bucket where each hub keeps its
	// checkpoint of the state it derived from the stream.
	CheckpointBucket = "edgeinfra-checkpoints"
	prefix           = "edgeinfra."
	hbPrefix         = prefix + "hb."
	statePrefix      = prefix + "state."
	metricsPrefix    = prefix + "metrics."
	HeartbeatAll     = hbPrefix + "*"
	StateAll         = statePrefix + "*"
	MetricsAll       = metricsPrefix + "*"
	MaxMessageSize   = 1 << 20 // bytes, for every message
	MaxNodeIDLen     = 64
	MaxKeyLen        = 256 // bytes of a state key
	MaxKeys          = 10_000
	MaxFunctionLen   = 128 // bytes of a function ID
	MaxRegionLen     = 64  // bytes of a region
	Version          = 1   // of the JSON messages
)

// HeartbeatSubject is where nodeID publishes heartbeats.
func HeartbeatSubject(nodeID string) string { return hbPrefix + nodeID }

// StateSubject is where nodeID publishes state changes.
func StateSubject(nodeID string) string { return statePrefix + nodeID }

// MetricsSubject is where nodeID publishes metric deltas.
func MetricsSubject(nodeID string) string { return metricsPrefix + nodeID }

// NodeFromSubject returns the node ID that ends subject, checking it.
func NodeFromSubject(subject string) (string, error) {
	i := strings.LastIndexByte(subject, '.')
	id := subject[i+1:]
	if err := ValidNodeID(id); err != nil {
		return "", err
	}
	return id, nil
}

// StateMsgID is the de-duplication ID of a state change: lineage tells
// apart agent state histories (a new one starts when an agent loses its
// data), version counts changes within one, and attempt changes with each
// agent run and after each failed push. A change published again in the
// same attempt (a lost acknowledgement) is dropped by the stream as a
// duplicate; one published in a new attempt is stored again, which is what
// a change the hub had to skip needs (see [StateChange.Base]), and harmless
// otherwise since the hub never applies a version twice.
func StateMsgID(nodeID string, lineage uint64, version int64, attempt uint64) string {
	return fmt.Sprintf("%s.s.%d.%d.%d", nodeID, lineage, version, attempt)
}

// MetricsMsgID is the de-duplication ID of a metrics delta: lineage tells
// apart agent histories (it changes only when an agent loses its data),
// seq counts deltas within one and only grows, so the hub can skip a delta
// at or below the newest (lineage, seq) it applied for the node.
func MetricsMsgID(nodeID string, lineage, seq uint64) string {
	return fmt.Sprintf("%s.m.%d.%d", nodeID, lineage, seq)
}

// ParseMetricsMsgID splits a [MetricsMsgID] into its node, lineage and
// sequence number.
func ParseMetricsMsgID(id string) (nodeID string, lineage, seq uint64, err error) {
	parts := strings.Split(id, ".")
	if len(parts) != 4 || parts[1] != "m" {
		return "", 0, 0, fmt.Errorf("%w: metrics message ID %q is not <node>.m.<lineage>.<seq>", ErrInvalid, id)
	}
	if err := ValidNodeID(parts[0]); err != nil {
		return "", 0, 0, fmt.Errorf("metrics message ID %q: %w", id, err)
	}
	lineage, err1 := strconv.ParseUint(parts[2], 10, 64)
	seq, err2 := strconv.ParseUint(parts[3], 10, 64)
	if err1 != nil || err2 != nil || seq == 0 {
		return "", 0, 0, fmt.Errorf("%w: metrics message ID %q: lineage and seq must be decimal numbers, seq from 1", ErrInvalid, id)
	}
	return parts[0], lineage, seq, nil
}

// ErrInvalid is wrapped by every validation and decoding error.
var ErrInvalid = errors.New("wire: invalid message")

// ValidNodeID checks that id can be a node ID: 1 to 64 letters, digits, '-'
// or '_'.
func ValidNodeID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty node ID", ErrInvalid)
	}
	if len(id) > MaxNodeIDLen {
		return fmt.Errorf("%w: node ID of %d bytes is longer than %d", ErrInvalid, len(id), MaxNodeIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: node ID %q has %q; use letters, digits, '-' and '_'", ErrInvalid, id, c)
		}
	}
	return nil
}

// ValidFunctionID checks that id can be a function ID: 1 to
// MaxFunctionLen bytes of UTF-8 without control characters (IDs end up in
// logs, Prometheus labels and the dashboard).
func ValidFunctionID(id string) error {
	if id == "" || len(id) > MaxFunctionLen {
		return fmt.Errorf("%w: function ID must be 1 to %d bytes, got %d", ErrInvalid, MaxFunctionLen, len(id))
	}
	return printable("function ID", id)
}

// ValidRegion checks that region can be a region: at most MaxRegionLen
// bytes of UTF-8 without control characters; empty is allowed.
func ValidRegion(region string) error {
	if len(region) > MaxRegionLen {
		return fmt.Errorf("%w: region of %d bytes is longer than %d", ErrInvalid, len(region), MaxRegionLen)
	}
	return printable("region", region)
}

func printable(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s %.40q is not valid UTF-8", ErrInvalid, what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s %.40q has the control character %U", ErrInvalid, what, s, r)
		}
	}
	return nil
}

// SyncInfo is an agent's view of its statesync, carried in heartbeats.
type SyncInfo struct {
	LocalVersion  int64 `json:"local_version"`
	RemoteVersion int64 `json:"remote_version"`
	Pending       int   `json:"pending"`
}

// Heartbeat is what an agent sends every interval.
type Heartbeat struct {
	V       int       `json:"v"`
	NodeID  string    `json:"node_id"`
	Region  string    `json:"region,omitempty"`
	Address string    `json:"address,omitempty"` // the agent's HTTP address
	Status  string    `json:"status"`            // a node.Status
	Epoch   uint64    `json:"epoch"`             // changes when the agent restarts
	Seq     uint64    `json:"seq"`               // counts heartbeats within an epoch
	SentAt  time.Time `json:"sent_at"`
	Sync    SyncInfo  `json:"sync"`
}

// StateChange is one pending local change of an agent's state.
type StateChange struct {
	V       int    `json:"v"`
	NodeID  string `json:"node_id"`
	Lineage uint64 `json:"lineage"` // fixed for as long as the agent keeps its state
	Version int64  `json:"version"`
	// Base is the version this change follows: the previous pending
	// change's version, or 0 for the oldest pending change. The hub
	// applies the change only when the version it has applied is at least
	// Base (and below Version), so a change that reaches the stream after
	// a later one was lost in transit waits for its republished
	// predecessor instead of leaving a gap.
	Base int64          `json:"base,omitempty"`
	Data map[string]any `json:"data"`
	At   time.Time      `json:"at"`
}

// State is a node's state as the hub and the HTTP APIs show it, and the
// desired state the hub hands an agent.
type State struct {
	NodeID    string         `json:"node_id"`
	Version   int64          `json:"version"`
	Data      map[string]any `json:"data"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// Encode marshals v as JSON.
func Encode(v any) ([]byte, error) { return json.Marshal(v) }

// decodeStrict decodes one JSON value into v: unknown fields, trailing data
// and oversized input are errors.
func decodeStrict(b []byte, v any) error {
	if len(b) > MaxMessageSize {
		return fmt.Errorf("%w: %d bytes is over the limit of %d", ErrInvalid, len(b), MaxMessageSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the JSON value", ErrInvalid)
	}
	return nil
}

// DecodeHeartbeat decodes and validates a heartbeat.
func DecodeHeartbeat(b []byte) (Heartbeat, error) {
	var h Heartbeat
	if err := decodeStrict(b, &h); err != nil {
		return Heartbeat{}, err
	}
	if h.V != Version {
		return Heartbeat{}, fmt.Errorf("%w: heartbeat version %d, want %d", ErrInvalid, h.V, Version)
	}
	if err := ValidNodeID(h.NodeID); err != nil {
		return Heartbeat{}, err
	}
	if err := ValidRegion(h.Region); err != nil {
		return Heartbeat{}, err
	}
	if len(h.Address) > MaxKeyLen {
		return Heartbeat{}, fmt.Errorf("%w: heartbeat address of %d bytes is longer than %d", ErrInvalid, len(h.Address), MaxKeyLen)
	}
	if len(h.Status) > 32 {
		return Heartbeat{}, fmt.Errorf("%w: heartbeat status of %d bytes is longer than 32", ErrInvalid, len(h.Status))
	}
	return h, nil
}

// DecodeStateChange decodes and validates a state change.
func DecodeStateChange(b []byte) (StateChange, error) {
	var c StateChange
	if err := decodeStrict(b, &c); err != nil {
		return StateChange{}, err
	}
	if c.V != Version {
		return StateChange{}, fmt.Errorf("%w: state change version %d, want %d", ErrInvalid, c.V, Version)
	}
	if err := ValidNodeID(c.NodeID); err != nil {
		return StateChange{}, err
	}
	if c.Version <= 0 {
		return StateChange{}, fmt.Errorf("%w: state version %d must be positive", ErrInvalid, c.Version)
	}
	if c.Base < 0 || c.Base >= c.Version {
		return StateChange{}, fmt.Errorf("%w: state change base %d must be from 0 to below its version %d", ErrInvalid, c.Base, c.Version)
	}
	if err := CheckData(c.Data); err != nil {
		return StateChange{}, err
	}
	c.Data = Normalize(c.Data)
	return c, nil
}

// DecodeState decodes and validates a State.
func DecodeState(b []byte) (State, error) {
	var s State
	if err := decodeStrict(b, &s); err != nil {
		return State{}, err
	}
	if s.Version < 0 {
		return State{}, fmt.Errorf("%w: negative state version %d", ErrInvalid, s.Version)
	}
	if err := CheckData(s.Data); err != nil {
		return State{}, err
	}
	s.Data = Normalize(s.Data)
	return s, nil
}

// DecodeData decodes a JSON object of state keys (an HTTP PUT body).
func DecodeData(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := decodeStrict(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("%w: want a JSON object of keys to set, got null", ErrInvalid)
	}
	if err := CheckData(m); err != nil {
		return nil, err
	}
	return Normalize(m), nil
}

// CheckData enforces the limits on state data: at most MaxKeys keys of at
// most MaxKeyLen bytes, none empty.
func CheckData(m map[string]any) error {
	if len(m) > MaxKeys {
		return fmt.Errorf("%w: %d keys is over the limit of %d", ErrInvalid, len(m), MaxKeys)
	}
	for k := range m {
		if k == "" || len(k) > MaxKeyLen {
			return fmt.Errorf("%w: state key %.40q must be 1 to %d bytes", ErrInvalid, k, MaxKeyLen)
		}
	}
	return nil
}

// Normalize turns json.Number values into float64 (or int64 when exact) so
// that decoded data compares and re-encodes naturally.
func Normalize(m map[string]any) map[string]any {
	for k, v := range m {
		m[k] = normalizeValue(v)
	}
	return m
}

func normalizeValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		return Normalize(v)
	case []any:
		for i := range v {
			v[i] = normalizeValue(v[i])
		}
	}
	return v
}
