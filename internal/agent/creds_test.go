package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/edgeinfra/edgeinfra/internal/hub"
	"github.com/edgeinfra/edgeinfra/internal/natsauth"
	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/statesync"
)

// authHub starts a hub whose credentials store is in dir.
func authHub(t *testing.T, dir string, mode natsauth.Mode) *hub.Hub {
	t.Helper()
	h, err := hub.Start(context.Background(), hub.Config{Logger: quiet(), SweepInterval: 50 * time.Millisecond, CredsDir: dir, NATSAuth: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// issue creates id's credential in dir and returns its file.
func issue(t *testing.T, dir, id string) string {
	t.Helper()
	a, seed, err := natsauth.Create(dir, id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), id+".creds")
	if err := natsauth.WriteCreds(path, a, seed); err != nil {
		t.Fatal(err)
	}
	return path
}

// rawClient connects as an agent would with the credentials file at path
// and collects the server's asynchronous errors (permission violations).
type rawClient struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	errs chan error
}

func connectAs(t *testing.T, h *hub.Hub, id, path string, extra ...nats.Option) (*rawClient, error) {
	t.Helper()
	c := &rawClient{errs: make(chan error, 64)}
	opts := []nats.Option{
		nats.CustomInboxPrefix(natsauth.InboxPrefix(id)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case c.errs <- err:
			default:
			}
		}),
	}
	if path != "" {
		o, err := nats.NkeyOptionFromSeed(path) // the standard reader of seed files
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, o)
	}
	nc, err := nats.Connect(h.NATSURL(), append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(nc.Close)
	c.nc = nc
	if c.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return c, nil
}

// violation waits for the server's permissions violation on subject.
func (c *rawClient) violation(t *testing.T, what, subject string) {
	t.Helper()
	want := strings.ToLower(`permissions violation for ` + what + ` to "` + subject + `"`)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case err := <-c.errs:
			if strings.Contains(strings.ToLower(err.Error()), want) {
				return
			}
		case <-deadline:
			t.Fatalf("no permissions violation for %s to %q", what, subject)
		}
	}
}

