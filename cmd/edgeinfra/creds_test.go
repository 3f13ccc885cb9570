package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeinfra/edgeinfra/internal/natsauth"
)

func TestCredsCommandEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	out := filepath.Join(t.TempDir(), "n1.creds")
	creds := func(args ...string) (string, error) {
		var stdout bytes.Buffer
		err := credsCommand(args, &stdout, &bytes.Buffer{})
		return stdout.String(), err
	}
	got, err := creds("create", "--id", "n1", "--data", dir, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	agents, err := natsauth.Load(dir)
	if err != nil || len(agents) != 1 || agents[0].ID != "n1" {
		t.Fatalf("store after create: %v %v", agents, err)
	}
	if !strings.Contains(got, agents[0].PublicKey) || !strings.Contains(got, "--creds "+out) {
		t.Fatalf("create printed %q", got)
	}
	for _, p := range []string{out, natsauth.StorePath(dir)} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
		}
	}
	c, err := natsauth.ReadCreds(out, "n1")
	if err != nil || c.PublicKey != agents[0].PublicKey {
		t.Fatalf("credentials file: %+v %v", c, err)
	}
	store, _ := os.ReadFile(natsauth.StorePath(dir))
	if bytes.Contains(store, []byte("SU")) {
		t.Fatal("the store holds a seed")
	}

	// Environment variables work as for every flag; the default --out is
	// ID.creds in the current directory.
	t.Setenv("EDGEINFRA_DATA", dir)
	t.Chdir(t.TempDir())
	if _, err := creds("create", "--id", "n2"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("n2.creds"); err != nil {
		t.Fatal(err)
	}

	got, err = creds("list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "n1") || !strings.Contains(got, "n2") || !strings.Contains(got, agents[0].PublicKey) {
		t.Fatalf("list:\n%s", got)
	}
	got, err = creds("template", "--id", "n1")
	if err != nil || !strings.Contains(got, agents[0].PublicKey) || !strings.Contains(got, `"edgeinfra.state.n1"`) || !strings.Contains(got, `"_INBOX_n1.>"`) {
		t.Fatalf("template: %v\n%s", err, got)
	}
	if _, err := creds("revoke", "--id", "n1"); err != nil {
		t.Fatal(err)
	}
	got, _ = creds("list")
	if strings.Contains(got, "n1 ") || !strings.Contains(got, "n2") {
		t.Fatalf("list after revoke:\n%s", got)
	}

	errs := []struct {
		args []string
		want string
	}{
		{[]string{"create", "--id", "n2", "--out", "other.creds"}, "already has a credential"},
		{[]string{"create", "--id", "n3", "--out", "n2.creds"}, "n2.creds exists"},
		{[]string{"create", "--id", "bad.id", "--out", "x.creds"}, "node ID"},
		{[]string{"create"}, "--id is required"},
		{[]string{"revoke", "--id", "n1"}, `"n1" has no credential`},
		{[]string{"rotate"}, `unknown command "rotate"`},
		{nil, "no command"},
	}
	for _, tt := range errs {
		if _, err := creds(tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("creds %q = %v, want an error mentioning %q", tt.args, err, tt.want)
		}
	}
	if _, err := os.Stat("x.creds"); err == nil {
		t.Error("a refused create wrote a file")
	}
	t.Setenv("EDGEINFRA_DATA", "")
	if _, err := creds("list"); err == nil || !strings.Contains(err.Error(), "--data DIR is required") {
		t.Errorf("list without a directory: %v", err)
	}
}

func TestCredsHelp(t *testing.T) {
	var stderr bytes.Buffer
	if err := credsCommand([]string{"--help"}, &bytes.Buffer{}, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, sub := range []string{"create", "list", "revoke", "template"} {
		if !strings.Contains(stderr.String(), sub) {
			t.Errorf("help lacks %s:\n%s", sub, stderr.String())
		}
	}
	if err := run(context.Background(), []string{"hub", "creds", "create", "--help"}, &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("hub creds create --help: %v", err)
	}
}

func TestAuthFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"hub", "--auth", "maybe"}, `--auth "maybe": want auto, required or off`},
		{[]string{"hub", "--auth", "required", "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}, "--auth required needs --data or --creds-dir"},
		{[]string{"hub", "--auth", "required", "--nats-url", "nats://127.0.0.1:1", "--http", "127.0.0.1:0"}, "hub creds template"},
		{[]string{"agent", "--id", "n1", "--hub", "nats://127.0.0.1:1", "--http", "127.0.0.1:0", "--creds", "no-such.creds"}, "--creds: stat no-such.creds"},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error mentioning %q", tt.args, err, tt.want)
		}
	}
}
