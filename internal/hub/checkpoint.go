package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// checkpointVersion is the version of the checkpoint encoding.
const checkpointVersion = 1

// checkpoint is everything the hub derived from the stream up to and
// including message Seq: each node's applied state and de-duplication
// watermarks, and the fleet's metrics. Heartbeat-derived fields are not
// in it: they are refreshed by the next heartbeat.
type checkpoint struct {
	V             int              `json:"v"`
	Hub           string           `json:"hub"`
	Stream        string           `json:"stream"`
	StreamCreated time.Time        `json:"stream_created"` // tells a recreated stream apart
	Seq           uint64           `json:"seq"`
	At            time.Time        `json:"at"`
	Nodes         []checkpointNode `json:"nodes"`
	Metrics       []byte           `json:"metrics"` // a metrics.Snapshot in its binary encoding
}

// checkpointNode is one registry record's stream-derived part.
type checkpointNode struct {
	ID             string         `json:"id"`
	Region         string         `json:"region,omitempty"`
	Data           map[string]any `json:"data,omitempty"`
	Lineage        uint64         `json:"lineage,omitempty"`
	StateVersion   int64          `json:"state_version,omitempty"`
	StateUpdated   time.Time      `json:"state_updated,omitzero"`
	MetricsLineage uint64         `json:"metrics_lineage,omitempty"`
	MetricsSeq     uint64         `json:"metrics_seq,omitempty"`
}

// takeCheckpoint captures the state after the newest applied stream
// message. It holds applyMu, so no message is applied while it copies;
// the copy is small next to the encoding and the write, which happen
// after.
func (h *Hub) takeCheckpoint() (checkpoint, bool) {
	h.applyMu.Lock()
	defer h.applyMu.Unlock()
	if h.appliedSeq == 0 || h.appliedSeq == h.checkpointSeq.Load() {
		return checkpoint{}, false
	}
	snap := h.agg.Snapshot()
	b, err := snap.MarshalBinary()
	if err != nil {
		h.log.Error("checkpoint: encode metrics", "err", err)
		return checkpoint{}, false
	}
	c := checkpoint{
		V: checkpointVersion, Hub: h.cfg.Name, Stream: wire.StreamName, StreamCreated: h.streamCreated,
		Seq: h.appliedSeq, At: time.Now().UTC(), Metrics: b,
	}
	h.reg.mu.RLock()
	c.Nodes = make([]checkpointNode, 0, len(h.reg.order))
	for _, rec := range h.reg.order {
		c.Nodes = append(c.Nodes, checkpointNode{
			ID: rec.node.ID, Region: rec.node.Region, Data: maps.Clone(rec.data),
			Lineage: rec.lineage, StateVersion: rec.stateVersion, StateUpdated: rec.stateUpdated,
			MetricsLineage: rec.metricsLineage, MetricsSeq: rec.metricsSeq,
		})
	}
	h.reg.mu.RUnlock()
	return c, true
}

// writeCheckpoint takes a checkpoint and stores it, if anything was
// applied since the last one.
func (h *Hub) writeCheckpoint(ctx context.Context) error {
	if h.checkpoints == nil || h.checkpointsPaused.Load() {
		return nil
	}
	c, ok := h.takeCheckpoint()
	if !ok {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("hub: encode checkpoint: %w", err)
	}
	if err := h.checkpoints.put(ctx, b); err != nil {
		return fmt.Errorf("hub: store checkpoint at stream sequence %d: %w", c.Seq, err)
	}
	h.checkpointSeq.Store(c.Seq)
	h.cpBytes.Store(uint64(len(b)))
	h.log.Debug("checkpoint stored", "seq", c.Seq, "nodes", len(c.Nodes), "bytes", len(b))
	return nil
}

