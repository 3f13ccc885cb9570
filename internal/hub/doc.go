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
// # Security: TLS and the HTTP token
//
// [Config.TLS] serves the embedded NATS server's client port and the HTTP
// API over TLS (1.2 or later); its CA makes NATS require client
// certificates it signed. With an external NATS the same files configure
// the hub's client side. [Config.APIToken] guards HTTP writes, and with
// [ReadToken] also reads, /metrics and the dashboard (browsers get a
// read-only session cookie; see auth.go). /healthz stays open.
//
// # Security: agents' NATS credentials and permissions
//
// Each agent has its own NATS identity, a user nkey (package natsauth):
//
//	edgeinfra hub creds create --data DIR --id n1 [--out n1.creds]   issue; writes the agent's seed file, mode 0600
//	edgeinfra hub creds list   --data DIR                            agents with a credential
//	edgeinfra hub creds revoke --data DIR --id n1                    revoke
//	edgeinfra hub creds template --id n1 [--data DIR]                nats-server config entry, for --nats-url
//	edgeinfra agent --hub nats://HUB:4222 --id n1 --creds n1.creds   (or EDGEINFRA_CREDS)
//
// The hub keeps only public keys, in DIR/agents.json (mode 0600; DIR is
// [Config.CredsDir], else [Config.DataDir]). At connect the server sends a
// nonce that the agent signs with its seed; no secret crosses the network
// or rests on the hub. The embedded server asks a natsauth.Authenticator
// about every client, which looks the key up in the store (rereading it
// when it changed) and gives the client its node's permissions, enforced
// by the server: publish only the node's own heartbeat, state and metrics
// subjects and the JetStream API subjects that read and watch its own
// desired-state key; subscribe only under its own inbox prefix
// _INBOX_<node>. The exact list is in package wire. So an agent can
// publish as no other node and read no other node's desired state; the
// hub's check that a message's node ID matches its subject remains.
//
// [Config.NATSAuth] decides when credentials are required:
//
//   - auto (the default): once DIR/agents.json exists, that is once a
//     credential was ever created there. Creating the first one on a
//     running hub closes the connections of clients without credentials;
//     revoking the last one does not open the server again. Without DIR,
//     no credentials.
//   - required: always (needs DIR); until a credential exists only the
//     hub itself connects.
//   - off: anyone may connect with every permission (the in-process
//     simulator, trusted networks).
//
// A running hub rereads the store at the next connection and every
// second: a new agent connects at once, and a revoked agent's open
// connections are closed within about a second (a second sweep a second
// later catches a connection authenticated during the change). nats.go
// then gets "Authorization Violation" on reconnecting and gives up after
// the second; the agent reports it (agent.Agent.Refused) and
// 'edgeinfra agent' exits with the reason. The hub's own in-process
// connection signs with a key made at each start that only the process
// knows, and has every permission.
//
// With [Config.NATSURL] the hub manages no authentication ([Config.NATSAuth]
// required is an error): the cluster's operator adds each agent's entry
// that 'hub creds template' prints (its key from the store in --data, where
// 'hub creds create' still issues the credentials) to the servers'
// authorization users and reloads them.
//
// # Limits
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
