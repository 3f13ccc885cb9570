// Package agent provides the edgeinfra agent: the process that runs on an
// edge node, serves a local cache, metrics and state API, and keeps the hub
// informed over NATS. It is what `edgeinfra agent` runs.
//
// # Starting
//
// [Start] returns once the local API listens; it does not wait for the hub.
// The NATS connection retries forever with jittered backoff, and everything
// the hub should learn is queued until it is reachable:
//
//	a, err := agent.Start(ctx, agent.Config{
//		HubURL: "nats://hub.example:4222",
//		ID:     "edge-17",
//		Region: "eu-west",
//		DataDir: "/var/lib/edgeinfra",
//	})
//	if err != nil {
//		return err
//	}
//	defer a.Close()
//
// # Local API
//
// [Agent.Handler] serves, on [Config.HTTPAddr]:
//
//	GET    /healthz               {"status","node_id","hub_connected","sync"}
//	GET    /v1/cache/{key}        raw value, 404 when absent or expired
//	PUT    /v1/cache/{key}?ttl=30s  raw body; ttl is a positive Go duration (400 otherwise), default cache.DefaultTTL
//	DELETE /v1/cache/{key}        204, or 404 when absent
//	GET    /v1/cache              cache summary
//	POST   /v1/invocations        {"function_id","duration_ms","success","error"} → 202
//	GET    /v1/metrics            local metrics summary
//	GET    /v1/state              {"node_id","version","data","updated_at"}
//	PUT    /v1/state              JSON object merged like statesync UpdateLocal → the new state
//
// Errors are {"error":{"code","message"}} with the matching status. Bodies
// (and so cached values) are limited to 1 MiB, cache keys to 1024 bytes.
// JSON bodies are decoded strictly: unknown fields and trailing data are
// rejected. The cache holds [Config.CacheSize] entries and stores the bytes
// it is given; GET returns them as stored.
//
// # Talking to the hub
//
// Every [Config.HeartbeatInterval] the agent publishes a heartbeat with its
// status and sync summary (plain NATS: a lost heartbeat is simply late).
// Every [Config.PushInterval] ([Agent.Flush]) it publishes its pending state
// changes, oldest first, to the hub's JetStream stream, and calls
// ConfirmSync for each once the stream acknowledged it; then the metric
// delta (metrics TakeDelta, binary encoded). Both carry de-duplication
// message IDs, lineage and version for state, lineage and outbox sequence
// for metrics, so a resend after a lost acknowledgement or a crash is
// dropped by the stream rather than counted twice. Desired state set at
// the hub is watched in the hub's key-value bucket and offered to
// statesync ApplyRemote, which applies it by [Config.Strategy].
//
// # Credentials
//
// When the hub requires credentials, [Config.Creds] names the agent's
// file from `edgeinfra hub creds create` (an nkey seed file; the file's
// "# node:" line must match [Config.ID]). The agent signs the server's
// nonce with it at every connection and uses the inbox prefix _INBOX_<ID>,
// which its permissions allow. A publish or subscription the hub refuses
// is logged as an error. If the hub refuses the credentials themselves
// (revoked, unknown, or none given), nats.go stops reconnecting after the
// second refusal; [Agent.Refused] is then closed and [Agent.Err] says why,
// while the local API keeps serving.
//
// # Offline and restarts
//
// While the hub is unreachable the local API keeps working; state changes
// queue (coalesced past [Config.MaxPending], never dropped) and metrics keep
// accumulating in one outbox delta. With [Config.DataDir] the state, its
// versions, the pending changes, the lineage and the metric outbox live in
// an internal/agentstore file, and a local change is written there before
// PUT /v1/state answers, so a restarted agent resumes where it stopped.
// Without DataDir a restart starts a new lineage with an empty state.
//
// # Faults
//
// [Agent.Disconnect] and [Agent.Reconnect] cut and restore the NATS
// connection, [Agent.PauseHeartbeats] silences heartbeats only, and
// [Agent.SetStatus] changes the reported status; the simulator uses them to
// inject partitions, flapping and degraded nodes.
//
// # Concurrency
//
// All methods of an [Agent] are safe for concurrent use. [Agent.State]
// returns a copy. [Agent.Close] finishes in-flight requests, tries a last
// push, spools the metric delta to the store, and waits for every goroutine
// it started.
package agent
