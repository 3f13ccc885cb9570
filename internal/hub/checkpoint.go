package hub

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// Checkpoints (see "Durability" in doc.go): what the hub derived from the
// stream, with the stream sequence it covers, kept in an object store
// bucket under the hub's name.

// CheckpointBucket is the object store bucket holding every hub's
// checkpoint, one object per hub name.
const CheckpointBucket = "edgeinfra-checkpoints"

// Checkpoint defaults.
const (
	defaultCheckpointInterval = time.Minute
	defaultCheckpointEvery    = 10_000 // messages
	// checkpointBytes also triggers a checkpoint: the stream keeps 1 GiB,
	// so a checkpoint is written long before the bytes limit could drop a
	// message it does not cover.
	checkpointBytes = 64 << 20
	// maxCheckpointSize bounds what a hub accepts as a checkpoint: about
	// 300 bytes per node plus the metrics of 100,000 series fit many times.
	maxCheckpointSize = 1 << 30

	checkpointMagic   = "EICP"
	checkpointVersion = 1
)

// errCheckpoint is wrapped by every error decodeCheckpoint returns.
var errCheckpoint = errors.New("hub: invalid checkpoint")

// checkpointHeader is the JSON part of a checkpoint. Fields are added,
// never renamed: a reader gets zero values for fields an older hub did
// not write, and refuses fields it does not know (an older hub reading a
// newer checkpoint replays the whole stream rather than lose what the
// new fields meant).
type checkpointHeader struct {
	Hub           string           `json:"hub"`
	Stream        string           `json:"stream"`
	StreamCreated time.Time        `json:"stream_created"` // tells a recreated stream, whose sequences restarted
	Seq           uint64           `json:"seq"`            // the last stream message applied
	TakenAt       time.Time        `json:"taken_at"`
	Nodes         []checkpointNode `json:"nodes"` // sorted by ID
}

// checkpointNode is one node's part of a checkpoint: its record's fields
// derived from the stream, and the functions its series quota counts.
type checkpointNode struct {
	ID             string         `json:"id"`
	Data           map[string]any `json:"data,omitempty"`
	Lineage        uint64         `json:"lineage,omitempty"`
	Version        int64          `json:"version,omitempty"`
	Updated        time.Time      `json:"updated,omitzero"`
	MetricsLineage uint64         `json:"metrics_lineage,omitempty"`
	MetricsSeq     uint64         `json:"metrics_seq,omitempty"`
	Functions      []string       `json:"functions,omitempty"` // sorted
}

// checkpoint is a decoded checkpoint, or one taken from a running hub.
type checkpoint struct {
	checkpointHeader
	Metrics metrics.Snapshot
}

// The encoding: the magic "EICP", a version byte, a uvarint length and
// that many bytes of JSON (checkpointHeader), the aggregator's
// metrics.Snapshot in its binary encoding, and a little-endian CRC-32C of
// everything before it. The object store checks its own digest as well;
// the CRC makes the format self-checking wherever the bytes come from.

var cpCastagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeCheckpoint encodes cp.
func encodeCheckpoint(cp *checkpoint) ([]byte, error) {
	js, err := json.Marshal(&cp.checkpointHeader)
	if err != nil {
		return nil, fmt.Errorf("hub: encode checkpoint: %w", err)
	}
	b := make([]byte, 0, len(js)+64+cp.Metrics.Len()*64)
	b = append(b, checkpointMagic...)
	b = append(b, checkpointVersion)
	b = binary.AppendUvarint(b, uint64(len(js)))
	b = append(b, js...)
	if b, err = cp.Metrics.AppendBinary(b); err != nil {
		return nil, fmt.Errorf("hub: encode checkpoint metrics: %w", err)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, cpCastagnoli)), nil
}