func (c *rawClient) noViolation(t *testing.T) {
	t.Helper()
	if err := c.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.errs:
		t.Fatalf("unexpected error: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestCredsAgentAllowedItsOwnSubjects(t *testing.T) {
	dir := t.TempDir()
	h := authHub(t, dir, "")
	creds := issue(t, dir, "n1")
	a := startAgent(t, Config{HubURL: h.NATSURL(), ID: "n1", Region: "eu", Creds: creds})

	var nodes []map[string]any
	eventually(t, "heartbeats reach the hub", func() bool {
		do(t, "GET", h.URL()+"/api/v1/nodes", "", &nodes)
		return len(nodes) == 1 && nodes[0]["healthy"] == true
	})
	var st statesync.State
	if code := do(t, "PUT", "http://"+a.HTTPAddr()+"/v1/state", `{"mode":"eco"}`, &st); code != 200 {
		t.Fatalf("PUT /v1/state = %d", code)
	}
	eventually(t, "state acknowledged by the stream and confirmed", func() bool { return a.Sync().IsSynced })
	var hs wire.State
	do(t, "GET", h.URL()+"/api/v1/nodes/n1/state", "", &hs)
	if hs.Version != 1 || hs.Data["mode"] != "eco" {
		t.Fatalf("hub state = %+v", hs)
	}
	if code := do(t, "POST", "http://"+a.HTTPAddr()+"/v1/invocations", `{"function_id":"resize","duration_ms":5,"success":true}`, nil); code != 202 {
		t.Fatalf("POST invocation = %d", code)
	}
	var mv map[string]any
	eventually(t, "metric delta at the hub", func() bool {
		do(t, "GET", h.URL()+"/api/v1/metrics?node=n1", "", &mv)
		return mv["total_invocations"] == 1.0
	})
	if code := do(t, "PUT", h.URL()+"/api/v1/nodes/n1/state", `{"feature":true}`, nil); code != 200 {
		t.Fatalf("hub PUT state = %d", code)
	}
	eventually(t, "desired state watched and applied", func() bool { return a.State().Data["feature"] == true })
	if a.Err() != nil {
		t.Fatalf("agent refused: %v", a.Err())
	}

	// The same, one JetStream call at a time, with the standard seed-file
	// reader of nats.go: every allowed operation succeeds without a
	// violation.
	c, err := connectAs(t, h, "n1", creds)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, _ := wire.Encode(wire.StateChange{V: wire.Version, NodeID: "n1", Lineage: 7, Version: 1, Data: map[string]any{"x": 1}, At: time.Now()})
	if _, err := c.js.Publish(ctx, wire.StateSubject("n1"), b); err != nil {
		t.Fatalf("state publish not acknowledged: %v", err)
	}
	if _, err := c.js.Publish(ctx, wire.MetricsSubject("n1"), []byte("not a delta, refused by the hub, stored by the stream")); err != nil {
		t.Fatalf("metrics publish not acknowledged: %v", err)
	}
	if err := c.nc.Publish(wire.HeartbeatSubject("n1"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	kv, err := c.js.KeyValue(ctx, wire.DesiredBucket)
	if err != nil {
		t.Fatalf("open bucket: %v", err)
	}
	e, err := kv.Get(ctx, "n1")
	if err != nil {
		t.Fatalf("direct get of its own key: %v", err)
	}
	if !strings.Contains(string(e.Value()), "feature") {
		t.Fatalf("own desired state = %s", e.Value())
	}
	w, err := kv.Watch(ctx, "n1")
	if err != nil {
		t.Fatalf("watch its own key: %v", err)
	}
	select {
	case e := <-w.Updates():
		if e == nil || !strings.Contains(string(e.Value()), "feature") {
			t.Fatalf("watch delivered %v", e)
		}
	case <-ctx.Done():
		t.Fatal("watch delivered nothing")
	}
	if err := w.Stop(); err != nil {
		t.Fatalf("stop watch: %v", err)
	}
	c.noViolation(t)
}

func TestCredsAgentRefusedOtherSubjects(t *testing.T) {
	dir := t.TempDir()
	h := authHub(t, dir, natsauth.ModeRequired)
	creds := issue(t, dir, "n1")
	a2 := startAgent(t, Config{HubURL: h.NATSURL(), ID: "n2", Region: "eu", Creds: issue(t, dir, "n2")})
	eventually(t, "n2 known to the hub", func() bool { return do(t, "GET", h.URL()+"/api/v1/nodes/n2", "", nil) == 200 })
	// n2's desired state exists, so a refused read is not an empty answer.
	if code := do(t, "PUT", h.URL()+"/api/v1/nodes/n2/state", `{"secret":"n2 only"}`, nil); code != 200 {
		t.Fatalf("hub PUT state = %d", code)
	}
	c, err := connectAs(t, h, "n1", creds)
	if err != nil {
		t.Fatal(err)
	}
	key2 := "$KV." + wire.DesiredBucket + ".n2"
	publish := []string{
		wire.HeartbeatSubject("n2"),
		wire.StateSubject("n2"),
		wire.MetricsSubject("n2"),
		"edgeinfra.hb.n1.extra",
		"$KV." + wire.DesiredBucket + ".n1", // agents do not write desired state
		"$JS.API.DIRECT.GET.KV_" + wire.DesiredBucket + "." + key2,
		"$JS.API.DIRECT.GET.KV_" + wire.DesiredBucket,
		"$JS.API.CONSUMER.CREATE.KV_" + wire.DesiredBucket + ".c1." + key2,
		"$JS.API.CONSUMER.CREATE.KV_" + wire.DesiredBucket,
		"$JS.API.CONSUMER.CREATE." + wire.StreamName,
		"$JS.API.STREAM.DELETE." + wire.StreamName,
		"$JS.API.STREAM.PURGE." + wire.StreamName,
		"$JS.API.STREAM.PURGE.KV_" + wire.DesiredBucket,
		"$JS.API.STREAM.MSG.GET.KV_" + wire.DesiredBucket,
		"$JS.API.STREAM.INFO." + wire.StreamName,
		"$JS.API.STREAM.NAMES",
		"$JS.API.CONSUMER.NAMES.KV_" + wire.DesiredBucket,
		"_INBOX_n2.abc",
	}
	// Valid messages, which the hub would apply if the server let them
	// through.
	forged := map[string][]byte{}
	forged[wire.HeartbeatSubject("n2")], _ = wire.Encode(wire.Heartbeat{V: wire.Version, NodeID: "n2", Region: "forged", Status: "offline", Epoch: 1 << 62, Seq: 1, SentAt: time.Now()})
	forged[wire.StateSubject("n2")], _ = wire.Encode(wire.StateChange{V: wire.Version, NodeID: "n2", Lineage: 1 << 62, Version: 1, Data: map[string]any{"forged": true}, At: time.Now()})
	for _, subj := range publish {
		data := forged[subj]
		if data == nil {
			data = []byte("{}")
		}
		if err := c.nc.Publish(subj, data); err != nil {
			t.Fatal(err)
		}
		c.violation(t, "publish", subj)
	}
	for _, subj := range []string{wire.StateSubject("n2"), wire.HeartbeatSubject("n2"), "edgeinfra.>", wire.HeartbeatAll, "_INBOX_n2.>", "_INBOX.>", ">", "$KV.>"} {
		if _, err := c.nc.SubscribeSync(subj); err != nil {
			t.Fatal(err)
		}
		c.violation(t, "subscription", subj)
	}

	// Through nats.go's KeyValue API: n2's key can be neither read nor
	// watched, and n1 cannot set its own.
	octx, ocancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ocancel()
	kv, err := c.js.KeyValue(octx, wire.DesiredBucket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if e, err := kv.Get(ctx, "n2"); err == nil {
		t.Fatalf("n1 read n2's desired state: %s", e.Value())
	}
	if w, err := kv.Watch(ctx, "n2"); err == nil {
		select {
		case e := <-w.Updates():
			if e != nil {
				t.Fatalf("n1 watched n2's desired state: %s", e.Value())
			}
		case <-time.After(time.Second):
		}
		w.Stop()
	}

	// The one consumer-create subject n1 may use names its own key; the
	// server holds the request's filter to it.
	own := "$JS.API.CONSUMER.CREATE.KV_" + wire.DesiredBucket + ".c2.$KV." + wire.DesiredBucket + ".n1"
	for _, cfg := range []string{
		`{"filter_subject":"$KV.` + wire.DesiredBucket + `.>"}`,
		`{"filter_subject":"$KV.` + wire.DesiredBucket + `.n1","filter_subjects":["$KV.` + wire.DesiredBucket + `.n2"]}`,
	} {
		req := `{"stream_name":"KV_` + wire.DesiredBucket + `","config":` + strings.TrimSuffix(cfg, "}") + `,"name":"c2","deliver_subject":"_INBOX_n1.w","ack_policy":"none"}}`
		m, err := c.nc.Request(own, []byte(req), 5*time.Second)
		if err != nil {
			t.Fatalf("consumer create with filter %s: %v", cfg, err)
		}
		if !strings.Contains(string(m.Data), `"error"`) || !strings.Contains(string(m.Data), "subject") {
			t.Fatalf("consumer create with filter %s accepted: %s", cfg, m.Data)
		}
	}

	// Nothing refused had an effect: n2 at the hub is as its agent made
	// it, and the stream still takes n1's changes.
	var n2 map[string]any
	do(t, "GET", h.URL()+"/api/v1/nodes/n2", "", &n2)
	if n2["region"] != "eu" || n2["status"] != "online" {
		t.Fatalf("n2 at the hub after forged heartbeats: %v", n2)
	}
	var hs wire.State
	do(t, "GET", h.URL()+"/api/v1/nodes/n2/state", "", &hs)
	if _, ok := hs.Data["forged"]; ok {
		t.Fatalf("n2 state at the hub after a forged change: %+v", hs)
	}
	b, _ := wire.Encode(wire.StateChange{V: wire.Version, NodeID: "n1", Lineage: 1, Version: 1, Data: map[string]any{"x": 1}, At: time.Now()})
	pctx, pcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer pcancel()
	if _, err := c.js.Publish(pctx, wire.StateSubject("n1"), b); err != nil {
		t.Fatalf("stream after the refused deletes and purges: %v", err)
	}
	if a2.Err() != nil {
		t.Fatal(a2.Err())
	}
}

func TestCredsConnectRefusedAndRevoked(t *testing.T) {
	dir := t.TempDir()
	h := authHub(t, dir, "")
	creds := issue(t, dir, "n1")

	// Without credentials, with an unknown key, and with n1's public key
	// but another key's signature: refused at connect.
	if _, err := connectAs(t, h, "n1", ""); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("no credentials: %v, want an authorization violation", err)
	}
	stranger, _ := nkeys.CreateUser()
	seed, _ := stranger.Seed()
	strangerFile := filepath.Join(t.TempDir(), "stranger.nk")
	if err := os.WriteFile(strangerFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := connectAs(t, h, "n1", strangerFile); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("unknown key: %v, want an authorization violation", err)
	}
	n1, err := natsauth.ReadCreds(creds, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connectAs(t, h, "n1", "", nats.Nkey(n1.PublicKey, stranger.Sign)); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("n1's key signed by another: %v, want an authorization violation", err)
	}

	// A credential created while the hub runs works at once.
	a3 := startAgent(t, Config{HubURL: h.NATSURL(), ID: "n3", Creds: issue(t, dir, "n3")})
	eventually(t, "n3 listed", func() bool { return do(t, "GET", h.URL()+"/api/v1/nodes/n3", "", nil) == 200 })

	// Revoking n1 closes its live connections and the agent stops
	// retrying with a clear error; n3 is untouched.
	a := startAgent(t, Config{HubURL: h.NATSURL(), ID: "n1", Creds: creds})
	raw, err := connectAs(t, h, "n1", creds)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "n1 listed", func() bool { return do(t, "GET", h.URL()+"/api/v1/nodes/n1", "", nil) == 200 })
	if _, err := natsauth.Revoke(dir, "n1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Refused():
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked agent was not told")
	}
	if err := a.Err(); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization violation") || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked agent's error = %v", err)
	}
	eventually(t, "the revoked raw connection closed", func() bool { return !raw.nc.IsConnected() })
	if _, err := connectAs(t, h, "n1", creds); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("revoked key: %v, want an authorization violation", err)
	}
	if a3.Err() != nil || !a3.currentLink().nc.IsConnected() {
		t.Fatalf("n3 lost its connection: %v", a3.Err())
	}
}

