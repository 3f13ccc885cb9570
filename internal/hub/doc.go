// Package hub is the edgeinfra hub: it embeds a NATS server with JetStream
// (or joins an existing NATS cluster), tracks the health of every agent's
// heartbeats, aggregates their metric deltas, keeps each node's state as its
// agent reports it, hands operators' desired state to agents, and serves all
// of it as an HTTP JSON API, Prometheus metrics and a dashboard.
//
// The NATS subjects, stream and bucket are described in package wire. The
// hub replays the stream from its start when it starts, which rebuilds node
// state and metrics after a restart (with DataDir, the stream survives on
// disk) and lets several hubs on one NATS cluster each hold the whole fleet.
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
// # Security
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
// All methods of [Hub] are safe for concurrent use; [Hub.Close] waits for
// every goroutine the hub started.
package hub