// decodeCheckpoint decodes and checks what encodeCheckpoint wrote. Every
// error wraps errCheckpoint and says what is wrong.
func decodeCheckpoint(data []byte) (*checkpoint, error) {
	fail := func(format string, args ...any) (*checkpoint, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{errCheckpoint}, args...)...)
	}
	const minLen = len(checkpointMagic) + 1 + 1 + 4
	switch {
	case len(data) < minLen:
		return fail("%d bytes is too short", len(data))
	case len(data) > maxCheckpointSize:
		return fail("%d bytes is over the limit of %d", len(data), maxCheckpointSize)
	case string(data[:len(checkpointMagic)]) != checkpointMagic:
		return fail("bad magic (not a checkpoint)")
	case data[len(checkpointMagic)] != checkpointVersion:
		return fail("unsupported version %d (this hub reads version %d)", data[len(checkpointMagic)], checkpointVersion)
	}
	body, sum := data[:len(data)-4], data[len(data)-4:]
	if crc32.Checksum(body, cpCastagnoli) != binary.LittleEndian.Uint32(sum) {
		return fail("checksum mismatch (damaged)")
	}
	rest := body[len(checkpointMagic)+1:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return fail("bad header length")
	}
	header, snap := rest[k:k+int(n)], rest[k+int(n):]
	cp := new(checkpoint)
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber() // as wire decodes node data, so restored values compare equal
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cp.checkpointHeader); err != nil {
		return fail("header: %v", err)
	}
	if dec.More() {
		return fail("header: trailing data")
	}
	if err := cp.check(); err != nil {
		return fail("%v", err)
	}
	if err := cp.Metrics.UnmarshalBinary(snap); err != nil {
		return fail("%v", err)
	}
	return cp, nil
}

// check validates what JSON cannot: the stream, node and function IDs,
// and their order.
func (cp *checkpoint) check() error {
	if cp.Stream != wire.StreamName {
		return fmt.Errorf("stream %q, want %q", cp.Stream, wire.StreamName)
	}
	for i := range cp.Nodes {
		n := &cp.Nodes[i]
		if err := wire.ValidNodeID(n.ID); err != nil {
			return fmt.Errorf("node %d: %v", i, err)
		}
		if i > 0 && cp.Nodes[i-1].ID >= n.ID {
			return fmt.Errorf("node %q: nodes not sorted by ID or repeated", n.ID)
		}
		for k := range n.Data {
			// Not wire.CheckData's key count: a record merges the agent's
			// keys with operators' desired ones.
			if k == "" || len(k) > wire.MaxKeyLen {
				return fmt.Errorf("node %q: state key %.40q must be 1 to %d bytes", n.ID, k, wire.MaxKeyLen)
			}
		}
		if n.Version < 0 {
			return fmt.Errorf("node %q: negative version %d", n.ID, n.Version)
		}
		for j, fn := range n.Functions {
			if err := wire.ValidFunctionID(fn); err != nil {
				return fmt.Errorf("node %q: %v", n.ID, err)
			}
			if j > 0 && n.Functions[j-1] >= fn {
				return fmt.Errorf("node %q: functions not sorted or repeated", n.ID)
			}
		}
	}
	return nil
}

// captureCheckpoint copies what the hub derived from the stream. applyMu
// is held throughout, so no stream message is applied meanwhile: the copy
// is exactly the state after message appliedSeq. The copy is shallow
// (node data values are never modified in place, only replaced), and
// encoding happens later, without the lock.
func (h *Hub) captureCheckpoint() *checkpoint {
	h.applyMu.Lock()
	defer h.applyMu.Unlock()
	cp := &checkpoint{checkpointHeader: checkpointHeader{
		Hub: h.cfg.Name, Stream: wire.StreamName, StreamCreated: h.streamCreated,
		Seq: h.appliedSeq, TakenAt: time.Now().UTC(),
	}}
	fns := h.quota.functions()
	h.reg.mu.RLock()
	cp.Nodes = make([]checkpointNode, 0, len(h.reg.order))
	for _, rec := range h.reg.order {
		n := checkpointNode{
			ID: rec.node.ID, Lineage: rec.lineage, Version: rec.stateVersion, Updated: rec.stateUpdated,
			MetricsLineage: rec.metricsLineage, MetricsSeq: rec.metricsSeq, Functions: fns[rec.node.ID],
		}
		if len(rec.data) > 0 {
			n.Data = maps.Clone(rec.data)
		}
		delete(fns, rec.node.ID)
		if n.Data == nil && n.Lineage == 0 && n.Version == 0 && n.MetricsLineage == 0 && n.MetricsSeq == 0 && n.Functions == nil {
			continue // known from heartbeats only, which are not in the stream
		}
		cp.Nodes = append(cp.Nodes, n)
	}
	h.reg.mu.RUnlock()
	if len(fns) > 0 { // nodes with metrics but no record (deltas without a message ID)
		for id, f := range fns {
			cp.Nodes = append(cp.Nodes, checkpointNode{ID: id, Functions: f})
		}
		slices.SortFunc(cp.Nodes, func(a, b checkpointNode) int { return cmp.Compare(a.ID, b.ID) })
	}
	cp.Metrics = h.agg.Snapshot()
	return cp
}