func TestCredsAgentWithoutCredsTold(t *testing.T) {
	dir := t.TempDir()
	h := authHub(t, dir, natsauth.ModeRequired)
	a := startAgent(t, Config{HubURL: h.NATSURL(), ID: "n1"})
	select {
	case <-a.Refused():
	case <-time.After(10 * time.Second):
		t.Fatal("an agent without credentials was not told")
	}
	if err := a.Err(); err == nil || !strings.Contains(err.Error(), "hub creds create --id n1") {
		t.Fatalf("error = %v", err)
	}
}

func TestCredsAutoTurnsOnWithFirstCredential(t *testing.T) {
	dir := t.TempDir()
	h := authHub(t, dir, natsauth.ModeAuto)
	anon, err := connectAs(t, h, "x", "")
	if err != nil {
		t.Fatalf("auto mode without a store refused a client: %v", err)
	}
	issue(t, dir, "n1")
	eventually(t, "the client without credentials dropped", func() bool { return !anon.nc.IsConnected() })
	if _, err := connectAs(t, h, "x", ""); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("no credentials after the first one was created: %v", err)
	}
	// Revoking the last credential does not open the server again.
	if _, err := natsauth.Revoke(dir, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := connectAs(t, h, "x", ""); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("no credentials after the last one was revoked: %v", err)
	}
}

