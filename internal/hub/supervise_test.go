package hub

import (
	"fmt"
	"testing"
	"time"
)

// A stream consumer that stopped for good (nats.go gives up on an ordered
// consumer when recreating it fails) is replaced, starting after the
// newest message applied: what agents were told is stored still reaches
// the registry, once.
func TestStoppedConsumerIsReplaced(t *testing.T) {
	h := startHub(t, Config{consumerCheckEvery: 50 * time.Millisecond})
	a := connect(t, h)
	version := func() int64 {
		h.reg.mu.RLock()
		defer h.reg.mu.RUnlock()
		if rec := h.reg.nodes["n1"]; rec != nil {
			return rec.stateVersion
		}
		return 0
	}
	a.state("n1", 1, map[string]any{"k": 1.0})
	eventually(t, "version 1 applied", func() bool { return version() == 1 })
	if n := h.stats.consumerRestarts.Load(); n != 0 {
		t.Fatalf("%d consumer restarts while it was working", n)
	}

	h.consMu.Lock()
	h.cc.Stop()
	h.consMu.Unlock()
	a.state("n1", 2, map[string]any{"k": 2.0})
	a.state("n1", 3, map[string]any{"k": 3.0})
	eventually(t, "versions 2 and 3 applied by a new consumer", func() bool { return version() == 3 })
	if n := h.stats.consumerRestarts.Load(); n != 1 {
		t.Fatalf("%d consumer restarts, want 1", n)
	}
	if d := h.stats.stateDuplicate.Load(); d != 0 {
		t.Fatalf("%d changes applied twice by the new consumer", d)
	}
	h.reg.mu.RLock()
	got := h.reg.nodes["n1"].data["k"]
	h.reg.mu.RUnlock()
	if fmt.Sprint(got) != "3" {
		t.Fatalf("state k = %v, want 3", got)
	}
}