// functions returns each node's quota functions, sorted.
func (q *seriesQuota) functions() map[string][]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string][]string, len(q.nodes))
	for id, ns := range q.nodes {
		out[id] = slices.Sorted(maps.Keys(ns.fns))
	}
	return out
}

// restoreCheckpoint loads cp into the hub's empty registry, quota and
// aggregator, before the stream consumer starts.
func (h *Hub) restoreCheckpoint(cp *checkpoint) {
	h.applyMu.Lock()
	defer h.applyMu.Unlock()
	h.reg.mu.Lock()
	h.quota.mu.Lock()
	for i := range cp.Nodes {
		n := &cp.Nodes[i]
		if n.Functions != nil {
			ns := &nodeSeries{fns: make(map[string]struct{}, len(n.Functions))}
			for _, fn := range n.Functions {
				ns.fns[fn] = struct{}{}
			}
			h.quota.nodes[n.ID] = ns
		}
		if n.Data == nil && n.Lineage == 0 && n.Version == 0 && n.MetricsLineage == 0 && n.MetricsSeq == 0 {
			continue
		}
		rec := h.reg.get(n.ID)
		if n.Data != nil {
			rec.data = n.Data
		}
		rec.lineage, rec.stateVersion, rec.stateUpdated = n.Lineage, n.Version, n.Updated
		rec.metricsLineage, rec.metricsSeq = n.MetricsLineage, n.MetricsSeq
	}
	h.quota.mu.Unlock()
	h.reg.mu.Unlock()
	h.agg.Merge(cp.Metrics)
	h.appliedSeq = cp.Seq
}

// checkpointsEnabled reports whether the hub reads and writes checkpoints:
// not when they are turned off, nor when the stream lives in the
// embedded server's memory and dies with the hub anyway.
func (h *Hub) checkpointsEnabled() bool {
	return h.cfg.CheckpointInterval >= 0 && h.storage() == jetstream.FileStorage
}

func (h *Hub) checkpointInterval() time.Duration {
	return cmp.Or(h.cfg.CheckpointInterval, defaultCheckpointInterval)
}

func (h *Hub) checkpointEvery() int {
	return cmp.Or(h.cfg.CheckpointEvery, defaultCheckpointEvery)
}

