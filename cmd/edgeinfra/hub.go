package main

import (
	"context"
	"os"
	"time"

	"github.com/edgeinfra/edgeinfra/internal/dashboard"
	"github.com/edgeinfra/edgeinfra/internal/hub"
)

type hubCommand struct{}

func (hubCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "creds" {
		return credsCommand{}.Run(ctx, args[1:])
	}
	fs := newFlagSet("hub", "hub [--http 127.0.0.1:8080] [--nats-listen 127.0.0.1:4222 | --nats-url nats://…] [--data DIR] [--heartbeat-timeout 60s] [--auth auto]\n       edgeinfra hub creds create|list|revoke|template (agent credentials; --help for more)")
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP address of the API, /metrics and the dashboard")
	natsListen := fs.String("nats-listen", "127.0.0.1:4222", "client address of the embedded NATS server")
	natsURL := fs.String("nats-url", "", "use this NATS cluster (with JetStream) instead of embedding a server")
	data := fs.String("data", "", "directory for JetStream files; empty keeps everything in memory")
	timeout := fs.Duration("heartbeat-timeout", 60*time.Second, "a node whose last heartbeat is older is unhealthy")
	name := fs.String("name", "hub", "this hub's name, in logs and NATS")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	auth := fs.String("auth", "auto", "agent credentials on the embedded NATS server: auto (required once 'hub creds create' has issued any under --data), required or off")
	natsCreds := fs.String("nats-creds", "", "with --nats-url: the hub's own credentials for that cluster (nkey seed or .creds file)")
	if err := parse(fs, args); err != nil {
		return err
	}
	authMode, err := hub.ParseAuthMode(*auth)
	if err != nil {
		return err
	}
	log, err := newLogger(os.Stderr, *logLevel)
	if err != nil {
		return err
	}
	h, err := hub.Start(ctx, hub.Config{
		HTTPAddr: *httpAddr, NATSListen: *natsListen, NATSURL: *natsURL, DataDir: *data,
		HeartbeatTimeout: *timeout, Name: *name, Logger: log, Dashboard: dashboard.Handler(),
		Auth: authMode, NATSCreds: *natsCreds,
	})
	if err != nil {
		return err
	}
	log.Info("dashboard", "url", h.URL(), "agents_connect_to", h.NATSURL())
	<-ctx.Done()
	log.Info("shutting down")
	return h.Close()
}
