package natsauth

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// InboxPrefix is the reply-subject prefix agent id uses
// (nats.CustomInboxPrefix), so that it may subscribe to its own replies
// and no other agent's.
func InboxPrefix(id string) string { return "_INBOX_" + id }

// kvStream is the JetStream stream behind the desired-state bucket.
const kvStream = "KV_" + wire.DesiredBucket

// PublishAllow lists the subjects agent id may publish to.
//
//   - its heartbeat, state and metrics subjects;
//   - $JS.API.STREAM.INFO.KV_edgeinfra-desired: opening the bucket
//     (jetstream.KeyValue) reads the stream's configuration;
//   - $JS.API.CONSUMER.CREATE.KV_edgeinfra-desired.*.$KV.edgeinfra-desired.<id>:
//     watching its key creates an ordered consumer whose filter is in the
//     subject, and the server checks that the filter in the request is
//     that one; the consumer's name (the wildcard) is random;
//   - $JS.API.CONSUMER.DELETE.KV_edgeinfra-desired.*: stopping a watch
//     deletes its consumer, and so does an ordered consumer that misses a
//     message or a heartbeat before it creates the next. Consumer names are
//     random and agents may not list them, so this does not reach other
//     agents' watches in practice;
//   - $JS.API.DIRECT.GET.KV_edgeinfra-desired.$KV.edgeinfra-desired.<id>:
//     reading its key (KeyValue.Get);
//   - $JS.FC.KV_edgeinfra-desired.>: flow-control replies of the push
//     consumer a watch uses (nats.go turns flow control on for ordered
//     consumers; without the reply the server stops delivering once a
//     large value fills the window); they carry no data.
//
// Each entry was checked by removing it: the watch, its stop, the read of
// the own key, or a watch of large values (the agent package's
// TestCredsWatchFlowControl, which sees the server ask for flow-control
// replies after the first 600 kB value) then fails. Nothing lets an agent write desired state, create a
// consumer without its own key as the filter, read other keys, or touch
// the EDGEINFRA stream other than by publishing its own subjects.
func PublishAllow(id string) []string {
	key := "$KV." + wire.DesiredBucket + "." + id
	return []string{
		wire.HeartbeatSubject(id),
		wire.StateSubject(id),
		wire.MetricsSubject(id),
		"$JS.API.STREAM.INFO." + kvStream,
		"$JS.API.CONSUMER.CREATE." + kvStream + ".*." + key,
		"$JS.API.CONSUMER.DELETE." + kvStream + ".*",
		"$JS.API.DIRECT.GET." + kvStream + "." + key,
		"$JS.FC." + kvStream + ".>",
	}
}

// SubscribeAllow lists the subjects agent id may subscribe to: replies to
// its requests and its watch's deliveries, all under its inbox prefix.
func SubscribeAllow(id string) []string { return []string{InboxPrefix(id) + ".>"} }

// Permissions is what the NATS server lets agent id do; nothing beyond
// PublishAllow and SubscribeAllow.
func Permissions(id string) *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: PublishAllow(id)},
		Subscribe: &server.SubjectPermission{Allow: SubscribeAllow(id)},
	}
}

// Template is a nats-server configuration block that gives agent id,
// with public key pub, the same permissions on an external NATS cluster
// (--nats-url), where the hub does not manage authentication. An
// operator puts it in the cluster's authorization users list.
func Template(id, pub string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# edgeinfra agent %s: put this entry in the users list of the authorization\n", id)
	fmt.Fprintf(&b, "# block of every server of the cluster, then reload (nats-server --signal reload).\n")
	fmt.Fprintf(&b, "{\n  nkey: %q\n  permissions: {\n    publish: {\n      allow: [\n", pub)
	for _, s := range PublishAllow(id) {
		fmt.Fprintf(&b, "        %q\n", s)
	}
	fmt.Fprintf(&b, "      ]\n    }\n    subscribe: {\n      allow: [\n")
	for _, s := range SubscribeAllow(id) {
		fmt.Fprintf(&b, "        %q\n", s)
	}
	fmt.Fprintf(&b, "      ]\n    }\n  }\n}\n")
	return b.String()
}
