// Package wire defines how the edgeinfra hub and its agents talk over NATS:
// the subjects, the JetStream stream and key-value bucket, and the message
// types with their strict, size-limited decoders.
//
// # Subjects
//
//	edgeinfra.hb.<node>       core NATS      agent → hub   Heartbeat (JSON), every --heartbeat
//	edgeinfra.state.<node>    stream EDGEINFRA agent → hub  StateChange (JSON), Nats-Msg-Id <node>.s.<lineage>.<version>.<attempt>
//	edgeinfra.metrics.<node>  stream EDGEINFRA agent → hub  metrics delta (metrics binary snapshot), Nats-Msg-Id <node>.m.<lineage>.<seq>
//	KV edgeinfra-desired, key <node>           hub → agent  desired State (JSON), set by operators
//	KV edgeinfra-checkpoints, keys hub_<name>.* hub          the hub's checkpoint of the state it derived from the stream
//
// Heartbeats are frequent, small and only the newest matters, so they go
// over core NATS: a lost one is replaced by the next. State changes and
// metric deltas must not be lost or counted twice, so agents publish them to
// the EDGEINFRA stream and wait for its acknowledgement; the message ID makes
// a republished message (after a timeout or a reconnect) a duplicate that
// JetStream drops within its de-duplication window. Beyond that window (an
// agent that stayed down for longer) the hub still counts each change once:
// it skips a state version at or below the one it applied, and a metric
// delta at or below the newest (lineage, seq) it merged for the node
// ([ParseMetricsMsgID]); agents send both in order. An acknowledged publish is
// durable in the stream, so the agent then confirms the change locally
// (statesync ConfirmSync).
//
// Agents pipeline state changes (many in flight), so one can reach the
// stream while its predecessor was lost, or before it if the network
// reordered them. Each change names the version it follows
// ([StateChange.Base]); the hub applies it only once that version is
// applied, and otherwise skips this copy. The agent confirms a change
// only when it and all before it were acknowledged with increasing stream
// sequences, and after any failure sends the rest again under a new
// attempt number in the message ID, so the skipped change is stored again
// after its predecessor instead of being dropped as a duplicate. Each hub reads the stream with its own durable
// consumer, so several hubs on one NATS cluster each see the whole fleet.
// An agent that lost its data (no --data, or a new disk) starts a new
// lineage, a number larger than the last; the hub then accepts its versions
// from 1 again, while changes of an older lineage are stale.
// Desired state lives in a key-value bucket, so an agent that was offline
// finds the latest value when it comes back.
//
// # Limits
//
// Node IDs become subject tokens: 1 to 64 characters of letters, digits, '-'
// and '_' ([ValidNodeID]). Every message is at most [MaxMessageSize] bytes;
// JSON decoders reject unknown fields, trailing data and wrong versions with
// an error that says what was wrong.
package wire