func TestCredsFileChecks(t *testing.T) {
	dir := t.TempDir()
	creds := issue(t, dir, "n1")
	tests := []struct {
		name, id, want string
		prepare        func(path string)
	}{
		{"another node's file", "n2", `issued for node "n1", not "n2"`, nil},
		{"readable by others", "n1", "chmod 600", func(p string) { os.Chmod(p, 0o644) }},
		{"no seed", "n1", "no NATS user nkey seed", func(p string) { os.WriteFile(p, []byte("# node: n1\n"), 0o600) }},
		{"missing", "n1", "no such file", func(p string) { os.Remove(p) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c")
			b, _ := os.ReadFile(creds)
			os.WriteFile(path, b, 0o600)
			if tt.prepare != nil {
				tt.prepare(path)
			}
			_, err := Start(context.Background(), Config{HubURL: "nats://127.0.0.1:1", ID: tt.id, HTTPAddr: "127.0.0.1:0", Creds: path, Logger: quiet()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

// TestCredsWatchFlowControl sends large desired states faster than a
// watch's flow-control window, so the server asks the watcher for
// flow-control replies, which the permissions must allow.
func TestCredsWatchFlowControl(t *testing.T) {
	dir := t.TempDir()
	h := authHub(t, dir, natsauth.ModeRequired)
	creds := issue(t, dir, "n1")
	// n1 must be known to the hub before its desired state can be set.
	c, err := connectAs(t, h, "n1", creds)
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := wire.Encode(wire.Heartbeat{V: wire.Version, NodeID: "n1", Status: "online", Epoch: 1, Seq: 1, SentAt: time.Now()})
	c.nc.Publish(wire.HeartbeatSubject("n1"), hb)
	eventually(t, "n1 known", func() bool { return do(t, "GET", h.URL()+"/api/v1/nodes/n1", "", nil) == 200 })
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
	const puts = 24
	blob := strings.Repeat("x", 600_000)
	for i := range puts {
		body := `{"blob":"` + blob[:len(blob)-i] + `"}`
		if code := do(t, "PUT", h.URL()+"/api/v1/nodes/n1/state", body, nil); code != 200 {
			t.Fatalf("PUT %d = %d", i, code)
		}
	}
	got := 0
	for got < puts {
		select {
		case e := <-w.Updates():
			if e != nil {
				got++
			}
		case err := <-c.errs:
			t.Fatalf("after %d updates: %v", got, err)
		case <-ctx.Done():
			t.Fatalf("watch received %d of %d large updates", got, puts)
		}
	}
	c.noViolation(t)
}
