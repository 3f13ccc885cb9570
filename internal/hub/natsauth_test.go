package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/edgeinfra/edgeinfra/internal/agent"
	"github.com/edgeinfra/edgeinfra/internal/creds"
	"github.com/edgeinfra/edgeinfra/internal/tlsconf/tlstest"
	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// issue creates credentials for id in the hub's data dir and returns the
// agent's file.
func issue(t *testing.T, dataDir, id string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), id+".creds")
	if _, err := creds.Create(dataDir, id, out, time.Now()); err != nil {
		t.Fatal(err)
	}
	return out
}

// startAuthHub starts a hub with a data dir, credentials for the given
// nodes issued before it starts, and a fast credentials poll.
func startAuthHub(t *testing.T, mode AuthMode, ids ...string) (h *Hub, dataDir string, files map[string]string) {
	t.Helper()
	dataDir = t.TempDir()
	files = map[string]string{}
	for _, id := range ids {
		files[id] = issue(t, dataDir, id)
	}
	h = startHub(t, Config{DataDir: dataDir, Auth: mode, CredentialsPoll: 50 * time.Millisecond})
	return h, dataDir, files
}

func putDesired(t *testing.T, h *Hub, id, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, h.URL()+"/api/v1/nodes/"+id+"/state", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT desired state of %s: status %d", id, resp.StatusCode)
	}
}

// TestAgentWithCredentialsWorks runs a real agent with its credentials
// against a hub that requires them: heartbeats, state and metrics arrive
// (with acknowledgements), desired state is watched and applied, and the
// server refuses nothing the agent does.
func TestAgentWithCredentialsWorks(t *testing.T) {
	h, _, files := startAuthHub(t, AuthAuto, "n1")
	var logs syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	})
	a, err := agent.Start(context.Background(), agent.Config{
		HubURL: h.NATSURL(), ID: "n1", Region: "eu", Creds: files["n1"],
		HeartbeatInterval: 50 * time.Millisecond, PushInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	eventually(t, "heartbeat of n1", func() bool { return h.reg.known("n1") })
	if _, err := a.UpdateState(map[string]any{"mode": "on"}); err != nil {
		t.Fatal(err)
	}
	a.RecordInvocation(metrics.Invocation{FunctionID: "f", Duration: time.Millisecond, Success: true})
	eventually(t, "acknowledged push", func() bool {
		return a.Flush(context.Background()) == nil && a.Sync().PendingCount == 0
	})
	var st wire.State
	eventually(t, "state at the hub", func() bool {
		getJSON(t, h.URL()+"/api/v1/nodes/n1/state", &st)
		return st.Version == 1
	})
	var mv metricsView
	eventually(t, "metrics at the hub", func() bool {
		getJSON(t, h.URL()+"/api/v1/metrics?node=n1", &mv)
		return mv.TotalInvocations == 1
	})

	putDesired(t, h, "n1", `{"limit":7}`)
	eventually(t, "desired state applied", func() bool { return a.State().Data["limit"] == int64(7) })
	if a.Err() != nil {
		t.Fatalf("Err() = %v", a.Err())
	}
	a.Close()
	if strings.Contains(logs.String(), "iolation") {
		t.Fatalf("the server refused something the agent does:\n%s", logs.String())
	}
}

// rawClient is a NATS connection with one agent's credentials that
// collects the errors the server reports asynchronously.
type rawClient struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	errs chan error
}

func dialAs(h *Hub, file, id string, errs chan error) (*nats.Conn, error) {
	opts := []nats.Option{nats.CustomInboxPrefix(wire.InboxPrefix(id)), nats.MaxReconnects(-1), nats.ReconnectWait(20 * time.Millisecond)}
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err: // a nil channel: never ready
		default:
		}
	}))
	if file != "" {
		o, err := nats.NkeyOptionFromSeed(file)
		if err != nil {
			return nil, err
		}
		opts = append(opts, o)
	}
	return nats.Connect(h.NATSURL(), opts...)
}

