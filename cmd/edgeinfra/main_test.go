package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDispatch(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, name := range []string{"hub", "agent", "sim"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("usage lacks %q:\n%s", name, out.String())
		}
	}
	if err := run(context.Background(), []string{"launch"}, &out); err == nil || !strings.Contains(err.Error(), `unknown command "launch"`) {
		t.Fatalf("unknown command: %v", err)
	}
	if err := run(context.Background(), nil, &out); err == nil {
		t.Fatal("no command: want an error")
	}
}

func TestSubcommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"agent"}, "--id"},
		{[]string{"agent", "--id", "n1"}, "--hub is required"},
		{[]string{"agent", "--id", "bad.id", "--hub", "nats://127.0.0.1:1"}, "node ID"},
		{[]string{"agent", "--id", "n1", "--hub", "nats://x", "--strategy", "newest"}, "unknown conflict strategy"},
		{[]string{"sim", "--faults", "meteor", "--http", "127.0.0.1:0"}, `unknown fault "meteor"`},
		{[]string{"sim", "--nodes", "-3"}, "--nodes -3"},
		{[]string{"hub", "--nats-listen", "nonsense"}, "--nats-listen"},
		{[]string{"hub", "--log-level", "loud"}, "--log-level"},
		{[]string{"hub", "extra"}, "unexpected argument"},
		{[]string{"hub", "--heartbeat-timeout", "soon"}, "invalid value"},
		{[]string{"hub", "--read-access", "closed"}, `--read-access "closed": want open or token`},
		{[]string{"hub", "--read-access", "token", "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}, "needs --api-token"},
		{[]string{"hub", "--tls-cert", "hub.pem", "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}, "needs both --tls-cert and --tls-key"},
		{[]string{"agent", "--id", "n1", "--hub", "nats://127.0.0.1:1", "--http", "127.0.0.1:0", "--tls-ca", "no-such-ca.pem"}, "--tls-ca: open no-such-ca.pem"},
		{[]string{"agent", "--id", "n1", "--hub", "nats://127.0.0.1:1", "--http", "127.0.0.1:0", "--http-tls-key", "k.pem"}, "--http-tls-cert and --http-tls-key"},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error mentioning %q", tt.args, err, tt.want)
		}
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	t.Setenv("EDGEINFRA_LOG_LEVEL", "loud")
	err := run(context.Background(), []string{"hub"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Fatalf("EDGEINFRA_LOG_LEVEL=loud: %v", err)
	}
	// The command line wins over the environment.
	t.Setenv("EDGEINFRA_LOG_LEVEL", "warn")
	t.Setenv("EDGEINFRA_NODES", "-1")
	err = run(context.Background(), []string{"sim", "--nodes", "-2"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--nodes -2") {
		t.Fatalf("flag over env: %v", err)
	}
	t.Setenv("EDGEINFRA_HEARTBEAT", "often")
	if err := run(context.Background(), []string{"agent"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "EDGEINFRA_HEARTBEAT") {
		t.Fatalf("bad env value: %v", err)
	}
}

// TestSimRunsAndStops runs the README's first command for a moment.
func TestSimRunsAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err := run(ctx, []string{"sim", "--nodes", "3", "--duration", "500ms", "--http", "127.0.0.1:0", "--heartbeat", "100ms", "--log-level", "warn"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 15*time.Second {
		t.Fatalf("sim --duration 500ms took %v", time.Since(start))
	}
}
