package wire

import (
	"strings"
	"testing"
)

// matches reports whether NATS subject pattern p ('*' one token, '>' the
// rest) matches subject s.
func matches(p, s string) bool {
	pt, st := strings.Split(p, "."), strings.Split(s, ".")
	for i, tok := range pt {
		if tok == ">" {
			return len(st) > i
		}
		if i >= len(st) || tok != "*" && tok != st[i] {
			return false
		}
	}
	return len(pt) == len(st)
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if matches(p, s) {
			return true
		}
	}
	return false
}

// TestAgentPermissionsCoverOnlyTheOwnNode checks the permission list
// against the subjects of the node itself and of another node.
func TestAgentPermissionsCoverOnlyTheOwnNode(t *testing.T) {
	own := func(id string) (pub, sub []string) {
		return []string{
				HeartbeatSubject(id), StateSubject(id), MetricsSubject(id),
				"$JS.API.DIRECT.GET.KV_edgeinfra-desired.$KV.edgeinfra-desired." + id,
				"$JS.API.CONSUMER.CREATE.KV_edgeinfra-desired.abc123.$KV.edgeinfra-desired." + id,
			}, []string{
				InboxPrefix(id) + ".abc.1",
			}
	}
	p := AgentPermissions("n1")
	pub, sub := own("n1")
	for _, s := range pub {
		if !anyMatch(p.Publish, s) {
			t.Errorf("n1 may not publish to its own %s", s)
		}
	}
	for _, s := range sub {
		if !anyMatch(p.Subscribe, s) {
			t.Errorf("n1 may not subscribe to its own %s", s)
		}
	}
	pub, sub = own("n10") // a prefix of n1 must not help
	pub2, sub2 := own("n2")
	for _, s := range append(append(pub, pub2...),
		"$JS.API.CONSUMER.CREATE.KV_edgeinfra-desired.abc.$KV.edgeinfra-desired.>",
		"$JS.API.CONSUMER.CREATE.KV_edgeinfra-desired.abc.$KV.edgeinfra-desired.*",
		"$JS.API.CONSUMER.CREATE.KV_edgeinfra-desired", "$JS.API.CONSUMER.CREATE.EDGEINFRA",
		"$JS.API.STREAM.DELETE.EDGEINFRA", "$JS.API.STREAM.PURGE.EDGEINFRA", "$JS.API.STREAM.MSG.GET.KV_edgeinfra-desired",
		"$KV.edgeinfra-desired.n1", "edgeinfra.hb.*", "edgeinfra.>") {
		if anyMatch(p.Publish, s) {
			t.Errorf("n1 may publish to %s", s)
		}
	}
	for _, s := range append(append(sub, sub2...), "edgeinfra.hb.n2", "edgeinfra.>", "_INBOX.x", "$KV.edgeinfra-desired.n1") {
		if anyMatch(p.Subscribe, s) {
			t.Errorf("n1 may subscribe to %s", s)
		}
	}
}