func connectAs(t *testing.T, h *Hub, file, id string) *rawClient {
	t.Helper()
	c := &rawClient{errs: make(chan error, 64)}
	nc, err := dialAs(h, file, id, c.errs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c.nc = nc
	if c.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return c
}

// expectViolation waits for the server's permission violation naming want.
func (c *rawClient) expectViolation(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case err := <-c.errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), want) {
				return
			}
		case <-deadline:
			t.Fatalf("no permissions violation mentioning %q", want)
		}
	}
}

// expectNoViolation checks that the server refused nothing so far.
func (c *rawClient) expectNoViolation(t *testing.T) {
	t.Helper()
	c.nc.Flush()
	for {
		select {
		case err := <-c.errs:
			t.Fatalf("unexpected error: %v", err)
		default:
			return
		}
	}
}

// TestAgentPermissionsRefuseOtherNodes connects with n1's credentials and
// tries everything n1 must not do: speak for n2, read n2's state or
// desired state, listen to the fleet, and touch the streams. The server
// refuses each, and the hub sees none of it. What n1 may do on its own
// subjects works.
func TestAgentPermissionsRefuseOtherNodes(t *testing.T) {
	h, _, files := startAuthHub(t, AuthRequired, "n1", "n2")
	ctx := context.Background()
	for id, v := range map[string]string{"n1": `{"a":1}`, "n2": `{"secret":"n2 only"}`} {
		b := fmt.Appendf(nil, `{"node_id":%q,"version":1,"data":%s,"updated_at":"2026-01-01T00:00:00Z"}`, id, v)
		if _, err := h.desired.Put(ctx, id, b); err != nil {
			t.Fatal(err)
		}
	}
	c := connectAs(t, h, files["n1"], "n1")
	short := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 300*time.Millisecond) }
	hb := func(id string) []byte {
		b, _ := wire.Encode(wire.Heartbeat{V: wire.Version, NodeID: id, Status: "online", Epoch: 1, Seq: 1, SentAt: time.Now()})
		return b
	}
	state := func(id string) []byte {
		b, _ := wire.Encode(wire.StateChange{V: wire.Version, NodeID: id, Lineage: 1, Version: 1, Data: map[string]any{"x": 1}, At: time.Now()})
		return b
	}

	// Allowed: its own subjects and desired-state key.
	if err := c.nc.Publish(wire.HeartbeatSubject("n1"), hb("n1")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.js.Publish(ctx, wire.StateSubject("n1"), state("n1")); err != nil {
		t.Fatalf("own state: %v", err)
	}
	kv, err := c.js.KeyValue(ctx, wire.DesiredBucket)
	if err != nil {
		t.Fatalf("bucket: %v", err)
	}
	if e, err := kv.Get(ctx, "n1"); err != nil || !strings.Contains(string(e.Value()), `"a":1`) {
		t.Fatalf("own desired key: %v", err)
	}
	w, err := kv.Watch(ctx, "n1")
	if err != nil {
		t.Fatalf("watch own key: %v", err)
	}
	if e := <-w.Updates(); e == nil || e.Key() != "n1" {
		t.Fatalf("watch own key: first update %v", e)
	}
	if err := w.Stop(); err != nil {
		t.Fatalf("stop watch: %v", err)
	}
	c.expectNoViolation(t)
	eventually(t, "n1's heartbeat at the hub", func() bool { return h.reg.known("n1") })

	refused := []struct {
		name string
		do   func()
		want string // in the server's violation
	}{
		{"heartbeat as n2", func() { c.nc.Publish(wire.HeartbeatSubject("n2"), hb("n2")) }, `Publish to "edgeinfra.hb.n2"`},
		{"state as n2", func() {
			cctx, cancel := short()
			defer cancel()
			if _, err := c.js.Publish(cctx, wire.StateSubject("n2"), state("n2")); err == nil {
				t.Error("state as n2: acknowledged")
			}
		}, `Publish to "edgeinfra.state.n2"`},
		{"metrics as n2", func() { c.nc.Publish(wire.MetricsSubject("n2"), []byte("x")) }, `Publish to "edgeinfra.metrics.n2"`},
		{"listen to n2's heartbeats", func() { c.nc.SubscribeSync(wire.HeartbeatSubject("n2")) }, `Subscription to "edgeinfra.hb.n2"`},
		{"listen to n2's state", func() { c.nc.SubscribeSync(wire.StateSubject("n2")) }, `Subscription to "edgeinfra.state.n2"`},
		{"listen to everything", func() { c.nc.SubscribeSync("edgeinfra.>") }, `Subscription to "edgeinfra.>"`},
		{"listen to n2's replies", func() { c.nc.SubscribeSync(wire.InboxPrefix("n2") + ".>") }, `Subscription to "_INBOX_n2.>"`},
		{"listen to default inboxes", func() { c.nc.SubscribeSync("_INBOX.>") }, `Subscription to "_INBOX.>"`},
		{"direct get of n2's desired key", func() {
			c.nc.Request("$JS.API.DIRECT.GET.KV_edgeinfra-desired.$KV.edgeinfra-desired.n2", nil, 300*time.Millisecond)
		}, `"$JS.API.DIRECT.GET.KV_edgeinfra-desired.$KV.edgeinfra-desired.n2"`},
		{"kv get of n2's key", func() {
			cctx, cancel := short()
			defer cancel()
			if e, err := kv.Get(cctx, "n2"); err == nil {
				t.Errorf("kv get n2: %q", e.Value())
			}
		}, `$KV.edgeinfra-desired.n2"`},
		{"watch n2's key", func() {
			cctx, cancel := short()
			defer cancel()
			if w, err := kv.Watch(cctx, "n2"); err == nil {
				w.Stop()
				t.Error("watch n2: created")
			}
		}, `$KV.edgeinfra-desired.n2"`},
		{"watch every key", func() {
			cctx, cancel := short()
			defer cancel()
			if w, err := kv.WatchAll(cctx); err == nil {
				w.Stop()
				t.Error("watch all: created")
			}
		}, `$JS.API.CONSUMER.CREATE.KV_edgeinfra-desired`},
		{"get any message of the bucket", func() {
			c.nc.Request("$JS.API.STREAM.MSG.GET.KV_edgeinfra-desired", []byte(`{"seq":1}`), 300*time.Millisecond)
		}, `"$JS.API.STREAM.MSG.GET.KV_edgeinfra-desired"`},
		{"consume the state stream", func() {
			cctx, cancel := short()
			defer cancel()
			c.js.OrderedConsumer(cctx, wire.StreamName, jetstream.OrderedConsumerConfig{})
		}, `$JS.API.CONSUMER.CREATE.EDGEINFRA`},
		{"delete the stream", func() {
			cctx, cancel := short()
			defer cancel()
			c.js.DeleteStream(cctx, wire.StreamName)
		}, `"$JS.API.STREAM.DELETE.EDGEINFRA"`},
		{"purge the stream", func() {
			c.nc.Request("$JS.API.STREAM.PURGE.EDGEINFRA", nil, 300*time.Millisecond)
		}, `"$JS.API.STREAM.PURGE.EDGEINFRA"`},
		{"delete the bucket", func() {
			cctx, cancel := short()
			defer cancel()
			c.js.DeleteKeyValue(cctx, wire.DesiredBucket)
		}, `"$JS.API.STREAM.DELETE.KV_edgeinfra-desired"`},
		{"put n2's desired key", func() {
			cctx, cancel := short()
			defer cancel()
			kv.Put(cctx, "n2", []byte("{}"))
		}, `"$KV.edgeinfra-desired.n2"`},
		{"list streams", func() {
			c.nc.Request("$JS.API.STREAM.LIST", nil, 300*time.Millisecond)
		}, `"$JS.API.STREAM.LIST"`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			c.expectViolation(t, tt.want)
		})
	}

	if h.reg.known("n2") {
		t.Error("the hub registered n2 from n1's connection")
	}
	var st wire.State
	if code := getJSON(t, h.URL()+"/api/v1/nodes/n2/state", &st); code == http.StatusOK && st.Version != 0 {
		t.Errorf("n2 has state %+v from n1's connection", st)
	}
	if _, err := h.js.Stream(ctx, wire.StreamName); err != nil {
		t.Errorf("stream after delete attempts: %v", err)
	}
	if e, err := h.desired.Get(ctx, "n2"); err != nil || !strings.Contains(string(e.Value()), "n2 only") {
		t.Errorf("n2's desired key after n1's attempts: %v", err)
	}
}

