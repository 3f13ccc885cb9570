// Package hub is the edgeinfra hub: it embeds a NATS server with JetStream
// (or joins an existing NATS cluster), tracks the health of every agent's
// heartbeats, aggregates their metric deltas, keeps each node's state as its
// agent reports it, hands operators' desired state to agents, and serves all
// of it as an HTTP JSON API, Prometheus metrics and a dashboard.
//
// The NATS subjects, stream and buckets are described in package wire.
// Each node's record keeps the newest state version and the newest metric
// delta (lineage, sequence) it applied, so a message applied once is
// skipped when it comes again, even after JetStream's duplicate window; a
// state change whose predecessor has not been applied yet (it was lost or
// reordered on the way) is skipped too, and applied when the agent sends
// it again after the predecessor.
//
// # Durability
//
// Everything the hub knows about the fleet beyond heartbeats is derived
// from the stream, which with DataDir (or an external cluster) is on
// disk. Every [Config.CheckpointInterval] (one minute), every
// [Config.CheckpointEvery] stream messages (10,000) or 64 MiB of them, and
// at a graceful shutdown the hub stores a checkpoint of that derived state — each node's
// state, versions and de-duplication watermarks, and the metrics — with
// the stream sequence it covers, in the key-value bucket
// edgeinfra-checkpoints (chunked, with a SHA-256 manifest, written to the
// slot not in use so a crash mid-write keeps the previous one). A restart
// loads it and replays only the messages after it, so the stream's
// retention (7 days, 1 GiB) never costs state as long as a hub runs at
// least once in that time; a hub that stayed down longer logs how many
// messages it missed. A checkpoint that is missing, damaged, or of an
// earlier stream means a full replay. The checkpoint is taken between two
// messages (applyMu), so checkpoint plus replay applies every message
// exactly once. Several hubs on one NATS cluster each keep their own
// checkpoint, keyed by Config.Name. Health history and 1- and 5-minute
// metric windows are not checkpointed: they refill within minutes.
// Reading a checkpoint is tried three times before a full replay (a full
// replay gives up what retention dropped, and its next checkpoint would
// replace the good one); a full replay from a stream that already dropped
// messages is logged as lost state. edgeinfra_hub_stream_applied_seq,
// edgeinfra_hub_checkpoint_seq, _bytes and _failures_total in /metrics
// show whether checkpoints keep up.
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