// openCheckpoints creates (or finds) the checkpoint bucket and loads this
// hub's newest checkpoint. It returns the stream sequence to replay from:
// the one after the checkpoint, or 1 (the whole stream) without a usable
// checkpoint; an unusable one is logged, never fatal.
func (h *Hub) openCheckpoints(ctx context.Context, info *jetstream.StreamInfo) (uint64, error) {
	store, err := h.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      CheckpointBucket,
		Description: "edgeinfra hub checkpoints: fleet state derived from the stream, one object per hub name",
		Storage:     h.storage(),
		Replicas:    max(h.cfg.StreamReplicas, 1),
	})
	if err != nil {
		return 0, fmt.Errorf("hub: create object store %s: %w", CheckpointBucket, err)
	}
	h.cpStore = store
	b, err := h.readCheckpoint(ctx)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		h.log.Info("no checkpoint: replaying the whole stream", "hub", h.cfg.Name, "messages", info.State.Msgs)
		h.warnAgedOut(info)
		return 1, nil
	}
	var cp *checkpoint
	if err == nil {
		cp, err = decodeCheckpoint(b)
	}
	if err == nil {
		switch {
		case !cp.StreamCreated.Equal(info.Created):
			err = fmt.Errorf("%w: it is of a stream created at %s, the stream was created at %s (deleted and recreated?)",
				errCheckpoint, cp.StreamCreated.Format(time.RFC3339Nano), info.Created.Format(time.RFC3339Nano))
		case cp.Seq > info.State.LastSeq:
			err = fmt.Errorf("%w: it covers sequence %d, past the stream's last, %d", errCheckpoint, cp.Seq, info.State.LastSeq)
		}
	}
	if err != nil {
		h.cpFailures.Add(1)
		h.log.Error("checkpoint unusable: replaying the whole stream instead", "hub", h.cfg.Name, "err", err, "messages", info.State.Msgs)
		h.warnAgedOut(info)
		return 1, nil
	}
	if first := info.State.FirstSeq; cp.Seq+1 < first && info.State.Msgs > 0 {
		// Retention dropped messages the checkpoint does not cover: the hub
		// was down longer than the stream keeps messages.
		h.log.Error("the stream no longer holds messages after the checkpoint: they are lost",
			"checkpoint_seq", cp.Seq, "stream_first_seq", first, "lost_messages", first-cp.Seq-1)
	}
	h.restoreCheckpoint(cp)
	h.cpSeq.Store(cp.Seq)
	h.log.Info("checkpoint loaded", "hub", h.cfg.Name, "seq", cp.Seq, "nodes", len(cp.Nodes), "series", cp.Metrics.Len(),
		"taken_at", cp.TakenAt, "replaying", info.State.LastSeq-min(cp.Seq, info.State.LastSeq))
	return cp.Seq + 1, nil
}

// readCheckpoint fetches this hub's checkpoint, trying again on errors
// other than a missing or damaged object (a NATS cluster still electing
// leaders), since falling back to a full replay then would give up state
// the stream may no longer hold.
func (h *Hub) readCheckpoint(ctx context.Context) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		b, err := h.cpStore.GetBytes(ctx, h.cfg.Name)
		if err == nil || errors.Is(err, jetstream.ErrObjectNotFound) || errors.Is(err, jetstream.ErrDigestMismatch) || attempt == 3 {
			return b, err
		}
		h.log.Warn("reading the checkpoint failed; trying again", "hub", h.cfg.Name, "err", err, "attempt", attempt)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
		}
	}
}

// warnAgedOut says so when a full replay starts from a stream that has
// already dropped messages: what they changed is not in the hub's state.
func (h *Hub) warnAgedOut(info *jetstream.StreamInfo) {
	if info.State.FirstSeq > 1 {
		h.log.Error("the stream no longer holds its first messages (retention or a purge) and there is no usable checkpoint: state they set is lost",
			"stream_first_seq", info.State.FirstSeq)
	}
}

// writeCheckpoint takes and stores a checkpoint unless nothing was applied
// since the last one.
func (h *Hub) writeCheckpoint(ctx context.Context) error {
	h.applyMu.Lock()
	seq := h.appliedSeq
	h.applyMu.Unlock()
	if seq == h.cpSeq.Load() {
		return nil
	}
	start := time.Now()
	cp := h.captureCheckpoint()
	b, err := encodeCheckpoint(cp)
	if err == nil {
		_, err = h.cpStore.PutBytes(ctx, h.cfg.Name, b)
	}
	if err != nil {
		h.cpFailures.Add(1)
		return fmt.Errorf("hub: write checkpoint at sequence %d: %w", cp.Seq, err)
	}
	h.cpSeq.Store(cp.Seq)
	h.cpBytes.Store(uint64(len(b)))
	h.log.Debug("checkpoint written", "seq", cp.Seq, "nodes", len(cp.Nodes), "bytes", len(b), "took", time.Since(start))
	return nil
}