// checkpointLoop stores a checkpoint every interval, and when
// onStreamMsg says one is due (CheckpointEvery messages or checkpointBytes
// of them since the last), until ctx is done.
func (h *Hub) checkpointLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.checkpointNow:
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := h.writeCheckpoint(wctx); err != nil && ctx.Err() == nil {
			h.cpFailures.Add(1)
			h.log.Warn("checkpoint not stored; the next one will cover it", "err", err)
		}
		cancel()
	}
}

// decodeCheckpoint decodes and checks a stored checkpoint.
func decodeCheckpoint(b []byte) (checkpoint, metrics.Snapshot, error) {
	var c checkpoint
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var snap metrics.Snapshot
	if err := dec.Decode(&c); err != nil {
		return c, snap, fmt.Errorf("decode: %w", err)
	}
	if c.V != checkpointVersion {
		return c, snap, fmt.Errorf("version %d, this hub reads %d", c.V, checkpointVersion)
	}
	if c.Stream != wire.StreamName || c.Seq == 0 {
		return c, snap, fmt.Errorf("stream %q at sequence %d is not a checkpoint of %s", c.Stream, c.Seq, wire.StreamName)
	}
	for i, n := range c.Nodes {
		if err := wire.ValidNodeID(n.ID); err != nil {
			return c, snap, fmt.Errorf("node %d: %w", i, err)
		}
		if i > 0 && c.Nodes[i-1].ID >= n.ID {
			return c, snap, fmt.Errorf("nodes out of order at %q", n.ID)
		}
	}
	if err := snap.UnmarshalBinary(c.Metrics); err != nil {
		return c, snap, fmt.Errorf("metrics: %w", err)
	}
	return c, snap, nil
}

// restoreCheckpoint loads this hub's newest checkpoint of stream (whose
// info is si) into the empty registry and aggregator, and returns the
// stream sequence to resume after (0: replay everything). Any problem
// with the checkpoint is logged and means a full replay, never a failed
// start.
func (h *Hub) restoreCheckpoint(ctx context.Context, si *jetstream.StreamInfo) uint64 {
	b, err := h.readCheckpoint(ctx)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		h.warnAgedOut(si)
		return 0
	}
	if err != nil {
		h.cpFailures.Add(1)
		h.log.Error("checkpoint unreadable; replaying the whole stream", "err", err)
		h.warnAgedOut(si)
		return 0
	}
	c, snap, err := decodeCheckpoint(b)
	switch {
	case err != nil:
		h.cpFailures.Add(1)
		h.log.Error("checkpoint invalid; replaying the whole stream", "err", err)
		h.warnAgedOut(si)
		return 0
	case !c.StreamCreated.Equal(si.Created):
		h.log.Warn("checkpoint is of an earlier stream of the same name; replaying the whole stream",
			"checkpoint_stream_created", c.StreamCreated, "stream_created", si.Created)
		h.warnAgedOut(si)
		return 0
	case c.Seq > si.State.LastSeq:
		h.cpFailures.Add(1)
		h.log.Warn("checkpoint is ahead of the stream; replaying the whole stream", "checkpoint_seq", c.Seq, "stream_last_seq", si.State.LastSeq)
		h.warnAgedOut(si)
		return 0
	}
	if si.State.Msgs > 0 && si.State.FirstSeq > c.Seq+1 {
		h.log.Error("stream messages after the checkpoint are gone (retention); they cannot be applied",
			"checkpoint_seq", c.Seq, "stream_first_seq", si.State.FirstSeq, "lost", si.State.FirstSeq-c.Seq-1)
	}
	h.reg.mu.Lock()
	for _, n := range c.Nodes {
		rec := h.reg.get(n.ID)
		rec.node.Region = n.Region
		if n.Data != nil {
			rec.data = wire.Normalize(n.Data)
		}
		rec.lineage, rec.stateVersion, rec.stateUpdated = n.Lineage, n.StateVersion, n.StateUpdated
		rec.metricsLineage, rec.metricsSeq = n.MetricsLineage, n.MetricsSeq
	}
	h.reg.mu.Unlock()
	h.agg.Merge(snap)
	h.quota.restore(snap)
	h.appliedSeq = c.Seq
	h.checkpointSeq.Store(c.Seq)
	h.restoredSeq = c.Seq
	h.log.Info("restored from checkpoint", "seq", c.Seq, "taken", c.At, "nodes", len(c.Nodes), "replaying", si.State.LastSeq-c.Seq)
	return c.Seq
}

