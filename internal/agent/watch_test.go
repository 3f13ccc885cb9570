package agent

import (
	"bytes"
	"context"
	"fmt"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/edgeinfra/edgeinfra/internal/hub"
)

// watchGoroutines counts the goroutines nats.go keeps per desired-state
// watch until the watch's context ends.
func watchGoroutines() int {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	return strings.Count(b.String(), "created by github.com/nats-io/nats%2ego.(*js).subscribe")
}

// Every reconnect starts a new desired-state watch; the old one must not
// leave a goroutine behind for the agent's lifetime (found by the soak:
// about 90 more goroutines a minute at 2,000 agents under faults).
func TestRewatchLeavesNoGoroutine(t *testing.T) {
	h, err := hub.Start(context.Background(), hub.Config{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	a := startAgent(t, Config{HubURL: h.NATSURL(), ID: "n1"})
	eventually(t, "the node at the hub", func() bool { return do(t, "GET", h.URL()+"/api/v1/nodes/n1", "", nil) == 200 })
	base := watchGoroutines()
	// Desired state put at the hub reaching the agent shows that the
	// watch of the current link is running.
	watching := func(i int) {
		t.Helper()
		if code := do(t, "PUT", h.URL()+"/api/v1/nodes/n1/state", fmt.Sprintf(`{"round":%d}`, i), nil); code != 200 {
			t.Fatalf("PUT desired state: %d", code)
		}
		eventually(t, fmt.Sprintf("desired state %d at the agent", i), func() bool {
			return fmt.Sprint(a.State().Data["round"]) == fmt.Sprint(i)
		})
	}
	const reconnects = 4
	for i := range reconnects {
		watching(i)
		a.Disconnect()
		if err := a.Reconnect(); err != nil {
			t.Fatalf("reconnect %d: %v", i, err)
		}
	}
	watching(reconnects)
	eventually(t, "one watch goroutine", func() bool { return watchGoroutines() <= base+1 })
}
