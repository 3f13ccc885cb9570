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
	fs := newFlagSet("hub", "hub [--http 127.0.0.1:8080] [--nats-listen 127.0.0.1:4222 | --nats-url nats://…] [--data DIR] [--heartbeat-timeout 60s]")
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP address of the API, /metrics and the dashboard")
	natsListen := fs.String("nats-listen", "127.0.0.1:4222", "client address of the embedded NATS server")
	natsURL := fs.String("nats-url", "", "use this NATS cluster (with JetStream) instead of embedding a server")
	data := fs.String("data", "", "directory for JetStream files; empty keeps everything in memory")
	timeout := fs.Duration("heartbeat-timeout", 60*time.Second, "a node whose last heartbeat is older is unhealthy")
	name := fs.String("name", "hub", "this hub's name, in logs and NATS")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	tlsFiles := tlsFlags(fs,
		"PEM certificate to serve NATS and HTTP over TLS (with --tls-key); with --nats-url, the client certificate for the cluster",
		"PEM CA bundle: NATS clients must present a certificate it signed (mutual TLS); with --nats-url, verifies the cluster")
	apiToken := fs.String("api-token", "", "bearer token required by HTTP requests that change something (and by reads with --read-access token)")
	readAccess := fs.String("read-access", "open", "open: anyone may read the API, /metrics and the dashboard; token: they need --api-token too (/healthz stays open)")
	maxNodes := fs.Int("max-nodes", 100_000, "nodes the hub tracks; messages of new node IDs past it are refused and counted; negative for no limit")
	maxSeries := fs.Int("max-series-per-node", 1000, "metric series (functions) one node may create; new ones past it are refused, counted and logged; negative for no limit")
	hbRate := fs.Float64("heartbeat-rate", 20, "heartbeats per second one node may send on average; more are dropped and counted; negative for no limit")
	hbBurst := fs.Int("heartbeat-burst", 0, "heartbeats one node may send at once; 0 means twice --heartbeat-rate")
	cpInterval := fs.Duration("checkpoint-interval", time.Minute, "how often the hub checkpoints the fleet state it derived from the stream (and at exit), so a restart replays only newer messages; negative turns checkpoints off")
	cpEvery := fs.Int("checkpoint-every", 10_000, "stream messages that trigger a checkpoint before --checkpoint-interval is up")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(os.Stderr, *logLevel)
	if err != nil {
		return err
	}
	access, err := hub.ParseReadAccess(*readAccess)
	if err != nil {
		return err
	}
	h, err := hub.Start(ctx, hub.Config{
		HTTPAddr: *httpAddr, NATSListen: *natsListen, NATSURL: *natsURL, DataDir: *data,
		HeartbeatTimeout: *timeout, Name: *name, Logger: log, Dashboard: dashboard.Handler(),
		TLS: *tlsFiles, APIToken: *apiToken, ReadAccess: access,
		MaxNodes: *maxNodes, MaxSeriesPerNode: *maxSeries, HeartbeatRate: *hbRate, HeartbeatBurst: *hbBurst,
		CheckpointInterval: *cpInterval, CheckpointEvery: *cpEvery,
	})
	if err != nil {
		return err
	}
	log.Info("dashboard", "url", h.URL(), "agents_connect_to", h.NATSURL())
	<-ctx.Done()
	log.Info("shutting down")
	return h.Close()
}
