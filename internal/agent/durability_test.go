package agent

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/hub"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// crash stops a like kill -9 would, as far as its data directory can
// tell: no last push, no spooling of the aggregator's delta.
func crash(a *Agent) {
	a.once.Do(func() {
		_ = a.httpSrv.Close()
		a.cancel()
		a.wg.Wait()
		a.linkMu.Lock()
		a.closed.Store(true)
		a.linkMu.Unlock()
		a.Disconnect()
		_ = a.store.close()
	})
}

func outboxInvocations(t *testing.T, a *Agent) (deltas int, invocations int64) {
	t.Helper()
	a.pushMu.Lock()
	defer a.pushMu.Unlock()
	box, err := a.outbox()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range box {
		var s metrics.Snapshot
		if err := s.UnmarshalBinary(d.Data); err != nil {
			t.Fatal(err)
		}
		invocations += s.Invocations()
	}
	return len(box), invocations
}

func inv(fn string) metrics.Invocation {
	return metrics.Invocation{FunctionID: fn, Duration: time.Millisecond, Success: true}
}

// Acknowledged invocations survive a crash before the next push, and
// are neither lost nor counted twice whichever step the crash hits.
func TestInvocationsSurviveACrash(t *testing.T) {
	data := t.TempDir()
	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg := Config{HubURL: "nats://" + listen, ID: "n1", DataDir: data, PushInterval: time.Hour}

	a := startAgent(t, cfg) // no hub: nothing leaves
	for i := range 5 {
		if err := a.RecordInvocations(inv(fmt.Sprint("f", i%2))); err != nil {
			t.Fatal(err)
		}
	}
	crash(a) // before any push: the five are only in the journal

	b := startAgent(t, cfg)
	if n := b.Metrics().TotalInvocations(metrics.Filter{}); n != 5 {
		t.Fatalf("after the crash the agent counts %d invocations, want 5 from the journal", n)
	}
	_ = b.Flush(context.Background()) // fails (no hub) but moves them to the outbox
	if err := b.RecordInvocations(inv("f0"), inv("f1")); err != nil {
		t.Fatal(err)
	}
	_ = b.Flush(context.Background()) // a second delta
	if err := b.RecordInvocations(inv("f0")); err != nil {
		t.Fatal(err)
	}
	_ = b.Flush(context.Background()) // merged into the second: never sent
	if n, total := outboxInvocations(t, b); n != 2 || total != 8 {
		t.Fatalf("outbox = %d deltas with %d invocations, want 2 with 8", n, total)
	}
	if err := b.RecordInvocations(inv("f1"), inv("f1")); err != nil {
		t.Fatal(err)
	}
	crash(b) // two in the journal, eight in the outbox

	c := startAgent(t, cfg)
	if n := c.Metrics().TotalInvocations(metrics.Filter{}); n != 2 {
		t.Fatalf("replayed %d invocations, want the 2 still in the journal", n)
	}
	h, err := hub.Start(context.Background(), hub.Config{Logger: quiet(), NATSListen: listen, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var mv map[string]any
	eventually(t, "every acknowledged invocation at the hub", func() bool {
		_ = c.Flush(context.Background())
		do(t, "GET", h.URL()+"/api/v1/metrics?node=n1", "", &mv)
		return mv["total_invocations"] == 10.0
	})
	if n, _ := outboxInvocations(t, c); n != 0 {
		t.Fatalf("outbox holds %d deltas after the hub acknowledged them", n)
	}
	_ = c.Flush(context.Background())
	do(t, "GET", h.URL()+"/api/v1/metrics?node=n1", "", &mv)
	if mv["total_invocations"] != 10.0 {
		t.Fatalf("hub counts %v invocations, want 10", mv["total_invocations"])
	}
}