// checkpointLoop writes a checkpoint every CheckpointInterval, and when
// the consumer asks (CheckpointEvery messages or checkpointBytes of them
// since the last), until ctx is done; then, once the consumer has
// stopped, a last one.
func (h *Hub) checkpointLoop(ctx context.Context, consumerDone <-chan struct{}) {
	t := time.NewTicker(h.checkpointInterval())
	defer t.Stop()
	write := func(ctx context.Context) {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := h.writeCheckpoint(wctx); err != nil {
			h.log.Error("checkpoint failed (the next is tried at the next interval)", "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			<-consumerDone
			if !h.skipFinalCheckpoint.Load() {
				write(context.Background())
			}
			return
		case <-t.C:
		case <-h.cpKick:
		}
		write(ctx)
	}
}

// consumeMsg applies one stream message under applyMu and notes its
// sequence, so a checkpoint sees whole messages only.
func (h *Hub) consumeMsg(m jetstream.Msg) {
	meta, err := m.Metadata()
	h.applyMu.Lock()
	h.onStreamMsg(m)
	if err == nil {
		h.appliedSeq = meta.Sequence.Stream
	}
	h.sinceCP++
	h.sinceCPBytes += len(m.Data())
	kick := h.cpKick != nil && (h.sinceCP >= h.checkpointEvery() || h.sinceCPBytes >= checkpointBytes)
	if kick {
		h.sinceCP, h.sinceCPBytes = 0, 0
	}
	seq := h.appliedSeq
	h.applyMu.Unlock()
	if kick {
		select {
		case h.cpKick <- struct{}{}:
		default: // one is pending already
		}
	}
	if seq >= h.replayTarget && h.replayTarget > 0 {
		h.replayOnce.Do(h.replayDone)
	}
}

// replayDone notes that the messages the stream held at start are
// applied.
func (h *Hub) replayDone() {
	close(h.replayed)
	h.log.Info("stream replayed", "to_seq", h.replayTarget, "took", time.Since(h.started))
}

var (
	appliedSeqDesc = prometheus.NewDesc("edgeinfra_hub_stream_applied_seq",
		"The last stream sequence the hub applied.", nil, nil)
	checkpointSeqDesc = prometheus.NewDesc("edgeinfra_hub_checkpoint_seq",
		"The stream sequence the hub's newest checkpoint covers (loaded at start or written since); a restart replays the messages after it.", nil, nil)
	checkpointBytesDesc = prometheus.NewDesc("edgeinfra_hub_checkpoint_bytes",
		"Size of the newest checkpoint this hub wrote.", nil, nil)
	checkpointFailuresDesc = prometheus.NewDesc("edgeinfra_hub_checkpoint_failures_total",
		"Checkpoints that could not be written, or could not be used at start (the hub then replayed the whole stream).", nil, nil)
)

// checkpointCollector exports the stream position and checkpoint state,
// so that an alert can tell a hub whose checkpoints stopped.
type checkpointCollector struct{ h *Hub }

func (c *checkpointCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- appliedSeqDesc
	ch <- checkpointSeqDesc
	ch <- checkpointBytesDesc
	ch <- checkpointFailuresDesc
}

func (c *checkpointCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.h
	h.applyMu.Lock()
	applied := h.appliedSeq
	h.applyMu.Unlock()
	ch <- prometheus.MustNewConstMetric(appliedSeqDesc, prometheus.GaugeValue, float64(applied))
	ch <- prometheus.MustNewConstMetric(checkpointSeqDesc, prometheus.GaugeValue, float64(h.cpSeq.Load()))
	ch <- prometheus.MustNewConstMetric(checkpointBytesDesc, prometheus.GaugeValue, float64(h.cpBytes.Load()))
	ch <- prometheus.MustNewConstMetric(checkpointFailuresDesc, prometheus.CounterValue, float64(h.cpFailures.Load()))
}
