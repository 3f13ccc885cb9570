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
// The stream is read by one ordered consumer. When nats.go cannot recreate
// it (a request timed out during a stall) it stays stopped, so the hub
// watches the stream's last sequence against the newest applied one and
// replaces a consumer that made no progress for three checks (6 s) while
// messages waited, resuming after the newest applied sequence
// (edgeinfra_hub_stream_consumer_restarts_total).
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
// # Agent credentials and permissions
//
// Agents authenticate to the embedded NATS server with NATS nkeys, one per
// agent, issued by `edgeinfra hub creds create --id ID --data DIR [--out
// FILE]`: the agent's file (mode 0600) holds its seed, the hub's data
// directory only the public key (package creds). The server sends a nonce
// on every connection and checks the agent's signature; the seed never
// travels. Each agent is confined to its own subjects (package wire,
// Permissions), so it can neither speak for another node nor read another
// node's state or desired state; the hub keeps checking that a message's
// node ID matches its subject. The hub connects in-process with an
// identity of its own, made at each start and never written down, without
// subject limits.
//
// [Config.Auth] decides when credentials are required:
//
//   - auto (the default): required exactly while DataDir holds a
//     credentials store with a record, active or revoked. A hub without
//     DataDir, and so `edgeinfra sim`, runs without auth. Issuing the first
//     credential turns auth on in a running hub and disconnects clients
//     without credentials; revoking every agent leaves it on.
//   - required: always (DataDir is required; until credentials are issued
//     only the hub itself connects).
//   - off: clients without credentials get in with full permissions;
//     agents that present credentials are still confined, and revoked or
//     unknown keys are still refused.
//
// The embedded server asks the hub about every connection (its custom
// client authentication): the hub checks the nonce signature against the
// agent public keys of the store, which it re-reads when the file changes
// (polled every [Config.CredentialsPoll], 1s). New agents get in at once;
// a revoked agent's live connections are closed, and its reconnections
// refused. An agent refused twice in a row stops reconnecting and reports
// it (agent Refused; `edgeinfra agent` exits), about 1.3s after the hub
// noticed. A store file that cannot be read is logged and the previous
// users stay in force, never none. A change costs re-reading the store
// (about 20 ms of CPU for 10,000 agents) and a scan of the connections
// for the revoked key; the server's own nkey list was not used because
// reloading it re-authenticates every connected client, seconds for a
// large fleet, at every change (BenchmarkReloadCredentials).
//
// With [Config.NATSURL] the hub does not manage users: the cluster's
// configuration does. `edgeinfra hub creds template --id ID [--data DIR]`
// prints the user entry for an agent (its public key and permissions) to
// add to the servers' authorization block, and [Config.NATSCreds]
// (--nats-creds) gives the hub its own credentials for the cluster.
// AuthRequired is an error there.
//
// Credentials authenticate and confine; they do not encrypt. Across
// untrusted networks use TLS as well.
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
