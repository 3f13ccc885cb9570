// Package hub is the edgeinfra hub: it embeds a NATS server with JetStream
// (or joins an existing NATS cluster), tracks the health of every agent's
// heartbeats, aggregates their metric deltas, keeps each node's state as its
// agent reports it, hands operators' desired state to agents, and serves all
// of it as an HTTP JSON API, Prometheus metrics and a dashboard.
//
// The NATS subjects, stream and bucket are described in package wire. The
// hub derives node state and metrics from the stream; at start it loads
// its newest checkpoint and replays the stream after it (see Durability),
// which rebuilds them after a restart and lets several hubs on one NATS
// cluster each hold the whole fleet. Each node's record keeps the newest state version and the newest metric
// delta (lineage, sequence) it applied, so a message applied once is
// skipped when it comes again, even after JetStream's duplicate window.
//
// # Health
//
// Two views of each node's heartbeats, both from package health:
//
//   - healthy and status follow the Monitor's contract: a node is healthy
//     while it reports itself online or degraded and its last heartbeat is
//     at most HeartbeatTimeout old (status then reads "offline"). A sweep
//     every SweepInterval checks every node; those checks are the history
//     of GET /api/v1/nodes/{id} and the input of flapping.
//   - liveness is the Tracker's verdict: alive, suspect once silent for
//     HeartbeatTimeout, dead once silent for twice that, back to alive on
//     the next heartbeat (an agent restart, a larger epoch, recovers at
//     once; a delayed heartbeat of an older run is ignored). GET
//     /api/v1/cluster adds its report, with counts per region and the
//     regions that lost many nodes at once. Transitions are logged.
//
// Liveness and flapping are copied into listings at each sweep, so they may
// lag by one SweepInterval; healthy, status and heartbeat ages are computed
// at request time.
//
// # Cost
//
// A heartbeat costs a JSON decode and a map update under one lock. GET
// /api/v1/nodes copies the registry (kept sorted by ID) under a read lock,
// then writes the rows with a hand-written encoder (the same bytes as
// encoding/json) into one pooled buffer: for 10,000 nodes it takes a
// quarter to a half of the time of encoding/json with a sort per request,
// and a quarter of the memory (BenchmarkListNodes, side by side).
// GET /api/v1/metrics answers are reused for a second per filter: a
// fleet-wide answer merges every series' latency sketches, about 250 ms
// for 10,000 nodes running 5 functions (BenchmarkFleetMetrics).
//
// # Durability
//
// Everything the hub derives from the stream — each node's state (data,
// lineage, version, update time), its de-duplication watermarks (newest
// state version and metric delta (lineage, sequence) applied), the
// functions its series quota counts, and the metrics aggregator — is
// checkpointed, with the stream sequence it covers, into the JetStream
// object store bucket [CheckpointBucket] (same storage and replicas as the
// stream; the object store chunks it, so size is not bounded by the 1 MiB
// message limit: 10,000 nodes take about 2 MB). Heartbeat-derived fields
// (region, address, liveness) are not in it: heartbeats are not in the
// stream, and the next heartbeats restore them within seconds.
//
//   - When: every [Config.CheckpointInterval] (a minute), every
//     [Config.CheckpointEvery] stream messages (10,000) or 64 MiB of them,
//     and at Close once the consumer has drained; never when nothing was
//     applied since the last one. A checkpoint that fails is logged and
//     counted, and the next trigger tries again.
//   - Consistency: stream messages are applied one at a time under a
//     mutex, and a checkpoint is copied under the same mutex, so it is
//     exactly the state after applying the stream up to the sequence it
//     records. A restart replays from the next sequence (an ordered
//     consumer with DeliverByStartSequence), so no metric delta is counted
//     twice or lost; a message seen again later is caught by the restored
//     watermarks. Only the copy holds the mutex (about 65 ms for 10,000
//     nodes on a loaded 2-core machine); encoding and the upload do not.
//   - Atomicity: the object store replaces an object only once all its
//     chunks are stored, so a hub killed mid-write leaves the previous
//     checkpoint intact. A killed hub restarts from its newest checkpoint
//     and replays what came after it; no repair is needed.
//   - Damage: a checkpoint ends with a CRC-32C and its JSON part is
//     decoded strictly; one that fails to decode, or that belongs to
//     another incarnation of the stream (its creation time differs) or
//     covers a sequence past the stream's end, is logged at error level
//     ("checkpoint unusable: replaying the whole stream instead"), counted
//     in edgeinfra_hub_checkpoint_failures_total, and the hub replays the
//     whole stream. A newer format is refused the same way, so an older
//     hub never half-reads it. Fields are added to the JSON record, never
//     renamed: a hub reads older checkpoints with zero values for the new
//     fields.
//   - Several hubs: each keeps its own checkpoint, keyed by [Config.Name].
//     Hubs on one cluster should have different names; two of the same
//     name would overwrite each other's checkpoints, which is still
//     correct as long as they run the same limits (each checkpoint
//     describes the stream up to its sequence), but not recommended.
//   - Retention: the stream keeps 7 days and 1 GiB (limits retention).
//     State no longer depends on it: once a checkpoint covers a message,
//     the message may go. A running hub checkpoints at least every minute
//     and every 64 MiB, far inside both limits; a hub stopped for longer
//     than the retention loses the messages that aged out meanwhile, and
//     says so at start ("the stream no longer holds messages after the
//     checkpoint", with how many). Start-up time depends on the messages
//     since the checkpoint, not on the stream's length: with 10,000 nodes
//     and 60,000 messages, 0.5 to 0.8 s from a checkpoint against 1.4 to
//     2.8 s replaying the stream (TestStartupTime10kNodes with
//     EDGEINFRA_STARTUP_BENCH=1, loaded 2-core machine).
//   - Not covered: operators' desired keys merged into a node's data are
//     checkpointed with it; the desired-state bucket itself is separate.
//     Metrics restored from a checkpoint (as from a replay) count in the
//     current time window, so windowed rates after a restart are
//     overstated for one window. Without DataDir the embedded server keeps
//     the stream in memory and checkpoints are off.
//
// Progress is exported as edgeinfra_hub_stream_applied_seq and
// edgeinfra_hub_checkpoint_seq (and _bytes): a checkpoint sequence that
// stops following the applied one means checkpoints fail.
//
// # Security and limits
//
// [Config.TLS] serves the embedded NATS server's client port and the HTTP
// API over TLS (1.2 or later); its CA makes NATS require client
// certificates it signed. With an external NATS the same files configure
// the hub's client side. [Config.APIToken] guards HTTP writes, and with
// [ReadToken] also reads, /metrics and the dashboard (browsers get a
// read-only session cookie; see auth.go). /healthz stays open.
//
// Per agent, the hub bounds what it holds and does: [Config.MaxNodes],
// [Config.MaxSeriesPerNode] and a heartbeat token bucket per node
// ([Config.HeartbeatRate]). Everything refused is counted in
// edgeinfra_hub_rejected_total{kind,reason} and logged at most once a
// minute per node; see limits.go. Messages are at most 1 MiB and decoded
// strictly by package wire.
//
// All methods of [Hub] are safe for concurrent use; [Hub.Close] waits for
// every goroutine the hub started.
package hub
