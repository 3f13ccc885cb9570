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
//	GET    /healthz               {"status","node_id","hub_connected","sync","writes_rate_limited"}
//	GET    /v1/cache/{key}        raw value, 404 when absent or expired
//	PUT    /v1/cache/{key}?ttl=30s  raw body; ttl is a positive Go duration (400 otherwise), default cache.DefaultTTL
//	DELETE /v1/cache/{key}        204, or 404 when absent
//	GET    /v1/cache              cache summary
//	POST   /v1/invocations        {"function_id","duration_ms","success","error"}, or a JSON array
//	                              of 1 to 10000 of them → 202 {"recorded":N,"durable":true|false}
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
// # Writes: token, rate limit and quotas
//
// Writes (every method but GET and HEAD) need "Authorization: Bearer
// <token>" when [Config.APIToken] is set (401 otherwise), and are limited
// to [Config.APIRate] per second with bursts of [Config.APIBurst]: past
// that they get 429 Too Many Requests with Retry-After, before the body is
// read, so a refused write was not accepted and can be retried. Reads are
// neither limited nor guarded: they are local and cheap. POST
// /v1/invocations accepts [Config.MaxFunctions] distinct function IDs
// (1 to 128 bytes of printable UTF-8); a new one past that gets 400
// too_many_functions. The local API is plain HTTP on loopback by default;
// [Config.HTTPTLS] serves it over HTTPS, and a start beyond loopback
// without a token logs a warning.
//
// # Talking to the hub
//
// With [Config.TLS] the NATS connection uses TLS: its CA verifies the
// hub's certificate, and a client certificate is presented to a hub that
// requires one (package internal/tlsconf).
//
// Every [Config.HeartbeatInterval] the agent publishes a heartbeat with its
// status and sync summary (plain NATS: a lost heartbeat is simply late).
// Every [Config.PushInterval] ([Agent.Flush]) it publishes its pending state
// changes, oldest first, to the hub's JetStream stream, up to 2048 in
// flight at once, and calls ConfirmSync with the highest version up to
// which the stream acknowledged every change in order (writing the store
// once per 2048, not once per change); then the metric delta (metrics
// TakeDelta, binary encoded). Both carry de-duplication message IDs, so a
// resend after a lost acknowledgement is dropped by the stream rather
// than counted twice. A change stored out of order (its predecessor lost
// or reordered on the way, see package wire) is not confirmed: the round
// fails, and the next one sends the rest again with a new attempt number
// in their IDs. A round waits at most [Config.PushTimeout] for an
// acknowledgement. With a link that drops, duplicates and reorders 5% of
// messages each and is cut every few hundred milliseconds, the hub never
// applies an older version and ends with the agent's exact state; 100,000
// changes queued during a cut reach the hub about 1.5 s (1.2-2.3 s on a
// loaded 2-core machine) after the link returns, NATS reconnect included
// (TestCatchUpAfterCut with EDGEINFRA_CONVERGE_CHANGES=100000; the default
// run uses 20,000). Desired state set at
// the hub is watched in the hub's key-value bucket and offered to
// statesync ApplyRemote, which applies it by [Config.Strategy].
//
// # Offline and restarts
//
// While the hub is unreachable the local API keeps working; state changes
// queue (coalesced past [Config.MaxPending], never dropped) and metrics keep
// accumulating in the outbox, at most two deltas: the oldest, which may
// have been sent, and one never sent that absorbs the rest. With [Config.DataDir] the state, its
// versions, the pending changes, the lineage and the metric outbox live in
// an internal/agentstore file, and a local change is written there before
// PUT /v1/state answers, so a restarted agent resumes where it stopped.
// Without DataDir a restart starts a new lineage with an empty state.
//
// # What an acknowledgement means
//
// With DataDir, a 200 from PUT /v1/state and a 202 from POST
// /v1/invocations ([Agent.UpdateState], [Agent.RecordInvocations]) mean the
// change is on disk: it survives kill -9 and reaches the hub exactly once.
// Invocations are appended to the store's journal; concurrent requests
// share one disk sync (a group commit), a lone request syncs at once. On a
// busy 2-core machine one sequential caller got about 1,400-2,000 single
// invocations/s acknowledged (about 7,000 without DataDir), 64 callers
// about 7,000-9,000 (11,000-13,000 without); arrays of 100 per request
// gave 25-55 times more. BenchmarkPostInvocations measures it. Each push
// folds the journal into a metric delta in the same transaction that
// removes it, and a restarted agent replays what is left. Without DataDir
// an acknowledgement means "in memory": a crash loses what was not yet
// pushed ("durable":false says so).
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
