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
package hub