// TestConnectionsWithoutValidCredentialsAreRefused: no credentials, an
// unknown key and a revoked key cannot connect; a key issued while the hub
// runs can, once the hub has polled the store.
func TestConnectionsWithoutValidCredentialsAreRefused(t *testing.T) {
	h, dataDir, files := startAuthHub(t, AuthAuto, "n1", "n3")
	if _, err := creds.Revoke(dataDir, "n3", time.Now()); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(t.TempDir(), "unknown.creds")
	kp, _ := nkeys.CreateUser()
	seed, _ := kp.Seed()
	if err := os.WriteFile(unknown, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "n3's revocation applied", func() bool {
		nc, err := dialAs(h, files["n3"], "n3", nil)
		if err == nil {
			nc.Close()
		}
		return errors.Is(err, nats.ErrAuthorization)
	})
	for _, tt := range []struct{ name, file, id string }{
		{"no credentials", "", "n1"},
		{"unknown key", unknown, "n1"},
		{"revoked key", files["n3"], "n3"},
	} {
		nc, err := dialAs(h, tt.file, tt.id, nil)
		if err == nil {
			nc.Close()
		}
		if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: connect = %v, want %v", tt.name, err, nats.ErrAuthorization)
		}
	}

	later := issue(t, dataDir, "n4")
	eventually(t, "n4, issued while the hub runs, connects", func() bool {
		nc, err := dialAs(h, later, "n4", nil)
		if err == nil {
			nc.Close()
		}
		return err == nil
	})
	nc, err := dialAs(h, files["n1"], "n1", nil)
	if err != nil {
		t.Fatalf("n1: %v", err)
	}
	nc.Close()
}