// readCheckpoint fetches this hub's checkpoint, trying twice more on an
// error other than "none stored" (a NATS cluster still electing leaders):
// falling back to a full replay gives up state the stream may no longer
// hold, and the next checkpoint would then overwrite the good one.
func (h *Hub) readCheckpoint(ctx context.Context) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		b, err := h.checkpoints.get(ctx)
		if err == nil || errors.Is(err, jetstream.ErrKeyNotFound) || attempt == 3 {
			return b, err
		}
		h.log.Warn("reading the checkpoint failed; trying again", "err", err, "attempt", attempt)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(attempt) * 250 * time.Millisecond):
		}
	}
}

// warnAgedOut says so when a full replay starts from a stream that has
// already dropped messages (retention or a purge): what they set is not
// in the hub's state.
func (h *Hub) warnAgedOut(si *jetstream.StreamInfo) {
	if si.State.FirstSeq > 1 {
		h.log.Error("the stream no longer holds its first messages and there is no usable checkpoint: state they set is lost",
			"stream_first_seq", si.State.FirstSeq)
	}
}

// checkpointEvery is CheckpointEvery with its default.
func (h *Hub) checkpointEvery() int {
	if h.cfg.CheckpointEvery > 0 {
		return h.cfg.CheckpointEvery
	}
	return 10_000
}

// checkpointBytes of stream messages also make a checkpoint due: the
// stream keeps 1 GiB, so a running hub checkpoints long before the byte
// limit could drop a message no checkpoint covers.
const checkpointBytes = 64 << 20

var (
	appliedSeqDesc = prometheus.NewDesc("edgeinfra_hub_stream_applied_seq",
		"The last stream sequence the hub applied.", nil, nil)
	checkpointSeqDesc = prometheus.NewDesc("edgeinfra_hub_checkpoint_seq",
		"The stream sequence the hub's newest checkpoint covers (restored at start or stored since); a restart replays the messages after it.", nil, nil)
	checkpointBytesDesc = prometheus.NewDesc("edgeinfra_hub_checkpoint_bytes",
		"Size of the newest checkpoint this hub stored.", nil, nil)
	checkpointFailuresDesc = prometheus.NewDesc("edgeinfra_hub_checkpoint_failures_total",
		"Checkpoints that could not be stored, or could not be used at start (the hub then replayed the whole stream).", nil, nil)
	consumerRestartsDesc = prometheus.NewDesc("edgeinfra_hub_stream_consumer_restarts_total",
		"Stream consumers the hub replaced because they had stopped while messages waited.", nil, nil)
)

// checkpointCollector exports the stream position and checkpoint state,
// so that an alert can tell a hub whose checkpoints stopped following the
// stream.
type checkpointCollector struct{ h *Hub }

func (c *checkpointCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- appliedSeqDesc
	ch <- checkpointSeqDesc
	ch <- checkpointBytesDesc
	ch <- checkpointFailuresDesc
	ch <- consumerRestartsDesc
}

func (c *checkpointCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.h
	h.applyMu.Lock()
	applied := h.appliedSeq
	h.applyMu.Unlock()
	ch <- prometheus.MustNewConstMetric(appliedSeqDesc, prometheus.GaugeValue, float64(applied))
	ch <- prometheus.MustNewConstMetric(checkpointSeqDesc, prometheus.GaugeValue, float64(h.checkpointSeq.Load()))
	ch <- prometheus.MustNewConstMetric(checkpointBytesDesc, prometheus.GaugeValue, float64(h.cpBytes.Load()))
	ch <- prometheus.MustNewConstMetric(checkpointFailuresDesc, prometheus.CounterValue, float64(h.cpFailures.Load()))
	ch <- prometheus.MustNewConstMetric(consumerRestartsDesc, prometheus.CounterValue, float64(h.stats.consumerRestarts.Load()))
}

