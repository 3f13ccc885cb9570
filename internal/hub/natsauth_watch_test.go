package hub

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// TestConsumerCreateHeldToItsFilter: the one consumer-create subject an
// agent may publish names its own key, and the server holds the request's
// filter to it, so the subject permission cannot be used to watch the
// whole bucket or another key.
func TestConsumerCreateHeldToItsFilter(t *testing.T) {
	h, _, files := startAuthHub(t, AuthRequired, "n1")
	c := connectAs(t, h, files["n1"], "n1")
	own := "$JS.API.CONSUMER.CREATE.KV_" + wire.DesiredBucket + ".c2.$KV." + wire.DesiredBucket + ".n1"
	for _, filter := range []string{
		`"filter_subject":"$KV.` + wire.DesiredBucket + `.>"`,
		`"filter_subject":"$KV.` + wire.DesiredBucket + `.n2"`,
		`"filter_subject":"$KV.` + wire.DesiredBucket + `.n1","filter_subjects":["$KV.` + wire.DesiredBucket + `.n2"]`,
	} {
		req := `{"stream_name":"KV_` + wire.DesiredBucket + `","config":{` + filter + `,"name":"c2","deliver_subject":"_INBOX_n1.w","ack_policy":"none"}}`
		m, err := c.nc.Request(own, []byte(req), 5*time.Second)
		if err != nil {
			t.Fatalf("consumer create with %s: %v", filter, err)
		}
		if !strings.Contains(string(m.Data), `"error"`) || !strings.Contains(string(m.Data), "subject") {
			t.Fatalf("consumer create with %s accepted: %s", filter, m.Data)
		}
	}
	c.expectNoViolation(t)
}

// TestWatchOfLargeDesiredStatesGetsFlowControl sends large desired states
// faster than a watch's flow-control window, so the server asks the
// watcher for flow-control replies ($JS.FC...), which the agent's
// permissions must allow: without that entry the watch stops after the
// first value with a permissions violation.
func TestWatchOfLargeDesiredStatesGetsFlowControl(t *testing.T) {
	h, _, files := startAuthHub(t, AuthRequired, "n1")
	c := connectAs(t, h, files["n1"], "n1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv, err := c.js.KeyValue(ctx, wire.DesiredBucket)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.Watch(ctx, "n1", jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	const puts = 12 // the server asks for flow control after the third
	blob := strings.Repeat("x", 600_000)
	for i := range puts {
		b := fmt.Appendf(nil, `{"node_id":"n1","version":%d,"data":{"blob":%q},"updated_at":"2026-01-01T00:00:00Z"}`, i+1, blob[i:])
		if _, err := h.desired.Put(ctx, "n1", b); err != nil {
			t.Fatal(err)
		}
	}
	for got := 0; got < puts; {
		select {
		case e := <-w.Updates():
			if e != nil {
				got++
			}
		case err := <-c.errs:
			t.Fatalf("after %d updates: %v", got, err)
		case <-ctx.Done():
			t.Fatalf("the watch received %d of %d large updates", got, puts)
		}
	}
	c.expectNoViolation(t)
}