// TestRevocationDropsALiveAgent revokes a connected agent: the server
// closes its connection, the agent stops retrying and says why.
func TestRevocationDropsALiveAgent(t *testing.T) {
	h, dataDir, files := startAuthHub(t, AuthAuto, "n1")
	a, err := agent.Start(context.Background(), agent.Config{
		HubURL: h.NATSURL(), ID: "n1", Creds: files["n1"], HeartbeatInterval: 50 * time.Millisecond, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	eventually(t, "n1 heartbeats", func() bool { return h.reg.known("n1") })
	revoked := time.Now()
	if _, err := creds.Revoke(dataDir, "n1", revoked); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Refused():
		t.Logf("the agent gave up %v after the revocation (credentials poll 50ms)", time.Since(revoked).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked agent was not dropped within 10s")
	}
	if err := a.Err(); err == nil || !strings.Contains(err.Error(), "refused") || !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("Err() = %v", err)
	}
}

// TestAutoModeTurnsAuthOnWithTheFirstCredential: a hub whose store is
// empty lets anyone in; issuing the first credential requires credentials
// from then on and disconnects clients without them, while the hub's own
// connection stays.
func TestAutoModeTurnsAuthOnWithTheFirstCredential(t *testing.T) {
	h, dataDir, _ := startAuthHub(t, AuthAuto)
	anon, err := dialAs(h, "", "x", nil)
	if err != nil {
		t.Fatalf("auth should be off with an empty store: %v", err)
	}
	defer anon.Close()
	file := issue(t, dataDir, "n1")
	eventually(t, "the anonymous client dropped", func() bool { return anon.IsClosed() })
	if !errors.Is(anon.LastError(), nats.ErrAuthorization) {
		t.Errorf("anonymous client's last error = %v", anon.LastError())
	}
	c := connectAs(t, h, file, "n1")
	b, _ := wire.Encode(wire.Heartbeat{V: wire.Version, NodeID: "n1", Status: "online", Epoch: 1, Seq: 1, SentAt: time.Now()})
	c.nc.Publish(wire.HeartbeatSubject("n1"), b)
	eventually(t, "the hub, still connected, hears n1", func() bool { return h.reg.known("n1") })
}

// TestAuthOffLetsAnonymousInButConfinesAgents: with --auth off, clients
// without credentials have full permissions; an agent with credentials is
// still confined to its subjects.
func TestAuthOffLetsAnonymousInButConfinesAgents(t *testing.T) {
	h, _, files := startAuthHub(t, AuthOff, "n1")
	anon := connectAs(t, h, "", "x")
	if _, err := anon.nc.SubscribeSync("edgeinfra.>"); err != nil {
		t.Fatal(err)
	}
	anon.expectNoViolation(t)
	c := connectAs(t, h, files["n1"], "n1")
	c.nc.SubscribeSync("edgeinfra.>")
	c.expectViolation(t, `Subscription to "edgeinfra.>"`)
}

func TestAuthConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Auth: AuthRequired}, "needs --data"},
		{Config{Auth: "maybe"}, `--auth "maybe"`},
		{Config{Auth: AuthRequired, NATSURL: "nats://127.0.0.1:1"}, "creds template"},
	} {
		_, err := Start(context.Background(), Config{Auth: tt.cfg.Auth, NATSURL: tt.cfg.NATSURL, Logger: quiet()})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Start(%+v) = %v, want an error mentioning %q", tt.cfg, err, tt.want)
		}
	}
}

