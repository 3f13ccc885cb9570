package wire

// jsAPI is the prefix of JetStream's API subjects; kvStream is the stream
// behind the desired-state bucket and kvPrefix the subject prefix of its
// keys.
const (
	jsAPI    = "$JS.API."
	kvStream = "KV_" + DesiredBucket
	kvPrefix = "$KV." + DesiredBucket + "."
)

// InboxPrefix is the reply-subject prefix agent nodeID uses (nats.go's
// CustomInboxPrefix), so that its subscribe permission can cover its own
// replies and no one else's.
func InboxPrefix(nodeID string) string { return "_INBOX_" + nodeID }

// Permissions is what one NATS client may publish to and subscribe to.
// Subjects may hold NATS wildcards; anything not listed is refused.
type Permissions struct {
	Publish   []string
	Subscribe []string
}

// AgentPermissions is the least a NATS server must allow agent nodeID for
// it to work: its own heartbeats, state changes and metric deltas, and
// reading and watching its own desired-state key through exactly the
// JetStream API subjects nats.go sends for that. Replies come to its own
// inbox ([InboxPrefix]). Package wire's documentation explains each entry.
// nodeID must be valid ([ValidNodeID]): it becomes a subject token.
func AgentPermissions(nodeID string) Permissions {
	return Permissions{
		Publish: []string{
			HeartbeatSubject(nodeID),
			StateSubject(nodeID),
			MetricsSubject(nodeID),
			jsAPI + "STREAM.INFO." + kvStream,
			jsAPI + "CONSUMER.CREATE." + kvStream + ".*." + kvPrefix + nodeID,
			jsAPI + "CONSUMER.DELETE." + kvStream + ".*",
			jsAPI + "DIRECT.GET." + kvStream + "." + kvPrefix + nodeID,
			"$JS.FC." + kvStream + ".>",
		},
		Subscribe: []string{InboxPrefix(nodeID) + ".>"},
	}
}