// checkpointStore keeps one hub's checkpoint in the key-value bucket
// wire.CheckpointBucket, in chunks under the message size limit: the
// chunks go to the slot ("a" or "b") the manifest does not point at, then
// the manifest is switched to it, so a crash while writing leaves the
// previous checkpoint whole. The manifest carries the SHA-256 of the
// whole, checked on reading. (JetStream's object store does this too,
// but its Put leaks a goroutine in nats.go v1.55 when it races with its
// own cleanup, once per checkpoint.)
type checkpointStore struct {
	kv   jetstream.KeyValue
	base string // key prefix: one per hub name
}

// checkpointChunk is the size of one stored chunk, well below the 1 MiB
// message limit.
const checkpointChunk = 512 << 10

type checkpointManifest struct {
	Slot   string `json:"slot"`
	Chunks int    `json:"chunks"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
}

// newCheckpointStore returns the store of the hub called name. Hubs that
// share a NATS cluster derive the same state from the same stream; a key
// per hub name keeps their schedules independent.
func newCheckpointStore(kv jetstream.KeyValue, name string) *checkpointStore {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return &checkpointStore{kv: kv, base: "hub_" + string(b)}
}

func (s *checkpointStore) manifest(ctx context.Context) (checkpointManifest, error) {
	var m checkpointManifest
	e, err := s.kv.Get(ctx, s.base+".manifest")
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		return m, fmt.Errorf("checkpoint manifest: %w", err)
	}
	if (m.Slot != "a" && m.Slot != "b") || m.Chunks < 0 || m.Size < 0 || m.Chunks > 1<<16 {
		return m, fmt.Errorf("checkpoint manifest %+v is not valid", m)
	}
	return m, nil
}

func (s *checkpointStore) chunkKey(slot string, i int) string {
	return s.base + "." + slot + "." + strconv.Itoa(i)
}

func (s *checkpointStore) put(ctx context.Context, b []byte) error {
	slot := "a"
	if old, err := s.manifest(ctx); err == nil && old.Slot == "a" {
		slot = "b"
	}
	n := 0
	for off := 0; off < len(b) || n == 0; off += checkpointChunk {
		end := min(off+checkpointChunk, len(b))
		if _, err := s.kv.Put(ctx, s.chunkKey(slot, n), b[off:end]); err != nil {
			return err
		}
		n++
	}
	sum := sha256.Sum256(b)
	m, _ := json.Marshal(checkpointManifest{Slot: slot, Chunks: n, Size: len(b), SHA256: hex.EncodeToString(sum[:])})
	if _, err := s.kv.Put(ctx, s.base+".manifest", m); err != nil {
		return err
	}
	// Chunks of an earlier, longer checkpoint in this slot are garbage.
	for i := n; ; i++ {
		if _, err := s.kv.Get(ctx, s.chunkKey(slot, i)); err != nil {
			break
		}
		if err := s.kv.Purge(ctx, s.chunkKey(slot, i)); err != nil {
			return err
		}
	}
	return nil
}

func (s *checkpointStore) get(ctx context.Context) ([]byte, error) {
	m, err := s.manifest(ctx)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, m.Size)
	for i := range m.Chunks {
		e, err := s.kv.Get(ctx, s.chunkKey(m.Slot, i))
		if err != nil {
			return nil, fmt.Errorf("checkpoint chunk %d of %d: %w", i, m.Chunks, err)
		}
		b = append(b, e.Value()...)
	}
	sum := sha256.Sum256(b)
	if len(b) != m.Size || hex.EncodeToString(sum[:]) != m.SHA256 {
		return nil, fmt.Errorf("checkpoint of %d bytes does not match its manifest (%d bytes, sha256 %s)", len(b), m.Size, m.SHA256)
	}
	return b, nil
}