// TestExternalClusterWithOperatorAuth runs the hub against a NATS server it
// does not manage, configured as `hub creds template` says: the hub
// connects with --nats-creds, an agent with its own credentials works, and
// the permissions still confine it.
func TestExternalClusterWithOperatorAuth(t *testing.T) {
	dir := t.TempDir()
	hubKP, _ := nkeys.CreateUser()
	hubPub, _ := hubKP.PublicKey()
	hubSeed, _ := hubKP.Seed()
	hubFile := filepath.Join(dir, "hub.nk")
	if err := os.WriteFile(hubFile, hubSeed, 0o600); err != nil {
		t.Fatal(err)
	}
	agentFile := issue(t, dir, "n1")
	recs, err := creds.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: filepath.Join(dir, "js"), NoSigs: true, NoLog: true,
		Nkeys: []*server.NkeyUser{
			{Nkey: hubPub},
			{Nkey: recs[0].PublicKey, Permissions: serverPermissions(wire.AgentPermissions("n1"))},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	if _, err := Start(context.Background(), Config{NATSURL: ns.ClientURL(), Logger: quiet()}); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("hub without --nats-creds: %v, want %v", err, nats.ErrAuthorization)
	}
	h := startHub(t, Config{NATSURL: ns.ClientURL(), NATSCreds: hubFile})
	a, err := agent.Start(context.Background(), agent.Config{
		HubURL: h.NATSURL(), ID: "n1", Creds: agentFile, HeartbeatInterval: 50 * time.Millisecond, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	eventually(t, "n1 heartbeats through the external server", func() bool { return h.reg.known("n1") })
	putDesired(t, h, "n1", `{"k":"v"}`)
	eventually(t, "desired state applied", func() bool { return a.State().Data["k"] == "v" })
	c := connectAs(t, h, agentFile, "n1")
	c.nc.Publish(wire.HeartbeatSubject("n2"), []byte("{}"))
	c.expectViolation(t, `Publish to "edgeinfra.hb.n2"`)
}

// TestCredentialsOverMutualTLS combines both layers: the embedded server
// requires a client certificate and agent credentials, and a client with
// a valid certificate but no credentials is still refused.
func TestCredentialsOverMutualTLS(t *testing.T) {
	p := tlstest.New(t)
	dataDir := t.TempDir()
	file := issue(t, dataDir, "n1")
	h := startHub(t, Config{DataDir: dataDir, TLS: p.Server})
	a, err := agent.Start(context.Background(), agent.Config{
		HubURL: h.NATSURL(), ID: "n1", Creds: file, TLS: p.Client, HeartbeatInterval: 50 * time.Millisecond, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	eventually(t, "n1 heartbeats over TLS with credentials", func() bool { return h.reg.known("n1") })

	tlsCfg, err := p.Client.Client()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(h.NATSURL(), nats.Secure(tlsCfg), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err == nil {
		nc.Close()
	}
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("certificate without credentials: %v, want %v", err, nats.ErrAuthorization)
	}
}
