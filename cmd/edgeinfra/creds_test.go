package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/edgeinfra/edgeinfra/internal/creds"
	"github.com/edgeinfra/edgeinfra/internal/hub"
	"github.com/edgeinfra/edgeinfra/internal/wire"
)

// runOut runs the command line args and returns what it wrote to stdout.
func runOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	old := stdout
	stdout = &out
	defer func() { stdout = old }()
	err := run(context.Background(), args, &bytes.Buffer{})
	return out.String(), err
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestCredsCommandsEndToEnd issues, lists and revokes credentials through
// the command line, and checks the files and their modes.
func TestCredsCommandsEndToEnd(t *testing.T) {
	data := filepath.Join(t.TempDir(), "hub")
	file := filepath.Join(t.TempDir(), "n1.creds")

	out, err := runOut(t, "hub", "creds", "create", "--id", "n1", "--data", data, "--out", file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "--creds "+file) {
		t.Errorf("create output lacks the agent command:\n%s", out)
	}
	if m := mode(t, file); m != 0o600 {
		t.Errorf("credentials file mode %o, want 600", m)
	}
	if m := mode(t, creds.Path(data)); m != 0o600 {
		t.Errorf("store mode %o, want 600", m)
	}
	b, _ := os.ReadFile(file)
	kp, err := nkeys.ParseDecoratedUserNKey(b)
	if err != nil {
		t.Fatalf("the file is not an nkey seed file: %v", err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	store, _ := os.ReadFile(creds.Path(data))
	if !bytes.Contains(store, []byte(pub)) || bytes.Contains(store, seed) {
		t.Errorf("the store must hold the public key and no seed:\n%s", store)
	}
	if creds.NodeOf(b) != "n1" {
		t.Errorf("NodeOf = %q", creds.NodeOf(b))
	}

	errCases := []struct {
		args []string
		want string
	}{
		{[]string{"hub", "creds", "create", "--id", "n1", "--data", data, "--out", file + "2"}, "already has credentials"},
		{[]string{"hub", "creds", "create", "--id", "n2", "--data", data, "--out", file}, "exists"},
		{[]string{"hub", "creds", "create", "--id", "bad.id", "--data", data, "--out", file + "3"}, "node ID"},
		{[]string{"hub", "creds", "create", "--id", "n2"}, "--data is required"},
		{[]string{"hub", "creds", "revoke", "--id", "n9", "--data", data}, "no active credentials"},
		{[]string{"hub", "creds", "rotate"}, `unknown command "rotate"`},
		{[]string{"hub", "creds"}, "no command"},
		{[]string{"hub", "--auth", "maybe"}, `--auth "maybe"`},
	}
	for _, tt := range errCases {
		if _, err := runOut(t, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q = %v, want an error mentioning %q", tt.args, err, tt.want)
		}
	}
	if _, err := os.Stat(file + "2"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused create left %s behind", file+"2")
	}
	if b2, _ := os.ReadFile(file); !bytes.Equal(b, b2) {
		t.Error("a refused create changed the existing credentials file")
	}
	if _, err := runOut(t, "hub", "creds", "create", "--help"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("create --help = %v", err)
	}

	out, err = runOut(t, "hub", "creds", "list", "--data", data)
	if err != nil || !strings.Contains(out, "n1") || !strings.Contains(out, "active") || !strings.Contains(out, pub) {
		t.Fatalf("list = %v:\n%s", err, out)
	}
	if _, err := runOut(t, "hub", "creds", "revoke", "--id", "n1", "--data", data); err != nil {
		t.Fatal(err)
	}
	out, _ = runOut(t, "hub", "creds", "list", "--data", data)
	if !strings.Contains(out, "revoked") || strings.Contains(out, "active") {
		t.Fatalf("list after revoke:\n%s", out)
	}
	// A revoked node can be issued new credentials.
	if _, err := runOut(t, "hub", "creds", "create", "--id", "n1", "--data", data, "--out", file+"4"); err != nil {
		t.Fatal(err)
	}
	recs, _ := creds.Load(data)
	if len(recs) != 2 || recs[0].Active() || !recs[1].Active() {
		t.Fatalf("records = %+v", recs)
	}
}

// TestCredsTemplateIsValidNATSConfig feeds the template to the NATS
// server's config parser and checks it yields the embedded server's
// permissions.
func TestCredsTemplateIsValidNATSConfig(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "n1.creds")
	rec, err := creds.Create(data, "n1", file, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out, err := runOut(t, "hub", "creds", "template", "--id", "n1", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(conf, []byte("authorization {\n users: [\n"+out+"\n ]\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("template is not valid NATS config: %v\n%s", err, out)
	}
	if len(opts.Nkeys) != 1 || opts.Nkeys[0].Nkey != rec.PublicKey {
		t.Fatalf("nkeys = %+v", opts.Nkeys)
	}
	p, want := opts.Nkeys[0].Permissions, wire.AgentPermissions("n1")
	if !slices.Equal(p.Publish.Allow, want.Publish) || !slices.Equal(p.Subscribe.Allow, want.Subscribe) {
		t.Fatalf("parsed permissions %+v / %+v, want %+v", p.Publish, p.Subscribe, want)
	}
}

// TestAgentCommandExitsWhenRefused runs `edgeinfra agent --creds` with
// revoked credentials against a hub that requires them: the command ends
// with the reason instead of retrying forever.
func TestAgentCommandExitsWhenRefused(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "n1.creds")
	if _, err := creds.Create(data, "n1", file, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := creds.Revoke(data, "n1", time.Now()); err != nil {
		t.Fatal(err)
	}
	log, _ := newLogger(&bytes.Buffer{}, "error")
	h, err := hub.Start(context.Background(), hub.Config{DataDir: data, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = run(ctx, []string{"agent", "--hub", h.NATSURL(), "--id", "n1", "--creds", file, "--http", "127.0.0.1:0", "--log-level", "error"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "refused") || ctx.Err() != nil {
		t.Fatalf("agent with revoked credentials: %v (ctx %v)", err, ctx.Err())
	}
	other := filepath.Join(t.TempDir(), "n2.creds")
	if _, err := creds.Create(data, "n2", other, time.Now()); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"agent", "--hub", h.NATSURL(), "--id", "n1", "--creds", other, "--http", "127.0.0.1:0"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `issued for node "n2"`) {
		t.Fatalf("agent with another node's credentials: %v", err)
	}
}
